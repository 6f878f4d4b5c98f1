"""The card summarises intersections with no group of min_group_size rows in one line."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema

from audit.findings._document import load_schema
from audit.report import render_html, render_markdown

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "findings_small.json"


def test_the_card_summarises_small_intersections_and_findings_json_holds_their_counts():
    doc = copy.deepcopy(json.loads(GOLDEN.read_text(encoding="utf-8")))
    counts = {f"F&z{i:03d}": 1 + i % 7 for i in range(1840)}
    doc["data"]["small_intersections"] = {
        "groups": 1840, "rows": sum(counts.values()),
        "groupings": [{"grouping": "sex&zip", "attributes": ["sex", "zip"], "groups": 1840,
                       "rows": sum(counts.values()), "largest": 7, "counts": counts}]}
    jsonschema.Draft202012Validator(load_schema()).validate(doc)
    html = render_html(doc)
    mgs = doc["data"]["min_group_size"]
    assert f"1,840 intersectional groups under {mgs} rows" in html
    assert "counts in\nfindings.json" in html or "counts in findings.json" in html
    assert "F&amp;z0005" not in html  # the groups are not listed one by one
    summary = render_markdown(doc)
    assert f"\n1,840 intersectional groups under {mgs} rows: counts in findings.json.\n" in summary
    assert "F&z0005" not in summary
    del doc["data"]["small_intersections"]
    assert "intersectional groups under" not in render_html(doc)
    assert "intersectional groups under" not in render_markdown(doc)
