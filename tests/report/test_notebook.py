"""The result in a Jupyter notebook: the card is shown without restyling the notebook's other outputs.

A notebook is executed with nbconvert (a real kernel), exported to HTML and opened in headless Chromium; the
computed style of a DataFrame shown after the card must equal that of the same DataFrame in a notebook
without the card. The short ``repr`` is checked too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audit import AuditResult
from cdp import Browser, chromium_path

FIXTURE = Path(__file__).resolve().parents[1] / "golden" / "findings_small.json"
ROOT = Path(__file__).resolve().parents[2]

_STYLE = """JSON.stringify([...document.querySelectorAll('table.dataframe, table.dataframe th, table.dataframe td')]
  .map(e => { const s = getComputedStyle(e);
    return [e.tagName, s.fontFamily, s.fontSize, s.color, s.backgroundColor, s.borderTopWidth, s.borderCollapse,
            s.padding, s.textAlign, s.lineHeight]; }))"""


def test_repr_is_a_short_summary():
    result = AuditResult(document=json.loads(FIXTURE.read_text(encoding="utf-8")))
    text = repr(result)
    assert len(text) < 1000 and text.startswith("AuditResult(") and f"gate {result.gate}" in text
    assert len(text.splitlines()) <= 6


def _notebook(tmp_path: Path, *, card: bool) -> Path:
    nbformat = pytest.importorskip("nbformat")
    nbconvert = pytest.importorskip("nbconvert")
    from nbconvert.preprocessors import ExecutePreprocessor

    cells = [nbformat.v4.new_code_cell(f"import sys, json; sys.path.insert(0, {str(ROOT)!r})\n"
                                       "import pandas as pd\nfrom audit import AuditResult")]
    if card:
        cells.append(nbformat.v4.new_code_cell(
            f"AuditResult(document=json.load(open({str(FIXTURE)!r}, encoding='utf-8')))"))
    cells.append(nbformat.v4.new_code_cell("pd.DataFrame({'group': ['a', 'b'], 'rate': [0.25, 0.5]})"))
    nb = nbformat.v4.new_notebook(cells=cells)
    ExecutePreprocessor(timeout=120, kernel_name="python3").preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    body, _ = nbconvert.HTMLExporter().from_notebook_node(nb)
    out = tmp_path / ("with_card.html" if card else "without_card.html")
    out.write_text(body, encoding="utf-8")
    return out


@pytest.mark.slow
@pytest.mark.skipif(chromium_path() is None, reason="needs Chromium")
def test_card_in_a_notebook_leaves_a_dataframe_shown_after_it_as_it_was(tmp_path):
    pages = {card: _notebook(tmp_path / str(card), card=card) for card in (False, True)
             if (tmp_path / str(card)).mkdir() is None}
    styles = {}
    with Browser(tmp_path / "profile") as browser:
        browser.send("Page.enable")
        browser.send("Runtime.enable")
        for card, page in pages.items():
            browser.open(page.as_uri())
            styles[card] = json.loads(browser.evaluate(_STYLE))
            card_shown = browser.evaluate("document.body.innerHTML.includes('Model card')") if card else None
    assert styles[False] and len(styles[True]) == len(styles[False])
    assert styles[True] == styles[False]
    assert card_shown
