"""What the model card draws, laid out in Python from the findings document: frozen view data.

The templates only place these: every coordinate, tick, colour and mark of a chart, and every status a
number is shown with, is decided here (statuses are looked up in the document's findings, never
recomputed from the config). The layout is a pure function of the document: a point's vertical jitter is
a hash of the audit's seed and the point's index, so the same document renders the same HTML.

Entry point: :func:`card_view` (the ``view`` a card template receives). The pieces are public for tests
and custom templates: :func:`interval_chart`, :func:`heatmap`, :func:`unit_lines`, :func:`confusion`,
:func:`shap_summary`, :func:`dependence_plots`, :func:`tradeoff_charts`, :func:`bar_width`,
:func:`jitter`, :func:`colour_ranks`, :func:`threshold_findings`.

Every axis comes from one helper, :func:`audit.report._axis.nice_axis` (1-2-5 ticks over the data, the
scale into the chart's frame, every value clamped inside it); each chart records its ``frame``.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ._axis import Axis, Frame, fit_label, nice_axis, nice_step, text_width

__all__ = ["axis_top", "Frame", "OKABE", "WORSE", "BETTER", "MUTED", "IntervalRow", "Mark", "IntervalChart", "HeatCell", "HeatRow",
           "Heatmap", "Series", "UnitLines", "ConfusionCell", "Confusion", "Dot", "SwarmRow", "ShapSummary",
           "Scatter", "GroupsPanel", "CurvesPanel", "CardView", "bar_width", "jitter", "colour_ranks",
           "interval_chart", "heatmap", "unit_lines", "confusion", "shap_summary", "dependence_plots",
           "tradeoff_charts", "challenger_charts", "challenger_wins", "mitigation_table", "MitigationTable", "threshold_findings", "fairness_charts", "group_charts", "importance_chart", "heatmaps",
           "curves_panels", "representation_pools", "card_view"]

#: Okabe-Ito palette (safe for colour-blind readers), and the card's two judgement colours.
OKABE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442")
WORSE = "#D55E00"
BETTER = "#0072B2"
MUTED = "#9aa3af"
#: Colours of the SHAP summary, feature value low (blue) to high (red).
_RAMP = ("#3b4cc0", "#7b9ff9", "#c0c0c0", "#f49a7b", "#b40426")
#: Colours of the dependence plots' groups (Okabe-Ito, yellow before black).
_GROUP_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
#: Colours of the mitigation trade-off chart, by method.
_METHOD_COLOURS = {"unmitigated": "#000000", "threshold_optimizer_dp": "#0072B2",
                   "threshold_optimizer_eo": "#E69F00", "exponentiated_gradient": "#009E73",
                   "drop_proxies": "#CC79A7"}


def axis_top(value: float | None, *, ticks: int = 4) -> tuple[float, int]:
    """A round upper end of a chart axis starting at 0, and how many equal 1-2-5 steps reach it.

    Examples
    --------
    >>> axis_top(0.447), axis_top(1.38), axis_top(None)
    ((0.6, 3), (1.5, 3), (1.0, 4))
    """
    if value is None or not value > 0:
        return 1.0, 4
    step = nice_step(value, target=ticks)
    steps = math.ceil(value / step - 1e-9)
    return float(round(step * steps, 12)), int(steps)


def _f1(v: float) -> str:
    return "%.1f" % v


def bar_width(value: float | None, top: float = 1.0, width: float = 160) -> float | None:
    """Filled width of a horizontal bar for ``value`` in [0, ``top``] (clamped), or None without a value.

    Examples
    --------
    >>> bar_width(0.25), bar_width(2.0), bar_width(-1.0), bar_width(None)
    (40.0, 160, 0, None)
    """
    if value is None:
        return None
    return min(max(value / top, 0), 1) * width


# ------------------------------------------------------------------------------------ dot-and-whisker


@dataclass(frozen=True)
class IntervalRow:
    """One row of a dot-and-whisker chart: texts and values to show, and where to draw them."""

    label: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    worse: bool
    muted: bool
    y: float
    x_value: str | None
    x_low: str | None
    x_high: str | None
    colour: str
    radius: int
    #: The label as drawn, shortened in the middle to the label column (the whole label is its title).
    text: str = ""


@dataclass(frozen=True)
class Mark:
    """A vertical line across a chart at ``value`` (a reference or a threshold)."""

    x: str
    value: float
    label: str


@dataclass(frozen=True)
class IntervalChart:
    title: str
    axis_label: str
    width: int
    height: int
    left: int
    digits: int
    grid_top: int
    grid_bottom: int
    tick_y: int
    axis_x: float
    axis_y: int
    ticks: tuple[tuple[str, str], ...]   # (x, label)
    ref: Mark | None
    threshold: Mark | None
    rows: tuple[IntervalRow, ...]
    #: What a row drawn in the worse colour means, for its tooltip.
    worse_note: str = "significantly worse than the rest"
    #: The plotting area: every dot and whisker end lies inside it.
    frame: Frame | None = None


def interval_chart(items: Sequence[Mapping[str, Any]], lo: float, hi: float, title: str, axis_label: str, *,
                   ref: float | None = None, ref_label: str = "", threshold: float | None = None,
                   threshold_label: str = "", width: int = 560, label_width: int = 190, digits: int = 3,
                   ticks: int = 5, worse_note: str = "significantly worse than the rest") -> IntervalChart:
    """A dot-and-whisker chart, one row per item ``{label, value, ci_low, ci_high, worse, muted}``.

    ``lo``..``hi`` is the data range the axis covers (rounded out to 1-2-5 ticks, at most ``ticks`` steps),
    ``ref`` a dashed reference line, ``threshold`` a solid line (a gate). Values beyond the axis are drawn
    at its end.
    """
    row, top, left, plot = 20, 10, label_width, width - label_width - 20
    height = top + row * len(items) + 40
    axis = nice_axis(lo, hi, start=left, end=left + plot, target=ticks)

    def _x(v: float, *_: Any) -> str:
        return _f1(axis.place(v))

    rows = []
    for i, it in enumerate(items):
        worse, muted, value = bool(it["worse"]), bool(it["muted"]), it["value"]
        has_ci = value is not None and it["ci_low"] is not None and it["ci_high"] is not None
        rows.append(IntervalRow(
            label=it["label"], value=value, ci_low=it["ci_low"], ci_high=it["ci_high"], worse=worse, muted=muted,
            y=top + row * i + row / 2, x_value=None if value is None else _x(value, lo, hi, left, plot),
            x_low=_x(it["ci_low"], lo, hi, left, plot) if has_ci else None,
            x_high=_x(it["ci_high"], lo, hi, left, plot) if has_ci else None,
            colour=WORSE if worse else (MUTED if muted else BETTER), radius=5 if worse else 4,
            text=fit_label(str(it["label"]), width=left - 12)))
    return IntervalChart(
        title=title, axis_label=axis_label, width=width, height=height, left=left, digits=digits,
        grid_top=top - 4, grid_bottom=height - 34, tick_y=height - 22, axis_x=left + plot / 2, axis_y=height - 5,
        ticks=axis.marks(),
        ref=None if ref is None else Mark(x=_x(ref, lo, hi, left, plot), value=ref, label=ref_label),
        threshold=None if threshold is None else Mark(x=_x(threshold, lo, hi, left, plot), value=threshold,
                                                      label=threshold_label),
        rows=tuple(rows), worse_note=worse_note,
        frame=Frame(x=left, y=top - 4, width=plot, height=height - 34 - (top - 4)))


def _ends(items: Sequence[Mapping[str, Any]], *extra: float) -> list[float]:
    return ([it["ci_high"] for it in items if isinstance(it["ci_high"], (int, float))]
            + [it["value"] for it in items if isinstance(it["value"], (int, float))] + list(extra))


# ---------------------------------------------------------------------------------------- statuses


def threshold_findings(document: Mapping[str, Any], *, category: str = "fairness"
                       ) -> dict[str, dict[str, dict[str, Any]]]:
    """For each metric, the findings of the first check that put a threshold on it, by attribute.

    The card draws that check's threshold and styles each attribute's row by what its finding says
    (``shown``), so a chart never contradicts ``findings.json``. Checks come in the document's order
    (the configured thresholds, then the four-fifths rule).
    """
    chosen: dict[str, str] = {}
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for f in document["findings"]:
        t = f.get("threshold")
        if f["category"] != category or not t or f.get("group") is not None:
            continue
        check = chosen.setdefault(t["metric"], f["check"])
        if check == f["check"]:
            out.setdefault(t["metric"], {}).setdefault(f.get("attribute"), f)
    return out


def _missed(finding: Mapping[str, Any] | None) -> bool:
    # A row is drawn as missing its threshold when its finding says so: failed (or warned, if non-blocking)
    # with the interval shown beyond it. A finding that passed is never drawn failing, whatever the config says.
    return finding is not None and finding["status"] in ("fail", "warn") and finding.get("shown") == "beyond"


def fairness_charts(document: Mapping[str, Any]) -> tuple[IntervalChart, ...]:
    """One chart per fairness measure, one row per attribute; a row is drawn worse when its finding missed
    the threshold drawn (see :func:`threshold_findings`)."""
    judged = threshold_findings(document)
    charts = []
    for name, d in document["fairness"]["definitions"].items():
        findings = judged.get(name, {})
        limit = next((f["threshold"]["value"] for f in findings.values()), None)
        items = []
        for attribute, metrics in document["fairness"]["by_attribute"].items():
            if name not in metrics:
                continue
            m = metrics[name]
            f = findings.get(attribute)
            items.append({"label": attribute, "value": m["value"], "ci_low": m["ci_low"], "ci_high": m["ci_high"],
                          "worse": _missed(f), "muted": m["value"] is None})
        if d["kind"] == "ratio":
            lo, hi = 0.0, 1.0
        else:
            lo, hi = 0.0, min(max(max(_ends(items, limit or 0)), 0.05), 1.0)
        label = name + (" (0 is parity)" if d["kind"] == "difference" else " (1 is parity)")
        charts.append(interval_chart(items, lo, hi, f"{name} by attribute", label, ref=d["parity"],
                                     ref_label="parity", threshold=limit, threshold_label="threshold", width=440,
                                     label_width=150))
    return tuple(charts)


def _eligible(document: Mapping[str, Any], attribute: str, group: str) -> bool:
    return bool(document["bias"]["representation"][attribute][group]["eligible"])


def group_charts(document: Mapping[str, Any]) -> dict[str, tuple[IntervalChart, ...]]:
    """For each attribute and intersection, one chart per metric: its groups with intervals."""
    defs, overall = document["metrics"]["definitions"], document["metrics"]["overall"]
    out = {}
    for attribute, groups in document["metrics"]["by_group"].items():
        charts = []
        for name in defs:
            items = [{"label": group, "value": ms[name]["value"], "ci_low": ms[name]["ci_low"],
                      "ci_high": ms[name]["ci_high"], "worse": ms[name]["versus_rest"]["significantly_worse"],
                      "muted": not _eligible(document, attribute, group)} for group, ms in groups.items()]
            ov = overall[name]["value"]
            # Unbounded losses get an axis to their largest end; rates and scores live on 0..1.
            hi = max(max(_ends(items, ov if ov is not None else 0)), 1.0) if name == "log_loss" else 1.0
            # The label column fits the longest group (intersections are long), within reason.
            label_width = math.ceil(min(max(max(text_width(str(g)) for g in groups) + 12, 150), 240))
            charts.append(interval_chart(items, 0.0, hi, f"{name} by {attribute}", name, ref=ov, ref_label="all rows",
                                         width=label_width + 250, label_width=label_width))
        out[attribute] = tuple(charts)
    return out


def importance_chart(document: Mapping[str, Any], top: int = 15) -> IntervalChart | None:
    """The most important features with intervals; the sensitive attributes the model reads stand out."""
    x = document["explainability"]
    shown = x.get("importances", [])[:top]
    if not shown:
        return None
    sensitive = set(document["data"]["sensitive"])
    items = [{"label": i["feature"], "value": i["value"], "ci_low": i["ci_low"], "ci_high": i["ci_high"],
              "worse": i["feature"] in sensitive, "muted": False} for i in shown]
    return interval_chart(items, 0.0, max(max(_ends(items)), 1e-6), "Feature importance", x["measure"], width=640,
                          label_width=200, digits=4)


# ------------------------------------------------------------------------------------------- heat map


@dataclass(frozen=True)
class HeatCell:
    metric: str
    value: float | None
    overall: float | None
    worse: bool
    x: int
    text_x: float
    fill: str
    opacity: str


@dataclass(frozen=True)
class HeatRow:
    label: str
    eligible: bool
    y: int
    cells: tuple[HeatCell, ...]
    #: The label as drawn: whole when it fits the label column, else shortened in the middle (the whole
    #: label is in the row's ``<title>``).
    text: str = ""


@dataclass(frozen=True)
class Heatmap:
    title: str
    width: int
    height: int
    left: int
    top: int
    cell_width: int
    row_height: int
    scale: float
    columns: tuple[tuple[str, float], ...]   # (metric, x)
    rows: tuple[HeatRow, ...]


def heatmap(title: str, groups: Sequence[Mapping[str, Any]], definitions: Mapping[str, Any],
            overall: Mapping[str, Any], min_support: int, scale: float = 0.1) -> Heatmap:
    """Groups x metrics; each cell coloured by its difference from all rows (blue better, vermillion worse,
    full colour at ``scale``), grey when the group, or the rows the metric is a rate of, is too small to judge,
    or the metric has no better direction. ``groups`` are ``{label, metrics, eligible}``.

    The label column is as wide as the longest label needs, up to 420 px; a longer label is shortened in
    the middle (the attribute and the last group kept) and given whole in its row's title."""
    cw, rh, top = 82, 22, 70
    widest = max((text_width(g["label"]) for g in groups), default=0.0)
    left = int(min(max(widest + 16, 120), 420))
    metrics = list(definitions)
    rows = []
    for gi, g in enumerate(groups):
        y = top + rh * gi
        cells = []
        for mi, m in enumerate(metrics):
            e, ov = g["metrics"][m], overall[m]["value"]
            x = left + cw * mi
            sign = {"higher": 1, "lower": -1}.get(definitions[m]["direction"], 0)
            if (e["value"] is None or ov is None or not g["eligible"] or sign == 0
                    or (e["support"] is not None and e["support"] < min_support)):
                fill, alpha = MUTED, 0.15
            else:
                d = (e["value"] - ov) * sign
                fill = BETTER if d >= 0 else WORSE
                alpha = max(min(abs(d), scale) / scale * 0.75, 0.04)
            cells.append(HeatCell(metric=m, value=e["value"], overall=ov,
                                  worse=bool(e["versus_rest"]["significantly_worse"]), x=x, text_x=x + cw / 2,
                                  fill=fill, opacity="%.2f" % alpha))
        rows.append(HeatRow(label=g["label"], eligible=bool(g["eligible"]), y=y, cells=tuple(cells),
                            text=fit_label(g["label"], width=left - 14)))
    return Heatmap(title=title, width=left + cw * len(metrics) + 70, height=top + rh * len(groups) + 4, left=left,
                   top=top, cell_width=cw, row_height=rh, scale=scale,
                   columns=tuple((m, left + cw * i + cw / 2) for i, m in enumerate(metrics)), rows=tuple(rows))


def heatmaps(document: Mapping[str, Any]) -> tuple[Heatmap, Heatmap | None]:
    """The heat maps of the sensitive attributes' groups and of the intersections' (None without any)."""
    single, inter = [], []
    for attribute, groups in document["metrics"]["by_group"].items():
        for group, metrics in groups.items():
            row = {"label": f"{attribute} = {group}", "metrics": metrics,
                   "eligible": _eligible(document, attribute, group)}
            (single if attribute in document["data"]["sensitive"] else inter).append(row)
    defs, overall = document["metrics"]["definitions"], document["metrics"]["overall"]
    mgs = document["data"]["min_group_size"]
    return (heatmap("Metrics by group of each sensitive attribute", single, defs, overall, mgs),
            heatmap("Metrics by intersectional group", inter, defs, overall, mgs) if inter else None)


# ------------------------------------------------------------------------------------ curves, matrices


@dataclass(frozen=True)
class Series:
    label: str
    colour: str
    points: str                              # SVG polyline points
    markers: tuple[tuple[str, str], ...]     # (cx, cy), when the chart marks its points


@dataclass(frozen=True)
class UnitLines:
    title: str
    x_label: str
    y_label: str
    diagonal_label: str
    size: int
    height: int
    left: int
    top: int
    plot: int
    grid: tuple[tuple[str, str, str, str], ...]   # (x, y, tick label, y of the left tick label)
    series: tuple[Series, ...]
    frame: Frame | None = None


def unit_lines(series: Sequence[Mapping[str, Any]], title: str, x_label: str, y_label: str, diagonal_label: str, *,
               markers: bool = False, size: int = 300) -> UnitLines:
    """Lines on the unit square, one per series ``{label, xs, ys}``, coloured in palette order."""
    left, top = 46, 10
    plot = size - left - 12
    ax = nice_axis(0.0, 1.0, start=left, end=left + plot)
    ay = nice_axis(0.0, 1.0, start=top + plot, end=top)
    grid = tuple((_f1(ax.place(t)), _f1(ay.place(t)), ax.label(t), _f1(ay.place(t) + 4)) for t in ax.ticks)
    out = []
    for i, s in enumerate(series):
        xy = [(_f1(ax.place(x)), _f1(ay.place(y))) for x, y in zip(s["xs"], s["ys"])]
        out.append(Series(label=s["label"], colour=OKABE[i % 8], points="".join(f"{a},{b} " for a, b in xy),
                          markers=tuple(xy) if markers else ()))
    return UnitLines(title=title, x_label=x_label, y_label=y_label, diagonal_label=diagonal_label, size=size,
                     height=top + plot + 38, left=left, top=top, plot=plot, grid=grid, series=tuple(out),
                     frame=Frame(x=left, y=top, width=plot, height=plot))


@dataclass(frozen=True)
class ConfusionCell:
    count: int
    share: float
    what: str
    x: int
    y: int
    fill: str
    opacity: str


@dataclass(frozen=True)
class Confusion:
    label: str
    tp: int
    fn: int
    fp: int
    tn: int
    cells: tuple[ConfusionCell, ...]


def confusion(c: Mapping[str, int], label: str, positive: str = "pos.", negative: str = "neg.") -> Confusion:
    """A 2x2 confusion matrix, each cell shaded by its share of the true label's rows."""
    cells = [(c["tp"], c["tp"] + c["fn"], f"true {positive}, predicted {positive}"),
             (c["fn"], c["tp"] + c["fn"], f"true {positive}, predicted {negative}"),
             (c["fp"], c["fp"] + c["tn"], f"true {negative}, predicted {positive}"),
             (c["tn"], c["fp"] + c["tn"], f"true {negative}, predicted {negative}")]
    out = []
    for i, (count, total, what) in enumerate(cells):
        share = count / total if total else 0
        out.append(ConfusionCell(count=count, share=share, what=what, x=50 + 64 * (i % 2), y=34 + 60 * (i // 2),
                                 fill=BETTER if i in (0, 3) else WORSE, opacity="%.2f" % (0.08 + 0.6 * share)))
    return Confusion(label=label, tp=c["tp"], fn=c["fn"], fp=c["fp"], tn=c["tn"], cells=tuple(out))


@dataclass(frozen=True)
class CurvesPanel:
    """One sensitive attribute's ROC and calibration curves and confusion matrices."""

    attribute: str
    legend: tuple[tuple[str, str], ...]   # (group, colour)
    roc: UnitLines
    calibration: UnitLines | None
    confusions: tuple[Confusion, ...]
    left_out: tuple[str, ...]


def curves_panels(document: Mapping[str, Any]) -> tuple[CurvesPanel, ...]:
    """The groups of each attribute with curves, those under ``min_group_size`` left out and named."""
    cv = document.get("curves")
    if cv is None:
        return ()
    out = []
    for attribute, groups in cv["by_group"].items():
        shown = [(g, c) for g, c in groups.items() if _eligible(document, attribute, g)]
        roc = [{"label": g, "xs": c["roc"]["fpr"], "ys": c["roc"]["tpr"]} for g, c in shown if c["roc"]]
        cal = [{"label": g, "xs": c["calibration"]["mean_score"], "ys": c["calibration"]["positive_rate"]}
               for g, c in shown if c["calibration"]]
        out.append(CurvesPanel(
            attribute=attribute, legend=tuple((g, OKABE[i % 8]) for i, (g, _) in enumerate(shown)),
            roc=unit_lines(roc, f"ROC curves by {attribute}", "false positive rate", "true positive rate",
                           "a model that guesses"),
            calibration=unit_lines(cal, f"Calibration by {attribute}", "mean score in bin", "share of positives",
                                   "perfect calibration", markers=True) if cal else None,
            confusions=tuple(confusion(c["confusion"], f"{attribute} = {g} ({c['n']:,} rows)") for g, c in shown),
            left_out=tuple(g for g in groups if not _eligible(document, attribute, g))))
    return tuple(out)


# --------------------------------------------------------------------------------- explanation charts


def jitter(seed: int, index: int) -> float:
    """A point's fixed vertical offset in [-1, 1): a hash of the audit's seed and the point's index.

    Examples
    --------
    >>> jitter(7, 0) == jitter(7, 0), -1 <= jitter(7, 0) < 1, jitter(7, 0) != jitter(7, 1)
    (True, True, True)
    """
    digest = hashlib.sha256(f"rai-audit jitter {seed} {index}".encode("ascii")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0 ** 63 - 1.0


def colour_ranks(values: Sequence[Any], numeric: bool) -> list[float]:
    """Each point's colour position in [0, 1]: the quantile of its value among the points (ties averaged) for a
    numeric feature, the share of its category among the points otherwise; a missing value (null, or a
    category the explainer wrote as ``"nan"``) sits in the middle, at 0.5.

    Examples
    --------
    >>> colour_ranks([3.0, 1.0, None, 1.0], True), colour_ranks(["a", "b", "a", "nan", "a"], False)
    ([1.0, 0.5, 0.5, 0.5], [0.75, 0.25, 0.75, 0.5, 0.75])
    """
    if not numeric:
        counts: dict[Any, int] = {}
        for v in values:
            if v is not None and v != "nan":
                counts[v] = counts.get(v, 0) + 1
        known = sum(counts.values())
        return [0.5 if v is None or v == "nan" else counts[v] / known for v in values]
    present = sorted(v for v in values if v is not None)
    n = len(present)
    first: dict[float, int] = {}
    ties: dict[float, int] = {}
    for i, v in enumerate(present):
        first.setdefault(v, i)
        ties[v] = ties.get(v, 0) + 1
    return [0.5 if v is None else (first[v] + (ties[v] + 1) / 2) / n for v in values]


@dataclass(frozen=True)
class Dot:
    cx: float
    cy: float
    colour: str


@dataclass(frozen=True)
class SwarmRow:
    feature: str
    label_y: int
    dots: tuple[Dot, ...]
    #: The feature's name as drawn, shortened to the 150 px label column (the whole name is its title).
    text: str = ""


@dataclass(frozen=True)
class ShapSummary:
    width: int
    height: int
    zero_x: float
    zero_bottom: int
    caption_x: int
    caption_y: int
    rows: tuple[SwarmRow, ...]
    #: The SHAP axis' ticks (x, label), drawn at ``tick_y`` under the plotting area ``frame``.
    ticks: tuple[tuple[str, str], ...] = ()
    tick_y: int = 0
    frame: Frame | None = None


def shap_summary(points: Mapping[str, Mapping[str, Any]], seed: int) -> ShapSummary:
    """Beeswarm-style summary: each explained row's SHAP value per top feature, jittered vertically, coloured
    from low (blue) to high (red) feature value."""
    names = list(points)
    lo = min(p["shap_min"] for p in points.values())
    hi = max(p["shap_max"] for p in points.values())
    # Zero is on the axis: it is the line a reader compares every dot with.
    axis = nice_axis(min(lo, 0.0), max(hi, 0.0), start=160, end=740, target=6)
    bottom = 40 * len(names) + 10
    rows = []
    for row, f in enumerate(names):
        p = points[f]
        ranks = colour_ranks(p["value"], p["numeric"])
        rows.append(SwarmRow(feature=f, label_y=40 * row + 30, text=fit_label(str(f), width=146), dots=tuple(
            Dot(cx=axis.place(v), cy=40 * row + 26 + 12 * jitter(seed, i),
                colour=_RAMP[int(round(ranks[i] * 4, 0))]) for i, v in enumerate(p["shap"]))))
    return ShapSummary(width=760, height=bottom + 46, zero_x=axis.place(0.0), zero_bottom=bottom,
                       caption_x=160 + 290, caption_y=bottom + 38, rows=tuple(rows), ticks=axis.marks(),
                       tick_y=bottom + 14, frame=Frame(x=160, y=10, width=580, height=bottom - 10))


@dataclass(frozen=True)
class Scatter:
    """A small scatter plot: its dots, and the texts under and beside it."""

    title: str
    x_label: str
    y_label: str
    dots: tuple[Dot, ...]
    #: The field of each point drawn on the y axis (a mitigation trade-off: accuracy, or mean squared error).
    y_field: str = ""
    #: The plotting area, and the ticks of each axis: (x, label) under it, (y, label) left of it.
    frame: Frame | None = None
    x_ticks: tuple[tuple[str, str], ...] = ()
    y_ticks: tuple[tuple[str, str], ...] = ()
    width: int = 0
    height: int = 0


@dataclass(frozen=True)
class GroupsPanel:
    """Dependence plots of the top numeric features, coloured by the group of the first sensitive attribute."""

    attribute: str
    legend: tuple[tuple[str, str], ...]   # (group, colour)
    plots: tuple[Scatter, ...]


#: Layout of a small scatter plot: the SVG's size and its frame (left, top, width, height).
_SCATTER = {"dependence": (266, 200, (52, 10, 190, 156)), "tradeoff": (350, 226, (62, 10, 270, 180))}


def _scatter(title: str, x_label: str, y_label: str, xs: Sequence[float], ys: Sequence[float],
             colours: Sequence[str], *, kind: str, y_field: str = "", x_from_zero: bool = False) -> Scatter:
    # Both axes from the one helper: round 1-2-5 ticks over the data, every dot clamped into the frame.
    width, height, (left, top, w, h) = _SCATTER[kind]
    ax = nice_axis(min(0.0, *xs) if x_from_zero else min(xs), max(xs), start=left, end=left + w, target=4)
    ay = nice_axis(min(ys), max(ys), start=top + h, end=top, target=4)
    dots = tuple(Dot(cx=ax.place(x), cy=ay.place(y), colour=c) for x, y, c in zip(xs, ys, colours))
    return Scatter(title=title, x_label=x_label, y_label=y_label, dots=dots, y_field=y_field,
                   frame=Frame(x=left, y=top, width=w, height=h), x_ticks=ax.marks(), y_ticks=ay.marks(),
                   width=width, height=height)


def dependence_plots(points: Mapping[str, Mapping[str, Any]], attribute: str, limit: int = 3) -> GroupsPanel:
    """SHAP value against feature value for the first ``limit`` numeric top features, coloured by group."""
    names = list(points)
    seen = list(points[names[0]]["groups"])
    plots = []
    for f in [n for n in names if points[n]["numeric"]][:limit]:
        p = points[f]
        shown = [i for i, v in enumerate(p["value"]) if v is not None]
        if not shown:
            continue
        plots.append(_scatter(f, f, "SHAP value", [p["value"][i] for i in shown], [p["shap"][i] for i in shown],
                              [_GROUP_COLOURS[seen.index(p["group"][i]) % 8] for i in shown], kind="dependence"))
    return GroupsPanel(attribute=attribute, legend=tuple((g, _GROUP_COLOURS[i % 8]) for i, g in enumerate(seen)),
                       plots=tuple(plots))


# ------------------------------------------------------------------------------------------- mitigation


#: Columns of the mitigation table, in order, with their headings; a column shows when a point has it.
_MITIGATION_COLUMNS = (("tolerance", "Tolerance", 0), ("accuracy", "Accuracy", 4), ("accuracy_loss", "Accuracy given up", 4),
                       ("demographic_parity_difference", "Demographic parity difference", 4),
                       ("equalized_odds_difference", "Equalized odds difference", 4),
                       ("favourable_ratio", "Adverse impact ratio", 4),
                       ("selection_rate", "Selection rate", 4), ("mean_squared_error", "Mean squared error", 4),
                       ("loss_increase", "Mean squared error added", 4),
                       ("worst_group_loss", "Worst group's mean squared error", 4),
                       ("group_loss_gap", "Group loss gap", 4))
#: Trade-off charts: (fairness on x, performance on y), drawn when every point has both.
_TRADEOFFS = (("demographic_parity_difference", "accuracy"), ("equalized_odds_difference", "accuracy"),
              ("favourable_ratio", "accuracy"),
              ("worst_group_loss", "mean_squared_error"), ("group_loss_gap", "mean_squared_error"))


@dataclass(frozen=True)
class MitigationTable:
    """The mitigation what-if's table: the columns its points have, and one row of numbers per point."""

    columns: tuple[tuple[str, str, int], ...]
    rows: tuple[tuple[Any, ...], ...]


def mitigation_table(mitigation: Mapping[str, Any]) -> MitigationTable:
    """The columns the points have (a classifier's accuracy and gaps, a regression's group losses)."""
    points = mitigation["points"]
    columns = tuple(c for c in _MITIGATION_COLUMNS if any(p.get(c[0]) is not None for p in points))
    return MitigationTable(columns=columns, rows=tuple(tuple(p.get(c[0]) for c in columns) for p in points))


def tradeoff_charts(mitigation: Mapping[str, Any]) -> tuple[tuple[tuple[str, str], ...], tuple[Scatter, ...]]:
    """The mitigation what-if: performance against each fairness measure, one point per method and tolerance.

    Returns the legend (method, colour) of the methods present and one scatter per measure the points have
    (none when there are no points: a task fairlearn has no mitigator for).
    """
    points = mitigation["points"]
    out = []
    for gap, perf in _TRADEOFFS:
        if not points or any(p.get(gap) is None or p.get(perf) is None for p in points):
            continue
        ys = [p[perf] for p in points]
        # A gap's axis starts at 0, where the groups are equal.
        xs = [p[gap] for p in points]
        out.append(_scatter(gap, gap.replace("_", " "), perf.replace("_", " "), xs, ys,
                            [_METHOD_COLOURS[p["method"]] for p in points], kind="tradeoff", y_field=perf,
                            x_from_zero=True))
    methods = {p["method"] for p in points}
    legend = tuple((name, colour) for name, colour in _METHOD_COLOURS.items() if name in methods)
    return legend, tuple(out)


# ------------------------------------------------------------------------------ champion vs challenger


def challenger_charts(section: Mapping[str, Any], *, limit: int = 40) -> tuple[IntervalChart, ...]:
    """Forest plots of the paired differences (challenger minus champion), one per judged metric (the
    margins' metrics, else the first two compared): overall, then every compared group; a dashed line at
    0 and the non-inferiority threshold as a solid line. Groups the champion is shown better in are drawn
    in the card's worse colour."""
    thresholds = section.get("thresholds") or {}
    names = [m for m in section["margin"] if m in section["overall"]] or list(section["overall"])[:2]
    charts = []
    for metric in names:
        items = [{"label": "overall", **section["overall"][metric]}]
        for grouping, groups in section["by_group"].items():
            for group, metrics in groups.items():
                d = metrics.get(metric)
                if d is not None and d["ci_low"] is not None:
                    items.append({"label": f"{grouping}: {group}", **d})
        items = items[:limit]
        rows = [{"label": it["label"], "value": it["difference"], "ci_low": it["ci_low"], "ci_high": it["ci_high"],
                 "worse": it["better"] == "champion", "muted": it["ci_low"] is None} for it in items]
        t = thresholds.get(metric)
        ends = [v for it in rows for v in (it["ci_low"], it["ci_high"], it["value"]) if isinstance(v, (int, float))]
        ends += [0.0] + ([t["value"]] if t else [])
        span = max(abs(min(ends)), abs(max(ends)), 1e-3) * 1.1
        charts.append(interval_chart(rows, -span, span, f"{metric}: {section['challenger']['name']} minus "
                                                        f"{section['champion']['name']}",
                                     f"{metric} difference (challenger − champion)", ref=0.0, ref_label="no difference",
                                     threshold=None if t is None else t["value"],
                                     threshold_label="" if t is None else f"margin ({t['metric']} {t['op']})",
                                     label_width=230, digits=4, worse_note="the champion shown better"))
    return tuple(charts)


def challenger_wins(section: Mapping[str, Any]) -> tuple[dict[str, Any], ...]:
    """Every group (and fairness measure) in which one model is shown better, the challenger's losses
    first, largest first: ``{where, metric, better, champion, challenger, difference, ci_low, ci_high}``."""
    out = []
    for grouping, groups in section["by_group"].items():
        for group, metrics in groups.items():
            for metric, d in metrics.items():
                if d["better"] is not None:
                    out.append({"where": f"{grouping}: {group}", "metric": metric, **d})
    for grouping, measures in section["fairness"].items():
        for metric, d in measures.items():
            if d["better"] is not None:
                out.append({"where": grouping, "metric": metric, **d})
    out.sort(key=lambda r: (r["better"] != "champion", -abs(r["difference"] or 0.0)))
    return tuple(out)


# ------------------------------------------------------------------------------------------- the card


@dataclass(frozen=True)
class CardView:
    """Everything the model card draws, laid out; ``None`` or empty where the document has nothing to draw."""

    heatmap: Heatmap
    intersections_heatmap: Heatmap | None
    group_charts: dict[str, tuple[IntervalChart, ...]]
    curves: tuple[CurvesPanel, ...]
    fairness_charts: tuple[IntervalChart, ...]
    importance: IntervalChart | None
    shap_summary: ShapSummary | None
    dependence: GroupsPanel | None
    tradeoff_legend: tuple[tuple[str, str], ...]
    tradeoffs: tuple[Scatter, ...]
    mitigation: MitigationTable | None = None
    challenger: tuple[IntervalChart, ...] = ()
    challenger_wins: tuple[dict[str, Any], ...] = ()
    config_rows: tuple[tuple[str, str], ...] = ()
    #: For each reference-share test with a pooled row, by attribute: (the row's name, the groups it pools).
    pooled: Mapping[str, tuple[str, tuple[str, ...]]] | None = None
    #: The document's facts with their findings, worst first: ``(fact, findings)`` pairs.
    facts: tuple[tuple[Mapping[str, Any], tuple[Mapping[str, Any], ...]], ...] = ()


def representation_pools(document: Mapping[str, Any]) -> dict[str, tuple[str, tuple[str, ...]]]:
    """The pooled row of each reference-share test: the row that is no group of the data, and the data's
    groups the test has no row for (those it pools; none when the reference leaves a share to groups
    absent from the data). A group of the data keeps its own row, whatever its name ("Other" included).

    Parameters
    ----------
    document : Mapping
        The findings document.

    Returns
    -------
    dict
        Attribute to (row name, pooled groups), for the tests that have such a row.
    """
    out = {}
    for t in document["bias"].get("representation_tests", []):
        present = document["bias"]["representation"].get(t["attribute"], {})
        rows = [g for g in t["groups"] if g not in present]
        if rows:
            out[t["attribute"]] = (rows[0], tuple(g for g in present if g not in t["groups"]))
    return out


def config_rows(config: Any, *, prefix: str = "") -> tuple[tuple[str, str], ...]:
    """Flatten the config as run into (dotted key, value) rows for a readable table.

    Parameters
    ----------
    config : Any
        The ``audit.config`` of the findings document (mappings, lists and scalars).
    prefix : str
        The dotted key of ``config`` within the whole config.

    Returns
    -------
    tuple of (str, str)
        One row per scalar leaf; a list of scalars is one row, its items joined by commas, so the
        table stays as short as the YAML a user wrote (the raw JSON dump took four printed pages).
    """
    if isinstance(config, Mapping):
        if not config:
            return ((prefix, "(empty)"),) if prefix else ()
        rows: tuple[tuple[str, str], ...] = ()
        for key, value in config.items():
            rows += config_rows(value, prefix=f"{prefix}.{key}" if prefix else str(key))
        return rows
    if isinstance(config, (list, tuple)):
        if all(not isinstance(v, (Mapping, list, tuple)) for v in config):
            return ((prefix, ", ".join(_config_scalar(v) for v in config) or "(none)"),)
        rows = ()
        for i, value in enumerate(config):
            rows += config_rows(value, prefix=f"{prefix}[{i}]")
        return rows
    return ((prefix, _config_scalar(config)),)


def _config_scalar(value: Any) -> str:
    # YAML spellings, as the user wrote them; None is "null" so it is not read as the text "None".
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def card_view(document: Mapping[str, Any]) -> CardView:
    """Lay out every chart of the model card from the findings document (a pure function of it)."""
    single, inter = heatmaps(document)
    x = document["explainability"]
    points = x.get("points") if x.get("status") == "done" else None
    legend, tradeoffs = tradeoff_charts(document["mitigation"]) if document.get("mitigation") else ((), ())
    return CardView(
        heatmap=single, intersections_heatmap=inter, group_charts=group_charts(document),
        curves=curves_panels(document), fairness_charts=fairness_charts(document),
        importance=importance_chart(document) if x.get("status") == "done" else None,
        shap_summary=shap_summary(points, int(document["audit"]["seed"])) if points else None,
        dependence=dependence_plots(points, document["data"]["sensitive"][0]) if points else None,
        tradeoff_legend=legend, tradeoffs=tradeoffs,
        mitigation=mitigation_table(document["mitigation"]) if document.get("mitigation") else None,
        challenger=challenger_charts(document["champion_challenger"]) if document.get("champion_challenger") else (),
        challenger_wins=challenger_wins(document["champion_challenger"]) if document.get("champion_challenger") else (),
        config_rows=config_rows(document["audit"].get("config") or {}), pooled=representation_pools(document),
        facts=fact_findings(document))


def fact_findings(document: Mapping[str, Any]) -> tuple[tuple[Mapping[str, Any], tuple[Mapping[str, Any], ...]], ...]:
    """Each fact of the document beside its findings, in the fact's order (worst value first).

    A document written before facts existed gets one fact per finding, so every card still lists them.
    """
    by_id = {f.get("id"): f for f in document["findings"]}
    if "facts" not in document:
        return tuple(({"status": f["status"], "severity": f["severity"], "check": f["check"], "count": 1,
                       "headline": f["message"], "excepted": "exception" in f}, (f,)) for f in document["findings"])
    return tuple((fact, tuple(by_id[i] for i in fact["findings"])) for fact in document["facts"])
