"""docs/statistics.md states numbers from its recorded runs (scattn/recorded/power_cpu_*.json,
seeds 0-9); this test recomputes every one, so the primer cannot drift from its data.

The ```python blocks run in order in one namespace. A statement followed by a comment that
starts with a value (``d.mean  # -0.37``, ``d.wins, d.losses  # (3, 7)``, ``seeds_needed(...)
# 11 seeds``) is compared with that value at the precision written (-0.37: within 0.005; 11:
exactly); a ``print(...)`` is compared with the text of its comment. The numbers in the prose
are recomputed below and looked up as phrases."""

from __future__ import annotations

import ast
import contextlib
import io
import json
import re
import statistics
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as _scipy

from scattn.course import RECORDED, by_label, recorded_runs
from scattn.stats import holm, paired, power, rate, seeds_needed

DOC = Path(__file__).resolve().parents[1] / "docs" / "statistics.md"
SEEDS = range(10)


def _recorded() -> dict[str, list[float]]:
    """Final test accuracy in % to one decimal, per variant, seeds 0-9."""
    table = by_label(recorded_runs("power_cpu_*"))
    return {v: [round(100 * table[v][s], 1) for s in SEEDS] for v in ("none", "se", "cbam")}


def _leading_value(comment: str) -> tuple[object, str] | None:
    """The longest start of ``comment`` that is a Python literal, and its text (None if none)."""
    for end in range(len(comment), 0, -1):
        text = comment[:end]
        if text[-1] in ", ":
            continue
        with contextlib.suppress(ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return ast.literal_eval(text), text
    return None


def _flat(value) -> list:
    return [x for v in value for x in _flat(v)] if isinstance(value, (tuple, list)) else [value]


def _matches(actual, written, text: str) -> bool:
    """``actual`` equals ``written`` at the precision of ``text`` (numbers) or exactly (strings)."""
    actual, written = _flat(actual), _flat(written)
    if len(actual) != len(written):
        return False
    numerals = iter(re.findall(r"\d+(?:\.(\d+))?", text))
    for a, w in zip(actual, written, strict=True):
        if isinstance(w, str):
            if a != w:
                return False
            continue
        decimals = len(next(numerals) or "")
        if abs(a - w) > 0.5 * 10.0**-decimals + 1e-9 if decimals else a != w:
            return False
    return True


def check(doc: str) -> int:
    """Run the primer's code and compare every commented value; returns how many were compared."""
    blocks = re.findall(r"```python\n(.*?)```", doc, re.S)
    first: dict = {}
    exec(blocks[0], first)
    assert {v: first[v] for v in ("none", "se", "cbam")} == _recorded(), "the data lists differ from the recorded runs"
    namespace: dict = {}
    compared = 0
    for block in blocks:
        lines = block.splitlines()
        for stmt in ast.parse(block).body:
            source = ast.get_source_segment(block, stmt)
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(ast.Module([stmt], []), "<docs/statistics.md>", "exec"), namespace)
            rest = lines[stmt.end_lineno - 1][stmt.end_col_offset :].strip()
            if not rest.startswith("#"):
                continue
            comment = rest[1:].strip()
            value = stmt.value if isinstance(stmt, (ast.Expr, ast.Assign)) else None
            if isinstance(value, ast.Call) and getattr(value.func, "id", None) == "print":
                assert out.getvalue().strip() == comment, f"{source}: prints {out.getvalue().strip()!r}"
                compared += 1
            elif value is not None and (written := _leading_value(comment)) is not None:
                actual = eval(compile(ast.Expression(value), "<docs/statistics.md>", "eval"), namespace)
                assert _matches(actual, *written), f"{source}: the primer says {comment!r}, the data give {actual!r}"
                compared += 1
    for phrase in _prose_phrases():
        assert phrase in " ".join(doc.split()), f"the primer should say {phrase!r}"
    return compared


def _prose_phrases() -> list[str]:
    """The numbers and comparisons the prose states, recomputed, in the words the primer uses."""
    a, b = (json.loads((RECORDED / f"power_cpu_{x}.json").read_text(encoding="utf-8")) for x in "ab")
    sizes = a["sizes"]
    data = _recorded()
    none, se, cbam = data["none"], data["se"], data["cbam"]
    d, c = paired(se, none), paired(cbam, none)
    low, high = d.ci()
    words = {2: "two", 3: "three", 5: "five", 10: "ten"}
    subsets = [paired([se[i] for i in s], [none[i] for i in s]) for s in combinations(SEEDS, 3)]
    first, needed = subsets[0], [seeds_needed(0.5, s.sd) for s in subsets]
    detected = [s for s in subsets if s.p < 0.05]
    ahead = sum(s.mean > 0 for s in detected)
    # the claims in words: both intervals contain zero, no p (nor Holm's, never smaller) is below 0.05,
    # CBAM trails on most seeds, SE leads on all of the first three, the power figures' odds
    assert low < 0 < high and c.ci()[0] < 0 < c.ci()[1] and min(d.p, c.p) >= 0.05
    assert c.losses > c.n / 2 and first.wins == 3 and 1 - power(0.5, d.sd, 10) == pytest.approx(1 / 4, abs=0.05)
    assert 1 - power(0.5, d.sd, 3) == pytest.approx(5 / 6, abs=0.05)
    return [
        f"power_cpu_a.json` for seeds {min(a['seeds'])} to {max(a['seeds'])} and `power_cpu_b.json` for seeds "
        f"{min(b['seeds'])} to {max(b['seeds'])}",
        f"as low as {100 * rate(10, 10).low:.0f}%",
        f"adjusted, it is {holm([0.03, 0.2, 0.5, 0.6])[0]:.2f}",
        f"{sizes['n_train']:,} cluttered-digit canvases for {sizes['epochs']} epochs in batches of "
        f"{sizes['batch_size']}",
        f"scored on {sizes['n_test']:,} test canvases",
        f"correlate at {np.corrcoef(se, none)[0, 1]:.2f}",
        f"standard deviation of {np.std(none, ddof=1):.2f} and {np.std(se, ddof=1):.2f} points, "
        f"the differences with {d.sd:.2f}",
        f"({_scipy.t.ppf(0.975, 9):.2f} for 10 seeds, {_scipy.t.ppf(0.975, 2):.2f} for 3)",
        f"trailing by up to {-low:.1f} points and with SE leading by up to {high:.1f} points",
        f"ahead on {words[d.wins]} seeds and behind on {words[d.losses]}, by between "
        f"{-min(d.diffs):.1f} points behind and {max(d.diffs):.1f} ahead",
        f"at the spread of these ten ({d.sd:.2f})",
        f"differences spread by {first.sd:.2f}, and the figure would be {needed[0]} seeds",
        f"Over all {len(subsets)} ways of choosing three of the ten seeds, it ranges from {min(needed)} "
        f"to {max(needed)} (median {statistics.median(needed):g})",
        f"from SE {-first.ci()[0]:.2f} points behind to {first.ci()[1]:.2f} ahead",
        f"the mean difference is {d.mean:.2f}".replace("-", "−"),
        f"Of the {len(subsets)} three-seed subsets, {len(detected)} reach p < 0.05, "
        f"{'one with SE ahead and one with SE behind' if ahead == 1 == len(detected) - ahead else '?'}",
    ]


def test_every_number_in_the_primer_comes_from_the_recorded_runs():
    assert check(DOC.read_text(encoding="utf-8")) >= 15


@pytest.mark.parametrize(
    "old, new",
    [
        ("# -0.11\n", "# -0.12\n"),  # a commented value
        ("# (5, 5)", "# (4, 6)"),  # a commented tuple
        ("none = [97.5", "none = [97.6"),  # the data
        ("# 7/10 (70%", "# 7/10 (71%"),  # a printed line
        ("correlate at 0.27", "correlate at 0.28"),  # the prose
        ("2 reach p < 0.05", "3 reach p < 0.05"),  # the three-seed subsets
    ],
)
def test_a_changed_number_fails(old, new):
    doc = DOC.read_text(encoding="utf-8")
    assert doc.count(old) == 1
    with pytest.raises(AssertionError):
        check(doc.replace(old, new))
