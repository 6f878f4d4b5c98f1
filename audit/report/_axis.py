"""One axis helper for every chart of the card: round ends, 1-2-5 ticks, the scale into the frame, clamping.

A chart asks :func:`nice_axis` for an axis over its data range and the pixels its frame spans, then
places every value with :meth:`Axis.place`, which clamps it into the frame: a point beyond the axis (a
SHAP value past the rounded end, an interval wider than a ratio's 0..1) is drawn at the frame's edge
rather than outside it. :func:`fit_label` shortens a label to the width a chart gives it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Axis", "Frame", "nice_step", "nice_axis", "fit_label", "text_width"]

#: Width of a character, in em, that labels are budgeted with (see :func:`text_width`).
_EM = 0.65
#: Mantissas of a tick step: 1, 2 or 5 times a power of ten.
_MANTISSAS = (1.0, 2.0, 5.0, 10.0)


def nice_step(span: float, *, target: int = 5) -> float:
    """The smallest step of 1, 2 or 5 times a power of ten that cuts ``span`` into at most ``target`` steps.

    Parameters
    ----------
    span : float
        Length of the data range (positive).
    target : int
        Most steps wanted between the rounded ends (at least 1).

    Returns
    -------
    float

    Examples
    --------
    >>> nice_step(1.0), nice_step(0.447), nice_step(37.0, target=4)
    (0.2, 0.1, 10.0)
    """
    if not span > 0 or not math.isfinite(span):
        raise ValueError(f"an axis needs a positive finite span, got {span!r}")
    raw = span / max(int(target), 1)
    power = 10.0 ** math.floor(math.log10(raw))
    # The tolerance keeps 0.2 / 0.1 * 0.1 from rounding up a mantissa.
    mantissa = next(m for m in _MANTISSAS if m * power >= raw * (1 - 1e-9))
    return float(f"{mantissa * power:.12g}")


@dataclass(frozen=True)
class Frame:
    """The plotting rectangle of a chart, in SVG pixels: every point is drawn inside it."""

    x: float
    y: float
    width: float
    height: float

    def holds(self, x: float, y: float) -> bool:
        """Whether the point (x, y) is inside the frame, edges included (to a hundredth of a pixel)."""
        eps = 0.01
        return (self.x - eps <= x <= self.x + self.width + eps) and (self.y - eps <= y <= self.y + self.height + eps)


@dataclass(frozen=True)
class Axis:
    """A linear axis from ``lo`` to ``hi`` (round ends), drawn from pixel ``start`` to pixel ``end``.

    ``end`` may be smaller than ``start``: a vertical axis grows upwards while SVG's y grows downwards.
    """

    lo: float
    hi: float
    step: float
    ticks: tuple[float, ...]
    start: float
    end: float
    decimals: int

    def place(self, value: float) -> float:
        """The pixel of ``value``, clamped to the axis' ends so that it never leaves the frame."""
        share = (value - self.lo) / (self.hi - self.lo)
        return self.start + min(max(share, 0.0), 1.0) * (self.end - self.start)

    def label(self, value: float) -> str:
        """A tick's text, with as many decimals as the step needs ("-0" is "0")."""
        text = f"{value:.{self.decimals}f}"
        return "0" if float(text) == 0 else text

    def marks(self) -> tuple[tuple[str, str], ...]:
        """Each tick as (pixel with one decimal, label), for a template to place."""
        return tuple(("%.1f" % self.place(t), self.label(t)) for t in self.ticks)


def nice_axis(lo: float, hi: float, *, start: float, end: float, target: int = 5) -> Axis:
    """An axis covering ``lo``..``hi`` with round ends and 1-2-5 ticks, drawn from ``start`` to ``end``.

    Parameters
    ----------
    lo, hi : float
        The data range (either order; a range narrower than 1e-12 is widened, by 10% of its middle or by
        0.5 around zero).
    start, end : float
        Pixels of the axis' low and high ends.
    target : int
        Most steps wanted; the axis has between ``target // 2`` and ``target`` steps or so, the ends
        rounded out to a multiple of the step.

    Returns
    -------
    Axis

    Examples
    --------
    >>> a = nice_axis(0.13, 0.87, start=0, end=100)
    >>> a.ticks, a.place(0.5), a.place(2.0)
    ((0.0, 0.2, 0.4, 0.6, 0.8, 1.0), 50.0, 100.0)
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"an axis needs finite ends, got {lo!r} and {hi!r}")
    lo, hi = min(lo, hi), max(lo, hi)
    # A range too narrow to cut (one value; or differences below 1e-12, rounding noise for a chart) is
    # widened around its middle: by 10% of the value, or by 0.5 around zero.
    if hi - lo <= 1e-12 * max(abs(lo), abs(hi), 1.0):
        mid = (lo + hi) / 2
        pad = abs(mid) * 0.1 if abs(mid) > 1e-12 else 0.5
        lo, hi = min(lo, mid - pad), max(hi, mid + pad)
    step = nice_step(hi - lo, target=target)
    # Round the ends out to multiples of the step; the tolerance keeps 0.6 / 0.2 from becoming 3.0000001.
    first = math.floor(lo / step + 1e-9)
    last = math.ceil(hi / step - 1e-9)
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    ticks = tuple(float(round(k * step, decimals + 1)) for k in range(first, last + 1))
    return Axis(lo=ticks[0], hi=ticks[-1], step=step, ticks=ticks, start=float(start), end=float(end),
                decimals=decimals)


def text_width(text: str, *, size: float = 12.0) -> float:
    """A generous estimate of a text's width in pixels in the card's sans-serif font at ``size`` px.

    Examples
    --------
    >>> text_width("abcd")
    31.2
    """
    # 0.65 em a character: above the card's sans-serif average (about 0.59 em measured in Chromium on
    # mixed labels), so a label given this width is not cut.
    return round(len(text) * size * _EM, 6)


def fit_label(text: str, *, width: float, size: float = 12.0) -> str:
    """``text`` if it fits in ``width`` pixels, else shortened in the middle with "…" (both ends kept: the
    attribute before, the last group after), for a chart that also gives the whole label in a ``<title>``.

    Examples
    --------
    >>> fit_label("sex&race = Female&Black", width=400)
    'sex&race = Female&Black'
    >>> fit_label("sex&race&age = Female&Amer-Indian-Eskimo&65-120", width=180)
    'sex&race&ag…kimo&65-120'
    """
    keep = int(width / (size * _EM) + 1e-9)  # the tolerance: text_width(s) always fits s
    if len(text) <= keep:
        return text
    head = (keep - 1) // 2 + (keep - 1) % 2
    tail = keep - 1 - head
    return text[:head] + "…" + (text[-tail:] if tail > 0 else "")
