"""The one axis helper of the card's charts (audit/report/_axis.py), and every chart laid out with it.

Ticks are checked as properties over many data ranges (hypothesis): they cover the range, are whole
multiples of a 1, 2 or 5 times a power of ten step, and are evenly spaced. Then every chart of a real
card (the golden small audit; the Quickstart's Adult card, slow) keeps every point and tick in its frame.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from audit.report._axis import Frame, fit_label, nice_axis, nice_step, text_width
from audit.report._views import CardView, card_view

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "golden" / "findings_small.json"

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


def _mantissa(step: float) -> float:
    return float(Decimal(repr(step)).scaleb(-math.floor(math.log10(step))))


@settings(max_examples=400, deadline=None)
@given(a=finite, b=finite, target=st.integers(min_value=2, max_value=10))
def test_ticks_cover_the_range_in_one_two_five_steps(a, b, target):
    axis = nice_axis(a, b, start=0.0, end=500.0, target=target)
    lo, hi = min(a, b), max(a, b)
    # Covered to a billionth of a step (the ends are rounded with that tolerance, so 0.6 / 0.2 stays 3).
    slack = axis.step * 1e-8
    assert axis.lo <= lo + slack and axis.hi >= hi - slack
    assert axis.ticks[0] == axis.lo and axis.ticks[-1] == axis.hi
    assert _mantissa(axis.step) in (1.0, 2.0, 5.0)
    steps = len(axis.ticks) - 1
    # The step is the smallest 1-2-5 step giving at most `target` steps over the range; rounding the ends
    # out to multiples of it adds at most one step at each end.
    assert 1 <= steps <= target + 2
    for k, t in enumerate(axis.ticks):
        multiple = t / axis.step
        assert abs(multiple - round(multiple)) < 1e-6, (t, axis.step)
        assert math.isclose(t, axis.lo + k * axis.step, rel_tol=1e-9, abs_tol=axis.step * 1e-6)
    # Ends: the axis' ends land on the frame's ends, and every tick between them.
    assert axis.place(axis.lo) == 0.0 and axis.place(axis.hi) == 500.0
    assert all(0.0 <= axis.place(t) <= 500.0 for t in axis.ticks)


@settings(max_examples=200, deadline=None)
@given(a=finite, b=finite, v=st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9))
def test_every_value_is_placed_inside_the_frame_even_an_upward_axis(a, b, v):
    axis = nice_axis(a, b, start=170.0, end=10.0)  # a y axis: SVG's y grows downwards
    assert 10.0 <= axis.place(v) <= 170.0


def test_known_axes_by_hand():
    # 0.13..0.87 over 5 steps wants 0.148 a step: 0.2 is the smallest 1-2-5 step, ends 0 and 1.
    a = nice_axis(0.13, 0.87, start=0, end=100)
    assert a.ticks == (0.0, 0.2, 0.4, 0.6, 0.8, 1.0) and [m[1] for m in a.marks()] == ["0", "0.2", "0.4", "0.6",
                                                                                        "0.8", "1.0"]
    # SHAP values from -0.23 to 0.77 in at most 6 steps: 0.2 a step, -0.4 to 0.8.
    assert nice_axis(-0.23, 0.77, start=0, end=1, target=6).ticks == (-0.4, -0.2, 0.0, 0.2, 0.4, 0.6, 0.8)
    assert nice_axis(0, 99_999, start=0, end=1, target=4).ticks == (0.0, 50_000.0, 100_000.0)
    assert nice_step(0.3, target=4) == 0.1 and nice_step(3.0, target=4) == 1.0
    # One value: widened by 10% either side, still round.
    assert nice_axis(0.5, 0.5, start=0, end=1).lo < 0.5 < nice_axis(0.5, 0.5, start=0, end=1).hi
    with pytest.raises(ValueError):
        nice_axis(0.0, math.inf, start=0, end=1)


def test_long_labels_are_shortened_to_their_width_keeping_both_ends():
    label = "sex&race&age = Female&Amer-Indian-Eskimo&65-120"
    short = fit_label(label, width=200)
    assert text_width(short) <= 200 and short.startswith("sex&race&age") and short.endswith("&65-120")
    assert short.count("…") == 1 and len(short) == 200 // (12 * 0.65)
    assert fit_label(label, width=text_width(label)) == label


def _points(view: CardView):
    """(chart, frame, x, y) of every point and tick every chart of the card draws."""
    for chart in [*view.fairness_charts, *(c for cs in view.group_charts.values() for c in cs),
                  *([view.importance] if view.importance else []), *view.challenger]:
        for x, _ in chart.ticks:
            yield chart.title, chart.frame, float(x), chart.frame.y
        for row in chart.rows:
            for x in (row.x_value, row.x_low, row.x_high):
                if x is not None:
                    yield chart.title, chart.frame, float(x), row.y
    for panel in view.curves:
        for lines in (panel.roc, panel.calibration):
            if lines is None:
                continue
            for s in lines.series:
                for pair in s.points.split():
                    x, y = pair.split(",")
                    yield lines.title, lines.frame, float(x), float(y)
    if view.shap_summary is not None:
        sw = view.shap_summary
        for row in sw.rows:
            for d in row.dots:
                yield "SHAP summary", sw.frame, d.cx, d.cy
        for x, _ in sw.ticks:
            yield "SHAP summary ticks", sw.frame, float(x), sw.frame.y
    scatters = [*(view.dependence.plots if view.dependence else ()), *view.tradeoffs]
    for p in scatters:
        for d in p.dots:
            yield p.title, p.frame, d.cx, d.cy
        for x, _ in p.x_ticks:
            yield p.title, p.frame, float(x), p.frame.y
        for y, _ in p.y_ticks:
            yield p.title, p.frame, p.frame.x, float(y)


def _check_card(document: dict) -> int:
    view = card_view(document)
    outside, seen = [], 0
    for title, frame, x, y in _points(view):
        assert isinstance(frame, Frame), f"{title} has no frame"
        seen += 1
        if not frame.holds(x, y):
            outside.append((title, x, y, frame))
    assert outside == [], f"{len(outside)} points outside their frame, first {outside[:3]}"
    # Every scatter has ticks on both axes, and the SHAP summary on its one axis.
    for p in [*(view.dependence.plots if view.dependence else ()), *view.tradeoffs]:
        assert len(p.x_ticks) >= 2 and len(p.y_ticks) >= 2, p.title
    if view.shap_summary is not None:
        assert len(view.shap_summary.ticks) >= 2
    # Heat-map labels: whole where they fit, else shortened with the whole label kept for the title.
    for h in (view.heatmap, view.intersections_heatmap):
        for row in (h.rows if h else ()):
            assert row.text == row.label or (row.text.count("…") == 1 and text_width(row.text) <= h.left - 14)
    return seen


def test_every_point_of_the_golden_card_is_inside_its_frame():
    document = json.loads(FIXTURE.read_text(encoding="utf-8"))
    assert _check_card(document) > 100


@pytest.mark.slow
def test_every_point_of_every_chart_of_the_adult_card_is_inside_its_frame(bundled_adult):
    document = json.loads((bundled_adult.folder / "findings.json").read_text(encoding="utf-8"))
    view = card_view(document)
    assert view.dependence and view.dependence.plots and view.tradeoffs and view.intersections_heatmap
    assert _check_card(document) > 1000
