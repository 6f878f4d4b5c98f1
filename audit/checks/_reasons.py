"""Reason codes: are the reasons stable, and does the model lean on a feature that may not be a reason?"""

from __future__ import annotations

from ..measures._reasons import Reasons
from ..settings._config import ReasonsConfig
from ._common import shown_text
from ._finding import Finding, Threshold, fmt, judge, shown

__all__ = ["check_reasons"]


def check_reasons(*, reasons: Reasons, config: ReasonsConfig, level: float) -> list[Finding]:
    """The principal reason's stability against ``min_stability``, and each withheld feature that would
    have been the principal reason of some declined rows."""
    findings: list[Finding] = []
    threshold = Threshold(metric="top_reason_agreement", op=">=", value=config.min_stability, severity=config.severity)
    low, high = reasons.stability_ci
    if reasons.stability is None:
        findings.append(Finding(check="reasons", category="explainability", status="insufficient_data",
                                severity=config.severity, threshold=threshold,
                                message="No declined row was explained, so the reasons' stability is unknown."))
    else:
        status = judge(reasons.stability, low, high, threshold)
        result = shown(reasons.stability, low, high, threshold)
        verdict = shown_text(result)
        findings.append(Finding(
            check="reasons", category="explainability", status=status, severity=config.severity, shown=result,
            value=reasons.stability, ci_low=low, ci_high=high, threshold=threshold,
            message=f"The principal reason of {fmt(100 * reasons.stability)}% of {reasons.explained} declined rows "
                    f"stays the same when they are explained again ({level:.0%} CI {fmt(100 * low)}% to "
                    f"{fmt(100 * high)}%), {verdict} top_reason_agreement ≥ {fmt(config.min_stability)}."
                    + ("" if status == "pass" else " Reasons that change with the explainer's background are not "
                                                   "specific reasons: review them before they are sent.")))
    for feature, share in reasons.withheld.items():
        findings.append(Finding(
            check="reasons", category="explainability", status="warn" if share > 0 else "pass", severity="warn",
            value=share, measure="withheld_principal_share", subject=feature,
            message=(f"{feature} would be the principal reason of {fmt(100 * share)}% of the declined rows; it is "
                     f"never given as a reason (not permissible), but the model's declines lean on it."
                     if share > 0 else f"{feature} is never the principal reason of a declined row.")))
    return findings
