"""The history index page: a table of runs and inline-SVG trend charts, self-contained.

The chart geometry is laid out here (plain numbers); the template only draws it, and every text
that comes from a findings document passes Jinja2's autoescaping.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ._axis import nice_axis, text_width
from ._templates import environment
from ._views import OKABE

from ..findings._history import HistoryIndex, read_history
from ..inputs._io import atomic_write_text

__all__ = ["Chart", "line_chart", "render_index", "write_history_index"]

#: The card's Okabe-Ito palette (no red beside green), and a second cue for readers who cannot tell colours
#: apart, or print in grey: each series has its own dash pattern and marker shape.
_PALETTE = OKABE[:7]   # not the yellow: too pale on the chart's grey
_DASHES = ("", "6,3", "2,3", "8,3,2,3", "1,2", "10,4", "4,2,1,2")
_MARKERS = ("circle", "square", "triangle", "diamond", "triangle-down", "plus", "cross")


def _marker_path(shape: str, x: float, y: float, r: float = 4.0) -> str:
    """An SVG path of a marker of ``shape`` centred at (x, y), about ``2 r`` across."""
    def pts(*xy: tuple[float, float]) -> str:
        return "M" + " L".join(f"{x + dx:.1f},{y + dy:.1f}" for dx, dy in xy) + " Z"
    if shape == "square":
        return pts((-r * 0.85, -r * 0.85), (r * 0.85, -r * 0.85), (r * 0.85, r * 0.85), (-r * 0.85, r * 0.85))
    if shape == "triangle":
        return pts((0, -r), (r, r * 0.8), (-r, r * 0.8))
    if shape == "triangle-down":
        return pts((0, r), (r, -r * 0.8), (-r, -r * 0.8))
    if shape == "diamond":
        return pts((0, -r * 1.1), (r, 0), (0, r * 1.1), (-r, 0))
    if shape == "plus":
        w = r * 0.35
        return pts((-w, -r), (w, -r), (w, -w), (r, -w), (r, w), (w, w), (w, r), (-w, r), (-w, w), (-r, w), (-r, -w),
                   (-w, -w))
    if shape == "cross":
        w = r * 0.3
        return pts((-r, -r + w), (-r + w, -r), (0, -w), (r - w, -r), (r, -r + w), (w, 0), (r, r - w), (r - w, r),
                   (0, w), (-r + w, r), (-r, r - w), (-w, 0))
    # A circle as two arcs, so that every marker is one <path>.
    return f"M{x - r:.1f},{y:.1f} a{r:.1f},{r:.1f} 0 1,0 {2 * r:.1f},0 a{r:.1f},{r:.1f} 0 1,0 {-2 * r:.1f},0 Z"


@dataclass(frozen=True)
class ChartSeries:
    name: str
    color: str
    segments: tuple[str, ...]                      # SVG polyline "x,y x,y" lists, broken where a value is missing
    points: tuple[tuple[float, float, str], ...]   # (x, y, tooltip)
    #: The second cue beside the colour: the line's stroke-dasharray ("" solid), and each point's marker
    #: as an SVG path (its shape is ``marker``), in the order of ``points``.
    dash: str = ""
    marker: str = "circle"
    marker_paths: tuple[str, ...] = ()
    #: Its legend entry, under the plot: a 24 px sample of the line from (legend_x, legend_y), the marker in
    #: its middle (``legend_path``), and the name from legend_x + 30.
    legend_x: float = 0.0
    legend_y: float = 0.0
    legend_path: str = ""


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
    # The legend sits in the SVG under the x labels, in rows as wide as the plot: the chart grows by its rows.
    places, lx, row = [], float(left), 0
    for name in series:
        need = 30 + text_width(name, size=11) + 18
        if lx > left and lx + need > width - right:
            lx, row = float(left), row + 1
        places.append((lx, row))
        lx += need
    rows = row + 1 if series else 0
    legend_top = height - bottom + 30
    height += 16 * rows
    bottom += 16 * rows
    values = [v for vs in series.values() for v in vs if v is not None]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    axis = nice_axis(lo, hi, start=height - bottom, end=top, target=4)
    n = max(len(labels), 1)

    def x(i: int) -> float:
        return left + (width - left - right) * (0.5 if n == 1 else i / (n - 1))

    def y(v: float) -> float:
        return axis.place(v)

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
        marker = _MARKERS[k % len(_MARKERS)]
        gx, gy = places[k][0], legend_top + 16 * places[k][1]
        out.append(ChartSeries(name=name, color=_PALETTE[k % len(_PALETTE)], segments=tuple(segments),
                               points=tuple(points), dash=_DASHES[k % len(_DASHES)], marker=marker,
                               marker_paths=tuple(_marker_path(marker, px, py) for px, py, _ in points),
                               legend_x=gx, legend_y=gy, legend_path=_marker_path(marker, gx + 12, gy, 3.5)))
    ticks = tuple((round(axis.place(t), 1), axis.label(t)) for t in axis.ticks)
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
