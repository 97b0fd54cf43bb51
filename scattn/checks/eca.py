"""Check of exercise 05: ECA's adaptive kernel size, k = |log2(C)/γ + b/γ|_odd with γ = 2, b = 1."""

from __future__ import annotations

import math
import numbers

from ..i18n import t
from .learner import call, kind
from .report import Mistake, Report

CASES = (1, 3, 8, 16, 32, 64, 100, 128, 256, 512, 1024, 2048, 4096)


def _odd(t: int, down: bool = False) -> int:
    return t if t % 2 else (t - 1 if down else t + 1)


def _as_int(k, c: int) -> int:
    """The learner's k for C = c, which must be an integer (a Python int or a NumPy integer)."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        problem = kind(k) or t("{value!r}, a {type}", value=k, type=type(k).__name__)
        raise Mistake(t("for C = {c} your function returned {problem}. Return an int: a kernel size is a whole "
                        "number (nn.Conv1d rejects a float); int(...) converts", c=c, problem=problem))
    return int(k)


def eca_kernel_size(fn) -> None:
    """Check ``fn(channels) -> k`` against the authors' rule: t = int((log2(C) + 1) / 2), k = t or t + 1, odd."""
    __tracebackhide__ = True
    from ..attention.eca import eca_kernel_size as reference

    report = Report(t("ECA kernel: k = |log2(C)/2 + 1/2|_odd"))

    with report.step(t("C = 64 -> 3, 256 -> 5, 2048 -> 7, and every size in between")):
        got = {c: _as_int(call(fn, c, what=t("your function({c})", c=c)), c) for c in CASES}
        want = {c: reference(c) for c in CASES}
        if got != want:
            if any(k % 2 == 0 for k in got.values()):
                raise Mistake(t("some sizes are even: when t = int((log2(C) + 1) / 2) is even, use t + 1"))
            exact = {c: (math.log2(c) + 1) / 2 for c in CASES}  # t before truncation
            if all(got[c] == _odd(round(exact[c])) for c in CASES):
                raise Mistake(t("you rounded (log2(C) + 1) / 2 to the nearest integer; the authors truncate with "
                                "int() and then make it odd"))
            if all(got[c] == _odd(int((math.log(c) + 1) / 2)) for c in CASES):
                raise Mistake(t("use log base 2 (math.log2), not the natural log"))
            if all(got[c] == max(want[c], 3) for c in CASES):
                raise Mistake(t("you clamp k to at least 3 (timm does); the paper's formula gives 1 for small C"))
            if all(got[c] == _odd(int(exact[c]), down=True) for c in CASES):
                raise Mistake(t("an even t becomes t - 1; the authors' code makes it odd with t + 1"))
            wrong = {c: (got[c], want[c]) for c in CASES if got[c] != want[c]}
            raise Mistake(t("(channels: got, expected) {wrong}", wrong=wrong))
    report.finish()
