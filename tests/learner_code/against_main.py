"""Run the catalogue against an older scattn/checks.py and print how it judged each entry.

    PYTHONPATH=. python tests/learner_code/against_main.py [git revision, default main]

Verdicts: ``accepted`` (a wrong entry passed), ``rejected`` (a right entry failed),
``crash`` (the checker raised something other than its AssertionError), ``ok``. For
wrong entries that the old check rejected, its hint is printed to compare by eye.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import subprocess
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from learner_code import cbam, channel, eca, entries, hooks, localisation, se, spatial  # noqa: E402


def old_checks(revision: str):
    source = subprocess.run(["git", "show", f"{revision}:scattn/checks.py"], cwd=HERE, check=True,
                            capture_output=True, text=True).stdout
    spec = importlib.util.spec_from_loader("scattn._old_checks", loader=None)
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "scattn"  # its relative imports (.inspect, .train) resolve in today's package
    exec(compile(source, f"{revision}:scattn/checks.py", "exec"), module.__dict__)
    return module


def main(revision: str = "main") -> None:
    old = old_checks(revision)
    tally = Counter()
    for module in (spatial, channel, se, cbam, eca, hooks, localisation):
        for check, impl in entries(module):
            out = io.StringIO()
            try:
                with contextlib.redirect_stdout(out):
                    getattr(old, check)(impl)
                outcome, hint = "passed", ""
            except AssertionError as error:
                outcome, hint = "failed", str(error)
            except Exception as error:  # noqa: BLE001 -- exactly what this script looks for
                outcome, hint = "crash", f"{type(error).__name__}: {error}"
            if outcome == "crash":
                verdict = "crash"
            elif impl.verdict == "wrong":
                verdict = "accepted" if outcome == "passed" else "ok"
            else:
                verdict = "rejected" if outcome == "failed" else "ok"
            tally[impl.verdict, verdict] += 1
            line = " | ".join(hint.splitlines())[:400] if hint else ""
            print(f"{check:20s} {impl.verdict:5s} {impl.__name__:38s} {verdict:8s} {line}")
    print(dict(tally))


if __name__ == "__main__":
    main(*sys.argv[1:])
