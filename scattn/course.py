"""Claims: every sentence of the course that states a measured outcome is checked by the run.

A notebook that says "SE beats the plain network on every seed" follows the
sentence with the check that backs it::

    from scattn.course import claim
    claim(all(d > 0 for d in diffs), "SE beats the plain network on every seed")

which prints ``claim ✓ SE beats ...`` or ``claim ✗ SE beats ...``. A claim never
raises: a learner's run on other hardware may legitimately differ, and the line
says so. The committed outputs are what the text describes; a test fails when one
of them holds ``claim ✗`` (the text or the experiment is then wrong, never the
check). In the smoke profile (CI, a few steps of training) claims are reported,
not enforced: the numbers there say nothing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

PASS, FAIL = "claim ✓", "claim ✗"


def claim(condition, statement: str) -> bool:
    """Print ``claim ✓ statement`` when ``condition`` holds, ``claim ✗ statement`` when not.

    Returns the verdict as a bool. ``condition`` may be anything with a truth
    value (a bool, a NumPy bool, a 0-d tensor).
    """
    if not isinstance(statement, str) or not statement.strip():
        raise ValueError("claim needs the statement it checks, as a non-empty string")
    ok = bool(condition)
    line = f"{PASS if ok else FAIL} {statement}"
    if not ok:
        if os.environ.get("SCATTN_PROFILE") == "smoke":
            line += "  [smoke profile: a few steps of training; reported, not enforced]"
        else:
            line += "  [this run differs from the one the text describes]"
    print(line)
    return ok




RECORDED = Path(__file__).resolve().parent / "recorded"


def recorded(name: str) -> dict:
    """A recorded experiment shipped with the package: ``scattn/recorded/NAME.json``.

    Experiments that take longer than a notebook's time budget (``benchmarks/
    when_attention_pays.py``, ``benchmarks/spatial_selection.py``) write their runs as
    JSON, with the command that made them under ``"argv"``. Notebooks read them from
    here, so an installed copy (Colab) has them too.
    """
    path = RECORDED / f"{name}.json"
    if not path.is_file():
        known = sorted(p.stem for p in RECORDED.glob("*.json"))
        raise ValueError(f"no recorded experiment {name!r}; expected one of {', '.join(known) or '(none)'}")
    return json.loads(path.read_text(encoding="utf-8"))


__all__ = ["FAIL", "PASS", "RECORDED", "claim", "recorded"]
