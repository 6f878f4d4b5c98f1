"""The command line: exit codes, reports written, messages for bad input."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from audit.cli import main
from audit.report._pdf import find_chromium
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


@pytest.mark.slow
def test_bundled_example_writes_the_full_report_and_exits_1(bundled_adult):
    # The Quickstart's main job, through the installed console script.
    proc = bundled_adult
    assert proc.returncode == 1, proc.stderr
    folder = proc.folder
    assert {p.name for p in folder.iterdir() if not p.name.startswith(".")} == {"model_card.html", "findings.json", "junit.xml", "summary.md",
                                                   "model_card_toolkit.json", "README.md", "model.skops",
                                                   "predictions.parquet", "history", "index.html"}
    doc = json.loads((folder / "findings.json").read_text())
    assert doc["gate"] == "fail"
    failed = {(f["check"], f["attribute"]) for f in doc["findings"] if f["status"] == "fail"}
    assert ("four_fifths_rule", "sex") in failed
    assert doc["metrics"]["overall"]["roc_auc"]["value"] > 0.9
    assert "gate FAIL" in proc.stdout
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
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


@pytest.mark.slow
def test_missed_threshold_exits_1_and_still_writes_every_file(tmp_path):
    raw = _fast(performance={"min": {"roc_auc": 0.99}}, fairness={"four_fifths_rule": False})
    code = main(["run", str(_write(tmp_path, raw)), "--out", str(tmp_path / "out"), "--quiet"])
    assert code == 1
    folder = tmp_path / "out/adult-test"
    assert {p.name for p in folder.iterdir() if not p.name.startswith(".")} == {"model_card.html", "findings.json", "junit.xml", "summary.md",
                                                   "model_card_toolkit.json", "README.md", "model.skops",
                                                   "predictions.parquet", "history", "index.html"}
    doc = json.loads((folder / "findings.json").read_text())
    roc = next(f for f in doc["findings"] if f["threshold"] and f["threshold"]["metric"] == "roc_auc")
    assert roc["status"] == "fail" and "shown beyond roc_auc ≥ 0.99" in roc["message"]
    assert "shown beyond roc_auc" in (folder / "model_card.html").read_text()


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


@pytest.mark.slow
def test_format_option_limits_the_outputs(tmp_path):
    raw = _fast(explainability={"method": "none"})
    code = main(["run", str(_write(tmp_path, raw)), "--out", str(tmp_path / "only"), "--format", "json", "--quiet",
                 "--no-history"])
    assert code == 1  # the four-fifths rule fails for sex on Adult
    assert {p.name for p in (tmp_path / "only/adult-test").iterdir() if not p.name.startswith(".")} == {"findings.json", "model.skops",
                                                                                                "predictions.parquet"}


def test_unknown_format_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", "x.yaml", "--format", "pdf"])
    assert exc.value.code == 2
    assert "--format takes a comma-separated list of html, json, junit, md" in capsys.readouterr().err


def _small_pdf_config(tmp_path: Path, *, pdf_in_config: bool) -> Path:
    pd.read_csv(ROOT / "examples/adult/data/adult_test.csv.gz", nrows=2000).to_csv(tmp_path / "small.csv", index=False)
    raw = {"name": "pdf-card", "data": {"test": "small.csv", "target": "income", "positive_label": ">50K",
                                        "sensitive": ["sex"], "intersections": 1},
           "model": {"train": {"estimator": "sklearn.linear_model.LogisticRegression", "params": {"max_iter": 300}}},
           "bootstrap": {"replicates": 10}, "checks": {"explainability": {"method": "none"}},
           "report": {"pdf": pdf_in_config}}
    return _write(tmp_path, raw)


@pytest.mark.slow
@pytest.mark.skipif(find_chromium() is None, reason="no Chromium: install Debian's chromium (sh tests/setup.sh)")
@pytest.mark.parametrize("flag, in_config", [(True, False), (False, True)])
def test_pdf_of_the_card_is_printed_by_chromium(tmp_path, flag, in_config):
    config = _small_pdf_config(tmp_path, pdf_in_config=in_config)
    code = main(["run", str(config), "--out", str(tmp_path / "out"), "--quiet", *(["--pdf"] if flag else [])])
    assert code == 1  # the four-fifths rule fails on this data; the PDF does not change the exit code
    pdf = (tmp_path / "out/pdf-card/model_card.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    # The print stylesheet paginates the card onto several A4 pages (595 x 842 points).
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) >= 2
    assert re.search(rb"/MediaBox\s*\[\s*0 0 59[45]\.\d+ 84[12]\.\d+\s*\]", pdf)
    assert not list((tmp_path / "out/pdf-card").glob(".*.tmp"))


def test_pdf_without_chromium_is_skipped_with_a_clear_notice(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AUDIT_CHROMIUM", str(tmp_path / "no-such-chromium"))
    config = _small_pdf_config(tmp_path, pdf_in_config=False)
    code = main(["run", str(config), "--out", str(tmp_path / "out"), "--quiet", "--pdf"])
    assert code == 1  # the gate's verdict, as without --pdf
    err = capsys.readouterr().err
    assert "model_card.pdf skipped: no Chromium found" in err and "AUDIT_CHROMIUM" in err
    written = {p.name for p in (tmp_path / "out/pdf-card").iterdir() if not p.name.startswith(".")}
    assert "model_card.pdf" not in written and {"model_card.html", "findings.json", "junit.xml"} <= written


def _relative(path: Path, root: Path) -> str:
    """``path`` relative to ``root``, with a history run's timestamp folder named ``RUN``."""
    return re.sub(r"history/\d{8}T\d{6}Z(-\d+)?", "history/RUN", Path(path).relative_to(root).as_posix())


def _tree(root: Path) -> set[str]:
    """Every path under ``root`` a reader sees, as :func:`_relative` names it (not the runs' hidden storage)."""
    return {_relative(p, root) for p in root.rglob("*")
            if not any(part.startswith(".") for part in p.relative_to(root).parts)}


def _findings(path: Path) -> dict:
    doc = json.loads(path.read_text(encoding="utf-8"))
    for key in ("created", "duration_seconds"):  # when the run happened and how long it took
        doc["audit"].pop(key)
    for section in ("explainability", "slices"):  # and how long its explainer and slice search took
        (doc.get(section) or {}).pop("seconds", None)
    return doc


def test_the_api_writes_what_the_command_line_writes(tmp_path, capsys):
    import audit

    config = ROOT / "examples/diabetes-progression/audit.yaml"
    written = audit.run(config).write(tmp_path / "api")
    code = main(["run", str(config), "--out", str(tmp_path / "cli")])
    assert code == 1  # inconclusive on 221 rows (see test_examples)
    api, cli = tmp_path / "api/diabetes-progression", tmp_path / "cli/diabetes-progression"
    assert _tree(api) == _tree(cli)
    assert {"model_card.html", "findings.json", "model.skops", "index.html", "history/RUN/findings.json",
            "history/RUN/model_card.html"} <= _tree(api)
    assert _findings(api / "findings.json") == _findings(cli / "findings.json")
    assert _findings(written.history / "findings.json") == \
        _findings(next((cli / "history").iterdir()) / "findings.json")
    assert (api / "model.skops").read_bytes() == (cli / "model.skops").read_bytes()
    # The command line prints what `write` returned, in its order.
    printed = [line.removeprefix("  wrote ") for line in capsys.readouterr().out.splitlines()
               if line.startswith("  wrote ")]
    assert [_relative(p, tmp_path / "cli") for p in printed] == [_relative(p, tmp_path / "api")
                                                                  for p in written.paths()]


def test_no_history_writes_no_history_through_either_door(tmp_path):
    import audit

    config = ROOT / "examples/diabetes-progression/audit.yaml"
    written = audit.run(config).write(tmp_path / "api", formats=("json", "md"), history=False)
    assert written.history is None and written.index is None
    code = main(["run", str(config), "--out", str(tmp_path / "cli"), "--format", "json,md", "--no-history",
                 "--quiet"])
    assert code == 1
    assert _tree(tmp_path / "api") == _tree(tmp_path / "cli") == {
        "diabetes-progression", "diabetes-progression/findings.json", "diabetes-progression/summary.md",
        "diabetes-progression/model.skops", "diabetes-progression/predictions.parquet"}


def test_the_command_line_takes_its_settings_from_the_result_not_the_document(tmp_path, monkeypatch, capsys):
    # `audit.run` sets the result's name and PDF setting; the command line obeys them, not the document's copy.
    import dataclasses

    import audit._run

    real = audit._run.run
    monkeypatch.setattr(audit._run, "run",
                        lambda *a, **kw: dataclasses.replace(real(*a, **kw), name="from the result", pdf=True))
    monkeypatch.setenv("AUDIT_CHROMIUM", str(tmp_path / "no-such-chromium"))
    config = _small_pdf_config(tmp_path, pdf_in_config=False)
    code = main(["run", str(config), "--out", str(tmp_path / "out"), "--quiet", "--no-history"])
    assert code == 1
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["from-the-result"]
    assert json.loads((tmp_path / "out/from-the-result/findings.json").read_text())["audit"]["name"] == "pdf-card"
    assert "model_card.pdf skipped: no Chromium found" in capsys.readouterr().err


READMISSION = ROOT / "examples" / "readmission"


def _readmission(tmp_path: Path, **data) -> dict:
    raw = yaml.safe_load((READMISSION / "audit.yaml").read_text(encoding="utf-8"))
    for key in ("train", "test", "reference"):
        raw["data"][key] = str(READMISSION / raw["data"][key])
    raw["data"].update(data)
    return raw


def test_validate_refuses_a_metric_the_task_has_not_and_run_refuses_it_before_training(tmp_path, capsys):
    # The readmission audit is multiclass: `roc_auc` of a binary model is not one of its metrics.
    raw = _readmission(tmp_path)
    raw["checks"]["performance"]["min"] = {"roc_auc": 0.7}
    config = _write(tmp_path, raw)
    assert main(["validate", str(config)]) == 2
    expected = "audit: error: `checks.performance` must name multiclass metrics; got 'roc_auc'. Known: accuracy, "
    assert capsys.readouterr().err.startswith(expected)
    import audit

    steps: list[str] = []
    with pytest.raises(audit.AuditError, match="`checks.performance` must name multiclass metrics; got 'roc_auc'"):
        audit.run(config, progress=steps.append)
    assert steps == ["loading data"]  # nothing trained
    assert main(["run", str(config), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert not (tmp_path / "out" / "readmission").exists()


def test_validate_reads_the_reference_header_and_the_model_source(tmp_path, capsys):
    raw = _readmission(tmp_path)
    raw["model"] = {"train": {"estimator": "sklearn.ensembel.RandomForestClassifier"}}
    assert main(["validate", str(_write(tmp_path, raw))]) == 2
    assert "whose module cannot be found" in capsys.readouterr().err
    raw = _readmission(tmp_path, reference=str(READMISSION / "data" / "train.csv.gz"), features=["no_such"])
    assert main(["validate", str(_write(tmp_path, raw))]) == 2
    assert "`data.features` must name a column of test.csv.gz; got 'no_such'" in capsys.readouterr().err


def test_validate_says_when_a_positive_label_audits_one_class_against_the_rest(tmp_path, capsys):
    raw = _readmission(tmp_path, positive_label="<30")
    del raw["task"]
    raw["checks"]["performance"] = {"min": {"accuracy": 0.6}}
    raw["checks"]["fairness"] = {"max": {"equalized_odds_difference": 0.2}}
    assert main(["validate", str(_write(tmp_path, raw))]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    test = pd.read_csv(READMISSION / "data" / "test.csv.gz")
    assert f"valid. {len(test)} evaluation rows" in out
    assert "One class against the rest: the target 'readmitted' holds 3 values; this binary audit reads '<30'" in out


def test_version_and_help_say_what_is_audited(capsys):
    from importlib import metadata

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"audit (rai-audit) {metadata.version('rai-audit')}"
    with pytest.raises(SystemExit):
        main(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "(binary or multiclass classification, or regression)" in help_text
    assert "audit of a classification model" not in help_text
