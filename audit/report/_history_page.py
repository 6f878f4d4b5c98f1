"""The history index page: a table of runs and inline-SVG trend charts, self-contained.

The chart geometry is laid out here (plain numbers); the template only draws it, and every text
that comes from a findings document passes Jinja2's autoescaping.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ._templates import environment

from ..findings._history import HistoryIndex, read_history
from ..inputs._io import atomic_write_text

__all__ = ["Chart", "line_chart", "render_index", "write_history_index"]

_PALETTE = ("#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a7b83", "#57606a")


@dataclass(frozen=True)
class ChartSeries:
    name: str
    color: str
    segments: tuple[str, ...]                      # SVG polyline "x,y x,y" lists, broken where a value is missing
    points: tuple[tuple[float, float, str], ...]   # (x, y, tooltip)


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    series: tuple[ChartSeries, ...]
    y_ticks: tuple[tuple[float, str], ...]
    x_ticks: tuple[tuple[float, str], ...]


def line_chart(series: dict[str, Sequence[float | None]], labels: Sequence[str], *, width: int = 720,
               height: int = 260) -> Chart:
    """Lay out a line chart: one polyline per series over evenly spaced runs.

    Examples
    --------
    >>> c = line_chart({"roc_auc": [0.9, None, 0.8]}, ["a", "b", "c"], width=200, height=100)
    >>> len(c.series[0].segments), len(c.series[0].points), c.x_ticks[0][1]
    (2, 2, 'a')
    """
    left, right, top, bottom = 56, 12, 12, 40
    values = [v for vs in series.values() for v in vs if v is not None]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    pad = (hi - lo) * 0.1 or 0.05
    lo, hi = lo - pad, hi + pad
    n = max(len(labels), 1)

    def x(i: int) -> float:
        return left + (width - left - right) * (0.5 if n == 1 else i / (n - 1))

    def y(v: float) -> float:
        return top + (height - top - bottom) * (hi - v) / (hi - lo)

    out = []
    for k, (name, vs) in enumerate(series.items()):
        segments, current, points = [], [], []
        for i, v in enumerate(vs):
            if v is None:
                if current:
                    segments.append(" ".join(current))
                current = []
                continue
            current.append(f"{x(i):.1f},{y(v):.1f}")
            points.append((round(x(i), 1), round(y(v), 1), f"{name}: {v:.4f} ({labels[i]})"))
        if current:
            segments.append(" ".join(current))
        out.append(ChartSeries(name=name, color=_PALETTE[k % len(_PALETTE)], segments=tuple(segments),
                               points=tuple(points)))
    ticks = tuple((round(y(lo + (hi - lo) * t / 4), 1), f"{lo + (hi - lo) * t / 4:.3f}") for t in range(5))
    step = max(1, n // 8)  # at most about eight labels under the axis
    x_ticks = tuple((round(x(i), 1), labels[i]) for i in range(0, len(labels), step))
    return Chart(width=width, height=height, left=left, right=right, top=top, bottom=bottom, series=tuple(out),
                 y_ticks=ticks, x_ticks=x_ticks)


def render_index(history: HistoryIndex) -> str:
    """``index.html`` of a report folder: every run with its verdict, and trend charts of key metrics and gaps."""
    labels = [r.created[:16].replace("T", " ") or r.folder for r in history.runs]
    metrics = line_chart({m: [r.metrics.get(m) for r in history.runs] for m in history.metric_names}, labels)
    gaps = line_chart({g: [r.gaps.get(g) for r in history.runs] for g in history.gap_names}, labels)
    return environment().get_template("index.html.j2").render(history=history, metrics_chart=metrics,
                                                               gaps_chart=gaps)


def write_history_index(folder: str | Path) -> Path:
    """Rewrite ``index.html`` of a report folder from the runs in its ``history/``; returns its path."""
    folder = Path(folder)
    return atomic_write_text(folder / "index.html", render_index(read_history(folder)))
