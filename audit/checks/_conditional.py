"""Conditional disparity: the gap within strata of the legitimate factors, and Simpson's paradox."""

from __future__ import annotations

from ..measures._conditional import ConditionalDisparity, ConditionalMetric
from ..settings._config import ConditionalConfig
from ._common import shown_text, size_interval
from ._finding import Finding, Threshold, fmt, judge, readable, shown

__all__ = ["check_conditional"]

_PATTERNS = {
    "reverses": "reverses within strata",
    "vanishes": "is not shown within strata",
    "persists": "persists within strata",
    "emerges": "is not shown, but within strata",
}



def _interval(low: float | None, high: float | None, level: float) -> str:
    return "" if low is None or high is None else f" ({level:.0%} CI {fmt(low)} to {fmt(high)})"


def _gap_finding(attribute: str, controls: str, m: ConditionalMetric, *, config: ConditionalConfig,
                 level: float) -> Finding:
    measure = f"conditional_{m.metric}_difference"
    threshold = Threshold(metric=measure, op="<=", value=config.max_difference, severity=config.severity)
    base = dict(check="conditional_disparity", category="fairness", severity=config.severity, threshold=threshold,
                attribute=attribute)
    if m.conditional is None or m.groups is None:
        return Finding(**base, status="insufficient_data",
                       message=f"{attribute}: the {readable(m.metric)} difference within strata of {controls} "
                               f"could not be measured ({m.reason or 'no stratum holds both groups'}).")
    a, b = m.groups
    value = abs(m.conditional)
    if m.ci_low is None or m.ci_high is None:
        lo = hi = None
    else:
        lo, hi = size_interval(m.ci_low, m.ci_high)
    status = judge(value, lo, hi, threshold)
    result = shown(value, lo, hi, threshold)
    verdict = shown_text(result)
    return Finding(
        **base, status=status, shown=result, value=m.conditional, ci_low=m.ci_low, ci_high=m.ci_high,
        message=f"{attribute} ({a} vs {b}), within strata of {controls}: the {readable(m.metric)} difference, "
                f"standardised over the {m.strata_used} of {m.strata_total} strata that hold both groups, is "
                f"{fmt(m.conditional)}{_interval(m.ci_low, m.ci_high, level)}; its size is {verdict} "
                f"{measure} ≤ {fmt(config.max_difference)}. Marginally: {fmt(m.marginal)}"
                f"{_interval(m.marginal_ci_low, m.marginal_ci_high, level)}.")


def _pattern_finding(attribute: str, controls: str, m: ConditionalMetric, *, config: ConditionalConfig,
                     level: float) -> Finding | None:
    if m.pattern in ("undefined", "no_marginal_gap") or m.groups is None:
        return None
    a, b = m.groups
    flagged = m.pattern in ("reverses", "vanishes", "emerges")
    why = {"reverses": f" Simpson's paradox: {b} gets the higher rate within strata; the marginal gap comes "
                       f"from how the groups are spread over {controls}. Compare like with like.",
           "vanishes": f" Within strata the gap is not shown: {controls} may account for the marginal gap "
                       f"(or the strata hold too few rows to show it).",
           "emerges": f" The mix of {controls} hides it: within strata the groups differ.",
           "persists": ""}[m.pattern]
    return Finding(
        check="conditional_disparity", category="fairness", status="warn" if flagged else "pass",
        severity="warn", attribute=attribute, value=m.conditional, ci_low=m.ci_low, ci_high=m.ci_high,
        measure=f"{m.metric}_reversal",
        message=f"{attribute} ({a} vs {b}): the marginal {readable(m.metric)} difference {fmt(m.marginal)}"
                f"{_interval(m.marginal_ci_low, m.marginal_ci_high, level)} {_PATTERNS[m.pattern]} of {controls}: "
                f"{fmt(m.conditional)}{_interval(m.ci_low, m.ci_high, level)}.{why}")


def check_conditional(*, disparity: ConditionalDisparity, config: ConditionalConfig) -> list[Finding]:
    """Per attribute and rate: the conditional gap against ``max_difference``, and whether the marginal gap
    reverses or is no longer shown within strata.

    The gap's size is judged by the one rule of every threshold, on the interval of its absolute value.
    """
    controls = ", ".join(disparity.controls)
    findings: list[Finding] = []
    for attribute in disparity.attributes:
        for m in attribute.metrics:
            findings.append(_gap_finding(attribute.attribute, controls, m, config=config, level=disparity.level))
            pattern = _pattern_finding(attribute.attribute, controls, m, config=config, level=disparity.level)
            if pattern is not None:
                findings.append(pattern)
    return findings
