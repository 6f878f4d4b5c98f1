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


def _models_config(folder: Path, *, mark: str | None = "a") -> dict:
    """The same audit as `_config`, in the `models:` form: two named models, one marked champion."""
    cfg = _config(folder, {"accuracy": 0.5})
    del cfg["model"], cfg["challenger"]
    cfg["models"] = {name: {"predictions": {"predictions": f"{name}_label", "scores": f"{name}_score"},
                            **({"champion": True} if name == mark else {}),
                            **({"margin": {"accuracy": 0.5}} if name != (mark or "a") else {})}
                     for name in ("a", "b")}
    return cfg


def test_the_models_form_audits_both_models_in_full_and_pairs_them(scored, tmp_path):
    result = audit.run(audit.config_from_dict(_models_config(scored), source="t", base_dir=str(scored)))
    rows = pd.read_csv(scored / "scored.csv")
    y = rows["income"].to_numpy()
    cc = result.document["champion_challenger"]
    assert cc["champion"]["name"] == "a" and cc["challenger"]["name"] == "b"
    ref = skm.recall_score(y, rows["b_label"]) - skm.recall_score(y, rows["a_label"])
    assert cc["overall"]["recall"]["difference"] == pytest.approx(ref, abs=1e-9)
    # The challenger's own audit: its metrics are the challenger's, on the same rows.
    (own,) = result.challengers
    assert own.name == "b"
    assert own.document["metrics"]["overall"]["recall"]["value"] == pytest.approx(
        skm.recall_score(y, rows["b_label"]), abs=1e-12)
    assert result.document["metrics"]["overall"]["recall"]["value"] == pytest.approx(
        skm.recall_score(y, rows["a_label"]), abs=1e-12)
    assert cc["challenger"]["audit"] == {"gate": own.gate, "summary": own.document["summary"],
                                         "folder": "challengers/b"}
    written = result.write(tmp_path / "out", formats=("html", "json", "md"), history=False)
    card = (written.folder / "challengers" / "b" / "model_card.html").read_text(encoding="utf-8")
    assert "recall" in card and written.challengers["b"]["json"].is_file()
    assert 'href="challengers/b/model_card.html"' in written["html"].read_text(encoding="utf-8")
    # Either gate failing fails the run: the champion's holds the comparison, the challenger's its own checks.
    assert result.exit_code == (0 if result.gate == "pass" and own.exit_code == 0 else 1)


def test_the_champion_is_marked_or_named_on_the_command_line(scored, tmp_path):
    cfg = _models_config(scored, mark=None)
    cfg["data"]["test"] = str(scored / "scored.csv")
    (tmp_path / "audit.yaml").write_text(json.dumps(cfg), encoding="utf-8")
    with pytest.raises(audit.AuditError, match=r"champion: true.*--champion.*Models: a, b"):
        audit.run(tmp_path / "audit.yaml")
    with pytest.raises(audit.AuditError, match=r"`--champion` must name one of `models`; got 'c'"):
        audit.run(tmp_path / "audit.yaml", champion="c")
    with pytest.raises(audit.AuditError, match=r"`models.b.margin` is the challenger's"):
        audit.run(tmp_path / "audit.yaml", champion="b")
    code = main(["run", str(tmp_path / "audit.yaml"), "--champion", "a", "--out", str(tmp_path / "out"),
                 "--format", "json", "--quiet", "--no-history"])
    doc = json.loads((tmp_path / "out" / "cc" / "findings.json").read_text(encoding="utf-8"))
    assert doc["champion_challenger"]["champion"]["name"] == "a" and code in (0, 1)
    assert (tmp_path / "out" / "cc" / "challengers" / "b" / "findings.json").is_file()
    assert main(["run", str(tmp_path / "audit.yaml"), "--out", str(tmp_path / "out2"), "--quiet"]) == 2


def test_models_with_model_or_three_models_are_refused():
    base = {"name": "x", "data": {"test": "t.csv", "target": "y", "sensitive": ["s"]}}
    spec = {"train": {"estimator": "sklearn.tree.DecisionTreeClassifier"}}
    with pytest.raises(audit.AuditError, match=r"drop `model` and `challenger`"):
        audit.config_from_dict({**base, "model": spec, "models": {"a": spec, "b": spec}})
    with pytest.raises(audit.AuditError, match=r"must hold two models.*got 3: a, b, c"):
        audit.config_from_dict({**base, "models": {"a": spec, "b": spec, "c": spec}})
