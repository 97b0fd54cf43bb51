"""Paired comparisons: is variant A better than variant B, seed by seed, and could we tell?

Two variants trained with the same seed share their initial random state, their
batches and their test set, so the honest unit is the *difference* on each seed::

    from scattn.stats import paired, seeds_needed
    cmp = paired(se_accuracies, none_accuracies)   # per seed, in the same seed order
    cmp.diffs, cmp.signs                           # every seed's difference and its sign
    cmp.p                                          # paired t-test, two-sided
    seeds_needed(0.005, cmp.sd)                    # seeds to detect half a point

- :func:`paired`: per-seed differences, their mean and spread, a paired t-test and
  the confidence interval of the mean difference (:meth:`Paired.ci`).
- :func:`rate`: how often something happened (a cue found on k of n seeds), with
  Wilson's 95% interval.
- :func:`holm`: Holm's correction when several variants face one baseline.
- :func:`mcnemar`: McNemar's exact test for two classifiers on one test set.
- :func:`seeds_needed` and :func:`power`: how many paired seeds detect an effect
  of a given size at α = 0.05 with 80% power, from a measured spread.

When a test cannot tell two variants apart, the words are "not detectable with N
seeds", never "no difference".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as _scipy

from .arguments import integer, non_negative_int, number, positive_number


def _values(name: str, values) -> np.ndarray:
    a = np.asarray(values, dtype=np.float64)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of numbers (one per seed), got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} must hold finite numbers, got {values!r}")
    return a


@dataclass(frozen=True)
class Paired:
    """Per-seed differences a − b and the paired t-test on them.

    diffs  d_i = a_i − b_i, one per seed, in the order given
    mean   d̄ = (1/n) Σ d_i
    sd     s = sqrt(Σ (d_i − d̄)² / (n − 1)), the spread of the differences (nan for n = 1)
    t      d̄ / (s / √n), with n − 1 degrees of freedom
    p      two-sided P(|T| ≥ |t|) under "no difference" (nan when it cannot be computed:
           one seed, or every difference equal)
    """

    diffs: tuple[float, ...]
    mean: float
    sd: float
    t: float
    p: float

    @property
    def n(self) -> int:
        return len(self.diffs)

    @property
    def signs(self) -> str:
        """'+', '−' or '0' per seed, e.g. '+ + − +'."""
        return " ".join("+" if d > 0 else "−" if d < 0 else "0" for d in self.diffs)

    @property
    def wins(self) -> int:
        """Seeds on which a is ahead of b."""
        return sum(d > 0 for d in self.diffs)

    @property
    def losses(self) -> int:
        """Seeds on which a is behind b."""
        return sum(d < 0 for d in self.diffs)

    def ci(self, level: float = 0.95) -> tuple[float, float]:
        """The t interval for the mean difference: d̄ ± t_{(1+level)/2, n−1} · s / √n.

        (nan, nan) for one seed; (d̄, d̄) when every difference is equal.
        """
        _check_level(level)
        if self.n < 2:
            return math.nan, math.nan
        half = float(_scipy.t.ppf((1 + level) / 2, self.n - 1)) * self.sd / math.sqrt(self.n)
        return self.mean - half, self.mean + half

    def __str__(self) -> str:
        diffs = ", ".join(f"{d:+.4g}" for d in self.diffs)
        low, high = self.ci()
        return (f"Paired(n={self.n}: {diffs}; mean {self.mean:+.4g} [95% CI {low:+.4g}, {high:+.4g}], "
                f"sd {self.sd:.4g}, t = {self.t:.3g}, p = {self.p:.3g})")


def paired(a: Sequence[float], b: Sequence[float]) -> Paired:
    """Differences a_i − b_i per seed and the paired (dependent-samples) t-test on them.

    ``a`` and ``b`` are one number per seed, in the same seed order (e.g.
    ``ComparisonTable.rows[i]["accuracies"]``). This is Student's one-sample t-test on
    the differences, as ``scipy.stats.ttest_rel`` computes it.
    """
    a, b = _values("a", a), _values("b", b)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have one value per seed each, got {a.size} and {b.size}")
    d = a - b
    n = d.size
    mean = float(d.mean())
    sd = float(d.std(ddof=1)) if n > 1 else math.nan
    if n > 1 and sd > 0:
        t = mean / (sd / math.sqrt(n))
        p = float(2 * _scipy.t.sf(abs(t), n - 1))
    else:
        t, p = math.nan, math.nan
    return Paired(tuple(float(x) for x in d), mean, sd, t, p)


@dataclass(frozen=True)
class Rate:
    """k successes in n trials, the share k / n and Wilson's score interval for it.

    Wilson's interval (Wilson 1927) is the set of p a score test at that level does
    not reject; unlike k/n ± 1.96 √(p̂(1 − p̂)/n) it stays inside [0, 1] and does not
    collapse to a point at 0 of n or n of n:

        centre = (p̂ + z²/2n) / (1 + z²/n),  half = z √(p̂(1 − p̂)/n + z²/4n²) / (1 + z²/n)
    """

    k: int
    n: int
    low: float
    high: float

    @property
    def share(self) -> float:
        return self.k / self.n

    def __str__(self) -> str:
        return f"{self.k}/{self.n} ({100 * self.share:.0f}%, 95% CI {100 * self.low:.0f}-{100 * self.high:.0f}%)"


def rate(k: int, n: int, level: float = 0.95) -> Rate:
    """``k`` of ``n`` (seeds on which the cue was found, say) with Wilson's interval at ``level``."""
    k, n = non_negative_int("k", k), non_negative_int("n", n)
    if n == 0 or k > n:
        raise ValueError(f"rate needs 0 <= k <= n and n >= 1, got k = {k}, n = {n}")
    _check_level(level)
    z = float(_scipy.norm.ppf((1 + level) / 2))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low = 0.0 if k == 0 else max(0.0, centre - half)  # exactly 0 and 1 at the ends, not 1 - 1e-16
    high = 1.0 if k == n else min(1.0, centre + half)
    return Rate(int(k), int(n), low, high)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (Holm 1979), in the order given.

    With m tests, sort the p-values p_(1) ≤ ... ≤ p_(m); the adjusted value of p_(i)
    is max_{j ≤ i} min(1, (m − j + 1) p_(j)). Rejecting where the adjusted value is
    below α keeps the chance of *any* false rejection among the m at most α, the
    family-wise error rate, whatever the dependence between the tests.
    """
    p = _values("pvalues", pvalues)
    if ((p < 0) | (p > 1)).any():
        raise ValueError(f"p-values must lie in [0, 1], got {list(pvalues)!r}")
    m = p.size
    order = np.argsort(p, kind="stable")
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return [float(a) for a in adjusted]


def _check_level(level) -> None:
    number("level (e.g. 0.95)", level, low=0.0, high=1.0, low_open=True, high_open=True)


@dataclass(frozen=True)
class McNemar:
    """McNemar's exact test for two classifiers scored on the same test examples.

    only_a  examples a gets right and b gets wrong
    only_b  examples b gets right and a gets wrong
    p       two-sided exact p-value: under "equally good", each of the n = only_a + only_b
            discordant examples is a fair coin, so p = min(1, 2 P(X ≤ min(only_a, only_b))),
            X ~ Binomial(n, 1/2)
    """

    only_a: int
    only_b: int
    p: float


def mcnemar(correct_a: Sequence[bool], correct_b: Sequence[bool]) -> McNemar:
    """McNemar's exact test on per-example correctness of two classifiers (same examples, same order)."""
    a = np.asarray(correct_a)
    b = np.asarray(correct_b)
    if a.ndim != 1 or a.shape != b.shape or a.size == 0:
        raise ValueError(
            f"correct_a and correct_b must be 1-D and of one length (one entry per test example), "
            f"got shapes {a.shape} and {b.shape}"
        )
    if a.dtype != bool or b.dtype != bool:
        raise ValueError(f"correct_a and correct_b must be booleans (right or wrong), got {a.dtype} and {b.dtype}")
    only_a = int((a & ~b).sum())
    only_b = int((~a & b).sum())
    n = only_a + only_b
    if n == 0:
        return McNemar(0, 0, 1.0)
    tail = sum(math.comb(n, k) for k in range(min(only_a, only_b) + 1)) / 2**n  # P(X <= min)
    return McNemar(only_a, only_b, min(1.0, 2 * tail))


def power(effect: float, sd: float, n: int, alpha: float = 0.05) -> float:
    """Power of the two-sided paired t-test with ``n`` seeds.

    The probability that it rejects "no difference" at level ``alpha`` when the true
    mean difference is ``effect`` and the differences spread with standard
    deviation ``sd``: P(|T'| > t_{1−α/2, n−1}) where T' follows the noncentral t
    distribution with n − 1 degrees of freedom and noncentrality (effect / sd) √n.
    """
    _check_effect(effect, sd, alpha)
    n = integer("n (a t-test needs two seeds)", n, minimum=2)
    df = n - 1
    critical = _scipy.t.ppf(1 - alpha / 2, df)
    nc = effect / sd * math.sqrt(n)
    return float(_scipy.nct.sf(critical, df, nc) + _scipy.nct.cdf(-critical, df, nc))


def seeds_needed(effect: float, sd: float, alpha: float = 0.05, target: float = 0.8, limit: int = 100_000) -> int:
    """The fewest paired seeds whose t-test detects a mean difference ``effect`` with
    probability ``target`` (80%) at level ``alpha`` (0.05), given the spread ``sd`` of the
    per-seed differences (measured, e.g. ``paired(a, b).sd``).

    For large n this approaches the normal approximation ((z_{1−α/2} + z_{power}) sd / effect)²;
    for few seeds the t distribution's heavier tails need a seed or two more.
    """
    _check_effect(effect, sd, alpha)
    number("target power", target, low=0.0, high=1.0, low_open=True, high_open=True)
    z = _scipy.norm.ppf(1 - alpha / 2) + _scipy.norm.ppf(target)
    n = max(2, math.floor((z * sd / effect) ** 2))  # the normal approximation: a lower bound
    while power(effect, sd, n, alpha) < target:
        n += 1
        if n > limit:
            raise ValueError(f"more than {limit} seeds needed for effect {effect} at sd {sd}")
    return n


def _check_effect(effect, sd, alpha) -> None:
    positive_number("effect (the difference to detect)", effect)
    positive_number("sd (the spread of per-seed differences)", sd)
    number("alpha", alpha, low=0.0, high=1.0, low_open=True, high_open=True)


__all__ = ["McNemar", "Paired", "Rate", "holm", "mcnemar", "paired", "power", "rate", "seeds_needed"]
