"""nbgrader cell metadata, derived from the solutions' own markers (repository tooling, not in the wheel).

A solution notebook becomes an nbgrader source notebook with no clicking in the "Create
Assignment" panel: ``make exercises`` (``python -m tools.notebooks build``) stamps every
solution with the metadata below, and the exercises generated from it keep it, so a
learner's exercise is also a notebook nbgrader can autograde.

- a code cell with a ``### BEGIN SOLUTION`` region: autograded answer
  (``solution``), id ``answer-<first name it defines>``;
- a markdown cell with a region: manually graded answer (``solution`` and ``grade``), id
  ``written-<n>``, ``points`` (1 unless the author set others);
- a code cell that calls a ``checks.<name>(...)`` function: autograder test (``grade``,
  ``locked``), id ``check-<name>``, ``points`` (1 unless the author set others); a check
  raises ``AssertionError`` when a property fails, which nbgrader counts as a failed test;
- every other code cell: read-only (``locked``), id ``given-<n>``, so autograding runs the
  setup and the given code as written, whatever a learner did to them.
"""

from __future__ import annotations

import ast

BEGIN = "### BEGIN SOLUTION"
SCHEMA_VERSION = 3


def _defined_names(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [t.id for t in targets if isinstance(t, ast.Name)]
    return names


def check_calls(source: str) -> list[str]:
    """Names of the ``checks.<name>(...)`` calls in a code cell, in order."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [node.func.attr for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "checks"]


def cell_role(cell) -> tuple[str, str] | None:
    """(role, name) of a cell for nbgrader: answer, written, check or given; None for plain markdown."""
    if cell.cell_type == "markdown":
        return ("written", "") if BEGIN in cell.source else None
    if cell.cell_type != "code":
        return None
    if BEGIN in cell.source:
        names = _defined_names(cell.source)
        return "answer", names[0] if names else ""
    calls = check_calls(cell.source)
    if calls:
        return "check", calls[0]
    return "given", ""


def stamp_nbgrader(nb) -> None:
    """Write nbgrader's cell metadata (schema 3) on every cell of a solution notebook, in place."""
    seen: dict[str, int] = {}
    for cell in nb.cells:
        role = cell_role(cell)
        old = cell.metadata.pop("nbgrader", {})
        if role is None:
            continue
        kind, name = role
        base = f"{kind}-{name}" if name else kind
        seen[base] = seen.get(base, 0) + 1
        grade_id = base if name and seen[base] == 1 else f"{base}-{seen[base]}"
        graded = kind in ("written", "check")
        meta = {"grade": graded, "grade_id": grade_id, "locked": kind in ("check", "given"),
                "schema_version": SCHEMA_VERSION, "solution": kind in ("answer", "written"), "task": False}
        if graded:
            meta["points"] = old.get("points", 1)
        cell.metadata["nbgrader"] = meta


def max_points(nb, kinds=("check", "written")) -> float:
    """The points a notebook's graded cells of these kinds are worth."""
    return sum(cell.metadata["nbgrader"].get("points", 0) for cell in nb.cells
               if "nbgrader" in cell.metadata and cell_role(cell)[0] in kinds)
