"""Findings: the verdict of each check, as plain frozen data."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Callable

__all__ = ["Threshold", "Finding", "STATUSES", "GATES", "gate", "guarded", "judge", "shown", "undecided", "fmt", "fmt_p", "P_FLOOR",
           "readable", "OP_SYMBOLS"]

#: pass, fail, warn (missed a non-blocking threshold, or not shown either way),
#: insufficient_data (undefined value or too small a group), error (the check crashed).
STATUSES = ("pass", "fail", "warn", "insufficient_data", "error")
#: Gate outcomes: every blocking check shown within its threshold; one shown beyond it (or crashed);
#: none shown beyond but some not shown either way.
GATES = ("pass", "fail", "inconclusive")
_OPS = {">=": lambda v, t: v >= t, "<=": lambda v, t: v <= t}
#: How a message writes each threshold operator.
OP_SYMBOLS = {">=": "≥", "<=": "≤"}


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
    #: What the interval showed against the threshold: ``within``, ``beyond`` or ``neither``.
    shown: str | None = None
    #: The smallest difference from the threshold this interval could show at 80% power (half-width x 1.43).
    detectable: float | None = None
    #: What was measured, when the finding has no threshold to name it (``threshold.metric`` otherwise).
    measure: str | None = None
    #: What the finding is about within its check and measure, when its attribute and group do not say it
    #: stably (a feature by an attribute, a slice, every group at once); part of its id.
    subject: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: Names whose words are not just the key with spaces.
_NAMES = {"roc_auc": "ROC AUC", "f1": "F1", "pr_auc": "PR AUC", "r2": "R²", "r2_score": "R²",
          "four_fifths_rule": "four-fifths rule", "cramers_v": "Cramér's V", "nyc_ll144": "NYC LL144",
          "shap": "SHAP", "mean_absolute_error": "mean absolute error", "rmse": "RMSE"}


def readable(name: str) -> str:
    """A metric or check key in words, for prose (the key itself stays in the data).

    Examples
    --------
    >>> readable("demographic_parity_difference"), readable("roc_auc"), readable("four_fifths_rule")
    ('demographic parity difference', 'ROC AUC', 'four-fifths rule')
    """
    return _NAMES.get(name, name.replace("_", " "))


def fmt(value: float | None) -> str:
    """Format a number for a message: 4 significant digits, or "undefined".

    Examples
    --------
    >>> fmt(0.123456), fmt(None)
    ('0.1235', 'undefined')
    """
    return "undefined" if value is None else f"{value:.4g}"


#: The smallest p-value printed as a number: below it, "p < 0.0001" (a bootstrap or a chi-square test on
#: tens of thousands of rows gives p-values like 1e-126, whose digits mean nothing to a reader).
P_FLOOR = 1e-4


def fmt_p(value: float | None, *, name: str = "p") -> str:
    """Format a p-value, the one way every message and the card print one.

    Parameters
    ----------
    value : float or None
        The p-value (raw or adjusted); None when it was not tested.
    name : str
        What it is called in the sentence ("p", "adjusted p"); empty for a table cell, which then holds
        only the number (or "< 0.0001").

    Returns
    -------
    str
        ``"<name> < 0.0001"`` below :data:`P_FLOOR`, else ``"<name> = "`` and two significant digits;
        ``"<name> undefined"`` (or "—" in a cell) without a value.

    Examples
    --------
    >>> fmt_p(1.346e-126), fmt_p(0.0), fmt_p(0.012345, name="adjusted p"), fmt_p(0.5), fmt_p(1.0)
    ('p < 0.0001', 'p < 0.0001', 'adjusted p = 0.012', 'p = 0.50', 'p = 1.0')
    >>> fmt_p(0.00012, name=""), fmt_p(3e-7, name=""), fmt_p(None), fmt_p(None, name="")
    ('0.00012', '< 0.0001', 'p undefined', '—')
    """
    if value is None:
        return f"{name} undefined" if name else "—"
    if value < P_FLOOR:
        body = f"< {P_FLOOR:.4f}"
    else:
        body = f"{value:#.2g}"
        body = body.rstrip(".")  # "#" keeps trailing zeros ("0.50"); it also leaves "1." for 1
    if not name:
        return body
    return f"{name} {body}" if body.startswith("<") else f"{name} = {body}"


def shown(value: float, ci_low: float | None, ci_high: float | None, threshold: Threshold) -> str:
    """What the interval shows against a threshold: ``within``, ``beyond`` or ``neither``.

    One rule for every threshold, from the interval alone (the estimate only when there is no interval):
    the whole interval on the threshold's good side is shown within it, the whole interval on the other
    side is shown beyond it, and an interval that holds the threshold shows neither.

    Examples
    --------
    >>> t = Threshold("equalized_odds_difference", "<=", 0.05, "block")
    >>> shown(0.0, 0.064, 0.256, t), shown(0.02, 0.0, 0.04, t), shown(0.04, 0.01, 0.09, t)
    ('beyond', 'within', 'neither')
    """
    if ci_low is None or ci_high is None:
        return "within" if threshold.holds(value) else "beyond"
    low_ok, high_ok = threshold.holds(ci_low), threshold.holds(ci_high)
    if low_ok and high_ok:
        return "within"
    if not low_ok and not high_ok:
        return "beyond"
    return "neither"


def judge(value: float, ci_low: float | None, ci_high: float | None, threshold: Threshold) -> str:
    """Status of a defined value against a threshold: ``pass`` when shown within, ``fail`` when shown beyond
    (``warn`` for a non-blocking threshold), ``warn`` when not shown either way.

    Examples
    --------
    >>> t = Threshold("roc_auc", ">=", 0.85, "block")
    >>> judge(0.9, 0.88, 0.92, t), judge(0.8, 0.78, 0.82, t), judge(0.86, 0.84, 0.88, t)
    ('pass', 'fail', 'warn')
    """
    result = shown(value, ci_low, ci_high, threshold)
    if result == "within":
        return "pass"
    if result == "beyond":
        return "fail" if threshold.severity == "block" else "warn"
    return "warn"


def undecided(*, status: str, severity: str, has_threshold: bool, attribute: str | None) -> bool:
    """Whether a finding holds the gate up as inconclusive: a blocking check not shown either way, or an
    overall metric that could not be measured at all (a group too small to judge is reported, but does
    not hold the gate up: ``min_group_size`` decides what is judged)."""
    return severity == "block" and (status == "warn" or (status == "insufficient_data" and has_threshold
                                                         and attribute is None))


def gate(findings: list[Finding]) -> str:
    """``fail`` when a blocking check was shown beyond its threshold or crashed; ``inconclusive`` when none
    was but a blocking check was not shown either way; else ``pass``."""
    if any(f.severity == "block" and f.status in ("fail", "error") for f in findings):
        return "fail"
    if any(undecided(status=f.status, severity=f.severity, has_threshold=f.threshold is not None,
                     attribute=f.attribute) for f in findings):
        return "inconclusive"
    return "pass"


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
