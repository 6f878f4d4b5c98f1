"""Every p-value the audit prints, in messages and on the card, in one style: ``fmt_p``.

Before, three styles lived side by side ("p = 0.0000" on the card, "p 1.346e-126" in the prediction-drift
message, "adjusted p 0" in group gaps). Each printed p is found with one pattern and must read back as
``fmt_p`` writes it: "p < 0.0001" below 1e-4, else two significant digits.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from scipy import stats

from audit.checks import check_drift, check_group_gaps
from audit.checks._finding import fmt_p
from audit.measures._drift import measure_drift
from audit.report import render_html
from audit.settings._config import DriftConfig, GroupGapsConfig

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "checks"))

from drift_bias_inputs import adult_inputs  # noqa: E402
from test_group_gaps import _regression_evaluation  # noqa: E402

#: A printed p-value: "p" or "adjusted p" (any case), then "=", "<", or nothing, then a number.
PRINTED = re.compile(r"\b(?:adjusted )?p(?: (=|<))? ?(-?[0-9][0-9.]*(?:e[-+]?[0-9]+)?)", re.I)


def _bad_p_values(text: str) -> list[str]:
    """Every printed p-value that is not as ``fmt_p`` writes it."""
    bad = []
    for m in PRINTED.finditer(text):
        sign, number = m.group(1), m.group(2)
        ok = (sign == "<" and number == "0.0001") or (sign == "=" and fmt_p(float(number), name="") == number)
        if not ok:
            bad.append(text[max(m.start() - 30, 0):m.end() + 5])
    return bad


def test_fmt_p_by_hand():
    assert fmt_p(1.346e-126) == "p < 0.0001"
    assert fmt_p(0.0, name="adjusted p") == "adjusted p < 0.0001"
    assert fmt_p(0.00009999) == "p < 0.0001"
    assert fmt_p(0.0001) == "p = 0.00010"
    assert fmt_p(0.04567) == "p = 0.046"
    assert fmt_p(0.5) == "p = 0.50"
    assert fmt_p(1.0) == "p = 1.0"
    assert fmt_p(None) == "p undefined" and fmt_p(None, name="") == "—"
    assert len(_bad_p_values("p = 0.0000; p 1.346e-126; adjusted p 0")) == 3
    assert _bad_p_values("p < 0.0001, adjusted p = 0.012, p = 1.0") == []


def test_group_gap_messages_print_adjusted_p_as_fmt_p():
    # A group with twice the error noise: its adjusted p-value is tiny (0 after the bootstrap's floor).
    ev = _regression_evaluation(noise_b=2.0)
    [finding] = check_group_gaps(evaluation=ev, config=GroupGapsConfig(metrics=["mean_absolute_error"]))
    assert "adjusted p < 0.0001" in finding.message, finding.message
    assert _bad_p_values(finding.message) == []


def test_drift_messages_print_tiny_p_values_as_below_the_floor():
    # The Adult test rows against themselves with fifteen more working hours a week: Kolmogorov-Smirnov's p for
    # hours-per-week is far below 1e-4 (scipy says so directly); the score drifts with them.
    inputs = adult_inputs()
    current = inputs.current.assign(**{"hours-per-week": inputs.current["hours-per-week"] + 15})
    scores = inputs.current_scores + 0.2 * (inputs.current_scores < 0.8)
    drift = measure_drift(inputs.current, current, features=("hours-per-week", "education"),
                          reference_labels=inputs.current_labels, current_labels=inputs.current_labels, bins=10,
                          reference_scores=inputs.current_scores, current_scores=scores, min_group_size=30)
    ks = stats.ks_2samp(inputs.current["hours-per-week"], current["hours-per-week"]).pvalue
    assert ks < 1e-100
    findings = check_drift(drift=drift, config=DriftConfig())
    messages = [f.message for f in findings]
    assert any("adjusted p < 0.0001" in m for m in messages), messages
    assert any(f.check == "prediction_drift" and "p < 0.0001" in f.message for f in findings), messages
    for m in messages:
        assert _bad_p_values(m) == [], m
        assert "e-" not in m


def test_the_card_prints_p_values_as_fmt_p():
    document = json.loads((ROOT / "tests" / "golden" / "findings_small.json").read_text(encoding="utf-8"))
    # A representation test and a drift table with tiny p-values, as the Adult audit with reference shares
    # and a reference data set has them.
    document["bias"]["representation_tests"] = [{
        "attribute": "race", "statistic": 612.3, "p_value": 1.346e-126, "most_under_represented": "Black",
        "groups": {"Black": {"n": 50, "share": 0.05, "reference_share": 0.13},
                   "White": {"n": 950, "share": 0.95, "reference_share": 0.87}}}]
    html = render_html(document)
    assert "p &lt; 0.0001" in html
    assert _bad_p_values(html.replace("&lt;", "<")) == []


@pytest.mark.slow
def test_the_adult_audit_prints_every_p_value_as_fmt_p(bundled_adult):
    document = json.loads((bundled_adult.folder / "findings.json").read_text(encoding="utf-8"))
    for f in document["findings"]:
        assert _bad_p_values(f["message"]) == [], f["message"]
    html = (bundled_adult.folder / "model_card.html").read_text(encoding="utf-8")
    assert _bad_p_values(html.replace("&lt;", "<")) == []
