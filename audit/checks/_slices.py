"""Slice check: subpopulations nobody declared where the model does significantly worse."""

from __future__ import annotations

from ..settings._config import SlicesConfig
from ._finding import Finding, Threshold, fmt, fmt_p
from ..measures._slices import SliceSearch

__all__ = ["check_slices"]


def _budget_note(search: SliceSearch) -> str:
    if search.complete:
        return ""
    return (f" The time budget of {fmt(search.max_seconds)} s ran out: slices of up to {search.order_reached} "
            f"predicate(s) were searched completely, longer ones only in part.")


def _cut_note(search: SliceSearch) -> str:
    """absolute_error: which cut made a row an error, and how it was chosen."""
    return f" Here {search.cut_text}." if search.cut is not None else ""


def _family(search: SliceSearch) -> str:
    return f"{search.evaluated} of {search.family} candidate slices tested"


def check_slices(*, search: SliceSearch, config: SlicesConfig) -> list[Finding]:
    """One finding per reported slice (significantly worse than the rest), or one pass.

    The threshold is on the slice's difference to the rest (``<metric>_difference <= min_effect``); a slice
    is reported only when that difference is also significant (one-sided Fisher exact test) after
    Benjamini-Hochberg adjustment across every candidate slice (``search.family``).
    """
    metric = search.metric
    threshold = Threshold(metric=f"{metric}_difference", op="<=", value=config.min_effect, severity=config.severity)
    budget = _cut_note(search) + _budget_note(search)
    if not search.slices:
        return [Finding(
            check="slices", category="performance", status="pass", severity=config.severity, threshold=threshold,
            message=f"No slice of up to {search.max_order} predicate(s) with at least {search.min_size} rows has a "
                    f"{metric} significantly above the rest's by more than {fmt(config.min_effect)} "
                    f"({_family(search)}, false discovery rate {fmt(search.alpha)}).{budget}")]
    miss = "fail" if config.severity == "block" else "warn"
    findings = []
    for rank, s in enumerate(search.slices, start=1):
        findings.append(Finding(
            check="slices", category="performance", status=miss, severity=config.severity, value=s.effect,
            threshold=threshold, attribute="slice", group=s.text, subject=s.text,
            message=f"Slice {rank} of {len(search.slices)}, {s.text} ({s.rows} rows): {metric} {fmt(s.value)} "
                    f"({search.level:.0%} CI {fmt(s.ci_low)} to {fmt(s.ci_high)}) against {fmt(s.rest_value)} on "
                    f"the rest; {metric}_difference {fmt(s.effect)} > {fmt(config.min_effect)}, "
                    f"{fmt_p(s.p_adjusted, name='adjusted p')} ({_family(search)}, false discovery rate "
                    f"{fmt(search.alpha)}).{budget}"))
    return findings
