"""Course plumbing (tools/notebooks.py): badges and setup cells match the generator; exercises match solutions."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from tools import notebooks as course

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
EXERCISES = sorted((ROOT / "exercises").glob("*.ipynb"))


def test_repo_url_comes_from_pyproject():
    assert course.repo_url() == "https://github.com/scattn/scattn"
    assert "colab.research.google.com/github/scattn/scattn/blob/main/notebooks/x.ipynb" in course.badge_source(
        ROOT / "notebooks" / "x.ipynb")
    assert "git+https://github.com/scattn/scattn" in course.setup_source()


def test_setup_cell_has_no_autoreload_and_no_editable_install():
    src = course.setup_source()
    assert "autoreload" not in src and " -e" not in src and "--editable" not in src
    compile(src, "setup", "exec")


@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS + EXERCISES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_badge_and_setup_cell_match_the_generator(path):
    assert course.drift([path]) == []


def test_drift_is_detected(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["setup"]})])
    path = tmp_path / "notebooks" / "_drift_probe.ipynb"  # outside the checkout: a test writes nothing there
    path.parent.mkdir()
    nbformat.write(nb, path)
    problems = course.drift([path])  # no badge, a setup cell that is not the generator's, no kernelspec
    assert len(problems) == 3 and any("kernelspec" in p for p in problems), problems
    course.stamp([path])
    assert course.drift([path]) == []
    assert "blob/main/notebooks/_drift_probe.ipynb" in nbformat.read(path, as_version=4).cells[0].source
    stamped = nbformat.read(path, as_version=4)
    stamped.cells[1].source += "\nimport os"
    nbformat.write(stamped, path)
    assert course.drift([path]) == [f"{path}: no setup cell, or it differs from the generated one"]


def test_every_notebook_has_an_exercise_pair_and_solutions_have_exercises():
    assert [p.name for p in SOLUTIONS] == [p.name for p in EXERCISES]


def test_exercises_are_up_to_date_with_solutions():
    assert course.build_exercises(check=True) == [], "run `make exercises`"


def test_exercises_ship_without_outputs_and_solutions_with():
    for path in EXERCISES:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, path
                assert course.BEGIN not in cell.source, path
    for path in SOLUTIONS:
        code = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
        assert all(c.execution_count is not None for c in code), f"{path} was not run top to bottom"


def test_strip_solutions_keeps_indentation_and_surroundings():
    src = "def f(x):\n    y = 1\n    ### BEGIN SOLUTION\n    return x + y\n    ### END SOLUTION\n\nprint(f)"
    assert course.strip_solutions(src) == (
        "def f(x):\n    y = 1\n    # YOUR CODE HERE\n    raise NotImplementedError()\n\nprint(f)")
    assert course.strip_solutions("### BEGIN SOLUTION\nchannel\n### END SOLUTION", markdown=True) == "YOUR ANSWER HERE"
    with pytest.raises(ValueError, match="without"):
        course.strip_solutions("### BEGIN SOLUTION\nx = 1")


def test_cells_that_need_unfinished_code_are_tagged_raises_exception():
    cells = [
        nbformat.v4.new_code_cell("import torch\nfrom scattn import checks"),
        nbformat.v4.new_code_cell("class Gate:\n    def f(self):\n        ### BEGIN SOLUTION\n        return 1\n"
                                  "        ### END SOLUTION"),
        nbformat.v4.new_code_cell("g = Gate()"),
        nbformat.v4.new_code_cell("print(torch.ones(1))"),
        nbformat.v4.new_code_cell("checks.something(g)"),
        nbformat.v4.new_markdown_cell("Answer:\n### BEGIN SOLUTION\nbecause\n### END SOLUTION"),
    ]
    cells[3].outputs = [nbformat.v4.new_output("stream", text="tensor([1.])\n")]
    cells[3].execution_count = 4
    ex = course.exercise_from_solution(nbformat.v4.new_notebook(cells=cells))
    tagged = ["raises-exception" in c.metadata.get("tags", []) for c in ex.cells]
    assert tagged == [False, True, True, False, True, False]
    assert "raise NotImplementedError()" in ex.cells[1].source
    assert ex.cells[3].outputs == [] and ex.cells[3].execution_count is None
    assert ex.cells[5].source == "Answer:\nYOUR ANSWER HERE"


def test_tool_command_line_check_and_build(capsys):
    assert course.main(["check"]) == 0
    assert "badges and setup cells match" in capsys.readouterr().out
    assert course.main(["build", "--check"]) == 0
    with pytest.raises(SystemExit):
        course.main(["frobnicate"])


def test_the_installed_command_line_has_no_authoring_command(capsys):
    from scattn.__main__ import main

    assert main(["course", "check"]) == 2  # authoring is repository tooling: python -m tools.notebooks


def test_setup_cell_output_is_ignored_by_nbval():
    from nbval.plugin import find_comment_markers

    assert dict(find_comment_markers(course.setup_source())).get("check") is False


@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_nbval_markers_are_spelled_as_nbval_reads_them(path):
    # nbval honours "# NBVAL_IGNORE_OUTPUT" only as the whole comment: a reason on the same
    # line silently turns the marker off, so the reason goes on the next line.
    known = {"NBVAL_IGNORE_OUTPUT", "NBVAL_CHECK_OUTPUT", "NBVAL_RAISES_EXCEPTION", "NBVAL_SKIP"}
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for line in cell.source.splitlines():
            comment = line.strip()
            if comment.startswith("#") and "NBVAL_" in comment:
                assert comment.lstrip("#").strip() in known, f"cell {i}: {comment!r} is not a marker nbval reads"


def test_widget_reprs_get_a_readable_fallback_but_progress_bars_keep_theirs():
    widget = {"application/vnd.jupyter.widget-view+json": {"model_id": "a"},
              "text/plain": "interactive(children=(IntSlider(value=0, description='i'), Output()))"}
    bar = {"application/vnd.jupyter.widget-view+json": {"model_id": "b"},
           "text/plain": "fit: 100%|██████████| 47/47 [00:03<00:00, 14.2batch/s]"}
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", outputs=[
        nbformat.v4.new_output("display_data", data=dict(widget)),
        nbformat.v4.new_output("display_data", data=dict(bar))])])
    assert course.readable_widget_fallbacks(nb) == 1
    out = nb.cells[0].outputs
    assert out[0]["data"]["text/plain"] == course.WIDGET_FALLBACK
    assert out[1]["data"]["text/plain"] == bar["text/plain"]
    assert course.readable_widget_fallbacks(nb) == 0  # idempotent


@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_committed_output_shows_a_widgets_repr(path):
    nb = nbformat.read(path, as_version=4)
    assert course.readable_widget_fallbacks(nb) == 0, "re-run it with `make notebooks`"
