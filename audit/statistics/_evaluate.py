"""Metrics, fairness gaps and group-versus-rest comparisons with bootstrap intervals.

Point estimates come from the exact cell table; replicates from its coarsened
copy, each interval shifted by the coarse point estimate so that it centres on
the exact value (see ``_stats``). Returns plain frozen data; nothing here
renders or writes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from ..inputs._groups import GroupIndex
from ._inference import gap_interval, wilson_interval
from ._metrics import FAIRNESS_METRICS, METRICS
from ._cells import CellStats, PoissonReplicates, coarsen, group_sums, leaf_sums, rest_sums

__all__ = ["Estimate", "RestComparison", "GroupingMetrics", "FairnessValue", "Evaluation", "evaluate", "interval",
           "benjamini_hochberg", "wald_p_value"]

_MIN_VALID_SHARE = 0.5
# Replicates per chunk are chosen so one chunk's weights stay near this many numbers (memory bound).
_CHUNK_NUMBERS = 20_000_000


@dataclass(frozen=True)
class Estimate:
    """A metric value with its bootstrap interval; ``value`` is None when undefined (``reason`` says why)."""

    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    reason: str | None = None
    support: int | None = None


@dataclass(frozen=True)
class RestComparison:
    """A group's metric minus the same metric on all other rows, with its significance.

    ``p_value`` is two-sided, from the bootstrap standard error (a Wald test);
    ``p_adjusted`` is Benjamini-Hochberg adjusted across every group of every
    grouping for this metric; ``significant`` is ``p_adjusted <= 1 - level``.
    Both are None for a group too small to test (rows, or the metric's support,
    under ``min_group_size``).
    """

    difference: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    p_adjusted: float | None
    significant: bool


@dataclass(frozen=True)
class GroupingMetrics:
    """Metrics of every group of one attribute or intersection."""

    grouping: str
    attributes: tuple[str, ...]
    groups: tuple[str, ...]
    n: tuple[int, ...]
    positives: tuple[int, ...]
    eligible: tuple[bool, ...]
    metrics: dict[str, tuple[Estimate, ...]]
    versus_rest: dict[str, tuple[RestComparison, ...]]
    base_rate: tuple[Estimate, ...]
    base_rate_difference: Estimate
    base_rate_groups: tuple[str, str] | None


@dataclass(frozen=True)
class FairnessValue:
    """A between-group fairness metric of one grouping, over its eligible groups.

    ``groups`` are the two groups that define the value: (highest, lowest) of
    the base metric that decides it.
    """

    grouping: str
    metric: str
    kind: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    groups: tuple[str, str] | None
    base_metric: str | None
    n_groups: int
    excluded_groups: tuple[str, ...]
    reason: str | None = None
    #: p-value of parity (every pairwise difference of the base metrics 0), from the max-t bootstrap.
    parity_p_value: float | None = None


@dataclass(frozen=True)
class Evaluation:
    overall: dict[str, Estimate]
    n: int
    positives: int
    by_grouping: tuple[GroupingMetrics, ...]
    fairness: tuple[FairnessValue, ...]
    replicates: int
    level: float


def interval(samples: np.ndarray, level: float) -> tuple[float | None, float | None]:
    """Percentile interval of bootstrap samples; None when fewer than half are defined.

    Examples
    --------
    >>> interval(np.arange(11.0), 0.5)
    (2.5, 7.5)
    """
    samples = np.asarray(samples, dtype=float)
    valid = samples[np.isfinite(samples)]
    if len(samples) == 0 or len(valid) < _MIN_VALID_SHARE * len(samples):
        return None, None
    lo, hi = np.quantile(valid, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def _shifted(point: float | None, coarse_point: float, replicates: np.ndarray,
             level: float) -> tuple[float | None, float | None]:
    # Interval of the coarse replicates, moved by the coarse table's discretisation offset.
    if point is None or not np.isfinite(coarse_point):
        return None, None
    lo, hi = interval(replicates, level)
    if lo is None or hi is None:
        return None, None
    shift = point - float(coarse_point)
    return float(lo + shift), float(hi + shift)


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (NaN stays NaN).

    Examples
    --------
    >>> benjamini_hochberg(np.array([0.01, 0.04, 0.03, np.nan])).round(3).tolist()
    [0.03, 0.04, 0.04, nan]
    """
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if len(ok) == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    m = len(order)
    scaled = p[order] * m / np.arange(1, m + 1)
    out[order] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    return out


def _num(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _between(values: np.ndarray, kind: str) -> np.ndarray:
    """Max minus min (or min over max) across groups, per replicate.

    Undefined group values are skipped, as fairlearn's pandas ``max``/``min``
    skip NaN; fewer than two defined groups give NaN.
    """
    finite = np.isfinite(values)
    defined = finite.sum(axis=1) >= 2
    hi = np.max(np.where(finite, values, -np.inf), axis=1, initial=-np.inf)
    lo = np.min(np.where(finite, values, np.inf), axis=1, initial=np.inf)
    if kind == "difference":
        return np.where(defined, hi - lo, np.nan)
    return np.where(defined & (hi > 0), lo / np.where(hi > 0, hi, 1.0), np.nan)


def _worst(components: np.ndarray, kind: str) -> np.ndarray:
    """Worse of several components per replicate: largest difference or smallest ratio."""
    finite = np.isfinite(components)
    if kind == "difference":
        worst = np.max(np.where(finite, components, -np.inf), axis=1)
    else:
        worst = np.min(np.where(finite, components, np.inf), axis=1)
    return np.where(finite.any(axis=1), worst, np.nan)


def _metric_values(sums: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    with np.errstate(invalid="ignore", divide="ignore"):
        values = {name: spec.compute(sums) for name, spec in METRICS.items()}
        rate = np.full(sums["n"].shape, np.nan)
        np.divide(sums["pos"], sums["n"], out=rate, where=sums["n"] > 0)
        values["base_rate"] = rate
    return values


@dataclass(frozen=True)
class _Series:
    """One grouping's metric values: exact point, coarse point, replicates; for groups and their rests."""

    exact: dict[str, np.ndarray]
    coarse: dict[str, np.ndarray]
    reps: dict[str, np.ndarray]
    rest_exact: dict[str, np.ndarray]
    rest_coarse: dict[str, np.ndarray]
    rest_reps: dict[str, np.ndarray]
    sums: dict[str, np.ndarray]


def _series(cells: CellStats, coarse: CellStats, groupings: list[tuple[np.ndarray, int]], *, replicates: int,
            seed: int) -> list[_Series]:
    exact_w = cells.count[None, :]
    coarse_w = coarse.count[None, :]
    exact_leaf = leaf_sums(cells, exact_w)
    coarse_leaf = leaf_sums(coarse, coarse_w)
    points = []
    for leaf_group, n_groups in groupings:
        g_exact = group_sums(cells, exact_w, exact_leaf, leaf_group=leaf_group, n_groups=n_groups)
        g_coarse = group_sums(coarse, coarse_w, coarse_leaf, leaf_group=leaf_group, n_groups=n_groups)
        points.append((g_exact, _metric_values(g_exact), _metric_values(g_coarse),
                       _metric_values(rest_sums(g_exact, exact_leaf, leaf_group=leaf_group, n_groups=n_groups)),
                       _metric_values(rest_sums(g_coarse, coarse_leaf, leaf_group=leaf_group, n_groups=n_groups))))
    reps: list[list[dict[str, np.ndarray]]] = [[] for _ in groupings]
    rest_reps: list[list[dict[str, np.ndarray]]] = [[] for _ in groupings]
    width = max(len(coarse.count), coarse.n_leaves * coarse.n_scores, 1)  # numbers per replicate, roughly
    chunk = max(1, min(replicates, _CHUNK_NUMBERS // width))
    draws = PoissonReplicates(coarse, seed=seed)
    for start in range(1, replicates + 1, chunk):
        w = draws.draw(min(replicates + 1, start + chunk) - start)
        per_leaf = leaf_sums(coarse, w)
        for i, (leaf_group, n_groups) in enumerate(groupings):
            g = group_sums(coarse, w, per_leaf, leaf_group=leaf_group, n_groups=n_groups)
            reps[i].append(_metric_values(g))
            rest_reps[i].append(_metric_values(rest_sums(g, per_leaf, leaf_group=leaf_group, n_groups=n_groups)))
    out = []
    for i, (leaf_group, n_groups) in enumerate(groupings):
        g_exact, exact, coarse_v, rest_exact, rest_coarse = points[i]
        names = list(exact)
        stack = {m: np.concatenate([r[m] for r in reps[i]]) if reps[i] else np.empty((0, n_groups)) for m in names}
        rstack = {m: np.concatenate([r[m] for r in rest_reps[i]]) if rest_reps[i] else np.empty((0, n_groups))
                  for m in names}
        out.append(_Series(exact={m: v[0] for m, v in exact.items()}, coarse={m: v[0] for m, v in coarse_v.items()},
                           reps=stack, rest_exact={m: v[0] for m, v in rest_exact.items()},
                           rest_coarse={m: v[0] for m, v in rest_coarse.items()}, rest_reps=rstack,
                           sums={k: v[0] for k, v in g_exact.items()}))
    return out


def _support(s: _Series, metric: str) -> np.ndarray:
    return METRICS[metric].support(s.sums) if metric in METRICS else s.sums["n"]


def _intervals(reps: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile intervals of every column at once; NaN where fewer than half the replicates are defined."""
    lo = np.full(reps.shape[1], np.nan)
    hi = np.full(reps.shape[1], np.nan)
    if len(reps) == 0:
        return lo, hi
    finite = np.isfinite(reps)
    ok = finite.sum(axis=0) >= _MIN_VALID_SHARE * len(reps)
    if ok.any():
        sub = np.where(finite[:, ok], reps[:, ok], np.nan)
        with np.errstate(invalid="ignore"):
            q = np.nanquantile(sub, [(1 - level) / 2, (1 + level) / 2], axis=0)
        lo[ok], hi[ok] = q[0], q[1]
    return lo, hi


def _estimates(s: _Series, metric: str, reason: str, level: float) -> tuple[Estimate, ...]:
    out = []
    n = s.sums["n"]
    support = _support(s, metric)
    spec = METRICS.get(metric)
    rate = spec.rate if spec is not None else (lambda v: (v["pos"], v["n"]))  # base_rate
    upper = spec.upper if spec is not None else 1.0
    if rate is not None:
        los, his = wilson_interval(*rate(s.sums), level)
        shift = np.zeros(len(n))
        if not len(s.reps[metric]):  # no bootstrap asked for: no intervals at all, as for other metrics
            los = his = np.full(len(n), np.nan)
    else:
        shift = s.exact[metric] - s.coarse[metric]
        los, his = _intervals(s.reps[metric], level)
    for g in range(len(n)):
        value = _num(s.exact[metric][g])
        lo, hi = (_num(los[g] + shift[g]), _num(his[g] + shift[g])) if value is not None else (None, None)
        if lo is None or hi is None:
            lo = hi = None
        else:
            lo, hi = max(0.0, lo), min(upper, hi)
        out.append(Estimate(value=value, ci_low=lo, ci_high=hi, n=int(n[g]), reason=None if value is not None else reason,
                            support=int(round(support[g]))))
    return tuple(out)


def wald_p_value(difference: float, replicates: np.ndarray) -> float:
    """Two-sided p-value of a difference, from the standard error of its bootstrap replicates.

    NaN with fewer than two finite replicates; with no spread, 0 for a non-zero difference and 1 for none.

    Examples
    --------
    >>> round(wald_p_value(0.2, np.array([0.1, 0.3, 0.2, 0.0, 0.4])), 4)
    0.2059
    """
    finite = replicates[np.isfinite(replicates)]
    if len(finite) < 2:
        return np.nan
    se = float(np.std(finite, ddof=1))
    if se == 0:
        return 0.0 if difference != 0 else 1.0
    return float(2 * sps.norm.sf(abs(difference) / se))


def _rest_raw(s: _Series, metric: str, level: float) -> list[tuple[float | None, float | None, float | None, float]]:
    """Per group: difference to the rest, its interval, and the unadjusted two-sided p-value."""
    out = []
    for g in range(len(s.sums["n"])):
        diff = _num(s.exact[metric][g] - s.rest_exact[metric][g])
        reps = s.reps[metric][:, g] - s.rest_reps[metric][:, g]
        coarse = s.coarse[metric][g] - s.rest_coarse[metric][g]
        lo, hi = _shifted(diff, coarse, reps, level)
        p = wald_p_value(diff, reps) if diff is not None and lo is not None else np.nan
        out.append((diff, lo, hi, p))
    return out


def _defining_pair(names: np.ndarray, row: np.ndarray) -> tuple[str, str] | None:
    """(highest, lowest) group of a base metric; None when every group ties (there is no pair to name)."""
    if not np.isfinite(row).any() or np.nanmax(row) == np.nanmin(row):
        return None
    return str(names[np.nanargmax(row)]), str(names[np.nanargmin(row)])


def _fairness(gm: GroupingMetrics, s: _Series, eligible: np.ndarray, min_group_size: int,
              level: float) -> list[FairnessValue]:
    """Fairness metrics over groups with enough rows, and enough support for every base metric.

    A group with 40 rows but 2 positive labels has a recall of 0, 0.5 or 1: it is left out of every
    recall-based gap (and named in ``excluded_groups``). A composite (equalized odds) uses the same groups
    for both of its parts, so it is undefined when either part is, never half a metric.
    """
    names = np.asarray(gm.groups, dtype=object)
    out = []
    for spec in FAIRNESS_METRICS.values():
        mask = eligible & np.logical_and.reduce([_support(s, b) >= min_group_size for b in spec.base])
        excluded = tuple(names[~mask])

        def stat(values: dict[str, np.ndarray], spec=spec, mask=mask) -> np.ndarray:
            per_base = [_between(np.atleast_2d(values[b])[:, mask], spec.kind) for b in spec.base]
            return _worst(np.column_stack(per_base), spec.kind)

        value = _num(stat(s.exact)[0]) if mask.sum() >= 2 else None
        if value is None:
            out.append(FairnessValue(grouping=gm.grouping, metric=spec.name, kind=spec.kind, value=None, ci_low=None,
                                     ci_high=None, groups=None, base_metric=None, n_groups=int(mask.sum()),
                                     excluded_groups=excluded,
                                     reason="fewer than two groups with enough data and a defined "
                                            + " and ".join(spec.base)))
            continue
        deciding = next(b for b in spec.base
                        if np.isclose(_between(s.exact[b][None, mask], spec.kind)[0], value, rtol=0, atol=1e-15))
        pair = _defining_pair(names[mask], s.exact[deciding][mask])
        lo = hi = parity = None
        if len(s.reps[deciding]):
            gap = gap_interval([s.exact[b][mask] for b in spec.base], [s.reps[b][:, mask] for b in spec.base],
                               centres=[s.coarse[b][mask] for b in spec.base], kind=spec.kind, level=level)
            lo, hi, parity = gap.ci_low, gap.ci_high, gap.parity_p_value
            if lo is None:  # e.g. a zero rate in a ratio: the percentile interval, clipped to the range
                lo, hi = _shifted(value, stat(s.coarse)[0], stat(s.reps), level)
                lo, hi = (None, None) if lo is None or hi is None else (max(0.0, lo), min(1.0, hi))
        out.append(FairnessValue(grouping=gm.grouping, metric=spec.name, kind=spec.kind, value=value, ci_low=lo,
                                 ci_high=hi, groups=pair, base_metric=deciding, n_groups=int(mask.sum()),
                                 excluded_groups=excluded, parity_p_value=parity))
    return out


def evaluate(cells: CellStats, groups: GroupIndex, *, replicates: int, level: float, seed: int,
             min_group_size: int) -> Evaluation:
    """All built-in metrics overall and by group, fairness by grouping, each group against the rest.

    Parameters
    ----------
    cells : CellStats
        Additive statistics of the evaluation rows.
    groups : GroupIndex
        Leaves and groupings of the sensitive attributes.
    replicates : int
        Bootstrap replicates (0 for none: intervals and p-values are then null).
    level : float
        Interval coverage, e.g. 0.95; ``1 - level`` is the false discovery rate.
    seed : int
        Seed of the bootstrap draws.
    min_group_size : int
        Groups with fewer rows (or, for a metric, fewer rows it is a rate of:
        positives for recall, ...) are left out of fairness gaps and are never
        significant.
    """
    coarse = coarsen(cells)
    specs = [(np.zeros(cells.n_leaves, dtype=np.int64), 1)] + [(g.leaf_group, len(g.groups)) for g in groups.groupings]
    series = _series(cells, coarse, specs, replicates=replicates, seed=seed)
    overall_series, group_series = series[0], series[1:]
    overall = {name: _estimates(overall_series, name, spec.undefined_reason, level)[0] for name, spec in METRICS.items()}

    # Group-versus-rest p-values, adjusted per metric across every group of every grouping.
    raw = {m: [_rest_raw(s, m, level) for s in group_series] for m in METRICS}
    eligible_all = [np.asarray(s.sums["n"]) >= min_group_size for s in group_series]
    adjusted, testable = {}, {}
    for m in METRICS:
        # Only groups with enough rows, and enough support for this metric, are tested.
        testable[m] = [el & (_support(s, m) >= min_group_size) for el, s in zip(eligible_all, group_series)]
        p = np.concatenate([np.where(ok, [r[3] for r in rows], np.nan) for rows, ok in zip(raw[m], testable[m])])
        adjusted[m] = np.split(benjamini_hochberg(p), np.cumsum([len(el) for el in eligible_all])[:-1])

    by_grouping, fairness = [], []
    for i, (grouping, s) in enumerate(zip(groups.groupings, group_series)):
        eligible = eligible_all[i]
        versus = {m: tuple(RestComparison(difference=d, ci_low=lo, ci_high=hi,
                                          p_value=_num(p) if testable[m][i][g] else None,
                                          p_adjusted=_num(adjusted[m][i][g]),
                                          significant=bool(np.isfinite(adjusted[m][i][g])
                                                           and adjusted[m][i][g] <= 1 - level))
                           for g, (d, lo, hi, p) in enumerate(raw[m][i])) for m in METRICS}
        base_gap = _between(np.vstack([s.exact["base_rate"][None, eligible]]), "difference")[0]
        base_value = _num(base_gap)
        pair = None
        if base_value is not None:
            pair = _defining_pair(np.asarray(grouping.groups, dtype=object)[eligible], s.exact["base_rate"][eligible])
        blo = bhi = None
        if len(s.reps["base_rate"]) and base_value is not None:
            gap = gap_interval([s.exact["base_rate"][eligible]], [s.reps["base_rate"][:, eligible]],
                               centres=[s.coarse["base_rate"][eligible]], kind="difference", level=level)
            blo, bhi = gap.ci_low, gap.ci_high
        gm = GroupingMetrics(
            grouping=grouping.name, attributes=grouping.attributes, groups=grouping.groups,
            n=tuple(int(v) for v in s.sums["n"]), positives=tuple(int(v) for v in s.sums["pos"]),
            eligible=tuple(bool(e) for e in eligible),
            metrics={name: _estimates(s, name, spec.undefined_reason, level) for name, spec in METRICS.items()},
            versus_rest=versus,
            base_rate=_estimates(s, "base_rate", "empty group", level),
            base_rate_difference=Estimate(value=base_value, ci_low=blo, ci_high=bhi, n=int(eligible.sum()),
                                          reason=None if base_value is not None
                                          else "fewer than two groups with enough data"),
            base_rate_groups=pair)
        by_grouping.append(gm)
        fairness.extend(_fairness(gm, s, eligible, min_group_size, level))
    return Evaluation(overall=overall, n=int(overall_series.sums["n"][0]), positives=int(overall_series.sums["pos"][0]),
                      by_grouping=tuple(by_grouping), fairness=tuple(fairness), replicates=replicates, level=level)
