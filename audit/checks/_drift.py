"""Drift check: has the data (or the model's scores) moved away from the reference data?"""

from __future__ import annotations

from ..settings._config import DriftConfig
from ..measures._drift import Drift
from ._finding import Finding, Threshold, fmt, fmt_p

__all__ = ["check_drift"]

# What the prediction drift is about, by the name measure_drift gives it for each task.
_PREDICTION_NOUN = {"model score": "The model's scores", "model prediction": "The model's predictions",
                    "predicted class": "The model's predicted classes"}


def check_drift(*, drift: Drift, config: DriftConfig) -> list[Finding]:
    """A finding per feature whose population stability index exceeds ``max_psi``, and one for the predictions."""
    threshold = Threshold(metric="psi", op="<=", value=config.max_psi, severity=config.severity)
    miss = "fail" if config.severity == "block" else "warn"
    findings = []
    for d in drift.features:
        if d.psi > config.max_psi:
            group = (f" The largest shift within a group: {d.worst_group} (PSI {fmt(d.worst_group_psi)})."
                     if d.worst_group else "")
            findings.append(Finding(
                check="feature_drift", category="drift", status=miss, severity=config.severity, value=d.psi,
                threshold=threshold, attribute=d.feature,
                message=f"{d.feature} has drifted: PSI {fmt(d.psi)} > {fmt(config.max_psi)} "
                        f"({'Kolmogorov-Smirnov' if d.test == 'ks' else 'chi-square'} {fmt(d.statistic)}, "
                        f"{fmt_p(d.p_adjusted, name='adjusted p')}).{group}"))
    if not findings:
        top = max(drift.features, key=lambda d: d.psi, default=None)
        findings.append(Finding(
            check="feature_drift", category="drift", status="pass", severity=config.severity,
            value=top.psi if top else 0.0, threshold=threshold,
            message=f"No feature has drifted past PSI {fmt(config.max_psi)}"
                    + (f" (largest: {top.feature}, {fmt(top.psi)})." if top else ".")))
    p = drift.predictions
    if p is not None:
        noun = _PREDICTION_NOUN.get(p.feature, "The model's predictions")
        findings.append(Finding(
            check="prediction_drift", category="drift", status=miss if p.psi > config.max_psi else "pass",
            severity=config.severity, value=p.psi, threshold=threshold,
            message=f"{noun} {'have drifted' if p.psi > config.max_psi else 'are stable'}: PSI "
                    f"{fmt(p.psi)} {'>' if p.psi > config.max_psi else '≤'} {fmt(config.max_psi)} "
                    f"({'Kolmogorov-Smirnov' if p.test == 'ks' else 'chi-square'} {fmt(p.statistic)}, "
                    f"{fmt_p(p.p_value)})."))
    return findings
