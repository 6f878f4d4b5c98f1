"""Findings grouped by fact: stable ids, one headline per check, measure and status, summaries that fit a screen."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from audit.findings._facts import facts, finding_id, with_ids

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "findings_small.json"
DP = {"metric": "demographic_parity_difference", "op": "<=", "value": 0.1, "severity": "block"}


def _finding(check="fairness", status="fail", attribute="sex", value=0.2, threshold=DP, **extra):
    return {"check": check, "category": "fairness", "status": status, "severity": "block", "message": f"{attribute} m",
            "value": value, "ci_low": None if value is None else value - 0.01,
            "ci_high": None if value is None else value + 0.01, "threshold": threshold, "attribute": attribute,
            "group": None, "shown": "beyond", **extra}


def test_a_fact_per_check_measure_and_status_worst_first():
    fs = with_ids([_finding(attribute="sex", value=0.16), _finding(attribute="age", value=0.26),
                   _finding(attribute="race", value=0.05, status="pass"),
                   _finding(check="group_gaps", attribute="sex", threshold=None, measure="recall", status="warn"),
                   _finding(check="group_gaps", attribute="age", threshold=None, measure="accuracy", status="warn")])
    out = facts(fs)
    assert [(f["check"], f["measure"], f["status"], f["count"], f["of"]) for f in out] == [
        ("fairness", "demographic_parity_difference", "fail", 2, 3),
        ("group_gaps", "recall", "warn", 1, 1), ("group_gaps", "accuracy", "warn", 1, 1),
        ("fairness", "demographic_parity_difference", "pass", 1, 3)]
    # The worst value first, in the subjects, the ids and the headline (written by hand here).
    assert out[0]["subjects"] == ["age", "sex"]
    assert out[0]["findings"] == ["fairness.demographic_parity_difference.age", "fairness.demographic_parity_difference.sex"]
    assert out[0]["headline"] == ("fairness, demographic parity difference: shown beyond ≤ 0.1 for 2 of 3: "
                                  "age 0.26 (0.25 to 0.27); sex 0.16 (0.15 to 0.17).")
    # A fact of one finding is that finding's own message.
    assert out[1]["headline"] == "sex m"


def test_ids_are_stable_names_that_do_not_depend_on_values_or_status():
    a = _finding(value=0.3, status="fail")
    b = _finding(value=0.01, status="pass")
    assert finding_id(a) == finding_id(b) == "fairness.demographic_parity_difference.sex"
    # A check of every group names the subject, not the worst group of the day.
    gap = _finding(check="group_gaps", threshold=None, measure="recall", subject="every group", group="Female")
    assert finding_id(gap) == "group_gaps.recall.every group"
    assert finding_id(_finding(attribute=None, threshold=None, check="drift")) == "drift.-.overall"
    twice = with_ids([a, b])
    assert [f["id"] for f in twice] == ["fairness.demographic_parity_difference.sex",
                                        "fairness.demographic_parity_difference.sex#2"]


def test_excepted_findings_are_a_fact_of_their_own():
    fs = with_ids([_finding(attribute="sex"), _finding(attribute="age", exception={"index": 0, "reason": "r",
                                                                                  "expires": "2027-01-01"})])
    out = facts(fs)
    assert [(f["excepted"], f["subjects"]) for f in out] == [(False, ["sex"]), (True, ["age"])]


_statuses = st.sampled_from(["pass", "fail", "warn", "insufficient_data", "error"])
_findings = st.lists(st.builds(
    _finding, check=st.sampled_from(["fairness", "four_fifths_rule", "proxy"]), status=_statuses,
    attribute=st.sampled_from(["sex", "race", "age", "sex&race", None]),
    value=st.one_of(st.none(), st.floats(-1, 1, allow_nan=False)),
    threshold=st.sampled_from([DP, None, {**DP, "op": ">=", "metric": "demographic_parity_ratio"}])), max_size=30)


@settings(max_examples=200, deadline=None)
@given(_findings)
def test_every_finding_is_in_exactly_one_fact(findings):
    listed = with_ids(findings)
    out = facts(listed)
    ids = [i for f in out for i in f["findings"]]
    assert sorted(ids) == sorted(f["id"] for f in listed) and len(set(ids)) == len(ids)
    by_id = {f["id"]: f for f in listed}
    for fact in out:
        members = [by_id[i] for i in fact["findings"]]
        assert {m["status"] for m in members} == {fact["status"]} and {m["check"] for m in members} == {fact["check"]}
        assert fact["count"] == len(members) <= fact["of"] and fact["headline"]
    order = {"error": 0, "fail": 1, "warn": 2, "insufficient_data": 3, "pass": 4}
    assert [order[f["status"]] for f in out] == sorted(order[f["status"]] for f in out)


def test_the_golden_documents_facts_are_what_facts_makes_of_its_findings():
    doc = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert doc["facts"] == facts(doc["findings"])
    assert [f["id"] for f in doc["findings"]] == [f["id"] for f in with_ids(doc["findings"])]


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.summaries: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.stack.append(tag)
        if tag == "summary":
            self.summaries.append("")

    def handle_endtag(self, tag):
        while self.stack and self.stack.pop() != tag:
            pass

    def handle_data(self, data):
        if "summary" in self.stack:
            self.summaries[-1] += data


@pytest.mark.slow
def test_adult_lists_each_failing_fact_once_and_its_summary_fits_a_screen(bundled_adult):
    folder = bundled_adult.folder
    doc = json.loads((folder / "findings.json").read_text(encoding="utf-8"))
    failing = [f for f in doc["facts"] if f["status"] in ("fail", "error")]
    # Adult fails two facts (demographic parity and the four-fifths ratio), each in several groupings.
    assert {(f["check"], f["measure"]) for f in failing} == {("fairness", "demographic_parity_difference"),
                                                             ("four_fifths_rule", "demographic_parity_ratio")}
    assert sum(f["count"] for f in failing) == doc["summary"]["fail"] and all(f["count"] >= 4 for f in failing)
    html = (folder / "model_card.html").read_text(encoding="utf-8")
    top = html[:html.index('id="findings"')]
    parser = _Text()
    parser.feed(top)
    for fact in failing:
        # One line per fact at the top of the card; its groupings listed one click away.
        assert sum(s.strip().endswith(fact["headline"]) for s in parser.summaries) == 1
    md = (folder / "summary.md").read_text(encoding="utf-8")
    lines = md.splitlines()
    assert len(lines) < 40 and lines[0].startswith("## FAIL")
    assert sum(line.startswith("- **fail**") for line in lines) == len(failing)
    # The slice warnings, ten variants of one slice, are one line.
    assert sum("slices, error rate difference" in line for line in lines) == 1
    junit = ET.parse(folder / "junit.xml").getroot()
    names = [c.get("name") for c in junit.iter("testcase")]
    assert names == [f["id"] for f in doc["findings"]] and len(set(names)) == len(names)
    assert not any(re.match(r"\d{3} ", n) for n in names)
    assert "fairness.demographic_parity_difference.sex" in names and "group_gaps.recall.every group" in names
