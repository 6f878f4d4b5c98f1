"""Report history: one folder per run, never overwritten, and an index page with a trend chart."""

from __future__ import annotations

import hashlib
import os
import stat
import json
import re
import subprocess
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from threadpoolctl import threadpool_limits

from audit.findings._history import read_history, record_run
from audit.report._history_page import write_history_index
from audit.cli import main
from helpers import adult_rows


def _config(tmp_path: Path, *, seed_rows: int) -> Path:
    adult_rows("test", 2500).to_csv(tmp_path / "test.csv", index=False)
    adult_rows("train", seed_rows).to_csv(tmp_path / "train.csv", index=False)
    raw = {"name": "history-demo", "data": {"test": "test.csv", "train": "train.csv", "target": "income",
                                            "positive_label": ">50K", "sensitive": ["sex", "race"],
                                            "intersections": 1},
           "model": {"train": {"estimator": "sklearn.ensemble.HistGradientBoostingClassifier",
                               "params": {"max_iter": 10}}},
           "checks": {"explainability": {"method": "none"}, "bias": {"proxies": False}},
           "bootstrap": {"replicates": 10},
           "report": {"title": "History <script>alert(1)</script>"}}
    path = tmp_path / "audit.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


class _Svg(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.scripts = 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self.scripts += tag == "script"


def test_three_runs_make_three_history_entries_and_keep_earlier_ones_intact(tmp_path):
    out = tmp_path / "reports"
    folder = out / "history-demo"
    seen: dict[str, str] = {}
    for i, rows in enumerate((3000, 2000, 1500)):  # less training data each time: the metrics move
        config = _config(tmp_path, seed_rows=rows)
        with threadpool_limits(limits=1):
            code = main(["run", str(config), "--out", str(out), "--quiet"])
        assert code in (0, 1)
        runs = sorted(p.name for p in (folder / "history").iterdir())
        assert len(runs) == i + 1
        now = _digests(folder / "history")
        assert all(now[name] == digest for name, digest in seen.items()), "an earlier run was rewritten"
        seen = now
    for run in runs:
        assert re.fullmatch(r"\d{8}T\d{6}Z(-\d+)?", run)
        assert {"model_card.html", "findings.json", "junit.xml", "summary.md", "model.skops"} <= {
            p.name for p in (folder / "history" / run).iterdir()}
    # The latest run's copy equals the report at the top of the folder.
    assert (folder / "history" / runs[-1] / "findings.json").read_bytes() == (folder / "findings.json").read_bytes()

    index = (folder / "index.html").read_text(encoding="utf-8")
    page = _Svg(index)
    assert page.scripts == 0 and "History &lt;script&gt;alert(1)&lt;/script&gt;" in index
    rows = re.findall(r'<a href="history/([^"]+)/model_card.html">', index)
    assert rows == runs
    svgs = [a for t, a in page.tags if t == "svg"]
    assert len(svgs) == 2  # key metrics, fairness gaps
    polylines = [a for t, a in page.tags if t == "polyline"]
    assert polylines and all(len(a["points"].split()) == 3 for a in polylines)  # three runs on every line
    aucs = [json.loads((folder / "history" / r / "findings.json").read_text())["metrics"]["overall"]["roc_auc"]["value"]
            for r in runs]
    history = read_history(folder)
    assert [r.metrics["roc_auc"] for r in history.runs] == aucs
    assert history.gap_names == ("sex: demographic_parity_difference", "sex: equalized_odds_difference",
                                 "race: demographic_parity_difference", "race: equalized_odds_difference")


def test_runs_in_the_same_second_get_their_own_folders(tmp_path):
    doc = json.loads((Path(__file__).resolve().parents[1] / "golden" / "findings_small.json").read_text(encoding="utf-8"))
    card = tmp_path / "model_card.html"
    card.write_text("<p>card</p>", encoding="utf-8")
    when = datetime(2026, 11, 25, 7, 12, 0, tzinfo=timezone.utc)
    first = record_run(tmp_path / "r", written={"html": card}, document=doc, now=when)
    before = _digests(first)
    card.write_text("<p>second card</p>", encoding="utf-8")
    second = record_run(tmp_path / "r", written={"html": card}, document=doc, now=when)
    index = write_history_index(tmp_path / "r")
    assert (first.name, second.name) == ("20261125T071200Z", "20261125T071200Z-2")
    assert _digests(first) == before and (second / "model_card.html").read_text() == "<p>second card</p>"
    # findings.json is kept even when only the card was written: the index is built from it.
    assert (first / "findings.json").is_file() and index.read_text(encoding="utf-8").count("<tr>") == 3
    assert not list((tmp_path / "r" / "history").glob("*/.*.tmp"))


CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (sh tests/setup.sh installs it)")
def test_index_page_in_a_real_browser(tmp_path):
    # Three runs of the golden document with a falling ROC AUC: the browser lays out three rows and the charts.
    doc = json.loads((Path(__file__).resolve().parents[1] / "golden" / "findings_small.json").read_text(encoding="utf-8"))
    card = tmp_path / "model_card.html"
    card.write_text("<p>card</p>", encoding="utf-8")
    for i in range(3):
        doc["metrics"]["overall"]["roc_auc"]["value"] -= 0.01
        doc["audit"]["created"] = f"2026-0{i + 1}-01T00:00:00+00:00"
        record_run(tmp_path / "r", written={"html": card}, document=doc,
                   now=datetime(2026, i + 1, 1, tzinfo=timezone.utc))
    write_history_index(tmp_path / "r")
    done = subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
                           (tmp_path / "r" / "index.html").as_uri()], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    page = _Svg(done.stdout)
    assert [a["href"] for t, a in page.tags if t == "a"] == [
        f"history/2026{m:02d}01T000000Z/model_card.html" for m in (1, 2, 3)]
    assert sum(t == "svg" for t, _ in page.tags) == 2 and page.scripts == 0
    auc = next(a for t, a in page.tags if t == "g" and a.get("data-name") == "roc_auc")
    assert auc is not None
    ys = [float(p.split(",")[1]) for t, a in page.tags if t == "polyline" for p in a["points"].split()][:3]
    assert ys == sorted(ys)  # falling AUC: each point lower on the page (larger y) than the one before


def test_history_folders_are_readable_like_any_report(tmp_path):
    doc = json.loads((Path(__file__).resolve().parents[1] / "golden" / "findings_small.json").read_text(encoding="utf-8"))
    run_dir = record_run(tmp_path / "r", written={}, document=doc)
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(run_dir.stat().st_mode) == 0o777 & ~mask
    assert [p.name for p in (tmp_path / "r" / "history").iterdir()] == [run_dir.name]  # no hidden leftovers
