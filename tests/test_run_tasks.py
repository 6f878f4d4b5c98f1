"""Multiclass and regression audits on real data, checked against scikit-learn's metrics on masked rows and
fairlearn's MetricFrame; task inference; the cards, summaries and JUnit files of both tasks.
"""

from __future__ import annotations

import json
from functools import partial

import jsonschema
import numpy as np
import pandas as pd
import pytest
from scipy.stats import linregress
from fairlearn.metrics import MetricFrame
from sklearn import metrics as skm
from sklearn.datasets import load_diabetes, load_digits
from sklearn.linear_model import LogisticRegression, Ridge

import audit
from audit import AuditError, config_from_dict
from audit.settings._config import _TASK_FAIRNESS, _TASK_METRICS
from audit.inputs._data import infer_task
from audit.findings._document import load_schema
from audit.statistics._multiclass import MACRO_METRICS, MULTICLASS_FAIRNESS_NAMES, multiclass_fairness
from audit.statistics._regression import REGRESSION_FAIRNESS, REGRESSION_METRICS

TOL = 1e-9


@pytest.fixture(scope="module")
def diabetes(tmp_path_factory):
    """scikit-learn's diabetes data (442 patients, a real continuous target) with its `sex` column."""
    folder = tmp_path_factory.mktemp("diabetes")
    frame = load_diabetes(as_frame=True, scaled=False).frame
    frame["sex"] = frame["sex"].map({1.0: "1", 2.0: "2"})
    frame.to_csv(folder / "diabetes.csv", index=False)
    return folder, frame


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """scikit-learn's digits (1797 images, 10 classes), with a group derived from the image: heavy or light ink."""
    folder = tmp_path_factory.mktemp("digits")
    data = load_digits(as_frame=True)
    frame = data.frame.rename(columns={"target": "digit"})
    pixels = data.data.to_numpy()
    frame["ink"] = np.where(pixels.sum(axis=1) > np.median(pixels.sum(axis=1)), "heavy", "light")
    frame["half"] = np.where(np.arange(len(frame)) % 2 == 0, "even", "odd")
    frame.to_csv(folder / "digits.csv", index=False)
    return folder, frame


def _regression_config(folder, **extra):
    raw = {"name": "diabetes", "task": "regression",
           "data": {"test": "diabetes.csv", "target": "target", "sensitive": ["sex", "age"],
                    "bins": {"age": [0, 40, 55, 100]}},
           "model": {"train": {"estimator": "sklearn.linear_model.Ridge"}}, "bootstrap": {"replicates": 40},
           **extra}
    return config_from_dict(raw, base_dir=str(folder))


@pytest.fixture(scope="module")
def regression_run(diabetes):
    folder, frame = diabetes
    features = [c for c in frame.columns if c not in ("target", "sex", "age")]
    model = Ridge().fit(frame[features], frame["target"])
    raw = _regression_config(folder).model_dump(exclude={"base_dir"})
    del raw["model"]
    result = audit.run(config_from_dict(raw, base_dir=str(folder)), model=model)
    return result, frame, model.predict(frame[features])


def _sk_regression(y, p):
    return {"mean_absolute_error": skm.mean_absolute_error(y, p),
            "root_mean_squared_error": skm.root_mean_squared_error(y, p),
            "mean_squared_error": skm.mean_squared_error(y, p),
            "r2_score": skm.r2_score(y, p), "mean_prediction": float(np.mean(p)),
            "mean_residual": float(np.mean(y - p))}


def test_regression_metrics_by_group_equal_scikit_learn_on_masked_rows_and_metricframe(regression_run):
    result, frame, pred = regression_run
    doc = result.document
    y = frame["target"].to_numpy()
    for name, value in _sk_regression(y, pred).items():
        assert doc["metrics"]["overall"][name]["value"] == pytest.approx(value, abs=TOL, rel=TOL)
    bands = pd.Series(np.select([frame["age"] < 40, frame["age"] < 55], ["0-40", "40-55"], "55-100"))
    for attribute, labels in (("sex", frame["sex"]), ("age", bands)):
        for group in labels.unique():
            mask = (labels == group).to_numpy()
            for name, value in _sk_regression(y[mask], pred[mask]).items():
                got = doc["metrics"]["by_group"][attribute][group][name]["value"]
                assert got == pytest.approx(value, abs=TOL, rel=TOL), (attribute, group, name)
    mf = MetricFrame(metrics={"mae": skm.mean_absolute_error, "mse": skm.mean_squared_error, "r2": skm.r2_score},
                     y_true=y, y_pred=pred, sensitive_features=frame["sex"])
    sex = doc["metrics"]["by_group"]["sex"]
    for group in ("1", "2"):
        assert sex[group]["mean_absolute_error"]["value"] == pytest.approx(mf.by_group.loc[group, "mae"], abs=TOL)
        assert sex[group]["r2_score"]["value"] == pytest.approx(mf.by_group.loc[group, "r2"], abs=TOL)
    fair = doc["fairness"]["by_attribute"]["sex"]
    assert fair["mean_absolute_error_difference"]["value"] == pytest.approx(mf.difference()["mae"], abs=TOL)
    assert fair["bounded_group_loss"]["value"] == pytest.approx(mf.group_max()["mse"], abs=TOL)
    assert fair["mean_prediction_difference"]["value"] == pytest.approx(
        abs(pred[frame["sex"] == "1"].mean() - pred[frame["sex"] == "2"].mean()), abs=TOL)


def test_regression_intervals_hold_the_value_and_calibration_is_binned_residuals(regression_run):
    result, frame, pred = regression_run
    doc = result.document
    for name in ("mean_absolute_error", "root_mean_squared_error", "r2_score", "mean_residual"):
        e = doc["metrics"]["overall"][name]
        assert e["ci_low"] < e["value"] < e["ci_high"], name
    cal = doc["regression"]["calibration"]
    edges = np.asarray(cal["edges"])
    residual = frame["target"].to_numpy() - pred
    b = np.clip(np.searchsorted(edges, pred, side="right") - 1, 0, len(edges) - 2)
    assert cal["overall"]["n"] == np.bincount(b, minlength=len(edges) - 1).tolist()
    male = (frame["sex"] == "1").to_numpy()
    expected = [residual[male & (b == i)].mean() for i in range(len(edges) - 1)]
    assert np.allclose(cal["by_group"]["sex"]["1"]["mean_residual"], expected, atol=TOL)
    # The judged calibration number is the least-squares slope of the target on the prediction.
    y = frame["target"].to_numpy()
    assert doc["metrics"]["overall"]["calibration_slope"]["value"] == pytest.approx(linregress(pred, y).slope, abs=TOL)
    for group in ("1", "2"):
        mask = (frame["sex"] == group).to_numpy()
        got = doc["metrics"]["by_group"]["sex"][group]["calibration_slope"]["value"]
        assert got == pytest.approx(linregress(pred[mask], y[mask]).slope, abs=TOL)


def test_a_regression_audit_writes_every_report(regression_run, tmp_path):
    result, _, _ = regression_run
    jsonschema.validate(result.document, load_schema())
    written = result.write(tmp_path)
    _assert_valid_mct(written["mct"])
    card = written["html"].read_text(encoding="utf-8")
    assert "Calibration by group" in card and "mean_absolute_error" in card and "bounded_group_loss" in card
    assert "regression" in written["md"].read_text(encoding="utf-8") or "mean_absolute_error" in \
        written["md"].read_text(encoding="utf-8")
    assert "<testsuites>" in written["junit"].read_text(encoding="utf-8")
    # SHAP on the raw prediction, by group; the card shows the explainer's note.
    note = result.document["explainability"]["note"]
    assert result.document["explainability"]["status"] == "done" and "LinearExplainer" in note and note in card


def test_regression_thresholds_are_judged_and_binary_names_are_refused(diabetes):
    folder, _ = diabetes
    cfg = _regression_config(folder, checks={"performance": {"max": {"mean_absolute_error": 10.0}},
                                             "fairness": {"max": {"mean_absolute_error_difference": 1000.0}}})
    doc = audit.run(cfg).document
    perf = [f for f in doc["findings"] if f["check"] == "performance"]
    assert len(perf) == 1 and perf[0]["status"] == "fail" and "mean_absolute_error" in perf[0]["message"]
    assert doc["gate"] == "fail" and doc["model"]["source"] == "trained" and doc["data"]["train_is_split"]
    fair = [f for f in doc["findings"] if f["check"] == "fairness"]
    assert fair and all(f["status"] == "pass" for f in fair)
    with pytest.raises(AuditError, match="`checks.performance` must name regression metrics; got 'roc_auc'"):
        audit.run(_regression_config(folder, checks={"performance": {"min": {"roc_auc": 0.8}}}))


def _digits_run(folder, frame, replicates=30):
    features = [c for c in frame.columns if c.startswith("pixel_")]
    train = frame.index % 3 == 0
    model = LogisticRegression(max_iter=300).fit(frame.loc[train, features], frame.loc[train, "digit"])
    test = frame.loc[~train].reset_index(drop=True)
    test.to_csv(folder / "digits_test.csv", index=False)
    raw = {"name": "digits", "data": {"test": "digits_test.csv", "target": "digit", "sensitive": ["ink", "half"],
                                      "features": features},
           "bootstrap": {"replicates": replicates}}
    result = audit.run(config_from_dict(raw, base_dir=str(folder)), model=model)
    return result, test, model.predict(test[features])


@pytest.fixture(scope="module")
def digits_run(digits):
    return _digits_run(*digits)


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true:UserWarning")
def test_multiclass_metrics_by_group_equal_metricframe_with_scikit_learn(digits_run):
    result, test, pred = digits_run
    doc = result.document
    assert doc["model"]["task"] == "multiclass"  # inferred: ten integer codes
    y = test["digit"].to_numpy()
    macro = {"accuracy": skm.accuracy_score, "balanced_accuracy": skm.balanced_accuracy_score,
             "macro_precision": partial(skm.precision_score, average="macro", zero_division=0),
             "macro_recall": partial(skm.recall_score, average="macro", zero_division=0),
             "macro_f1": partial(skm.f1_score, average="macro", zero_division=0)}
    for attribute in ("ink", "half", "ink&half"):
        labels = test["ink"] + "&" + test["half"] if attribute == "ink&half" else test[attribute]
        mf = MetricFrame(metrics=macro, y_true=y, y_pred=pred, sensitive_features=labels)
        for group in mf.by_group.index:
            for name in macro:
                got = doc["metrics"]["by_group"][attribute][group][name]["value"]
                assert got == pytest.approx(mf.by_group.loc[group, name], abs=TOL), (attribute, group, name)
        assert doc["fairness"]["by_attribute"][attribute]["accuracy_difference"]["value"] == pytest.approx(
            mf.difference()["accuracy"], abs=TOL)
    for name in macro:
        assert doc["metrics"]["overall"][name]["value"] == pytest.approx(macro[name](y, pred), abs=TOL)


def test_multiclass_per_class_metrics_and_one_vs_rest_fairness_equal_metricframe(digits_run):
    result, test, pred = digits_run
    doc = result.document
    y, ink = test["digit"].to_numpy(), test["ink"]
    per_class = doc["multiclass"]["per_class"]["by_group"]["ink"]
    selection_gaps, recall_gaps, fpr_gaps = [], [], []
    for k in range(10):
        yk, pk = (y == k).astype(int), (pred == k).astype(int)
        mf = MetricFrame(metrics={"recall": partial(skm.recall_score, zero_division=np.nan),
                                  "precision": partial(skm.precision_score, zero_division=np.nan),
                                  "f1": partial(skm.f1_score, zero_division=np.nan),
                                  "selection_rate": lambda a, b: float(np.mean(b)),
                                  "false_positive_rate": lambda a, b: float(np.mean(b[a == 0]))},
                         y_true=yk, y_pred=pk, sensitive_features=ink)
        for group in ("heavy", "light"):
            for name in ("recall", "precision", "f1", "selection_rate", "false_positive_rate"):
                want = mf.by_group.loc[group, name]
                got = per_class[group][str(k)][name]["value"]
                assert (got is None and np.isnan(want)) or got == pytest.approx(want, abs=TOL), (k, group, name)
        selection_gaps.append(mf.difference()["selection_rate"])
        recall_gaps.append(mf.difference()["recall"])
        fpr_gaps.append(mf.difference()["false_positive_rate"])
    fair = doc["fairness"]["by_attribute"]["ink"]
    assert fair["demographic_parity_difference"]["value"] == pytest.approx(max(selection_gaps), abs=TOL)
    assert fair["equal_opportunity_difference"]["value"] == pytest.approx(max(recall_gaps), abs=TOL)
    assert fair["equalized_odds_difference"]["value"] == pytest.approx(max(recall_gaps + fpr_gaps), abs=TOL)
    overall = skm.confusion_matrix(y, pred, labels=list(range(10)))
    assert doc["multiclass"]["confusion"]["overall"] == overall.tolist()
    heavy = (ink == "heavy").to_numpy()
    assert doc["multiclass"]["confusion"]["by_group"]["ink"]["heavy"] == skm.confusion_matrix(
        y[heavy], pred[heavy], labels=list(range(10))).tolist()


def _assert_valid_mct(path) -> None:
    from importlib import resources

    schema = json.loads(resources.files("audit").joinpath("schema/model_card_toolkit.v0.0.2.schema.json")
                        .read_text("utf-8"))
    errors = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(json.loads(path.read_text("utf-8")))]
    assert errors == []


def test_a_multiclass_audit_writes_every_report(digits_run, tmp_path):
    result, _, _ = digits_run
    jsonschema.validate(result.document, load_schema())
    written = result.write(tmp_path)
    _assert_valid_mct(written["mct"])
    assert "macro_f1" in written["hf"].read_text(encoding="utf-8")
    card = written["html"].read_text(encoding="utf-8")
    assert "Classes by group" in card and "macro_f1" in card and "demographic_parity_ratio" in card
    assert written["md"].read_text(encoding="utf-8").startswith("## ")
    json.loads(written["json"].read_text(encoding="utf-8"))


def test_multiclass_intervals_are_seeded_and_hold_the_value(digits_run, digits):
    result, _, _ = digits_run
    again, _, _ = _digits_run(*digits)
    a, b = result.document["metrics"]["overall"], again.document["metrics"]["overall"]
    assert a == b
    for name, e in a.items():
        assert e["ci_low"] <= e["value"] <= e["ci_high"], name


@pytest.mark.parametrize("values, positive, task", [
    ([">50K", "<=50K", ">50K"], None, "binary"),
    ([0, 1, 1, 0], None, "binary"),
    ([True, False], None, "binary"),
    (["a", "b", "c"], None, "multiclass"),
    (["a", "b", "c"], "a", "binary"),
    ([0, 1, 2, 3, 2], None, "multiclass"),
    ([0.5, 1.5, 2.25], None, "regression"),
    (list(range(25)), None, "regression"),
])
def test_the_task_is_inferred_from_the_target(values, positive, task):
    assert infer_task(pd.Series(values), positive_label=positive) == task


def test_task_metric_names_in_the_config_match_the_registries():
    assert set(_TASK_METRICS) == (set(REGRESSION_METRICS) | {"macro_precision", "macro_recall", "macro_f1"})
    regression_and_multiclass = set(REGRESSION_FAIRNESS) | set(multiclass_fairness(["a", "b"]))
    assert set(MULTICLASS_FAIRNESS_NAMES) == set(multiclass_fairness(["a", "b"]))
    assert set(_TASK_FAIRNESS) | {"demographic_parity_difference", "demographic_parity_ratio",
                                  "equalized_odds_difference", "equal_opportunity_difference"} \
        == regression_and_multiclass


def test_non_binary_settings_that_do_not_apply_are_named(diabetes):
    folder, _ = diabetes
    raw = _regression_config(folder).model_dump(exclude={"base_dir"})
    raw["data"]["positive_label"] = 1
    with pytest.raises(AuditError, match="`data.positive_label` applies to binary audits; remove it"):
        audit.run(config_from_dict(raw, base_dir=str(folder)))
    raw["data"]["positive_label"] = None
    raw["data"]["batch_rows"] = 1000
    with pytest.raises(AuditError, match="so it cannot also be split to train the model: give `data.train`"):
        audit.run(config_from_dict(raw, base_dir=str(folder)))


def test_multiclass_predictions_alone_give_the_same_audit_as_the_model(digits_run, digits, tmp_path):
    result, test, pred = digits_run
    frame = test.copy()
    frame["predicted_digit"] = pred
    frame.to_csv(tmp_path / "scored.csv", index=False)
    raw = {"name": "digits", "data": {"test": "scored.csv", "target": "digit", "sensitive": ["ink", "half"],
                                      "features": [c for c in frame.columns if c.startswith("pixel_")]},
           "model": {"predictions": {"predictions": "predicted_digit"}}, "bootstrap": {"replicates": 30}}
    doc = audit.run(config_from_dict(raw, base_dir=str(tmp_path))).document
    assert doc["model"]["source"] == "predictions"
    assert doc["metrics"] == result.document["metrics"] and doc["multiclass"] == result.document["multiclass"]
    assert "given the model's predictions (model.predictions), not the model" in doc["explainability"]["note"]


def test_an_onnx_regressor_gives_the_same_findings_as_the_original(diabetes, tmp_path):
    pytest.importorskip("onnxruntime")
    skl2onnx = pytest.importorskip("skl2onnx")
    from skl2onnx.common.data_types import DoubleTensorType

    folder, frame = diabetes
    features = [c for c in frame.columns if c not in ("target", "sex", "age")]
    model = Ridge().fit(frame[features], frame["target"])
    onx = skl2onnx.to_onnx(model, initial_types=[("X", DoubleTensorType([None, len(features)]))],
                           target_opset={"": 17, "ai.onnx.ml": 3})
    (folder / "ridge.onnx").write_bytes(onx.SerializeToString())
    raw = _regression_config(folder).model_dump(exclude={"base_dir"})
    exported = audit.run(config_from_dict({**raw, "model": {"load": "ridge.onnx"}}, base_dir=str(folder))).document
    del raw["model"]
    original = audit.run(config_from_dict(raw, base_dir=str(folder)), model=model).document
    for name, e in original["metrics"]["overall"].items():
        assert exported["metrics"]["overall"][name]["value"] == pytest.approx(e["value"], abs=1e-6), name
    for attribute, metrics in original["fairness"]["by_attribute"].items():
        for name, e in metrics.items():
            assert exported["fairness"]["by_attribute"][attribute][name]["value"] == pytest.approx(e["value"],
                                                                                                 abs=1e-6)


def test_a_native_lightgbm_multiclass_model_is_audited_and_disjoint_classes_are_named(digits, tmp_path):
    lgb = pytest.importorskip("lightgbm")
    folder, frame = digits
    features = [c for c in frame.columns if c.startswith("pixel_")]
    booster = lgb.train({"objective": "multiclass", "num_class": 10, "num_leaves": 7, "verbose": -1,
                         "num_threads": 1, "seed": 0}, lgb.Dataset(frame[features], label=frame["digit"]),
                        num_boost_round=5)
    booster.save_model(str(tmp_path / "digits.txt"))
    frame.to_csv(tmp_path / "digits.csv", index=False)
    raw = {"name": "d", "data": {"test": "digits.csv", "target": "digit", "sensitive": ["ink"], "features": features},
           "model": {"load": "digits.txt"}, "bootstrap": {"replicates": 10}}
    doc = audit.run(config_from_dict(raw, base_dir=str(tmp_path))).document
    pred = booster.predict(frame[features]).argmax(axis=1)
    assert doc["metrics"]["overall"]["macro_f1"]["value"] == pytest.approx(
        skm.f1_score(frame["digit"], pred, average="macro"), abs=TOL)
    letters = frame.assign(digit=frame["digit"].map(lambda d: "abcdefghij"[d]))
    letters.to_csv(tmp_path / "letters.csv", index=False)
    raw["data"]["test"] = "letters.csv"
    with pytest.raises(AuditError, match=r"predicted classes \(0, 1, .*share none with the values of `data.target`"):
        audit.run(config_from_dict(raw, base_dir=str(tmp_path)))


def test_a_positive_label_of_the_three_class_readmission_target_audits_it_against_the_rest(tmp_path):
    """`positive_label: "<30"` on readmitted (NO, >30, <30): a binary audit of readmission within 30 days
    against the rest, as fairlearn's case study frames it; the card and the findings say so."""
    from conftest import ROOT

    folder = ROOT / "examples" / "readmission" / "data"
    raw = {"name": "readmission-30", "seed": 0,
           "data": {"train": str(folder / "train.csv.gz"), "test": str(folder / "test.csv.gz"),
                    "target": "readmitted", "positive_label": "<30", "sensitive": ["race", "gender"],
                    "intersections": 1, "min_group_size": 50},
           "model": {"train": {"estimator": "sklearn.linear_model.LogisticRegression",
                               "params": {"max_iter": 500, "class_weight": "balanced"}}},
           "checks": {"performance": {"metrics": ["accuracy", "recall", "selection_rate"]},
                      "explainability": {"method": "none"}, "slices": {"enabled": False}},
           "bootstrap": {"replicates": 20}}
    result = audit.run(config_from_dict(raw))
    doc = result.document
    test = pd.read_csv(folder / "test.csv.gz")
    y = (test["readmitted"] == "<30").to_numpy(dtype=int)
    assert doc["model"]["task"] == "binary" and doc["model"]["positive_label"] == "<30"
    assert doc["model"]["negative_label"] == "not <30"
    assert doc["data"]["positives"] == int(y.sum()) and doc["data"]["rows"] == len(test)
    assert doc["model"]["task_note"].startswith("One class against the rest: the target 'readmitted' holds 3 "
                                                "values; this binary audit reads '<30'")
    predicted = (result.model.estimator.predict(test[list(doc["model"]["features"])]) == 1).astype(int)
    assert abs(doc["metrics"]["overall"]["recall"]["value"] - skm.recall_score(y, predicted)) < TOL
    assert abs(doc["metrics"]["overall"]["accuracy"]["value"] - skm.accuracy_score(y, predicted)) < TOL
    import html

    result.to_html(tmp_path / "card.html")
    assert doc["model"]["task_note"] in html.unescape((tmp_path / "card.html").read_text(encoding="utf-8"))
