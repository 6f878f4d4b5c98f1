"""Conditional disparity (`data.control`): within-strata gaps against pandas, Simpson's paradox flagged."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import audit
from audit.findings._document import load_schema
from audit.measures._conditional import conditional_disparity, strata
from audit.report import render_html

CREDIT = Path(__file__).resolve().parents[1] / "data" / "credit_default_sample.csv.gz"
TARGET = "default payment next month"


def _admissions(seed: int = 0) -> pd.DataFrame:
    """Berkeley-style admissions: men apply mostly to the easy department, women mostly to the hard one;
    within each department women are admitted ten points more often, yet marginally men are."""
    rng = np.random.default_rng(seed)
    parts = []
    for sex, dept, n, rate in [("m", "A", 800, 0.65), ("m", "B", 200, 0.15), ("f", "A", 200, 0.75),
                               ("f", "B", 800, 0.25)]:
        decision = (rng.random(n) < rate).astype(int)
        parts.append(pd.DataFrame({"sex": sex, "dept": dept, "decision": decision,
                                   "merit": (rng.random(n) < 0.5).astype(int), "x": rng.normal(size=n)}))
    return pd.concat(parts, ignore_index=True)


def _run(frame: pd.DataFrame, tmp_path: Path, **checks) -> audit.AuditResult:
    frame.to_csv(tmp_path / "t.csv", index=False)
    raw = {"name": "simpson", "data": {"test": str(tmp_path / "t.csv"), "target": "merit", "sensitive": ["sex"],
                                       "control": ["dept"], "features": ["x", "dept"]},
           "model": {"predictions": {"predictions": "decision"}}, "bootstrap": {"replicates": 200},
           "checks": {"conditional": checks} if checks else {}}
    return audit.run(raw)


def test_simpsons_paradox_is_flagged_and_the_gaps_equal_pandas(tmp_path):
    frame = _admissions()
    result = _run(frame, tmp_path)
    doc = result.document
    jsonschema.validate(doc, load_schema())
    m = doc["conditional"]["by_attribute"]["sex"]["metrics"]["selection_rate"]
    # By hand: the marginal difference between men and women, and each department's.
    rate = frame.groupby("sex")["decision"].mean()
    assert m["groups"] == ["m", "f"] and m["marginal"] == pytest.approx(rate["m"] - rate["f"], abs=1e-9)
    by = frame.groupby(["dept", "sex"])["decision"].agg(["mean", "size"])
    rows = {r["stratum"]: r for r in m["by_stratum"]}
    weights, diffs = [], []
    for dept in ("A", "B"):
        d = by.loc[(dept, "m"), "mean"] - by.loc[(dept, "f"), "mean"]
        assert rows[f"dept={dept}"]["difference"] == pytest.approx(d, abs=1e-9)
        assert rows[f"dept={dept}"]["rows"] == by.loc[dept, "size"].sum()
        diffs.append(d)
        weights.append(by.loc[(dept, "m"), "size"] + by.loc[(dept, "f"), "size"])
    assert m["conditional"] == pytest.approx(np.average(diffs, weights=weights), abs=1e-9)
    assert m["marginal_ci_low"] > 0 and m["ci_high"] < 0 and m["pattern"] == "reverses"
    reversal = [f for f in doc["findings"] if f["id"] == "conditional_disparity.selection_rate_reversal.sex"]
    assert len(reversal) == 1 and reversal[0]["status"] == "warn" and "Simpson's paradox" in reversal[0]["message"]
    html = render_html(doc)
    assert 'id="conditional"' in html and "reverses" in html


def test_cdd_equals_clarifys_formula(tmp_path):
    frame = _admissions(seed=1)
    doc = _run(frame, tmp_path).document
    cdd = doc["conditional"]["by_attribute"]["sex"]["cdd"]
    # Clarify: for the group with the lowest acceptance rate, sum over strata of n_s / n times (its share of
    # the rejected minus its share of the accepted).
    d = frame.groupby("sex")["decision"].mean().idxmin()
    total = 0.0
    for _, s in frame.groupby("dept"):
        rejected, accepted = s[s["decision"] == 0], s[s["decision"] == 1]
        dd = (rejected["sex"] == d).mean() - (accepted["sex"] == d).mean()
        total += len(s) / len(frame) * dd
    assert cdd["group"] == d and cdd["value"] == pytest.approx(total, abs=1e-9)
    assert cdd["ci_low"] <= cdd["value"] <= cdd["ci_high"]


def test_a_gap_that_persists_within_strata_fails_its_threshold(tmp_path):
    # The same departments, men admitted 30 points more often within each: the gap is not the mix.
    rng = np.random.default_rng(2)
    parts = [pd.DataFrame({"sex": sex, "dept": dept, "decision": (rng.random(500) < rate).astype(int),
                           "merit": rng.integers(0, 2, 500), "x": rng.normal(size=500)})
             for sex, dept, rate in [("m", "A", 0.8), ("f", "A", 0.5), ("m", "B", 0.5), ("f", "B", 0.2)]]
    doc = _run(pd.concat(parts, ignore_index=True), tmp_path, severity="block").document
    gap = next(f for f in doc["findings"] if f["id"] == "conditional_disparity.conditional_selection_rate_difference.sex")
    assert gap["status"] == "fail" and gap["shown"] == "beyond" and doc["gate"] == "fail"
    assert doc["conditional"]["by_attribute"]["sex"]["metrics"]["selection_rate"]["pattern"] == "persists"


def test_numeric_controls_are_cut_at_quantiles_and_rates_match_pandas_on_credit_data():
    frame = pd.read_csv(CREDIT)
    features = ["LIMIT_BAL", "AGE", "PAY_0", "PAY_2", "BILL_AMT1", "PAY_AMT1"]
    train, test = frame.iloc[:1400], frame.iloc[1400:].reset_index(drop=True)
    model = LogisticRegression(max_iter=500).fit(train[features], train[TARGET])
    raw = {"name": "credit", "data": {"target": TARGET, "sensitive": ["SEX"], "features": features,
                                      "control": ["LIMIT_BAL", "EDUCATION"], "min_group_size": 10},
           "bootstrap": {"replicates": 50},
           "checks": {"explainability": {"method": "none"}, "bias": {"proxies": False},
                      "conditional": {"quantiles": 3}}}
    doc = audit.run(raw, model=model, data=test).document
    section = doc["conditional"]
    edges = section["edges"]["LIMIT_BAL"]
    assert edges == pytest.approx(sorted(set(np.quantile(test["LIMIT_BAL"], [1 / 3, 2 / 3]))))
    assert section["edges"]["EDUCATION"] is None  # few values: taken one by one
    predicted = pd.Series(model.predict(test[features]))
    stratum, _ = strata(test, controls=["LIMIT_BAL", "EDUCATION"], bins={}, quantiles=3, max_levels=10)
    for metric, keep in (("selection_rate", slice(None)), ("true_positive_rate", test[TARGET] == 1),
                         ("false_positive_rate", test[TARGET] == 0)):
        m = section["by_attribute"]["SEX"]["metrics"][metric]
        rates = predicted[keep].groupby([stratum[keep], test["SEX"].astype(str)[keep]]).mean()
        a, b = m["groups"]
        for r in m["by_stratum"]:
            if r["used"]:
                assert r["difference"] == pytest.approx(rates[(r["stratum"], a)] - rates[(r["stratum"], b)], abs=1e-9)


def test_regression_compares_mean_predictions_and_errors_within_strata():
    rng = np.random.default_rng(3)
    n = 2000
    group = rng.choice(["u", "v"], n)
    band = rng.choice(["low", "high"], n)
    y = rng.normal(size=n) + (band == "high")
    prediction = y + rng.normal(scale=np.where(group == "u", 0.5, 1.0))
    out = conditional_disparity(y=y, prediction=prediction, sensitive=pd.DataFrame({"g": group}),
                                stratum=pd.Series("band=" + band), edges={"band": None},
                                metrics=["mean_prediction", "mean_absolute_error"], favourable=None,
                                min_group_size=30, replicates=50, level=0.95, seed=0)
    (attribute,) = out.attributes
    mae = next(m for m in attribute.metrics if m.metric == "mean_absolute_error")
    err = pd.Series(np.abs(y - prediction)).groupby([band, group]).mean()
    assert mae.groups == ("v", "u")
    for r in mae.by_stratum:
        b = r.stratum.split("=")[1]
        assert r.difference == pytest.approx(err[(b, "v")] - err[(b, "u")], abs=1e-9)
    assert attribute.cdd is None and mae.pattern == "persists"


def test_bad_controls_are_refused(tmp_path):
    frame = _admissions()
    frame.to_csv(tmp_path / "t.csv", index=False)
    base = {"name": "x", "data": {"test": str(tmp_path / "t.csv"), "target": "merit", "sensitive": ["sex"],
                                  "features": ["x"]}, "model": {"predictions": {"predictions": "decision"}}}
    with pytest.raises(audit.AuditError, match=r"`data.control` must name"):
        audit.run({**base, "data": {**base["data"], "control": ["deptt"]}})
    with pytest.raises(audit.AuditError, match=r"`data.control`.*neither the target nor a sensitive"):
        audit.run({**base, "data": {**base["data"], "control": ["sex"]}})
    with pytest.raises(audit.AuditError, match=r"`checks.conditional.metrics` must name rates of a binary audit"):
        audit.run({**base, "data": {**base["data"], "control": ["dept"]},
                   "checks": {"conditional": {"metrics": ["mean_absolute_error"]}}})


@pytest.mark.parametrize("k1, n1, k2, n2", [(3, 3, 24, 24), (0, 5, 4, 9), (17, 40, 9, 33), (1, 1, 0, 2)])
def test_within_stratum_intervals_of_shares_are_newcombes_as_statsmodels_computes_them(k1, n1, k2, n2):
    from statsmodels.stats.proportion import confint_proportions_2indep

    from audit.measures._conditional import newcombe_interval

    expected = confint_proportions_2indep(k1, n1, k2, n2, method="newcomb", compare="diff", alpha=0.05)
    assert newcombe_interval(k1, n1, k2, n2, 0.95) == pytest.approx(tuple(map(float, expected)), abs=1e-9)


@pytest.mark.parametrize("marginal_low, low, high, pattern", [
    (0.02, 0.01, 0.05, "persists"), (0.02, -0.01, 0.05, "vanishes"), (0.02, -0.06, -0.01, "reverses"),
    (-0.01, 0.01, 0.04, "emerges"), (-0.01, -0.05, -0.01, "emerges"), (-0.01, -0.02, 0.03, "no_marginal_gap"),
    (None, 0.0, 0.1, "undefined")])
def test_each_pattern_is_what_the_two_intervals_show(marginal_low, low, high, pattern):
    from audit.measures._conditional import _pattern

    assert _pattern(marginal_low, low, high) == pattern
