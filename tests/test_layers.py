"""The package's import graph: no circle, and no module imports one from a higher layer.

Layers, bottom to top (docs/architecture.md): argument checks, tables, claims, statistics and the
checks' language;
the runtime and the attention modules; data, models, checkpoints and the distributed
helpers; training and the task registry; what builds on training (compare, maps, bench);
figures and exercise checks; the command line. Imports inside functions count as much as
those at the top of a module, and there are no exceptions: the package keeps no
``__getattr__`` shims for old names.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "scattn"

LAYERS = [
    {"arguments", "table", "course", "stats", "i18n"},
    {"runtime", "attention"},
    {"data", "models", "checkpoint", "distributed", "timm_adapter"},
    {"train", "tasks"},
    {"compare", "maps", "bench"},
    {"plots", "diagrams", "checks"},
    {"__main__", "__init__"},
]
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}


def top(module: Path) -> str:
    """The first component below scattn/: 'attention' for scattn/attention/cbam.py."""
    return module.relative_to(PACKAGE).parts[0].removesuffix(".py")


def imports(module: Path) -> set[str]:
    """The scattn top-level modules ``module`` imports (relative or absolute), wherever the import is."""
    tree = ast.parse(module.read_text())
    package = module.relative_to(PACKAGE).parent.parts  # () for scattn/x.py, ("attention",) for a subpackage
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = list(package[: len(package) - (node.level - 1)])
                parts = base + (node.module.split(".") if node.module else [])
                names = [parts[0]] if parts else [a.name for a in node.names]
            elif node.module and node.module.split(".")[0] == "scattn":
                parts = node.module.split(".")[1:]
                names = [parts[0]] if parts else [a.name for a in node.names]
            else:
                continue
            found.update(names)
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names
                         if a.name.startswith("scattn.") and a.name.count(".") >= 1)
    return found


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for module in PACKAGE.rglob("*.py"):
        name = top(module)
        edges.setdefault(name, set()).update(n for n in imports(module) if n != name and n in LAYER)
    return edges


def test_every_module_has_a_layer():
    assert set(graph()) <= set(LAYER), f"modules without a layer: {set(graph()) - set(LAYER)}"


def test_no_module_imports_one_from_a_higher_layer():
    upward = [f"{a} (layer {LAYER[a]}) imports {b} (layer {LAYER[b]})"
              for a, targets in graph().items() for b in targets if LAYER[b] > LAYER[a]]
    assert not upward, upward


def test_the_import_graph_has_no_circle():
    edges = graph()
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                pytest.fail(f"import circle: {' -> '.join(path + [node, nxt])}")
            if state.get(nxt) is None:
                visit(nxt, path + [node])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [])


def test_the_checker_sees_a_circle_and_an_upward_import(tmp_path):
    fake = tmp_path / "train.py"
    fake.write_text("from .plots import Table\n\ndef f():\n    from . import compare\n")
    global PACKAGE
    real, PACKAGE = PACKAGE, tmp_path
    try:
        assert imports(fake) == {"plots", "compare"}
    finally:
        PACKAGE = real


def test_no_module_keeps_an_old_name_alive():
    """One name for each thing: no module-level __getattr__ and no alias modules."""
    for module in PACKAGE.rglob("*.py"):
        tree = ast.parse(module.read_text())
        assert not any(isinstance(f, ast.FunctionDef) and f.name == "__getattr__" for f in tree.body), module
        assert "Old name of" not in (ast.get_docstring(tree) or ""), module
