"""Leakage: a feature that alone predicts the target, on real data with an injected twin and without."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency
from sklearn.metrics import roc_auc_score

from audit import config_from_dict
from audit.checks import check_leakage
from audit.measures._leakage import feature_associations
from audit.settings._config import LeakageConfig
from audit.statistics._evaluate import Estimate
from helpers import adult_rows


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    return adult_rows("test", 3000)


def _estimate(value: float, low: float, high: float) -> Estimate:
    return Estimate(value=value, ci_low=low, ci_high=high, n=3000)


FEATURES = ("age", "education", "hours-per-week", "occupation", "capital-gain")


def test_single_feature_auc_equals_scikit_learn_and_an_injected_twin_is_named(adult):
    y = (adult["income"] == ">50K").to_numpy(dtype=int)
    # A recoding of the target with 1% of its values flipped: what a column recorded after the outcome looks like.
    flip = np.random.default_rng(0).random(len(y)) < 0.01
    frame = adult.assign(outcome_code=np.where(y ^ flip, "Y", "N"))
    found = feature_associations(frame, y, features=(*FEATURES, "outcome_code"), task="binary",
                                 min_category_rows=30)
    by = {a.feature: a.value for a in found}
    auc = roc_auc_score(y, frame["age"])
    assert by["age"] == pytest.approx(max(auc, 1 - auc), abs=1e-12)
    assert by["outcome_code"] == pytest.approx(roc_auc_score(y, (frame["outcome_code"] == "Y").astype(int)), abs=1e-12)
    assert found[0].feature == "outcome_code" and by["outcome_code"] > 0.98
    cfg = LeakageConfig()
    fair = dict(roc_auc=_estimate(0.90, 0.89, 0.91))
    findings = check_leakage(associations=found, overall=fair, task="binary", config=cfg, rows=len(frame))
    assert [(f.status, f.attribute) for f in findings] == [("warn", "outcome_code")]
    assert findings[0].message.startswith("outcome_code alone predicts the target almost perfectly (single_feature_roc_auc ")

    clean = feature_associations(adult, y, features=FEATURES, task="binary", min_category_rows=30)
    findings = check_leakage(associations=clean, overall=fair, task="binary", config=cfg, rows=len(adult))
    assert [f.status for f in findings] == ["pass"]
    assert max(a.value for a in clean) < 0.95


def test_cramers_v_and_r2_of_one_feature_equal_scipy_and_numpy(adult):
    race = adult["race"].astype(str)
    counts = race.value_counts()
    pooled = race.where(race.map(counts) >= 30, "\x00rare")
    table = pd.crosstab(pooled, adult["education"]).to_numpy()
    chi2 = chi2_contingency(table, correction=False)[0]
    expected = np.sqrt(chi2 / (table.sum() * (min(table.shape) - 1)))
    (v,) = feature_associations(adult, adult["education"].to_numpy(), features=("race",), task="multiclass",
                                min_category_rows=30)
    assert v.value == pytest.approx(expected, abs=1e-12) and v.metric == "single_feature_cramers_v"
    y = adult["hours-per-week"].to_numpy(dtype=float)
    (r2,) = feature_associations(adult, y, features=("age",), task="regression", min_category_rows=30)
    assert r2.value == pytest.approx(np.corrcoef(adult["age"], y)[0, 1] ** 2, abs=1e-12)


def test_an_identifier_predicts_nothing_and_a_near_perfect_model_is_a_finding(adult):
    y = (adult["income"] == ">50K").to_numpy(dtype=int)
    ids = adult.assign(record=[f"r{i}" for i in range(len(adult))])
    (a,) = feature_associations(ids, y, features=("record",), task="binary", min_category_rows=30)
    assert a.value == 0.5  # every value is rare: one pooled category
    perfect = dict(roc_auc=_estimate(0.999, 0.995, 1.0))
    findings = check_leakage(associations=(a,), overall=perfect, task="binary", config=LeakageConfig(),
                             rows=len(adult))
    assert [(f.status, f.threshold.metric) for f in findings] == [("warn", "roc_auc")]
    assert findings[0].message.startswith("The model is near-perfect: roc_auc 0.999")
    # Not shown beyond (the interval reaches below 0.99): no finding of a near-perfect model.
    unsure = dict(roc_auc=_estimate(0.992, 0.985, 0.998))
    assert [f.status for f in check_leakage(associations=(a,), overall=unsure, task="binary",
                                            config=LeakageConfig(), rows=len(adult))] == ["pass"]


def test_leakage_thresholds_are_settings():
    cfg = config_from_dict({"name": "t", "data": {"test": "t.csv", "target": "y", "sensitive": ["s"]},
                            "model": {"load": "m.skops"},
                            "checks": {"leakage": {"max": {"single_feature_roc_auc": 0.9}, "severity": "block"}}})
    assert cfg.checks.leakage.max == {"single_feature_roc_auc": 0.9} and cfg.checks.leakage.severity == "block"
