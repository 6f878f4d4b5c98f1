"""The groups for which the model works least well: one per metric, for the top of the model card."""

from __future__ import annotations

from dataclasses import dataclass

from ..statistics._evaluate import Estimate, Evaluation, RestComparison
from ..statistics._metrics import BINARY

__all__ = ["WorstGroup", "worst_groups"]


@dataclass(frozen=True)
class WorstGroup:
    """The group with the worst value of ``metric`` among the groups that can be judged on it."""

    metric: str
    grouping: str
    group: str
    estimate: Estimate
    overall: Estimate
    versus_rest: RestComparison
    candidates: int


def worst_groups(evaluation: Evaluation, *, metrics: list[str], min_group_size: int) -> tuple[WorstGroup, ...]:
    """For each metric with a direction, the worst group over every attribute and intersection.

    Only groups with at least ``min_group_size`` rows, and as many rows the
    metric is a rate of (positives for recall, ...), are candidates, so a
    tiny group's noisy value never headlines the card. Ties go to the first
    grouping and group in report order. Metrics without a direction
    (selection rate) and metrics no group can be judged on are left out.

    Examples
    --------
    >>> import numpy as np
    >>> from audit.statistics._evaluate import GroupingMetrics
    >>> e = lambda v: Estimate(value=v, ci_low=None, ci_high=None, n=100, support=100)
    >>> r = RestComparison(None, None, None, None, None, False)
    >>> gm = GroupingMetrics(grouping="sex", attributes=("sex",), groups=("F", "M"), n=(100, 100),
    ...                      positives=(50, 50), eligible=(True, True),
    ...                      metrics={"accuracy": (e(0.7), e(0.9))}, versus_rest={"accuracy": (r, r)},
    ...                      base_rate=(e(.5), e(.5)), base_rate_difference=e(0.0), base_rate_groups=None)
    >>> ev = Evaluation(overall={"accuracy": e(0.8)}, n=200, positives=100, by_grouping=(gm,), fairness=(),
    ...                 replicates=0, level=0.95, registry=BINARY)
    >>> [(w.group, w.estimate.value) for w in worst_groups(ev, metrics=["accuracy"], min_group_size=30)]
    [('F', 0.7)]
    """
    out = []
    for metric in metrics:
        sign = {"higher": 1.0, "lower": -1.0}.get(evaluation.registry.metrics[metric].direction)
        if sign is None:
            continue
        best: tuple[float, object, int] | None = None
        candidates = 0
        for gm in evaluation.by_grouping:
            for i, est in enumerate(gm.metrics[metric]):
                if (not gm.eligible[i] or est.value is None
                        or (est.support is not None and est.support < min_group_size)):
                    continue
                candidates += 1
                if best is None or sign * est.value < best[0]:
                    best = (sign * est.value, gm, i)
        if best is None:
            continue
        _, gm, i = best
        out.append(WorstGroup(metric=metric, grouping=gm.grouping, group=gm.groups[i], estimate=gm.metrics[metric][i],
                              overall=evaluation.overall[metric], versus_rest=gm.versus_rest[metric][i],
                              candidates=candidates))
    return tuple(out)
