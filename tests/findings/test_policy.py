"""Gate policy: severity overrides, exceptions (active and expired), fail_on, config validation."""

from __future__ import annotations

import copy
import json
from datetime import date

import jsonschema
import pytest

from audit import AuditError, config_from_dict
from audit.settings._config import GateConfig, GateException
from audit.findings._document import load_schema
from audit.findings._policy import apply_policy
from audit.report import render_html, render_junit, render_markdown
from conftest import ROOT, adult_config

GOLDEN = json.loads((ROOT / "tests" / "golden" / "findings_small.json").read_text(encoding="utf-8"))
TODAY = date(2026, 11, 25)


def _gate(doc: dict, **policy) -> dict:
    out = apply_policy(doc, policy=GateConfig(**policy), today=TODAY)
    jsonschema.validate(out, load_schema())
    return out


def test_default_policy_leaves_the_document_alone():
    assert apply_policy(GOLDEN, policy=GateConfig()) is GOLDEN
    assert GOLDEN["gate"] == "fail"  # the four-fifths rule fails for sex and race in this small audit


def test_expired_exception_fails_the_gate_with_a_message_naming_it():
    # Both four-fifths failures are excepted, so only the expired exception can fail the gate.
    doc = _gate(GOLDEN, exceptions=[
        GateException(check="four_fifths_rule", reason="remediation planned", expires=date(2027, 3, 31)),
        GateException(check="proxy", attribute="sex", reason="accepted in review 12", expires=date(2026, 11, 24))])
    assert doc["gate"] == "fail"
    expired = [f for f in doc["findings"] if f["check"] == "exception_expired"]
    assert len(expired) == 1 and expired[0]["status"] == "fail" and expired[0]["severity"] == "block"
    assert "gate.exceptions[1] (check 'proxy', attribute 'sex') expired on 2026-11-24" in expired[0]["message"]
    assert "accepted in review 12" in expired[0]["message"]
    assert [e["status"] for e in doc["policy"]["exceptions"]] == ["active", "expired"]
    assert doc["summary"]["fail"] == sum(f["status"] == "fail" for f in doc["findings"])
    assert "gate.exceptions[1]" in render_junit(doc) and "expired on 2026-11-24" in render_markdown(doc)


def test_active_exception_keeps_the_status_and_passes_the_gate():
    exc = GateException(check="four_fifths_rule", reason="remediation <b>planned</b>", expires=TODAY)
    doc = _gate(GOLDEN, exceptions=[exc])
    covered = [f for f in doc["findings"] if "exception" in f]
    assert {(f["check"], f["attribute"], f["status"]) for f in covered} == {
        ("four_fifths_rule", "sex", "fail"), ("four_fifths_rule", "race", "fail")}
    assert covered[0]["exception"] == {"index": 0, "reason": "remediation <b>planned</b>", "expires": "2026-11-25"}
    # No failure left, but equalized odds by sex is not shown either way: the gate is inconclusive, not pass.
    assert doc["gate"] == "inconclusive" and doc["policy"]["exceptions"][0]["matched"] == 2
    html = render_html(doc)
    assert "remediation &lt;b&gt;planned&lt;/b&gt;" in html and "<b>planned</b>" not in html
    assert html.index('id="gate-policy"') < html.index('id="model-details"')
    # The failed checks at the top say which failures are excepted, and why: the two excepted four-fifths
    # failures are one fact, marked once, apart from the failures that still count.
    top = html[:html.index('id="model-details"')]
    assert top.count("Excepted by the gate policy until 2026-11-25: remediation &lt;b&gt;planned&lt;/b&gt;") == 1
    (fact,) = [f for f in doc["facts"] if f["excepted"]]
    assert fact["check"] == "four_fifths_rule" and fact["count"] == 2 and sorted(fact["subjects"]) == ["race", "sex"]
    # Scoped to one attribute, the other failure still fails the gate.
    scoped = _gate(GOLDEN, exceptions=[GateException(check="four_fifths_rule", attribute="sex", reason="r",
                                                     expires=TODAY)])
    assert scoped["gate"] == "fail" and scoped["policy"]["exceptions"][0]["matched"] == 1


@pytest.mark.parametrize("severity, gate, status", [("warn", "inconclusive", "warn"), ("block", "fail", "fail")])
def test_severity_override_per_check(severity, gate, status):
    doc = _gate(GOLDEN, severity={"four_fifths_rule": severity})
    ff = [f for f in doc["findings"] if f["check"] == "four_fifths_rule"]
    assert {(f["severity"], f["status"], f["threshold"]["severity"]) for f in ff} == {(severity, status, severity)}
    assert doc["gate"] == gate


def test_raising_severity_fails_only_clear_misses():
    # A warn-severity threshold clearly missed becomes a failure; "too close to call" stays a warning.
    doc = copy.deepcopy(GOLDEN)
    f = next(f for f in doc["findings"] if f["check"] == "fairness" and f["attribute"] == "sex")
    assert f["status"] == "warn" and f["ci_low"] < f["threshold"]["value"] < f["ci_high"]
    out = _gate(doc, severity={"fairness": "block"})
    assert next(x for x in out["findings"] if x["check"] == "fairness" and x["attribute"] == "sex")["status"] == "warn"


def test_regression_policy_without_a_baseline_falls_back_and_says_so():
    doc = _gate(GOLDEN, fail_on="significant_regression")
    assert doc["policy"]["effective"] == "any_fail" and "no baseline" in doc["policy"]["note"]
    assert doc["gate"] == "fail"


def test_regression_policy_ignores_threshold_failures_when_nothing_regressed():
    doc = apply_policy(GOLDEN, policy=GateConfig(fail_on="significant_regression"), baseline=GOLDEN, today=TODAY)
    assert doc["gate"] == "pass" and doc["comparison"]["summary"]["significant_regressions"] == 0
    both = apply_policy(GOLDEN, policy=GateConfig(fail_on="any_fail_or_regression"), baseline=GOLDEN, today=TODAY)
    assert both["gate"] == "fail"


@pytest.mark.parametrize("gate, message", [
    ({"exceptions": [{"check": "four_fifth_rule", "reason": "x", "expires": "2026-12-31"}]},
     "`gate.exceptions.0.check` must name a check; got 'four_fifth_rule'"),
    ({"exceptions": [{"check": "proxy", "reason": "x", "expires": "someday"}]}, "`gate.exceptions.0.expires`"),
    ({"exceptions": [{"check": "proxy", "expires": "2026-12-31"}]}, "`gate.exceptions.0.reason` is required"),
    ({"fail_on": "regressions"}, "`gate.fail_on` must be 'any_fail', 'significant_regression'"),
    ({"severity": {"fairness": "fatal"}}, "`gate.severity.fairness` must be 'block' or 'warn'"),
])
def test_bad_gate_config_names_the_field(gate, message):
    with pytest.raises(AuditError) as exc:
        config_from_dict(adult_config(gate=gate), source="audit.yaml")
    assert message in str(exc.value)


def test_yaml_dates_parse():
    cfg = config_from_dict(adult_config(gate={"exceptions": [
        {"check": "proxy", "attribute": "sex", "reason": "known", "expires": date(2026, 12, 31)}]}))
    assert cfg.gate.exceptions[0].expires == date(2026, 12, 31)


def test_missing_baseline_is_bad_input_before_anything_runs(tmp_path, capsys):
    from audit.cli import main

    code = main(["run", str(ROOT / "examples/ci/audit.yaml"), "--out", str(tmp_path), "--baseline",
                 str(tmp_path / "old" / "findings.json")])
    err = capsys.readouterr().err
    assert code == 2 and "Cannot read findings" in err and "findings.json" in err
    assert not any(tmp_path.iterdir())


def test_every_check_the_package_emits_can_be_named_by_the_gate_policy():
    # A new check whose name the policy does not know could be neither excepted nor re-graded: this test fails
    # when a check is added without its name in GATE_CHECKS. Names come from the source, as every emitter
    # passes a literal `check="..."` (or a `guarded("...")` call with one).
    import re

    from audit.settings._config import GATE_CHECKS

    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "audit").rglob("*.py"))
    emitted = set(re.findall(r'check="([a-z_]+)"', source)) | set(re.findall(r'guarded\("([a-z_]+)"', source))
    emitted |= {"fairness", "four_fifths_rule"}  # the fairness check names its findings from a table
    assert len(emitted) > 15
    assert sorted(emitted - {"exception_expired"} - set(GATE_CHECKS)) == []
