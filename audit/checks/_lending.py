"""Fair-lending checks: each group's marginal effect on the decision, its standardised mean difference of
scores, and the cutoffs at which its adverse impact ratio is shown below four-fifths."""

from __future__ import annotations

from ..measures._lending import GroupShift, Lending, LendingAttribute
from ..settings._config import LendingConfig
from ._fairness import FOUR_FIFTHS
from ._common import shown_text, size_interval
from ._finding import Finding, Threshold, fmt, fmt_p, judge, shown

__all__ = ["check_lending"]



def _size_finding(a: LendingAttribute, s: GroupShift, *, measure: str, limit: float, severity: str, level: float,
                  what: str) -> Finding:
    threshold = Threshold(metric=measure, op="<=", value=limit, severity=severity)
    base = dict(check="fair_lending", category="fairness", severity=severity, threshold=threshold,
                attribute=a.attribute, group=s.group)
    if s.value is None:
        return Finding(**base, status="insufficient_data",
                       message=f"{a.attribute}={s.group}: {what} could not be measured ({s.rows} rows).")
    lo, hi = (None, None) if s.ci_low is None or s.ci_high is None else size_interval(s.ci_low, s.ci_high)
    status, result = judge(abs(s.value), lo, hi, threshold), shown(abs(s.value), lo, hi, threshold)
    verdict = shown_text(result)
    interval = "" if s.ci_low is None else f" ({level:.0%} CI {fmt(s.ci_low)} to {fmt(s.ci_high)})"
    p = "" if s.p_value is None else f", {fmt_p(s.p_value)}"
    return Finding(**base, status=status, shown=result, value=s.value, ci_low=s.ci_low, ci_high=s.ci_high,
                   message=f"{a.attribute}={s.group} against {a.reference}: {what} {fmt(s.value)}{interval}{p}; its "
                           f"size is {verdict} {measure} ≤ {fmt(limit)}.")


def _air_finding(a: LendingAttribute, *, severity: str, level: float) -> Finding:
    below = [p for p in a.air if p.ci_high is not None and p.ci_high < FOUR_FIFTHS]
    base = dict(check="fair_lending", category="fairness", severity="warn", attribute=a.attribute,
                measure="adverse_impact_ratio_by_cutoff")
    cutoffs = len({p.cutoff for p in a.air})
    if not below:
        return Finding(**base, status="pass",
                       message=f"{a.attribute}: at none of {cutoffs} cutoffs is a group's adverse impact ratio against "
                               f"{a.reference} shown below {FOUR_FIFTHS} ({level:.0%} intervals).")
    groups = sorted({p.group for p in below})
    rates = [p.approval_rate for p in below]
    worst = min(below, key=lambda p: p.ratio if p.ratio is not None else 1.0)
    return Finding(**base, status="warn", value=worst.ratio, ci_low=worst.ci_low, ci_high=worst.ci_high,
                   message=f"{a.attribute}: the adverse impact ratio against {a.reference} is shown below "
                           f"{FOUR_FIFTHS} for {', '.join(groups)} at {len({p.cutoff for p in below})} of {cutoffs} "
                           f"cutoffs, approving {fmt(100 * min(rates))}% to {fmt(100 * max(rates))}% of rows; "
                           f"lowest {fmt(worst.ratio)} ({level:.0%} CI {fmt(worst.ci_low)} to {fmt(worst.ci_high)}) "
                           f"for {worst.group} at {fmt(100 * worst.approval_rate)}% approved.")


def check_lending(*, lending: Lending, config: LendingConfig) -> list[Finding]:
    """Per attribute: the AIR by cutoff, and per group its marginal effect and SMD against their limits."""
    findings: list[Finding] = []
    for a in lending.attributes:
        findings.append(_air_finding(a, severity=config.severity, level=lending.level))
        held = f"with {', '.join(a.controls)} held fixed, " if a.controls else ""
        effect = (f"{held}the average marginal effect on the probability of the favourable decision is"
                  if a.effect_model == "logit" else f"{held}the effect on the prediction is")
        for s in a.marginal_effects:
            findings.append(_size_finding(a, s, measure="marginal_effect", limit=config.max_marginal_effect,
                                          severity=config.severity, level=lending.level, what=effect))
        if a.marginal_note:
            findings.append(Finding(check="fair_lending", category="fairness", status="insufficient_data",
                                    severity=config.severity, attribute=a.attribute, measure="marginal_effect",
                                    message=f"{a.attribute}: no marginal effect on the decision: {a.marginal_note}."))
        for s in a.smd:
            findings.append(_size_finding(a, s, measure="standardised_mean_difference", limit=config.max_smd,
                                          severity=config.severity, level=lending.level,
                                          what="the standardised mean difference of favourable scores (Hedges' g) "
                                               "is"))
    return findings
