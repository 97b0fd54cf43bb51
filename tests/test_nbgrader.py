"""nbgrader, for real: the solutions are nbgrader source notebooks, the exercises are gradable.

In a scratch course directory, `nbgrader generate_assignment` turns solutions into student
versions, then `nbgrader autograde` scores three submissions per assignment: the solution
itself (full marks on the autograder tests), the generated student version and the course's
own exercises/ notebook (zero on every graded cell), and for ex01 an exercise whose check
cell was edited to print success (zero: autograde restores read-only cells). Written answers (ex06) are manually
graded: the solution's is left for the instructor, an untouched stub scores zero.

Needs nbgrader (`pip install -e .[grading]`; `make test-nbgrader` installs it and runs this).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tools import grading

pytest.importorskip("nbgrader", reason="nbgrader is not installed: `make test-nbgrader` installs and runs it")
from nbgrader.api import Gradebook  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = {"ex01": "ex01_spatial_attention", "ex06": "ex06_attention_in_a_cnn"}
CONFIG = """\
c = get_config()
c.CourseDirectory.course_id = "scattn"
# ex06 trains two networks: give a cell the time it needs on a busy 2-core machine.
c.ExecutePreprocessor.timeout = 900
"""


def nbgrader(course: Path, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           # nbgrader runs the `alembic` command of its environment: that bin/ must be on PATH.
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    env.setdefault("SCATTN_PROFILE", "smoke")
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=1800)
    log = done.stdout + done.stderr
    assert done.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{log[-5000:]}"
    assert "[ERROR]" not in log, log[-5000:]
    return log


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A course with ex01 and ex06 generated and three submissions of each autograded."""
    course = tmp_path_factory.mktemp("course")
    (course / "nbgrader_config.py").write_text(CONFIG)
    for assignment, name in ASSIGNMENTS.items():
        (course / "source" / assignment).mkdir(parents=True)
        shutil.copy(ROOT / "solutions" / f"{name}.ipynb", course / "source" / assignment)
        nbgrader(course, "generate_assignment", assignment)
        submissions = {"solved": ROOT / "solutions", "released": course / "release" / assignment,
                       "exercise": ROOT / "exercises"}
        for student, folder in submissions.items():
            (course / "submitted" / student / assignment).mkdir(parents=True)
            shutil.copy(folder / f"{name}.ipynb", course / "submitted" / student / assignment)
        if assignment == "ex01":  # an unfinished exercise whose check cell was "fixed" by hand
            nb = nbformat.read(ROOT / "exercises" / f"{name}.ipynb", as_version=4)
            for cell in nb.cells:
                if cell.metadata.get("nbgrader", {}).get("grade_id") == "check-spatial_attention":
                    cell.source = "print('All checks passed.')"
            (course / "submitted" / "edited" / assignment).mkdir(parents=True)
            nbformat.write(nb, course / "submitted" / "edited" / assignment / f"{name}.ipynb")
        nbgrader(course, "autograde", assignment, "--create")
    return course


def _grades(course: Path, assignment: str, student: str) -> dict[str, tuple[float | None, float, bool]]:
    """{grade_id: (score, max_score, needs manual grade)} of one submitted notebook."""
    name = ASSIGNMENTS[assignment]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(name, assignment, student)
        return {g.name: (g.score, g.max_score, g.needs_manual_grade) for g in nb.grades}


def _source(assignment: str):
    return nbformat.read(ROOT / "solutions" / f"{ASSIGNMENTS[assignment]}.ipynb", as_version=4)


def _graded(assignment: str, kind: str) -> set[str]:
    return {c.metadata["nbgrader"]["grade_id"] for c in _source(assignment).cells
            if grading.cell_role(c) and grading.cell_role(c)[0] == kind}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_release_is_the_exercise_but_for_its_colab_badge(course, assignment):
    # nbgrader's student version and exercises/ have the same cells, stubs included. Only the
    # badge differs: the release keeps its source's badge, which opens the SOLUTION on Colab;
    # hence the instructor guide's advice to hand out exercises/ (or edit that first cell).
    name = ASSIGNMENTS[assignment]
    released = nbformat.read(course / "release" / assignment / f"{name}.ipynb", as_version=4)
    ours = nbformat.read(ROOT / "exercises" / f"{name}.ipynb", as_version=4)
    assert [c.source for c in released.cells[1:]] == [c.source for c in ours.cells[1:]]
    assert f"/solutions/{name}.ipynb" in released.cells[0].source
    assert f"/exercises/{name}.ipynb" in ours.cells[0].source
    assert not any("### BEGIN SOLUTION" in c.source for c in released.cells)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_solution_gets_full_marks(course, assignment):
    grades = _grades(course, assignment, "solved")
    checks = _graded(assignment, "check")
    assert checks, f"{assignment} has no autograder test"
    assert {g: grades[g][:2] for g in checks} == {g: (grades[g][1], grades[g][1]) for g in checks}
    assert all(grades[g][1] > 0 for g in checks)
    for g in _graded(assignment, "written"):  # written answers wait for the instructor
        assert grades[g][2] is True, g


@pytest.mark.parametrize("student", ["released", "exercise"])
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_an_unfinished_exercise_scores_zero(course, assignment, student):
    grades = _grades(course, assignment, student)
    graded = _graded(assignment, "check") | _graded(assignment, "written")
    assert {g: grades[g][0] for g in graded} == {g: 0 for g in graded}
    assert not any(grades[g][2] for g in graded), "an untouched stub needs no manual grade"


def test_autograde_restores_an_edited_check(course):
    # The check cell is read-only: autograde runs the source's check, which fails on the stub.
    assert _grades(course, "ex01", "edited")["check-spatial_attention"][0] == 0


def test_grade_ids_and_points_come_from_the_markers():
    nb = _source("ex01")
    ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    assert "answer-spatial_descriptor" in ids and "answer-SpatialAttention" in ids
    assert "check-spatial_attention" in ids and len(ids) == len(set(ids))
    assert grading.max_points(nb) == 1
    assert grading.max_points(_source("ex06")) == 2  # the accuracy check and the written reading
