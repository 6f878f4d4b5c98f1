"""Wilson intervals against scipy, and the gap interval's coverage where the truth is known."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest

from audit.statistics._inference import gap_interval, wilson_interval


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
