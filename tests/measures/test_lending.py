"""Fair-lending measures: AIR by cutoff, SMD and marginal effects against statsmodels, scipy and pandas."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

import audit
from audit.findings._document import load_schema
from audit.measures._lending import lending_measures
from audit.report import render_html

GERMAN = Path(__file__).resolve().parents[2] / "examples" / "german-credit" / "data" / "german.csv.gz"


def _planted(n: int = 3000, effect: float = 0.0, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Applicants whose approval depends on income; group v is approved less for the same income when
    ``effect`` is negative."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["u", "v"], n, p=[0.6, 0.4])
    income = rng.normal(size=n) - 0.5 * (group == "v")
    score = 1 / (1 + np.exp(-(income + effect * (group == "v"))))
    return pd.DataFrame({"g": group, "income": income}), score


def test_marginal_effect_is_statsmodels_average_marginal_effect_and_air_is_the_ratio_of_rates():
    frame, score = _planted(effect=-0.8)
    # Decisions drawn from the score: a cutoff on a function of income and group would separate them perfectly.
    decision = (np.random.default_rng(9).random(len(score)) < score).astype(int)
    out = lending_measures(score=score, sensitive=frame[["g"]], controls=frame[["income"]], decision=decision,
                           decision_is_binary=True, references={}, higher_is_favourable=True, cutoffs=9, level=0.95,
                           min_group_size=30)
    (a,) = out.attributes
    assert a.reference == "u" and a.effect_model == "logit"
    X = sm.add_constant(pd.DataFrame({"v": (frame["g"] == "v").astype(float), "income": frame["income"]}))
    margeff = sm.Logit(decision, X).fit(disp=0).get_margeff(at="overall", dummy=True)
    (effect,) = a.marginal_effects
    assert effect.value == pytest.approx(margeff.margeff[0], abs=1e-9)
    assert (effect.ci_low, effect.ci_high) == pytest.approx(tuple(margeff.conf_int()[0]), abs=1e-9)
    assert effect.ci_high < 0  # the planted penalty, income held fixed
    rates = pd.Series(score).groupby(frame["g"])
    for p in a.air:
        approved = (pd.Series(score) >= p.cutoff).groupby(frame["g"]).mean()
        assert p.ratio == pytest.approx(approved["v"] / approved["u"], abs=1e-12)
        assert p.ci_low <= p.ratio <= p.ci_high
    # Hedges' g by hand (pooled standard deviation, small-sample correction).
    u, v = score[frame["g"] == "u"], score[frame["g"] == "v"]
    pooled = np.sqrt(((len(u) - 1) * u.var(ddof=1) + (len(v) - 1) * v.var(ddof=1)) / (len(u) + len(v) - 2))
    g = (v.mean() - u.mean()) / pooled * (1 - 3 / (4 * (len(u) + len(v)) - 9))
    assert a.smd[0].value == pytest.approx(g, rel=1e-6) and rates.mean()["v"] < rates.mean()["u"]


def test_without_a_penalty_the_marginal_effect_is_not_shown_and_rarely_fails():
    fails = 0
    for seed in range(20):
        frame, score = _planted(effect=0.0, seed=seed, n=1500)
        decision = (np.random.default_rng(seed + 100).random(len(score)) < score).astype(int)
        out = lending_measures(score=score, sensitive=frame[["g"]], controls=frame[["income"]], decision=decision,
                               decision_is_binary=True, references={}, higher_is_favourable=True, cutoffs=3,
                               level=0.95, min_group_size=30)
        e = out.attributes[0].marginal_effects[0]
        fails += not (e.ci_low <= 0 <= e.ci_high)
    # A 95% interval misses the true zero about once in twenty; allow sampling error (binomial 99.9%).
    assert fails <= int(stats.binom.ppf(0.999, 20, 0.05))


def test_regression_effects_are_ols_coefficients_with_robust_errors():
    rng = np.random.default_rng(4)
    group = pd.Series(rng.choice(["a", "b", "c"], 900))
    band = pd.Series(rng.choice(["x", "y"], 900))
    limit = 1000 + 200 * (band == "y") - 150 * (group == "c") + rng.normal(scale=50, size=900)
    out = lending_measures(score=limit.to_numpy(), sensitive=pd.DataFrame({"g": group}),
                           controls=pd.DataFrame({"band": band}), decision=limit.to_numpy(), decision_is_binary=False,
                           references={"g": "a"}, higher_is_favourable=True, cutoffs=4, level=0.95, min_group_size=30)
    (attr,) = out.attributes
    X = pd.DataFrame({"const": 1.0, "b": (group == "b") * 1.0, "c": (group == "c") * 1.0, "band_y": (band == "y") * 1.0})
    fit = sm.OLS(limit, X).fit(cov_type="HC3")
    by = {e.group: e for e in attr.marginal_effects}
    assert by["c"].value == pytest.approx(fit.params["c"], abs=1e-9) and by["c"].ci_high < -100
    assert by["b"].value == pytest.approx(fit.params["b"], abs=1e-9)


def test_german_credit_audit_has_the_lending_section(tmp_path):
    raw = {"name": "german", "seed": 0,
           "data": {"test": str(GERMAN), "target": "risk", "positive_label": 1, "sensitive": ["sex", "age"],
                    "bins": {"age": [0, 25, 35, 50, 120]}, "control": ["credit_amount", "duration"]},
           "model": {"train": {"estimator": "sklearn.linear_model.LogisticRegression", "params": {"max_iter": 1000}}},
           "bootstrap": {"replicates": 50}, "checks": {"lending": {"enabled": True, "cutoffs": 5},
                                                      "explainability": {"method": "none"}}}
    doc = audit.run(raw).document
    jsonschema.validate(doc, load_schema())
    la = doc["lending"]["by_attribute"]["sex"]
    assert la["reference"] == "male" and {e["group"] for e in la["marginal_effects"]} == {"female"}
    assert len({p["cutoff"] for p in la["air"]}) == 5
    ids = {f["id"] for f in doc["findings"]}
    assert {"fair_lending.marginal_effect.sex=female", "fair_lending.standardised_mean_difference.sex=female",
            "fair_lending.adverse_impact_ratio_by_cutoff.sex"} <= ids
    html = render_html(doc)
    assert 'id="lending"' in html and 'id="conditional"' in html


def test_multiclass_audits_say_the_lending_step_does_not_apply():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=600), "s": rng.choice(["a", "b"], 600)})
    frame["y"] = np.where(frame["x"] > 0.5, "hi", np.where(frame["x"] < -0.5, "lo", "mid"))
    raw = {"name": "mc", "data": {"target": "y", "sensitive": ["s"], "features": ["x"]},
           "model": {"train": {"estimator": "sklearn.linear_model.LogisticRegression"}},
           "bootstrap": {"replicates": 20}, "checks": {"lending": {"enabled": True}, "explainability": {"method": "none"}}}
    doc = audit.run(raw, data=frame).document
    assert "lending" not in doc
    note = next(s for s in doc["steps"] if s["step"] == "lending")
    assert note["status"] == "not_applicable" and "one score per row" in note["note"]
    assert any(f["check"] == "fair_lending" and f["status"] == "insufficient_data" for f in doc["findings"])


def test_perfectly_separated_decisions_leave_the_marginal_effect_undefined_with_the_reason():
    frame, score = _planted(effect=-0.8)
    out = lending_measures(score=score, sensitive=frame[["g"]], controls=frame[["income"]],
                           decision=(score >= 0.5).astype(int), decision_is_binary=True, references={},
                           higher_is_favourable=True, cutoffs=3, level=0.95, min_group_size=30)
    (a,) = out.attributes
    assert a.marginal_effects == () and "could not be fitted" in a.marginal_note


def test_the_decision_cutoff_is_one_of_the_cutoffs_and_marked():
    frame, score = _planted(effect=-0.5, seed=3)
    decision = (np.random.default_rng(4).random(len(score)) < score).astype(int)
    out = lending_measures(score=score, sensitive=frame[["g"]], controls=frame[["income"]], decision=decision,
                           decision_is_binary=True, references={}, higher_is_favourable=True, cutoffs=4, level=0.95,
                           min_group_size=30, decision_cutoff=0.3)
    marked = [p for p in out.attributes[0].air if p.at_decision]
    assert 0.3 in out.cutoffs and len(marked) == 1 and marked[0].cutoff == 0.3
    approved = pd.Series(score >= 0.3).groupby(frame["g"]).mean()
    assert marked[0].ratio == pytest.approx(approved["v"] / approved["u"], abs=1e-12)
