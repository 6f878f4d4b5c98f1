"""The card of an audit given predictions (``model.predictions``) instead of a model says what happened:
predictions were given, nothing was trained or loaded, and explanations need the model. Its HTML has no
Markdown backticks (they were printed literally)."""

from __future__ import annotations

import html as htmllib
import re
import sys
from pathlib import Path

import pytest

import audit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_bad_input import BINARY, _frame  # noqa: E402


@pytest.fixture(scope="module")
def card(tmp_path_factory) -> tuple[str, dict]:
    base = tmp_path_factory.mktemp("predictions-only")
    _frame().to_csv(base / "small.csv", index=False)
    result = audit.run(audit.config_from_dict(BINARY, source="audit.yaml", base_dir=str(base)))
    path = result.to_html(base / "model_card.html")
    return Path(path).read_text(encoding="utf-8"), result.document


def _section(html: str, section_id: str) -> str:
    start = html.index(f'<section id="{section_id}"')
    text = html[start:html.index("</section>", start)]
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", text)).split())


def test_the_card_says_predictions_were_given(card):
    html, document = card
    assert document["model"]["source"] == "predictions"
    assert "loaded from a file" not in html and "switched off" not in html
    assert "No model was trained or loaded: this audit was given the model's predictions" in _section(
        html, "training-data")
    assert "explanations (SHAP values, the flip test) need the model itself" in _section(html, "explainability")
    eu = {i["id"]: i for i in document["regulatory"]["eu_ai_act"]["checklist"]}
    assert eu["interpretability"]["evidence"] == "explanations need the model; this audit was given its predictions only"


def test_the_card_has_no_literal_backticks(card):
    html, document = card
    assert "`" not in html
    assert all("`" not in f["message"] for f in document["findings"])
