"""The command line: exit codes, reports written, messages for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from audit.cli import main
from conftest import ROOT, adult_config


def _write(tmp_path: Path, raw: dict) -> Path:
    path = tmp_path / "audit.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def _fast(**checks) -> dict:
    raw = adult_config(bootstrap={"replicates": 20})
    raw["data"]["intersections"] = 2
    raw["checks"] = {"explainability": {"sample": 300}, **checks}
    return raw


def test_bundled_example_writes_the_full_report_and_exits_1(tmp_path):
    # The Quickstart's main job, through the installed console script.
    out = tmp_path / "reports"
    proc = subprocess.run([sys.executable, "-m", "audit", "run", str(ROOT / "examples/adult/audit.yaml"),
                           "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    folder = out / "adult-income"
    assert {p.name for p in folder.iterdir()} == {"model_card.html", "findings.json", "junit.xml", "summary.md",
                                                   "model_card_toolkit.json", "README.md", "model.skops"}
    doc = json.loads((folder / "findings.json").read_text())
    assert doc["gate"] == "fail"
    failed = {(f["check"], f["attribute"]) for f in doc["findings"] if f["status"] == "fail"}
    assert ("four_fifths_rule", "sex") in failed
    assert doc["metrics"]["overall"]["roc_auc"]["value"] > 0.9
    assert "gate FAIL" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_passing_thresholds_exit_0(tmp_path, capsys):
    raw = _fast(performance={"min": {"roc_auc": 0.8}}, fairness={"four_fifths_rule": False})
    code = main(["run", str(_write(tmp_path, raw)), "--out", str(tmp_path / "out"), "--quiet"])
    assert code == 0
    doc = json.loads((tmp_path / "out/adult-test/findings.json").read_text())
    assert doc["gate"] == "pass"
    roc = next(f for f in doc["findings"] if f["threshold"] and f["threshold"]["metric"] == "roc_auc")
    assert roc["status"] == "pass" and roc["threshold"] == {"metric": "roc_auc", "op": ">=", "value": 0.8,
                                                          "severity": "block"}
    assert f"{roc['value']:.4g}" in roc["message"] and "0.8" in roc["message"]


def test_missed_threshold_exits_1_and_still_writes_every_file(tmp_path):
    raw = _fast(performance={"min": {"roc_auc": 0.99}}, fairness={"four_fifths_rule": False})
    code = main(["run", str(_write(tmp_path, raw)), "--out", str(tmp_path / "out"), "--quiet"])
    assert code == 1
    folder = tmp_path / "out/adult-test"
    assert {p.name for p in folder.iterdir()} == {"model_card.html", "findings.json", "junit.xml", "summary.md",
                                                   "model_card_toolkit.json", "README.md", "model.skops"}
    doc = json.loads((folder / "findings.json").read_text())
    roc = next(f for f in doc["findings"] if f["threshold"] and f["threshold"]["metric"] == "roc_auc")
    assert roc["status"] == "fail" and "misses roc_auc ≥ 0.99" in roc["message"]
    assert "misses roc_auc" in (folder / "model_card.html").read_text()


def test_missing_column_exits_2_naming_column_and_file(tmp_path, capsys):
    raw = _fast()
    raw["data"]["target"] = "incme"
    code = main(["run", str(_write(tmp_path, raw)), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert "`data.target` must name a column of adult_test.csv.gz; got 'incme'" in err
    assert "income" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_bad_config_exits_2_with_the_field_path(tmp_path, capsys):
    raw = _fast()
    raw["checks"]["performance"] = {"min": {"roc_auc": "high"}}
    code = main(["validate", str(_write(tmp_path, raw))])
    err = capsys.readouterr().err
    assert code == 2
    assert "`checks.performance.min.roc_auc` must be a valid number" in err


def test_validate_reports_without_running(tmp_path, capsys):
    code = main(["validate", str(_write(tmp_path, _fast()))])
    assert code == 0
    out = capsys.readouterr().out
    assert "valid" in out and "16281 evaluation rows" in out and "6 groupings" in out


def test_format_option_limits_the_outputs(tmp_path):
    raw = _fast(explainability={"method": "none"})
    code = main(["run", str(_write(tmp_path, raw)), "--out", str(tmp_path / "out"), "--format", "json", "--quiet"])
    assert code == 1  # the four-fifths rule fails for sex on Adult
    assert {p.name for p in (tmp_path / "out/adult-test").iterdir()} == {"findings.json", "model.skops"}


def test_unknown_format_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", "x.yaml", "--format", "pdf"])
    assert exc.value.code == 2
    assert "--format takes a comma-separated list of html, json, junit, md" in capsys.readouterr().err
