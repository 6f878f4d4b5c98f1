"""What every check shares: turning an estimate and a threshold into a finding."""

from __future__ import annotations

from ..statistics._evaluate import Estimate
from ._finding import OP_SYMBOLS, Finding, Threshold, fmt, judge, readable, shown

__all__ = ["thresholds", "estimate_finding", "interval_text", "size_interval", "shown_text"]

# (z_{0.975} + z_{0.80}) / z_{0.975}: turns an interval's half-width into the smallest difference from the
# threshold that rows like these detect 80% of the time (for a 95% interval).
_POWER_FACTOR = (1.959964 + 0.841621) / 1.959964


def thresholds(*, minimum: dict[str, float], maximum: dict[str, float], severity: str) -> list[Threshold]:
    """Thresholds as data from config's ``min``/``max`` mappings."""
    return ([Threshold(metric=m, op=">=", value=v, severity=severity) for m, v in minimum.items()]
            + [Threshold(metric=m, op="<=", value=v, severity=severity) for m, v in maximum.items()])


#: How a message says what the interval showed against its threshold (``shown``'s three answers).
_SHOWN_TEXT = {"within": "shown within", "beyond": "shown beyond", "neither": "not shown either way against"}


def shown_text(result: str) -> str:
    """``"shown within"``, ``"shown beyond"`` or ``"not shown either way against"``, before the threshold."""
    return _SHOWN_TEXT[result]


def size_interval(low: float, high: float) -> tuple[float, float]:
    """The interval of ``|d|`` from the interval of a signed ``d``: a gap of either sign is judged by its size.

    Examples
    --------
    >>> size_interval(0.1, 0.3), size_interval(-0.3, -0.1), size_interval(-0.2, 0.1)
    ((0.1, 0.3), (0.1, 0.3), (0.0, 0.2))
    """
    if low >= 0:
        return low, high
    if high <= 0:
        return -high, -low
    return 0.0, max(-low, high)


def interval_text(ci_low: float | None, ci_high: float | None, level: float) -> str:
    """`` (95% CI a to b)``, or nothing when there is no interval."""
    if ci_low is None or ci_high is None:
        return ""
    return f" ({level:.0%} CI {fmt(ci_low)} to {fmt(ci_high)})"


def estimate_finding(*, check: str, category: str, subject: str, estimate: Estimate, threshold: Threshold,
                     level: float, attribute: str | None = None, group: str | None = None,
                     too_small: bool = False, min_group_size: int = 0) -> Finding:
    """A finding for ``subject``'s metric against ``threshold``; the message shows value and threshold."""
    rule = f"{threshold.metric} {OP_SYMBOLS[threshold.op]} {fmt(threshold.value)}"
    base = dict(check=check, category=category, severity=threshold.severity, value=estimate.value,
                ci_low=estimate.ci_low, ci_high=estimate.ci_high, threshold=threshold, attribute=attribute,
                group=group)
    if too_small:
        return Finding(**base, status="insufficient_data",
                       message=f"{subject}: {estimate.n} rows, fewer than min_group_size {min_group_size}; "
                               f"not judged against {rule}.")
    if min_group_size and estimate.support is not None and estimate.support < min_group_size:
        return Finding(**base, status="insufficient_data",
                       message=f"{subject}: {readable(threshold.metric)} rests on {estimate.support} {estimate.support_name}, "
                               f"fewer than "
                               f"min_group_size {min_group_size}; not judged against {rule}.")
    if estimate.value is None:
        return Finding(**base, status="insufficient_data",
                       message=f"{subject}: {readable(threshold.metric)} is undefined ({estimate.reason}); "
                               f"not judged against {rule}.")
    status = judge(estimate.value, estimate.ci_low, estimate.ci_high, threshold)
    result = shown(estimate.value, estimate.ci_low, estimate.ci_high, threshold)
    detectable = (None if estimate.ci_low is None or estimate.ci_high is None
                  else (estimate.ci_high - estimate.ci_low) / 2 * _POWER_FACTOR)
    verdict = {"within": "shown within", "beyond": "shown beyond" + ("" if status == "fail" else " (non-blocking)"),
               "neither": "not shown either way against"}[result]
    evidence = ""
    if result == "neither" and detectable is not None:
        evidence = (f" These rows can show a difference of about {fmt(detectable)} from the threshold "
                    "(80% power); the true value may lie on either side.")
    return Finding(**base, status=status, shown=result, detectable=detectable,
                   message=f"{subject}: {readable(threshold.metric)} is {fmt(estimate.value)}"
                           f"{interval_text(estimate.ci_low, estimate.ci_high, level)}, {verdict} {rule}.{evidence}")
