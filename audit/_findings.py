"""Findings: the verdict of each check, as plain frozen data."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Callable

__all__ = ["Threshold", "Finding", "STATUSES", "gate", "guarded", "judge", "fmt"]

#: pass, fail, warn (missed a non-blocking threshold, or too close to call),
#: insufficient_data (undefined value or too small a group), error (the check crashed).
STATUSES = ("pass", "fail", "warn", "insufficient_data", "error")
_OPS = {">=": lambda v, t: v >= t, "<=": lambda v, t: v <= t}


@dataclass(frozen=True)
class Threshold:
    """A gate as data: ``metric op value`` with the severity of missing it."""

    metric: str
    op: str
    value: float
    severity: str

    def __post_init__(self) -> None:
        if self.op not in _OPS:
            raise ValueError(f"op must be one of {list(_OPS)}; got {self.op!r}")

    def holds(self, value: float) -> bool:
        return _OPS[self.op](value, self.value)


@dataclass(frozen=True)
class Finding:
    """One check's verdict on one subject (overall, a grouping, or a group)."""

    check: str
    category: str
    status: str
    severity: str
    message: str
    value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    threshold: Threshold | None = None
    attribute: str | None = None
    group: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fmt(value: float | None) -> str:
    """Format a number for a message: 4 significant digits, or "undefined".

    Examples
    --------
    >>> fmt(0.123456), fmt(None)
    ('0.1235', 'undefined')
    """
    return "undefined" if value is None else f"{value:.4g}"


def judge(value: float, ci_low: float | None, ci_high: float | None, threshold: Threshold) -> str:
    """Status of a defined value against a threshold.

    An interval that holds the threshold strictly inside it makes the verdict
    ``warn`` whichever side the estimate is on: the data cannot tell.

    Examples
    --------
    >>> t = Threshold("roc_auc", ">=", 0.85, "block")
    >>> judge(0.9, 0.88, 0.92, t), judge(0.8, 0.78, 0.82, t), judge(0.86, 0.84, 0.88, t)
    ('pass', 'fail', 'warn')
    """
    if ci_low is not None and ci_high is not None and ci_low < threshold.value < ci_high:
        return "warn"
    if threshold.holds(value):
        return "pass"
    return "fail" if threshold.severity == "block" else "warn"


def gate(findings: list[Finding]) -> str:
    """``fail`` when a blocking check failed or crashed, else ``pass``."""
    blocked = any(f.severity == "block" and f.status in ("fail", "error") for f in findings)
    return "fail" if blocked else "pass"


def guarded(check: str, category: str, severity: str, fn: Callable[[], list[Finding]]) -> list[Finding]:
    """Run a check; a crash becomes one ``error`` finding, so the other checks still run.

    Examples
    --------
    >>> [f.status for f in guarded("performance", "performance", "block", lambda: 1 / 0)]
    ['error']
    """
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - any crash in a check is reported, not raised
        return [Finding(check=check, category=category, status="error", severity=severity,
                        message=f"The {check} check could not run: {type(exc).__name__}: {exc}")]
