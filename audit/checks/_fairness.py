"""Fairness check: thresholds on between-group gaps and ratios, and the four-fifths rule."""

from __future__ import annotations

from ..settings._config import FairnessConfig
from ..statistics._evaluate import Estimate, Evaluation
from ._finding import Finding, Threshold
from ._common import estimate_finding, thresholds

__all__ = ["check_fairness", "FOUR_FIFTHS"]

#: The EEOC four-fifths rule: a selection-rate ratio under 0.8 indicates adverse impact.
FOUR_FIFTHS = 0.8


def check_fairness(*, evaluation: Evaluation, config: FairnessConfig) -> list[Finding]:
    """Judge every fairness threshold on every attribute and intersection."""
    rules = thresholds(minimum=config.min, maximum=config.max, severity=config.severity)
    named = [("fairness", t) for t in rules]
    if config.four_fifths_rule:
        named.append(("four_fifths_rule", Threshold(metric="demographic_parity_ratio", op=">=",
                                                    value=FOUR_FIFTHS, severity=config.severity)))
    findings = []
    for check, threshold in named:
        for fv in evaluation.fairness:
            if fv.metric != threshold.metric:
                continue
            estimate = Estimate(value=fv.value, ci_low=fv.ci_low, ci_high=fv.ci_high, n=fv.n_groups, reason=fv.reason)
            subject = fv.grouping if fv.groups is None else f"{fv.grouping} ({fv.groups[0]} vs {fv.groups[1]})"
            findings.append(estimate_finding(check=check, category="fairness", subject=subject, estimate=estimate,
                                             threshold=threshold, level=evaluation.level,
                                             attribute=fv.grouping))
    return findings
