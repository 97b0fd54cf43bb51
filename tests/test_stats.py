"""Paired comparisons: differences and signs, the paired t-test, McNemar's exact test, seeds needed."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sp

from scattn import stats
from scattn.stats import mcnemar, paired, power, seeds_needed


def test_paired_differences_signs_and_t_test_by_hand():
    cmp = paired([98.0, 97.5, 99.0, 98.0], [97.0, 98.0, 97.0, 98.0])
    assert cmp.diffs == (1.0, -0.5, 2.0, 0.0)
    assert cmp.signs == "+ − + 0" and cmp.wins == 2 and cmp.losses == 1 and cmp.n == 4
    assert cmp.mean == pytest.approx(0.625)
    sd = math.sqrt(((1 - 0.625) ** 2 + (-0.5 - 0.625) ** 2 + (2 - 0.625) ** 2 + 0.625**2) / 3)
    assert cmp.sd == pytest.approx(sd)
    assert cmp.t == pytest.approx(0.625 / (sd / 2))
    assert "n=4" in str(cmp) and "+1" in str(cmp)


@pytest.mark.parametrize("seed", range(5))
def test_paired_t_test_matches_scipy(seed):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(0.9, 0.02, 7), rng.normal(0.89, 0.02, 7)
    ours = paired(a, b)
    theirs = sp.ttest_rel(a, b)
    assert ours.t == pytest.approx(theirs.statistic) and ours.p == pytest.approx(theirs.pvalue)


def test_paired_with_one_seed_or_no_spread_has_no_p_value():
    assert math.isnan(paired([1.0], [0.5]).p) and paired([1.0], [0.5]).diffs == (0.5,)
    assert math.isnan(paired([2.0, 3.0], [1.0, 2.0]).p)  # every difference equal: sd = 0


@pytest.mark.parametrize(
    "a, b, match",
    [([1.0, 2.0], [1.0], "one value per seed each, got 2 and 1"),
     ([], [], "non-empty 1-D sequence"),
     ([[1.0]], [[1.0]], "non-empty 1-D sequence"),
     ([1.0, float("nan")], [1.0, 2.0], "finite numbers")],
)
def test_paired_rejects_bad_input(a, b, match):
    with pytest.raises(ValueError, match=match):
        paired(a, b)


def test_mcnemar_by_hand_and_against_scipys_binomial_test():
    # 1 example only a gets right, 9 only b: p = 2 (C(10,0) + C(10,1)) / 2^10 = 22 / 1024.
    a = np.array([True] + [False] * 9 + [True] * 5 + [False] * 3)
    b = np.array([False] + [True] * 9 + [True] * 5 + [False] * 3)
    result = mcnemar(a, b)
    assert (result.only_a, result.only_b) == (1, 9)
    assert result.p == pytest.approx(22 / 1024)
    assert result.p == pytest.approx(sp.binomtest(1, 10, 0.5).pvalue)
    assert mcnemar(b, a).p == pytest.approx(result.p)  # symmetric


def test_mcnemar_with_no_disagreement_and_balanced_disagreement():
    same = np.array([True, False, True])
    assert mcnemar(same, same).p == 1.0
    assert mcnemar(np.array([True, False]), np.array([False, True])).p == 1.0  # 1 vs 1: p = 2 · 3/4 -> 1


def test_mcnemar_rejects_bad_input():
    with pytest.raises(ValueError, match="one length"):
        mcnemar(np.array([True, False]), np.array([True]))
    with pytest.raises(ValueError, match="booleans"):
        mcnemar(np.array([1, 0]), np.array([0, 1]))


def test_power_and_seeds_needed_match_known_values():
    # Paired t-test, standardised effect d = 1: 10 pairs give 80.3% power (as G*Power reports).
    assert power(1.0, 1.0, 10) == pytest.approx(0.8031, abs=1e-4)
    assert seeds_needed(1.0, 1.0) == 10
    # d = 0.5 needs 34 pairs: power 0.808 at 34, 0.795 at 33.
    assert seeds_needed(0.5, 1.0) == 34
    assert power(0.5, 1.0, 33) < 0.8 < power(0.5, 1.0, 34)
    # Only the ratio effect / sd matters.
    assert seeds_needed(0.005, 0.01) == seeds_needed(0.5, 1.0)


def test_power_against_a_simulation():
    rng = np.random.default_rng(0)
    d = rng.normal(0.5, 1.0, (20000, 12))
    p = sp.ttest_1samp(d, 0.0, axis=1).pvalue
    assert (p < 0.05).mean() == pytest.approx(power(0.5, 1.0, 12), abs=0.01)


def test_more_spread_needs_more_seeds():
    assert seeds_needed(0.5, 0.45) < seeds_needed(0.5, 1.1)
    assert seeds_needed(0.5, 0.45) >= 2


@pytest.mark.parametrize(
    "kwargs, match",
    [(dict(effect=0, sd=1), r"effect \(the difference to detect\) must be a finite number > 0"),
     (dict(effect=1, sd=0), r"sd \(the spread of per-seed differences\) must be a finite number > 0"),
     (dict(effect=1, sd=float("nan")), "sd .* must be a finite number > 0, got nan"),
     (dict(effect=1, sd=1, alpha=1.5), r"alpha must be a finite number in \(0, 1\)"),
     (dict(effect=1, sd=1, target=1.0), r"target power must be a finite number in \(0, 1\)")],
)
def test_seeds_needed_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        seeds_needed(**kwargs)


def test_power_needs_two_seeds():
    with pytest.raises(ValueError, match=r"n \(a t-test needs two seeds\) must be an integer >= 2"):
        power(1.0, 1.0, 1)


# ---- intervals and corrections --------------------------------------------------------------


@pytest.mark.parametrize("k,n", [(0, 10), (6, 8), (10, 10), (13, 20), (1, 1)])
def test_rate_is_wilsons_interval_as_scipy_computes_it(k, n):
    from scipy.stats import binomtest

    r = stats.rate(k, n)
    expected = binomtest(k, n).proportion_ci(0.95, method="wilson")
    assert r.share == k / n
    assert r.low == pytest.approx(expected.low, abs=1e-12) and r.high == pytest.approx(expected.high, abs=1e-12)
    assert 0 <= r.low <= r.share <= r.high <= 1


@pytest.mark.parametrize("k,n", [(-1, 5), (6, 5), (0, 0), (1.5, 4), (True, 3)])
def test_rate_rejects_counts_that_are_not_k_of_n(k, n):
    with pytest.raises(ValueError, match="k|n"):
        stats.rate(k, n)


def test_paired_ci_is_the_t_interval_scipy_gives():
    from scipy.stats import ttest_rel

    a, b = [0.91, 0.95, 0.52, 0.97, 0.93], [0.51, 0.50, 0.52, 0.49, 0.50]
    low, high = stats.paired(a, b).ci()
    expected = ttest_rel(a, b).confidence_interval(0.95)
    assert (low, high) == pytest.approx((expected.low, expected.high), abs=1e-12)
    assert all(math.isnan(v) for v in stats.paired([1.0], [0.0]).ci())  # one seed: no interval


def test_holm_by_hand_and_against_bonferroni():
    assert stats.holm([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.09, 0.09, 0.5])
    p = [0.001, 0.2, 0.012, 0.04]
    adjusted = stats.holm(p)
    assert all(x <= min(1, 4 * q) + 1e-15 for x, q in zip(adjusted, p, strict=True))  # never above Bonferroni
    assert all(x >= q for x, q in zip(adjusted, p, strict=True))  # never below the raw p
    with pytest.raises(ValueError, match="p-values must lie in"):
        stats.holm([0.5, 1.5])
