"""Explainability by subgroup: SHAP in the space of the original columns.

Tree ensembles get SHAP's TreeExplainer, linear models its LinearExplainer,
any other model SHAP's model-agnostic permutation explainer within a time
budget. One-hot columns fold back into their source column (SHAP values are
additive). Importance overall and per group, the features whose importance
differs most between groups, and a counterfactual flip test of each
sensitive attribute.

Each task explains its own model output, through one small adapter per task
(``_OUTPUTS``): the positive class's score of a binary classifier, the raw
prediction of a regressor, every class's output of a multiclass classifier.
Everything downstream (folding, importance, groups, intervals) works on
arrays of shape ``(rows, features, outputs)`` and is the same for all tasks.
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
from ..inputs._model import FittedModel, Predictions, _categoricals_as_text, dense, predict

__all__ = ["FeatureImportance", "ImportanceGap", "FlipResult", "Explanation", "explain", "fold_columns",
           "Contributions", "folded_contributions",
           "stratified_rows", "flip_test"]

# Model classes SHAP's TreeExplainer handles (scikit-learn ensembles and trees, LightGBM, XGBoost, CatBoost).
_TREE_NAMES = ("Forest", "Tree", "GradientBoosting", "LGBM", "XGB", "CatBoost")
# Tree models whose raw output is a probability (they average leaf class shares); boosted trees output log-odds.
_PROBABILITY_TREES = ("Forest", "Tree")
# TreeExplainer refuses these for more than two classes; they get the permutation explainer under "auto".
_NO_MULTICLASS_TREE = ("GradientBoostingClassifier",)
#: A regression prediction "flips" when it moves by more than this share of the standard deviation of the
#: flip-test rows' original predictions (any change at all would make every linear model flip every row).
REGRESSION_FLIP_TOLERANCE = 0.1


@dataclass(frozen=True)
class FeatureImportance:
    feature: str
    value: float
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class ImportanceGap:
    """A feature whose importance differs between the groups of an attribute: (highest, lowest) group.

    ``ci_low``/``ci_high`` are the difference's interval, ``ratio_low``/``ratio_high`` the ratio's own
    (lowest over highest group's mean |SHAP|), both from the same paired bootstrap of rows.
    """

    feature: str
    attribute: str
    groups: tuple[str, str]
    difference: float
    ci_low: float | None
    ci_high: float | None
    ratio: float
    ratio_low: float | None = None
    ratio_high: float | None = None


@dataclass(frozen=True)
class FlipResult:
    """Counterfactual flip test of one sensitive attribute: its value changed, nothing else.

    ``flip_rate[group]`` is the share of (row, other value) pairs whose
    prediction flipped, for rows of that group; ``mean_shift[group]`` the mean
    change of the model's output over those pairs. What flips and what shifts
    depends on the task (``shift`` names it):

    - binary: a flip is a change of the predicted label; the shift is the
      absolute change of the positive class's score (``shift="score"``).
    - multiclass: a flip is a change of the predicted class (the class of
      highest probability); the shift is half the L1 distance between the two
      probability vectors, their total variation distance, in [0, 1] and equal
      to the absolute change of either probability for two classes
      (``shift="probability"``).
    - regression: a number has no label to flip, so a flip is a change of the
      prediction by more than ``tolerance``, which is
      ``REGRESSION_FLIP_TOLERANCE`` (0.1) times the standard deviation of the
      original predictions of the tested rows (0 when they are all equal:
      then any change flips); the shift is the absolute change of the
      prediction, in its units (``shift="prediction"``). ``tolerance`` is None
      for the classification tasks.

    A model that does not read the attribute gives exactly 0 for both, in
    every task.
    """

    attribute: str
    used_by_model: bool
    rows: int
    flip_rate: dict[str, float]
    mean_shift: dict[str, float]
    overall_flip_rate: float
    overall_mean_shift: float
    shift: str = "score"
    tolerance: float | None = None


@dataclass(frozen=True)
class Explanation:
    """Importance of each original column, overall and per group of each attribute.

    ``by_group[attribute][group][feature]`` is the group's mean |SHAP|; for a
    multiclass model the mean over classes of each class's mean |SHAP|.
    ``task`` is the task whose output was explained (see :func:`explain`).
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
    task: str = "binary"


def fold_columns(output_names: list[str], features: tuple[str, ...]) -> np.ndarray:
    """Index of the source feature of each transformed column.

    One-hot columns are named ``"<feature>_<value>"``; numeric ones keep the
    feature's name. The longest matching feature name wins.

    Examples
    --------
    >>> fold_columns(["age", "sex_F", "sex_M"], ("sex", "age")).tolist()
    [1, 0, 0]
    >>> fold_columns(["num__age", "cat__sex_F"], ("sex", "age")).tolist()
    [1, 0]
    """
    by_length = sorted(range(len(features)), key=lambda i: -len(features[i]))
    out = np.empty(len(output_names), dtype=np.int64)
    for j, full in enumerate(output_names):
        # A ColumnTransformer's own names are prefixed with the transformer's ("num__age"): try both.
        for name in (full, full.split("__", 1)[1] if "__" in full else full):
            out[j] = next((i for i in by_length if name == features[i] or name.startswith(features[i] + "_")), -1)
            if out[j] >= 0:
                break
        if out[j] < 0:
            raise ValueError(f"transformed column {full!r} has no source feature")
    return out


def _kind(estimator: object) -> str:
    """The explainer "auto" picks for a final estimator: "tree", "linear" or "permutation".

    Examples
    --------
    >>> from sklearn.linear_model import Ridge
    >>> _kind(Ridge().fit([[0.0], [1.0]], [0.0, 1.0]))
    'linear'
    """
    name = type(estimator).__name__
    if any(part in name for part in _TREE_NAMES):
        return "tree"
    return "linear" if hasattr(estimator, "coef_") else "permutation"


def _categorical_splits(estimator: object) -> bool:
    """Whether a tree model splits on categories natively (HistGradientBoosting's ``categorical_features``)."""
    flags = getattr(estimator, "is_categorical_", None)
    return flags is not None and bool(np.any(flags))


def _split(model: FittedModel) -> tuple[object | None, object]:
    steps = getattr(model.estimator, "steps", None)
    if steps and len(steps) > 1:
        from sklearn.pipeline import Pipeline

        return Pipeline(steps[:-1]), steps[-1][1]
    return None, model.estimator


def _raw_shap(final: object, Xt: np.ndarray, kind: str, seed: int, interventional: bool = False,
              pool: np.ndarray | None = None) -> np.ndarray | list[np.ndarray]:
    """SHAP values of every output of the model, as SHAP returns them (a list per class, or an array).

    The background is a seeded sample of ``pool`` (default: the explained rows themselves).
    """
    import shap

    pool = Xt if pool is None else pool
    if kind == "tree":
        with warnings.catch_warnings():
            # SHAP announces a change of its LightGBM output format; the handling below covers both formats.
            warnings.filterwarnings("ignore", message="LightGBM binary classifier with TreeExplainer")
            if interventional:
                background = pool[np.random.default_rng(seed).choice(len(pool), size=min(len(pool), 100), replace=False)]
                explainer = shap.TreeExplainer(final, data=background, feature_perturbation="interventional")
            else:
                explainer = shap.TreeExplainer(final)
            values = explainer.shap_values(Xt, check_additivity=False)
    else:
        background = pool[np.random.default_rng(seed).choice(len(pool), size=min(len(pool), 200), replace=False)]
        values = shap.LinearExplainer(final, shap.maskers.Independent(background)).shap_values(Xt)
    return values


def _shap_values(final: object, Xt: np.ndarray, kind: str, positive_column: int, seed: int) -> np.ndarray:
    """SHAP values of the positive class's output of a binary classifier, ``(rows, columns)``."""
    return _positive_output(_raw_shap(final, Xt, kind, seed), positive_column)


def _positive_output(values: np.ndarray | list[np.ndarray], positive_column: int) -> np.ndarray:
    """The positive class's SHAP values out of a list per class or a ``(rows, columns, classes)`` array.

    A binary model with one output (LightGBM's log-odds, a linear model's margin) passes through unchanged.
    """
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


def _agnostic_values(f: Callable[[np.ndarray], np.ndarray], Xt: np.ndarray, *, seed: int,
                     deadline: float, progress: Callable[[int, int], None],
                     pool: np.ndarray | None = None) -> np.ndarray:
    """SHAP's permutation explainer of ``f``, chunk by chunk until the time budget runs out.

    ``(rows, columns)`` for a function with one output per row, ``(rows, columns, outputs)`` for several.
    """
    import shap

    rng = np.random.default_rng(seed)
    pool = Xt if pool is None else pool
    background = pool[rng.choice(len(pool), size=min(len(pool), 20), replace=False)]
    explainer = shap.PermutationExplainer(f, shap.maskers.Independent(background, max_samples=20), seed=seed)
    out: list[np.ndarray] = []
    done = 0
    for chunk in np.array_split(np.arange(len(Xt)), max(1, int(np.ceil(len(Xt) / 25)))):
        with warnings.catch_warnings():
            # The explainer hands the model bare arrays; one fitted on a named frame warns about every call.
            warnings.filterwarnings("ignore", message="X does not have valid feature names")
            out.append(explainer(Xt[chunk], max_evals=2 * Xt.shape[1] + 1, silent=True).values)
        done += len(chunk)
        progress(done, len(Xt))
        if time.perf_counter() > deadline:
            break
    return np.vstack(out)


def _as_outputs(values: np.ndarray) -> np.ndarray:
    """SHAP values as ``(rows, columns, outputs)``: a single output gets an axis of length 1."""
    values = np.asarray(values, dtype=float)
    return values[:, :, None] if values.ndim == 2 else values


class _BinaryOutput:
    """Binary classifier: the positive class's score; a flip is a change of the predicted label."""

    shift = "score"  # what FlipResult.mean_shift measures

    def tree_supported(self, final: object) -> bool:
        return True

    def shap_values(self, raw: np.ndarray | list[np.ndarray], model: FittedModel) -> np.ndarray:
        return _as_outputs(_positive_output(raw, model.positive_column))

    def function(self, final: object, model: FittedModel) -> Callable[[np.ndarray], np.ndarray]:
        if hasattr(final, "predict_proba"):
            return lambda X: final.predict_proba(X)[:, model.positive_column]
        return final.decision_function

    def measure(self, kind: str, final: object) -> str:
        return ("mean |SHAP| (log-odds)" if kind == "tree"
                else ("mean |SHAP| (probability)" if kind == "permutation" else "mean |SHAP|"))

    def chart_values(self, folded: np.ndarray, model: FittedModel, X: pd.DataFrame) -> np.ndarray:
        return folded[:, :, 0]

    def predict(self, model: FittedModel, frame: pd.DataFrame) -> Predictions:
        return predict(model, frame)

    def tolerance(self, original: Predictions) -> float | None:
        return None

    def compare(self, original: Predictions, changed: Predictions,
                tolerance: float | None) -> tuple[np.ndarray, np.ndarray]:
        return changed.label != original.label, np.abs(changed.score - original.score)


class _RegressionOutput:
    """Regressor: the raw prediction; a flip is a move of more than a tolerance (see :class:`FlipResult`)."""

    shift = "prediction"  # what FlipResult.mean_shift measures

    def tree_supported(self, final: object) -> bool:
        return True

    def shap_values(self, raw: np.ndarray | list[np.ndarray], model: FittedModel) -> np.ndarray:
        return _as_outputs(raw[0] if isinstance(raw, list) else raw)

    def function(self, final: object, model: FittedModel) -> Callable[[np.ndarray], np.ndarray]:
        return lambda X: np.asarray(final.predict(X), dtype=float).ravel()

    def measure(self, kind: str, final: object) -> str:
        return "mean |SHAP| (units of the prediction)"

    def chart_values(self, folded: np.ndarray, model: FittedModel, X: pd.DataFrame) -> np.ndarray:
        return folded[:, :, 0]

    def predict(self, model: FittedModel, frame: pd.DataFrame) -> np.ndarray:
        X = _categoricals_as_text(frame, model.features)
        return np.asarray(model.estimator.predict(X), dtype=np.float64).ravel()

    def tolerance(self, original: np.ndarray) -> float | None:
        return float(REGRESSION_FLIP_TOLERANCE * np.std(original))

    def compare(self, original: np.ndarray, changed: np.ndarray,
                tolerance: float | None) -> tuple[np.ndarray, np.ndarray]:
        shift = np.abs(changed - original)
        return shift > tolerance, shift


class _MulticlassOutput:
    """Multiclass classifier: every class's output; a flip is a change of the class of highest probability."""

    shift = "probability"  # what FlipResult.mean_shift measures

    def tree_supported(self, final: object) -> bool:
        return type(final).__name__ not in _NO_MULTICLASS_TREE

    def shap_values(self, raw: np.ndarray | list[np.ndarray], model: FittedModel) -> np.ndarray:
        return _as_outputs(np.stack(raw, axis=-1) if isinstance(raw, list) else raw)

    def function(self, final: object, model: FittedModel) -> Callable[[np.ndarray], np.ndarray]:
        return _probabilities(final)

    def measure(self, kind: str, final: object) -> str:
        # Each explainer explains the output it sees: the linear one the class margins (softmax log-odds), the
        # permutation one predict_proba, a tree ensemble its own raw output.
        if kind == "tree":
            name = type(final).__name__
            unit = "probability" if any(part in name for part in _PROBABILITY_TREES) else "log-odds"
        else:
            unit = "log-odds" if kind == "linear" else "probability"
        return f"mean over classes of mean |SHAP| ({unit})"

    def chart_values(self, folded: np.ndarray, model: FittedModel, X: pd.DataFrame) -> np.ndarray:
        # One signed value per row: the SHAP value towards the class the model predicts for that row.
        predicted = np.argmax(_probabilities(model.estimator)(X), axis=1)
        return folded[np.arange(len(folded)), :, predicted]

    def predict(self, model: FittedModel, frame: pd.DataFrame) -> np.ndarray:
        return _probabilities(model.estimator)(_categoricals_as_text(frame, model.features))

    def tolerance(self, original: np.ndarray) -> float | None:
        return None

    def compare(self, original: np.ndarray, changed: np.ndarray,
                tolerance: float | None) -> tuple[np.ndarray, np.ndarray]:
        flipped = np.argmax(changed, axis=1) != np.argmax(original, axis=1)
        return flipped, 0.5 * np.abs(changed - original).sum(axis=1)


def _probabilities(estimator: object) -> Callable[[object], np.ndarray]:
    """``predict_proba`` as float64; a multiclass explanation needs class probabilities."""
    if not hasattr(estimator, "predict_proba"):
        raise ValueError(f"{type(estimator).__name__} has no predict_proba: a multiclass model is explained "
                         "through its class probabilities.")
    return lambda X: np.asarray(estimator.predict_proba(X), dtype=np.float64)


#: The output adapter of each task: what is explained, how it is measured and what a flip is.
_OUTPUTS = {"binary": _BinaryOutput(), "multiclass": _MulticlassOutput(), "regression": _RegressionOutput()}


def _output(task: str) -> _BinaryOutput | _MulticlassOutput | _RegressionOutput:
    try:
        return _OUTPUTS[task]
    except KeyError:
        raise ValueError(f"task must be one of {', '.join(_OUTPUTS)}; got {task!r}") from None


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
            r_low = r_high = None
            if replicates:
                with np.errstate(divide="ignore", invalid="ignore"):
                    ratios = np.where(boot[:, hi, j] > 0, boot[:, lo, j] / boot[:, hi, j], np.nan)
                r_low, r_high = interval(ratios, level)
                # The measure is lowest over highest, so never above 1 (a replicate may swap the pair).
                r_low, r_high = (None, None) if r_low is None or r_high is None else (min(r_low, 1.0), min(r_high, 1.0))
            out.append(ImportanceGap(feature=feature, attribute=attribute, groups=(str(levels[hi]), str(levels[lo])),
                                     difference=diff, ci_low=low, ci_high=high,
                                     ratio=float(means[lo, j] / means[hi, j]) if means[hi, j] > 0 else 1.0,
                                     ratio_low=r_low, ratio_high=r_high))
    return tuple(sorted(out, key=lambda g: -g.difference))


def flip_test(model: FittedModel, frame: pd.DataFrame, labels: pd.DataFrame, *, attributes: tuple[str, ...],
              bins: dict[str, list[float]], max_rows: int, seed: int,
              task: str = "binary") -> tuple[FlipResult, ...]:
    """Change only the sensitive attribute of each row, to each other value, and count changed predictions.

    Binned attributes are set to the median value of each other band. A model
    that does not read the attribute gives exactly zero: nothing else changes.
    What counts as a flip and what the shift measures depends on ``task``
    ("binary", "multiclass" or "regression"); :class:`FlipResult` says how.

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> from audit.inputs._model import fitted_from_object
    >>> df = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "g": [0.0, 1.0, 0.0, 1.0]})
    >>> reg = LinearRegression().fit(df, 2 * df["x"] + 3 * df["g"])
    >>> model = fitted_from_object(reg, dataset_features=("x", "g"), positive_label=None, source="python",
    ...                            name="m", path=None, sha256=None)
    >>> (f,) = flip_test(model, df, df[["g"]].astype(str), attributes=("g",), bins={}, max_rows=10, seed=0,
    ...                  task="regression")
    >>> round(f.overall_mean_shift, 6), f.overall_flip_rate, f.shift
    (3.0, 1.0, 'prediction')
    """
    from ..inputs._groups import band_labels

    output = _output(task)
    rows = np.sort(np.random.default_rng(seed).permutation(len(frame))[:max_rows])
    base = frame.iloc[rows].reset_index(drop=True)
    base_labels = labels.iloc[rows].reset_index(drop=True)
    original = output.predict(model, base)
    tolerance = output.tolerance(original)
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
            flipped, shift = output.compare(original, output.predict(model, changed), tolerance)
            flips += other * flipped
            shifts += other * shift
            tries += other
        tries = np.maximum(tries, 1)
        per_row_flip, per_row_shift = flips / tries, shifts / tries
        out.append(FlipResult(
            attribute=attribute, used_by_model=attribute in model.features, rows=len(base),
            flip_rate={g: float(per_row_flip[group == g].mean()) for g in pd.unique(group)},
            mean_shift={g: float(per_row_shift[group == g].mean()) for g in pd.unique(group)},
            overall_flip_rate=float(per_row_flip.mean()), overall_mean_shift=float(per_row_shift.mean()),
            shift=output.shift, tolerance=tolerance))
    return tuple(out)


@dataclass(frozen=True)
class Contributions:
    """SHAP values folded to the model's original columns, ``values[row, feature, output]``.

    Additive: for each row and output, the values sum to the explained output minus the explainer's
    expected value (the log-odds for tree and linear models of a binary target, the probability for the
    permutation explainer, the prediction for a regression).
    """

    values: np.ndarray
    features: tuple[str, ...]
    kind: str
    explainer: str
    final: object


def folded_contributions(model: FittedModel, X: pd.DataFrame, *, method: str, seed: int, deadline: float,
                         progress: Callable[[int, int], None] | None = None, task: str = "binary",
                         interventional: bool = False, background: pd.DataFrame | None = None) -> Contributions:
    """SHAP values of ``X``'s rows in the space of the original columns (one-hot parts summed back).

    ``method`` as for :func:`explain`; the model-agnostic explainer stops at the first chunk past ``deadline``
    (``time.perf_counter()`` seconds), so fewer rows may come back. ``interventional`` explains a tree model
    against a seeded background sample of ``X`` instead of its own path statistics (for the stability of
    reason codes; other explainers always use a seeded background). The background is drawn from
    ``background`` (rows of the same columns; default ``X`` itself): contributions are relative to it.
    """
    output = _output(task)
    pre, final = _split(model)
    kind = _kind(final) if method == "auto" else method
    if kind == "tree" and method == "auto" and not output.tree_supported(final):
        kind = "permutation"
    if kind == "tree" and _categorical_splits(final):
        # SHAP's TreeExplainer reads a native categorical split as a threshold on the code: its values then do
        # not add up to the model's output (by 9.8 log-odds on UCI Adult). The permutation explainer's do.
        kind = "permutation"
    features = model.features
    Xt = dense(pre.transform(X)) if pre is not None else X.to_numpy(dtype=float)
    names = list(pre.get_feature_names_out()) if pre is not None else list(features)
    pool = None
    if background is not None:
        B = _categoricals_as_text(background, features)
        pool = dense(pre.transform(B)) if pre is not None else B.to_numpy(dtype=float)
    if kind in ("tree", "linear"):
        values = output.shap_values(_raw_shap(final, Xt, kind, seed, interventional=interventional, pool=pool),
                                    model)
        explainer = "TreeExplainer" if kind == "tree" else "LinearExplainer"
    else:
        # Many small predictions: OpenMP thread start-up and spinning would cost more than they save.
        with threadpool_limits(limits=1, user_api="openmp"):
            values = _as_outputs(_agnostic_values(output.function(final, model), Xt, seed=seed, deadline=deadline,
                                                  progress=progress or (lambda done, total: None), pool=pool))
        explainer = "PermutationExplainer (model-agnostic)"
    source = fold_columns(names, features)
    folded = np.zeros((len(values), len(features), values.shape[2]))
    for k in range(values.shape[2]):
        # SHAP values are additive: a column's is the sum of its parts (folded[:, :, k].T is a view, summed into).
        np.add.at(folded[:, :, k].T, source, values[:, :, k].T)
    return Contributions(values=folded, features=features, kind=kind, explainer=explainer, final=final)


def explain(model: FittedModel, frame: pd.DataFrame, y: np.ndarray, groups: GroupIndex, *, method: str,
            sample: int, seed: int, replicates: int, level: float, max_seconds: float = 60.0,
            min_group_size: int = 30, bins: dict[str, list[float]] | None = None, flip_test_rows: int = 1000,
            progress: Callable[[int, int], None] | None = None, task: str = "binary") -> Explanation:
    """SHAP values in the space of the original columns: importance overall and by group, flip test.

    What is explained depends on ``task``:

    - binary: the positive class's output (log-odds for trees and linear
      models, the probability for the permutation explainer).
    - regression: the raw prediction (``predict``), in its own units.
    - multiclass: every class's output (the ``predict_proba`` columns for the
      permutation explainer and for random forests, the class margins for
      linear models and boosted trees); a feature's importance is the mean over
      classes of its mean |SHAP|. scikit-learn's GradientBoostingClassifier,
      which TreeExplainer does not take for more than two classes, gets the
      permutation explainer under ``method="auto"``.

    Parameters
    ----------
    model : FittedModel
        The audited model.
    frame : DataFrame
        Evaluation rows (or a sample of them).
    y : ndarray
        Labels of the rows (0/1, class labels, or numbers for regression); not used by the explanation itself.
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
    task : {"binary", "multiclass", "regression"}
        The model's task: which output is explained and what the flip test counts (see :class:`FlipResult`).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from audit.inputs._groups import build_groups
    >>> from audit.inputs._model import fitted_from_object
    >>> X, y = load_iris(return_X_y=True, as_frame=True)
    >>> X["site"] = np.arange(len(X)) % 2
    >>> rf = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    >>> model = fitted_from_object(rf, dataset_features=tuple(X.columns), positive_label=None, source="python",
    ...                            name="m", path=None, sha256=None)
    >>> groups = build_groups(X, sensitive=["site"], bins={}, intersections=1, source="t")
    >>> ex = explain(model, X, y.to_numpy(), groups, method="auto", sample=100, seed=0, replicates=0,
    ...              level=0.95, task="multiclass")
    >>> ex.method, ex.measure, ex.importances[0].feature.startswith("petal")
    ('tree', 'mean over classes of mean |SHAP| (probability)', True)
    """
    output = _output(task)
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    rows = stratified_rows(groups.row_leaf, min(sample, len(frame)), seed=seed)
    X = _categoricals_as_text(frame.iloc[rows], model.features)
    contributions = folded_contributions(model, X, method=method, seed=seed, deadline=start + max_seconds,
                                         progress=progress, task=task)
    kind, explainer, folded, final = (contributions.kind, contributions.explainer, contributions.values,
                                      contributions.final)
    features = model.features
    explained = len(folded)
    rows = rows[:explained]
    # Mean over outputs of |SHAP|: one output for binary and regression (the value itself), every class otherwise.
    per_row = np.abs(folded).mean(axis=2)
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
                           max_rows=flip_test_rows, seed=seed, task=task) if flip_test_rows else ())
    budget = "" if explained == len(X) else f" (the {max_seconds:g} s budget stopped it after {explained} of {len(X)})"
    measure = output.measure(kind, final)
    order = np.argsort(-mean, kind="stable")
    points = _chart_points(output.chart_values(folded, model, X.iloc[:explained]), X, labels,
                           [features[j] for j in order[:_CHART_FEATURES]], features, seed=seed)
    importances = tuple(FeatureImportance(feature=features[j], value=float(mean[j]), ci_low=intervals[j][0],
                                          ci_high=intervals[j][1]) for j in order)
    return Explanation(method=kind, measure=measure, sample_size=explained, requested_rows=len(X),
                       importances=importances, by_group=by_group, group_sizes=sizes, gaps=gaps, flips=flips,
                       seconds=time.perf_counter() - start,
                       note=f"SHAP {explainer} on {explained} rows{budget}, a seeded sample stratified so that every "
                            f"combination of sensitive groups is represented.", points=points, task=task)
