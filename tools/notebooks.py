"""Notebook authoring: repository tooling (``make notebooks``, ``make exercises``), not in the wheel.

    python -m tools.notebooks build [--check]   # exercises/ from solutions/
    python -m tools.notebooks stamp | check     # Colab badges and setup cells
    python -m tools.notebooks run [PATHS]       # execute notebooks in place
    python -m tools.notebooks setup-cell        # print the setup cell (make test-colab)

Colab badges and setup cells, exercises built from solutions, notebook runs:

- Every notebook opens with an "Open in Colab" badge and the same setup cell, both
  generated here from the repository URL in pyproject.toml (``[project.urls]``).
  :func:`stamp` writes them; :func:`drift` lists notebooks whose copies differ.
- ``solutions/`` is the single source of the exercises. Solution code sits between
  ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (nbgrader's markers);
  :func:`build_exercises` replaces each region by ``raise NotImplementedError()``,
  clears outputs, and tags ``raises-exception`` on every cell that needs unfinished
  code, so a fresh exercise runs cleanly under nbval.
- Solutions and exercises carry nbgrader's cell metadata, derived from the same markers
  (:mod:`tools.grading`), so nbgrader generates and autogrades them as they are.
- :func:`run` executes notebooks in place (nbclient) so committed outputs are real.
"""

from __future__ import annotations

import ast
import json
import os
import re
import time
from pathlib import Path

import nbformat

from .grading import stamp_nbgrader

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
BADGE_TAG, SETUP_TAG, RAISES_TAG = "colab-badge", "setup", "raises-exception"
GENERATED_NOTE = "generated from solutions/ by `make exercises`; edit the solution, not this file"


def repo_url() -> str:
    """The repository URL, defined once in pyproject.toml's ``[project.urls]``."""
    pyproject = ROOT / "pyproject.toml"
    if pyproject.exists():
        match = re.search(r'^Repository\s*=\s*"([^"]+)"', pyproject.read_text(), re.MULTILINE)
        if match:
            return match.group(1)
    raise RuntimeError("no Repository URL in pyproject.toml [project.urls]")


def badge_source(path: Path) -> str:
    """The Open-in-Colab badge of the notebook at ``path`` (its place in the repository: the path
    under the checkout, or its folder and name for a notebook elsewhere, as a test's)."""
    path = Path(path).resolve()
    rel = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else f"{path.parent.name}/{path.name}"
    colab = repo_url().replace("https://github.com/", "https://colab.research.google.com/github/")
    return (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"({colab}/blob/main/{rel})")


def package_version() -> str:
    """The version in pyproject.toml: what the notebooks are written for."""
    match = re.search(r'^version\s*=\s*"([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.MULTILINE)
    if not match:
        raise RuntimeError("no version in pyproject.toml [project]")
    return match.group(1)


def language_of(path: Path) -> str:
    """"zh" for the Chinese edition (under zh/), else "en"."""
    path = Path(path).resolve()
    parts = path.relative_to(ROOT).parts if path.is_relative_to(ROOT) else path.parts[-3:]
    return "zh" if parts and parts[0] == "zh" else "en"


def setup_source(language: str = "en") -> str:
    """The setup cell: install scattn where it is missing, without a restart and without hiding
    a failure; warn about a stale install; then ``scattn.setup()``. The Chinese edition's differs
    in one argument only, ``scattn.setup(language="zh")``: the exercise checks then speak Chinese."""
    call = 'scattn.setup(language="zh")' if language == "zh" else "scattn.setup()"
    return f'''# NBVAL_IGNORE_OUTPUT
# (the device and the profile differ between runs.)
# Setup, the same in every notebook. Where scattn is missing (Colab), pip installs it
# into this kernel's site-packages, which is already on sys.path: no restart needed.
# torch is left as it is. SCATTN_SOURCE picks another source: a fork's git URL, a wheel
# or archive URL, or a folder holding the repository (say, uploaded to /content/scattn).
import importlib, importlib.util, os, re, subprocess, sys

SOURCE = os.environ.get("SCATTN_SOURCE", "git+{repo_url()}")
WRITTEN_FOR = "{package_version()}"  # the scattn version this notebook expects
if importlib.util.find_spec("scattn") is None:
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", SOURCE],
                         capture_output=True, text=True)
    if pip.returncode != 0:
        print(f"pip could not install scattn from {{SOURCE}}; its last lines:",
              *(pip.stderr or pip.stdout).strip().splitlines()[-6:], sep="\\n    ")
        print("Other ways in: set os.environ['SCATTN_SOURCE'] to a wheel or archive URL, or upload\\n"
              "the repository (Files pane) and set it to that folder, e.g. '/content/scattn'; then\\n"
              "run this cell again.")
        raise RuntimeError(f"scattn is not installed (source: {{SOURCE}}); see the lines above")
    importlib.invalidate_caches()

import scattn

def _version(v):
    return tuple(int(n) for n in re.findall(r"\\d+", v)[:3])

if _version(scattn.__version__) < _version(WRITTEN_FOR):
    print(f"warning: scattn {{scattn.__version__}} is installed but this notebook expects "
          f"{{WRITTEN_FOR}}: pip install --upgrade {{SOURCE}}, then restart the runtime")
cfg = {call}  # device, profile (SCATTN_PROFILE=smoke|cpu|gpu), seeds
print(cfg)'''


def _tagged(nb, tag):
    return [i for i, c in enumerate(nb.cells) if tag in c.metadata.get("tags", [])]


# What ipykernel installs as the default kernel: a notebook saved with anything else is
# marked modified by JupyterLab as soon as it opens.
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def stamp_notebook(nb, path: Path) -> bool:
    """Put the badge first, refresh the setup cell, set the standard kernelspec; True if anything changed."""
    before = json.dumps(nb, sort_keys=True)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    badge = nbformat.v4.new_markdown_cell(badge_source(path), metadata={"tags": [BADGE_TAG]})
    found = _tagged(nb, BADGE_TAG)
    if found:
        nb.cells[found[0]].source = badge.source
    else:
        nb.cells.insert(0, badge)
    for i in _tagged(nb, SETUP_TAG):
        nb.cells[i].source = setup_source(language_of(path))
    return json.dumps(nb, sort_keys=True) != before


def drift(paths) -> list[str]:
    """Problems with badges and setup cells: empty when every notebook matches the generator."""
    problems = []
    for path in map(Path, paths):
        nb = nbformat.read(path, as_version=4)
        badges, setups = _tagged(nb, BADGE_TAG), _tagged(nb, SETUP_TAG)
        if badges != [0] or nb.cells[0].source != badge_source(path):
            problems.append(f"{path}: the first cell is not the generated Colab badge")
        if len(setups) != 1 or nb.cells[setups[0]].source != setup_source(language_of(path)):
            problems.append(f"{path}: no setup cell, or it differs from the generated one")
        if nb.metadata.get("kernelspec") != KERNELSPEC:
            problems.append(f"{path}: kernelspec is not ipykernel's default {KERNELSPEC}")
    return problems


def stamp(paths) -> list[Path]:
    changed = []
    for path in map(Path, paths):
        nb = nbformat.read(path, as_version=4)
        if stamp_notebook(nb, path):
            nbformat.write(nb, path)
            changed.append(path)
    return changed


# ---- exercises from solutions ---------------------------------------------------------------

def strip_solutions(source: str, markdown: bool = False) -> str:
    """Replace each BEGIN/END SOLUTION region by a placeholder at the region's indentation."""
    out, inside = [], False
    for line in source.splitlines():
        if line.strip() == BEGIN:
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.append("YOUR ANSWER HERE" if markdown else f"{indent}# YOUR CODE HERE")
            if not markdown:
                out.append(f"{indent}raise NotImplementedError()")
        elif line.strip() == END:
            if not inside:
                raise ValueError(f"{END} without {BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{BEGIN} without {END}")
    return "\n".join(out)


def _names(source: str) -> tuple[set[str], set[str]]:
    """(names a cell defines at top level, names it reads)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython magics: treat the whole cell as opaque
        return set(), set()
    defined, used = set(), set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            defined.update((a.asname or a.name).split(".")[0] for a in node.names)
        else:
            for sub in ast.walk(node):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                    defined.add(sub.id)
    for sub in ast.walk(tree):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load):
            used.add(sub.id)
    return defined, used


def exercise_from_solution(nb):
    """The exercise notebook for a solution notebook (a new object; ``nb`` is unchanged)."""
    ex = nbformat.from_dict(json.loads(json.dumps(nb)))
    unfinished: set[str] = set()
    for cell in ex.cells:
        tags = [t for t in cell.metadata.get("tags", []) if t != RAISES_TAG]
        if cell.cell_type == "markdown":
            if BEGIN in cell.source:
                cell.source = strip_solutions(cell.source, markdown=True)
        elif cell.cell_type == "code":
            defined, used = _names(cell.source)
            if BEGIN in cell.source or used & unfinished:
                unfinished |= defined
                tags.append(RAISES_TAG)
            if BEGIN in cell.source:
                cell.source = strip_solutions(cell.source)
            cell.outputs, cell.execution_count = [], None
        if tags:
            cell.metadata["tags"] = tags
        else:
            cell.metadata.pop("tags", None)
    ex.metadata.setdefault("scattn", {})["note"] = GENERATED_NOTE
    ex.metadata["scattn"].pop("outputs", None)  # an exercise has no outputs to say where they came from
    return ex


def build_exercises(solutions: Path = ROOT / "solutions", exercises: Path = ROOT / "exercises",
                    check: bool = False) -> list[Path]:
    """Write exercises/ from solutions/; with ``check``, only list the files that are out of date.

    Each solution first gets nbgrader's cell metadata from its markers (scattn.grading), which
    the exercise inherits: both are notebooks nbgrader can generate from and autograde.
    """
    stale = []
    for src in sorted(Path(solutions).glob("*.ipynb")):
        dst = Path(exercises) / src.name
        solution = nbformat.read(src, as_version=4)
        stamp_nbgrader(solution)
        text = nbformat.writes(solution) + "\n"
        if src.read_text() != text:
            stale.append(src)
            if not check:
                src.write_text(text)
        ex = exercise_from_solution(solution)
        stamp_notebook(ex, dst)
        text = nbformat.writes(ex) + "\n"
        if not dst.exists() or dst.read_text() != text:
            stale.append(dst)
            if not check:
                dst.parent.mkdir(parents=True, exist_ok=True)  # zh/exercises/ on the edition's first build
                dst.write_text(text)
    if check:
        expected = {p.name for p in Path(solutions).glob("*.ipynb")}
        stale += [p for p in Path(exercises).glob("*.ipynb") if p.name not in expected]
    return stale


# ---- running notebooks ---------------------------------------------------------------------

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_FALLBACK = ("[an interactive widget: it renders where the notebook runs (JupyterLab, Colab) or "
                   "where its saved state is shown (the course website); run the cell to use it]")


def readable_widget_fallbacks(nb) -> int:
    """Replace the text shown where a widget cannot render (``interactive(children=(IntSlider(...``)
    by a sentence; the widget itself and its saved state are kept. Returns how many changed."""
    changed = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            text = "".join(data.get("text/plain", ""))
            # A widget's repr, not a progress bar's text (tqdm's fallback reads well as it is).
            if WIDGET_MIME in data and re.match(r"\w+\((children|value|description|layout)=", text):
                data["text/plain"] = WIDGET_FALLBACK
                changed += 1
    return changed


def run(paths, timeout: int = 1800, kernel: str = "python3", cwd: Path | None = None) -> dict[str, float]:
    """Execute notebooks in place on a fresh kernel each; return seconds per notebook. The kernel
    starts in the notebook's folder, or in ``cwd`` (a copy run elsewhere reads what its original would)."""
    from nbclient import NotebookClient

    seconds = {}
    for path in map(Path, paths):
        nb = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        NotebookClient(nb, timeout=timeout, kernel_name=kernel, store_widget_state=True,
                       resources={"metadata": {"path": str(cwd or path.parent)}}).execute()
        seconds[path.name] = time.perf_counter() - start
        readable_widget_fallbacks(nb)
        nbformat.write(nb, path)
        print(f"{path}: {seconds[path.name]:.0f} s ({os.environ.get('SCATTN_PROFILE', 'default')} profile)",
              flush=True)
    return seconds


# ---- command line --------------------------------------------------------------------------


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tools.notebooks", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("build", "stamp", "check", "run", "setup-cell"))
    parser.add_argument("paths", nargs="*", help="notebooks (default: notebooks/, solutions/, exercises/)")
    parser.add_argument("--check", action="store_true", help="with build: only report stale files, exit 1 if any")
    args = parser.parse_args(argv)
    if args.action == "setup-cell":
        print(setup_source())
        return 0
    if args.action == "build":
        stale = build_exercises(check=args.check)
        if (ROOT / "zh" / "solutions").exists():  # the Chinese edition's exercises, the same way
            stale += build_exercises(ROOT / "zh" / "solutions", ROOT / "zh" / "exercises", check=args.check)
        for path in stale:
            print(f"{'out of date' if args.check else 'wrote'}: {path}")
        return 1 if (args.check and stale) else 0
    paths = args.paths or sorted(str(p) for d in ("notebooks", "solutions", "exercises", "zh/notebooks",
                                                  "zh/solutions", "zh/exercises")
                                 for p in (ROOT / d).glob("[!.]*.ipynb"))
    if args.action == "stamp":
        for path in stamp(paths):
            print(f"stamped: {path}")
        return 0
    if args.action == "check":
        problems = drift(paths)
        print("\n".join(problems) or f"{len(paths)} notebooks: badges and setup cells match")
        return 1 if problems else 0
    run([p for p in paths if "exercises" not in Path(p).parts])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
