"""The non-binary example audits, end to end from their committed config and data to every report."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import mean_absolute_error, r2_score

import audit
from audit.findings._document import load_schema

ROOT = Path(__file__).resolve().parents[1]


def test_the_diabetes_regression_example_runs_to_a_card(tmp_path):
    result = audit.run(ROOT / "examples/diabetes-progression/audit.yaml")
    doc = result.document
    jsonschema.validate(doc, load_schema())
    assert doc["model"]["task"] == "regression" and doc["data"]["rows"] == 221
    assert doc["audit"]["data"]["test"]["sha256"][0] == audit.inputs._data.sha256_file(
        ROOT / "examples/diabetes-progression/data/diabetes.csv.gz")
    assert len(doc["audit"]["model_sha256"]) == 64
    # The held-out half, scored by the trained pipeline, gives the card's overall numbers.
    frame = pd.read_csv(ROOT / "examples/diabetes-progression/data/diabetes.csv.gz", dtype={"sex": str})
    from sklearn.model_selection import train_test_split

    _, test = train_test_split(frame, test_size=0.5, random_state=0)
    features = [c for c in frame.columns if c not in ("progression", "sex", "age")]
    pred = result.model.estimator.predict(test[features])
    y = test["progression"].to_numpy()
    assert doc["metrics"]["overall"]["r2_score"]["value"] == pytest.approx(r2_score(y, pred), abs=1e-9)
    assert doc["metrics"]["overall"]["mean_absolute_error"]["value"] == pytest.approx(
        mean_absolute_error(y, pred), abs=1e-9)
    # 221 test rows: R² overall (0.43, interval about 0.29 to 0.53) and in two age bands cannot be shown
    # above its threshold either way, so the gate is inconclusive (exit 1 by default), never a pass on thin
    # evidence.
    undecided = {(f["check"], f["group"]) for f in doc["findings"] if f["severity"] == "block" and f["status"] == "warn"}
    assert undecided == {("performance", None), ("performance_by_group", "0-45"), ("performance_by_group", "60-100")}
    # Every step ran for the regression: explanations, drift against all patients, slices of large errors.
    assert doc["explainability"]["status"] == "done" and doc["drift"] is not None
    assert doc["slices"]["metric"] == "absolute_error" and doc["slices"]["cut_source"] == "quantile"
    assert result.gate == "inconclusive" and result.exit_code == 1
    written = result.write(tmp_path)
    card = written["html"].read_text(encoding="utf-8")
    assert "not shown either way" in card and "Gate: INCONCLUSIVE" in card
    assert "Calibration by group" in card and "Diabetes progression regressor" in card
    assert np.isfinite(doc["fairness"]["by_attribute"]["sex"]["mean_residual_difference"]["value"])


def test_the_text_example_audits_a_tfidf_model_by_review_length(tmp_path):
    import importlib.util

    from sklearn.metrics import roc_auc_score

    spec = importlib.util.spec_from_file_location("audit_reviews", ROOT / "examples/text-reviews/audit_reviews.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.train_model()
    result = audit.run(ROOT / "examples/text-reviews/audit.yaml", model=model)
    doc = result.document
    jsonschema.validate(doc, load_schema())
    test = pd.read_csv(ROOT / "examples/text-reviews/data/testing.csv.gz")
    score = model.predict_proba(test[["review"]])[:, list(model.classes_).index("great")]
    y = (test["score"] == "great").to_numpy()
    assert doc["model"]["source"] == "python" and doc["model"]["features"] == ["review"]
    assert doc["metrics"]["overall"]["roc_auc"]["value"] == pytest.approx(roc_auc_score(y, score), abs=1e-9)
    longest = (test["words"] >= 120).to_numpy()
    assert doc["metrics"]["by_group"]["words"]["120-2000"]["roc_auc"]["value"] == pytest.approx(
        roc_auc_score(y[longest], score[longest]), abs=1e-9)
    assert result.exit_code == 0
    assert "Review sentiment classifier" in result.write(tmp_path)["html"].read_text(encoding="utf-8")


@pytest.mark.slow
def test_the_readmission_example_is_a_multiclass_audit_with_every_step(tmp_path):
    result = audit.run(ROOT / "examples/readmission/audit.yaml")
    doc = result.document
    assert doc["model"]["task"] == "multiclass" and doc["multiclass"]["classes"] == ["<30", ">30", "NO"]
    # Accuracy equals scikit-learn's on the test file, scored by the trained forest.
    test = pd.read_csv(ROOT / "examples/readmission/data/test.csv.gz")
    pred = result.model.estimator.predict(test[list(result.model.features)])
    from sklearn.metrics import accuracy_score

    assert doc["metrics"]["overall"]["accuracy"]["value"] == pytest.approx(
        accuracy_score(test["readmitted"].astype(str), pd.Series(pred).astype(str)), abs=1e-12)
    assert doc["explainability"]["status"] == "done" and doc["drift"]["predictions"]["test"] == "chi2"
    assert doc["slices"]["metric"] == "error_rate" and doc["slices"]["slices"]
    assert doc["mitigation"]["points"] == [] and "no mitigation for multiclass" in doc["mitigation"]["notes"][0]
    assert [s["step"] for s in doc["steps"]] == ["regulatory"]
    # A group the model predicts one class for has a macro recall of exactly 1/3: shown below 0.34.
    asian = next(f for f in doc["findings"] if f["check"] == "performance_by_group" and f["group"] == "Asian")
    assert asian["status"] == "fail" and asian["value"] == pytest.approx(1 / 3)
    card = result.write(tmp_path)["html"].read_text(encoding="utf-8")
    assert "Classes by group" in card and "fairlearn has no mitigation for multiclass" in card


def test_the_german_credit_example_conditions_on_amount_and_duration():
    doc = audit.run(ROOT / "examples/german-credit/audit.yaml").document
    jsonschema.validate(doc, load_schema())
    assert doc["data"]["rows"] == 500 and doc["conditional"]["controls"] == ["credit_amount", "duration"]
    # Amount and duration are cut at their quartiles on the audited rows: 4 x 4 strata at most.
    frame = pd.read_csv(ROOT / "examples/german-credit/data/german.csv.gz")
    assert len(doc["conditional"]["edges"]["credit_amount"]) == 3
    assert len(doc["conditional"]["strata"]) <= 16
    age = doc["conditional"]["by_attribute"]["age"]["metrics"]["selection_rate"]
    assert age["groups"] is not None and age["pattern"] in ("persists", "vanishes", "reverses", "no_marginal_gap")
    assert set(doc["lending"]["by_attribute"]) == {"sex", "age"}
    assert doc["lending"]["by_attribute"]["sex"]["reference"] == "male"
    assert set(frame["sex"]) == {"male", "female"}


@pytest.mark.slow  # 30,000 rows, a gradient-boosted model, SHAP reasons for 1,000 declines
def test_the_taiwan_credit_example_keys_reasons_by_id_and_counts_no_default_as_favourable(tmp_path):
    result = audit.run(ROOT / "examples/taiwan-credit/audit.yaml")
    doc = result.document
    jsonschema.validate(doc, load_schema())
    assert doc["data"]["rows"] == 9000 and doc["regulatory"]["favorable"]["label"] == 0
    assert set(doc["data"]["groups"]["SEX"]) == {"male", "female"}  # codes named by data.labels
    reasons = doc["reasons"]
    assert reasons["key"] == "ID" and reasons["explained"] == 1000
    table = pd.read_parquet(result.write(tmp_path).folder / "reasons.parquet")
    frame = pd.read_csv(ROOT / "examples/taiwan-credit/data/default_of_credit_card_clients.csv.gz")
    assert set(table["key"]) <= set(frame["ID"]) and not {"SEX", "AGE", "MARRIAGE"} & set(table["feature"])
    # A declined card holder is one the model predicts to default: every keyed row is predicted 1.
    keyed = frame.set_index("ID").loc[sorted(set(table["key"]))]
    scores = result.model.estimator.predict_proba(keyed[list(result.model.features)])[:, 1]
    assert (scores >= 0.5).all()
