"""Training a model from a spec, loading one from a file (safely), predicting."""

from __future__ import annotations

import hashlib
import importlib
import inspect
import io
import re
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np
import pandas as pd

from ..settings._config import AuditConfig
from ._data import Dataset, is_numeric_feature, sha256_file
from .._errors import AuditError

__all__ = ["FittedModel", "train_model", "load_model", "predict", "predict_values", "Predictions", "build_preprocessor", "dense", "dense_clone",
           "to_skops_bytes", "check_scores", "check_labels"]


@dataclass(frozen=True)
class FittedModel:
    """A fitted estimator and its provenance.

    ``positive_column`` is the column of ``predict_proba`` that scores the
    positive label; ``positive_class`` the value ``predict`` returns for it.
    """

    estimator: Any
    source: str  # "trained" or "loaded"
    type_name: str
    features: tuple[str, ...]
    positive_column: int
    positive_class: Any
    path: str | None
    sha256: str | None
    params: dict[str, Any]
    #: The decision rule of a binary model: positive when ``score >= threshold`` (``model.threshold``); None
    #: for the model's own ``predict``.
    threshold: float | None = None

    @property
    def described(self) -> str:
        """What the model is in messages: "`model.load` file m.skops", "the trained ...", a predictions column."""
        if self.source == "loaded":
            return f"`model.load` {Path(self.path).name if self.path else 'model'}"
        if self.source == "trained":
            return f"the trained {self.type_name}"
        if self.source == "predictions":
            return f"`model.predictions` column {getattr(self.estimator, 'predictions', '?')!r}"
        return f"the model object ({self.type_name})"


def _import_estimator(path: str) -> type:
    module_name, _, attr = path.rpartition(".")
    if not module_name:
        raise AuditError(f"`model.train.estimator` must be an import path such as "
                         f"'sklearn.ensemble.HistGradientBoostingClassifier'; got {path!r}.")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise AuditError(f"`model.train.estimator` names module {module_name!r}, which cannot be imported "
                         f"({exc}); install it or fix the path.") from None
    cls = getattr(module, attr, None)
    if not inspect.isclass(cls) or not hasattr(cls, "fit"):
        raise AuditError(f"`model.train.estimator` must name an estimator class with `fit`; got {path!r}.")
    return cls


#: How categorical columns reach the estimator: one-hot (dense or sparse), or ordinal codes for an estimator
#: that splits on categories itself (HistGradientBoosting's native categorical support).
Encoding = Literal["onehot", "sparse", "ordinal"]


def build_preprocessor(frame: pd.DataFrame, features: tuple[str, ...], *, encoding: Encoding = "onehot",
                       max_categories: int | None = None) -> Any:
    """Column-type preprocessing: impute and encode categoricals, impute and standardise numerics.

    Standardising changes nothing for tree ensembles and lets linear, kernel
    and neighbour models converge on raw census-style columns.

    Numeric columns keep their names, and so do ordinal-coded ones; one-hot columns are named
    ``"<column>_<value>"`` and fold back to their source column. ``encoding="sparse"`` gives a sparse
    matrix (the one-hot part of a linear model's input stays small however many codes a column has);
    ``"ordinal"`` codes each categorical column 0, 1, ... (at most ``max_categories`` codes, the rarest
    values sharing one), unknown values as missing, for an estimator told which columns are categories.
    The output holds the numeric columns first, then the categorical ones.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    numeric, categorical = _column_kinds(frame, features)
    parts = []
    if numeric:
        parts.append(("num", make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True),
                                           StandardScaler()), numeric))
    if categorical:
        if encoding == "ordinal":
            encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan,
                                     encoded_missing_value=np.nan, max_categories=max_categories)
        else:
            encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=encoding == "sparse")
        parts.append(("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"), encoder),
                      categorical))
    # sparse_threshold=1: a sparse one-hot part keeps the whole output sparse (the numeric part is small).
    return ColumnTransformer(parts, verbose_feature_names_out=False,
                             sparse_threshold=1.0 if encoding == "sparse" else 0.0)


def _column_kinds(frame: pd.DataFrame, features: tuple[str, ...]) -> tuple[list[str], list[str]]:
    numeric = [c for c in features if is_numeric_feature(frame[c])]
    return numeric, [c for c in features if c not in numeric]


def dense(matrix: Any) -> np.ndarray:
    """A preprocessed matrix as a dense float array (a sparse one-hot output densified, for a row sample)."""
    return np.asarray(matrix.toarray() if hasattr(matrix, "toarray") else matrix, dtype=float)


def dense_clone(preprocessor: Any) -> Any:
    """An unfitted clone of a preprocessor built by :func:`build_preprocessor` that outputs a dense matrix.

    For estimators that take no sparse input (fairlearn's reductions refit the final estimator on it).
    """
    from sklearn.base import clone

    out = clone(preprocessor)
    if getattr(out, "sparse_threshold", 0) and "cat" in dict((name, t) for name, t, _ in out.transformers):
        out.set_params(sparse_threshold=0.0, cat__onehotencoder__sparse_output=False)
    return out


def _encoding_for(cls: type) -> Encoding:
    """The categorical encoding an estimator class is trained on.

    HistGradientBoosting splits on categories natively: one-hot columns would cost it a dense matrix of
    every code (252 s and 3.5 GB on the readmission data's diagnosis codes) for worse splits. Linear models
    take a sparse one-hot matrix. Others get the dense one-hot matrix every estimator accepts.
    """
    if cls.__name__.startswith("HistGradientBoosting"):
        return "ordinal"
    if cls.__module__.startswith("sklearn.linear_model") or cls.__name__ in ("LinearSVC", "LinearSVR"):
        return "sparse"
    return "onehot"


def _categoricals_as_text(frame: pd.DataFrame, features: tuple[str, ...]) -> pd.DataFrame:
    # One dtype per categorical column (object of str) so imputer and encoder see one kind of value.
    out = frame.loc[:, list(features)].copy()
    for column in features:
        col = out[column]
        if not is_numeric_feature(col):
            out[column] = col.astype(object).where(col.notna(), np.nan).map(
                lambda v: v if isinstance(v, float) and np.isnan(v) else str(v))
    return out


def train_model(config: AuditConfig, dataset: Dataset) -> FittedModel:
    """Fit ``model.train.estimator`` inside the column-type preprocessing pipeline."""
    from sklearn.pipeline import Pipeline

    spec = config.model.train
    assert spec is not None and dataset.train is not None and dataset.y_train is not None
    cls = _import_estimator(spec.estimator)
    params = dict(spec.params)
    if "random_state" in inspect.signature(cls).parameters and "random_state" not in params:
        params["random_state"] = config.seed
    frame = _categoricals_as_text(dataset.train.frame, dataset.features)
    encoding = _encoding_for(cls)
    numeric, categorical = _column_kinds(frame, dataset.features)
    max_bins = params.get("max_bins", 255)
    if encoding == "ordinal" and categorical and "categorical_features" not in params:
        # The preprocessor's output holds the numeric columns first, then the ordinal-coded categories.
        params["categorical_features"] = list(range(len(numeric), len(numeric) + len(categorical)))
    try:
        estimator = cls(**params)
    except TypeError as exc:
        raise AuditError(f"`model.train.params` must be parameters of {spec.estimator}; {exc}.") from None
    preprocess = build_preprocessor(frame, dataset.features, encoding=encoding,
                                    max_categories=max_bins if isinstance(max_bins, int) else 255)
    pipeline = Pipeline([("preprocess", preprocess), ("model", estimator)])
    # Multiclass labels are fitted as text, so that classes of mixed types (1, "1") cannot split.
    y = np.asarray(dataset.y_train).astype(str) if dataset.task == "multiclass" else dataset.y_train
    try:
        pipeline.fit(frame, y)
    except (ValueError, TypeError) as exc:
        raise AuditError(f"`model.train` could not fit {spec.estimator} on {dataset.train.name}: "
                         f"{str(exc).splitlines()[0]}. Check `model.train.params` and `data.features`.") from None
    binary = dataset.task == "binary"
    if binary and not hasattr(pipeline, "predict_proba") and not hasattr(pipeline, "decision_function"):
        raise AuditError(f"`model.train.estimator` {spec.estimator} gives no scores (`predict_proba` or "
                         "`decision_function`); choose a classifier that does.")
    return FittedModel(estimator=pipeline, source="trained", type_name=spec.estimator,
                       features=dataset.features, positive_column=1 if binary else -1,
                       positive_class=1 if binary else None, path=None, sha256=None,
                       params={k: _jsonable(v) for k, v in params.items()})


def refit_without(model: FittedModel, frame: pd.DataFrame, y: np.ndarray, *, drop: tuple[str, ...]) -> FittedModel:
    """The audited model's estimator, cloned with its parameters, refitted on ``frame`` without the ``drop``
    columns, inside the same column-type preprocessing rebuilt for the columns left.

    For a less discriminatory alternative: the same model, trained without its strongest proxies of a
    sensitive attribute. Only for a model the audit trained (a ``preprocess`` and a ``model`` step).
    """
    from sklearn.base import clone
    from sklearn.pipeline import Pipeline

    steps = getattr(model.estimator, "named_steps", {})
    if "preprocess" not in steps or "model" not in steps:
        raise AuditError("Dropping proxies retrains a model the audit trained (`model.train`).")
    features = tuple(f for f in model.features if f not in drop)
    if not features:
        raise AuditError(f"Dropping {', '.join(drop)} leaves the model no features.")
    estimator = clone(steps["model"])
    text = _categoricals_as_text(frame, features)
    encoding = _encoding_for(type(estimator))
    numeric, categorical = _column_kinds(text, features)
    if encoding == "ordinal" and "categorical_features" in estimator.get_params():
        # The ordinal-coded categories follow the numeric columns; their positions move with the columns left.
        estimator.set_params(categorical_features=list(range(len(numeric), len(numeric) + len(categorical)))
                             if categorical else None)
    max_bins = estimator.get_params().get("max_bins", 255)
    pipeline = Pipeline([("preprocess", build_preprocessor(text, features, encoding=encoding,
                                                           max_categories=max_bins if isinstance(max_bins, int)
                                                           else 255)),
                         ("model", estimator)])
    pipeline.fit(text, y)
    return replace(model, estimator=pipeline, features=features, sha256=None, path=None)


def _jsonable(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool, type(None), list, dict)) else repr(value)


_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def to_skops_bytes(model: FittedModel) -> bytes:
    """The estimator as ``.skops`` bytes, identical for identical models.

    skops names arrays after ``id()`` of objects and stamps the current time
    into the zip; both are replaced by canonical values (ids numbered in order
    of first appearance, a fixed timestamp) so that the model's SHA-256 in the
    manifest is reproducible.
    """
    import skops.io as sio

    raw = zipfile.ZipFile(io.BytesIO(sio.dumps(model.estimator)))
    ids: dict[str, str] = {}

    def canon(old: str) -> str:
        return ids.setdefault(old, str(len(ids) + 1))

    schema = raw.read("schema.json").decode("utf-8")
    schema = re.sub(r'("__id__": )(\d+)', lambda m: m.group(1) + canon(m.group(2)), schema)
    schema = re.sub(r'("file": ")(\d+)(\.npy")', lambda m: m.group(1) + canon(m.group(2)) + m.group(3), schema)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as dst:
        members = {"schema.json": schema.encode("utf-8")}
        for name in raw.namelist():
            if name != "schema.json":
                stem, dot, ext = name.partition(".")
                members[(canon(stem) if stem.isdigit() else stem) + dot + ext] = raw.read(name)
        for name in sorted(members):
            dst.writestr(zipfile.ZipInfo(name, date_time=_ZIP_EPOCH), members[name])
    return out.getvalue()


def load_model(config: AuditConfig, dataset_features: tuple[str, ...], positive_label: Any) -> FittedModel:
    """Load ``model.load`` safely.

    ``.skops`` with its type check; ``.joblib``/``.pkl`` and MLflow models (which MLflow unpickles) only with
    ``trust: true``; ONNX, LightGBM text and XGBoost JSON/UBJSON files need no trust (no code runs on load).
    """
    from . import _formats as fmt

    assert config.model is not None
    spec = config.model.load
    assert spec is not None
    path = config.resolve(spec)
    if fmt.is_mlflow_uri(spec) or (path / "MLmodel").is_file():
        if not config.model.trust:
            raise AuditError(
                f"`model.load` {spec!r} is an MLflow model, and MLflow unpickles models when it loads them, "
                "which runs any code they hold. It was not opened. Set `model.trust: true` only if you trust "
                "where the model came from.")
        estimator, where, sha = fmt.load_mlflow(spec, base_dir=Path(config.base_dir),
                                                tracking_uri=config.model.tracking_uri)
        return fitted_from_object(estimator, dataset_features=dataset_features, positive_label=positive_label,
                                  source="loaded", name=f"`model.load` {spec!r}", path=where, sha256=sha)
    if not path.is_file():
        raise AuditError(f"`model.load` must name an existing model file; got {spec!r} (looked for {path}).")
    suffix = path.suffix.lower()
    if suffix == ".skops":
        import skops.io as sio

        try:
            untrusted = sio.get_untrusted_types(file=path)
        except Exception as exc:  # skops raises several kinds on a damaged file
            raise AuditError(f"`model.load` file {path.name} is not a readable .skops file: {exc}.") from None
        refused = [t for t in untrusted if t not in config.model.trusted_types]
        if refused:
            raise AuditError(
                f"`model.load` file {path.name} holds types that are not trusted by default: "
                f"{', '.join(refused)}. Loading runs code of these types; if you trust where the file came "
                "from, list them under `model.trusted_types`.")
        estimator = sio.load(path, trusted=list(untrusted))
    elif suffix in (".joblib", ".pkl", ".pickle"):
        if not config.model.trust:
            raise AuditError(
                f"`model.load` file {path.name} is a pickle, and loading a pickle runs any code it holds. "
                "It was not opened. Set `model.trust: true` only if you trust where the file came from, "
                "or save the model as .skops.")
        import joblib

        estimator = joblib.load(path)
    elif suffix == ".onnx":
        estimator = fmt.load_onnx(path, features=dataset_features)
    elif suffix == ".txt":
        estimator = fmt.load_lightgbm(path)
    elif suffix in (".json", ".ubj"):
        estimator = fmt.load_xgboost(path)
    else:
        raise AuditError(f"`model.load` must be a .skops, .onnx, LightGBM .txt or XGBoost .json/.ubj file, an "
                         f"MLflow model (or .joblib/.pkl with `model.trust: true`); got {path.name}.")
    return fitted_from_object(estimator, dataset_features=dataset_features, positive_label=positive_label,
                              source="loaded", name=f"`model.load` file {path.name}", path=str(path), sha256=sha256_file(path))


def fitted_from_object(estimator: Any, *, dataset_features: tuple[str, ...], positive_label: Any, source: str,
                       name: str, path: str | None, sha256: str | None) -> FittedModel:
    """Wrap a model object (loaded, or handed to ``audit.run``) with its features and positive class.

    ``name`` says what the model is in messages (e.g. "`model.load` file m.onnx"); ``positive_label``
    None means a task without one (multiclass, regression).
    """
    if not hasattr(estimator, "predict"):
        raise AuditError(f"{name} holds an object of type {type(estimator).__name__}, "
                         "not a model with `predict`.")
    features = tuple(getattr(estimator, "feature_names_in_", dataset_features))
    if positive_label is None:
        column, cls = -1, None
    else:
        column, cls = _positive_column(estimator, positive_label, name)
    return FittedModel(estimator=estimator, source=source,
                       type_name=f"{type(estimator).__module__}.{type(estimator).__qualname__}",
                       features=tuple(str(f) for f in features), positive_column=column, positive_class=cls,
                       path=path, sha256=sha256, params={})


def _positive_column(estimator: Any, positive_label: Any, name: str) -> tuple[int, Any]:
    classes = list(getattr(estimator, "classes_", [0, 1]))
    matchers = (
        lambda c: c == positive_label,
        lambda c: str(c) == str(positive_label),
        # A model fitted on the 0/1-encoded target, as this toolkit trains them.
        lambda c: not isinstance(c, str) and c == 1,
    )
    for match in matchers:
        for i, c in enumerate(classes):
            if match(c):
                return i, c
    raise AuditError(f"`data.positive_label` {positive_label!r} is not a class of the model ({name}); "
                     f"its classes are {classes}.")


@dataclass(frozen=True)
class Predictions:
    """Positive-class scores and predicted labels (1 = positive) of the evaluation rows."""

    score: np.ndarray
    label: np.ndarray
    probabilistic: bool


def _shown(values: Any, limit: int = 8) -> str:
    items = list(dict.fromkeys(map(repr, (v.item() if hasattr(v, "item") else v for v in values))))
    return ", ".join(items[:limit]) + (f" (and {len(items) - limit} more)" if len(items) > limit else "")


def check_scores(scores: np.ndarray, *, model: FittedModel, source: str, probabilities: bool) -> None:
    """Refuse model outputs that are not predictions: NaN or infinite scores, probabilities outside [0, 1].

    ``scores`` is one row per evaluated row (one column or several, e.g. every class's probability).
    Raises AuditError naming the model, how many rows of ``source`` and a few of the values.
    """
    values = np.asarray(scores, dtype=np.float64)
    rows = values.reshape(len(values), -1)
    total = len(rows)
    bad = ~np.isfinite(rows).all(axis=1)
    what = "probabilities" if probabilities else "scores"
    if bad.any():
        raise AuditError(f"The model ({model.described}) gave NaN or infinite {what} for {int(bad.sum())} of "
                         f"{total} rows of {source}; a model's outputs must be numbers for every row. Check the "
                         "model file, and that the data has the columns and types the model was trained on.")
    if probabilities:
        outside = ((rows < -1e-9) | (rows > 1 + 1e-9)).any(axis=1)
        if outside.any():
            raise AuditError(f"The model ({model.described}) is a classifier whose `predict_proba` gave "
                             f"probabilities outside [0, 1] for {int(outside.sum())} of {total} rows of {source} "
                             f"(e.g. {_shown(rows[outside].ravel()[:4])}); probabilities must lie in [0, 1].")


def check_labels(labels: np.ndarray, *, allowed: list[Any], model: FittedModel, source: str) -> None:
    """Refuse predicted labels that are not among ``allowed`` (the model's or the target's classes),
    compared as they are and as text; raises AuditError naming both sets and how many rows."""
    series = pd.Series(np.asarray(labels, dtype=object))
    known = set(map(str, allowed))
    bad = series.isna().to_numpy() | ~series.map(str).isin(known).to_numpy()
    bad &= ~series.isin(list(allowed)).to_numpy()
    if bad.any():
        raise AuditError(f"The model ({model.described}) predicted labels that are not among its classes for "
                         f"{int(bad.sum())} of {len(series)} rows of {source}: predicted "
                         f"{_shown(pd.unique(series[bad]))}; classes {_shown(allowed)}.")


def _classes(est: Any) -> list[Any] | None:
    classes = getattr(est, "classes_", None)
    return None if classes is None else list(np.asarray(classes).ravel())


def predict(model: FittedModel, frame: pd.DataFrame, *, source: str = "the evaluation rows") -> Predictions:
    """Score ``frame`` with the model; scores are probabilities when the model has ``predict_proba``.

    Outputs that are not predictions (NaN or infinite scores, probabilities outside [0, 1], labels that are
    not among the model's classes) raise AuditError naming the model and how many rows of ``source``.
    """
    from ._formats import ColumnPredictions

    est = model.estimator
    if isinstance(est, ColumnPredictions):
        return _decided(_column_predictions(est, frame, model.positive_class, negative=est.negative, source=source),
                        model.threshold)
    if model.threshold is not None:
        return _decided(_scores_only(model, frame, source=source), model.threshold)
    X = _categoricals_as_text(frame, model.features)
    # A degenerate model's arithmetic warns (NaN, overflow); its outputs are checked and reported below instead.
    def quiet() -> Any:
        return np.errstate(invalid="ignore", divide="ignore", over="ignore")

    if hasattr(est, "predict_proba"):
        with quiet():
            proba = np.asarray(est.predict_proba(X))
        check_scores(proba, model=model, source=source, probabilities=True)
        score = proba[:, model.positive_column].astype(np.float64)
        probabilistic = True
        if model.source == "trained":
            # scikit-learn classifiers predict the class of highest probability: skip a second pass.
            label = (np.argmax(proba, axis=1) == model.positive_column).astype(np.int8)
            return Predictions(score=score, label=label, probabilistic=probabilistic)
    else:
        with quiet():
            raw = np.asarray(est.decision_function(X), dtype=np.float64)
        check_scores(raw, model=model, source=source, probabilities=False)
        score = raw if model.positive_column == 1 else -raw
        probabilistic = False
    with quiet():
        predicted = np.asarray(est.predict(X))
    if predicted.ndim == 2 and predicted.shape[1] == 1:
        predicted = predicted.ravel()
    classes = _classes(est)
    if classes is not None:
        check_labels(predicted, allowed=classes, model=model, source=source)
    label = (predicted == model.positive_class).astype(np.int8)
    return Predictions(score=score, label=label, probabilistic=probabilistic)


def _decided(predictions: Predictions, threshold: float | None) -> Predictions:
    """The predictions with labels from the decision rule ``score >= threshold`` (as they are without one)."""
    if threshold is None:
        return predictions
    label = (np.asarray(predictions.score, dtype=np.float64) >= threshold).astype(np.int8)
    return Predictions(score=predictions.score, label=label, probabilistic=predictions.probabilistic)


def _scores_only(model: FittedModel, frame: pd.DataFrame, *, source: str) -> Predictions:
    """Positive-class scores of a model (probabilities, else decision-function values); labels left to the
    threshold, so ``predict`` is not asked."""
    est = model.estimator
    X = _categoricals_as_text(frame, model.features)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if hasattr(est, "predict_proba"):
            proba = np.asarray(est.predict_proba(X))
            check_scores(proba, model=model, source=source, probabilities=True)
            score = proba[:, model.positive_column].astype(np.float64)
            return Predictions(score=score, label=np.zeros(len(score), dtype=np.int8), probabilistic=True)
        if not hasattr(est, "decision_function"):
            raise AuditError(f"`model.threshold` needs the model's scores, and the model ({model.described}) has "
                             "neither `predict_proba` nor `decision_function`; remove the threshold.")
        raw = np.asarray(est.decision_function(X), dtype=np.float64)
    check_scores(raw, model=model, source=source, probabilities=False)
    score = raw if model.positive_column == 1 else -raw
    return Predictions(score=score, label=np.zeros(len(score), dtype=np.int8), probabilistic=False)


def predict_values(model: FittedModel, frame: pd.DataFrame, *, source: str,
                   task: str) -> tuple[np.ndarray, np.ndarray]:
    """Predictions of a multiclass or regression model, and the probability of each predicted class.

    Returns the predicted values (numbers for ``task="regression"``, classes otherwise) and, for a classifier
    with ``predict_proba``, the probability it gave its predicted class (1.0 without one; for a regression,
    the predictions again).
    """
    from ._formats import ColumnPredictions

    est = model.estimator
    proba = None
    if isinstance(est, ColumnPredictions):
        raw = est.predict(frame)
    else:
        X = _categoricals_as_text(frame, model.features)
        try:
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # outputs are checked below
                raw = np.asarray(est.predict(X))
                if task != "regression" and hasattr(est, "predict_proba"):
                    proba = np.asarray(est.predict_proba(X), dtype=np.float64)
        except AuditError:
            raise
        except (ValueError, TypeError, KeyError) as exc:
            raise AuditError(f"The model could not score {source}: {str(exc).splitlines()[0]}. Check that the data "
                             "has the columns and types the model was trained on.") from None
    raw = np.asarray(raw)
    if raw.ndim == 2 and raw.shape[1] == 1:
        raw = raw.ravel()
    if task == "regression":
        values = pd.to_numeric(pd.Series(raw), errors="coerce").to_numpy(dtype=np.float64)
        if not np.isfinite(values).all():
            raise AuditError(f"The model's ({model.described}) predictions for {source} must be finite numbers for "
                             f"a regression audit; {int((~np.isfinite(values)).sum())} of {len(values)} rows are "
                             "not (NaN, infinite or not numeric).")
        return values, values
    if pd.isna(pd.Series(raw)).any():
        raise AuditError(f"The model's ({model.described}) predictions for {source} hold missing values for "
                         f"{int(pd.isna(pd.Series(raw)).sum())} of {len(raw)} rows; every row needs a class.")
    if proba is not None:
        check_scores(proba, model=model, source=source, probabilities=True)
    classes = None if isinstance(est, ColumnPredictions) else _classes(est)
    if classes is not None:
        check_labels(raw, allowed=classes, model=model, source=source)
    confidence = np.ones(len(raw)) if proba is None or proba.ndim != 2 else proba.max(axis=1)
    return raw, confidence


def positive_mask(values: pd.Series, positive: Any) -> np.ndarray:
    """Which predicted labels are the positive class: equal to it (also as text), else 1 for 0/1 labels.

    Examples
    --------
    >>> positive_mask(pd.Series([">50K", "<=50K"]), ">50K").tolist()
    [True, False]
    >>> positive_mask(pd.Series([1, 0, 1]), ">50K").tolist()
    [True, False, True]
    """
    hit = values.eq(positive).to_numpy(dtype=bool) | values.astype(str).eq(str(positive)).to_numpy(dtype=bool)
    if not hit.any() and values.isin([0, 1, True, False]).all():
        return values.astype(int).eq(1).to_numpy(dtype=bool)
    return hit


def _column_predictions(est: Any, frame: pd.DataFrame, positive: Any, *, negative: Any = None,
                        source: str = "the evaluation rows") -> Predictions:
    raw = frame[est.predictions]
    if raw.isna().any():
        raise AuditError(f"`model.predictions` column {est.predictions!r} has {int(raw.isna().sum())} missing "
                         "values; every evaluated row needs a prediction.")
    # Predicted labels are the target's labels, or 0/1 (and booleans) for negative/positive: anything else
    # would be read as the negative class without a word.
    labels = [v for v in (positive, negative) if v is not None]
    values = pd.unique(raw)
    text = set(map(str, labels))
    as_label = all(v in labels or str(v) in text for v in values)
    if not as_label and negative is None:
        # Read in batches, the negative label may not have been met yet: one value besides the positive is it.
        as_label = len({str(v) for v in values if not (v == positive or str(v) == str(positive))}) <= 1
    as_binary = bool(pd.Series(values).isin([0, 1, True, False]).all())
    if not (as_label or as_binary):
        outside = [v for v in values if not (v in labels or str(v) in text)]
        count = int((~raw.map(str).isin(text)).sum())
        raise AuditError(f"`model.predictions` column {est.predictions!r} of {source} holds labels that are not "
                         f"among the target's: predicted {_shown(outside)} ({count} of {len(raw)} rows); the target "
                         f"holds {_shown(labels)}. Predicted labels must be the target's labels (or 0/1 for "
                         "negative/positive).")
    label = positive_mask(raw, positive).astype(np.int8)
    score = est.score(frame)
    if score is None:
        return Predictions(score=label.astype(np.float64), label=label, probabilistic=False)
    if not np.isfinite(score).all():
        raise AuditError(f"`model.predictions.scores` column {est.scores!r} must hold numbers for every row; "
                         f"{int((~np.isfinite(score)).sum())} of {len(score)} rows of {source} are missing, "
                         "infinite or not numeric.")
    probabilistic = bool(((score >= 0) & (score <= 1)).all())
    return Predictions(score=score, label=label, probabilistic=probabilistic)


def obtain_model(cfg: AuditConfig, dataset: Dataset, *, given: Any,
                 say: Callable[[str], None]) -> tuple[FittedModel, bytes | None, str | None]:
    """The audited model, from any source: a Python object, prediction columns, ``model.train`` or ``model.load``.

    Returns the model, the ``.skops`` bytes of a model this audit trained (else None) and the SHA-256 of
    the model's file or bytes (None for an object or prediction columns). The model's features must be
    columns of the evaluation data.
    """
    from ._formats import ColumnPredictions

    binary = dataset.task == "binary"
    positive = dataset.positive_label if binary else None
    model_bytes, model_sha = None, None
    if given is not None:
        model = fitted_from_object(given, dataset_features=dataset.features, positive_label=positive,
                                   source="python", name="The `model` object passed to audit.run", path=None,
                                   sha256=None)
    elif cfg.model is not None and cfg.model.predictions is not None:
        spec = cfg.model.predictions
        if spec.scores is not None and not binary:
            raise AuditError(f"`model.predictions.scores` applies to binary audits; remove it for this "
                             f"{dataset.task} audit.")
        model = FittedModel(estimator=ColumnPredictions(predictions=spec.predictions, scores=spec.scores,
                                                        negative=dataset.negative_label if binary else None),
                            source="predictions", type_name=f"predictions in column {spec.predictions!r}",
                            features=dataset.features, positive_column=1 if binary else -1, positive_class=positive,
                            path=None, sha256=None, params={})
    elif cfg.model is not None and cfg.model.train is not None:
        say(f"training {cfg.model.train.estimator}")
        model = train_model(cfg, dataset)
        # Its own step: serialising a large model takes a while, and is not training.
        say("serialising the trained model (model.skops)")
        model_bytes = to_skops_bytes(model)
        model_sha = hashlib.sha256(model_bytes).hexdigest()
    else:
        say("loading model")
        model = load_model(cfg, dataset.features, positive)
        model_sha = model.sha256
    missing = [f for f in model.features if f not in dataset.test.columns]
    if missing:
        raise AuditError(f"The model ({model.type_name}) needs column(s) {', '.join(map(repr, missing))}, which "
                         f"{dataset.test.name} lacks. Audit it on data with the columns it was trained on.")
    return model, model_bytes, model_sha

