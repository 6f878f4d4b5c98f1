"""Regulatory views: one impact-ratio helper, LL144 tables against a hand computation on the raw Adult rows,
the four-fifths verdicts against the demographic parity ratio, the EU AI Act checklist against the config."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import audit
from audit.measures._regulatory import FOUR_FIFTHS, impact_ratios, ll144_attributes
from conftest import adult_config
from helpers import adult_rows, exports_audit


@pytest.fixture(scope="module")
def result():
    return exports_audit()


@pytest.fixture(scope="module")
def selected(result) -> pd.DataFrame:
    """The raw Adult test rows with the model's own predicted class, as scikit-learn's ``predict`` gives it."""
    frame = adult_rows("test")
    model = result.model
    predicted = model.estimator.predict(frame[list(model.features)])
    return frame.assign(selected=(predicted == model.positive_class).astype(float))


def _hand_ll144(frame: pd.DataFrame, columns: list[str], min_share: float) -> dict[str, dict]:
    """Selection rate of each category over the highest, categories under ``min_share`` left out."""
    grouped = frame.groupby(columns, observed=True)["selected"].agg(["mean", "size"])
    grouped.index = ["&".join(k) if isinstance(k, tuple) else k for k in grouped.index]
    share = grouped["size"] / len(frame)
    top = grouped["mean"][share >= min_share].max()
    return {cat: {"n": int(row["size"]), "selection_rate": row["mean"], "share": share[cat],
                  "impact_ratio": row["mean"] / top if share[cat] >= min_share else None}
            for cat, row in grouped.iterrows()}


@pytest.mark.parametrize("category_type, columns", [("sex", ["sex"]), ("race", ["race"]),
                                                    ("sex&race", ["sex", "race"])])
def test_ll144_table_equals_a_hand_computation_on_the_raw_rows(result, selected, category_type, columns):
    ll = result.document["regulatory"]["nyc_ll144"]
    assert ll["rows"] == len(selected) and ll["min_share"] == 0.02
    table = next(t for t in ll["tables"] if t["category_type"] == category_type)
    expected = _hand_ll144(selected, columns, 0.02)
    got = {r["category"]: r for r in table["rows"]}
    assert set(got) == set(expected)
    for category, e in expected.items():
        row = got[category]
        assert row["n"] == e["n"]
        assert row["selection_rate"] == pytest.approx(e["selection_rate"], abs=1e-12)
        assert row["share"] == pytest.approx(e["share"], abs=1e-12)
        if e["impact_ratio"] is None:
            assert row["status"] == "excluded" and row["impact_ratio"] is None
        else:
            assert row["status"] == "included"
            assert row["impact_ratio"] == pytest.approx(e["impact_ratio"], abs=1e-12)
    # Adult has small categories on both sides of the 2% line, so the exclusion is really exercised.
    if category_type != "sex":
        assert {r["status"] for r in table["rows"]} == {"included", "excluded"}
    assert max(r["impact_ratio"] for r in table["rows"] if r["impact_ratio"] is not None) == 1.0


def test_four_fifths_verdicts_follow_the_demographic_parity_ratio(result):
    doc = result.document
    verdicts = doc["regulatory"]["eeoc_four_fifths"]["by_attribute"]
    assert set(verdicts) == set(doc["fairness"]["by_attribute"])  # every attribute and intersection
    for attribute, v in verdicts.items():
        dpr = doc["fairness"]["by_attribute"][attribute]["demographic_parity_ratio"]
        assert v["impact_ratio"] == dpr["value"] and v["groups"] == dpr["groups"]
        assert v["verdict"] == ("pass" if dpr["value"] >= FOUR_FIFTHS else "fail")
        assert v["intersection"] == ("&" in attribute)
        if v["verdict"] == "fail":  # the lowest group is then under four fifths of the highest
            assert dpr["groups"][1] in v["below"]
    # On Adult the model selects women at about a third of the rate of men.
    assert verdicts["sex"]["verdict"] == "fail" and verdicts["sex"]["below"] == ["Female"]


def test_the_same_helper_gives_the_engines_ratio(result):
    # The four-fifths groups come from impact_ratios over the selection rates in the evaluation; their
    # smallest ratio must be the engine's demographic parity ratio.
    doc = result.document
    for attribute, v in doc["regulatory"]["eeoc_four_fifths"]["by_attribute"].items():
        counts = doc["data"]["groups"][attribute]
        groups = list(counts)
        rates = [doc["metrics"]["by_group"][attribute][g]["selection_rate"]["value"] for g in groups]
        included = [counts[g] >= doc["data"]["min_group_size"] and g not in v["excluded_groups"] for g in groups]
        ir = impact_ratios(groups=groups, rates=rates, included=included)
        smallest = min(r for r in ir.ratios if r is not None)
        assert smallest == pytest.approx(v["impact_ratio"], abs=1e-12)


def test_eu_checklist_reflects_what_the_audit_did(result):
    eu = result.document["regulatory"]["eu_ai_act"]
    status = {i["id"]: i["status"] for i in eu["checklist"]}
    assert status["human_oversight"] == "covered"  # report.human_oversight is set
    assert status["interpretability"] == "owner"  # explanations were switched off
    assert status["data_bias_examination"] == "partial"  # proxy checks were switched off
    assert status["cybersecurity"] == "owner" and status["accuracy_metrics"] == "covered"
    assert eu["counts"] == {s: sum(v == s for v in status.values()) for s in ("covered", "partial", "owner")}
    assert "not legal advice" in result.document["regulatory"]["disclaimer"]


def test_card_shows_each_regulatory_section_with_its_disclaimer(result):
    html = result.render("html")
    for section in ("nyc-ll144", "eeoc-four-fifths", "eu-ai-act"):
        assert f'<section id="{section}">' in html
    assert html.count("not legal advice") >= 3
    assert "A credit officer reviews every refusal." in html


def test_regulatory_views_can_be_switched_off_and_attributes_named(tmp_path):
    frame = adult_rows("test", rows=3000).rename(columns={"sex": "gender_identity", "race": "ethnic_group"})
    frame.to_csv(tmp_path / "t.csv", index=False)
    raw = {"name": "renamed", "data": {"test": str(tmp_path / "t.csv"), "target": "income", "positive_label": ">50K",
                                        "sensitive": ["gender_identity", "ethnic_group"]},
           "model": {"train": {"estimator": "sklearn.linear_model.LogisticRegression", "params": {"max_iter": 300}}},
           "bootstrap": {"replicates": 0}, "checks": {"explainability": {"method": "none"}, "bias": {"proxies": False}},
           "regulatory": {"ll144": {"sex": "gender_identity", "race": "ethnic_group", "min_share": 0.0}}}
    doc = audit.run(raw).document
    ll = doc["regulatory"]["nyc_ll144"]
    assert [t["category_type"] for t in ll["tables"]] == ["sex", "race", "sex&race"]
    assert all(r["status"] == "included" for t in ll["tables"] for r in t["rows"])  # min_share 0: none apart
    off = audit.run({**raw, "regulatory": {"enabled": False}}).document
    assert off["regulatory"] is None
    assert '<section id="nyc-ll144">' not in audit.AuditResult(document=off).render("html")


def test_unknown_ll144_attribute_is_a_clear_error():
    raw = adult_config(regulatory={"ll144": {"sex": "gender"}})
    with pytest.raises(audit.AuditError, match=r"`regulatory.ll144.sex` must name one of the sensitive"):
        audit.run(raw)


@pytest.mark.parametrize("sensitive, expected", [(["age", "Gender", "race"], ("Gender", "race")),
                                                 (["SEX", "Ethnicity"], ("SEX", "Ethnicity")),
                                                 (["age"], (None, None))])
def test_ll144_attributes_found_by_name(sensitive, expected):
    assert ll144_attributes(sensitive=sensitive, sex=None, race=None) == expected


def test_missing_values_are_an_unknown_category_kept_out_of_the_ratios(tmp_path):
    frame = adult_rows("test", rows=4000)
    frame.loc[frame.index[:300], "race"] = np.nan
    frame.to_csv(tmp_path / "t.csv", index=False)
    raw = {"name": "unknown", "data": {"test": str(tmp_path / "t.csv"), "target": "income", "positive_label": ">50K",
                                        "sensitive": ["sex", "race"]},
           "model": {"train": {"estimator": "sklearn.linear_model.LogisticRegression", "params": {"max_iter": 300}}},
           "bootstrap": {"replicates": 0}, "checks": {"explainability": {"method": "none"}, "bias": {"proxies": False}}}
    doc = audit.run(raw).document
    ll = doc["regulatory"]["nyc_ll144"]
    race = next(t for t in ll["tables"] if t["category_type"] == "race")
    unknown = [r for r in race["rows"] if r["status"] == "unknown"]
    n_missing = doc["data"]["groups"]["race"]["missing"]  # rows of the evaluation split with no race
    assert n_missing > 30
    assert [(r["category"], r["n"], r["impact_ratio"]) for r in unknown] == [("missing", n_missing, None)]
    inter = next(t for t in ll["tables"] if t["category_type"] == "sex&race")
    assert {r["category"] for r in inter["rows"] if r["status"] == "unknown"} == {"Female&missing", "Male&missing"}


# ----------------------------------------------------------------------------- the helper, on small tables


def test_impact_ratios_by_hand():
    r = impact_ratios(groups=["a", "b", "c", "d"], rates=[0.30, 0.60, 0.90, None], included=[True, True, False, True])
    assert r.highest_group == "b" and r.highest_rate == 0.60
    assert r.ratios == (0.5, 1.0, None, None)
    none = impact_ratios(groups=["a", "b"], rates=[0.0, 0.0], included=[True, True])
    assert none.ratios == (None, None) and none.highest_rate == 0.0


# Rates of 0 or above 1e-6: a subnormal rate times a scale below 1 rounds to 0, which is no ratio to test.
@given(st.lists(st.tuples(st.one_of(st.just(0.0), st.floats(1e-6, 1)), st.booleans()), min_size=1, max_size=12),
       st.floats(0.01, 100))
def test_impact_ratios_are_bounded_scale_free_and_one_at_the_top(pairs, scale):
    groups = [f"g{i}" for i in range(len(pairs))]
    rates = [p for p, _ in pairs]
    included = [ok for _, ok in pairs]
    r = impact_ratios(groups=groups, rates=rates, included=included)
    defined = [x for x in r.ratios if x is not None]
    assert all(0 <= x <= 1 for x in defined)
    if defined:
        assert max(defined) == 1.0 and r.ratios[groups.index(r.highest_group)] == 1.0
    # Ratios do not depend on the unit of the rates.
    scaled = impact_ratios(groups=groups, rates=[p * scale for p in rates], included=included)
    for x, y in zip(r.ratios, scaled.ratios):
        assert (x is None and y is None) or math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12)
