"""Regression audits: error, prediction and calibration by group, from additive per-leaf sums.

Per leaf (combination of sensitive levels) the table holds ``n, Σe, Σ|e|, Σe², Σy, Σy², Σŷ, Σŷ², Σyŷ``
with the residual ``e = y - ŷ``. MAE, RMSE, R², mean prediction, mean target, mean residual and the
calibration slope (least squares of y on ŷ) of every group are functions of these sums, and the sums
of a data set are the sums of its parts: batches and dask partitions give the same table, with no
data-dependent bin edges to agree on first.

Intervals: Poisson(1) weights per *row* (rows of a leaf are not interchangeable here, unlike the count
cells of a classifier), drawn in the pass (see :mod:`._tasks`). Point estimates are exact.
"""

from __future__ import annotations

import numpy as np

from ._metrics import FairnessSpec, MetricSpec, Registry

__all__ = ["REGRESSION", "REGRESSION_METRICS", "REGRESSION_FAIRNESS", "DEFAULT_REGRESSION_METRICS", "COLUMNS",
           "regression_row_values", "unpacker", "calibration_bins", "CALIBRATION_BINS"]

#: Bins of the prediction of the calibration table by group (quantiles of the sample's predictions).
CALIBRATION_BINS = 10
#: The columns of the additive table.
COLUMNS = ("n", "sum_error", "sum_abs_error", "sum_sq_error", "sum_y", "sum_y2", "sum_pred", "sum_pred2",
           "sum_y_pred")


def _div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _r2(s: dict[str, np.ndarray]) -> np.ndarray:
    # R² = 1 - SSE / SST with SST = Σy² - (Σy)²/n; undefined when the group's target is constant.
    sst = s["sum_y2"] - _div(s["sum_y"] ** 2, s["n"])
    scale = np.maximum(np.abs(s["sum_y2"]), 1.0)
    ok = sst > 1e-12 * scale
    out = np.full(sst.shape, np.nan)
    np.divide(s["sum_sq_error"], sst, out=out, where=ok)
    return np.where(ok, 1.0 - out, np.nan)


def _slope(s: dict[str, np.ndarray]) -> np.ndarray:
    # Cov(y, ŷ) / Var(ŷ) from the sums; undefined when the group's predictions are constant.
    sxx = s["sum_pred2"] - _div(s["sum_pred"] ** 2, s["n"])
    sxy = s["sum_y_pred"] - _div(s["sum_pred"] * s["sum_y"], s["n"])
    ok = sxx > 1e-12 * np.maximum(np.abs(s["sum_pred2"]), 1.0)
    out = np.full(sxx.shape, np.nan)
    np.divide(sxy, sxx, out=out, where=ok)
    return np.where(ok, out, np.nan)


def _rows(s: dict[str, np.ndarray]) -> np.ndarray:
    return s["n"]


def _metric(name: str, direction: str, description: str, compute, *, lower: float, upper: float,
            reason: str = "empty group") -> MetricSpec:
    return MetricSpec(name, direction, compute, reason, description, _rows, "rows", None, upper, lower)


_INF = np.inf
REGRESSION_METRICS: dict[str, MetricSpec] = {m.name: m for m in (
    _metric("mean_absolute_error", "lower", "Mean of |y - prediction|.",
            lambda s: _div(s["sum_abs_error"], s["n"]), lower=0.0, upper=_INF),
    _metric("root_mean_squared_error", "lower", "Square root of the mean squared error.",
            lambda s: np.sqrt(_div(s["sum_sq_error"], s["n"])), lower=0.0, upper=_INF),
    _metric("mean_squared_error", "lower", "Mean of (y - prediction)².",
            lambda s: _div(s["sum_sq_error"], s["n"]), lower=0.0, upper=_INF),
    _metric("r2_score", "higher", "Coefficient of determination within the group (1 - SSE/SST).", _r2,
            lower=-_INF, upper=1.0, reason="the group's target is constant"),
    _metric("mean_prediction", "none", "Mean predicted value.", lambda s: _div(s["sum_pred"], s["n"]),
            lower=-_INF, upper=_INF),
    _metric("mean_target", "none", "Mean true value.", lambda s: _div(s["sum_y"], s["n"]), lower=-_INF, upper=_INF),
    _metric("mean_residual", "none", "Mean of y - prediction: above 0 the model under-predicts the group.",
            lambda s: _div(s["sum_error"], s["n"]), lower=-_INF, upper=_INF),
    _metric("calibration_slope", "none",
            "Slope of the least-squares line of the target on the prediction within the group: 1 is calibrated, "
            "below 1 the predictions spread wider than the targets do.", _slope, lower=-_INF, upper=_INF,
            reason="the group's predictions are constant"),
)}

DEFAULT_REGRESSION_METRICS = tuple(REGRESSION_METRICS)

REGRESSION_FAIRNESS: dict[str, FairnessSpec] = {f.name: f for f in (
    FairnessSpec("mean_absolute_error_difference", "difference", ("mean_absolute_error",),
                 "Largest gap in mean absolute error between groups."),
    FairnessSpec("root_mean_squared_error_difference", "difference", ("root_mean_squared_error",),
                 "Largest gap in root mean squared error between groups."),
    FairnessSpec("mean_prediction_difference", "difference", ("mean_prediction",),
                 "Largest gap in mean prediction between groups (the analogue of demographic parity)."),
    FairnessSpec("mean_residual_difference", "difference", ("mean_residual",),
                 "Largest gap in mean residual between groups: one group under-predicted relative to another."),
    FairnessSpec("calibration_slope_difference", "difference", ("calibration_slope",),
                 "Largest gap in calibration slope between groups: the prediction means more for one group."),
    FairnessSpec("bounded_group_loss", "max", ("mean_squared_error",),
                 "Largest mean squared error of any group (bounded group loss: lower is better)."),
)}

REGRESSION = Registry(task="regression", metrics=REGRESSION_METRICS, fairness=REGRESSION_FAIRNESS,
                      performance_defaults=DEFAULT_REGRESSION_METRICS, fairness_defaults=tuple(REGRESSION_FAIRNESS),
                      outcome=REGRESSION_METRICS["mean_target"])


def regression_row_values(y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """The per-row addends of every column of the table (rows x columns).

    Examples
    --------
    >>> regression_row_values(np.array([1.0, 3.0]), np.array([1.5, 2.0]))[:, :4].tolist()  # n, e, |e|, e²
    [[1.0, -0.5, 0.5, 0.25], [1.0, 1.0, 1.0, 1.0]]
    """
    e = y - pred
    return np.column_stack([np.ones_like(y), e, np.abs(e), e * e, y, y * y, pred, pred * pred, y * pred])


def unpacker():
    """Named sums of an array ``(..., groups, columns)`` of a regression table."""
    def unpack(a: np.ndarray) -> dict[str, np.ndarray]:
        return {name: a[..., i] for i, name in enumerate(COLUMNS)}
    return unpack


def calibration_bins(*, y: np.ndarray, pred: np.ndarray, group_of_row: dict[str, dict[str, np.ndarray]]) -> dict:
    """Mean residual per bin of the prediction (deciles of ``pred``), overall and for every group.

    ``group_of_row[grouping][group]`` is the boolean mask of that group's rows. Point values with counts: a
    descriptive table for the card (the calibration slope is the judged number).
    """
    edges = np.unique(np.quantile(pred, np.linspace(0, 1, CALIBRATION_BINS + 1))) if len(pred) else np.array([0.0, 1.0])
    if len(edges) < 2:
        edges = np.array([edges[0], edges[0] + 1.0])
    b = np.clip(np.searchsorted(edges, pred, side="right") - 1, 0, len(edges) - 2)
    e = y - pred

    def one(mask: np.ndarray) -> dict:
        n = np.bincount(b[mask], minlength=len(edges) - 1)
        total = np.bincount(b[mask], weights=e[mask], minlength=len(edges) - 1)
        return {"n": [int(x) for x in n], "mean_residual": [float(t / c) if c > 0 else None for t, c in zip(total, n)]}

    return {"edges": [float(x) for x in edges], "overall": one(np.ones(len(pred), dtype=bool)),
            "by_group": {g: {name: one(mask) for name, mask in masks.items()} for g, masks in group_of_row.items()}}
