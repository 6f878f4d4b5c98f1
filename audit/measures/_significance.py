"""One definition of "significantly worse" (and "significantly better") for every comparison the audit makes.

A comparison is a tested ``difference`` of one estimate from a reference: a group's metric minus the rest's
(:class:`audit.statistics._evaluate.RestComparison`), or this run's metric minus the baseline's
(:class:`audit.measures._compare.Change`). Whether the test found it ``significant`` is the test's business
(Benjamini-Hochberg adjusted p-values in both cases); whether that is *worse* depends on the metric's
direction only. The findings document, the group-gap check, the comparison and the gate policy all
ask these two functions, and the reports read the fields they filled in.
"""

from __future__ import annotations

__all__ = ["significantly_worse", "significantly_better"]

_SIGN = {"higher": 1, "lower": -1}


def significantly_worse(*, significant: bool | None, difference: float | None, direction: str,
                        margin: float = 0.0) -> bool:
    """Whether a tested difference is significant and on the metric's bad side by more than ``margin``.

    ``direction`` is the metric's (``higher`` or ``lower`` is better); a metric without one (``none``) is
    never worse. An untested (``None``) or undefined comparison is never worse.

    Examples
    --------
    >>> significantly_worse(significant=True, difference=-0.1, direction="higher")
    True
    >>> significantly_worse(significant=True, difference=-0.1, direction="lower")
    False
    >>> significantly_worse(significant=True, difference=-0.1, direction="higher", margin=0.2)
    False
    >>> significantly_worse(significant=None, difference=-0.1, direction="higher")
    False
    >>> significantly_worse(significant=True, difference=0.1, direction="none")
    False
    """
    sign = _SIGN.get(direction)
    return bool(significant) and difference is not None and sign is not None and sign * difference < -margin


def significantly_better(*, significant: bool | None, difference: float | None, direction: str,
                         margin: float = 0.0) -> bool:
    """The mirror of :func:`significantly_worse`: significant and on the metric's good side.

    Examples
    --------
    >>> significantly_better(significant=True, difference=0.1, direction="higher")
    True
    >>> significantly_better(significant=True, difference=0.0, direction="higher")
    False
    """
    sign = _SIGN.get(direction)
    return bool(significant) and difference is not None and sign is not None and sign * difference > margin
