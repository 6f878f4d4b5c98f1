"""Data bias checks: representation, label base rates, proxies of sensitive attributes."""

from __future__ import annotations

from ..measures._bias import DataBias
from ..settings._config import BiasConfig
from ..statistics._evaluate import Evaluation
from ._finding import Finding, Threshold, fmt, fmt_p
from ._common import estimate_finding

__all__ = ["check_bias"]


def check_bias(*, evaluation: Evaluation, bias: DataBias, config: BiasConfig, min_group_size: int) -> list[Finding]:
    """Representation (small groups, reference shares), base-rate gaps, missingness, proxies."""
    findings: list[Finding] = []
    proxies = bias.proxies
    fdr = 1 - evaluation.level
    for test in bias.representation_tests:
        i = test.groups.index(test.most_under_represented)
        # A pooled remainder says what it holds, so "(other)" is never read as a group of that name.
        pool = (f"; {test.groups[-1]} pools {', '.join(test.pooled)}, the groups the reference shares do not name"
                if test.pooled else "")
        status = "pass" if test.p_value > fdr else ("fail" if config.severity == "block" else "warn")
        findings.append(Finding(
            check="representation_vs_reference", category="bias", status=status, severity=config.severity,
            attribute=test.attribute, value=test.p_value, measure="chi_square_p_value",
            message=f"{test.attribute}: group shares {'differ from' if status != 'pass' else 'agree with'} the "
                    f"reference shares (chi-square {fmt(test.statistic)}, {fmt_p(test.p_value)}, threshold "
                    f"p > {fmt(fdr)}); most under-represented: {test.most_under_represented} "
                    f"({fmt(100 * test.observed_share[i])}% of rows vs {fmt(100 * test.reference_share[i])}%)"
                    f"{pool}."))
    single = [gm for gm in evaluation.by_grouping if len(gm.attributes) == 1]
    if config.representation:
        for gm in single:
            small = [f"{g} ({n})" for g, n, ok in zip(gm.groups, gm.n, gm.eligible) if not ok]
            if small:
                findings.append(Finding(
                    check="representation", category="bias", status="warn", severity=config.severity,
                    attribute=gm.grouping, value=float(len(small)), measure="groups_under_min_group_size",
                    message=f"{gm.grouping}: {len(small)} group(s) under min_group_size {min_group_size} rows, "
                            f"reported as insufficient data: {', '.join(small)}."))
            else:
                findings.append(Finding(
                    check="representation", category="bias", status="pass", severity=config.severity,
                    attribute=gm.grouping, value=0.0, measure="groups_under_min_group_size",
                    message=f"{gm.grouping}: every group has at least min_group_size {min_group_size} rows "
                            f"(smallest: {min(gm.n)})."))
    if config.base_rates and config.max_base_rate_difference is not None:
        threshold = Threshold(metric="base_rate_difference", op="<=", value=config.max_base_rate_difference,
                              severity=config.severity)
        for gm in single:
            pair = f" ({gm.base_rate_groups[0]} vs {gm.base_rate_groups[1]})" if gm.base_rate_groups else ""
            findings.append(estimate_finding(check="base_rate", category="bias", subject=f"{gm.grouping}{pair}",
                                             estimate=gm.base_rate_difference, threshold=threshold,
                                             level=evaluation.level, attribute=gm.grouping))
    if config.missingness:
        limit = config.max_missing_rate_difference
        threshold = Threshold(metric="missing_rate_difference", op="<=", value=limit, severity=config.severity)
        large = [m for m in bias.missingness if m.difference > limit]
        for m in large:
            findings.append(Finding(
                check="missingness", category="bias", status="fail" if config.severity == "block" else "warn",
                severity=config.severity, value=m.difference, threshold=threshold, attribute=m.attribute,
                subject=f"{m.feature} by {m.attribute}",
                message=f"{m.feature} is missing for {fmt(100 * m.rates[m.groups[0]])}% of {m.attribute}={m.groups[0]} "
                        f"but {fmt(100 * m.rates[m.groups[1]])}% of {m.attribute}={m.groups[1]}: a gap of "
                        f"{fmt(m.difference)} > {fmt(limit)}. Imputation then treats these groups differently."))
        if not large:
            top = bias.missingness[0] if bias.missingness else None
            findings.append(Finding(
                check="missingness", category="bias", status="pass", severity=config.severity,
                value=top.difference if top else 0.0, threshold=threshold,
                message=(f"No feature's missing rate differs between groups by more than {fmt(limit)}"
                         + (f" (largest: {top.feature} by {top.attribute}, {fmt(top.difference)})." if top else
                            "; no feature has missing values."))))
    if config.proxies:
        limit = config.max_proxy_balanced_accuracy
        threshold = Threshold(metric="proxy_balanced_accuracy", op="<=", value=limit, severity=config.severity)
        for pm in bias.proxy_models:
            strong = pm.balanced_accuracy > limit
            findings.append(Finding(
                check="joint_proxy", category="bias", status=("fail" if config.severity == "block" else "warn")
                if strong else "pass", severity=config.severity, value=pm.balanced_accuracy, threshold=threshold,
                attribute=pm.attribute,
                message=f"The model's other features together predict {pm.attribute} with cross-validated balanced "
                        f"accuracy {fmt(pm.balanced_accuracy)} (chance {fmt(pm.chance)}); threshold {fmt(limit)}."
                        + (" The model can infer it without seeing it." if strong else "")))
    if config.proxies:
        limit = config.max_proxy_association
        threshold = Threshold(metric="cramers_v", op="<=", value=limit, severity=config.severity)
        strong = [p for p in proxies if p.cramers_v > limit]
        for p in strong:
            findings.append(Finding(
                check="proxy", category="bias", status="fail" if config.severity == "block" else "warn",
                severity=config.severity, value=p.cramers_v, threshold=threshold, attribute=p.attribute,
                subject=f"{p.feature} for {p.attribute}",
                message=f"{p.feature} is a proxy for {p.attribute}: Cramér's V {fmt(p.cramers_v)} > {fmt(limit)}. "
                        f"Removing {p.attribute} from the features does not stop the model from using it."))
        if not strong and proxies:
            top = proxies[0]
            findings.append(Finding(
                check="proxy", category="bias", status="pass", severity=config.severity, value=top.cramers_v,
                threshold=threshold, attribute=top.attribute,
                message=f"No feature is a strong proxy: the strongest, {top.feature} for {top.attribute}, "
                        f"has Cramér's V {fmt(top.cramers_v)} ≤ {fmt(limit)}."))
    return findings
