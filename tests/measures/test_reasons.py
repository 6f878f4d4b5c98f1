"""Reason codes: contributions are SHAP values folded to the original columns and add up to the model's
output; a withheld sensitive attribute is never a reason; a planted driver of declines is their top reason."""

from __future__ import annotations

import time
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
import shap
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import audit
from audit.findings._document import load_schema
from audit.inputs._model import fitted_from_object
from audit.measures._explain import folded_contributions
from audit.measures._reasons import reason_codes
from audit.report import render_html

GERMAN = Path(__file__).resolve().parents[2] / "examples" / "german-credit" / "data" / "german.csv.gz"
FEATURES = ["checking_account", "saving_accounts", "housing", "credit_amount", "duration", "sex"]


def _german_model():
    frame = pd.read_csv(GERMAN).fillna({"saving_accounts": "none", "checking_account": "none"})
    numeric, categorical = ["credit_amount", "duration"], ["checking_account", "saving_accounts", "housing", "sex"]
    pipe = Pipeline([("prep", ColumnTransformer([("num", StandardScaler(), numeric),
                                                 ("cat", OneHotEncoder(handle_unknown="ignore"), categorical)])),
                     ("clf", LogisticRegression(max_iter=1000))]).fit(frame[FEATURES], frame["risk"])
    model = fitted_from_object(pipe, dataset_features=tuple(FEATURES), positive_label=1, source="python", name="lr",
                               path=None, sha256=None)
    return frame, pipe, model


def test_contributions_are_folded_shap_values_that_add_up_to_the_log_odds():
    frame, pipe, model = _german_model()
    rows = frame[FEATURES].iloc[:200]
    contributions = folded_contributions(model, rows, method="auto", seed=0, deadline=time.perf_counter() + 60)
    # The reference: SHAP's LinearExplainer on the transformed columns with the same seeded background.
    Xt = pipe[:-1].transform(rows)
    Xt = Xt.toarray() if hasattr(Xt, "toarray") else Xt
    background = Xt[np.random.default_rng(0).choice(len(Xt), size=min(len(Xt), 200), replace=False)]
    explainer = shap.LinearExplainer(pipe[-1], shap.maskers.Independent(background))
    raw = explainer.shap_values(Xt)
    names = list(pipe[:-1].get_feature_names_out())
    for j, feature in enumerate(FEATURES):
        parts = [k for k, n in enumerate(names) if n.split("__", 1)[1] == feature
                 or n.split("__", 1)[1].startswith(feature + "_")]
        np.testing.assert_allclose(contributions.values[:, j, 0], raw[:, parts].sum(axis=1), atol=1e-9)
    # Additivity: expected value plus the folded contributions is the model's raw output (the log-odds).
    total = explainer.expected_value + contributions.values[:, :, 0].sum(axis=1)
    np.testing.assert_allclose(total, pipe.decision_function(rows), atol=1e-6)


def test_withheld_features_are_never_reasons_and_the_top_reason_is_the_largest_adverse_contribution():
    frame, pipe, model = _german_model()
    declined = frame[pipe.predict(frame[FEATURES]) == 0].reset_index(drop=True)
    labels = declined[["sex"]]
    reasons = reason_codes(model, declined[FEATURES], reference=frame[FEATURES],
                           keys=pd.Series(range(len(declined)), name="row"),
                           labels=labels, adverse_sign=-1.0, withheld=["sex"], texts={}, top_k=3, method="auto",
                           seed=0, deadline=time.perf_counter() + 60, level=0.95, task="binary")
    table = reasons.table
    assert len(table) and "sex" not in set(table["feature"])
    contributions = folded_contributions(model, declined[FEATURES], method="auto", seed=0,
                                         deadline=time.perf_counter() + 60, background=frame[FEATURES]).values[:, :, 0]
    allowed = [j for j, f in enumerate(FEATURES) if f != "sex"]
    for key, rows in table.groupby("key"):
        first = rows[rows["rank"] == 1].iloc[0]
        j = int(np.argmin(contributions[key, allowed]))
        assert first["feature"] == FEATURES[allowed[j]]
        assert first["contribution"] == pytest.approx(contributions[key, allowed[j]], abs=1e-12)
        assert (rows["contribution"] < 0).all() and list(rows["rank"]) == list(range(1, len(rows) + 1))
        assert rows["contribution"].is_monotonic_increasing  # most adverse first
    assert 0 <= reasons.withheld["sex"] <= 1 and reasons.stability is not None


def test_a_planted_driver_of_declines_is_their_top_reason(tmp_path):
    rng = np.random.default_rng(0)
    n = 3000
    frame = pd.DataFrame({"debt_ratio": rng.uniform(0, 1, n), "income": rng.normal(50, 10, n),
                          "tenure": rng.integers(0, 30, n), "sex": rng.choice(["f", "m"], n)})
    # Declines are driven by a high debt ratio; income and tenure matter a little.
    logit = 4 - 9 * frame["debt_ratio"] + 0.02 * (frame["income"] - 50) + 0.01 * frame["tenure"]
    frame["approved"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame.to_csv(tmp_path / "loans.csv", index=False)
    raw = {"name": "loans", "seed": 0,
           "data": {"test": str(tmp_path / "loans.csv"), "target": "approved", "positive_label": 1,
                    "sensitive": ["sex"], "features": ["debt_ratio", "income", "tenure", "sex"]},
           "model": {"train": {"estimator": "sklearn.ensemble.RandomForestClassifier",
                               "params": {"n_estimators": 50, "max_depth": 6}}},
           "bootstrap": {"replicates": 30},
           "checks": {"explainability": {"method": "none"},
                      "reasons": {"enabled": True, "max_rows": 300,
                                  "text": {"debt_ratio": {"high": "debt too high relative to income",
                                                          "low": "debt ratio"}}}}}
    result = audit.run(raw)
    doc = result.document
    jsonschema.validate(doc, load_schema())
    assert doc["reasons"]["overall"][0]["reason"] == "debt too high relative to income"
    assert doc["reasons"]["overall"][0]["top"] > 0.6
    # The model was trained on sex, which is withheld: never a reason, and how often it would be is reported.
    written = result.write(tmp_path / "out")
    table = pd.read_parquet(written.folder / "reasons.parquet")
    assert "sex" not in set(table["feature"]) and set(table.columns) == {"key", "rank", "reason", "feature", "value",
                                                                         "contribution"}
    assert "sex" in doc["reasons"]["withheld"]
    assert any(f["id"] == "reasons.withheld_principal_share.sex" for f in doc["findings"])
    html = render_html(doc)
    assert 'id="reasons"' in html and "debt too high relative to income" in html


def test_reasons_refuse_unknown_features_and_say_when_they_cannot_run(tmp_path):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(size=400), "s": rng.choice(["a", "b"], 400)})
    frame["y"] = frame["x"] * 2 + rng.normal(size=400)
    base = {"name": "r", "data": {"target": "y", "sensitive": ["s"], "features": ["x"]},
            "model": {"train": {"estimator": "sklearn.linear_model.Ridge"}}, "bootstrap": {"replicates": 20},
            "checks": {"explainability": {"method": "none"}}}
    with pytest.raises(audit.AuditError, match=r"`checks.reasons.text` and `checks.reasons.withhold` must name feature "
                                               r"columns of the DataFrame passed as `data` .*got 'zip'"):
        audit.run({**base, "checks": {**base["checks"], "reasons": {"enabled": True, "withhold": ["zip"]}}},
                  data=frame)
    doc = audit.run({**base, "checks": {**base["checks"], "reasons": {"enabled": True}}}, data=frame).document
    assert any(s["step"] == "reasons" and "cutoff" in s["note"] for s in doc["steps"])
    doc = audit.run({**base, "checks": {**base["checks"], "reasons": {"enabled": True, "cutoff": 0.0}}},
                    data=frame).document
    assert doc["reasons"]["declined"] > 0 and doc["reasons"]["overall"][0]["reason"] == "x low"


def test_validate_refuses_reason_columns_that_are_not_in_the_data_before_any_training(tmp_path, capsys):
    from audit.cli import main

    frame = pd.read_csv(GERMAN)
    frame.to_csv(tmp_path / "g.csv", index=False)
    config = tmp_path / "audit.yaml"
    config.write_text("name: g\ndata: {test: g.csv, target: risk, positive_label: 1, sensitive: [sex]}\n"
                      "model: {train: {estimator: sklearn.linear_model.LogisticRegression}}\n"
                      "checks: {reasons: {enabled: true, withhold: [zipcode]}}\n", encoding="utf-8")
    assert main(["validate", str(config)]) == 2
    err = capsys.readouterr().err
    assert "`checks.reasons.text` and `checks.reasons.withhold` must name feature columns of g.csv (test split); got 'zipcode'" in err
    config.write_text(config.read_text().replace("withhold: [zipcode]", "allow: [age]"), encoding="utf-8")
    assert main(["validate", str(config)]) == 2
    assert "`checks.reasons.allow` must name attributes of `data.sensitive` (sex); got 'age'" in capsys.readouterr().err
