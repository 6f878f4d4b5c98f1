"""The one statistics engine: metrics, fairness gaps and group-versus-rest comparisons with intervals.

It serves every task alike. It reads a task's additive table (:mod:`._tables`) and its registry of
metrics (:class:`~._metrics.Registry`); point estimates come from the exact table, replicates from the
table the task draws them on (a binary audit's coarsened cells: intervals are then shifted by the coarse
point estimate so that they centre on the exact value, see :mod:`._cells`). Rates get Wilson intervals
from their counts, other bounded metrics (ROC AUC, F1, ...) Wald intervals on the logit scale with the
replicates' standard error, unbounded ones percentile bootstrap intervals kept inside their range; fairness gaps
the simultaneous interval of :func:`._inference.gap_interval`. Returns plain frozen data; nothing here
renders or writes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from ..inputs._groups import SEPARATOR, GroupIndex
from ._inference import (auc_score_interval, finite_or_none, fisher_two_sided, gap_interval, rate_ratio_bounds,
                         wilson_interval)
from ._metrics import FairnessSpec, MetricSpec, Registry
from ._tables import AdditiveTable, Named

__all__ = ["Estimate", "RestComparison", "GroupingMetrics", "FairnessValue", "Evaluation", "evaluate", "interval",
           "benjamini_hochberg", "wald_p_value"]

_MIN_VALID_SHARE = 0.5


@dataclass(frozen=True)
class Estimate:
    """A metric value with its bootstrap interval; ``value`` is None when undefined (``reason`` says why)."""

    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    reason: str | None = None
    support: int | None = None
    #: What ``support`` counts ("rows", "positive labels", ...), for messages.
    support_name: str = "rows"


@dataclass(frozen=True)
class RestComparison:
    """A group's metric minus the same metric on all other rows, with its significance.

    ``p_value`` is two-sided: Fisher's exact test for a rate (accuracy, recall, selection rate, ...: valid
    at any count), a Wald test on the bootstrap standard error for other metrics (AUC, log loss, errors
    of a regression); ``p_adjusted`` is Benjamini-Hochberg adjusted across one family: every group of
    every grouping and every metric of the group-gap check (its ``family``), or, for another metric,
    every group of every grouping for it; ``significant`` is ``p_adjusted <= 1 - level``.
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
class ReferenceComparison:
    """One group's metric against the reference group's (``data.reference_groups``): the difference
    (group minus reference; 0 is parity) and the ratio (group over reference; 1 is parity), each with the
    percentile interval of the same bootstrap replicates as every other interval, centred on the exact value."""

    difference: float | None
    difference_ci_low: float | None
    difference_ci_high: float | None
    ratio: float | None
    ratio_ci_low: float | None
    ratio_ci_high: float | None


@dataclass(frozen=True)
class GroupingMetrics:
    """Metrics of every group of one attribute or intersection."""

    grouping: str
    attributes: tuple[str, ...]
    groups: tuple[str, ...]
    n: tuple[int, ...]
    #: Positive labels per group (binary audits); None for other tasks.
    positives: tuple[int, ...] | None
    eligible: tuple[bool, ...]
    metrics: dict[str, tuple[Estimate, ...]]
    versus_rest: dict[str, tuple[RestComparison, ...]]
    #: The task's outcome metric per group (base rate, mean target); empty when the task has none.
    base_rate: tuple[Estimate, ...]
    base_rate_difference: Estimate
    base_rate_groups: tuple[str, str] | None
    #: The reference group (``data.reference_groups``) and, by metric, every group against it.
    reference_group: str | None = None
    versus_reference: dict[str, tuple[ReferenceComparison, ...]] | None = None


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
    """Every metric of the task's registry overall and by group, and its fairness measures by grouping."""

    overall: dict[str, Estimate]
    n: int
    #: Positive labels (binary audits); None for other tasks.
    positives: int | None
    by_grouping: tuple[GroupingMetrics, ...]
    fairness: tuple[FairnessValue, ...]
    replicates: int
    level: float
    registry: Registry


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


def benjamini_hochberg(p: np.ndarray, *, family: int | None = None) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (NaN stays NaN).

    ``family`` is the number of hypotheses when some were never tested (they count as p = 1); by default
    the finite p-values given.

    Examples
    --------
    >>> benjamini_hochberg(np.array([0.01, 0.04, 0.03, np.nan])).round(3).tolist()
    [0.03, 0.04, 0.04, nan]
    >>> benjamini_hochberg(np.array([0.01]), family=5).tolist()
    [0.05]
    """
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if len(ok) == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    m = len(order) if family is None else max(int(family), len(order))
    scaled = p[order] * m / np.arange(1, len(order) + 1)
    out[order] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    return out


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


_OUTCOME = "base_rate"  # the key of the outcome metric among the values


def _metric_values(sums: Named, registry: Registry) -> dict[str, np.ndarray]:
    with np.errstate(invalid="ignore", divide="ignore"):
        values = {name: np.asarray(spec.compute(sums), dtype=np.float64) for name, spec in registry.metrics.items()}
        if registry.outcome is not None:
            values[_OUTCOME] = np.asarray(registry.outcome.compute(sums), dtype=np.float64)
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
    sums: Named


#: Precision of the stored bootstrap replicates (see _series).
_REPLICATE_DTYPE = np.float32


def _series(table: AdditiveTable, registry: Registry, groupings: list[tuple[np.ndarray, int]], *,
            replicates: int, seed: int) -> list[_Series]:
    exact_leaf, centre_leaf = table.exact(), table.centre()
    points = []
    for leaf_group, n_groups in groupings:
        g_exact, r_exact = table.grouped(exact_leaf, leaf_group=leaf_group, n_groups=n_groups)
        g_centre, r_centre = table.grouped(centre_leaf, leaf_group=leaf_group, n_groups=n_groups)
        points.append((g_exact, _metric_values(g_exact, registry), _metric_values(g_centre, registry),
                       _metric_values(r_exact, registry), _metric_values(r_centre, registry)))
    # Replicate values are written chunk by chunk into arrays of their final size: memory holds one chunk's
    # sums and the (replicates, groups) values, never a list of chunks and their concatenation too. They are
    # kept in single precision: they only place percentiles (seven digits are plenty), and with thousands of
    # groups they are most of the engine's memory. Point estimates stay in double precision.
    reps: list[dict[str, np.ndarray]] = [{} for _ in groupings]
    rest_reps: list[dict[str, np.ndarray]] = [{} for _ in groupings]
    done = 0
    for draw in table.replicates(count=replicates, seed=seed):
        size = 0
        for i, (leaf_group, n_groups) in enumerate(groupings):
            g, r = table.grouped(draw, leaf_group=leaf_group, n_groups=n_groups)
            for into, values in ((reps[i], _metric_values(g, registry)), (rest_reps[i], _metric_values(r, registry))):
                for m, v in values.items():
                    v = np.asarray(v, dtype=np.float64)
                    if m not in into:
                        into[m] = np.empty((replicates, *v.shape[1:]), dtype=_REPLICATE_DTYPE)
                    into[m][done:done + len(v)] = v
                    size = len(v)
        done += size
    out = []
    for i, (leaf_group, n_groups) in enumerate(groupings):
        g_exact, exact, coarse_v, rest_exact, rest_coarse = points[i]
        names = list(exact)
        stack = {m: reps[i][m][:done] if m in reps[i] else np.empty((0, n_groups)) for m in names}
        rstack = {m: rest_reps[i][m][:done] if m in rest_reps[i] else np.empty((0, n_groups)) for m in names}
        out.append(_Series(exact={m: v[0] for m, v in exact.items()}, coarse={m: v[0] for m, v in coarse_v.items()},
                           reps=stack, rest_exact={m: v[0] for m, v in rest_exact.items()},
                           rest_coarse={m: v[0] for m, v in rest_coarse.items()}, rest_reps=rstack,
                           sums={k: v[0] for k, v in g_exact.items()}))
    return out


def _spec(registry: Registry, metric: str) -> MetricSpec:
    if metric == _OUTCOME and registry.outcome is not None:
        return registry.outcome
    return registry.metrics[metric]


def _support(s: _Series, registry: Registry, metric: str) -> np.ndarray:
    return np.asarray(_spec(registry, metric).support(s.sums), dtype=np.float64)


def _intervals(reps: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile intervals of every column at once; NaN where fewer than half the replicates are defined."""
    lo = np.full(reps.shape[1], np.nan)
    hi = np.full(reps.shape[1], np.nan)
    if len(reps) == 0:
        return lo, hi
    finite = np.isfinite(reps)
    counts = finite.sum(axis=0)
    ok = counts >= _MIN_VALID_SHARE * len(reps)
    if ok.any():
        # Each column's percentiles of its finite replicates (what np.nanquantile gives column by column),
        # for all columns with the same number of finite replicates at once: sorted, undefined ones last,
        # the finite ones form a full block.
        ordered = np.sort(np.where(finite[:, ok], reps[:, ok], np.nan), axis=0)
        columns = np.flatnonzero(ok)
        quantiles = [(1 - level) / 2, (1 + level) / 2]
        for c in np.unique(counts[ok]):
            pick = counts[ok] == c
            q = np.quantile(ordered[:c, pick], quantiles, axis=0)
            lo[columns[pick]], hi[columns[pick]] = q[0], q[1]
    return lo, hi


def _logit_intervals(point: np.ndarray, reps: np.ndarray, lower: float, upper: float, level: float,
                     fallback: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Wald intervals on the logit scale of a bounded metric, with the replicates' standard error.

    The standard error of 200 replicates is steadier than their 2.5% and 97.5% quantiles (which rest on five
    replicates each), and the logit scale keeps the interval inside the range and asymmetric near its ends:
    a group's ROC AUC of 0.9 on 30 positives covers 95%, where the percentile interval covered 92-93%.
    Groups whose point or more than a tenth of whose replicates sit on a bound keep ``fallback``.
    """
    lo, hi = (np.array(f, dtype=float) for f in fallback)
    if len(reps) < 2:
        return lo, hi
    width = upper - lower
    with np.errstate(divide="ignore", invalid="ignore"):
        p = (np.asarray(point, float) - lower) / width
        r = (reps - lower) / width
        inside = (r > 0) & (r < 1)
        u = np.where(inside, np.log(r / (1 - r)), 0.0)
        k = inside.sum(axis=0)
        mean = u.sum(axis=0) / np.maximum(k, 1)
        se = np.sqrt(np.where(inside, (u - mean) ** 2, 0.0).sum(axis=0) / np.maximum(k - 1, 1))
        centre = np.log(p / (1 - p))
    ok = ((p > 0) & (p < 1) & (inside.mean(axis=0) >= 0.9) & (k >= 2) & np.isfinite(se) & (se > 0)
          & (np.isfinite(reps).mean(axis=0) >= _MIN_VALID_SHARE))
    z = float(sps.norm.ppf((1 + level) / 2))
    with np.errstate(over="ignore"):
        lo[ok] = lower + width / (1 + np.exp(-(centre[ok] - z * se[ok])))
        hi[ok] = lower + width / (1 + np.exp(-(centre[ok] + z * se[ok])))
    return lo, hi


def _estimates(s: _Series, registry: Registry, metric: str, level: float) -> tuple[Estimate, ...]:
    out = []
    n = s.sums["n"]
    spec = _spec(registry, metric)
    support = spec.support(s.sums)
    if spec.rate is not None:
        los, his = wilson_interval(*spec.rate(s.sums), level)
        shift = np.zeros(len(n))
        if not len(s.reps[metric]):  # no bootstrap asked for: no intervals at all, as for other metrics
            los = his = np.full(len(n), np.nan)
    else:
        shift = s.exact[metric] - s.coarse[metric]
        los, his = _intervals(s.reps[metric], level)
        if np.isfinite(spec.lower) and np.isfinite(spec.upper):
            # Logit-scale intervals are centred on the exact value already: no shift where they apply.
            los, his = los + shift, his + shift
            if spec.pairs is not None:
                los, his = auc_score_interval(s.exact[metric], *spec.pairs(s.sums), level)
            los, his = _logit_intervals(s.exact[metric], s.reps[metric], spec.lower, spec.upper, level, (los, his))
            shift = np.zeros(len(n))
    for g in range(len(n)):
        value = finite_or_none(s.exact[metric][g])
        lo, hi = (finite_or_none(los[g] + shift[g]), finite_or_none(his[g] + shift[g])) if value is not None else (None, None)
        if lo is None or hi is None:
            lo = hi = None
        else:
            lo, hi = max(spec.lower, lo), min(spec.upper, hi)
        out.append(Estimate(value=value, ci_low=lo, ci_high=hi, n=int(round(n[g])),
                            reason=None if value is not None else spec.undefined_reason,
                            support=int(round(support[g])), support_name=spec.support_name))
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


def _rest_raw(s: _Series, registry: Registry, metric: str, level: float, total: Named,
              testable: np.ndarray | None = None) -> list[tuple[float | None, float | None, float | None, float]]:
    """Per group: difference to the rest, its interval, and the unadjusted two-sided p-value.

    ``total`` holds the overall sums: a group's rest is the total minus the group (the table is additive).
    The intervals of every group come from one vectorised percentile pass; p-values are computed for the
    groups in ``testable`` only (NaN for the others, which are never tested), all groups when None.
    """
    spec = _spec(registry, metric)
    n_groups = len(s.sums["n"])
    tested = np.ones(n_groups, dtype=bool) if testable is None else np.asarray(testable, dtype=bool)
    with np.errstate(invalid="ignore"):
        diffs = np.asarray(s.exact[metric] - s.rest_exact[metric], dtype=np.float64)
        coarse = np.asarray(s.coarse[metric] - s.rest_coarse[metric], dtype=np.float64)
        reps = s.reps[metric] - s.rest_reps[metric]
    los, his = _intervals(reps, level)
    defined = np.isfinite(diffs) & np.isfinite(coarse) & np.isfinite(los) & np.isfinite(his)
    exact_p = None
    if spec.rate is not None:
        k, n = (np.asarray(a, dtype=float) for a in spec.rate(s.sums))
        k_all, n_all = (float(np.asarray(a, dtype=float)[0]) for a in spec.rate(total))
        exact_p = np.full(n_groups, np.nan)
        ask = tested & defined
        if ask.any():
            exact_p[ask] = fisher_two_sided(k[ask], n[ask], k_all - k[ask], n_all - n[ask])
    out = []
    for g in range(n_groups):
        diff = finite_or_none(diffs[g])
        if not defined[g]:
            out.append((diff, None, None, np.nan))
            continue
        shift = float(diffs[g]) - float(coarse[g])
        lo, hi = float(float(los[g]) + shift), float(float(his[g]) + shift)
        if not tested[g]:
            p = np.nan
        else:
            p = float(exact_p[g]) if exact_p is not None else wald_p_value(float(diffs[g]), reps[:, g])
        out.append((diff, lo, hi, p))
    return out


def _defining_pair(names: np.ndarray, row: np.ndarray) -> tuple[str, str] | None:
    """(highest, lowest) group of a base metric; None when every group ties (there is no pair to name)."""
    if not np.isfinite(row).any() or np.nanmax(row) == np.nanmin(row):
        return None
    return str(names[np.nanargmax(row)]), str(names[np.nanargmin(row)])


def _stat(values: dict[str, np.ndarray], spec: FairnessSpec, mask: np.ndarray) -> np.ndarray:
    """The measure per row of ``values`` (each ``(rows, groups)``) over the groups in ``mask``."""
    if spec.kind == "max":
        parts = []
        for b in spec.base:
            v = np.atleast_2d(values[b])[:, mask]
            finite = np.isfinite(v)
            parts.append(np.where(finite.any(axis=1), np.max(np.where(finite, v, -np.inf), axis=1, initial=-np.inf),
                                  np.nan))
        return _worst(np.column_stack(parts), "difference")
    per_base = [_between(np.atleast_2d(values[b])[:, mask], spec.kind) for b in spec.base]
    return _worst(np.column_stack(per_base), spec.kind)


def _fairness(gm: GroupingMetrics, s: _Series, registry: Registry, eligible: np.ndarray, min_group_size: int,
              level: float) -> list[FairnessValue]:
    """Fairness measures over groups with enough rows, and enough support for every base metric.

    A group with 40 rows but 2 positive labels has a recall of 0, 0.5 or 1: it is left out of every
    recall-based gap (and named in ``excluded_groups``). A composite (equalized odds) uses the same groups
    for all of its parts, so it is undefined when any part is, never half a metric. A ``max`` measure (the
    worst group's loss) needs one such group, a gap two.
    """
    names = np.asarray(gm.groups, dtype=object)
    out = []
    for spec in registry.fairness.values():
        mask = eligible & np.logical_and.reduce([_support(s, registry, b) >= min_group_size for b in spec.base])
        excluded = tuple(names[~mask])
        needed = 1 if spec.kind == "max" else 2
        value = finite_or_none(_stat(s.exact, spec, mask)[0]) if mask.sum() >= needed else None
        if value is None:
            bases = " and ".join(spec.base[:3]) + (" ..." if len(spec.base) > 3 else "")
            out.append(FairnessValue(grouping=gm.grouping, metric=spec.name, kind=spec.kind, value=None, ci_low=None,
                                     ci_high=None, groups=None, base_metric=None, n_groups=int(mask.sum()),
                                     excluded_groups=excluded,
                                     reason=f"fewer than {'one group' if needed == 1 else 'two groups'} with enough "
                                            f"data and a defined {bases}"))
            continue
        single = [FairnessSpec(spec.name, spec.kind, (b,), "") for b in spec.base]
        deciding = next(b.base[0] for b in single if np.isclose(_stat(s.exact, b, mask)[0], value, rtol=0, atol=1e-15))
        pair = _defining_pair(names[mask], s.exact[deciding][mask])
        if spec.kind == "max":
            pair = None if pair is None else (pair[0], pair[0])  # the worst group, named twice
        lo = hi = parity = None
        if len(s.reps[deciding]):
            if spec.kind != "max":
                gap = gap_interval([s.exact[b][mask] for b in spec.base], [s.reps[b][:, mask] for b in spec.base],
                                   kind=spec.kind, level=level)
                lo, hi, parity = gap.ci_low, gap.ci_high, gap.parity_p_value
            if lo is None and spec.kind == "ratio" and all(registry.metrics[b].rate is not None for b in spec.base):
                # A zero rate: no log scale, and a bootstrap of a zero rate collapses ("0 to 0").
                lo, hi = rate_ratio_bounds([tuple(np.asarray(a, float)[mask] for a in registry.metrics[b].rate(s.sums))
                                            for b in spec.base], level)
            if lo is None:  # a max, or a ratio of other metrics: the percentile interval, clipped to the range
                lo, hi = _shifted(value, _stat(s.coarse, spec, mask)[0], _stat(s.reps, spec, mask), level)
                upper = 1.0 if spec.kind == "ratio" else max(registry.metrics[b].upper for b in spec.base)
                lo, hi = (None, None) if lo is None or hi is None else (max(0.0, lo), min(upper, hi))
        out.append(FairnessValue(grouping=gm.grouping, metric=spec.name, kind=spec.kind, value=value, ci_low=lo,
                                 ci_high=hi, groups=pair, base_metric=deciding, n_groups=int(mask.sum()),
                                 excluded_groups=excluded, parity_p_value=parity))
    return out


def _reference(attributes: tuple[str, ...], groups: tuple[str, ...], references: dict[str, str]) -> str | None:
    """The reference group of a grouping: the attribute's own, or for an intersection the group that is the
    reference of each of its attributes (``Male&White`` for sex and race); None when an attribute has none
    or that combination has no rows.

    Examples
    --------
    >>> _reference(("sex", "race"), ("Female&Black", "Male&White"), {"sex": "Male", "race": "White"})
    'Male&White'
    >>> _reference(("sex", "race"), ("Female&Black", "Male&White"), {"sex": "Male"}) is None
    True
    """
    if not all(a in references for a in attributes):
        return None
    ref = SEPARATOR.join(references[a] for a in attributes)
    return ref if ref in groups else None


def _versus_reference(s: _Series, metrics: list[str], ref: int,
                      level: float) -> dict[str, tuple[ReferenceComparison, ...]]:
    """Every group's metric against group ``ref``: difference and ratio with shifted percentile intervals."""
    out = {}
    for m in metrics:
        with np.errstate(invalid="ignore", divide="ignore"):
            exact, coarse, reps = s.exact[m], s.coarse[m], s.reps[m]
            diff, cdiff = exact - exact[ref], coarse - coarse[ref]
            ratio = np.where(exact[ref] > 0, exact / np.where(exact[ref] > 0, exact[ref], 1), np.nan)
            cratio = np.where(coarse[ref] > 0, coarse / np.where(coarse[ref] > 0, coarse[ref], 1), np.nan)
            rreps = reps / reps[:, [ref]] if len(reps) else reps
            dlo, dhi = _intervals(reps - reps[:, [ref]], level) if len(reps) else (diff * np.nan, diff * np.nan)
            rlo, rhi = _intervals(np.where(np.isfinite(rreps), rreps, np.nan), level) if len(reps) \
                else (diff * np.nan, diff * np.nan)
            # Centred on the exact value: the difference shifted, the ratio scaled, by the coarse table's offset.
            dshift, rscale = diff - cdiff, np.where(cratio > 0, ratio / np.where(cratio > 0, cratio, 1), np.nan)
        out[m] = tuple(ReferenceComparison(
            difference=finite_or_none(diff[g]), difference_ci_low=finite_or_none(dlo[g] + dshift[g]), difference_ci_high=finite_or_none(dhi[g] + dshift[g]),
            ratio=finite_or_none(ratio[g]), ratio_ci_low=finite_or_none(rlo[g] * rscale[g]), ratio_ci_high=finite_or_none(rhi[g] * rscale[g]))
            for g in range(len(exact)))
    return out


def evaluate(table: AdditiveTable, groups: GroupIndex, *, registry: Registry, replicates: int, level: float,
             seed: int, min_group_size: int, family: tuple[str, ...] = (),
             reference_groups: dict[str, str] | None = None) -> Evaluation:
    """Every metric of ``registry`` overall and by group, fairness by grouping, each group against the rest.

    Parameters
    ----------
    table : AdditiveTable
        Additive statistics of the evaluation rows (any task).
    groups : GroupIndex
        Leaves and groupings of the sensitive attributes.
    registry : Registry
        The task's metrics and fairness measures.
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
    family : tuple of str
        Metrics whose group-versus-rest tests form one Benjamini-Hochberg family (the group-gap check's:
        one check, one family); every other metric is its own family.
    reference_groups : dict, optional
        The reference group of single attributes (``data.reference_groups``): every group against it.

    Examples
    --------
    >>> from audit.statistics._cells import cell_stats
    >>> from audit.statistics._metrics import BINARY
    >>> from audit.statistics._tables import BinaryTable
    >>> from audit.inputs._groups import build_groups
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"sex": ["f", "f", "m", "m"]})
    >>> groups = build_groups(frame, sensitive=["sex"], bins={}, intersections=1, source="t")
    >>> cells = cell_stats(leaf=groups.row_leaf, score=np.array([.9, .2, .8, .6]), y=np.array([1, 0, 1, 0]),
    ...                    yhat=np.array([1, 0, 1, 1]), n_leaves=len(groups.leaf_levels))
    >>> ev = evaluate(BinaryTable(cells), groups, registry=BINARY, replicates=0, level=0.95, seed=0,
    ...               min_group_size=1)
    >>> ev.overall["accuracy"].value, [e.value for e in ev.by_grouping[0].metrics["accuracy"]]
    (0.75, [1.0, 0.5])
    """
    from threadpoolctl import threadpool_limits

    # The engine's matrix products are small (leaves x scores, groups x leaves) and many: BLAS threads only
    # spin waiting for work there (several times the CPU of one thread on a shared machine, for the same
    # results), so they run on one thread; the caller's limit is restored afterwards.
    with threadpool_limits(limits=1, user_api="blas"):
        return _evaluate(table, groups, registry=registry, replicates=replicates, level=level, seed=seed,
                         min_group_size=min_group_size, family=family, reference_groups=reference_groups)


def _evaluate(table: AdditiveTable, groups: GroupIndex, *, registry: Registry, replicates: int, level: float,
              seed: int, min_group_size: int, family: tuple[str, ...],
              reference_groups: dict[str, str] | None) -> Evaluation:
    specs = [(np.zeros(table.n_leaves, dtype=np.int64), 1)] + [(g.leaf_group, len(g.groups)) for g in groups.groupings]
    series = _series(table, registry, specs, replicates=replicates, seed=seed)
    overall_series, group_series = series[0], series[1:]
    metrics = list(registry.metrics)
    overall = {name: _estimates(overall_series, registry, name, level)[0] for name in metrics}

    # Group-versus-rest p-values, adjusted across every group of every grouping: once over the family's
    # metrics together, once per other metric.
    eligible_all = [np.asarray(s.sums["n"]) >= min_group_size for s in group_series]
    sizes = [len(el) for el in eligible_all]
    raw_p, testable = {}, {}
    for m in metrics:
        # Only groups with enough rows, and enough support for this metric, are tested.
        testable[m] = [el & (_support(s, registry, m) >= min_group_size) for el, s in zip(eligible_all, group_series)]
    raw = {m: [_rest_raw(s, registry, m, level, overall_series.sums, ok) for s, ok in zip(group_series, testable[m])]
           for m in metrics}
    for m in metrics:
        raw_p[m] = np.concatenate([np.where(ok, [r[3] for r in rows], np.nan)
                                   for rows, ok in zip(raw[m], testable[m])]) if group_series else np.array([])
    joint = [m for m in metrics if m in family]
    families = ([joint] if joint else []) + [[m] for m in metrics if m not in family]
    adjusted = {}
    for members in families:
        q = benjamini_hochberg(np.concatenate([raw_p[m] for m in members]))
        for m, part in zip(members, np.split(q, len(members))):
            adjusted[m] = np.split(part, np.cumsum(sizes)[:-1])

    by_grouping, fairness = [], []
    for i, (grouping, s) in enumerate(zip(groups.groupings, group_series)):
        eligible = eligible_all[i]
        versus = {m: tuple(RestComparison(difference=d, ci_low=lo, ci_high=hi,
                                          p_value=finite_or_none(p) if testable[m][i][g] else None,
                                          p_adjusted=finite_or_none(adjusted[m][i][g]),
                                          significant=bool(np.isfinite(adjusted[m][i][g])
                                                           and adjusted[m][i][g] <= 1 - level))
                           for g, (d, lo, hi, p) in enumerate(raw[m][i])) for m in metrics}
        base_rate, base_estimate, pair = _outcome_gap(s, registry, grouping.groups, eligible, level)
        ref = _reference(grouping.attributes, grouping.groups, reference_groups or {})
        bases = list(dict.fromkeys(b for spec in registry.fairness.values() for b in spec.base))
        versus_ref = None if ref is None else _versus_reference(s, bases, list(grouping.groups).index(ref), level)
        gm = GroupingMetrics(
            grouping=grouping.name, attributes=grouping.attributes, groups=grouping.groups,
            n=tuple(int(round(v)) for v in s.sums["n"]),
            positives=tuple(int(v) for v in s.sums["pos"]) if "pos" in s.sums else None,
            eligible=tuple(bool(e) for e in eligible),
            metrics={name: _estimates(s, registry, name, level) for name in metrics},
            versus_rest=versus, base_rate=base_rate, base_rate_difference=base_estimate, base_rate_groups=pair,
            reference_group=ref, versus_reference=versus_ref)
        by_grouping.append(gm)
        fairness.extend(_fairness(gm, s, registry, eligible, min_group_size, level))
    sums = overall_series.sums
    return Evaluation(overall=overall, n=int(round(sums["n"][0])),
                      positives=int(sums["pos"][0]) if "pos" in sums else None,
                      by_grouping=tuple(by_grouping), fairness=tuple(fairness), replicates=replicates, level=level,
                      registry=registry)


def _outcome_gap(s: _Series, registry: Registry, names: tuple[str, ...], eligible: np.ndarray,
                 level: float) -> tuple[tuple[Estimate, ...], Estimate, tuple[str, str] | None]:
    """The outcome metric per group (base rate, mean target), its largest gap and the pair that defines it."""
    if registry.outcome is None:
        return (), Estimate(value=None, ci_low=None, ci_high=None, n=int(eligible.sum()),
                            reason=f"a {registry.task} target has no single outcome rate"), None
    per_group = _estimates(s, registry, _OUTCOME, level)
    gap = finite_or_none(_between(s.exact[_OUTCOME][None, eligible], "difference")[0])
    pair = None if gap is None else _defining_pair(np.asarray(names, dtype=object)[eligible],
                                                   s.exact[_OUTCOME][eligible])
    lo = hi = None
    if len(s.reps[_OUTCOME]) and gap is not None:
        interval_ = gap_interval([s.exact[_OUTCOME][eligible]], [s.reps[_OUTCOME][:, eligible]],
                                 kind="difference", level=level)
        lo, hi = interval_.ci_low, interval_.ci_high
    return per_group, Estimate(value=gap, ci_low=lo, ci_high=hi, n=int(eligible.sum()),
                               reason=None if gap is not None else "fewer than two groups with enough data"), pair
