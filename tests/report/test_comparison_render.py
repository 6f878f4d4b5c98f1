"""Rendered comparisons: golden Markdown and HTML, hostile group names stay text, the card's section placement.

The fixture is the frozen golden findings document against a copy whose overall recall is 0.3 lower and
whose race groups changed (one renamed to a hostile string). Rewrite after an intended change with::

    AUDIT_UPDATE_GOLDEN=1 python -m pytest tests/report/test_comparison_render.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from audit.measures._compare import compare
from audit.settings._config import GateConfig
from audit.findings._policy import apply_policy
from audit.report import render_html, render_markdown
from audit.report._comparison import render_comparison_html, render_comparison_markdown, render_comparison_text

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
UPDATE = os.environ.get("AUDIT_UPDATE_GOLDEN") == "1"
HOSTILE = "<img src=x onerror=alert(1)>|x"


@pytest.fixture(scope="module")
def pair() -> tuple[dict, dict]:
    old = json.loads((GOLDEN / "findings_small.json").read_text(encoding="utf-8"))
    # The race group "Other" is renamed everywhere in the new run: one vanished, one new group.
    new = json.loads((GOLDEN / "findings_small.json").read_text(encoding="utf-8").replace('"Other"', json.dumps(HOSTILE)))
    recall = new["metrics"]["overall"]["recall"]
    for key in ("value", "ci_low", "ci_high"):
        recall[key] -= 0.3
    return old, new


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} changed; see the module docstring"


def test_comparison_markdown_and_html_match_golden_files(pair):
    old, new = pair
    c = compare(old, new).to_dict()
    md = render_comparison_markdown(c, sensitive=new["data"]["sensitive"])
    html = render_comparison_html(c, sensitive=new["data"]["sensitive"])
    _golden("comparison_small.md", md)
    _golden("comparison_small.html", html)
    assert "| recall | 0.6221 | 0.3221 | -0.3000 |" in md and "▼ regression" in md
    assert "&lt;img src=x onerror=alert(1)&gt;\\|x" in md and "<img" not in md
    assert "&lt;img src=x onerror=alert(1)&gt;|x" in html and "<img" not in html
    text = render_comparison_text(c, sensitive=new["data"]["sensitive"])
    assert "recall" in text and "REGRESSION" in text and f"New groups in race: {HOSTILE}" in text


def test_card_and_summary_show_changes_right_after_the_verdict(pair):
    old, new = pair
    doc = apply_policy(new, policy=GateConfig(fail_on="significant_regression"), baseline=old)
    html = render_html(doc)
    assert html.index('id="verdict"') < html.index('id="comparison"') < html.index('id="gate-policy"') \
        < html.index('id="model-details"')
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;|x" in html
    md = render_markdown(doc)
    assert md.index("### Changes since last audit") < md.index("### Key metrics")
    assert "fails on significant regression" in md


def test_the_comparison_page_carries_a_content_security_policy_that_refuses_scripts(pair):
    import re

    old, new = pair
    page = render_comparison_html(compare(old, new).to_dict(), sensitive=new["data"]["sensitive"])
    policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page)
    assert policy is not None
    assert policy.group(1).split("; ") == ["default-src 'none'", "style-src 'unsafe-inline'", "img-src data:"]
    assert "<script" not in page.lower()
