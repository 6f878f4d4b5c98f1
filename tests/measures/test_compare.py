"""Comparison of two audits: the significance rule by hand, properties, flips and groups, and the Adult done-when.

The done-when runs two real audits of the bundled Adult data: a gradient-boosted baseline and a degraded
model trained without ``education-num`` and with far fewer boosting iterations.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import jsonschema
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from threadpoolctl import threadpool_limits

from audit import AuditError
from audit.measures._compare import compare
from audit.findings._document import load_schema
from audit.statistics._evaluate import benjamini_hochberg
from audit.cli import main
from conftest import ROOT, adult_config

GOLDEN = json.loads((ROOT / "tests" / "golden" / "findings_small.json").read_text(encoding="utf-8"))


def _shifted(doc: dict, metric: str, by: float) -> dict:
    out = copy.deepcopy(doc)
    entry = out["metrics"]["overall"][metric]
    for key in ("value", "ci_low", "ci_high"):
        entry[key] += by
    return out


def test_identical_documents_show_no_change():
    c = compare(GOLDEN, GOLDEN)
    assert c.same_test_data and c.same_model
    assert all(ch.change in (0.0, None) for ch in (*c.metrics, *c.fairness))
    assert c.summary()["significant_regressions"] == 0 and c.summary()["significant_improvements"] == 0
    assert not c.flipped_checks and not c.new_groups and not c.vanished_groups


def test_p_value_is_the_z_test_of_the_two_intervals_adjusted_by_benjamini_hochberg():
    new = _shifted(GOLDEN, "accuracy", -0.05)
    c = compare(GOLDEN, new)
    old_e, new_e = GOLDEN["metrics"]["overall"]["accuracy"], new["metrics"]["overall"]["accuracy"]
    z95 = stats.norm.ppf(0.975)
    se = math.hypot((old_e["ci_high"] - old_e["ci_low"]) / (2 * z95), (new_e["ci_high"] - new_e["ci_low"]) / (2 * z95))
    p_hand = 2 * (1 - stats.norm.cdf(0.05 / se))
    acc = next(ch for ch in c.metrics if ch.metric == "accuracy" and ch.attribute is None)
    assert acc.change == pytest.approx(-0.05) and acc.p_value == pytest.approx(p_hand, rel=1e-9)
    tested = [ch for ch in (*c.metrics, *c.fairness) if ch.p_value is not None]
    adjusted = benjamini_hochberg([ch.p_value for ch in tested])
    assert [ch.p_adjusted for ch in tested] == pytest.approx(list(adjusted))
    assert acc.effect == "worse" and acc.significant == (acc.p_adjusted < 0.05)


def test_a_large_drop_is_a_significant_regression_and_a_rise_an_improvement():
    worse = compare(GOLDEN, _shifted(GOLDEN, "roc_auc", -0.2))
    better = compare(GOLDEN, _shifted(GOLDEN, "roc_auc", +0.2))
    assert [(ch.metric, ch.subject) for ch in worse.regressions] == [("roc_auc", "overall")]
    assert not better.regressions and better.summary()["significant_improvements"] == 1


def test_small_groups_and_missing_intervals_are_not_tested():
    c = compare(GOLDEN, GOLDEN)
    small = [ch for ch in c.metrics if ch.attribute == "race" and ch.group == "Other"]
    assert small and all(ch.significant is None and "min_group_size" in ch.note for ch in small)
    no_ci = copy.deepcopy(GOLDEN)
    no_ci["metrics"]["overall"]["accuracy"].update(ci_low=None, ci_high=None)
    acc = next(ch for ch in compare(GOLDEN, no_ci).metrics if ch.metric == "accuracy" and ch.attribute is None)
    assert acc.significant is None and acc.p_value is None and "no bootstrap interval" in acc.note


def test_flipped_checks_and_new_and_vanished_groups():
    new = copy.deepcopy(GOLDEN)
    f = next(f for f in new["findings"] if f["check"] == "four_fifths_rule" and f["attribute"] == "sex")
    f["status"] = "pass"
    new["data"]["groups"]["race"]["Martian"] = 40
    del new["data"]["groups"]["race"]["Other"]
    c = compare(GOLDEN, new)
    assert [(x.check, x.attribute, x.old_status, x.new_status) for x in c.flipped_checks] == [
        ("four_fifths_rule", "sex", "fail", "pass")]
    assert c.new_groups == {"race": ["Martian"]} and c.vanished_groups == {"race": ["Other"]}
    shares = {s["attribute"]: s for s in c.drift["group_shares"]}
    assert shares["race"]["total_variation"] > 0 and shares["sex"]["total_variation"] == pytest.approx(0.0, abs=0.05)


@settings(max_examples=25, deadline=None)
@given(shift=st.floats(min_value=-0.3, max_value=0.3, allow_nan=False), metric=st.sampled_from(["accuracy", "recall"]))
def test_swapping_the_runs_negates_changes_and_keeps_p_values(shift, metric):
    new = _shifted(GOLDEN, metric, shift)
    forward, backward = compare(GOLDEN, new), compare(new, GOLDEN)
    for a, b in zip(forward.metrics, backward.metrics):
        assert (a.metric, a.attribute, a.group) == (b.metric, b.attribute, b.group)
        if a.change is not None:
            assert a.change == pytest.approx(-b.change, abs=1e-12)
            assert a.p_adjusted == b.p_adjusted and a.significant == b.significant
            assert {a.effect, b.effect} in ({"better", "worse"}, {"same"}, {"none"})


def test_not_a_findings_document_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(AuditError, match="old.json is not a findings document"):
        compare({"a": 1}, GOLDEN, old_source="old.json")
    bad = tmp_path / "model_card.html"
    bad.write_text("<html>", encoding="utf-8")
    assert main(["compare", str(bad), str(ROOT / "tests/golden/findings_small.json")]) == 2
    assert "is not JSON" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------ done-when, on Adult

def _adult(tmp_path: Path, name: str, *, degraded: bool, policy: dict | None = None) -> Path:
    raw = adult_config(bootstrap={"replicates": 30})
    raw["data"]["intersections"] = 1
    raw["checks"] = {"explainability": {"method": "none"}, "bias": {"proxies": False, "distributions": False}}
    if degraded:
        raw["data"]["features"] = ["age", "workclass", "fnlwgt", "education", "marital-status", "occupation",
                                   "relationship", "capital-gain", "capital-loss", "hours-per-week", "native-country"]
        raw["model"]["train"]["params"] = {"max_iter": 8, "learning_rate": 0.2}
    else:
        raw["model"]["train"]["params"] = {"max_iter": 40, "learning_rate": 0.2}
    if policy is not None:
        raw["gate"] = policy
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


@pytest.mark.parametrize("old_task, new_task", [("regression", "binary"), ("binary", "multiclass"),
                                                ("multiclass", "regression")])
def test_audits_of_different_tasks_are_not_compared(old_task, new_task):
    old, new = copy.deepcopy(GOLDEN), copy.deepcopy(GOLDEN)
    old["model"]["task"], new["model"]["task"] = old_task, new_task
    with pytest.raises(AuditError) as exc:
        compare(old, new, old_source="old.json", new_source="new.json")
    text = str(exc.value)
    assert f"old.json holds the findings of a {old_task} audit and new.json of a {new_task} audit" in text
    # A document without a task (from before there were tasks) is a binary audit's.
    del old["model"]["task"]
    new["model"]["task"] = "binary"
    assert compare(old, new).summary()["significant_regressions"] == 0


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Baseline and degraded audits of Adult; the degraded one run with --baseline under the regression policy."""
    tmp = tmp_path_factory.mktemp("two_runs")
    policy = {"fail_on": "significant_regression"}
    with threadpool_limits(limits=1):  # small models: threads only contend on a shared machine
        base_code = main(["run", str(_adult(tmp, "base", degraded=False)), "--out", str(tmp / "base"), "--quiet"])
        baseline = tmp / "base" / "adult-test" / "findings.json"
        code = main(["run", str(_adult(tmp, "degraded", degraded=True, policy=policy)), "--out", str(tmp / "new"),
                     "--quiet", "--baseline", str(baseline)])
    return tmp, base_code, baseline, code, tmp / "new" / "adult-test"


@pytest.mark.slow
def test_degraded_model_regresses_significantly_and_the_gate_fails(two_runs):
    tmp, base_code, baseline, code, folder = two_runs
    assert base_code == 1  # the four-fifths rule fails for sex under the default any_fail policy
    assert code == 1
    doc = json.loads((folder / "findings.json").read_text(encoding="utf-8"))
    jsonschema.validate(doc, load_schema())
    overall = {ch["metric"]: ch for ch in doc["comparison"]["metrics"] if ch["attribute"] is None}
    # Recall and balanced accuracy drop by several points on 16,281 rows: far beyond both intervals.
    for metric in ("recall", "balanced_accuracy", "log_loss"):
        assert overall[metric]["regression"] and overall[metric]["p_adjusted"] < 1e-3, overall[metric]
    assert overall["recall"]["change"] < -0.03 and overall["log_loss"]["change"] > 0
    assert doc["comparison"]["method"]["same_test_data"] and not doc["comparison"]["method"]["same_model"]
    gating = [f for f in doc["findings"] if f["check"] == "baseline_regression"]
    assert gating and all(f["status"] == "fail" and f["severity"] == "block" for f in gating)
    assert "recall" in next(f for f in gating if f["attribute"] is None)["message"]
    assert doc["policy"]["effective"] == "significant_regression" and doc["gate"] == "fail"
    # The four-fifths failure alone would not fail this policy's gate: only regressions count.
    assert doc["policy"]["gating_findings"] == len(gating)
    card = (folder / "model_card.html").read_text(encoding="utf-8")
    assert card.index('id="comparison"') < card.index('id="model-details"')
    assert "Changes since last audit" in card and "significant regression" in card
    assert "### Changes since last audit" in (folder / "summary.md").read_text(encoding="utf-8")


@pytest.mark.slow
def test_compare_command_prints_writes_and_exits_on_regression(two_runs, capsys):
    tmp, _, baseline, _, folder = two_runs
    out = tmp / "cmp"
    code = main(["compare", str(baseline), str(folder / "findings.json"), "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 1
    assert "REGRESSION" in printed and "Overall metrics" in printed and "recall" in printed
    assert {p.name for p in out.iterdir()} == {"comparison.json", "comparison.md", "comparison.html"}
    written = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    assert written["summary"]["significant_regressions"] > 0
    assert main(["compare", str(baseline), str(folder / "findings.json"), "--fail-on", "never", "--quiet"]) == 0
    # Against itself nothing changed: exit 0 under the same policy.
    assert main(["compare", str(baseline), str(baseline), "--quiet"]) == 0
