"""Renderers: escaping of hostile strings, the JSON contract, golden outputs, atomic writes.

Golden files live in tests/golden/. After an intended change to a template, regenerate them with
``AUDIT_UPDATE_GOLDEN=1 python -m pytest tests/report`` and review the diff.
"""

from __future__ import annotations

import json
import os
import stat
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pandas as pd
import pytest

import audit
from audit import AuditResult
from audit._document import dumps, load_schema
from audit.report import render_html, render_junit, render_markdown
from conftest import ADULT

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
UPDATE = os.environ.get("AUDIT_UPDATE_GOLDEN") == "1"
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(2)>"


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _small_raw(folder: Path, *, test: str = "test.csv", **overrides) -> dict:
    raw = {"name": "small card", "data": {"test": test, "train": "train.csv", "target": "income",
                                          "positive_label": ">50K", "sensitive": ["sex", "race"], "intersections": 1},
           "model": {"train": {"estimator": "sklearn.linear_model.LogisticRegression", "params": {"max_iter": 500}}},
           "bootstrap": {"replicates": 20},
           "checks": {"performance": {"metrics": ["accuracy", "recall", "roc_auc"], "min": {"roc_auc": 0.8}},
                      "fairness": {"metrics": ["demographic_parity_difference", "equalized_odds_difference"],
                                   "max": {"equalized_odds_difference": 0.2}},
                      "group_gaps": {"metrics": ["recall"]},
                      "explainability": {"sample": 200}}}
    raw.update(overrides)
    return raw


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("render")
    pd.read_csv(ADULT / "data/adult_test.csv.gz").head(3000).to_csv(path / "test.csv", index=False)
    pd.read_csv(ADULT / "data/adult_train.csv.gz").head(3000).to_csv(path / "train.csv", index=False)
    return path


@pytest.fixture(scope="module")
def hostile(folder):
    frame = pd.read_csv(folder / "test.csv")
    frame.loc[frame.index[:200], "race"] = SCRIPT
    frame = frame.rename(columns={"occupation": IMG})
    frame.to_csv(folder / "hostile.csv", index=False)
    train = pd.read_csv(folder / "train.csv").rename(columns={"occupation": IMG})
    train.to_csv(folder / "hostile_train.csv", index=False)
    raw = _small_raw(folder, test="hostile.csv",
                     report={"title": "<b>x</b>", "intended_use": "<b>bold</b> & <i>more</i>"})
    raw["data"]["train"] = "hostile_train.csv"
    return audit.run(audit.config_from_dict(raw, base_dir=str(folder)))


def test_html_shows_hostile_strings_as_text(hostile):
    html = render_html(hostile.document)
    assert SCRIPT in json.dumps(hostile.document)  # the payload really is in the findings
    assert SCRIPT not in html and IMG not in html and "<b>x</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;x&lt;/b&gt;" in html
    parser = _Elements()
    parser.feed(html)
    assert not [t for t, _ in parser.tags if t in ("script", "img", "b", "i")]
    assert not [a for _, a in parser.tags if any(k.startswith("on") for k in a)]


def test_markdown_and_junit_neutralise_hostile_strings(hostile):
    md = render_markdown(hostile.document)
    assert SCRIPT not in md and "<b>x</b>" not in md
    suites = ET.fromstring(render_junit(hostile.document).split("?>", 1)[1])
    cases = suites.findall("./testsuite/testcase")
    assert len(cases) == len(hostile.findings)
    assert len(suites.findall("./testsuite/testcase/failure")) == sum(f["status"] == "fail" for f in hostile.findings)


def test_findings_json_follows_its_schema_without_nan(hostile, tmp_path):
    path = hostile.to_json(tmp_path / "findings.json")
    text = path.read_text()

    def refuse(token):
        raise AssertionError(f"{token} in findings.json")

    document = json.loads(text, parse_constant=refuse)
    jsonschema.Draft202012Validator(load_schema()).validate(document)
    assert list(document) == ["schema_version", "audit", "model", "data", "metrics", "fairness", "bias",
                              "explainability", "findings", "summary", "gate"]


def test_same_seed_gives_the_same_document(folder):
    cfg = audit.config_from_dict(_small_raw(folder), base_dir=str(folder))
    a, b = audit.run(cfg).document, audit.run(cfg).document
    for doc in (a, b):
        doc["audit"].pop("created"), doc["audit"].pop("duration_seconds"), doc["explainability"].pop("seconds")
    assert dumps(a) == dumps(b)


def test_numbers_on_the_card_come_from_the_document(hostile):
    html = render_html(hostile.document)
    for name, m in hostile.document["metrics"]["overall"].items():
        assert f"<td>{name}</td><td class=\"num\">{m['value']:.3f}</td>" in html


@pytest.fixture(scope="module")
def frozen(folder):
    """A small findings document with its run-dependent fields fixed: the golden files' input."""
    path = GOLDEN / "findings_small.json"
    if UPDATE or not path.exists():
        doc = audit.run(audit.config_from_dict(_small_raw(folder), base_dir=str(folder))).document
        doc["audit"].update(created="2026-01-01T00:00:00+00:00", duration_seconds=1.0,
                            versions={k: "x.y.z" for k in doc["audit"]["versions"]})
        doc["audit"]["data"]["test"]["files"] = ["test.csv"]
        doc["explainability"]["seconds"] = 0.5
        path.write_text(dumps(doc))
    return json.loads(path.read_text())


@pytest.mark.parametrize("renderer, name", [(render_html, "model_card_small.html"),
                                            (render_markdown, "summary_small.md"),
                                            (render_junit, "junit_small.xml")])
def test_rendered_output_matches_golden_file(frozen, renderer, name):
    out = renderer(frozen)
    path = GOLDEN / name
    if UPDATE or not path.exists():
        path.write_text(out)
    assert out == path.read_text()


def test_write_puts_every_format_in_the_named_folder_readable(hostile, tmp_path):
    written = hostile.write(tmp_path)
    folder = tmp_path / "small-card"
    assert {p.parent for p in written.values()} == {folder}
    assert {p.name for p in folder.iterdir()} == {"model_card.html", "findings.json", "junit.xml", "summary.md",
                                                   "model.skops"}
    mode = stat.S_IMODE((folder / "findings.json").stat().st_mode)
    assert mode == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_failed_render_leaves_the_previous_report_whole(hostile, tmp_path):
    hostile.write(tmp_path)
    folder = tmp_path / "small-card"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    broken = json.loads(json.dumps(hostile.document))
    del broken["findings"][0]["message"]
    with pytest.raises(Exception):
        AuditResult(document=broken).write(tmp_path)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # nothing half-written, no temp files


def test_repr_html_is_the_card(hostile):
    assert hostile._repr_html_() == render_html(hostile.document)
