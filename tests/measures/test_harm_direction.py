"""The direction of harm (`data.favorable_label`) and the decision rule (`model.threshold`), on real credit data.

In the Taiwan credit default data the positive label is "default", the adverse outcome: with
`favorable_label: 0` every selection rate of the regulatory views is the rate of "no default" predictions, so
the group named disadvantaged flips. Values are checked by hand with pandas on the model's own predictions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import demographic_parity_ratio, equalized_odds_ratio

import audit
from audit.measures._threshold import threshold_for_rate

DATA = Path(__file__).resolve().parents[1] / "data" / "credit_default_sample.csv.gz"
TARGET = "default payment next month"


def _config(**data) -> dict:
    return {"name": "credit", "seed": 0,
            "data": {"test": str(DATA), "target": TARGET, "sensitive": ["EDUCATION"], "intersections": 1,
                     "min_group_size": 30, **data},
            "model": {"train": {"estimator": "sklearn.linear_model.LogisticRegression",
                                "params": {"max_iter": 500}}, "threshold": 0.3},
            "bootstrap": {"replicates": 20},
            "checks": {"explainability": {"method": "none"}, "bias": {"proxies": False}},
            "regulatory": {"ll144": {"sex": "EDUCATION"}}}


@pytest.fixture(scope="module")
def runs():
    return {side: audit.run(_config(**({} if side == "positive" else {"favorable_label": 0})))
            for side in ("positive", "negative")}


def test_flipping_the_favourable_label_flips_the_disadvantaged_group(runs):
    pos = runs["positive"].document["regulatory"]["eeoc_four_fifths"]["by_attribute"]["EDUCATION"]
    neg = runs["negative"].document["regulatory"]["eeoc_four_fifths"]["by_attribute"]["EDUCATION"]
    # Groups are (highest, lowest) rate: the lowest of one side is the highest of the other.
    assert pos["groups"][1] == neg["groups"][0] and pos["groups"][0] == neg["groups"][1]
    assert pos["impact_ratio"] != pytest.approx(neg["impact_ratio"])


@pytest.mark.parametrize("side", ["positive", "negative"])
def test_ratios_equal_a_hand_computation(runs, side):
    result = runs[side]
    doc = result.document
    rows = doc["data"]["rows"]
    table = doc["regulatory"]["nyc_ll144"]["tables"][0]
    by_group = doc["metrics"]["by_group"]["EDUCATION"]
    n = {g: v["selection_rate"]["n"] for g, v in by_group.items()}
    sr = {g: v["selection_rate"]["value"] for g, v in by_group.items()}
    favourable = sr if side == "positive" else {g: 1 - v for g, v in sr.items()}
    included = {g: f for g, f in favourable.items() if n[g] / rows >= 0.02}
    top = max(included, key=included.get)
    assert table["highest_category"] == top
    for r in table["rows"]:
        assert r["selection_rate"] == pytest.approx(favourable[r["category"]], abs=1e-12)
        if r["status"] == "included":
            assert r["impact_ratio"] == pytest.approx(favourable[r["category"]] / included[top], abs=1e-12)
    # The demographic parity ratio of the favourable outcome is fairlearn's with the labels swapped.
    fv = doc["fairness"]["by_attribute"]["EDUCATION"]["demographic_parity_ratio"]
    big = [g for g in n if n[g] >= 30]
    assert fv["value"] == pytest.approx(min(favourable[g] for g in big) / max(favourable[g] for g in big), abs=1e-12)
    assert doc["regulatory"]["favorable"] == {"label": 1 if side == "positive" else 0,
                                              "is_positive_label": side == "positive"}


def test_fairlearn_agrees_on_the_flipped_ratio(tmp_path):
    # Explicit evaluation rows, the decision score >= 0.3: fairlearn's ratio of "no default" predictions.
    frame = pd.read_csv(DATA)
    frame.iloc[:1400].to_csv(tmp_path / "train.csv", index=False)
    test = frame.iloc[1400:]
    test.to_csv(tmp_path / "test.csv", index=False)
    raw = _config(favorable_label=0)
    raw["data"].update(test=str(tmp_path / "test.csv"), train=str(tmp_path / "train.csv"))
    result = audit.run(raw)
    model = result.model
    selected = (model.estimator.predict_proba(test[list(model.features)])[:, 1] >= 0.3).astype(int)
    big = test.groupby("EDUCATION")["EDUCATION"].transform("size") >= 30
    expected = demographic_parity_ratio((test[TARGET] == 0).astype(int)[big], 1 - selected[big.to_numpy()],
                                        sensitive_features=test.loc[big, "EDUCATION"])
    got = result.document["fairness"]["by_attribute"]["EDUCATION"]["demographic_parity_ratio"]["value"]
    assert got == pytest.approx(expected, abs=1e-9)
    # Equalized odds as a ratio: of the rates "no default" is given to those who repaid and to those who did
    # not (true and false negative rates), fairlearn's ratio on the swapped labels; not a ratio of recalls.
    # Rates are judged on groups with min_group_size rows of the label they condition on (30 repaid and 30
    # defaults): fairlearn gets those groups.
    labels = test.groupby("EDUCATION")[TARGET].agg(["sum", "size"])
    judged = labels[(labels["sum"] >= 30) & (labels["size"] - labels["sum"] >= 30)].index
    big = test["EDUCATION"].isin(judged)
    swapped = equalized_odds_ratio((test[TARGET] == 0).astype(int)[big], 1 - selected[big.to_numpy()],
                                   sensitive_features=test.loc[big, "EDUCATION"])
    got = result.document["fairness"]["by_attribute"]["EDUCATION"]["equalized_odds_ratio"]["value"]
    assert got == pytest.approx(swapped, abs=1e-9)
    unswapped = equalized_odds_ratio(test[TARGET][big], selected[big.to_numpy()],
                                     sensitive_features=test.loc[big, "EDUCATION"])
    assert swapped != pytest.approx(unswapped)


def test_fixed_threshold_changes_predictions_as_scores_at_least_t(runs):
    result = runs["positive"]
    decision = result.document["model"]["decision"]
    assert decision["threshold"] == 0.3 and decision["source"] == "model.threshold"
    rows = result.document["data"]["rows"]
    assert decision["positive_predictions"] == round(result.document["metrics"]["overall"]["selection_rate"]["value"]
                                                     * rows)
    frame = pd.read_csv(DATA)
    model = result.model
    predicted = audit._run.adapter("binary").predict(model, frame, "credit").label
    scores = model.estimator.predict_proba(frame[list(model.features)])[:, 1]
    np.testing.assert_array_equal(predicted, (scores >= 0.3).astype(np.int8))
    assert not np.array_equal(predicted, (model.estimator.predict(frame[list(model.features)]) == 1).astype(np.int8))


def test_rate_threshold_is_chosen_on_training_rows(tmp_path):
    frame = pd.read_csv(DATA)
    train, test = frame.iloc[:1400], frame.iloc[1400:]
    train.to_csv(tmp_path / "train.csv", index=False)
    test.to_csv(tmp_path / "test.csv", index=False)
    raw = _config()
    raw["data"].update(test=str(tmp_path / "test.csv"), train=str(tmp_path / "train.csv"))
    raw["model"]["threshold"] = {"selection_rate": 0.1}
    result = audit.run(raw)
    decision = result.document["model"]["decision"]
    model = result.model
    train_scores = model.estimator.predict_proba(train[list(model.features)])[:, 1]
    assert decision["threshold"] == threshold_for_rate(train_scores, selection_rate=0.1)
    assert decision["train_rows"] == 1400
    assert decision["train_rate"] == pytest.approx(np.mean(train_scores >= decision["threshold"]))
    assert decision["train_rate"] >= 0.1
    test_scores = model.estimator.predict_proba(test[list(model.features)])[:, 1]
    # Chosen on the training rows, not the evaluation rows: the evaluation rows' own cutoff differs.
    assert decision["threshold"] != threshold_for_rate(test_scores, selection_rate=0.1)
    assert decision["selection_rate"]["value"] == pytest.approx(np.mean(test_scores >= decision["threshold"]))


def test_favorable_label_must_be_a_label_of_the_target():
    with pytest.raises(audit.AuditError, match=r"`data.favorable_label` must be one of the labels"):
        audit.run(_config(favorable_label=7))
