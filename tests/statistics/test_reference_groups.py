"""Disparities against a reference group (`data.reference_groups`), against a direct pandas and fairlearn
computation on the credit default sample."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import recall_score

import audit

DATA = Path(__file__).resolve().parents[1] / "data" / "credit_default_sample.csv.gz"
TARGET = "default payment next month"
FEATURES = ["LIMIT_BAL", "AGE", "PAY_0", "PAY_2", "BILL_AMT1", "PAY_AMT1"]


@pytest.fixture(scope="module")
def run():
    frame = pd.read_csv(DATA)
    train, test = frame.iloc[:1400], frame.iloc[1400:]
    model = LogisticRegression(max_iter=500).fit(train[FEATURES], train[TARGET])
    raw = {"name": "credit", "data": {"target": TARGET, "sensitive": ["EDUCATION"], "features": FEATURES,
                                      "reference_groups": {"EDUCATION": 1}},
           "bootstrap": {"replicates": 50},
           "checks": {"explainability": {"method": "none"}, "bias": {"proxies": False}}}
    return audit.run(raw, model=model, data=test), model, test


def test_differences_and_ratios_equal_fairlearn(run):
    result, model, test = run
    section = result.document["fairness"]["reference_groups"]["EDUCATION"]
    assert section["reference"] == "1"
    mf = MetricFrame(metrics={"selection_rate": selection_rate, "recall": partial(recall_score, zero_division=np.nan),
                              "false_positive_rate": false_positive_rate},
                     y_true=test[TARGET], y_pred=model.predict(test[FEATURES]),
                     sensitive_features=test["EDUCATION"].astype(str))
    by_group = mf.by_group
    for group, metrics in section["by_group"].items():
        for metric in ("selection_rate", "recall", "false_positive_rate"):
            value, ref = by_group.loc[group, metric], by_group.loc["1", metric]
            got = metrics[metric]
            if pd.isna(value) or pd.isna(ref):
                continue
            assert got["difference"] == pytest.approx(value - ref, abs=1e-9)
            if ref > 0:
                assert got["ratio"] == pytest.approx(value / ref, abs=1e-9)
    same = section["by_group"]["1"]["selection_rate"]
    assert same["difference"] == 0 and same["ratio"] == 1


def test_intervals_hold_the_estimate(run):
    result, _, _ = run
    for group, metrics in result.document["fairness"]["reference_groups"]["EDUCATION"]["by_group"].items():
        c = metrics["selection_rate"]
        if group != "1" and c["difference_ci_low"] is not None:
            assert c["difference_ci_low"] <= c["difference"] <= c["difference_ci_high"]


def test_an_unknown_reference_group_is_refused(run):
    _, model, test = run
    raw = {"name": "credit", "data": {"target": TARGET, "sensitive": ["EDUCATION"], "features": FEATURES,
                                      "reference_groups": {"EDUCATION": "college"}}}
    with pytest.raises(audit.AuditError, match=r"`data.reference_groups.EDUCATION` must name a group"):
        audit.run(raw, model=model, data=test)


def test_an_intersection_is_judged_against_the_combination_of_its_attributes_references():
    frame = pd.read_csv(DATA)
    train, test = frame.iloc[:1400], frame.iloc[1400:]
    model = LogisticRegression(max_iter=500).fit(train[FEATURES], train[TARGET])
    raw = {"name": "credit", "data": {"target": TARGET, "sensitive": ["SEX", "EDUCATION"], "features": FEATURES,
                                      "reference_groups": {"SEX": 1, "EDUCATION": 2}, "min_group_size": 10},
           "bootstrap": {"replicates": 30},
           "checks": {"explainability": {"method": "none"}, "bias": {"proxies": False}}}
    result = audit.run(raw, model=model, data=test)
    section = result.document["fairness"]["reference_groups"]["SEX&EDUCATION"]
    assert section["reference"] == "1&2"
    cells = test["SEX"].astype(str) + "&" + test["EDUCATION"].astype(str)
    rate = pd.Series(model.predict(test[FEATURES]), index=test.index).groupby(cells).mean()
    for group, metrics in section["by_group"].items():
        assert metrics["selection_rate"]["difference"] == pytest.approx(rate[group] - rate["1&2"], abs=1e-9)
    # Without a reference for every attribute of an intersection, the intersection has none.
    raw["data"]["reference_groups"] = {"SEX": 1}
    partial_refs = audit.run(raw, model=model, data=test).document["fairness"]["reference_groups"]
    assert set(partial_refs) == {"SEX"}
