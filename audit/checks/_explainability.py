"""Explainability check: does the model lean directly on a sensitive attribute?"""

from __future__ import annotations

from .._config import ExplainabilityConfig
from .._explain import Explanation
from .._findings import Finding, Threshold, fmt

__all__ = ["check_explainability"]


def check_explainability(*, explanation: Explanation, sensitive: tuple[str, ...],
                         config: ExplainabilityConfig) -> list[Finding]:
    """A sensitive attribute among the ``top_k`` most important features is a finding."""
    ranks = {imp.feature: i + 1 for i, imp in enumerate(explanation.importances)}
    threshold = Threshold(metric="sensitive_feature_rank", op=">=", value=float(config.top_k + 1),
                          severity=config.severity)
    used = [s for s in sensitive if s in ranks]
    top = ", ".join(imp.feature for imp in explanation.importances[: config.top_k])
    if not used:
        return [Finding(check="sensitive_feature_importance", category="explainability", status="pass",
                        severity=config.severity, threshold=threshold,
                        message=f"No sensitive attribute is a model feature; the top {config.top_k} features are "
                                f"{top}. Proxies are checked under bias.")]
    findings = []
    for attr in used:
        rank = ranks[attr]
        imp = explanation.importances[rank - 1]
        status = "pass" if rank > config.top_k else ("fail" if config.severity == "block" else "warn")
        findings.append(Finding(
            check="sensitive_feature_importance", category="explainability", status=status,
            severity=config.severity, value=float(rank), threshold=threshold, attribute=attr,
            message=f"Sensitive attribute {attr} is feature number {rank} by {explanation.measure} "
                    f"({fmt(imp.value)}); the threshold is rank > {config.top_k}."))
    return findings
