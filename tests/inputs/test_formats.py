"""Model formats: ONNX, LightGBM and XGBoost native files, MLflow models, Python objects, predictions alone.

Every model here is real and trained on the bundled Adult slice; each format's audit is compared with the
audit of the original object, or with scikit-learn's metrics on the same predictions.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

import audit
from audit import AuditError, config_from_dict
from helpers import adult_rows

ROWS = 2000
SENSITIVE = ["sex", "race"]


@pytest.fixture(scope="module", autouse=True)
def _one_openmp_thread():
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


def _complete(frame: pd.DataFrame) -> pd.DataFrame:
    # ONNX string inputs carry no missing values: the data names them, as many pipelines do upstream.
    out = frame.copy()
    for c in out.columns:
        if not pd.api.types.is_numeric_dtype(out[c]):
            out[c] = out[c].fillna("missing").astype(object)
    return out


@pytest.fixture(scope="module")
def adult(tmp_path_factory):
    folder = tmp_path_factory.mktemp("formats")
    train, test = _complete(adult_rows("train", ROWS)), _complete(adult_rows("test", ROWS))
    test.to_csv(folder / "test.csv", index=False)
    features = [c for c in train.columns if c not in ("income", *SENSITIVE)]
    return folder, train, test, features


def _raw(model: dict | None, **extra) -> dict:
    raw = {"name": "f", "data": {"test": "test.csv", "target": "income", "positive_label": ">50K",
                                 "sensitive": SENSITIVE},
           "bootstrap": {"replicates": 20}, "checks": {"explainability": {"method": "none"}}, **extra}
    if model is not None:
        raw["model"] = model
    return raw


def _config(folder, model: dict | None, **extra):
    return config_from_dict(_raw(model, **extra), source="audit.yaml", base_dir=str(folder))


@pytest.fixture(scope="module")
def logistic(adult):
    """The Adult pipeline (scaled numerics, one-hot categoricals, logistic regression), fitted."""
    _, train, _, features = adult
    numeric = [c for c in features if pd.api.types.is_numeric_dtype(train[c])]
    text = [c for c in features if c not in numeric]
    pipe = make_pipeline(ColumnTransformer([("num", StandardScaler(), numeric),
                                            ("cat", OneHotEncoder(handle_unknown="ignore"), text)]),
                         LogisticRegression(max_iter=1000))
    return pipe.fit(train[features], train["income"])


def _numbers(doc: dict) -> dict[str, float | None]:
    """Every number of the metrics and fairness sections, by path."""
    out: dict[str, float | None] = {}

    def walk(value, path):
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{path}/{k}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{path}/{i}")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[path] = value
        elif value is None:
            out[path] = None

    walk({"metrics": doc["metrics"], "fairness": doc["fairness"], "findings": doc["findings"]}, "")
    return out


def _assert_same_findings(a: dict, b: dict, tol: float) -> None:
    na, nb = _numbers(a), _numbers(b)
    assert na.keys() == nb.keys()
    for key in na:
        if na[key] is None or nb[key] is None:
            assert na[key] is None and nb[key] is None, key
        else:
            assert math.isclose(na[key], nb[key], rel_tol=0, abs_tol=tol), (key, na[key], nb[key])
    assert [f["status"] for f in a["findings"]] == [f["status"] for f in b["findings"]]


def test_a_python_object_is_audited_as_it_is(adult, logistic):
    folder, _, test, features = adult
    result = audit.run(_config(folder, None), model=logistic)
    doc = result.document
    assert doc["model"]["source"] == "python" and doc["model"]["type"].endswith("Pipeline")
    y = (test["income"] == ">50K").to_numpy()
    score = logistic.predict_proba(test[features])[:, list(logistic.classes_).index(">50K")]
    assert doc["metrics"]["overall"]["roc_auc"]["value"] == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    assert doc["metrics"]["overall"]["accuracy"]["value"] == pytest.approx(
        accuracy_score(test["income"], logistic.predict(test[features])), abs=1e-12)


def test_the_model_comes_from_one_place(adult, logistic):
    folder = adult[0]
    with pytest.raises(AuditError, match="either in the config's `model` section or as `model=`"):
        audit.run(_config(folder, {"load": "m.skops"}), model=logistic)
    with pytest.raises(AuditError, match=r"`model` is required.*`model=` to audit.run"):
        audit.run(_config(folder, None))


def test_an_onnx_export_of_the_adult_pipeline_gives_the_same_findings(adult, logistic, tmp_path):
    pytest.importorskip("onnxruntime")
    skl2onnx = pytest.importorskip("skl2onnx")
    from skl2onnx.common.data_types import DoubleTensorType, StringTensorType

    folder, _, test, features = adult
    types = [(c, DoubleTensorType([None, 1]) if pd.api.types.is_numeric_dtype(test[c]) else StringTensorType([None, 1]))
             for c in features]
    onx = skl2onnx.to_onnx(logistic, initial_types=types, options={"zipmap": False},
                           target_opset={"": 17, "ai.onnx.ml": 3})
    path = tmp_path / "adult.onnx"
    path.write_bytes(onx.SerializeToString())
    original = audit.run(_config(folder, None), model=logistic).document
    exported = audit.run(_config(folder, {"load": str(path)})).document
    assert exported["model"]["type"] == "audit.inputs._formats.OnnxModel"
    assert exported["model"]["sha256"] == exported["audit"]["model_sha256"] and len(exported["model"]["sha256"]) == 64
    _assert_same_findings(original, exported, 1e-6)


def test_an_onnx_file_that_is_not_onnx_is_named(adult, tmp_path):
    pytest.importorskip("onnxruntime")
    (tmp_path / "bad.onnx").write_bytes(b"not a model")
    with pytest.raises(AuditError, match="`model.load` file bad.onnx is not a readable ONNX model"):
        audit.run(_config(adult[0], {"load": str(tmp_path / "bad.onnx")}))


def _categorical(frame: pd.DataFrame, features: list[str]) -> pd.DataFrame:
    out = frame[features].copy()
    for c in features:
        if not pd.api.types.is_numeric_dtype(out[c]):
            out[c] = out[c].astype("category")
    return out


def _with_levels(frame: pd.DataFrame, train: pd.DataFrame) -> pd.DataFrame:
    """Text columns as categoricals with the training levels; unseen values missing."""
    out = frame.copy()
    for c in train.columns:
        if isinstance(train[c].dtype, pd.CategoricalDtype):
            levels = train[c].cat.categories
            out[c] = pd.Categorical(out[c].where(out[c].isin(levels)), categories=levels)
    return out


def test_a_lightgbm_text_model_is_audited_with_its_own_scores(adult, tmp_path):
    lgb = pytest.importorskip("lightgbm")
    folder, train, test, features = adult
    X = _categorical(train, features)
    booster = lgb.train({"objective": "binary", "num_leaves": 15, "verbose": -1, "num_threads": 1, "seed": 0},
                        lgb.Dataset(X, label=(train["income"] == ">50K").astype(int)), num_boost_round=20)
    booster.save_model(str(tmp_path / "adult.txt"))
    doc = audit.run(_config(folder, {"load": str(tmp_path / "adult.txt")})).document
    score = booster.predict(_with_levels(test[features], X))
    y = (test["income"] == ">50K").to_numpy()
    assert doc["model"]["type"] == "audit.inputs._formats.LightGBMModel"
    assert doc["metrics"]["overall"]["roc_auc"]["value"] == pytest.approx(roc_auc_score(y, score), abs=1e-9)
    assert doc["metrics"]["overall"]["f1"]["value"] == pytest.approx(f1_score(y, score > 0.5), abs=1e-12)


@pytest.mark.parametrize("suffix", [".json", ".ubj"])
def test_an_xgboost_model_file_is_audited_with_its_own_scores(adult, tmp_path, suffix):
    xgb = pytest.importorskip("xgboost")
    folder, train, test, features = adult
    X = _categorical(train, features)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3, "nthread": 1, "seed": 0},
                        xgb.DMatrix(X, label=(train["income"] == ">50K").astype(int), enable_categorical=True),
                        num_boost_round=20)
    booster.save_model(str(tmp_path / f"adult{suffix}"))
    doc = audit.run(_config(folder, {"load": str(tmp_path / f"adult{suffix}")})).document
    Xt = _with_levels(test[features], X)
    score = booster.predict(xgb.DMatrix(Xt, enable_categorical=True))
    y = (test["income"] == ">50K").to_numpy()
    assert doc["model"]["type"] == "audit.inputs._formats.XGBoostModel"
    assert doc["metrics"]["overall"]["roc_auc"]["value"] == pytest.approx(roc_auc_score(y, score), abs=1e-6)


def test_predictions_alone_are_audited_and_explainability_is_skipped_with_a_note(adult, logistic, tmp_path):
    _, _, test, features = adult
    frame = test.copy()
    frame["vendor_label"] = logistic.predict(test[features])
    frame["vendor_score"] = logistic.predict_proba(test[features])[:, 0]  # classes_ = ['<=50K', '>50K']
    frame["vendor_score"] = 1 - frame["vendor_score"]
    frame.to_csv(tmp_path / "test.csv", index=False)
    raw = _raw({"predictions": {"predictions": "vendor_label", "scores": "vendor_score"}})
    raw["checks"] = {}
    doc = audit.run(config_from_dict(raw, base_dir=str(tmp_path))).document
    y = (test["income"] == ">50K").to_numpy()
    assert doc["model"]["source"] == "predictions"
    assert "vendor_label" not in doc["model"]["features"] and "vendor_score" not in doc["model"]["features"]
    assert doc["metrics"]["overall"]["roc_auc"]["value"] == pytest.approx(
        roc_auc_score(y, frame["vendor_score"]), abs=1e-12)
    assert doc["metrics"]["overall"]["accuracy"]["value"] == pytest.approx(
        accuracy_score(y, frame["vendor_label"] == ">50K"), abs=1e-12)
    assert doc["explainability"]["status"] == "skipped"
    assert "given the model's predictions (model.predictions), not the model" in doc["explainability"]["note"]
    skipped = [f for f in doc["findings"] if f["check"] == "explainability"]
    assert len(skipped) == 1 and skipped[0]["status"] == "insufficient_data"
    card = audit.AuditResult(document=doc).to_html(tmp_path / "card.html").read_text()
    assert "given the model&#39;s predictions (model.predictions), not the model" in card


def test_predictions_without_scores_use_the_labels_and_a_missing_column_is_named(adult, tmp_path):
    _, _, test, _ = adult
    frame = test.copy()
    frame["decision"] = (frame["education-num"] >= 13).astype(int)
    frame.to_csv(tmp_path / "test.csv", index=False)
    doc = audit.run(config_from_dict(_raw({"predictions": {"predictions": "decision"}}),
                                     base_dir=str(tmp_path))).document
    y = (test["income"] == ">50K").to_numpy()
    assert doc["model"]["probabilistic"] is False
    assert doc["metrics"]["overall"]["accuracy"]["value"] == pytest.approx(
        accuracy_score(y, frame["decision"] == 1), abs=1e-12)
    with pytest.raises(AuditError, match="`model.predictions` must name a column of test.csv; got 'nope'"):
        audit.run(config_from_dict(_raw({"predictions": {"predictions": "nope"}}), base_dir=str(tmp_path)))


@pytest.mark.slow
def test_an_mlflow_model_needs_trust_and_loads_from_a_folder_and_the_registry(adult, logistic, tmp_path,
                                                                             monkeypatch):
    mlflow = pytest.importorskip("mlflow")
    # A local file store keeps the test free of a database; MLflow asks for this opt-in to use one.
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    import mlflow.sklearn

    folder, _, test, features = adult
    mlflow.sklearn.save_model(logistic, str(tmp_path / "mlmodel"), serialization_format="pickle")
    with pytest.raises(AuditError, match="is an MLflow model, and MLflow unpickles models.*It was not opened"):
        audit.run(_config(folder, {"load": f"mlflow:{tmp_path / 'mlmodel'}"}))
    original = audit.run(_config(folder, None), model=logistic).document
    loaded = audit.run(_config(folder, {"load": f"mlflow:{tmp_path / 'mlmodel'}", "trust": True})).document
    assert loaded["model"]["sha256"] is not None
    _assert_same_findings(original, loaded, 1e-12)

    store = f"file:{tmp_path / 'mlruns'}"
    mlflow.set_tracking_uri(store)
    mlflow.set_registry_uri(store)
    try:
        with mlflow.start_run():
            mlflow.sklearn.log_model(logistic, name="model", registered_model_name="adult-income",
                                     serialization_format="pickle")
    finally:
        mlflow.set_tracking_uri(None)
    registered = audit.run(_config(folder, {"load": "models:/adult-income/1", "trust": True,
                                            "tracking_uri": store})).document
    _assert_same_findings(original, registered, 1e-12)
