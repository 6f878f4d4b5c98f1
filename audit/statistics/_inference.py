"""Intervals and tests shared by every task's engine: Wilson intervals of rates, and max-minus-min gaps.

A gap between groups (largest minus smallest rate, or smallest over largest) is a maximum over pairs of
groups, so its plug-in estimate and the percentile interval of its bootstrap replicates lie above the
true gap: at exact parity such an interval excludes 0 almost always. Here the gap's interval comes from
pairwise differences. Its lower end is the largest distance from 0 of simultaneous intervals of every
pairwise difference (max-t): when all of them hold, which happens at the stated rate, no pair's true
difference, and so not the gap, lies below it; at parity the interval therefore holds 0 at the nominal
rate. Its upper end only needs the pair that defines the true gap to hold, so it is the largest pointwise
upper bound over pairs. Away from parity, with many groups, the interval is conservative (the lower end
guards every pair). The same max-t statistic gives a test of parity (every pairwise difference 0), whose
p-value a finding shows.

The groups of one grouping hold disjoint rows, so their estimates are independent: the max-t critical
value and p-value come from Gaussian draws with each group's bootstrap standard error (a fixed seed, so
the same data give the same interval), not from the few hundred bootstrap replicates themselves, whose
95th percentile of a maximum over 45 pairs is too noisy and too low (10 groups at parity: 92% coverage
from the replicates, 94% from the draws). Bases of one measure (TPR and FPR) are drawn independently,
which can only widen the band.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["finite_or_none", "wilson_interval", "auc_score_interval", "fisher_two_sided", "GapInterval", "gap_interval", "rate_ratio_bounds"]

# Above this many groups the pairs (k^2/2) are too many to keep per replicate: simultaneous bands of the
# groups themselves are used instead (wider, still valid).
_PAIRWISE_LIMIT = 120


def _z(level: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf((1 + level) / 2))


def finite_or_none(value: float | None) -> float | None:
    """A number for the findings document: the value as a float, or None when it is missing or not finite
    (the document holds no NaN).

    Examples
    --------
    >>> finite_or_none(np.float64(0.5)), finite_or_none(np.nan), finite_or_none(None)
    (0.5, None, None)
    """
    return float(value) if value is not None and np.isfinite(value) else None


def wilson_interval(successes: np.ndarray, trials: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of ``successes / trials``, elementwise; NaN where ``trials`` is 0.

    Unlike a bootstrap percentile interval it does not collapse at 0 or 1: 8 of 8 gives 0.68 to 1.

    Examples
    --------
    >>> lo, hi = wilson_interval(np.array([8.0]), np.array([8.0]), 0.95)
    >>> round(float(lo[0]), 3), float(hi[0])
    (0.676, 1.0)
    """
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    z = _z(level)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        den = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / den
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    ok = n > 0
    lo = np.where(ok, np.clip(centre - half, 0.0, 1.0), np.nan)
    hi = np.where(ok, np.clip(centre + half, 0.0, 1.0), np.nan)
    # Exact at the edges: no successes means the lower end is 0, all successes the upper end 1.
    lo = np.where(ok & (k <= 0), 0.0, lo)
    hi = np.where(ok & (k >= n), 1.0, hi)
    return lo, hi


def auc_score_interval(auc: np.ndarray, positives: np.ndarray, negatives: np.ndarray,
                       level: float) -> tuple[np.ndarray, np.ndarray]:
    """Score-type interval of a ROC AUC (Newcombe 2006, method 5), elementwise; NaN where undefined.

    The set of ``theta`` with ``|auc - theta| <= z sqrt(V(theta))``, where ``V`` is Hanley and McNeil's
    variance with Newcombe's modification, evaluated at ``theta`` rather than at the estimate: like Wilson's
    interval for a rate it stays open at 0 and 1, where a bootstrap collapses (every replicate of a perfect
    separation is 1). Solved on a grid of 1e-4.

    Examples
    --------
    >>> lo, hi = auc_score_interval(np.array([1.0]), np.array([35]), np.array([65]), 0.95)
    >>> round(float(lo[0]), 3), float(hi[0])
    (0.957, 1.0)
    """
    a = np.asarray(auc, float)
    m, n = np.asarray(positives, float), np.asarray(negatives, float)
    lo, hi = np.full(a.shape, np.nan), np.full(a.shape, np.nan)
    ok = np.isfinite(a) & (m > 0) & (n > 0)
    if not ok.any():
        return lo, hi
    z = _z(level)
    theta = np.linspace(0.0, 1.0, 10_001)[:, None]
    a_ok, m_ok, n_ok = a[ok], m[ok], n[ok]
    lo_ok, hi_ok = np.empty(len(a_ok)), np.empty(len(a_ok))
    # Groups a block at a time: the grid is 10,001 x groups, 0.4 GiB per array for 6,000 groups at once.
    for start in range(0, len(a_ok), _AUC_GRID_GROUPS):
        part = slice(start, start + _AUC_GRID_GROUPS)
        star = (m_ok[part] + n_ok[part]) / 2 - 1
        var = theta * (1 - theta) / (m_ok[part] * n_ok[part]) * (1 + (star - 1) * ((1 - theta) / (2 - theta)
                                                                                  + theta / (1 + theta)))
        inside = np.abs(a_ok[part] - theta) <= z * np.sqrt(np.maximum(var, 0.0)) + 1e-12
        inside |= np.abs(theta - a_ok[part]) <= 0.5e-4  # the estimate itself always belongs
        grid = np.broadcast_to(theta, inside.shape)
        lo_ok[part] = np.where(inside, grid, np.inf).min(axis=0)
        hi_ok[part] = np.where(inside, grid, -np.inf).max(axis=0)
    lo[ok], hi[ok] = lo_ok, hi_ok
    return lo, hi


#: Groups whose AUC score intervals are solved on the grid at once (10,001 x 64 numbers per array).
_AUC_GRID_GROUPS = 64


def fisher_two_sided(k1: np.ndarray, n1: np.ndarray, k2: np.ndarray, n2: np.ndarray) -> np.ndarray:
    """Two-sided p-values of ``k1 / n1`` against ``k2 / n2`` (independent counts), elementwise.

    Fisher's exact test, two-sided as twice the smaller one-sided p-value (capped at 1): never above the
    nominal rate at any count, where a Wald test on a rare rate in a group of 40 rejects several times too
    often. Conditioning on the total successes makes the group's count hypergeometric. NaN where either
    side has no trials.

    Examples
    --------
    >>> from scipy.stats import fisher_exact
    >>> p = fisher_two_sided(np.array([1]), np.array([40]), np.array([30]), np.array([960]))
    >>> one_sided = [fisher_exact([[1, 39], [30, 930]], alternative=a).pvalue for a in ("less", "greater")]
    >>> bool(np.isclose(p[0], min(1.0, 2 * min(one_sided))))
    True
    """
    from scipy.stats import hypergeom

    k1, n1, k2, n2 = (np.rint(np.asarray(a, dtype=float)) for a in (k1, n1, k2, n2))
    ok = (n1 > 0) & (n2 > 0)
    total, successes = np.where(ok, n1 + n2, 1), np.where(ok, k1 + k2, 0)
    draws, x = np.where(ok, n1, 1), np.where(ok, k1, 0)
    low = hypergeom.cdf(x, total, successes, draws)
    high = hypergeom.sf(x - 1, total, successes, draws)
    return np.where(ok, np.clip(2 * np.minimum(low, high), 0.0, 1.0), np.nan)


def rate_ratio_bounds(counts: list[tuple[np.ndarray, np.ndarray]], level: float) -> tuple[float, float]:
    """Interval of a min-over-max ratio of rates from simultaneous Wilson bounds of every group's rate.

    For a ratio where some group's rate is 0 (the log scale of :func:`gap_interval` cannot hold it, and a
    bootstrap collapses to "0 to 0"): with every rate inside its Wilson interval at level
    ``1 - (1 - level) / m`` (Bonferroni over the ``m`` groups and bases), the ratio of each base lies between
    ``min(lower) / max(upper)`` and ``min(upper) / max(lower)``; the measure, the smallest ratio over bases,
    between the smallest of each. Wide, and valid at any count.

    Parameters
    ----------
    counts : list of (successes, trials)
        Per base rate (one for demographic parity, two for equalized odds), the groups' counts.
    level : float

    Examples
    --------
    >>> lo, hi = rate_ratio_bounds([(np.array([0, 30]), np.array([40, 100]))], 0.95)
    >>> lo, round(hi, 3)
    (0.0, 0.534)
    """
    m = sum(len(np.asarray(k)) for k, _ in counts)
    adjusted = 1 - (1 - level) / max(m, 1)
    lows, highs = [], []
    for k, n in counts:
        lo, hi = wilson_interval(np.asarray(k, float), np.asarray(n, float), adjusted)
        top_hi, top_lo = float(np.max(hi)), float(np.max(lo))
        lows.append(float(np.min(lo)) / top_hi if top_hi > 0 else 0.0)
        highs.append(min(1.0, float(np.min(hi)) / top_lo) if top_lo > 0 else 1.0)
    return float(np.clip(min(lows), 0, 1)), float(np.clip(min(highs), 0, 1))


_DRAWS = 4000
_BLOCK = 500


#: Recent null draws by their standard errors: the draws depend on nothing else (the seed is fixed), and
#: several gaps share them (equal opportunity and the false negative rate difference have the same errors).
_DRAWN: dict[bytes, np.ndarray] = {}
_DRAWN_LIMIT = 64


def _max_t_draws(prepared: list[tuple[np.ndarray, np.ndarray, np.ndarray, tuple | None]]) -> np.ndarray:
    """Null draws of the largest |pairwise difference| / its standard error, over pairs and bases.

    Each group is an independent normal with its bootstrap standard error; drawn in blocks so that memory
    stays bounded by ``_BLOCK`` x pairs however many groups there are.
    """
    # Rounded: the errors of 1 - rate equal the rate's up to the last bit, and should draw once.
    key = b"|".join(np.round(np.asarray(se_g, float), 12).tobytes() + (b"p" if pairs is not None else b"b")
                    for _, _, se_g, pairs in prepared)
    cached = _DRAWN.get(key)
    if cached is not None:
        return cached
    out = _max_t_draws_uncached(prepared)
    out.flags.writeable = False
    if len(_DRAWN) >= _DRAWN_LIMIT:
        _DRAWN.pop(next(iter(_DRAWN)))
    _DRAWN[key] = out
    return out


def _max_t_draws_uncached(prepared: list[tuple[np.ndarray, np.ndarray, np.ndarray, tuple | None]]) -> np.ndarray:
    rng = np.random.default_rng(0)
    out = np.zeros(_DRAWS)
    for start in range(0, _DRAWS, _BLOCK):
        rows = min(_BLOCK, _DRAWS - start)
        block = np.zeros(rows)
        for _, se, se_g, pairs in prepared:
            live = se > 0
            if not live.any():
                continue
            zg = rng.standard_normal((rows, len(se_g)))
            zg *= se_g
            # The same arithmetic as |z_i - z_j| / se_ij, in place: one (rows, pairs) array, not four.
            if pairs is not None:
                i, j = pairs
                stat = zg[:, i[live]]
                stat -= zg[:, j[live]]
            else:
                stat = zg[:, live]
            np.abs(stat, out=stat)
            stat /= se[live]
            np.maximum(block, stat.max(axis=1), out=block)
        out[start:start + rows] = block
    return out


@dataclass(frozen=True)
class GapInterval:
    """A gap's interval and the p-value of parity (every pairwise difference 0)."""

    ci_low: float | None
    ci_high: float | None
    parity_p_value: float | None


def gap_interval(points: list[np.ndarray], replicates: list[np.ndarray], *, kind: str, level: float) -> GapInterval:
    """Interval of a max-minus-min (``kind="difference"``) or min-over-max (``"ratio"``) gap.

    Parameters
    ----------
    points : list of ndarray
        Per base metric (one for demographic parity, two for equalized odds), the groups' values ``(k,)``.
        The gap is the largest over bases, as fairlearn's ``equalized_odds_*`` take the worse of two.
    replicates : list of ndarray
        The matching bootstrap replicates ``(B, k)``.
    kind : {"difference", "ratio"}
    level : float
        Coverage, e.g. 0.95.

    Returns
    -------
    GapInterval
        Bounds within ``[0, 1]``; None when undefined (fewer than two groups, too few finite replicates).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> reps = 0.5 + rng.normal(0, 0.01, size=(400, 2))
    >>> g = gap_interval([np.array([0.5, 0.5])], [reps], kind="difference", level=0.95)
    >>> g.ci_low, round(g.ci_high, 2), g.parity_p_value
    (0.0, 0.03, 1.0)
    """
    log = kind == "ratio"
    prepared = []
    for p, r in zip(points, replicates):
        p, r = np.asarray(p, float), np.atleast_2d(np.asarray(r, float))
        k = len(p)
        if k < 2 or r.shape[0] < 2:
            return GapInterval(None, None, None)
        if log:
            if (p <= 0).any():
                return GapInterval(None, None, None)  # a zero rate: no log scale (caller keeps its own interval)
            with np.errstate(divide="ignore", invalid="ignore"):
                p, r = np.log(p), np.log(np.where(r > 0, r, np.nan))
        finite = np.isfinite(r)
        if (finite.sum(axis=0) < max(2, 0.5 * r.shape[0])).any():
            return GapInterval(None, None, None)
        se_g = np.nanstd(np.where(finite, r, np.nan), axis=0, ddof=1)
        pairwise = k <= _PAIRWISE_LIMIT
        if pairwise:
            i, j = np.triu_indices(k, 1)
            prepared.append((p[i] - p[j], np.hypot(se_g[i], se_g[j]), se_g, (i, j)))
        else:
            prepared.append((p, se_g, se_g, None))  # bands of the groups themselves
    t_max = _max_t_draws(prepared)
    crit = float(np.quantile(t_max, level))
    # The upper end needs only the (unknown) pair that defines the true gap to hold, not every pair at
    # once: a pointwise one-sided bound per pair is enough, and much tighter for many groups.
    z = _z(level)
    lows, highs, observed = [], [], 0.0
    for d, se, _, pairs in prepared:
        live = se > 0
        if pairs is not None:
            lows.append(np.max(np.maximum(np.abs(d) - np.where(live, crit * se, 0.0), 0.0)))
            highs.append(np.max(np.abs(d) + np.where(live, z * se, 0.0)))
        else:
            lo_g, hi_g = d - np.where(live, crit * se, 0.0), d + np.where(live, crit * se, 0.0)
            lows.append(max(0.0, float(lo_g.max() - hi_g.min())))
            highs.append(float(hi_g.max() - lo_g.min()))
        if pairs is not None and live.any():
            observed = max(observed, float(np.max(np.abs(d[live]) / se[live])))
        elif pairs is None and live.any():
            centred = d - np.average(d, weights=1 / np.where(live, se, np.inf) ** 2)
            observed = max(observed, float(np.max(np.abs(centred[live]) / se[live])))
    # Parity test: the share of max-t draws at least as extreme as the observed statistic.
    p_value = float((1 + np.sum(t_max >= observed)) / (1 + len(t_max))) if observed > 0 else 1.0
    lo, hi = max(lows), max(highs)
    if log:
        lo, hi = float(np.exp(-hi)), float(np.exp(-lo))
    return GapInterval(float(np.clip(lo, 0, 1)), float(np.clip(hi, 0, 1)), p_value)
