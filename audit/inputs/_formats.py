"""Model formats beyond scikit-learn files: ONNX, LightGBM and XGBoost native files, MLflow models, and a
column of predictions made elsewhere.

Each loader returns an object with the scikit-learn surface the audit uses (``predict``, and
``predict_proba`` with ``classes_`` for classifiers), so the rest of the audit treats every format alike.
Optional libraries are imported lazily through :func:`require`, whose error names the extra to install.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._errors import AuditError
from .._extras import require

__all__ = ["OnnxModel", "LightGBMModel", "XGBoostModel", "ColumnPredictions", "load_onnx",
           "load_lightgbm", "load_xgboost", "load_mlflow", "is_mlflow_uri", "MLFLOW_SCHEMES"]

#: ``model.load`` values that name an MLflow model rather than a file.
MLFLOW_SCHEMES = ("mlflow:", "models:/", "runs:/")


def _sanitised(name: str) -> str:
    return re.sub(r"[^0-9A-Za-z]+", "_", name).strip("_").lower()


class OnnxModel:
    """An ONNX model run by onnxruntime, with the scikit-learn classifier or regressor surface.

    Inputs are matched to data columns by name (also after replacing characters other than letters and
    digits by ``_``, as scikit-learn converters do); a model with a single 2-D input takes the features in
    order. String inputs get the text of each value (missing values as the empty string); numeric inputs
    get the column in the input's precision. The first output is the label; a second one, the class
    probabilities (as an array, or as one mapping per row).
    """

    def __init__(self, path: Path, *, features: tuple[str, ...]) -> None:
        ort = require("onnxruntime", extra="onnx", purpose="Reading ONNX models")
        try:
            self._session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types on a damaged file
            raise AuditError(f"`model.load` file {path.name} is not a readable ONNX model: "
                             f"{str(exc).splitlines()[0]}.") from None
        self._inputs = self._session.get_inputs()
        self._outputs = [o.name for o in self._session.get_outputs()]
        by_name = {c: c for c in features} | {_sanitised(c): c for c in features}
        if len(self._inputs) == 1 and len(self._inputs[0].shape) == 2 and self._inputs[0].name not in by_name:
            self._columns: list[str] | None = None
            self.feature_names_in_ = np.asarray(features, dtype=object)
        else:
            missing = [i.name for i in self._inputs if i.name not in by_name and _sanitised(i.name) not in by_name]
            if missing:
                raise AuditError(f"`model.load` ONNX model {path.name} has inputs {', '.join(map(repr, missing))} "
                                 "that match no data column; rename the columns or the model's inputs.")
            self._columns = [by_name.get(i.name, by_name.get(_sanitised(i.name))) for i in self._inputs]
            self.feature_names_in_ = np.asarray(self._columns, dtype=object)
        labels = self._class_labels(path)
        if labels is not None:
            self.classes_ = labels
        self.path = path

    def _class_labels(self, path: Path) -> np.ndarray | None:
        onnx = require("onnx", extra="onnx", purpose="Reading ONNX models")
        import onnx.numpy_helper
        graph = onnx.load(str(path)).graph
        for node in graph.node:
            for attribute in node.attribute:
                if attribute.name == "classlabels_strings" and attribute.strings:
                    return np.asarray([s.decode("utf-8") for s in attribute.strings], dtype=object)
                if attribute.name in ("classlabels_int64s", "classlabels_ints") and attribute.ints:
                    return np.asarray(list(attribute.ints))
        # scikit-learn's linear converters pick the label from a constant table of classes by the argmax.
        constants = {init.name: init for init in graph.initializer}
        for node in graph.node:
            if node.op_type == "ArrayFeatureExtractor" and node.input and node.input[0] in constants:
                values = onnx.numpy_helper.to_array(constants[node.input[0]])
                return np.asarray([v.decode("utf-8") if isinstance(v, bytes) else v for v in values.ravel()],
                                  dtype=object if values.dtype.kind in "OSU" else values.dtype)
        return None

    @staticmethod
    def _array(column: pd.Series, kind: str) -> np.ndarray:
        if kind == "tensor(string)":
            text = column.astype(object).where(column.notna(), "").map(str)
            return text.to_numpy(dtype=object).reshape(-1, 1)
        dtype = {"tensor(double)": np.float64, "tensor(float)": np.float32, "tensor(int64)": np.int64,
                 "tensor(int32)": np.int32}.get(kind, np.float64)
        return pd.to_numeric(column, errors="coerce").to_numpy(dtype=dtype).reshape(-1, 1)

    def _run(self, X: pd.DataFrame) -> list[Any]:
        if self._columns is None:
            kind = self._inputs[0].type
            dtype = np.float32 if kind == "tensor(float)" else np.float64
            feed = {self._inputs[0].name: X[list(self.feature_names_in_)].to_numpy(dtype=dtype)}
        else:
            feed = {i.name: self._array(X[c], i.type) for i, c in zip(self._inputs, self._columns)}
        return self._session.run(None, feed)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        out = np.asarray(self._run(X)[0])
        return out.ravel() if out.ndim == 2 and out.shape[1] == 1 else out

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        outputs = self._run(X)
        if len(outputs) < 2:
            raise AuditError(f"ONNX model {self.path.name} has no probability output; it is audited by its labels.")
        proba = outputs[1]
        if isinstance(proba, list):  # ZipMap: one {class: probability} mapping per row
            keys = list(getattr(self, "classes_", list(proba[0]) if proba else []))
            return np.asarray([[row[k] for k in keys] for row in proba], dtype=np.float64)
        return np.asarray(proba, dtype=np.float64)


def _has_probabilities(model: OnnxModel) -> bool:
    return len(model._outputs) >= 2 and hasattr(model, "classes_")


def load_onnx(path: Path, *, features: tuple[str, ...]) -> Any:
    """An ONNX classifier (label and probability outputs) or regressor (one output)."""
    model = OnnxModel(path, features=features)
    if not _has_probabilities(model):
        return _LabelsOnly(model)
    return model


class _LabelsOnly:
    """An ONNX model without class probabilities: a regressor, or a classifier audited by its labels."""

    def __init__(self, inner: OnnxModel) -> None:
        self._inner = inner
        self.feature_names_in_ = inner.feature_names_in_

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self._inner.predict(X)


class LightGBMModel:
    """A LightGBM ``Booster`` read from its text model file.

    Binary objectives score class 1 (``classes_`` is ``[0, 1]``), multiclass objectives one column per
    class, regression objectives are regressors. Text columns are made categorical with the levels
    the model stored (LightGBM maps them to its own codes).
    """

    def __init__(self, path: Path) -> None:
        lgb = require("lightgbm", extra="lightgbm", purpose="Reading LightGBM models")
        try:
            self._booster = lgb.Booster(model_file=str(path))
        except Exception as exc:  # lightgbm raises LightGBMError on a bad file
            raise AuditError(f"`model.load` file {path.name} is not a readable LightGBM model: "
                             f"{str(exc).splitlines()[0]}.") from None
        self.feature_names_in_ = np.asarray(self._booster.feature_name(), dtype=object)
        objective = str(self._booster.params.get("objective", "")) or _lgb_objective(path)
        self.objective = objective
        n_classes = int(self._booster.params.get("num_class", 1) or 1)
        if objective.startswith(("binary", "cross_entropy", "xentropy")):
            self.classes_ = np.array([0, 1])
        elif objective.startswith(("multiclass", "softmax", "multiclassova")):
            self.classes_ = np.arange(max(n_classes, self._booster.num_model_per_iteration()))

    def _frame(self, X: pd.DataFrame) -> pd.DataFrame:
        frame = X[list(self.feature_names_in_)]
        text = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
        levels = list(getattr(self._booster, "pandas_categorical", None) or [])
        if text:
            frame = frame.copy()
            for i, c in enumerate(text):
                if i < len(levels):
                    # The training levels, in their order (LightGBM codes categories by position); a value
                    # the model never saw is missing to it, as in LightGBM's own pandas handling.
                    known = frame[c].where(frame[c].isin(levels[i]))
                    frame[c] = pd.Categorical(known, categories=levels[i])
                else:
                    frame[c] = frame[c].astype("category")
        return frame

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        raw = np.asarray(self._booster.predict(self._frame(X)), dtype=np.float64)
        return np.column_stack([1 - raw, raw]) if raw.ndim == 1 else raw

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        if hasattr(self, "classes_"):
            return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
        return np.asarray(self._booster.predict(self._frame(X)), dtype=np.float64)


def _lgb_objective(path: Path) -> str:
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.startswith("objective="):
                return line.split("=", 1)[1].strip()
            if line.startswith("Tree="):
                break
    return ""


class XGBoostModel:
    """An XGBoost ``Booster`` read from its JSON or UBJSON model file (no pickle involved).

    ``binary:*`` objectives score class 1, ``multi:softprob`` one column per class (``multi:softmax``
    gives labels only), other objectives are regressors.
    """

    def __init__(self, path: Path) -> None:
        xgb = require("xgboost", extra="xgboost", purpose="Reading XGBoost models")
        self._xgb = xgb
        try:
            self._booster = xgb.Booster(model_file=str(path))
        except Exception as exc:  # xgboost raises XGBoostError on a bad file
            raise AuditError(f"`model.load` file {path.name} is not a readable XGBoost model: "
                             f"{str(exc).splitlines()[0]}.") from None
        config = json.loads(self._booster.save_config())
        self.objective = config["learner"]["objective"]["name"]
        names = self._booster.feature_names
        if names is None:
            raise AuditError(f"`model.load` XGBoost model {path.name} has no feature names; train it on a "
                             "DataFrame (or set `feature_names`) so that its columns can be matched to the data.")
        self.feature_names_in_ = np.asarray(names, dtype=object)
        n_classes = int(config["learner"]["learner_model_param"].get("num_class", "0") or 0)
        if self.objective.startswith("binary:"):
            self.classes_ = np.array([0, 1])
        elif self.objective == "multi:softprob":
            self.classes_ = np.arange(n_classes)
        self._multi_labels = self.objective == "multi:softmax"

    def _matrix(self, X: pd.DataFrame) -> Any:
        frame = X[list(self.feature_names_in_)]
        text = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
        if text:
            frame = frame.copy()
            for c in text:
                frame[c] = frame[c].astype("category")
        return self._xgb.DMatrix(frame, enable_categorical=True)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        raw = np.asarray(self._booster.predict(self._matrix(X)), dtype=np.float64)
        return np.column_stack([1 - raw, raw]) if raw.ndim == 1 else raw

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        if hasattr(self, "classes_"):
            return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
        raw = np.asarray(self._booster.predict(self._matrix(X)))
        return raw.astype(np.int64) if self._multi_labels else raw.astype(np.float64)


def load_lightgbm(path: Path) -> LightGBMModel:
    """A LightGBM text model file (``Booster.save_model``)."""
    return LightGBMModel(path)


def load_xgboost(path: Path) -> XGBoostModel:
    """An XGBoost ``.json`` or ``.ubj`` model file (``Booster.save_model``)."""
    return XGBoostModel(path)


def is_mlflow_uri(spec: str) -> bool:
    """Whether ``model.load`` names an MLflow model.

    Examples
    --------
    >>> is_mlflow_uri("models:/income/1"), is_mlflow_uri("mlflow:/tmp/model"), is_mlflow_uri("m.skops")
    (True, True, False)
    """
    return spec.startswith(MLFLOW_SCHEMES)


def _tree_sha256(folder: Path) -> str:
    """SHA-256 over a folder's files: each file's relative path and bytes, in sorted order."""
    import hashlib

    digest = hashlib.sha256()
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(file.relative_to(folder).as_posix().encode("utf-8") + b"\0")
        with open(file, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def load_mlflow(uri: str, *, base_dir: Path, tracking_uri: str | None) -> tuple[Any, str, str]:
    """An MLflow model: ``mlflow:PATH`` (or a folder holding ``MLmodel``), or a ``models:/``/``runs:/``
    URI against ``tracking_uri``. Returns the model, where it was read from and its SHA-256.

    The model's files are first copied to a local folder (as MLflow does for any URI), hashed, and
    loaded from there, so the hash is that of what was loaded. A scikit-learn flavour is loaded as the
    estimator itself (so it keeps ``predict_proba``); any other flavour through ``mlflow.pyfunc``
    (``predict`` only). Either way MLflow unpickles the model: the caller requires ``model.trust: true``.
    """
    mlflow = require("mlflow", extra="mlflow", purpose="Reading MLflow models")
    target = uri.removeprefix("mlflow:")
    if not target.startswith(("models:/", "runs:/")):
        local = Path(target).expanduser()
        target = str(local if local.is_absolute() else base_dir / local)
    previous = mlflow.get_tracking_uri()
    previous_registry = mlflow.get_registry_uri()
    # Recent MLflow refuses a local file store unless this is set; reading one is what `tracking_uri` asks for.
    allow_file_store = bool(tracking_uri and tracking_uri.startswith("file:")
                            and "MLFLOW_ALLOW_FILE_STORE" not in os.environ)
    if allow_file_store:
        os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    try:
        if tracking_uri:
            mlflow.set_tracking_uri(tracking_uri)
            mlflow.set_registry_uri(tracking_uri)
        import mlflow.artifacts
        from mlflow.models import Model

        try:
            folder = Path(mlflow.artifacts.download_artifacts(artifact_uri=target))
            flavors = Model.load(str(folder)).flavors
        except Exception as exc:  # MLflow raises MlflowException and OSError subclasses
            raise AuditError(f"`model.load` MLflow model {uri!r} could not be read: "
                             f"{str(exc).splitlines()[0]}. Check the URI and `model.tracking_uri`.") from None
        sha = _tree_sha256(folder)
        if "sklearn" in flavors:
            import mlflow.sklearn

            return mlflow.sklearn.load_model(str(folder)), str(folder), sha
        import mlflow.pyfunc

        return mlflow.pyfunc.load_model(str(folder)), str(folder), sha
    finally:
        mlflow.set_tracking_uri(previous)
        mlflow.set_registry_uri(previous_registry)
        if allow_file_store:
            del os.environ["MLFLOW_ALLOW_FILE_STORE"]


class ColumnPredictions:
    """Predictions made elsewhere, read from columns of the evaluation data.

    ``predict`` returns the ``predictions`` column and ``score`` the ``scores`` column (binary
    positive-class scores), or None without one: the audit then scores by the label itself.
    """

    def __init__(self, *, predictions: str, scores: str | None, negative: Any = None) -> None:
        self.predictions = predictions
        self.scores = scores
        #: The target's negative label (binary), so that predictions can be checked against both labels.
        self.negative = negative
        self.feature_names_in_ = np.asarray([], dtype=object)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return X[self.predictions].to_numpy()

    def score(self, X: pd.DataFrame) -> np.ndarray | None:
        if self.scores is None:
            return None
        return pd.to_numeric(X[self.scores], errors="coerce").to_numpy(dtype=np.float64)
