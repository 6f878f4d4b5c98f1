"""Drift: PSI by hand, KS against scipy, Adult's test file against its train file, a shifted copy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp

import audit
from audit.measures._drift import population_stability_index
from conftest import ADULT


def test_psi_by_hand_on_a_small_table():
    reference = np.array([25, 25, 50])
    current = np.array([20, 30, 50])
    expected = (0.2 - 0.25) * np.log(0.2 / 0.25) + (0.3 - 0.25) * np.log(0.3 / 0.25) + 0.0
    assert population_stability_index(reference, current) == pytest.approx(expected, abs=1e-15)
    assert population_stability_index(reference, reference) == 0.0
    # An empty bin counts as 1e-4 of the data rather than making PSI infinite.
    assert np.isfinite(population_stability_index(np.array([10, 0]), np.array([5, 5])))


def _audit(tmp_path, test_frame: pd.DataFrame) -> dict:
    test_frame.to_csv(tmp_path / "test.csv", index=False)
    raw = {"name": "drift", "data": {"train": str(ADULT / "data/adult_train.csv.gz"), "test": "test.csv",
                                     "reference": str(ADULT / "data/adult_train.csv.gz"), "target": "income",
                                     "positive_label": ">50K", "sensitive": ["sex"], "intersections": 1},
           "model": {"train": {"estimator": "sklearn.ensemble.HistGradientBoostingClassifier",
                               "params": {"max_iter": 30}}},
           "bootstrap": {"replicates": 20},
           "checks": {"explainability": {"method": "none"}, "bias": {"proxies": False, "distributions": False}}}
    return audit.run(audit.config_from_dict(raw, base_dir=str(tmp_path))).document


@pytest.fixture(scope="module")
def adult_test():
    return pd.read_csv(ADULT / "data/adult_test.csv.gz")


@pytest.mark.slow
def test_adult_test_against_train_shows_no_drift(tmp_path, adult_test):
    doc = _audit(tmp_path, adult_test)
    features = doc["drift"]["features"]
    assert max(f["psi"] for f in features) < 0.05
    assert sum(f["p_adjusted"] < 0.05 for f in features) <= 2  # no significant drift on most features
    assert doc["drift"]["predictions"]["psi"] < 0.01
    assert [f["status"] for f in doc["findings"] if f["category"] == "drift"] == ["pass", "pass"]
    ks = next(f for f in features if f["feature"] == "hours-per-week")
    train = pd.read_csv(ADULT / "data/adult_train.csv.gz")
    assert ks["test"] == "ks"
    assert ks["statistic"] == pytest.approx(ks_2samp(train["hours-per-week"], adult_test["hours-per-week"]).statistic,
                                            abs=1e-12)


@pytest.mark.slow
def test_a_shifted_age_is_flagged(tmp_path, adult_test):
    shifted = adult_test.assign(age=adult_test["age"] + 12)
    doc = _audit(tmp_path, shifted)
    drift = {f["feature"]: f for f in doc["drift"]["features"]}
    assert drift["age"]["psi"] > 0.2 and drift["age"]["p_adjusted"] < 1e-6
    assert max(f["psi"] for name, f in drift.items() if name != "age") < 0.05
    flagged = [f for f in doc["findings"] if f["check"] == "feature_drift" and f["status"] != "pass"]
    assert [f["attribute"] for f in flagged] == ["age"]
    assert "age has drifted: PSI" in flagged[0]["message"] and "> 0.2" in flagged[0]["message"]
    assert drift["age"]["worst_group"] in ("sex=Female", "sex=Male")
