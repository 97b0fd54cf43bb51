"""nbgrader cell metadata from the solution markers (scattn.grading), kept by `scattn course build`.

tests/test_nbgrader.py runs nbgrader itself on these notebooks; this file needs no nbgrader.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from tools import grading

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


def _nb(*cells):
    return nbformat.v4.new_notebook(cells=list(cells))


def test_roles_ids_and_points():
    code, md = nbformat.v4.new_code_cell, nbformat.v4.new_markdown_cell
    nb = _nb(md("# Title"),
             code("import scattn", metadata={"tags": ["setup"]}),
             code("def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION"),
             code("checks.spatial_attention(f)"),
             code("print(f(1))"),
             md("Your reading:\n### BEGIN SOLUTION\nno\n### END SOLUTION"),
             code("acc = checks.accuracy(model, loader, 0.9)",
                  metadata={"nbgrader": {"points": 5, "grade_id": "old"}}),
             code("def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"))
    grading.stamp_nbgrader(nb)
    meta = [c.metadata.get("nbgrader") for c in nb.cells]
    assert meta[0] is None
    assert [m["grade_id"] for m in meta[1:]] == ["given-1", "answer-f", "check-spatial_attention", "given-2",
                                                  "written-1", "check-accuracy", "answer-f-2"]
    given, answer, check, written = meta[1], meta[2], meta[3], meta[5]
    assert (given["locked"], given["grade"], given["solution"]) == (True, False, False)
    assert (answer["locked"], answer["grade"], answer["solution"]) == (False, False, True)
    assert (check["locked"], check["grade"], check["solution"], check["points"]) == (True, True, False, 1)
    assert (written["locked"], written["grade"], written["solution"], written["points"]) == (False, True, True, 1)
    assert meta[6]["points"] == 5  # an author's points survive a re-stamp
    assert "points" not in answer and all(m["schema_version"] == 3 for m in meta[1:])
    assert grading.max_points(nb) == 7
    before = nbformat.writes(nb)
    grading.stamp_nbgrader(nb)
    assert nbformat.writes(nb) == before  # stamping is idempotent


def test_check_calls_are_found_by_the_syntax_tree():
    assert grading.check_calls("x = checks.cbam(CBAM)\nprint(x)") == ["cbam"]
    assert grading.check_calls("# checks.cbam(CBAM) in a comment") == []
    assert grading.check_calls("%timeit checks.cbam(CBAM)") == []  # not Python: given, not graded


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_solutions_are_nbgrader_source_notebooks(path):
    nb = nbformat.read(path, as_version=4)
    stamped = nbformat.read(path, as_version=4)
    grading.stamp_nbgrader(stamped)
    assert nbformat.writes(stamped) == nbformat.writes(nb), "run `make exercises` to stamp the solutions"
    roles = [grading.cell_role(c) for c in nb.cells]
    assert any(r and r[0] == "answer" for r in roles) and any(r and r[0] == "check" for r in roles), \
        f"{path.name}: nbgrader needs an answer cell and a check cell"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_exercises_keep_the_nbgrader_metadata(path):
    # A learner's submission of exercises/ is matched to the source by these ids.
    solution = nbformat.read(path, as_version=4)
    exercise = nbformat.read(ROOT / "exercises" / path.name, as_version=4)
    assert [c.metadata.get("nbgrader") for c in exercise.cells] == [c.metadata.get("nbgrader") for c in solution.cells]
