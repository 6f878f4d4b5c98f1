"""Data bias checks: representation, label base rates, proxies of sensitive attributes."""

from __future__ import annotations

from .._bias import ProxyAssociation
from .._config import BiasConfig
from .._evaluate import Evaluation
from .._findings import Finding, Threshold, fmt
from ._common import estimate_finding

__all__ = ["check_bias"]


def check_bias(*, evaluation: Evaluation, proxies: tuple[ProxyAssociation, ...], config: BiasConfig,
               min_group_size: int) -> list[Finding]:
    """Representation (groups too small to judge), base-rate gaps, strongest proxies."""
    findings: list[Finding] = []
    single = [gm for gm in evaluation.by_grouping if len(gm.attributes) == 1]
    if config.representation:
        for gm in single:
            small = [f"{g} ({n})" for g, n, ok in zip(gm.groups, gm.n, gm.eligible) if not ok]
            if small:
                findings.append(Finding(
                    check="representation", category="bias", status="warn", severity=config.severity,
                    attribute=gm.grouping, value=float(len(small)),
                    message=f"{gm.grouping}: {len(small)} group(s) under min_group_size {min_group_size} rows, "
                            f"reported as insufficient data: {', '.join(small)}."))
            else:
                findings.append(Finding(
                    check="representation", category="bias", status="pass", severity=config.severity,
                    attribute=gm.grouping, value=0.0,
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
    if config.proxies:
        limit = config.max_proxy_association
        threshold = Threshold(metric="cramers_v", op="<=", value=limit, severity=config.severity)
        strong = [p for p in proxies if p.cramers_v > limit]
        for p in strong:
            findings.append(Finding(
                check="proxy", category="bias", status="fail" if config.severity == "block" else "warn",
                severity=config.severity, value=p.cramers_v, threshold=threshold, attribute=p.attribute,
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
