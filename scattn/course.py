"""Claims: every sentence of the course that states a measured outcome is checked by the run.

A notebook that says "SE found the cue on most seeds" follows the sentence with the check
that backs it::

    from scattn.course import claim
    claim(found.share > 0.5, "SE finds the cue on most of the recorded seeds")        # recorded runs
    claim(acc["none"] < 0.6, "the plain network stays below 60%", live=True)        # trained here

A claim prints one line and never raises (a learner's run on other hardware may
legitimately differ, and the line says so):

- ``claim ✓ S`` / ``claim ✗ S  [the text or the experiment is wrong]``: a claim whose
  inputs are fixed (recorded runs, tensors from a fixed seed). Its verdict is the same in
  every profile, so CI (the smoke profile) compares it with the committed run: a flip
  fails ``make test``.
- ``claim ✓ S  [this run]`` / ``claim ✗ S  [this run: ...]`` with ``live=True``: a claim
  about what this notebook run trained. In the smoke profile, which trains for a few steps,
  it says plainly that it checks nothing there (``claim – S  [this run: ...]``).

Every notebook is run in the cpu and the gpu profile; the claims ledger (``docs/claims.json``,
``python -m tools.claims``) keeps each claim's verdict per profile, and a test fails on a ✗.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

PASS, FAIL, UNCHECKED = "claim ✓", "claim ✗", "claim –"
THIS_RUN = "this run"


def claim(condition, statement: str, *, live: bool = False) -> bool:
    """Print the verdict of ``condition`` on ``statement``; return it as a bool.

    ``condition`` may be anything with a truth value (a bool, a NumPy bool, a 0-d
    tensor). ``live=True`` marks a claim about training done in this run (the verdict
    may differ on other hardware, and the smoke profile cannot check it); leave it
    False when the inputs are fixed (recorded runs, fixed tensors).
    """
    if not isinstance(statement, str) or not statement.strip():
        raise ValueError("claim needs the statement it checks, as a non-empty string")
    ok = bool(condition)
    if live and os.environ.get("SCATTN_PROFILE") == "smoke":
        print(f"{UNCHECKED} {statement}  [{THIS_RUN}: the smoke profile trains too little to check it]")
    elif live:
        note = THIS_RUN if ok else f"{THIS_RUN}: it differs from the run the text describes"
        print(f"{PASS if ok else FAIL} {statement}  [{note}]")
    else:
        print(f"{PASS} {statement}" if ok else f"{FAIL} {statement}  [the text or the experiment is wrong]")
    return ok


RECORDED = Path(__file__).resolve().parent / "recorded"


def recorded(name: str) -> dict:
    """A recorded experiment shipped with the package: ``scattn/recorded/NAME.json``.

    Experiments that take longer than a notebook's time budget
    (``benchmarks/when_attention_pays.py``) write their runs as JSON, after the
    provenance the run wrote itself (command, scattn version, git commit, date,
    machine, torch version, threads). Notebooks read them from here, so an installed
    copy (Colab) has them too.
    """
    path = RECORDED / f"{name}.json"
    if not path.is_file():
        known = sorted(p.stem for p in RECORDED.glob("*.json"))
        raise ValueError(f"no recorded experiment {name!r}; expected one of {', '.join(known) or '(none)'}")
    return json.loads(path.read_text(encoding="utf-8"))


def recorded_runs(*patterns: str) -> list[dict]:
    """Every run of the recorded experiments whose names match ``patterns`` (globs such as
    ``"colour_cue_core_*"``), in file order, each a dict with the file's ``task``, ``sizes`` and
    ``options`` merged in and two keys added: ``label`` (the variant, with its options when the
    file set any: ``"se (reduction 8)"``) and ``final`` (the last epoch's test accuracy).
    A pattern that matches no file is a ValueError naming the files there are."""
    runs = []
    for pattern in patterns:
        paths = sorted(RECORDED.glob(f"{pattern}.json"))
        if not paths:
            known = sorted(p.stem for p in RECORDED.glob("*.json"))
            raise ValueError(f"no recorded experiment matches {pattern!r}; there are {', '.join(known) or '(none)'}")
        for path in paths:
            record = json.loads(path.read_text(encoding="utf-8"))
            options = record.get("options", {})
            suffix = ", ".join(f"{k} {','.join(map(str, v)) if isinstance(v, list) else v}" for k, v in options.items())
            for run in record["runs"]:
                runs.append({**run, "task": record["task"], "sizes": record["sizes"], "options": options,
                             "file": path.stem, "final": run["history"][-1]["test_acc"],
                             "label": f"{run['variant']} ({suffix})" if suffix else run["variant"]})
    return runs


def by_label(runs: list[dict], key: str = "final") -> dict[str, dict[int, object]]:
    """``{label: {seed: run[key]}}``: per variant, one value per seed (pair them by seed)."""
    table: dict[str, dict[int, object]] = {}
    for run in runs:
        table.setdefault(run["label"], {})[run["seed"]] = run[key]
    return table


__all__ = ["FAIL", "PASS", "RECORDED", "THIS_RUN", "UNCHECKED", "by_label", "claim", "recorded", "recorded_runs"]
