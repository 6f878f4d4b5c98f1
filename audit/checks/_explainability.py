"""Explainability check: does the model lean directly on a sensitive attribute?"""

from __future__ import annotations

from ..settings._config import ExplainabilityConfig
from ..measures._explain import Explanation, FlipResult
from ._finding import Finding, Threshold, fmt, judge, shown

__all__ = ["check_explainability"]


def check_explainability(*, explanation: Explanation, sensitive: tuple[str, ...],
                         config: ExplainabilityConfig) -> list[Finding]:
    """Sensitive attributes among the top features, large flip rates, importance that differs by group."""
    return (_sensitive_rank(explanation, sensitive, config) + _flips(explanation, config)
            + _gaps(explanation, config))


def _flips(explanation: Explanation, config: ExplainabilityConfig) -> list[Finding]:
    threshold = Threshold(metric="flip_rate", op="<=", value=config.max_flip_rate, severity=config.severity)
    out = []
    for f in explanation.flips:
        worst = max(f.flip_rate, key=f.flip_rate.get)
        bad = f.overall_flip_rate > config.max_flip_rate
        out.append(Finding(
            check="counterfactual_flip", category="explainability",
            status=("fail" if config.severity == "block" else "warn") if bad else "pass", severity=config.severity,
            value=f.overall_flip_rate, threshold=threshold, attribute=f.attribute,
            message=f"Changing only {f.attribute} {_flipped(f)} (mean {f.shift} shift {fmt(f.overall_mean_shift)}; "
                    f"most for {f.attribute}={worst}: {fmt(100 * f.flip_rate[worst])}%) over {f.rows} rows; "
                    f"threshold {fmt(config.max_flip_rate)}."
                    + ("" if f.used_by_model else f" The model does not read {f.attribute}.")))
    return out


def _flipped(f: FlipResult) -> str:
    """What the flip rate counts, in words: changed labels or classes, or predictions moved past a tolerance."""
    share = f"{fmt(100 * f.overall_flip_rate)}%"
    if f.tolerance is not None:
        return f"moves {share} of predictions by more than {fmt(f.tolerance)}"
    return f"changes {share} of {'predicted classes' if f.shift == 'probability' else 'predictions'}"


def _gaps(explanation: Explanation, config: ExplainabilityConfig) -> list[Finding]:
    """The importance ratio of each top feature and attribute, judged on its own interval.

    A ratio shown under the threshold is a failure (a warning for a non-blocking check); one the interval
    cannot place either way is reported as such; one shown at or above it passes silently.
    """
    top = {i.feature for i in explanation.importances[: max(config.top_k, 5)]}
    threshold = Threshold(metric="importance_ratio", op=">=", value=config.min_importance_ratio,
                          severity=config.severity)
    out, judged = [], 0
    for g in explanation.gaps:
        if g.feature not in top or g.ratio_low is None or g.ratio_high is None:
            continue
        judged += 1
        result = shown(g.ratio, g.ratio_low, g.ratio_high, threshold)
        if result == "within":
            continue
        status = judge(g.ratio, g.ratio_low, g.ratio_high, threshold)
        what = "shown under" if result == "beyond" else "not shown either way against"
        out.append(Finding(
            check="importance_by_group", category="explainability", status=status, severity=config.severity,
            value=g.ratio, ci_low=g.ratio_low, ci_high=g.ratio_high, threshold=threshold, attribute=g.attribute,
            shown=result,
            message=f"The model leans on {g.feature} differently by {g.attribute}: importance ratio "
                    f"{fmt(g.ratio)} ({g.groups[1]} over {g.groups[0]}; interval {fmt(g.ratio_low)} to "
                    f"{fmt(g.ratio_high)}), {what} {fmt(config.min_importance_ratio)}; the importance is "
                    f"{fmt(g.difference)} higher for {g.groups[0]} (interval {fmt(g.ci_low)} to {fmt(g.ci_high)})."))
    if not judged:
        out.append(Finding(
            check="importance_by_group", category="explainability", status="insufficient_data",
            severity=config.severity, threshold=threshold,
            message="No importance ratio between groups could be judged: no attribute has two groups with enough "
                    "explained rows, or no bootstrap replicates were drawn."))
    elif not out:
        out.append(Finding(
            check="importance_by_group", category="explainability", status="pass", severity=config.severity,
            threshold=threshold, shown="within",
            message=f"Every top feature's importance ratio between groups is shown at or above "
                    f"{fmt(config.min_importance_ratio)} (its interval lies there; {judged} feature-attribute pair(s))."))
    return out


def _sensitive_rank(explanation: Explanation, sensitive: tuple[str, ...],
                    config: ExplainabilityConfig) -> list[Finding]:
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
