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


# --- Predictions of every task ------------------------------------------------------------------------------


def _prediction_drift(reference_predictions, current_predictions, *, task: str, bins: int = 10):
    from audit.measures._drift import measure_drift

    reference = pd.DataFrame(index=range(len(reference_predictions)))
    current = pd.DataFrame(index=range(len(current_predictions)))
    return measure_drift(reference, current, features=(), reference_labels=reference, current_labels=current,
                         bins=bins, reference_scores=np.asarray(reference_predictions),
                         current_scores=np.asarray(current_predictions), min_group_size=30, task=task)


def test_regression_prediction_drift_by_value_equals_a_hand_psi():
    # Three distinct predicted values, fewer than the 10 bins: each value is a bin of its own.
    reference = np.r_[np.full(25, 1.5), np.full(25, 2.5), np.full(50, 4.0)]
    current = np.r_[np.full(20, 1.5), np.full(30, 2.5), np.full(50, 4.0)]
    p = _prediction_drift(reference, current, task="regression").predictions
    expected = (0.2 - 0.25) * np.log(0.2 / 0.25) + (0.3 - 0.25) * np.log(0.3 / 0.25)
    assert p.feature == "model prediction" and p.kind == "numeric" and p.test == "ks"
    assert p.psi == pytest.approx(expected, abs=1e-15)
    ks = ks_2samp(reference, current)
    assert p.statistic == pytest.approx(ks.statistic, abs=1e-15) and p.p_value == pytest.approx(ks.pvalue, rel=1e-12)
    assert p.worst_group is None and p.p_adjusted == p.p_value


def test_regression_prediction_drift_by_quantile_equals_a_hand_psi():
    # 100 distinct values and 4 bins: quartile edges of the reference, 24.75, 49.5 and 74.25.
    reference = np.arange(100, dtype=float)
    current = reference + 5.0
    p = _prediction_drift(reference, current, task="regression", bins=4).predictions
    r = np.array([25, 25, 25, 25]) / 100
    c = np.array([20, 25, 25, 30]) / 100  # 5..24, 25..49, 50..74, 75..104
    assert p.psi == pytest.approx(float(np.sum((c - r) * np.log(c / r))), abs=1e-15)
    assert p.statistic == pytest.approx(0.05, abs=1e-15)


@pytest.mark.parametrize("classes", [("a", "b", "c", "d"), (0, 1, 2, 3)], ids=["text", "numbers"])
def test_multiclass_class_share_drift_equals_a_hand_psi_and_chi_square(classes):
    from scipy.stats import chi2_contingency

    from audit.checks._drift import check_drift
    from audit.settings._config import DriftConfig

    a, b, c, d = classes
    reference = [a] * 50 + [b] * 30 + [c] * 20  # d is never predicted on the reference
    current = [a] * 40 + [b] * 30 + [c] * 25 + [d] * 5
    p = _prediction_drift(reference, current, task="multiclass").predictions
    # Class shares; the class the reference never predicts gets the share 1e-4 rather than an infinite PSI.
    r = np.array([0.5, 0.3, 0.2, 1e-4])
    s = np.array([0.4, 0.3, 0.25, 0.05])
    assert p.feature == "predicted class" and p.kind == "categorical" and p.test == "chi2"
    assert p.psi == pytest.approx(float(np.sum((s - r) * np.log(s / r))), abs=1e-15)
    chi2, p_value, _, _ = chi2_contingency(np.array([[50, 30, 20, 0], [40, 30, 25, 5]]))
    assert p.statistic == pytest.approx(chi2, rel=1e-12) and p.p_value == pytest.approx(p_value, rel=1e-12)
    (finding,) = [f for f in check_drift(drift=_prediction_drift(reference, current, task="multiclass"),
                                         config=DriftConfig()) if f.check == "prediction_drift"]
    assert finding.message.startswith("The model's predicted classes have drifted: PSI")
    assert "chi-square" in finding.message


def test_binary_score_drift_keeps_its_name_and_test():
    rng = np.random.default_rng(0)
    reference, current = rng.uniform(size=500), rng.uniform(size=400)
    p = _prediction_drift(reference, current, task="binary").predictions
    assert (p.feature, p.kind, p.test) == ("model score", "numeric", "ks")
    # The default task is binary: the same result without naming it.
    from audit.measures._drift import measure_drift

    empty = pd.DataFrame(index=range(500)), pd.DataFrame(index=range(400))
    default = measure_drift(empty[0], empty[1], features=(), reference_labels=empty[0], current_labels=empty[1],
                            bins=10, reference_scores=reference, current_scores=current, min_group_size=30)
    assert default.predictions == p
    with pytest.raises(ValueError, match="task must be one of"):
        _prediction_drift(reference, current, task="ranking")
