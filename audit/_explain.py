"""Explainability, first cut: global and per-group mean |SHAP| in the original columns.

Tree ensembles get SHAP's TreeExplainer, linear models its LinearExplainer;
any other model gets scikit-learn's permutation importance.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._evaluate import interval
from ._groups import GroupIndex
from ._model import FittedModel, _categoricals_as_text

__all__ = ["FeatureImportance", "Explanation", "explain", "fold_columns"]

# Model classes SHAP's TreeExplainer handles (scikit-learn ensembles and trees, LightGBM, XGBoost, CatBoost).
_TREE_NAMES = ("Forest", "Tree", "GradientBoosting", "LGBM", "XGB", "CatBoost")


@dataclass(frozen=True)
class FeatureImportance:
    feature: str
    value: float
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class Explanation:
    """Importance of each original column, overall and per group of each attribute.

    ``by_group[attribute][group][feature]`` is the group's mean |SHAP|.
    """

    method: str
    measure: str
    sample_size: int
    importances: tuple[FeatureImportance, ...]
    by_group: dict[str, dict[str, dict[str, float]]]
    seconds: float
    note: str


def fold_columns(output_names: list[str], features: tuple[str, ...]) -> np.ndarray:
    """Index of the source feature of each transformed column.

    One-hot columns are named ``"<feature>_<value>"``; numeric ones keep the
    feature's name. The longest matching feature name wins.

    Examples
    --------
    >>> fold_columns(["age", "sex_F", "sex_M"], ("sex", "age")).tolist()
    [1, 0, 0]
    """
    by_length = sorted(range(len(features)), key=lambda i: -len(features[i]))
    out = np.empty(len(output_names), dtype=np.int64)
    for j, name in enumerate(output_names):
        out[j] = next((i for i in by_length if name == features[i] or name.startswith(features[i] + "_")), -1)
        if out[j] < 0:
            raise ValueError(f"transformed column {name!r} has no source feature")
    return out


def _kind(estimator: object) -> str:
    name = type(estimator).__name__
    if any(part in name for part in _TREE_NAMES):
        return "tree"
    return "linear" if hasattr(estimator, "coef_") else "permutation"


def _split(model: FittedModel) -> tuple[object | None, object]:
    steps = getattr(model.estimator, "steps", None)
    if steps and len(steps) > 1:
        from sklearn.pipeline import Pipeline

        return Pipeline(steps[:-1]), steps[-1][1]
    return None, model.estimator


def _shap_values(final: object, Xt: np.ndarray, kind: str, positive_column: int, seed: int) -> np.ndarray:
    import shap

    if kind == "tree":
        values = shap.TreeExplainer(final).shap_values(Xt, check_additivity=False)
    else:
        background = Xt[np.random.default_rng(seed).choice(len(Xt), size=min(len(Xt), 200), replace=False)]
        values = shap.LinearExplainer(final, shap.maskers.Independent(background)).shap_values(Xt)
    values = np.asarray(values[positive_column] if isinstance(values, list) else values)
    if values.ndim == 3:
        values = values[:, :, positive_column]
    return values


def explain(model: FittedModel, frame: pd.DataFrame, y: np.ndarray, groups: GroupIndex, *, method: str,
            sample: int, seed: int, replicates: int, level: float) -> Explanation:
    """Mean |SHAP| (or permutation importance) per original column, with bootstrap intervals.

    Parameters
    ----------
    model : FittedModel
        The audited model.
    frame : DataFrame
        Evaluation rows.
    y : ndarray
        0/1 labels of the rows (permutation importance scores against them).
    groups : GroupIndex
        Sensitive groups, for importance per group.
    method : {"auto", "tree", "linear", "permutation"}
        Explainer; ``auto`` picks from the fitted model.
    sample : int
        Rows explained at most (a seeded random sample).
    seed : int
        Seed of the sample and the intervals.
    replicates, level : int, float
        Bootstrap of the mean over the explained rows.
    """
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(frame), size=min(sample, len(frame)), replace=False))
    X = _categoricals_as_text(frame.iloc[rows], model.features)
    pre, final = _split(model)
    kind = _kind(final) if method == "auto" else method
    features = model.features
    if kind in ("tree", "linear"):
        Xt = pre.transform(X) if pre is not None else X.to_numpy(dtype=float)
        names = list(pre.get_feature_names_out()) if pre is not None else list(features)
        values = _shap_values(final, np.asarray(Xt, dtype=float), kind, model.positive_column, seed)
        source = fold_columns(names, features)
        folded = np.zeros((values.shape[0], len(features)))
        np.add.at(folded.T, source, values.T)  # SHAP values are additive: a column's is the sum of its parts
        per_row = np.abs(folded)
        measure = "mean |SHAP| (log-odds)" if kind == "tree" else "mean |SHAP|"
        mean = per_row.mean(axis=0)
        boot = np.stack([per_row[rng.integers(0, len(per_row), len(per_row))].mean(axis=0)
                         for _ in range(replicates)]) if replicates else np.empty((0, len(features)))
        intervals = [interval(boot[:, j], level) for j in range(len(features))]
        labels = groups.labels.iloc[rows]
        by_group = {attr: {str(g): dict(zip(features, per_row[(labels[attr] == g).to_numpy()].mean(axis=0).tolist()))
                           for g in pd.unique(labels[attr])} for attr in groups.attributes}
        note = f"SHAP {'TreeExplainer' if kind == 'tree' else 'LinearExplainer'} on {len(rows)} sampled rows."
    else:
        from sklearn.inspection import permutation_importance

        result = permutation_importance(model.estimator, X, y[rows], scoring="roc_auc", n_repeats=5,
                                        random_state=seed)
        mean = result.importances_mean
        spread = result.importances_std
        intervals = [(float(m - 2 * s), float(m + 2 * s)) for m, s in zip(mean, spread)]
        by_group = {}
        measure = "drop in ROC AUC when permuted"
        note = f"Permutation importance (5 repeats) on {len(rows)} sampled rows; interval is mean ± 2 sd."
        kind = "permutation"
    order = np.argsort(-np.asarray(mean), kind="stable")
    importances = tuple(FeatureImportance(feature=features[j], value=float(mean[j]), ci_low=intervals[j][0],
                                          ci_high=intervals[j][1]) for j in order)
    return Explanation(method=kind, measure=measure, sample_size=len(rows), importances=importances,
                       by_group=by_group, seconds=time.perf_counter() - start, note=note)
