"""Wilson intervals against scipy, and the gap interval's coverage where the truth is known."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest

from audit.statistics._inference import fisher_two_sided, gap_interval, rate_ratio_bounds, wilson_interval


@pytest.mark.parametrize("k, n", [(0, 10), (8, 8), (3, 35), (33, 35), (1, 65), (500, 1000)])
def test_wilson_equals_scipy(k, n):
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    lo, hi = wilson_interval(np.array([k]), np.array([n]), 0.95)
    assert lo[0] == pytest.approx(ci.low, abs=1e-12) and hi[0] == pytest.approx(ci.high, abs=1e-12)


@given(st.integers(0, 500), st.integers(1, 500))
@settings(max_examples=60, deadline=None)
def test_wilson_holds_the_estimate_inside_the_unit_range(k, n):
    k = min(k, n)
    lo, hi = wilson_interval(np.array([k]), np.array([n]), 0.95)
    assert 0 <= lo[0] <= k / n <= hi[0] <= 1


def _simulate(rates: list[float], n: int, *, runs: int, seed: int, reps: int = 200) -> np.ndarray:
    """Per run: (low, high, parity p) of the rate gap, with a Poisson bootstrap of each group's rows."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(runs):
        k = rng.binomial(n, rates)
        # Poisson(1) row weights: successes and failures of each group get Poisson counts.
        s = rng.poisson(np.tile(k, (reps, 1)))
        f = rng.poisson(np.tile(n - k, (reps, 1)))
        with np.errstate(invalid="ignore", divide="ignore"):
            r = s / (s + f)
        g = gap_interval([k / n], [r], kind="difference", level=0.95)
        out.append((g.ci_low, g.ci_high, g.parity_p_value))
    return np.array(out, dtype=float)


@pytest.mark.parametrize("groups", [2, 5])
def test_gap_interval_holds_parity_at_its_nominal_rate(groups):
    # Every group has the same rate: a max-minus-min percentile interval excludes 0 almost always.
    res = _simulate([0.3] * groups, 200, runs=300, seed=groups)
    covered = np.mean(res[:, 0] <= 0.0)
    assert 0.90 <= covered <= 0.995
    assert np.mean(res[:, 2] <= 0.05) <= 0.10  # the parity test's false rejections


def test_gap_interval_covers_a_clear_gap_and_finds_it():
    res = _simulate([0.2, 0.3, 0.3, 0.4], 400, runs=300, seed=7)
    true_gap = 0.2
    assert np.mean((res[:, 0] <= true_gap) & (true_gap <= res[:, 1])) >= 0.93
    assert np.mean(res[:, 2] <= 0.05) >= 0.95  # power against parity
    assert np.all((0 <= res[:, 0]) & (res[:, 1] <= 1))


def test_rate_ratio_bounds_cover_a_ratio_whose_smallest_rate_is_often_zero():
    # A group of 40 rows selected at 2% (no selection at all in 45% of draws) against 60% in 400 rows:
    # the ratio is 1/30, where a bootstrap of a zero rate says "0 to 0".
    rng = np.random.default_rng(11)
    n, rates = np.array([40, 400]), np.array([0.02, 0.6])
    truth = rates.min() / rates.max()
    covered = 0
    for _ in range(1000):
        lo, hi = rate_ratio_bounds([(rng.binomial(n, rates), n)], 0.95)
        assert 0 <= lo <= hi <= 1
        covered += lo <= truth <= hi
    assert covered >= 950


def test_rate_ratio_bounds_take_the_worst_base():
    lo, hi = rate_ratio_bounds([(np.array([0, 50]), np.array([50, 100])), (np.array([40, 40]), np.array([50, 50]))], 0.95)
    lo_dp, hi_dp = rate_ratio_bounds([(np.array([0, 50]), np.array([50, 100]))], 1 - 0.05 / 2)
    assert lo == 0 and hi == pytest.approx(hi_dp)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 40), st.integers(1, 40), st.integers(0, 400), st.integers(1, 400))
def test_fisher_two_sided_is_symmetric_and_a_probability(k1, n1, k2, n2):
    k1, k2 = min(k1, n1), min(k2, n2)
    p = fisher_two_sided(np.array([k1]), np.array([n1]), np.array([k2]), np.array([n2]))[0]
    q = fisher_two_sided(np.array([k2]), np.array([n2]), np.array([k1]), np.array([n1]))[0]
    assert 0 <= p <= 1 and p == pytest.approx(q, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("auc,m,n", [(1.0, 35, 65), (0.995, 35, 65), (0.9, 30, 70), (0.5, 8, 12), (0.0, 10, 10)])
def test_auc_score_interval_solves_newcombes_equation(auc, m, n):
    from scipy.optimize import brentq

    from audit.statistics._inference import auc_score_interval

    z = 1.959964
    star = (m + n) / 2 - 1

    def excess(theta):  # |auc - theta| minus z standard errors at theta: 0 at the interval's ends
        v = theta * (1 - theta) / (m * n) * (1 + (star - 1) * ((1 - theta) / (2 - theta) + theta / (1 + theta)))
        return abs(auc - theta) - z * np.sqrt(v)

    lo, hi = auc_score_interval(np.array([auc]), np.array([m]), np.array([n]), 0.95)
    ref_lo = 0.0 if auc == 0 else brentq(excess, 0.0, auc - 1e-9) if auc > 0 else 0.0
    ref_hi = 1.0 if auc == 1 else brentq(excess, auc + 1e-9, 1.0)
    assert lo[0] == pytest.approx(ref_lo, abs=2e-4)
    assert hi[0] == pytest.approx(ref_hi, abs=2e-4)
    assert lo[0] <= auc <= hi[0] and (hi[0] - lo[0]) > 0.01  # never collapses on a bound
