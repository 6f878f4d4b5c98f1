"""Exports: the Model Card Toolkit JSON validates against its schema, huggingface_hub parses the Hugging Face
card offline, and an MLflow run in a local file store holds the audit's metrics and artifacts."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import yaml

from audit.report._mlflow import metric_name, run_metrics
from audit._result import FORMATS
from audit.cli import main
from audit.report import render_hf_card, to_mct
from conftest import adult_config
from helpers import exports_audit


@pytest.fixture(scope="module")
def result():
    return exports_audit()


@pytest.fixture(scope="module")
def written(result, tmp_path_factory) -> dict[str, Path]:
    return result.write(tmp_path_factory.mktemp("reports")).files


def _mct_schema() -> dict:
    text = resources.files("audit").joinpath("schema/model_card_toolkit.v0.0.2.schema.json").read_text("utf-8")
    return json.loads(text)


def test_adult_audit_exports_every_document(written):
    assert set(written) == {*FORMATS, "model", "predictions"}
    names = {p.name for p in written.values()}
    assert {"model_card.html", "findings.json", "junit.xml", "summary.md", "model_card_toolkit.json",
            "README.md"} <= names
    assert all(p.stat().st_size > 0 for p in written.values())


def test_mct_json_validates_against_the_v0_0_2_schema(written, result):
    schema = _mct_schema()
    jsonschema.Draft7Validator.check_schema(schema)
    card = json.loads(written["mct"].read_text(encoding="utf-8"))
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in jsonschema.Draft7Validator(schema).iter_errors(card)]
    assert errors == []
    assert card["schema_version"] == "0.0.2"
    doc = result.document
    metrics = card["quantitative_analysis"]["performance_metrics"]
    # Every number is the findings document's, with its interval: overall, by group and by attribute.
    auc = next(m for m in metrics if m["type"] == "roc_auc" and "slice" not in m)
    overall = doc["metrics"]["overall"]["roc_auc"]
    assert float(auc["value"]) == overall["value"]
    assert float(auc["confidence_interval"]["lower_bound"]) == overall["ci_low"]
    female = next(m for m in metrics if m["type"] == "recall" and m.get("slice") == "sex=Female")
    assert float(female["value"]) == doc["metrics"]["by_group"]["sex"]["Female"]["recall"]["value"]
    inter = next(m for m in metrics if m["type"] == "accuracy" and m.get("slice") == "sex&race=Female&Black")
    assert float(inter["value"]) == doc["metrics"]["by_group"]["sex&race"]["Female&Black"]["accuracy"]["value"]
    dpr = next(m for m in metrics if m["type"] == "demographic_parity_ratio" and m.get("slice") == "sex")
    assert float(dpr["value"]) == doc["fairness"]["by_attribute"]["sex"]["demographic_parity_ratio"]["value"]
    assert card["model_details"]["licenses"] == [{"identifier": "Apache-2.0"}]
    assert card["model_details"]["owners"] == [{"name": "Model risk team"}]
    # The failed fairness checks are named as ethical risks.
    risks = [r["name"] for r in card["considerations"]["ethical_considerations"]]
    assert any("demographic_parity_ratio" in r or "four" in r.lower() for r in risks)


@pytest.mark.parametrize("broken, path", [({"model_details": {}, "extra": 1}, ""),
                                          ({"model_details": {"owners": "me"}}, "model_details/owners"),
                                          ({"model_details": {}, "quantitative_analysis": {"performance_metrics": [
                                              {"type": "accuracy", "value": 0.9}]}},
                                           "quantitative_analysis/performance_metrics/0/value")])
def test_mct_schema_rejects_what_the_toolkit_rejects(broken, path):
    # The schema is not vacuous: unknown top-level keys, wrong types and numeric values are refused.
    errors = list(jsonschema.Draft7Validator(_mct_schema()).iter_errors(broken))
    assert [("/".join(map(str, e.absolute_path))) for e in errors] == [path]


def test_hugging_face_card_parses_offline(written, result, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from huggingface_hub import ModelCard

    card = ModelCard.load(written["hf"])  # a local path: read from disk, no network
    data = card.data
    assert data.license == "apache-2.0"
    assert {"tabular-classification", "fairness", "audit-gate-fail"} <= set(data.tags)
    doc = result.document
    results = {(r.metric_type, r.metric_name): r for r in data.eval_results}
    acc = results[("accuracy", "accuracy (overall)")]
    assert acc.metric_value == doc["metrics"]["overall"]["accuracy"]["value"]
    assert acc.task_type == "tabular-classification" and acc.dataset_name == "adult_test.csv.gz"
    gap = results[("equalized_odds_difference", "equalized_odds_difference (sex&race)")]
    assert gap.metric_value == doc["fairness"]["by_attribute"]["sex&race"]["equalized_odds_difference"]["value"]
    for heading in ("## Model details", "## Intended uses & limitations", "## Evaluation results",
                    "## Regulatory views", "### NYC Local Law 144 style impact ratios", "## Audit findings"):
        assert heading in card.text
    assert "not legal advice" in card.text
    # Built from content too, as the Hub does, with the same metadata.
    assert ModelCard(render_hf_card(doc)).data.to_dict() == data.to_dict()


def test_hugging_face_metadata_holds_every_defined_fairness_value(result):
    meta = yaml.safe_load(render_hf_card(result.document).split("---\n", 2)[1])
    metrics = meta["model-index"][0]["results"][0]["metrics"]
    fairness = result.document["fairness"]["by_attribute"]
    expected = sum(e["value"] is not None for values in fairness.values() for e in values.values())
    assert len([m for m in metrics if not m["name"].endswith("(overall)")]) == expected


def test_mlflow_run_in_a_local_store_holds_metrics_params_and_artifacts(result, written, tmp_path):
    from mlflow.tracking import MlflowClient

    uri = (tmp_path / "mlruns").as_uri()
    run = result.log_to_mlflow(tracking_uri=uri, experiment="audits", files=written)
    client = MlflowClient(tracking_uri=uri)
    logged = client.get_run(run.run_id)
    doc = result.document
    metrics = logged.data.metrics
    assert metrics == pytest.approx(run_metrics(doc))
    assert metrics["overall.roc_auc"] == doc["metrics"]["overall"]["roc_auc"]["value"]
    assert metrics["overall.roc_auc.ci_low"] == doc["metrics"]["overall"]["roc_auc"]["ci_low"]
    assert metrics["fairness.sex_race.demographic_parity_ratio"] == \
        doc["fairness"]["by_attribute"]["sex&race"]["demographic_parity_ratio"]["value"]
    assert metrics["gate_pass"] == 0.0 and metrics["findings.fail"] == doc["summary"]["fail"]
    params = logged.data.params
    assert params["seed"] == "0" and params["model_type"] == "sklearn.tree.DecisionTreeClassifier"
    assert params["model_sha256"] == doc["model"]["sha256"]
    assert params["data_test_sha256"] == doc["audit"]["data"]["test"]["sha256"][0]
    assert logged.info.status == "FINISHED" and logged.data.tags["rai_audit.gate"] == "fail"
    artifacts = {a.path for a in client.list_artifacts(run.run_id)}
    assert {"model_card.html", "findings.json", "junit.xml", "model_card_toolkit.json", "README.md"} <= artifacts
    assert "model.skops" not in artifacts
    local = Path(client.download_artifacts(run.run_id, "findings.json", str(tmp_path)))
    assert json.loads(local.read_text(encoding="utf-8")) == doc


def test_mlflow_renders_the_essential_reports_when_they_were_not_written(result, tmp_path):
    from mlflow.tracking import MlflowClient

    uri = (tmp_path / "mlruns").as_uri()
    run = result.log_to_mlflow(tracking_uri=uri)
    artifacts = {a.path for a in MlflowClient(tracking_uri=uri).list_artifacts(run.run_id)}
    assert artifacts == {"model_card.html", "findings.json", "junit.xml"}


def test_write_logs_to_mlflow_as_configured_unless_told_not_to(result, tmp_path):
    import dataclasses

    from mlflow.tracking import MlflowClient

    from audit.report._mlflow import MlflowSettings

    configured = dataclasses.replace(result, mlflow=MlflowSettings(experiment="api-write"))  # an `mlflow` section
    assert configured.write(tmp_path / "off", formats=("json",), history=False, mlflow=False).mlflow is None
    assert not (tmp_path / "off/mlruns").exists()
    written = configured.write(tmp_path / "on", formats=("json",), history=False)
    assert written.mlflow.tracking_uri == (tmp_path / "on/mlruns").resolve().as_uri()
    client = MlflowClient(tracking_uri=written.mlflow.tracking_uri)
    assert client.get_experiment_by_name("api-write").experiment_id == written.mlflow.experiment_id
    assert {a.path for a in client.list_artifacts(written.mlflow.run_id)} == {"model_card.html", "findings.json",
                                                                               "junit.xml"}
    # A URI given to `write` wins over the config's; the keyword alone logs a result with no `mlflow` section.
    other = tmp_path / "elsewhere"
    assert result.write(tmp_path / "on", formats=("json",), history=False, mlflow=str(other)).mlflow.tracking_uri \
        == other.resolve().as_uri()
    assert result.write(tmp_path / "off", formats=("json",), history=False).mlflow is None


@pytest.mark.parametrize("parts, expected", [(("fairness", "sex&race", "equalized_odds_difference"),
                                               "fairness.sex_race.equalized_odds_difference"),
                                              (("overall", "f1"), "overall.f1"),
                                              (("fairness", "âge (years)", "x"), "fairness.ge _years.x")])
def test_metric_names_use_only_characters_mlflow_accepts(parts, expected):
    assert metric_name(*parts) == expected


def test_cli_mlflow_flag_logs_to_the_default_store_beside_the_reports(tmp_path):
    from mlflow.tracking import MlflowClient

    raw = adult_config(name="cli-mlflow", bootstrap={"replicates": 0},
                       checks={"explainability": {"method": "none"}, "bias": {"proxies": False}},
                       mlflow={"experiment": "from-config"})
    raw["data"]["intersections"] = 1
    raw["model"] = {"train": {"estimator": "sklearn.tree.DecisionTreeClassifier", "params": {"max_depth": 4}}}
    config = tmp_path / "audit.yaml"
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    out = tmp_path / "reports"
    # The config's mlflow section turns logging on by itself; the --mlflow flag with no URI does too.
    code = main(["run", str(config), "--out", str(out), "--format", "json", "--quiet"])
    assert code == 1
    client = MlflowClient(tracking_uri=(out / "mlruns").as_uri())
    experiment = client.get_experiment_by_name("from-config")
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 1 and runs[0].data.metrics["gate_pass"] == 0.0
    assert {a.path for a in client.list_artifacts(runs[0].info.run_id)} == {"model_card.html", "findings.json",
                                                                            "junit.xml"}
    other = tmp_path / "elsewhere"
    code = main(["run", str(config), "--out", str(out), "--format", "json", "--quiet", "--mlflow", str(other)])
    assert code == 1 and (other / experiment.experiment_id).is_dir() is False
    assert MlflowClient(tracking_uri=other.as_uri()).get_experiment_by_name("from-config") is not None


def test_unreachable_tracking_server_is_bad_input_after_the_reports_are_written(tmp_path, capsys):
    raw = adult_config(name="no-server", bootstrap={"replicates": 0},
                       checks={"explainability": {"method": "none"}, "bias": {"proxies": False}})
    raw["data"]["intersections"] = 1
    raw["model"] = {"train": {"estimator": "sklearn.tree.DecisionTreeClassifier", "params": {"max_depth": 3}}}
    config = tmp_path / "audit.yaml"
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    code = main(["run", str(config), "--out", str(tmp_path / "out"), "--format", "json", "--quiet",
                 "--mlflow", "unknown-scheme://nowhere"])
    assert code == 2
    err = capsys.readouterr().err
    assert "unknown-scheme://nowhere" in err and "reports are written" in err and "Traceback" not in err
    assert (tmp_path / "out/no-server/findings.json").is_file()


def test_without_mlflow_installed_the_error_names_the_extra(result, monkeypatch):
    import sys

    from audit.report._mlflow import require_mlflow

    monkeypatch.setitem(sys.modules, "mlflow", None)  # what Python does for a package that is not installed
    with pytest.raises(ImportError, match=r"pip install 'rai-audit\[mlflow\]'"):
        require_mlflow()
    with pytest.raises(ImportError, match=r"rai-audit\[mlflow\]"):
        result.log_to_mlflow(tracking_uri="file:///nowhere")
