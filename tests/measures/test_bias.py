"""Data bias on real Adult data: what is known about it is found, and the measures match references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chisquare
from sklearn.metrics import mutual_info_score

import audit
from audit.measures._bias import binned_balanced_accuracy, cramers_v, mutual_information, representation_test
from conftest import ADULT


@pytest.fixture(scope="module")
def adult_audit(tmp_path_factory):
    raw = {"name": "bias", "data": {"train": str(ADULT / "data/adult_train.csv.gz"),
                                    "test": str(ADULT / "data/adult_test.csv.gz"), "target": "income",
                                    "positive_label": ">50K", "sensitive": ["sex", "race"], "intersections": 1},
           "model": {"train": {"estimator": "sklearn.ensemble.HistGradientBoostingClassifier",
                               "params": {"max_iter": 50}}},
           "bootstrap": {"replicates": 100},
           "checks": {"explainability": {"method": "none"},
                      "bias": {"reference_shares": {"race": {"White": 0.8, "Black": 0.12}},
                               "max_base_rate_difference": 0.1}}}
    return audit.run(audit.config_from_dict(raw)).document


def test_base_rate_gap_by_sex(adult_audit):
    rates = adult_audit["bias"]["base_rates"]["sex"]
    assert rates["Male"]["value"] == pytest.approx(0.31, abs=0.015)  # 0.300 in the test file, 0.306 in train
    assert rates["Female"]["value"] == pytest.approx(0.11, abs=0.01)
    assert rates["Male"]["ci_low"] < rates["Male"]["value"] < rates["Male"]["ci_high"]
    gap = adult_audit["bias"]["base_rate_difference"]["sex"]
    assert gap["value"] == pytest.approx(rates["Male"]["value"] - rates["Female"]["value"], abs=1e-12)
    assert gap["groups"] == ["Male", "Female"] and gap["ci_low"] > 0.15
    finding = next(f for f in adult_audit["findings"] if f["check"] == "base_rate" and f["attribute"] == "sex")
    assert finding["status"] == "warn" and "shown beyond (non-blocking) base_rate_difference ≤ 0.1" in finding["message"]


def test_relationship_is_the_strongest_proxy_for_sex(adult_audit):
    proxies = adult_audit["bias"]["proxies"]
    top = proxies[0]
    assert (top["feature"], top["attribute"]) == ("relationship", "sex")
    assert top["cramers_v"] > 0.6 and top["balanced_accuracy"] > 0.75  # cross-validated
    assert any(f["check"] == "proxy" and "relationship is a proxy for sex" in f["message"]
               for f in adult_audit["findings"])


def test_race_shares_and_the_reference_test(adult_audit):
    frame = pd.read_csv(ADULT / "data/adult_test.csv.gz")
    counts = frame["race"].value_counts()
    rep = adult_audit["bias"]["representation"]["race"]
    for race, n in counts.items():
        assert rep[race]["n"] == n and rep[race]["share"] == pytest.approx(n / len(frame))
    assert rep["White"]["share"] == pytest.approx(0.857, abs=0.001)
    test = adult_audit["bias"]["representation_tests"][0]
    observed = [counts["White"], counts["Black"], len(frame) - counts["White"] - counts["Black"]]
    expected = np.array([0.8, 0.12, 0.08]) * len(frame)
    assert test["statistic"] == pytest.approx(chisquare(observed, expected).statistic, rel=1e-12)
    assert test["most_under_represented"] == "(other)"  # 5.6% of rows against 8% expected
    assert test["groups"]["Black"]["reference_share"] == pytest.approx(0.12)


def test_missingness_by_group_counts_every_row(adult_audit):
    frame = pd.read_csv(ADULT / "data/adult_test.csv.gz")
    entry = next(m for m in adult_audit["bias"]["missingness"]
                 if m["feature"] == "occupation" and m["attribute"] == "sex")
    for sex, rate in entry["rates"].items():
        assert rate == pytest.approx(frame.loc[frame["sex"] == sex, "occupation"].isna().mean(), abs=1e-12)


def test_association_measures_match_references():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 4, 2000)
    b = np.where(rng.random(2000) < 0.7, a % 2, rng.integers(0, 2, 2000))
    assert mutual_information(a, b) == pytest.approx(mutual_info_score(a, b), abs=1e-12)
    table = pd.crosstab(a, b).to_numpy()
    from scipy.stats.contingency import association

    assert cramers_v(a, b) == pytest.approx(association(table, method="cramer"), abs=1e-12)
    assert 0.5 < binned_balanced_accuracy(a, b) <= 1


def test_representation_test_by_hand():
    t = representation_test(attribute="g", counts={"a": 30, "b": 50, "c": 20}, reference={"a": 0.5, "b": 0.5})
    # (other) holds c with a reference share of 0: the expected count is ~0, so c is over-represented.
    assert t.groups == ("a", "b") or t.groups[:2] == ("a", "b")
    t2 = representation_test(attribute="g", counts={"a": 30, "b": 70}, reference={"a": 0.5, "b": 0.5})
    assert t2.statistic == pytest.approx((30 - 50) ** 2 / 50 + (70 - 50) ** 2 / 50)
    assert t2.most_under_represented == "a"
