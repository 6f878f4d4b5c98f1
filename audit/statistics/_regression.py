"""Regression audits: error, prediction and calibration by group, from additive per-leaf sums.

Per leaf (combination of sensitive levels) the table holds ``n, Σe, Σ|e|, Σe², Σy, Σy², Σŷ`` with the
residual ``e = y - ŷ``, and per bin of the prediction ``n_b, Σe_b`` (bin edges are quantiles of all
predictions). MAE, RMSE, R², mean prediction, mean residual and the calibration error of every group
are functions of these sums, and the sums of a data set are the sums of its parts.

Intervals: Poisson(1) weights per *row* (rows of a leaf are not interchangeable here, unlike the count
cells of a classifier), one seeded stream, the per-leaf sums of each replicate computed as one sparse
product. Point estimates are exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._tasktable import TaskFairness, TaskMetric

__all__ = ["REGRESSION_METRICS", "REGRESSION_FAIRNESS", "DEFAULT_REGRESSION_METRICS", "RegressionTable",
           "regression_table", "CALIBRATION_BINS"]

#: Bins of the prediction for calibration by group (quantiles of all predictions).
CALIBRATION_BINS = 10
_BASE = ("n", "sum_error", "sum_abs_error", "sum_sq_error", "sum_y", "sum_y2", "sum_pred")


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


def _calibration_error(s: dict[str, np.ndarray]) -> np.ndarray:
    # Σ_b |Σe_b| / n: the rows-weighted mean absolute residual of the bins of the prediction.
    return _div(np.abs(s["bin_error"]).sum(axis=-1), s["n"])


REGRESSION_METRICS: dict[str, TaskMetric] = {m.name: m for m in (
    TaskMetric("mean_absolute_error", "lower", "Mean of |y - prediction|.",
               lambda s: _div(s["sum_abs_error"], s["n"])),
    TaskMetric("root_mean_squared_error", "lower", "Square root of the mean squared error.",
               lambda s: np.sqrt(_div(s["sum_sq_error"], s["n"]))),
    TaskMetric("mean_squared_error", "lower", "Mean of (y - prediction)².",
               lambda s: _div(s["sum_sq_error"], s["n"])),
    TaskMetric("r2_score", "higher", "Coefficient of determination within the group (1 - SSE/SST).", _r2),
    TaskMetric("mean_prediction", "none", "Mean predicted value.", lambda s: _div(s["sum_pred"], s["n"])),
    TaskMetric("mean_target", "none", "Mean true value.", lambda s: _div(s["sum_y"], s["n"])),
    TaskMetric("mean_residual", "none", "Mean of y - prediction: above 0 the model under-predicts the group.",
               lambda s: _div(s["sum_error"], s["n"])),
    TaskMetric("calibration_error", "lower",
               f"Rows-weighted mean |mean residual| over {CALIBRATION_BINS} bins of the prediction.",
               _calibration_error),
)}

DEFAULT_REGRESSION_METRICS = tuple(REGRESSION_METRICS)

REGRESSION_FAIRNESS: dict[str, TaskFairness] = {f.name: f for f in (
    TaskFairness("mean_absolute_error_difference", "difference", ("mean_absolute_error",),
                 "Largest gap in mean absolute error between groups."),
    TaskFairness("root_mean_squared_error_difference", "difference", ("root_mean_squared_error",),
                 "Largest gap in root mean squared error between groups."),
    TaskFairness("mean_prediction_difference", "difference", ("mean_prediction",),
                 "Largest gap in mean prediction between groups (the analogue of demographic parity)."),
    TaskFairness("mean_residual_difference", "difference", ("mean_residual",),
                 "Largest gap in mean residual between groups: one group under-predicted relative to another."),
    TaskFairness("calibration_error_difference", "difference", ("calibration_error",),
                 "Largest gap in calibration error between groups."),
    TaskFairness("bounded_group_loss", "max", ("mean_squared_error",),
                 "Largest mean squared error of any group (bounded group loss: lower is better)."),
)}


@dataclass(frozen=True)
class RegressionTable:
    """Per-leaf sums ``(leaves, 7 + 2 x bins)`` and the bin edges of the prediction."""

    sums: np.ndarray
    edges: np.ndarray

    @property
    def n_bins(self) -> int:
        return len(self.edges) - 1


def _bin_of(pred: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.clip(np.searchsorted(edges, pred, side="right") - 1, 0, len(edges) - 2)


def row_values(y: np.ndarray, pred: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The per-row addends of every column of the table (rows x columns)."""
    e = y - pred
    bins = len(edges) - 1
    b = _bin_of(pred, edges)
    base = np.column_stack([np.ones_like(y), e, np.abs(e), e * e, y, y * y, pred])
    per_bin = np.zeros((len(y), 2 * bins))
    per_bin[np.arange(len(y)), b] = 1.0
    per_bin[np.arange(len(y)), bins + b] = e
    return np.hstack([base, per_bin])


def regression_table(*, leaf: np.ndarray, y: np.ndarray, pred: np.ndarray, n_leaves: int) -> RegressionTable:
    """Exact per-leaf sums of the evaluation rows.

    Examples
    --------
    >>> t = regression_table(leaf=np.array([0, 0, 1]), y=np.array([1.0, 2.0, 3.0]),
    ...                      pred=np.array([1.5, 2.0, 2.0]), n_leaves=2)
    >>> t.sums[:, :4].tolist()  # n, Σe, Σ|e|, Σe²
    [[2.0, -0.5, 0.5, 0.25], [1.0, 1.0, 1.0, 1.0]]
    """
    edges = np.unique(np.quantile(pred, np.linspace(0, 1, CALIBRATION_BINS + 1)))
    if len(edges) < 2:
        edges = np.array([pred.min(), pred.min() + 1.0])
    values = row_values(y, pred, edges)
    sums = np.zeros((n_leaves, values.shape[1]))
    np.add.at(sums, leaf, values)
    return RegressionTable(sums=sums, edges=edges)


def unpacker(n_bins: int):
    """Named sums of an array ``(..., groups, columns)`` of a regression table."""
    def unpack(a: np.ndarray) -> dict[str, np.ndarray]:
        named = {name: a[..., i] for i, name in enumerate(_BASE)}
        named["bin_n"] = a[..., len(_BASE):len(_BASE) + n_bins]
        named["bin_error"] = a[..., len(_BASE) + n_bins:len(_BASE) + 2 * n_bins]
        return named
    return unpack


def calibration_by_group(table: RegressionTable, groups) -> dict:
    """Mean residual per bin of the prediction, overall and for every group (point values, with counts)."""
    unpack = unpacker(table.n_bins)

    def one(sums: np.ndarray) -> dict:
        s = unpack(sums)
        return {"n": [int(round(x)) for x in s["bin_n"]],
                "mean_residual": [float(e / n) if n > 0 else None for e, n in zip(s["bin_error"], s["bin_n"])]}

    out = {"edges": [float(x) for x in table.edges], "overall": one(table.sums.sum(axis=0)), "by_group": {}}
    for g in groups.groupings:
        hot = np.zeros((len(g.groups), len(g.leaf_group)))
        hot[g.leaf_group, np.arange(len(g.leaf_group))] = 1.0
        sums = hot @ table.sums
        out["by_group"][g.name] = {name: one(sums[i]) for i, name in enumerate(g.groups)}
    return out
