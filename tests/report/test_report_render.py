"""Renderers end to end: hostile strings stay text, the JSON contract, golden outputs, atomic writes.

Golden files
------------
``tests/golden/findings_small.json`` is a frozen findings document (a tiny audit of 3,000 Adult rows with
its run-dependent fields -- ``created``, ``duration_seconds``, ``versions``, explainer timing -- set to
constants). ``model_card_small.html``, ``summary_small.md`` and ``junit_small.xml`` are what the renderers
make of it, compared byte for byte. After an intended change to a template or to the document's shape,
rewrite them all (the fixture is re-made by a fresh audit) and review the diff::

    AUDIT_UPDATE_GOLDEN=1 python -m pytest tests/report/test_report_render.py
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import hashlib
import json
import os
import re
import stat
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import jinja2
import jsonschema
import pandas as pd
import pytest
import yaml

import audit
from audit import AuditResult
from audit.findings._document import dumps, load_schema
from audit.statistics._metrics import DEFAULT_PERFORMANCE_METRICS
from audit.report import render_hf_card, render_html, render_junit, render_markdown, render_mct

ROOT = Path(__file__).resolve().parents[2]
ADULT_TEST = ROOT / "examples" / "adult" / "data" / "adult_test.csv.gz"
GOLDEN = ROOT / "tests" / "golden"
UPDATE = os.environ.get("AUDIT_UPDATE_GOLDEN") == "1"

SCRIPT = "<script>alert(1)</script>"
SCRIPT_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
IMG = "<img src=x onerror=alert(2)>"
IMG_ESCAPED = "&lt;img src=x onerror=alert(2)&gt;"
BOLD = "<b>x</b>"
BOLD_ESCAPED = "&lt;b&gt;x&lt;/b&gt;"
HOSTILE_NAME = "hostile <card> / v1"  # sanitised to the folder name below
HOSTILE_FOLDER = "hostile-card-v1"


# ---------------------------------------------------------------------------------------------- helpers


class _Page(HTMLParser):
    """Every start tag with its attributes, the <title> text, and each table's cell texts by section."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.title = ""
        self.tables: list[tuple[str | None, list[list[str]]]] = []
        self._section: str | None = None
        self._in_title = False
        self._cell: list[str] | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "section":
            self._section = dict(attrs).get("id")
        elif tag == "title" and not any(t == "body" for t, _ in self.tags):  # the page's, not a chart's
            self._in_title = True
        elif tag == "table":
            self.tables.append((self._section, []))
        elif tag == "tr":
            self.tables[-1][1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        elif tag in ("td", "th") and self._cell is not None:
            self.tables[-1][1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        if self._cell is not None:
            self._cell.append(data)

    def table(self, section: str, first_header: list[str]) -> list[list[str]]:
        """Rows (header first) of the table in ``section`` whose header row starts with ``first_header``."""
        for sec, rows in self.tables:
            if sec == section and rows and rows[0][: len(first_header)] == first_header:
                return rows
        raise AssertionError(f"no table headed {first_header} in section {section!r}")


def _three(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _no_constants(text: str) -> dict:
    def refuse(token: str):
        raise AssertionError(f"{token} in findings.json")

    return json.loads(text, parse_constant=refuse)


def _without_timing(document: dict) -> dict:
    doc = copy.deepcopy(document)
    del doc["audit"]["created"], doc["audit"]["duration_seconds"]
    return doc


def _shown(folder: Path) -> list[Path]:
    """The entries of a report folder a reader sees (hidden ones are the runs' storage: .current, .runs)."""
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def _files(folder: Path) -> dict[str, tuple[bytes, int, int]]:
    """Each file's bytes, inode and mtime: a rename into place changes the inode even for equal bytes."""
    return {p.name: (p.read_bytes(), p.stat().st_ino, p.stat().st_mtime_ns) for p in _shown(folder)
            if not p.is_dir()}


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


# ------------------------------------------------------------------------------ a hostile audit, run once


def _hostile_raw(seed: int = 0) -> dict:
    return {
        "name": HOSTILE_NAME,
        "seed": seed,
        "data": {"test": "hostile.csv", "target": "income", "positive_label": ">50K",
                 "sensitive": ["sex", "race"], "intersections": 1},
        "model": {"train": {"estimator": "sklearn.linear_model.LogisticRegression", "params": {"max_iter": 500}}},
        "bootstrap": {"replicates": 20},
        "checks": {"explainability": {"method": "none"}},
        "report": {"title": BOLD, "intended_use": BOLD},
    }


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory) -> Path:
    """3,000 Adult rows; every tenth row's race is a script tag; `relationship` is renamed to an img tag."""
    folder = tmp_path_factory.mktemp("hostile")
    frame = pd.read_csv(ADULT_TEST, nrows=3000)
    frame.loc[frame.index[::10], "race"] = SCRIPT
    frame = frame.rename(columns={"relationship": IMG})
    frame.to_csv(folder / "hostile.csv", index=False)
    return folder


def _hostile_config(folder: Path, seed: int = 0):
    return audit.config_from_dict(_hostile_raw(seed), source="audit.yaml", base_dir=str(folder))


@pytest.fixture(scope="module")
def hostile(hostile_dir) -> AuditResult:
    result = audit.run(_hostile_config(hostile_dir))
    doc = result.document
    # The payloads really reach the findings document: a group, a feature and the title.
    assert SCRIPT in doc["data"]["groups"]["race"]
    assert IMG in doc["model"]["features"]
    assert doc["audit"]["title"] == BOLD and doc["audit"]["report"]["intended_use"] == BOLD
    return result


# ---------------------------------------------------------------------------------------- 1. escaping


def test_html_shows_hostile_strings_as_text(hostile):
    html = render_html(hostile.document)
    for raw in (SCRIPT, IMG, BOLD, "<card>"):
        assert raw not in html
    assert SCRIPT_ESCAPED in html and IMG_ESCAPED in html and BOLD_ESCAPED in html
    page = _Page(html)
    names = [tag for tag, _ in page.tags]
    assert "img" not in names and "b" not in names
    # One script, ours, byte for byte; the page's policy allows that script's hash and nothing else.
    assert names.count("script") == 1 and html.count("<script") == 1
    ours = (ROOT / "templates" / "card.js").read_text(encoding="utf-8")
    assert html.split("<script>")[1].split("</script>")[0] == ours
    digest = base64.b64encode(hashlib.sha256(ours.encode("utf-8")).digest()).decode()
    (policy,) = [t[1]["content"] for t in page.tags if t[0] == "meta" and t[1].get("http-equiv") == "Content-Security-Policy"]
    assert policy == f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-{digest}'"
    assert not [attrs for _, attrs in page.tags if "onerror" in attrs]
    assert not [attrs for _, attrs in page.tags if any(k.startswith("on") for k in attrs)]
    # Escaped, not stripped: the browser shows the payloads as the text they are.
    assert page.title == f"Model card: {BOLD}"
    factors = page.table("factors", ["Attribute", "Groups (rows)"])
    race = dict(factors[1:])["race"]
    assert f"{SCRIPT} ({hostile.document['data']['groups']['race'][SCRIPT]:,})" in race
    features = dict(row for row in page.table("model-details", ["Model"]) if len(row) == 2)
    assert IMG in features[f"Features ({len(hostile.document['model']['features'])})"].split(", ")


def test_hugging_face_card_escapes_hostile_strings_and_keeps_them_in_its_metadata(hostile):
    card = render_hf_card(hostile.document)
    body = card.split("\n---\n", 1)[1]
    for raw in (SCRIPT, IMG, BOLD):
        assert raw not in body
    assert BOLD_ESCAPED in body and "&lt;script&gt;" in body
    # The YAML front matter is data, not HTML: strings there are quoted by the YAML writer, and parse back.
    meta = yaml.safe_load(card.split("---\n", 2)[1])
    assert meta["model-index"][0]["name"] == HOSTILE_NAME


def test_mct_card_keeps_hostile_strings_as_json_text(hostile):
    card = json.loads(render_mct(hostile.document))
    assert card["model_details"]["name"] == BOLD
    slices = {m.get("slice") for m in card["quantitative_analysis"]["performance_metrics"]}
    assert f"race={SCRIPT}" in slices


def test_markdown_summary_escapes_hostile_strings(hostile):
    doc = hostile.document
    md = render_markdown(doc)
    for raw in (SCRIPT, IMG, BOLD):
        assert raw not in md
    assert md.splitlines()[0] == f"## FAIL ❌ Model audit: {BOLD_ESCAPED}"
    # The proxy finding names the renamed feature, and a race gap is defined by the script group.
    proxy = [f for f in doc["findings"] if f["check"] == "proxy" and IMG in f["message"]]
    assert proxy and IMG_ESCAPED in md
    gaps = doc["fairness"]["by_attribute"]["race"]
    # A gap defined by the script group reaches the findings document (equalized odds is undefined here:
    # that group has too few positive labels for its true positive rate).
    assert any(SCRIPT in (m["groups"] or []) for m in gaps.values()), "no race gap is defined by the script group"
    # Every failing or warning fact is one line, its headline escaped.
    lines = md.splitlines()
    shown = [f for f in doc["facts"] if f["status"] in ("fail", "warn", "error")]
    assert shown
    for fact in shown:
        headline = fact["headline"].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
        assert sum(line.endswith(": " + headline) for line in lines) == 1, fact["id"]


def test_junit_is_well_formed_with_one_case_per_finding(hostile, tmp_path):
    findings = hostile.findings
    path = hostile.to_junit(tmp_path / "junit.xml")
    root = ET.parse(path).getroot()  # raises on malformed XML
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    n_fail = sum(f["status"] == "fail" for f in findings)
    assert n_fail >= 1  # the four-fifths rule fails on this data
    assert len(cases) == len(findings) == int(suite.get("tests"))
    assert len(suite.findall("testcase/failure")) == n_fail == int(suite.get("failures"))
    assert suite.get("name") == f"audit.{HOSTILE_NAME}"
    # Each case is named by the finding's stable id (check.measure.subject), unique in the suite.
    assert [c.get("name") for c in cases] == [f["id"] for f in findings]
    assert len({c.get("name") for c in cases}) == len(cases)
    for case, f in zip(cases, findings):
        failure, skipped = case.find("failure"), case.find("skipped")
        if f["status"] == "fail":
            assert failure is not None and failure.get("message") == f["message"]
        else:
            assert failure is None
        if f["status"] == "warn":
            # A warning reaches CI publishers as a skipped case with its message, not as a silent pass.
            assert skipped is not None and skipped.get("type") == "warn"
            assert skipped.get("message") == f"warning: {f['message']}"
        elif f["status"] == "pass":
            assert skipped is None and case.findtext("system-out") == f"pass: {f['message']}"
    assert int(suite.get("skipped")) == sum(f["status"] in ("warn", "insufficient_data") for f in findings)
    props = {p.get("name"): p.get("value") for p in suite.findall("properties/property")}
    assert props["gate"] == hostile.document["gate"] and props["findings.warn"] == str(hostile.document["summary"]["warn"])
    # The img payload is character data of a case, never an element.
    assert any(IMG in (case.findtext("system-out") or "") + ((case.find("skipped") is not None
                                                              and case.find("skipped").get("message")) or "")
               for case in cases)
    assert not list(root.iter("img")) and not list(root.iter("script"))


# ------------------------------------------------------------------------------------ 2. findings.json


def test_findings_json_follows_the_schema_without_nan(hostile, tmp_path):
    text = hostile.to_json(tmp_path / "findings.json").read_text(encoding="utf-8")
    document = _no_constants(text)
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in jsonschema.Draft202012Validator(schema).iter_errors(document)]
    assert errors == []
    assert list(document) == schema["required"]  # top-level keys in the documented order
    # Small race groups make some metrics undefined: they are null, which is what NaN must become.
    eskimo = document["metrics"]["by_group"]["race"]["Amer-Indian-Eskimo"]
    assert any(m["value"] is None for m in eskimo.values())
    assert document == hostile.document


def test_same_seed_gives_the_same_document_in_the_same_key_order(hostile, hostile_dir):
    again = audit.run(_hostile_config(hostile_dir)).document
    assert dumps(_without_timing(again)) == dumps(_without_timing(hostile.document))
    other = audit.run(_hostile_config(hostile_dir, seed=1)).document
    assert dumps(_without_timing(other)) != dumps(_without_timing(hostile.document))  # the check has teeth


def test_overall_metrics_on_the_card_are_the_documents_rounded_values(hostile):
    doc = hostile.document
    rows = _Page(render_html(doc)).table("verdict", ["Metric", "Value"])
    assert rows[0] == ["Metric", "Value", "95.0% interval", "Better"]
    overall = doc["metrics"]["overall"]
    assert [r[0] for r in rows[1:]] == list(overall)
    assert list(overall) == list(DEFAULT_PERFORMANCE_METRICS)  # the config left the default: all 11
    assert len(overall) == 11
    for name, value, interval, better in rows[1:]:
        m = overall[name]
        assert value == _three(m["value"]) and abs(float(value) - m["value"]) <= 5e-4
        assert interval == f"{_three(m['ci_low'])} – {_three(m['ci_high'])}"
        assert m["ci_low"] <= m["value"] <= m["ci_high"]
        assert better == doc["metrics"]["definitions"][name]["direction"]


# ------------------------------------------------------------------------------------ 3. golden files


def _small_raw() -> dict:
    return {
        "name": "small card",
        "data": {"test": "small.csv", "target": "income", "positive_label": ">50K",
                 "sensitive": ["sex", "race"], "intersections": 1},
        "model": {"train": {"estimator": "sklearn.linear_model.LogisticRegression", "params": {"max_iter": 500}}},
        "bootstrap": {"replicates": 20},
        "checks": {"performance": {"metrics": ["accuracy", "recall", "roc_auc"], "min": {"roc_auc": 0.8}},
                   "fairness": {"metrics": ["demographic_parity_difference", "equalized_odds_difference"],
                                "max": {"equalized_odds_difference": 0.2}},
                   "group_gaps": {"metrics": ["recall"]},
                   "explainability": {"sample": 200}},
        "report": {"title": "Income classifier (small golden audit)", "owners": ["Model risk team"],
                   "intended_use": "Golden-file test of the renderers; not a real model."},
    }


def _make_fixture(folder: Path) -> dict:
    pd.read_csv(ADULT_TEST, nrows=3000).to_csv(folder / "small.csv", index=False)
    doc = audit.run(audit.config_from_dict(_small_raw(), source="audit.yaml", base_dir=str(folder))).document
    doc["audit"].update(created="2026-01-01T00:00:00+00:00", duration_seconds=1.0,
                        versions={k: "x.y.z" for k in doc["audit"]["versions"]})
    if doc["explainability"].get("seconds") is not None:
        doc["explainability"]["seconds"] = 0.5
    return doc


@pytest.fixture(scope="module")
def frozen(tmp_path_factory) -> dict:
    """The golden files' input: a small findings document with its run-dependent fields fixed."""
    path = GOLDEN / "findings_small.json"
    if UPDATE:
        path.write_bytes(dumps(_make_fixture(tmp_path_factory.mktemp("golden"))).encode("utf-8"))
    if not path.exists():
        pytest.fail(f"{path} is missing; make it with AUDIT_UPDATE_GOLDEN=1")
    return _no_constants(path.read_text(encoding="utf-8"))


def test_golden_fixture_is_a_valid_small_document(frozen):
    jsonschema.Draft202012Validator(load_schema()).validate(frozen)
    assert list(frozen["data"]["groups"]) == ["sex", "race"]  # 2 attributes, no intersections
    assert list(frozen["metrics"]["overall"]) == ["accuracy", "recall", "roc_auc"]
    assert frozen["audit"]["created"] == "2026-01-01T00:00:00+00:00"
    assert set(frozen["audit"]["versions"].values()) == {"x.y.z"}


@pytest.mark.parametrize("renderer, name", [(render_html, "model_card_small.html"),
                                            (render_markdown, "summary_small.md"),
                                            (render_junit, "junit_small.xml"),
                                            (render_mct, "model_card_toolkit_small.json"),
                                            (render_hf_card, "huggingface_card_small.md")])
def test_rendered_output_matches_golden_file(frozen, renderer, name):
    out = renderer(frozen).encode("utf-8")
    path = GOLDEN / name
    if UPDATE:
        path.write_bytes(out)
    assert path.exists(), f"{path} is missing; make it with AUDIT_UPDATE_GOLDEN=1"
    assert out == path.read_bytes(), f"{name} differs from the golden file; if intended, AUDIT_UPDATE_GOLDEN=1"


# ------------------------------------------------------------------------------- 4. AuditResult.write


def test_write_puts_chosen_formats_in_the_sanitised_folder_readable_by_all(hostile, tmp_path, umask_022):
    written = hostile.write(tmp_path / "out", formats=("html", "json"))
    folder = tmp_path / "out" / HOSTILE_FOLDER
    assert written.folder == folder and written.skipped == () and written.mlflow is None
    assert written.files == {"model": folder / "model.skops", "predictions": folder / "predictions.parquet",
                             "html": folder / "model_card.html", "json": folder / "findings.json"}
    assert written.index == folder / "index.html" and written.history.parent == folder / "history"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [HOSTILE_FOLDER]
    assert [p.name for p in _shown(folder)] == ["findings.json", "history", "index.html", "model.skops",
                                                          "model_card.html", "predictions.parquet"]
    assert sorted(p.name for p in written.history.iterdir()) == ["findings.json", "model.skops", "model_card.html",
                                                                  "predictions.parquet"]
    for path in [*written.files.values(), written.index]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path.name
    assert written["html"].read_bytes() == render_html(hostile.document).encode("utf-8")
    assert written["json"].read_bytes() == dumps(hostile.document).encode("utf-8")
    assert written["model"].read_bytes() == hostile.model_bytes


def test_write_of_every_format_matches_the_renderers(hostile, tmp_path, umask_022):
    written = hostile.write(tmp_path, history=False)
    folder = tmp_path / HOSTILE_FOLDER
    assert written.history is None and written.index is None
    assert [p.name for p in _shown(folder)] == ["README.md", "findings.json", "junit.xml", "model.skops",
                                                          "model_card.html", "model_card_toolkit.json", "predictions.parquet",
                                                          "summary.md"]
    assert written["md"].read_text(encoding="utf-8") == render_markdown(hostile.document)
    assert written["mct"].read_text(encoding="utf-8") == render_mct(hostile.document)
    assert written["hf"].read_text(encoding="utf-8") == render_hf_card(hostile.document)
    assert written["junit"].read_text(encoding="utf-8") == render_junit(hostile.document)
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o644 for p in _shown(folder))


def test_unknown_format_writes_nothing(hostile, tmp_path):
    with pytest.raises(ValueError, match="unknown format 'pdf'"):
        hostile.write(tmp_path, formats=("html", "pdf"))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("formats, error", [(("json", "html", "junit", "md"), jinja2.exceptions.UndefinedError),
                                            (("json", "junit"), KeyError)])
def test_a_failed_render_leaves_the_previous_report_untouched(hostile, tmp_path, formats, error):
    hostile.write(tmp_path, history=False)
    folder = tmp_path / HOSTILE_FOLDER
    before = _files(folder)
    broken = copy.deepcopy(hostile.document)
    del broken["findings"][0]["message"]
    with pytest.raises(error, match="message"):
        AuditResult(document=broken, model_bytes=hostile.model_bytes).write(tmp_path, formats=formats)
    assert _files(folder) == before  # same bytes, same inodes: not even model.skops was replaced
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]


def test_write_with_pdf_but_no_chromium_says_why_instead_of_raising(hostile, tmp_path, monkeypatch):
    monkeypatch.setenv("AUDIT_CHROMIUM", str(tmp_path / "no-such-chromium"))
    configured = dataclasses.replace(hostile, pdf=True)  # as `report.pdf: true` makes it
    for result, asked in ((hostile, {"pdf": True}), (configured, {})):
        written = result.write(tmp_path / "out", formats=("json",), history=False, **asked)
        assert written.pdf is None and "pdf" not in written and set(written.files) == {"model", "predictions", "json"}
        (note,) = written.skipped
        assert "model_card.pdf skipped: no Chromium found" in note and "AUDIT_CHROMIUM" in note
    assert configured.write(tmp_path / "out", formats=("json",), history=False, pdf=False).skipped == ()
    assert not (tmp_path / "out" / HOSTILE_FOLDER / "model_card.pdf").exists()


def test_the_report_folder_is_the_results_name_and_a_bare_document_gives_its_own(hostile, tmp_path):
    written = dataclasses.replace(hostile, name="Another / name").write(tmp_path, formats=("json",), history=False)
    assert written.folder == tmp_path / "Another-name" and written["json"].parent == written.folder
    bare = AuditResult(document=hostile.document)
    assert bare.name == hostile.document["audit"]["name"] and bare.folder_name == HOSTILE_FOLDER
    assert bare.pdf is False and bare.mlflow is None
    with pytest.raises(audit.AuditError, match="needs the audit's `name`"):
        AuditResult(document={"audit": {}})


# ------------------------------------------------------------------------------------ 5. notebooks


def test_repr_html_is_the_card_in_a_frame(hostile, tmp_path):
    import html as html_lib
    import re

    shown = hostile._repr_html_()
    assert shown.startswith("<iframe ") and shown.endswith("</iframe>")
    srcdoc = re.search(r'srcdoc="([^"]*)"', shown).group(1)
    # The whole card, escaped into the attribute: nothing of it is markup of the notebook's page.
    assert html_lib.unescape(srcdoc) == render_html(hostile.document)
    assert "<script" not in shown.replace(srcdoc, "")
    assert hostile.to_html(tmp_path / "card.html").read_text(encoding="utf-8") == html_lib.unescape(srcdoc)


def test_a_user_template_extends_ours(hostile_dir, tmp_path):
    (hostile_dir / "brand.html.j2").write_text(
        '{% extends "model_card.html.j2" %}{% block footer %}<footer>ACME model risk: {{ doc.gate }}</footer>'
        '{% endblock %}')
    raw = _hostile_raw()
    raw["report"] = {"template": "brand.html.j2", "title": "Branded"}
    result = audit.run(audit.config_from_dict(raw, source="audit.yaml", base_dir=str(hostile_dir)))
    html = result.write(tmp_path, formats=("html",))["html"].read_text()
    assert f"<footer>ACME model risk: {result.gate}</footer>" in html
    assert 'id="fairness"' in html and "Model card: Branded" in html  # the rest of ours is kept
    assert SCRIPT not in html  # escaping holds in the user's template too
    raw["report"]["template"] = "missing.html.j2"
    with pytest.raises(audit.AuditError, match="`report.template` must name an existing Jinja2 file"):
        audit.run(audit.config_from_dict(raw, source="audit.yaml", base_dir=str(hostile_dir)))


# --------------------------------------------------------------------------- 6. junit.xml against its schema


@pytest.fixture(scope="module")
def junit_schema():
    from lxml import etree

    return etree.XMLSchema(etree.parse(str(Path(__file__).with_name("junit-10.xsd"))))


def test_junit_validates_against_the_jenkins_junit_schema(hostile, frozen, junit_schema, tmp_path):
    from lxml import etree

    for document in (hostile.document, frozen):
        tree = etree.fromstring(render_junit(document).encode("utf-8"))
        assert junit_schema.validate(tree), junit_schema.error_log
    statuses = {f["status"] for f in hostile.findings}
    assert {"pass", "fail"} <= statuses  # both a passing and a failing case were validated
    # The schema has teeth: a test case without its required name is refused.
    tree = etree.fromstring(render_junit(frozen).encode("utf-8"))
    del tree.find("testsuite/testcase").attrib["name"]
    assert not junit_schema.validate(tree)


def test_the_history_index_carries_a_content_security_policy_that_refuses_scripts(hostile, tmp_path):
    written = hostile.write(tmp_path, formats=("json",))
    page = written.index.read_text(encoding="utf-8")
    policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page)
    assert policy is not None
    assert policy.group(1).split("; ") == ["default-src 'none'", "style-src 'unsafe-inline'", "img-src data:"]
    assert "<script" not in page.lower()
