"""Group-gap check: groups where the model does significantly worse than on everyone else."""

from __future__ import annotations

from ..settings._config import GroupGapsConfig
from ..statistics._evaluate import Evaluation
from ._finding import Finding, fmt, fmt_p
from ..measures._significance import significantly_worse

__all__ = ["check_group_gaps"]

_SHOWN = 5


def check_group_gaps(*, evaluation: Evaluation, config: GroupGapsConfig) -> list[Finding]:
    """One finding per metric naming the groups significantly worse than the rest.

    Significance is the Benjamini-Hochberg adjusted p-value of the group's
    difference to the rest (Fisher's exact test for a rate, a bootstrap Wald
    test otherwise), one family across every group of every attribute and
    intersection and every metric of this check, at false discovery rate ``1 - level``.
    """
    findings = []
    fdr = 1 - evaluation.level
    for metric in config.metrics:
        direction = evaluation.registry.metrics[metric].direction
        worse = []
        for gm in evaluation.by_grouping:
            for group, est, cmp in zip(gm.groups, gm.metrics[metric], gm.versus_rest[metric]):
                if significantly_worse(significant=cmp.significant, difference=cmp.difference,
                                       direction=direction, margin=config.min_difference):
                    worse.append((abs(cmp.difference), gm.grouping, group, est, cmp))
        worse.sort(key=lambda item: -item[0])
        if not worse:
            findings.append(Finding(
                check="group_gaps", category="performance", status="pass", severity=config.severity,
                measure=metric, subject="every group",
                message=f"No group's {metric} is significantly worse than the rest's (false discovery rate "
                        f"{fmt(fdr)}, across all attributes, intersections and the {len(config.metrics)} metric(s) of this check)."))
            continue
        shown = "; ".join(
            f"{grouping}={group}: {fmt(est.value)}, {fmt(abs(cmp.difference))} "
            f"{'below' if direction == 'higher' else 'above'} the rest (CI of the difference {fmt(cmp.ci_low)} to "
            f"{fmt(cmp.ci_high)}, {fmt_p(cmp.p_adjusted, name='adjusted p')})"
            for _, grouping, group, est, cmp in worse[:_SHOWN])
        more = f"; and {len(worse) - _SHOWN} more" if len(worse) > _SHOWN else ""
        top = worse[0]
        findings.append(Finding(
            check="group_gaps", category="performance", status="fail" if config.severity == "block" else "warn",
            severity=config.severity, value=top[4].difference, ci_low=top[4].ci_low, ci_high=top[4].ci_high,
            attribute=top[1], group=top[2], measure=metric, subject="every group",
            message=f"{metric} is significantly worse for {len(worse)} group(s) (false discovery rate {fmt(fdr)}): "
                    f"{shown}{more}."))
    return findings
