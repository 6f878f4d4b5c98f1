"""Leakage check: a feature that alone predicts the target almost perfectly, or a near-perfect model."""

from __future__ import annotations

from ..measures._leakage import LEAKAGE_METRICS, FeatureAssociation
from ..settings._config import LeakageConfig
from ..statistics._evaluate import Estimate
from ._finding import Finding, Threshold, fmt, shown

__all__ = ["check_leakage", "MODEL_SCORE"]

#: The overall metric that says a model is near-perfect, by task (binary falls back to accuracy without scores).
MODEL_SCORE = {"binary": ("roc_auc", "accuracy"), "multiclass": ("accuracy",), "regression": ("r2_score",)}


def check_leakage(*, associations: tuple[FeatureAssociation, ...], overall: dict[str, Estimate], task: str,
                  config: LeakageConfig, rows: int) -> list[Finding]:
    """A finding per feature whose association with the target passes ``config.max`` (when measured on at
    least ``config.min_rows`` rows), one for a model shown beyond ``max_model_score`` (``overall``: the
    evaluation's overall estimates), else one pass."""
    metric = LEAKAGE_METRICS[task]
    limit = config.max.get(metric)
    miss = "fail" if config.severity == "block" else "warn"
    findings = []
    if limit is not None:
        threshold = Threshold(metric=metric, op="<=", value=limit, severity=config.severity)
        if rows < config.min_rows:
            findings.append(Finding(check="leakage", category="bias", status="insufficient_data",
                                    severity=config.severity, threshold=threshold,
                                    message=f"Leakage was not judged: {rows} evaluation rows, fewer than "
                                            f"`checks.leakage.min_rows` {config.min_rows}."))
        for a in associations:
            if rows >= config.min_rows and a.value > limit:
                findings.append(Finding(
                    check="leakage", category="bias", status=miss, severity=config.severity, value=a.value,
                    threshold=threshold, attribute=a.feature,
                    message=f"{a.feature} alone predicts the target almost perfectly ({metric} {fmt(a.value)} > "
                            f"{fmt(limit)} on {a.rows} evaluation rows): it is likely a recoding of the target or "
                            f"recorded after the outcome. Check it, and remove it from `data.features` if so."))
    score = next((m for m in MODEL_SCORE[task] if m in overall
                  and overall[m].value is not None), None)
    if score is not None:
        est = overall[score]
        threshold = Threshold(metric=score, op="<=", value=config.max_model_score, severity=config.severity)
        # Near-perfect only when the whole interval lies beyond the threshold (a small sample does not say so).
        if shown(est.value, est.ci_low, est.ci_high, threshold) == "beyond":
            findings.append(Finding(
                check="leakage", category="bias", status=miss, severity=config.severity, value=est.value,
                ci_low=est.ci_low, ci_high=est.ci_high, threshold=threshold, shown="beyond",
                message=f"The model is near-perfect: {score} {fmt(est.value)}, shown beyond {fmt(config.max_model_score)}"
                        ". Real outcomes are rarely this predictable; look for a feature that leaks the target."))
    if not findings:
        top = associations[0] if associations else None
        findings.append(Finding(
            check="leakage", category="bias", status="pass", severity=config.severity,
            value=None if top is None else top.value,
            threshold=None if limit is None else Threshold(metric=metric, op="<=", value=limit,
                                                            severity=config.severity),
            message="No feature alone predicts the target almost perfectly"
                    + (f" (strongest: {top.feature}, {metric} {fmt(top.value)})." if top else ".")))
    return findings
