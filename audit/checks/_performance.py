"""Performance check: thresholds on the overall metrics and on every eligible group."""

from __future__ import annotations

from ..settings._config import PerformanceConfig
from ..statistics._evaluate import Evaluation
from ._finding import Finding
from ._common import estimate_finding, thresholds

__all__ = ["check_performance"]


def check_performance(*, evaluation: Evaluation, config: PerformanceConfig, min_group_size: int) -> list[Finding]:
    """Judge ``min``/``max`` on overall metrics and ``group_min``/``group_max`` on each group.

    Groups smaller than ``min_group_size`` get ``insufficient_data``, never pass or fail.
    """
    findings = [estimate_finding(check="performance", category="performance", subject="overall",
                                 estimate=evaluation.overall[t.metric], threshold=t, level=evaluation.level)
                for t in thresholds(minimum=config.min, maximum=config.max, severity=config.severity)]
    for t in thresholds(minimum=config.group_min, maximum=config.group_max, severity=config.severity):
        for gm in evaluation.by_grouping:
            for i, group in enumerate(gm.groups):
                findings.append(estimate_finding(
                    check="performance_by_group", category="performance", subject=f"{gm.grouping}={group}",
                    estimate=gm.metrics[t.metric][i], threshold=t, level=evaluation.level, attribute=gm.grouping, group=group,
                    too_small=not gm.eligible[i], min_group_size=min_group_size))
    return findings
