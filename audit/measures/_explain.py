"""Explainability by subgroup: SHAP in the space of the original columns.

Tree ensembles get SHAP's TreeExplainer, linear models its LinearExplainer,
any other model SHAP's model-agnostic permutation explainer within a time
budget. One-hot columns fold back into their source column (SHAP values are
additive). Importance overall and per group, the features whose importance
differs most between groups, and a counterfactual flip test of each
sensitive attribute.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ..inputs._data import is_numeric_feature
from ..statistics._evaluate import interval
from ..inputs._groups import GroupIndex
from ..inputs._model import FittedModel, _categoricals_as_text

__all__ = ["FeatureImportance", "ImportanceGap", "FlipResult", "Explanation", "explain", "fold_columns",
           "stratified_rows", "flip_test"]

# Model classes SHAP's TreeExplainer handles (scikit-learn ensembles and trees, LightGBM, XGBoost, CatBoost).
_TREE_NAMES = ("Forest", "Tree", "GradientBoosting", "LGBM", "XGB", "CatBoost")


@dataclass(frozen=True)
class FeatureImportance:
    feature: str
    value: float
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class ImportanceGap:
    """A feature whose importance differs between the groups of an attribute: (highest, lowest) group."""

    feature: str
    attribute: str
    groups: tuple[str, str]
    difference: float
    ci_low: float | None
    ci_high: float | None
    ratio: float


@dataclass(frozen=True)
class FlipResult:
    """Counterfactual flip test of one sensitive attribute: its value changed, nothing else.

    ``flip_rate[group]`` is the share of (row, other value) pairs whose
    predicted label changed, for rows of that group; ``mean_shift[group]`` the
    mean absolute change of the score.
    """

    attribute: str
    used_by_model: bool
    rows: int
    flip_rate: dict[str, float]
    mean_shift: dict[str, float]
    overall_flip_rate: float
    overall_mean_shift: float


@dataclass(frozen=True)
class Explanation:
    """Importance of each original column, overall and per group of each attribute.

    ``by_group[attribute][group][feature]`` is the group's mean |SHAP|.
    """

    method: str
    measure: str
    sample_size: int
    requested_rows: int
    importances: tuple[FeatureImportance, ...]
    by_group: dict[str, dict[str, dict[str, float]]]
    group_sizes: dict[str, dict[str, int]]
    gaps: tuple[ImportanceGap, ...]
    flips: tuple[FlipResult, ...]
    seconds: float
    note: str
    points: dict[str, dict[str, list]]


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
        with warnings.catch_warnings():
            # SHAP announces a change of its LightGBM output format; the handling below covers both formats.
            warnings.filterwarnings("ignore", message="LightGBM binary classifier with TreeExplainer")
            values = shap.TreeExplainer(final).shap_values(Xt, check_additivity=False)
    else:
        background = Xt[np.random.default_rng(seed).choice(len(Xt), size=min(len(Xt), 200), replace=False)]
        values = shap.LinearExplainer(final, shap.maskers.Independent(background)).shap_values(Xt)
    values = np.asarray(values[positive_column] if isinstance(values, list) else values)
    if values.ndim == 3:
        values = values[:, :, positive_column]
    return values


_CHART_FEATURES = 6
_CHART_POINTS = 300


def _chart_points(folded: np.ndarray, X: pd.DataFrame, labels: pd.DataFrame, top: list[str],
                  features: tuple[str, ...], *, seed: int) -> dict[str, dict[str, list]]:
    """Up to 300 seeded points per top feature for the summary and dependence charts.

    ``shap`` is the row's SHAP value, ``value`` the feature's value (numbers
    for numeric features, text otherwise), ``rank`` the value's quantile in
    [0, 1] (colour of the summary chart), ``group`` the row's group of the
    first sensitive attribute, ``jitter`` a fixed vertical offset in [-1, 1].
    """
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.permutation(len(folded))[:_CHART_POINTS])
    jitter = rng.uniform(-1, 1, len(keep))
    group = labels.iloc[keep, 0].astype(str).tolist() if labels.shape[1] else [""] * len(keep)
    out = {}
    for feature in top:
        column = X[feature].iloc[keep]
        numeric = is_numeric_feature(column)
        values = column.to_numpy(dtype=float) if numeric else column.astype(str).to_numpy()
        ranks = (pd.Series(values).rank(pct=True).fillna(0.5).to_numpy() if numeric
                 else pd.Series(values).map(pd.Series(values).value_counts(normalize=True)).fillna(0.5).to_numpy())
        shap_values = folded[keep, features.index(feature)]
        finite = values[~np.isnan(values)] if numeric else np.zeros(1)
        out[feature] = {"numeric": bool(numeric),
                        "shap_min": float(shap_values.min()), "shap_max": float(shap_values.max()),
                        "value_min": float(finite.min()) if numeric and len(finite) else None,
                        "value_max": float(finite.max()) if numeric and len(finite) else None,
                        "groups": sorted(set(group)),
                        "shap": [float(v) for v in shap_values],
                        "value": [None if numeric and np.isnan(v) else (float(v) if numeric else str(v)) for v in values],
                        "rank": [float(r) for r in ranks], "group": group, "jitter": [float(j) for j in jitter]}
    return out


def stratified_rows(leaf: np.ndarray, size: int, *, seed: int) -> np.ndarray:
    """A seeded sample of ``size`` row indices in which every leaf (group combination) is represented.

    Each leaf first gets up to ``size // (2 * leaves)`` rows (at least 1); the
    rest of the sample is drawn uniformly from the remaining rows.

    Examples
    --------
    >>> leaf = np.r_[np.zeros(990, int), np.ones(10, int)]
    >>> rows = stratified_rows(leaf, 100, seed=0)
    >>> len(rows), int((leaf[rows] == 1).sum()) >= 10
    (100, True)
    """
    n = len(leaf)
    if size >= n:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    leaves = np.unique(leaf)
    floor = max(1, size // (2 * len(leaves)))
    chosen = []
    for value in leaves:
        members = np.flatnonzero(leaf == value)
        chosen.append(rng.choice(members, size=min(floor, len(members)), replace=False))
    first = np.concatenate(chosen)[:size]
    rest = np.setdiff1d(np.arange(n), first)
    extra = rng.choice(rest, size=size - len(first), replace=False)
    return np.sort(np.concatenate([first, extra]))


def _agnostic_values(final: object, Xt: np.ndarray, positive_column: int, *, seed: int,
                     deadline: float, progress: Callable[[int, int], None]) -> np.ndarray:
    """SHAP's permutation explainer, chunk by chunk until the time budget runs out."""
    import shap

    rng = np.random.default_rng(seed)
    background = Xt[rng.choice(len(Xt), size=min(len(Xt), 20), replace=False)]
    if hasattr(final, "predict_proba"):
        def f(X: np.ndarray) -> np.ndarray:
            return final.predict_proba(X)[:, positive_column]
    else:
        def f(X: np.ndarray) -> np.ndarray:
            return final.decision_function(X)
    explainer = shap.PermutationExplainer(f, shap.maskers.Independent(background, max_samples=20), seed=seed)
    out: list[np.ndarray] = []
    done = 0
    for chunk in np.array_split(np.arange(len(Xt)), max(1, int(np.ceil(len(Xt) / 25)))):
        out.append(explainer(Xt[chunk], max_evals=2 * Xt.shape[1] + 1, silent=True).values)
        done += len(chunk)
        progress(done, len(Xt))
        if time.perf_counter() > deadline:
            break
    return np.vstack(out)


def _importance_gaps(per_row: np.ndarray, labels: pd.DataFrame, features: tuple[str, ...], *, min_rows: int,
                     replicates: int, level: float, seed: int) -> tuple[ImportanceGap, ...]:
    """Largest between-group difference of mean |SHAP| per feature and attribute, with paired intervals."""
    rng = np.random.default_rng(seed)
    weights = rng.poisson(1.0, size=(replicates, len(per_row))) if replicates else np.zeros((0, len(per_row)))
    out = []
    for attribute in labels.columns:
        names = labels[attribute].astype(str).to_numpy()
        levels, counts = np.unique(names, return_counts=True)
        levels = levels[counts >= min_rows]
        if len(levels) < 2:
            continue
        masks = np.stack([names == g for g in levels])  # (groups, rows)
        means = (masks @ per_row) / masks.sum(axis=1, keepdims=True)  # (groups, features)
        w = weights[:, None, :] * masks[None, :, :]  # (replicates, groups, rows)
        boot = np.einsum("rgn,nf->rgf", w, per_row) / np.maximum(w.sum(axis=2, keepdims=True), 1)
        for j, feature in enumerate(features):
            hi, lo = int(np.argmax(means[:, j])), int(np.argmin(means[:, j]))
            diff = float(means[hi, j] - means[lo, j])
            low, high = interval(boot[:, hi, j] - boot[:, lo, j], level) if replicates else (None, None)
            out.append(ImportanceGap(feature=feature, attribute=attribute, groups=(str(levels[hi]), str(levels[lo])),
                                     difference=diff, ci_low=low, ci_high=high,
                                     ratio=float(means[lo, j] / means[hi, j]) if means[hi, j] > 0 else 1.0))
    return tuple(sorted(out, key=lambda g: -g.difference))


def flip_test(model: FittedModel, frame: pd.DataFrame, labels: pd.DataFrame, *, attributes: tuple[str, ...],
              bins: dict[str, list[float]], max_rows: int, seed: int) -> tuple[FlipResult, ...]:
    """Change only the sensitive attribute of each row, to each other value, and count changed predictions.

    Binned attributes are set to the median value of each other band. A model
    that does not read the attribute gives exactly zero: nothing else changes.
    """
    from ..inputs._groups import band_labels
    from ..inputs._model import predict

    rows = np.sort(np.random.default_rng(seed).permutation(len(frame))[:max_rows])
    base = frame.iloc[rows].reset_index(drop=True)
    base_labels = labels.iloc[rows].reset_index(drop=True)
    original = predict(model, base)
    out = []
    for attribute in attributes:
        column = base[attribute]
        group = base_labels[attribute].astype(str).to_numpy()
        if attribute in bins:
            values = column.to_numpy(dtype=float, na_value=np.nan)
            candidates = [float(np.nanmedian(values[group == band])) for band in band_labels(bins[attribute])
                          if (group == band).any()]
        else:
            candidates = list(pd.unique(column.dropna()))
        flips = np.zeros(len(base))
        shifts = np.zeros(len(base))
        tries = np.zeros(len(base))
        for value in candidates:
            changed = base.copy()
            changed[attribute] = value
            if attribute in bins:
                other = ~np.isclose(column.to_numpy(dtype=float, na_value=np.nan), value)
            else:
                other = (column != value).to_numpy(dtype=bool)
            pred = predict(model, changed)
            flips += other * (pred.label != original.label)
            shifts += other * np.abs(pred.score - original.score)
            tries += other
        tries = np.maximum(tries, 1)
        per_row_flip, per_row_shift = flips / tries, shifts / tries
        out.append(FlipResult(
            attribute=attribute, used_by_model=attribute in model.features, rows=len(base),
            flip_rate={g: float(per_row_flip[group == g].mean()) for g in pd.unique(group)},
            mean_shift={g: float(per_row_shift[group == g].mean()) for g in pd.unique(group)},
            overall_flip_rate=float(per_row_flip.mean()), overall_mean_shift=float(per_row_shift.mean())))
    return tuple(out)


def explain(model: FittedModel, frame: pd.DataFrame, y: np.ndarray, groups: GroupIndex, *, method: str,
            sample: int, seed: int, replicates: int, level: float, max_seconds: float = 60.0,
            min_group_size: int = 30, bins: dict[str, list[float]] | None = None, flip_test_rows: int = 1000,
            progress: Callable[[int, int], None] | None = None) -> Explanation:
    """SHAP values in the space of the original columns: importance overall and by group, flip test.

    Parameters
    ----------
    model : FittedModel
        The audited model.
    frame : DataFrame
        Evaluation rows (or a sample of them).
    y : ndarray
        0/1 labels of the rows.
    groups : GroupIndex
        Sensitive groups; ``groups.labels`` and ``groups.row_leaf`` align with ``frame``.
    method : {"auto", "tree", "linear", "permutation"}
        Explainer; ``auto`` picks TreeExplainer for tree ensembles, LinearExplainer for linear models and
        SHAP's model-agnostic permutation explainer otherwise.
    sample : int
        Rows explained at most: a seeded sample stratified by group combination.
    seed : int
        Seed of the sample and the intervals.
    replicates, level : int, float
        Bootstrap of the mean over the explained rows.
    max_seconds : float
        Time budget; the model-agnostic explainer stops at the first chunk past it.
    min_group_size : int
        Groups with fewer explained rows get no importance comparison.
    bins : dict
        Band edges of binned sensitive attributes (for the flip test).
    flip_test_rows : int
        Rows of the counterfactual flip test (0 to skip it).
    progress : callable, optional
        ``progress(done, total)`` while the model-agnostic explainer runs.
    """
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    rows = stratified_rows(groups.row_leaf, min(sample, len(frame)), seed=seed)
    X = _categoricals_as_text(frame.iloc[rows], model.features)
    pre, final = _split(model)
    kind = _kind(final) if method == "auto" else method
    features = model.features
    Xt = np.asarray(pre.transform(X) if pre is not None else X.to_numpy(dtype=float), dtype=float)
    names = list(pre.get_feature_names_out()) if pre is not None else list(features)
    if kind in ("tree", "linear"):
        values = _shap_values(final, Xt, kind, model.positive_column, seed)
        explainer = "TreeExplainer" if kind == "tree" else "LinearExplainer"
    else:
        # Many small predictions: OpenMP thread start-up and spinning would cost more than they save.
        with threadpool_limits(limits=1, user_api="openmp"):
            values = _agnostic_values(final, Xt, model.positive_column, seed=seed, deadline=start + max_seconds,
                                      progress=progress or (lambda done, total: None))
        explainer = "PermutationExplainer (model-agnostic)"
    explained = len(values)
    rows = rows[:explained]
    source = fold_columns(names, features)
    folded = np.zeros((explained, len(features)))
    np.add.at(folded.T, source, values.T)  # SHAP values are additive: a column's is the sum of its parts
    per_row = np.abs(folded)
    mean = per_row.mean(axis=0)
    boot = np.stack([per_row[rng.integers(0, explained, explained)].mean(axis=0)
                     for _ in range(replicates)]) if replicates else np.empty((0, len(features)))
    intervals = [interval(boot[:, j], level) for j in range(len(features))]
    labels = groups.labels.iloc[rows].reset_index(drop=True)
    by_group, sizes = {}, {}
    for attr in groups.attributes:
        text = labels[attr].astype(str).to_numpy()
        by_group[attr] = {g: dict(zip(features, per_row[text == g].mean(axis=0).tolist())) for g in pd.unique(text)}
        sizes[attr] = {g: int((text == g).sum()) for g in pd.unique(text)}
    gaps = _importance_gaps(per_row, labels, features, min_rows=min_group_size, replicates=replicates, level=level,
                            seed=seed)
    with threadpool_limits(limits=1, user_api="openmp"):
        flips = (flip_test(model, frame, groups.labels, attributes=groups.attributes, bins=bins or {},
                           max_rows=flip_test_rows, seed=seed) if flip_test_rows else ())
    budget = "" if explained == len(X) else f" (the {max_seconds:g} s budget stopped it after {explained} of {len(X)})"
    measure = "mean |SHAP| (log-odds)" if kind == "tree" else ("mean |SHAP| (probability)" if kind == "permutation"
                                                               else "mean |SHAP|")
    order = np.argsort(-mean, kind="stable")
    points = _chart_points(folded, X, labels, [features[j] for j in order[:_CHART_FEATURES]], features, seed=seed)
    importances = tuple(FeatureImportance(feature=features[j], value=float(mean[j]), ci_low=intervals[j][0],
                                          ci_high=intervals[j][1]) for j in order)
    return Explanation(method=kind, measure=measure, sample_size=explained, requested_rows=len(X),
                       importances=importances, by_group=by_group, group_sizes=sizes, gaps=gaps, flips=flips,
                       seconds=time.perf_counter() - start,
                       note=f"SHAP {explainer} on {explained} rows{budget}, a seeded sample stratified so that every "
                            f"combination of sensitive groups is represented.", points=points)
