"""Models: trained in the standard pipeline, loaded safely (no unpickling without an explicit opt-in).

Every model file here is real: a pickle that would write a file when opened, a joblib-saved scikit-learn
pipeline, a .skops file holding a class skops does not trust by default.
"""

from __future__ import annotations

import pathlib
import pickle
import sys
import textwrap
from dataclasses import replace

import joblib
import numpy as np
import pytest
import skops.io as sio
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

import audit
from audit import AuditError, config_from_dict
from audit.inputs._data import load_dataset, sha256_file
from audit.inputs._model import _categoricals_as_text, load_model, predict, to_skops_bytes, train_model
from helpers import adult_rows

ROWS = 3000
SENSITIVE = ["sex", "race"]


class _Payload:
    """Unpickling this writes a file: what a hostile model file can do (here harmlessly, inside tmp_path)."""

    def __init__(self, target: pathlib.Path) -> None:
        self.target = target

    def __reduce__(self):
        return (pathlib.Path.write_text, (pathlib.Path(self.target), "pwned"))


@pytest.fixture(scope="module", autouse=True)
def _one_openmp_thread():
    # Gradient boosting spins OpenMP threads; on a busy machine (another test run alongside) that costs
    # tens of seconds. One thread keeps these tests fast and their timings steady.
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


@pytest.fixture(scope="module")
def adult_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    adult_rows("test", ROWS).to_csv(folder / "test.csv", index=False)
    adult_rows("train", ROWS).to_csv(folder / "train.csv", index=False)
    return folder


def _raw(model: dict) -> dict:
    return {"name": "m", "data": {"test": "test.csv", "train": "train.csv", "target": "income",
                                  "positive_label": ">50K", "sensitive": SENSITIVE},
            "model": model, "bootstrap": {"replicates": 20}, "checks": {"explainability": {"method": "none"}}}


def _config(folder, model: dict):
    return config_from_dict(_raw(model), source="audit.yaml", base_dir=str(folder))


_HGB = {"train": {"estimator": "sklearn.ensemble.HistGradientBoostingClassifier", "params": {"max_iter": 30}}}


@pytest.fixture(scope="module")
def hgb(adult_files):
    """A gradient-boosted pipeline trained by the toolkit on the Adult slice: config, data and model."""
    cfg = _config(adult_files, _HGB)
    ds = load_dataset(cfg)
    return cfg, ds, train_model(cfg, ds)


# --- pickles ---------------------------------------------------------------------------------------------


def test_the_payload_is_real(tmp_path):
    """Control for the tests below: unpickling the payload does write its file."""
    marker = tmp_path / "pwned"
    pickle.loads(pickle.dumps(_Payload(marker)))
    assert marker.read_text() == "pwned"


@pytest.mark.parametrize("suffix", [".pkl", ".joblib", ".pickle", ".PKL"])
def test_a_malicious_pickle_is_refused_without_trust_and_never_runs(adult_files, tmp_path, suffix):
    marker = tmp_path / "pwned"
    model_file = tmp_path / f"evil{suffix}"
    model_file.write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(AuditError) as exc:
        audit.run(_config(adult_files, {"load": str(model_file)}))
    message = str(exc.value)
    assert message.startswith(f"`model.load` file evil{suffix} is a pickle, and loading a pickle runs any code it "
                              "holds. It was not opened.")
    assert "`model.trust: true`" in message and ".skops" in message
    assert not marker.exists()


def test_load_model_refuses_a_pickle_by_itself(tmp_path):
    marker = tmp_path / "pwned"
    (tmp_path / "evil.joblib").write_bytes(pickle.dumps(_Payload(marker)))
    cfg = _config(tmp_path, {"load": "evil.joblib", "trust": False})
    with pytest.raises(AuditError, match="is a pickle.*Set `model.trust: true` only if you trust"):
        load_model(cfg, ("age",), ">50K")
    assert not marker.exists()


def test_with_trust_a_pickle_is_opened_and_a_non_model_is_refused(adult_files, tmp_path):
    """`trust: true` really does unpickle (so the refusals above are what protects); a non-model is named."""
    marker = tmp_path / "pwned"
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(AuditError) as exc:
        audit.run(_config(adult_files, {"load": str(tmp_path / "evil.pkl"), "trust": True}))
    assert str(exc.value) == "`model.load` file evil.pkl holds an object of type int, not a model with `predict`."
    assert marker.read_text() == "pwned"


@pytest.mark.parametrize("suffix", [".skops", ".pt", ".pkl.gz"])
def test_a_pickle_under_another_extension_is_never_unpickled(adult_files, tmp_path, suffix):
    marker = tmp_path / "pwned"
    model_file = tmp_path / f"evil{suffix}"
    model_file.write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(AuditError) as exc:
        audit.run(_config(adult_files, {"load": str(model_file), "trust": True}))
    if suffix == ".skops":
        assert str(exc.value).startswith("`model.load` file evil.skops is not a readable .skops file: ")
    else:
        assert str(exc.value) == UNSUPPORTED.format(name=f"evil{suffix}")
    assert not marker.exists()


# --- a trusted joblib pipeline ------------------------------------------------------------------------------


def test_a_trusted_joblib_pipeline_loads_and_is_audited(adult_files):
    """A pipeline built and saved outside the toolkit, fitted on the text labels."""
    train = adult_rows("train", ROWS)
    features = [c for c in train.columns if c not in ("income", *SENSITIVE)]
    numeric = [c for c in features if train[c].dtype.kind in "if"]
    categorical = [c for c in features if c not in numeric]
    pipeline = Pipeline([
        ("columns", ColumnTransformer([
            ("num", StandardScaler(), numeric),
            ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                  OneHotEncoder(handle_unknown="ignore", sparse_output=False)), categorical),
        ])),
        ("model", LogisticRegression(max_iter=1000)),
    ]).fit(train[features].astype({c: object for c in categorical}), train["income"])
    assert list(pipeline.classes_) == ["<=50K", ">50K"]
    joblib.dump(pipeline, adult_files / "model.joblib")

    result = audit.run(_config(adult_files, {"load": "model.joblib", "trust": True}))
    doc = result.document
    assert doc["model"]["source"] == "loaded" and doc["model"]["type"] == "sklearn.pipeline.Pipeline"
    assert doc["model"]["features"] == features and doc["model"]["file"] == "model.joblib"
    assert doc["model"]["sha256"] == sha256_file(adult_files / "model.joblib")
    assert result.model_bytes is None  # a loaded model is not re-serialised

    test = adult_rows("test", ROWS)
    y = (test["income"] == ">50K").to_numpy()
    proba = pipeline.predict_proba(test[features].astype({c: object for c in categorical}))[:, 1]
    overall = doc["metrics"]["overall"]
    assert overall["roc_auc"]["value"] == pytest.approx(roc_auc_score(y, proba), abs=1e-9)
    assert overall["accuracy"]["value"] == pytest.approx(accuracy_score(y, proba > 0.5), abs=1e-12)
    assert 0.8 < overall["roc_auc"]["value"] < 0.95
    assert doc["data"]["rows"] == ROWS and doc["data"]["positives"] == int(y.sum())


# --- .skops and its trusted types ---------------------------------------------------------------------------

_CUSTOM = '''
from pathlib import Path

from sklearn.linear_model import LogisticRegression


class MarkedLogit(LogisticRegression):
    """A logistic regression that leaves a file behind whenever an instance is rebuilt from a file."""

    def __setstate__(self, state):
        super().__setstate__(state)
        if state.get("marker_path"):
            Path(state["marker_path"]).write_text("constructed")
'''


@pytest.fixture
def custom_module(tmp_path, monkeypatch):
    """A module outside every trusted package, importable for this test only."""
    name = f"audit_test_custom_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(_CUSTOM), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def test_skops_refuses_a_custom_type_by_name_and_accepts_it_when_listed(adult_files, tmp_path, custom_module):
    type_name = f"{custom_module}.MarkedLogit"
    cfg = _config(adult_files, {"train": {"estimator": type_name, "params": {"max_iter": 1000}}})
    model = train_model(cfg, load_dataset(cfg))
    marker = tmp_path / "constructed"
    model.estimator[-1].marker_path = str(marker)
    (tmp_path / "custom.skops").write_bytes(to_skops_bytes(model))
    untrusted = sio.get_untrusted_types(file=tmp_path / "custom.skops")
    assert type_name in untrusted
    others = [t for t in untrusted if t != type_name]  # what skops does not trust in any such pipeline

    with pytest.raises(AuditError) as exc:
        audit.run(_config(adult_files, {"load": str(tmp_path / "custom.skops")}))
    assert str(exc.value) == (
        f"`model.load` file custom.skops holds types that are not trusted by default: {', '.join(untrusted)}. "
        "Loading runs code of these types; if you trust where the file came from, list them under "
        "`model.trusted_types`.")
    assert not marker.exists()  # refused before anything was built
    # Trusting everything else is not trusting this type; `trust: true` is for pickles, not for .skops.
    with pytest.raises(AuditError) as exc:
        audit.run(_config(adult_files, {"load": str(tmp_path / "custom.skops"), "trust": True,
                                        "trusted_types": others}))
    assert f"holds types that are not trusted by default: {type_name}. Loading runs" in str(exc.value)
    assert not marker.exists()

    result = audit.run(_config(adult_files, {"load": str(tmp_path / "custom.skops"), "trusted_types": untrusted}))
    assert marker.read_text() == "constructed"
    assert result.document["model"]["type"] == "sklearn.pipeline.Pipeline"
    ds = load_dataset(cfg)
    trained = predict(model, ds.test.frame)
    assert result.document["metrics"]["overall"]["roc_auc"]["value"] == pytest.approx(
        roc_auc_score(ds.y_test, trained.score), abs=1e-12)


def test_skops_names_every_untrusted_scikit_learn_internal_until_all_are_listed(adult_files, tmp_path, hgb):
    _, _, model = hgb
    (tmp_path / "hgb.skops").write_bytes(to_skops_bytes(model))
    tree = "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"
    untrusted = sio.get_untrusted_types(file=tmp_path / "hgb.skops")
    assert tree in untrusted
    with pytest.raises(AuditError) as exc:
        audit.run(_config(adult_files, {"load": str(tmp_path / "hgb.skops")}))
    assert f"holds types that are not trusted by default: {', '.join(untrusted)}." in str(exc.value)
    # Trusting the others is not enough: the one left is named, alone.
    with pytest.raises(AuditError) as exc:
        audit.run(_config(adult_files, {"load": str(tmp_path / "hgb.skops"),
                                        "trusted_types": [t for t in untrusted if t != tree]}))
    assert f"holds types that are not trusted by default: {tree}. Loading runs" in str(exc.value)
    result = audit.run(_config(adult_files, {"load": str(tmp_path / "hgb.skops"), "trusted_types": untrusted}))
    assert result.document["model"]["sha256"] == sha256_file(tmp_path / "hgb.skops")
    assert result.document["model"]["type"] == "sklearn.pipeline.Pipeline"
    assert result.document["model"]["source"] == "loaded"


def test_a_damaged_skops_file_is_named(adult_files, tmp_path):
    (tmp_path / "broken.skops").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(AuditError, match=r"^`model.load` file broken.skops is not a readable .skops file: "):
        audit.run(_config(adult_files, {"load": str(tmp_path / "broken.skops")}))


def test_trained_model_bytes_are_reproducible_and_load_back(hgb):
    cfg, ds, model = hgb
    data = to_skops_bytes(model)
    assert data == to_skops_bytes(train_model(cfg, ds))
    loaded = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    reloaded = predict(replace(model, estimator=loaded), ds.test.frame)
    np.testing.assert_array_equal(reloaded.score, predict(model, ds.test.frame).score)


# --- other files ----------------------------------------------------------------------------------------------


UNSUPPORTED = ("`model.load` must be a .skops, .onnx, LightGBM .txt or XGBoost .json/.ubj file, an MLflow model "
               "(or .joblib/.pkl with `model.trust: true`); got {name}.")


@pytest.mark.parametrize("name, content", [
    ("model.h5", b"\x89HDF\r\n\x1a\n"),
    ("model.pt", b"PK\x03\x04 torch"),
    ("model", b"no extension at all"),
])
@pytest.mark.parametrize("trust", [False, True])
def test_an_unsupported_extension_is_refused(adult_files, tmp_path, name, content, trust):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(AuditError) as exc:
        audit.run(_config(adult_files, {"load": str(tmp_path / name), "trust": trust}))
    assert str(exc.value) == UNSUPPORTED.format(name=name)


@pytest.mark.parametrize("name, content, kind", [
    ("model.onnx", b"\x08\x07\x12\x07pytorch", "ONNX"),
    ("model.json", b'{"weights": [1, 2]}', "XGBoost"),
    ("model.txt", b"a text file, not a model", "LightGBM"),
])
def test_a_damaged_native_model_file_is_named(adult_files, tmp_path, name, content, kind):
    pytest.importorskip({"ONNX": "onnxruntime", "XGBoost": "xgboost", "LightGBM": "lightgbm"}[kind])
    (tmp_path / name).write_bytes(content)
    with pytest.raises(AuditError, match=f"^`model.load` file {name} is not a readable {kind} model: "):
        audit.run(_config(adult_files, {"load": str(tmp_path / name)}))


def test_a_missing_model_file_is_named(adult_files):
    with pytest.raises(AuditError) as exc:
        audit.run(_config(adult_files, {"load": "models/model.skops"}))
    assert str(exc.value) == (f"`model.load` must name an existing model file; got 'models/model.skops' "
                              f"(looked for {adult_files / 'models' / 'model.skops'}).")


@pytest.mark.parametrize("model, expected", [
    ({"train": {"estimator": "sklearn.linear_model.NoSuchModel"}},
     "`model.train.estimator` must name an estimator class with `fit`; got 'sklearn.linear_model.NoSuchModel'."),
    ({"train": {"estimator": "nosuchpackage.Model"}},
     "`model.train.estimator` must be the import path of an installed estimator class such as "
     "'sklearn.ensemble.HistGradientBoostingClassifier'; got 'nosuchpackage.Model', whose module cannot be found."),
    ({"train": {"estimator": "LogisticRegression"}},
     "`model.train.estimator` must be the import path of an installed estimator class such as "
     "'sklearn.ensemble.HistGradientBoostingClassifier'; got 'LogisticRegression'"),
    ({"train": {"estimator": "sklearn.linear_model.LogisticRegression", "params": {"depth": 3}}},
     "`model.train.params` must be parameters of sklearn.linear_model.LogisticRegression; "),
])
def test_model_train_errors_name_the_field(adult_files, model, expected):
    with pytest.raises(AuditError) as exc:
        audit.run(_config(adult_files, model))
    assert str(exc.value).startswith(expected)


# --- predictions of a trained model ---------------------------------------------------------------------------


def test_predictions_of_a_trained_gradient_boosting_pipeline(hgb):
    _, ds, model = hgb
    assert model.source == "trained" and model.type_name == "sklearn.ensemble.HistGradientBoostingClassifier"
    assert isinstance(model.estimator[-1], HistGradientBoostingClassifier)
    frame = ds.train.frame
    categorical = [f for f in ds.features if not pd.api.types.is_numeric_dtype(frame[f])]
    numeric = [f for f in ds.features if f not in categorical]
    assert model.estimator[-1].random_state == 0 and model.params == {
        "max_iter": 30, "random_state": 0,
        "categorical_features": list(range(len(numeric), len(ds.features)))}
    assert model.features == ds.features and not set(SENSITIVE) & set(model.features)
    preds = predict(model, ds.test.frame)
    assert preds.probabilistic
    assert preds.score.shape == preds.label.shape == (ROWS,)
    assert preds.score.dtype == np.float64 and preds.label.dtype == np.int8
    assert ((preds.score >= 0) & (preds.score <= 1)).all()
    np.testing.assert_array_equal(preds.label, (preds.score > 0.5).astype(np.int8))
    assert 0 < preds.label.mean() < ds.y_test.mean() + 0.1  # both classes predicted
    assert roc_auc_score(ds.y_test, preds.score) > 0.85
    assert accuracy_score(ds.y_test, preds.label) > 0.8


# --- model outputs that are not predictions ------------------------------------------------------------------

import pandas as pd  # noqa: E402

from audit.inputs._model import FittedModel, check_labels, check_scores, fitted_from_object, predict_values  # noqa: E402


class _Fixed:
    """A classifier whose outputs are given: what a broken model file or a mis-encoded input produces."""

    def __init__(self, proba=None, labels=None, decision=None, classes=(0, 1)):
        self.classes_ = np.asarray(classes)
        self._proba, self._labels, self._decision = proba, labels, decision

    def __getattr__(self, name):
        # Without given probabilities the object has no predict_proba (scored by its decision function).
        if name == "predict_proba" and self.__dict__.get("_proba") is not None:
            return lambda X: np.asarray(self._proba, dtype=float)
        raise AttributeError(name)

    def decision_function(self, X):
        return np.asarray(self._decision, dtype=float)

    def predict(self, X):
        return np.asarray(self._labels)


def _fixed(**outputs) -> FittedModel:
    return fitted_from_object(_Fixed(**outputs), dataset_features=("x",), positive_label=1, source="python",
                              name="the object", path=None, sha256=None)


FRAME = pd.DataFrame({"x": np.arange(6.0)})
GOOD = [[0.9, 0.1], [0.2, 0.8]] * 3


@pytest.mark.parametrize("proba, expected", [
    ([[np.nan, np.nan]] * 6, "NaN or infinite probabilities for 6 of 6 rows of t.csv"),
    ([[0.5, 0.5]] * 4 + [[np.nan, 0.5], [0.5, np.inf]], "NaN or infinite probabilities for 2 of 6 rows"),
    ([[-0.5, 1.5]] + GOOD[:5], "probabilities outside [0, 1] for 1 of 6 rows of t.csv"),
    ([[2.0, 3.0]] * 6, "probabilities outside [0, 1] for 6 of 6 rows"),
])
def test_probabilities_that_are_not_probabilities_are_bad_input(proba, expected):
    model = _fixed(proba=proba, labels=[0, 1] * 3)
    with pytest.raises(AuditError, match="The model \\(the model object") as exc:
        predict(model, FRAME, source="t.csv")
    assert expected in str(exc.value)


@pytest.mark.parametrize("decision, bad", [([np.nan] * 6, 6), ([0.1, -0.2, np.inf, 1.0, -np.inf, 0.0], 2)])
def test_scores_that_are_not_numbers_are_bad_input(decision, bad):
    model = _fixed(decision=decision, labels=[0, 1] * 3)
    with pytest.raises(AuditError, match=f"NaN or infinite scores for {bad} of 6 rows of t.csv"):
        predict(model, FRAME, source="t.csv")


@pytest.mark.parametrize("labels, shown", [(["yes", "no"] * 3, "'yes', 'no'"), ([0, 1, 2, 0, 1, 1], "2"),
                                           ([0, 1, None, 0, 1, 1], "None")])
def test_predicted_labels_outside_the_model_classes_are_bad_input(labels, shown):
    model = _fixed(proba=GOOD, labels=np.asarray(labels, dtype=object))
    with pytest.raises(AuditError, match="predicted labels that are not among its classes") as exc:
        predict(model, FRAME, source="t.csv")
    assert f"predicted {shown}; classes 0, 1" in str(exc.value)


def test_valid_outputs_pass_unchanged():
    model = _fixed(proba=GOOD, labels=[0, 1] * 3)
    preds = predict(model, FRAME, source="t.csv")
    assert preds.score.tolist() == [0.1, 0.8] * 3 and preds.label.tolist() == [0, 1] * 3
    # Probabilities exactly 0 and 1 are probabilities.
    assert predict(_fixed(proba=[[1.0, 0.0], [0.0, 1.0]] * 3, labels=[0, 1] * 3), FRAME).score.tolist() == [0, 1] * 3


def test_multiclass_outputs_are_checked_too():
    nan = fitted_from_object(_Fixed(proba=[[np.nan] * 3] * 6, labels=["a", "b", "c"] * 2, classes=("a", "b", "c")),
                             dataset_features=("x",), positive_label=None, source="python", name="m", path=None,
                             sha256=None)
    with pytest.raises(AuditError, match="NaN or infinite probabilities for 6 of 6 rows of t.csv"):
        predict_values(nan, FRAME, source="t.csv", task="multiclass")
    foreign = fitted_from_object(_Fixed(proba=[[0.2, 0.3, 0.5]] * 6, labels=["a", "b", "z"] * 2,
                                        classes=("a", "b", "c")), dataset_features=("x",), positive_label=None,
                                 source="python", name="m", path=None, sha256=None)
    with pytest.raises(AuditError, match="for 2 of 6 rows of t.csv: predicted 'z'; classes 'a', 'b', 'c'"):
        predict_values(foreign, FRAME, source="t.csv", task="multiclass")


def test_check_helpers_name_the_rows_directly():
    model = _fixed(proba=GOOD, labels=[0, 1] * 3)
    check_scores(np.array([0.0, 0.5, 1.0]), model=model, source="s.csv", probabilities=True)
    with pytest.raises(AuditError, match="1 of 3 rows of s.csv"):
        check_scores(np.array([0.0, np.nan, 1.0]), model=model, source="s.csv", probabilities=False)
    check_labels(np.array(["1", "0"]), allowed=[0, 1], model=model, source="s.csv")  # as text, still a class
    with pytest.raises(AuditError, match="1 of 2 rows of s.csv"):
        check_labels(np.array([1, 7]), allowed=[0, 1], model=model, source="s.csv")


@pytest.mark.parametrize("values, negative, refused", [
    ([">50K", "<=50K"], "<=50K", None),
    ([1, 0, 1], "<=50K", None),                      # 0/1 for negative/positive
    ([True, False], "<=50K", None),
    (["High", "Low"], "<=50K", "'High', 'Low'"),
    ([">50K", "<=50k"], "<=50K", "'<=50k'"),        # case matters: a typo is not the negative label
    ([">50K", "<=50K"], None, None),                 # read in batches, the negative not met yet
    ([">50K", "<=50K", "maybe"], None, "'<=50K', 'maybe'"),
])
def test_predictions_columns_hold_the_targets_labels(values, negative, refused):
    from audit.inputs._formats import ColumnPredictions
    from audit.inputs._model import _column_predictions

    frame = pd.DataFrame({"p": values})
    est = ColumnPredictions(predictions="p", scores=None, negative=negative)
    if refused is None:
        labels = _column_predictions(est, frame, ">50K", negative=negative, source="t.csv").label
        assert labels.tolist() == [int(v in (">50K", 1, True)) for v in values]
    else:
        with pytest.raises(AuditError, match=f"predicted {refused} "):
            _column_predictions(est, frame, ">50K", negative=negative, source="t.csv")


def test_gradient_boosting_splits_on_categories_natively_and_linear_models_take_sparse_one_hot(hgb, adult_files):
    """HistGradientBoosting gets one ordinal column per categorical feature and is told which they are;
    a linear model gets the sparse one-hot matrix, equal to scikit-learn's dense one-hot encoding."""
    from scipy import sparse
    from sklearn.preprocessing import OneHotEncoder

    _, ds, model = hgb
    frame = _categoricals_as_text(ds.test.frame, ds.features)
    categorical = [f for f in ds.features if not pd.api.types.is_numeric_dtype(ds.test.frame[f])]
    numeric = [f for f in ds.features if f not in categorical]
    pre, final = model.estimator[0], model.estimator[-1]
    assert list(pre.get_feature_names_out()) == numeric + categorical  # one column per feature, not per code
    np.testing.assert_array_equal(final.is_categorical_, [False] * len(numeric) + [True] * len(categorical))
    codes = pre.transform(frame)[:, len(numeric):]
    for j, column in enumerate(categorical):  # codes number the training data's values in sorted order
        known = sorted(ds.train.frame[column].dropna().astype(str).unique())
        seen = frame[column].isin(known).to_numpy()
        np.testing.assert_array_equal(codes[seen, j], [known.index(v) for v in frame[column][seen]])

    cfg = _config(adult_files, {"train": {"estimator": "sklearn.linear_model.LogisticRegression",
                                          "params": {"max_iter": 300}}})
    linear = train_model(cfg, ds)
    X = linear.estimator[0].transform(frame)
    assert sparse.issparse(X)
    train_text = _categoricals_as_text(ds.train.frame, ds.features)[categorical].fillna("missing")
    reference = OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(train_text)
    np.testing.assert_array_equal(X.toarray()[:, len(numeric):], reference.transform(frame[categorical].fillna("missing")))
