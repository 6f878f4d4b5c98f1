"""The EU AI Act checklist counts a report text as documentation only when it says something: YAML's
``human_oversight: None`` is the text "None", and it used to mark human oversight "covered"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audit.measures._regulatory import _eu_ai_act, documented
from audit.report import render_html
from audit.report._exports import render_hf_card

ROOT = Path(__file__).resolve().parents[2]
BIAS_DONE = {"representation": True, "proxies": True, "missingness": True}


def _item(report: dict, key: str):
    items = _eu_ai_act(report=report, bias_done=BIAS_DONE, explained=True, drift=False, reference_shares=False)
    return next(i for i in items if i.id == key)


@pytest.mark.parametrize("text", [None, "", "   ", "None", "none", "null", "N/A", "TBD", "-"])
def test_a_missing_oversight_text_is_not_documented(text):
    item = _item({"human_oversight": text}, "human_oversight")
    assert item.status == "owner"
    assert item.evidence.startswith("not documented")
    assert _item({"limitations": text}, "limitations").status == "owner"


def test_a_real_oversight_text_is_covered():
    item = _item({"human_oversight": "A loan officer reviews every refusal before it is sent."}, "human_oversight")
    assert item.status == "covered" and item.evidence == "report.human_oversight, on the card"
    assert documented(["Model risk team"]) and not documented(["", None])


def _card(text):
    document = json.loads((ROOT / "tests" / "golden" / "findings_small.json").read_text(encoding="utf-8"))
    document["audit"]["report"]["human_oversight"] = text
    return document


def test_the_card_says_not_documented_instead_of_printing_none():
    html = render_html(_card("None"))
    section = html[html.index('<section id="eu-ai-act">'):]
    section = section[:section.index("</section>")]
    assert "Not documented: describe the human oversight measures" in section
    assert '<p class="prose">None</p>' not in section
    assert "**Human oversight:**" not in render_hf_card(_card("None"))
    real = "A loan officer reviews every refusal."
    assert f'<p class="prose">{real}</p>' in render_html(_card(real))
    assert f"**Human oversight:** {real}" in render_hf_card(_card(real))
