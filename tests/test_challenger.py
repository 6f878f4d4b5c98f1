"""Champion against challenger through audit.run and the command line: the paired numbers of findings.json
against scikit-learn on the masked rows, the non-inferiority gate, --challenger, and the bundled example."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.linear_model import LogisticRegression

import audit
from helpers import scored_by_two_classifiers
from audit.cli import main

ROOT = Path(__file__).resolve().parents[1]
NUMERIC = ["age", "education-num", "capital-gain", "capital-loss", "hours-per-week"]


@pytest.fixture(scope="module")
def scored(tmp_path_factory) -> Path:
    """6,000 Adult test rows with the predictions of two real classifiers fitted on other Adult rows."""
    folder = tmp_path_factory.mktemp("challenger")
    scored_by_two_classifiers(folder)
    return folder


def _config(folder: Path, margin: dict[str, float], *, champion: str = "a", challenger: str = "b") -> dict:
    return {"name": "cc", "data": {"test": "scored.csv", "target": "income", "positive_label": 1,
                                   "sensitive": ["sex", "race"], "intersections": 2},
            "model": {"predictions": {"predictions": f"{champion}_label", "scores": f"{champion}_score"}},
            "challenger": {"name": "other", "model": {"predictions": {"predictions": f"{challenger}_label",
                                                                      "scores": f"{challenger}_score"}},
                           "margin": margin},
            "bootstrap": {"replicates": 100},
            "checks": {"explainability": {"method": "none"}, "fairness": {"severity": "warn"},
                       "bias": {"proxies": False, "distributions": False}}}


def test_paired_numbers_in_findings_equal_sklearn_on_the_masked_rows(scored):
    doc = audit.run(audit.config_from_dict(_config(scored, {}), source="t", base_dir=str(scored))).document
    rows = pd.read_csv(scored / "scored.csv")
    cc = doc["champion_challenger"]
    y = rows["income"].to_numpy()
    for where, mask in [("overall", np.ones(len(rows), bool)), ("Female", (rows["sex"] == "Female").to_numpy()),
                        ("White", (rows["race"] == "White").to_numpy())]:
        found = cc["overall"] if where == "overall" else (cc["by_group"]["sex"].get(where) or cc["by_group"]["race"][where])
        for metric, fn in (("accuracy", skm.accuracy_score), ("recall", skm.recall_score),
                           ("precision", skm.precision_score)):
            ref = fn(y[mask], rows["b_label"][mask]) - fn(y[mask], rows["a_label"][mask])
            assert found[metric]["difference"] == pytest.approx(ref, abs=1e-9), (where, metric)
        ref_auc = skm.roc_auc_score(y[mask], rows["b_score"][mask]) - skm.roc_auc_score(y[mask], rows["a_score"][mask])
        assert found["roc_auc"]["difference"] == pytest.approx(ref_auc, abs=1e-9)
        assert found["roc_auc"]["test"] == "delong" and found["accuracy"]["test"] == "mcnemar"
    assert "equalized_odds_difference" in cc["fairness"]["sex"]
    assert not [f for f in doc["findings"] if f["check"] == "challenger"]  # no margins: nothing gated


def test_the_non_inferiority_gate_fails_a_worse_challenger_and_passes_a_covering_margin(scored, tmp_path):
    # The logistic model on five numbers ranks worse than the tree: as a challenger it fails.
    swap = {"champion": "b", "challenger": "a"}
    doc = audit.run(audit.config_from_dict(_config(scored, {"roc_auc": 0.0}, **swap), source="t",
                                           base_dir=str(scored))).document
    overall = doc["champion_challenger"]["overall"]["roc_auc"]
    assert overall["ci_high"] < 0 and overall["better"] == "champion"
    verdict = next(f for f in doc["findings"] if f["check"] == "challenger" and f["attribute"] is None)
    assert verdict["status"] == "fail" and verdict["shown"] == "beyond"
    assert verdict["threshold"] == {"metric": "roc_auc_difference", "op": ">=", "value": 0.0, "severity": "block"}
    assert doc["gate"] == "fail"
    covering = -overall["ci_low"] + 0.01
    doc = audit.run(audit.config_from_dict(_config(scored, {"roc_auc": covering}, **swap), source="t",
                                           base_dir=str(scored))).document
    verdict = next(f for f in doc["findings"] if f["check"] == "challenger" and f["attribute"] is None)
    assert verdict["status"] == "pass" and verdict["shown"] == "within"
    for f in doc["findings"]:
        if f["check"] == "challenger" and f["attribute"] in ("sex",):
            assert f["status"] in ("pass", "warn")  # a group is failed only when shown beyond


def test_challenger_on_the_command_line_loads_a_model_file(scored, tmp_path):
    import skops.io as sio
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rows = pd.read_csv(scored / "scored.csv")
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(rows[NUMERIC], rows["income"])
    sio.dump(model, tmp_path / "challenger.skops")
    cfg = _config(scored, {"accuracy": 0.5})
    del cfg["challenger"]["model"]
    cfg["challenger"]["model"] = {"predictions": {"predictions": "b_label"}}  # replaced by --challenger
    cfg["data"]["features"] = NUMERIC
    cfg["data"]["test"] = str(scored / "scored.csv")
    (tmp_path / "audit.yaml").write_text(json.dumps(cfg), encoding="utf-8")
    code = main(["run", str(tmp_path / "audit.yaml"), "--challenger", str(tmp_path / "challenger.skops"),
                 "--out", str(tmp_path / "out"), "--format", "json", "--quiet"])
    doc = json.loads((tmp_path / "out" / "cc" / "findings.json").read_text(encoding="utf-8"))
    cc = doc["champion_challenger"]
    assert cc["challenger"]["type"].endswith("Pipeline") and cc["challenger"]["sha256"]
    expected = model.score(rows[NUMERIC], rows["income"]) - skm.accuracy_score(rows["income"], rows["a_label"])
    assert cc["overall"]["accuracy"]["difference"] == pytest.approx(expected, abs=1e-9)
    assert code in (0, 1)


def test_the_example_shows_where_the_better_model_is_worse(tmp_path):
    result = audit.run(ROOT / "examples" / "champion-challenger" / "audit.yaml")
    doc = result.document
    cc = doc["champion_challenger"]
    assert cc["overall"]["roc_auc"]["better"] == "challenger" and cc["overall"]["recall"]["better"] == "challenger"
    worse = cc["by_group"]["SEX"]["male"]["false_positive_rate"]
    assert worse["better"] == "champion" and worse["ci_low"] > 0.005  # shown worse by more than the margin
    fpr = [f for f in doc["findings"] if f["check"] == "challenger" and f["attribute"] == "SEX"
           and f["threshold"]["metric"] == "false_positive_rate_difference"]
    assert fpr[0]["status"] == "fail" and "male" in fpr[0]["message"]
    assert result.exit_code == 1
    result.to_html(tmp_path / "card.html")
    html = (tmp_path / "card.html").read_text(encoding="utf-8")
    assert "Champion vs challenger" in html and "SEX: male" in html
