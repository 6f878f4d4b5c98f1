"""How well each feature alone predicts the target, on the evaluation rows: the evidence of a leak.

A feature recorded after the outcome, or a recoding of the target, predicts it almost perfectly by itself.
Per task, one association on a 0 (none) to 1 (perfect) scale: the ROC AUC of the feature alone (binary,
folded so that 1 and 0 both mean perfect), Cramér's V (multiclass), R² (regression, the squared correlation
of a number, the share of variance between a category's values). Categories with fewer than
``min_category_rows`` rows are pooled into one, so an identifier (a category per row) predicts nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..inputs._data import is_numeric_feature

__all__ = ["FeatureAssociation", "LEAKAGE_METRICS", "feature_associations"]

#: The association each task measures.
LEAKAGE_METRICS = {"binary": "single_feature_roc_auc", "multiclass": "single_feature_cramers_v",
                   "regression": "single_feature_r2"}
_RARE = "\x00rare"


@dataclass(frozen=True)
class FeatureAssociation:
    """One feature's association with the target, on ``rows`` evaluation rows."""

    feature: str
    metric: str
    value: float
    rows: int


def _categories(column: pd.Series, min_rows: int) -> pd.Series:
    text = column.astype(object).where(column.notna(), "<missing>").map(str)
    counts = text.value_counts()
    return text.where(text.map(counts) >= min_rows, _RARE)


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    auc = float(roc_auc_score(y, score))
    return max(auc, 1.0 - auc)


def _cramers_v(a: pd.Series, b: np.ndarray) -> float:
    from scipy.stats import chi2_contingency

    table = pd.crosstab(a.to_numpy(), b).to_numpy()
    if min(table.shape) < 2:
        return 0.0
    chi2 = chi2_contingency(table, correction=False)[0]
    return float(np.sqrt(chi2 / (table.sum() * (min(table.shape) - 1))))


def _association(column: pd.Series, y: np.ndarray, task: str, min_rows: int) -> float:
    numeric = is_numeric_feature(column)
    if task == "binary":
        if numeric:
            values = column.to_numpy(dtype=float)
            # Missing values rank below every number: their rows are one tie, as a split would put them.
            score = np.where(np.isnan(values), np.nanmin(values) - 1 if np.isfinite(values).any() else 0, values)
        else:
            cats = _categories(column, min_rows)
            score = cats.map(pd.Series(y, index=cats.index).groupby(cats).mean()).to_numpy(dtype=float)
        return _auc(y, score)
    if task == "multiclass":
        if numeric:
            cats = pd.qcut(column.rank(method="first"), q=min(10, max(2, len(column) // min_rows)),
                           labels=False).astype(object).where(column.notna(), "<missing>").map(str)
        else:
            cats = _categories(column, min_rows)
        return _cramers_v(cats, np.asarray(y).astype(str))
    target = np.asarray(y, dtype=float)
    if numeric:
        values = column.to_numpy(dtype=float)
        keep = ~np.isnan(values)
        if keep.sum() < 3 or np.std(values[keep]) == 0 or np.std(target[keep]) == 0:
            return 0.0
        return float(np.corrcoef(values[keep], target[keep])[0, 1] ** 2)
    cats = _categories(column, min_rows)
    means = pd.Series(target, index=cats.index).groupby(cats).transform("mean").to_numpy()
    total = float(((target - target.mean()) ** 2).sum())
    return 0.0 if total == 0 else float(1.0 - ((target - means) ** 2).sum() / total)


def feature_associations(frame: pd.DataFrame, y: np.ndarray, *, features: tuple[str, ...], task: str,
                         min_category_rows: int) -> tuple[FeatureAssociation, ...]:
    """Each feature's association with the target on the rows of ``frame``, strongest first.

    Examples
    --------
    >>> frame = pd.DataFrame({"twin": [0, 0, 1, 1] * 25, "noise": [1, 3, 2, 4] * 25})
    >>> [(a.feature, round(a.value, 2)) for a in feature_associations(
    ...     frame, np.array([0, 0, 1, 1] * 25), features=("twin", "noise"), task="binary", min_category_rows=5)]
    [('twin', 1.0), ('noise', 0.75)]
    """
    y = np.asarray(y)
    out = [FeatureAssociation(feature=f, metric=LEAKAGE_METRICS[task],
                              value=_association(frame[f], y, task, min_category_rows), rows=len(frame))
           for f in features]
    return tuple(sorted(out, key=lambda a: -a.value))
