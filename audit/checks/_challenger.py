"""Champion against challenger: non-inferiority of the challenger, by the one decision rule.

For a metric whose higher values are better, the threshold is ``<metric>_difference >= -margin``
(challenger minus champion): the challenger passes where the whole paired interval lies above ``-margin``
(shown no worse by more than the margin), fails where it lies wholly below, and is "not shown either way"
otherwise. Lower-is-better metrics and fairness gaps (a gap no wider by more than its margin) mirror it.
One finding overall and one per attribute or intersection: that grouping's deciding group (the one shown
worst, else the one closest to failing), with how many groups were judged.
"""

from __future__ import annotations

from ..settings._config import ChallengerConfig
from ..statistics._evaluate import Estimate
from ..statistics._metrics import Registry
from ..statistics._paired import PairedComparison, PairedDifference
from ._common import estimate_finding
from ._finding import Finding, Threshold, fmt, judge

__all__ = ["check_challenger", "margin_threshold"]

_ORDER = {"fail": 0, "warn": 1, "pass": 2}


def margin_threshold(*, metric: str, margin: float, registry: Registry, severity: str) -> Threshold:
    """The non-inferiority threshold of ``metric``'s paired difference (challenger minus champion).

    Examples
    --------
    >>> from audit.statistics._metrics import BINARY
    >>> margin_threshold(metric="recall", margin=0.01, registry=BINARY, severity="block")
    Threshold(metric='recall_difference', op='>=', value=-0.01, severity='block')
    >>> margin_threshold(metric="equalized_odds_difference", margin=0.02, registry=BINARY, severity="block").op
    '<='
    """
    if metric in registry.fairness:
        higher_better = registry.fairness[metric].kind == "ratio"  # a ratio nearer 1 is fairer; a gap nearer 0
        name = f"{metric}_change"
    else:
        higher_better = registry.metrics[metric].direction == "higher"
        name = f"{metric}_difference"
    value = (-margin if higher_better else margin) + 0.0  # + 0.0: no "-0" for a zero margin
    return Threshold(metric=name, op=">=" if higher_better else "<=", value=value, severity=severity)


def _estimate(d: PairedDifference) -> Estimate:
    return Estimate(value=d.difference, ci_low=d.ci_low, ci_high=d.ci_high, n=d.n, reason=d.reason,
                    support=d.support)


def _closeness(d: PairedDifference, threshold: Threshold) -> float:
    # How far the interval's worse end lies on the right side of the threshold (negative: beyond it).
    worse = d.ci_low if threshold.op == ">=" else d.ci_high
    return (worse - threshold.value) if threshold.op == ">=" else (threshold.value - worse)


def check_challenger(*, comparison: PairedComparison, config: ChallengerConfig, registry: Registry,
                     champion: str) -> list[Finding]:
    """Judge each margin overall and in every attribute and intersection."""
    findings: list[Finding] = []
    for metric, margin in config.margin.items():
        threshold = margin_threshold(metric=metric, margin=margin, registry=registry, severity=config.severity)
        rows = [d for d in comparison.differences if d.metric == metric]
        versus = f"{config.name} − {champion}"
        for d in rows:
            if d.grouping is None:
                base = estimate_finding(check="challenger", category="performance",
                                        subject=f"overall ({versus}; {fmt(d.challenger)} against {fmt(d.champion)}, "
                                                f"{d.test})",
                                        estimate=_estimate(d), threshold=threshold, level=comparison.level)
                findings.append(base)
        for grouping in dict.fromkeys(d.grouping for d in rows if d.grouping is not None):
            members = [d for d in rows if d.grouping == grouping]
            judged = [d for d in members if d.ci_low is not None and d.ci_high is not None and d.difference is not None]
            if not judged:
                why = members[0].reason if members else "nothing to compare"
                findings.append(Finding(check="challenger", category="performance", status="insufficient_data",
                                        severity=config.severity, threshold=threshold, attribute=grouping,
                                        message=f"{grouping}: no group could be compared on {metric} ({why}); not "
                                                f"judged against {threshold.metric}."))
                continue
            status = {d: judge(d.difference, d.ci_low, d.ci_high, threshold) for d in judged}
            deciding = min(judged, key=lambda d: (_ORDER.get(status[d], 1), _closeness(d, threshold)))
            left_out = len(members) - len(judged)
            if deciding.group is None:  # a fairness measure of the whole grouping
                subject = (f"{grouping} ({versus}; {metric} {fmt(deciding.challenger)} against "
                           f"{fmt(deciding.champion)} over {deciding.n} groups, {deciding.test})")
            else:
                subject = (f"{grouping} ({deciding.group}) ({versus}; {fmt(deciding.challenger)} against "
                           f"{fmt(deciding.champion)}, {deciding.test}; worst of {len(judged)} group(s) judged"
                           + (f", {left_out} too small or undefined" if left_out else "") + ")")
            findings.append(estimate_finding(check="challenger", category="performance", subject=subject,
                                             estimate=_estimate(deciding), threshold=threshold,
                                             level=comparison.level, attribute=grouping, group=deciding.group))
    return findings
