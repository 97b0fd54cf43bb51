"""The Chinese edition: generated from the English notebooks and a translation catalogue.

    python -m tools.translate status              # per notebook: translated, missing, stale cells
    python -m tools.translate export NOTEBOOK     # the cells that need a translation, as JSON
    python -m tools.translate build [--check]     # write zh/notebooks and zh/solutions (make zh)

Every notebook of ``notebooks/`` and ``solutions/`` has a Chinese twin under ``zh/`` with the
same name. The twin is *generated*: its code cells are the English ones, byte for byte (the
setup cell is the generated one, which differs in one argument: ``scattn.setup(language="zh")``,
so that the exercise checks speak Chinese); its markdown cells come from the catalogue
``translations/zh/<folder>/<name>.json``, keyed by the English cell's id, each entry holding the
SHA-256 of the English source it was translated from. A cell whose English changed since its
translation is *stale*, a cell without an entry is *missing*: ``build`` refuses both (and
``tests/test_translation.py`` fails on them), so the Chinese edition never drifts silently
behind the English. ``make exercises`` then writes ``zh/exercises/`` from ``zh/solutions/`` as
it writes ``exercises/`` from ``solutions/``.

Outputs, and which: a generated twin starts with the English run's outputs carried over (the
code is byte-identical, so every printed number is the same run's), and its metadata says so
(``metadata.scattn.outputs``). The notebooks whose outputs depend on the language (those that
call the exercise checks: notebook 00 and the solutions) are then run for real in Chinese
(``python -m tools.claims run --profile cpu zh/...``), which records "a real run in Chinese" there;
``build`` keeps such a run's outputs as long as the code is unchanged.
"""

from __future__ import annotations

import copy
import hashlib
import json
import posixpath
import re
import sys
from pathlib import Path

import nbformat

from tools.notebooks import BADGE_TAG, ROOT, stamp_notebook

CATALOGUE = ROOT / "translations" / "zh"
RUN_IN_CHINESE = "a real run in Chinese"  # what tools/claims.py writes into a twin it ran
EDITION = ROOT / "zh"
SOURCES = ("notebooks", "solutions")


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def english_notebooks() -> list[Path]:
    return [p for folder in SOURCES for p in sorted((ROOT / folder).glob("[!.]*.ipynb"))]


def twin(english: Path) -> Path:
    """zh/notebooks/NN.ipynb for notebooks/NN.ipynb."""
    return EDITION / english.resolve().relative_to(ROOT)


def catalogue_path(english: Path) -> Path:
    rel = english.resolve().relative_to(ROOT)
    return CATALOGUE / rel.parent / f"{rel.stem}.json"


def load_catalogue(english: Path) -> dict:
    path = catalogue_path(english)
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def translatable(nb) -> list:
    """The markdown cells that need a translation (the badge is generated)."""
    return [c for c in nb.cells if c.cell_type == "markdown" and BADGE_TAG not in c.metadata.get("tags", [])]


def state(english: Path) -> dict[str, list[str]]:
    """Cell ids by state: translated, missing (no entry), stale (the English changed since)."""
    nb = nbformat.read(english, as_version=4)
    cat = load_catalogue(english)
    found = {"translated": [], "missing": [], "stale": []}
    for cell in translatable(nb):
        entry = cat.get(cell.id)
        if entry is None:
            found["missing"].append(cell.id)
        elif entry["en_sha256"] != sha(cell.source):
            found["stale"].append(cell.id)
        else:
            found["translated"].append(cell.id)
    return found


def export(english: Path) -> list[dict]:
    """What a translator needs: every cell that is missing or stale, with its English source and,
    for a stale cell, the old translation."""
    nb = nbformat.read(english, as_version=4)
    cat = load_catalogue(english)
    todo = []
    for cell in translatable(nb):
        entry = cat.get(cell.id)
        if entry is None or entry["en_sha256"] != sha(cell.source):
            todo.append({"id": cell.id, "en_sha256": sha(cell.source), "en": cell.source,
                         **({"old_zh": entry["zh"]} if entry else {})})
    return todo


def record(english: Path, translations: dict[str, str]) -> None:
    """Store translations {cell id: Chinese markdown} for the English cells as they are now."""
    nb = nbformat.read(english, as_version=4)
    sources = {c.id: c.source for c in translatable(nb)}
    unknown = set(translations) - set(sources)
    if unknown:
        raise ValueError(f"{english.name}: no translatable cell with id {', '.join(sorted(unknown))}")
    cat = load_catalogue(english)
    for cell_id, text in translations.items():
        cat[cell_id] = {"en_sha256": sha(sources[cell_id]), "zh": text}
    path = catalogue_path(english)
    path.parent.mkdir(parents=True, exist_ok=True)
    ordered = {c: cat[c] for c in sources if c in cat}  # notebook order; entries of deleted cells dropped
    path.write_text(json.dumps({"source": english.resolve().relative_to(ROOT).as_posix(), "cells": ordered},
                               indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


CJK = r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]"
LINK = re.compile(r"(\]\()([^)\s]+)(\))")


def join_cjk_lines(text: str) -> str:
    """Join the lines of a paragraph where one ends and the next begins with a Chinese character:
    Markdown turns such a line break into a space, which Chinese text does not have. Code blocks,
    display math, tables, lists, headings and HTML keep their lines."""
    out, fenced = [], False
    for line in text.split("\n"):
        if line.lstrip().startswith(("```", "$$")):
            fenced = not fenced if line.lstrip().startswith("```") or line.strip() == "$$" else fenced
            out.append(line)
            continue
        structural = re.match(r"\s*([-*+] |\d+\. |#|\||>|<|\$\$)", line)
        if (out and not fenced and not structural and out[-1].strip() and not re.match(r"\s*(\||#)", out[-1])
                and re.search(CJK + "$", out[-1]) and re.match(r"\s*" + CJK, line)):
            out[-1] += line.strip()
        else:
            out.append(line)
    return "\n".join(out)


def site_url() -> str:
    """The English website's address, from pyproject.toml's [project.urls] (the one place it is named)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    return re.search(r'^Documentation\s*=\s*"([^"]+)"', text, re.MULTILINE).group(1).rstrip("/")


def relink(text: str, english: Path) -> str:
    """Links of an English notebook, made right for its twin one folder deeper: a link to another
    notebook of the edition stays relative; a link to the rest of the repository (docs/, the README)
    becomes the English website's page, which the Chinese site and a checkout both reach."""
    folder = english.resolve().relative_to(ROOT).parent.as_posix()

    def fix(m: re.Match) -> str:
        target = m.group(2)
        if re.match(r"[a-z]+:|#|/", target):  # absolute, an anchor, or from the root: as it is
            return m.group(0)
        path, _, anchor = target.partition("#")
        resolved = posixpath.normpath(posixpath.join(folder, path))
        if resolved.split("/")[0] in SOURCES + ("exercises",):
            return m.group(0)  # the twin has the same sibling under zh/
        page = re.sub(r"\.(md|ipynb)$", ".html", resolved)
        return f"{m.group(1)}{site_url()}/{page}{'#' + anchor if anchor else ''}{m.group(3)}"

    return LINK.sub(fix, text)


def generate(english: Path):
    """The Chinese twin of ``english``: its cells, translated markdown, the generated badge and setup cell.
    Raises ValueError listing the cells that are missing or stale."""
    problems = state(english)
    bad = problems["missing"] + problems["stale"]
    if bad:
        raise ValueError(f"{english.resolve().relative_to(ROOT)}: {len(problems['missing'])} cell(s) without a "
                         f"translation, {len(problems['stale'])} stale: {', '.join(bad[:8])}"
                         f"{' ...' if len(bad) > 8 else ''} (python -m tools.translate export {english})")
    nb = nbformat.read(english, as_version=4)
    cat = load_catalogue(english)
    zh = copy.deepcopy(nb)
    for cell in translatable(zh):
        cell.source = relink(join_cjk_lines(cat[cell.id]["zh"]), english)
    path = twin(english)
    old = nbformat.read(path, as_version=4) if path.exists() else None
    source = english.resolve().relative_to(ROOT).as_posix()
    outputs = f"carried over from {source}'s run (its code is byte-identical)"
    if old is not None and old.metadata.get("scattn", {}).get("outputs", "").startswith(RUN_IN_CHINESE):
        previous = {c.id: c for c in old.cells if c.cell_type == "code"}
        if all(c.id in previous and previous[c.id].source == c.source for c in zh.cells if c.cell_type == "code"
               and "setup" not in c.metadata.get("tags", [])):  # a real Chinese run of this very code: keep it
            for cell in zh.cells:
                if cell.cell_type == "code":
                    cell.outputs = previous[cell.id].outputs
                    cell.execution_count = previous[cell.id].execution_count
            outputs = old.metadata["scattn"]["outputs"]
    zh.metadata.setdefault("scattn", {}).update({
        "translation": f"generated from {source} and {catalogue_path(english).relative_to(ROOT).as_posix()} by "
                       "`make zh`; edit those, not this file",
        "outputs": outputs})
    stamp_notebook(zh, path)  # the badge for this path, the Chinese setup cell
    return zh


def build(check: bool = False) -> list[str]:
    """Write every twin; with ``check``, only list what is out of date. Problems come back as lines."""
    out = []
    for english in english_notebooks():
        try:
            zh = generate(english)
        except ValueError as e:
            out.append(str(e))
            continue
        path = twin(english)
        text = nbformat.writes(zh) + "\n"
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            if check:
                out.append(f"{path.relative_to(ROOT)}: out of date (make zh)")
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    return out


def code_differences(english: Path) -> list[str]:
    """Where the Chinese twin's code differs from the English (the setup cell excepted)."""
    path = twin(english)
    if not path.exists():
        return [f"{path.relative_to(ROOT)}: missing"]
    en, zh = nbformat.read(english, as_version=4), nbformat.read(path, as_version=4)
    code = [(c.id, c.source) for c in en.cells if c.cell_type == "code" and "setup" not in c.metadata.get("tags", [])]
    code_zh = [(c.id, c.source) for c in zh.cells
               if c.cell_type == "code" and "setup" not in c.metadata.get("tags", [])]
    if code != code_zh:
        return [f"{path.relative_to(ROOT)}: its code cells differ from {english.resolve().relative_to(ROOT)}"]
    return []


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tools.translate", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("status", help="translated / missing / stale cells per notebook")
    e = sub.add_parser("export", help="the cells of a notebook that need a translation, as JSON")
    e.add_argument("notebook")
    b = sub.add_parser("build", help="write zh/notebooks and zh/solutions from the catalogue")
    b.add_argument("--check", action="store_true", help="only report what is out of date; exit 1 if anything is")
    args = parser.parse_args(argv)
    if args.action == "status":
        for english in english_notebooks():
            s = state(english)
            print(f"{english.relative_to(ROOT)}: {len(s['translated'])} translated, {len(s['missing'])} missing, "
                  f"{len(s['stale'])} stale")
        return 0
    if args.action == "export":
        print(json.dumps(export(Path(args.notebook)), indent=1, ensure_ascii=False))
        return 0
    problems = build(check=args.check)
    print("\n".join(problems) or "the Chinese edition is up to date")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
