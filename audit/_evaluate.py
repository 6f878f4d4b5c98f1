"""Metrics and fairness gaps with bootstrap intervals, from the cell statistics.

Returns plain frozen data; nothing here renders or writes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._groups import GroupIndex
from ._metrics import FAIRNESS_METRICS, METRICS
from ._stats import CellStats, group_sums, replicate_weights

__all__ = ["Estimate", "GroupingMetrics", "FairnessValue", "Evaluation", "evaluate", "interval"]

_MIN_VALID_SHARE = 0.5


@dataclass(frozen=True)
class Estimate:
    """A metric value with its bootstrap interval; ``value`` is None when undefined (``reason`` says why)."""

    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    reason: str | None = None


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
    """Percentile interval of bootstrap samples along axis 0; None when too few are defined.

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


def _num(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _estimates(values: np.ndarray, n: np.ndarray, reason: str, level: float) -> tuple[Estimate, ...]:
    out = []
    for g in range(values.shape[1]):
        v = _num(values[0, g])
        lo, hi = interval(values[1:, g], level) if v is not None else (None, None)
        out.append(Estimate(value=v, ci_low=lo, ci_high=hi, n=int(n[g]), reason=None if v is not None else reason))
    return tuple(out)


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


def _fairness(grouping: GroupingMetrics, base: dict[str, np.ndarray], eligible: np.ndarray,
              level: float) -> list[FairnessValue]:
    names = np.asarray(grouping.groups, dtype=object)
    excluded = tuple(names[~eligible])
    out = []
    for spec in FAIRNESS_METRICS.values():
        per_base = {b: _between(base[b][:, eligible], spec.kind) for b in spec.base}
        combined = _worst(np.column_stack(list(per_base.values())), spec.kind)
        value = _num(combined[0])
        if value is None:
            out.append(FairnessValue(grouping=grouping.grouping, metric=spec.name, kind=spec.kind, value=None,
                                     ci_low=None, ci_high=None, groups=None, base_metric=None,
                                     n_groups=int(eligible.sum()), excluded_groups=excluded,
                                     reason="fewer than two groups with enough data and a defined "
                                            + " and ".join(spec.base)))
            continue
        deciding = next(b for b in spec.base if np.isclose(per_base[b][0], value, rtol=0, atol=1e-15))
        row = base[deciding][0, eligible]
        finite = np.where(np.isfinite(row), row, np.nan)
        eligible_names = names[eligible]
        pair = (str(eligible_names[np.nanargmax(finite)]), str(eligible_names[np.nanargmin(finite)]))
        lo, hi = interval(combined[1:], level)
        out.append(FairnessValue(grouping=grouping.grouping, metric=spec.name, kind=spec.kind, value=value,
                                 ci_low=lo, ci_high=hi, groups=pair, base_metric=deciding,
                                 n_groups=int(eligible.sum()), excluded_groups=excluded))
    return out


def _base_rates(sums: dict[str, np.ndarray], eligible: np.ndarray, names: tuple[str, ...],
                level: float) -> dict[str, object]:
    """Positive-label share per group and its largest gap between eligible groups (label bias)."""
    rate = np.full(sums["n"].shape, np.nan)
    np.divide(sums["pos"], sums["n"], out=rate, where=sums["n"] > 0)
    gap = _between(rate[:, eligible], "difference")
    value = _num(gap[0])
    pair = None
    if value is not None:
        labels = np.asarray(names, dtype=object)[eligible]
        pair = (str(labels[np.nanargmax(rate[0, eligible])]), str(labels[np.nanargmin(rate[0, eligible])]))
    lo, hi = interval(gap[1:], level) if value is not None else (None, None)
    return {"base_rate": _estimates(rate, sums["n"][0], "empty group", level),
            "base_rate_difference": Estimate(value=value, ci_low=lo, ci_high=hi, n=int(eligible.sum()),
                                             reason=None if value is not None else "fewer than two groups with enough data"),
            "base_rate_groups": pair}


def evaluate(cells: CellStats, groups: GroupIndex, *, replicates: int, level: float, seed: int,
             min_group_size: int) -> Evaluation:
    """All built-in metrics overall and by group, and all fairness metrics by grouping.

    Parameters
    ----------
    cells : CellStats
        Additive statistics of the evaluation rows.
    groups : GroupIndex
        Leaves and groupings of the sensitive attributes.
    replicates : int
        Bootstrap replicates (0 for none: intervals are then null).
    level : float
        Interval coverage, e.g. 0.95.
    seed : int
        Seed of the bootstrap draws.
    min_group_size : int
        Groups with fewer rows are not used in fairness gaps.
    """
    weights = replicate_weights(cells, replicates=replicates, seed=seed)
    overall_sums = group_sums(cells, weights, leaf_group=np.zeros(cells.n_leaves, dtype=np.int64), n_groups=1)
    overall = {name: _estimates(spec.compute(overall_sums), overall_sums["n"][0], spec.undefined_reason, level)[0]
               for name, spec in METRICS.items()}
    by_grouping = []
    fairness: list[FairnessValue] = []
    for grouping in groups.groupings:
        sums = group_sums(cells, weights, leaf_group=grouping.leaf_group, n_groups=len(grouping.groups))
        n = sums["n"][0]
        eligible = n >= min_group_size
        base = {name: spec.compute(sums) for name, spec in METRICS.items()}
        gm = GroupingMetrics(
            grouping=grouping.name, attributes=grouping.attributes, groups=grouping.groups,
            n=tuple(int(v) for v in n), positives=tuple(int(v) for v in sums["pos"][0]),
            eligible=tuple(bool(e) for e in eligible),
            metrics={name: _estimates(base[name], n, METRICS[name].undefined_reason, level) for name in METRICS},
            **_base_rates(sums, eligible, grouping.groups, level))
        by_grouping.append(gm)
        fairness.extend(_fairness(gm, base, eligible, level))
    return Evaluation(overall=overall, n=int(overall_sums["n"][0, 0]), positives=int(overall_sums["pos"][0, 0]),
                      by_grouping=tuple(by_grouping), fairness=tuple(fairness), replicates=replicates, level=level)
