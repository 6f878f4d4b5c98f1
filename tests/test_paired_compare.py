"""`audit compare` pairs the rows of two audits through their predictions.parquet: the paired changes against
scikit-learn on the masked rows and McNemar by hand, the independent fallback with its reason, tampering."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest
from sklearn import metrics as skm

import audit
from helpers import scored_by_two_classifiers
from audit.cli import main
from audit.inputs._predictions import pair_documents

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def audits(tmp_path_factory) -> Path:
    """Two predictions-only audits of 6,000 Adult test rows scored by two real classifiers, written."""
    folder = tmp_path_factory.mktemp("paired")
    rows = scored_by_two_classifiers(folder)
    rows.iloc[:5000].to_csv(folder / "fewer.csv", index=False)
    for name, model, data in [("old", "a", "scored.csv"), ("new", "b", "scored.csv"), ("other", "b", "fewer.csv")]:
        cfg = {"name": name, "data": {"test": data, "target": "income", "positive_label": 1,
                                      "sensitive": ["sex", "race"], "intersections": 2},
               "model": {"predictions": {"predictions": f"{model}_label", "scores": f"{model}_score"}},
               "bootstrap": {"replicates": 100},
               "checks": {"explainability": {"method": "none"}, "bias": {"proxies": False, "distributions": False}}}
        result = audit.run(audit.config_from_dict(cfg, source="t", base_dir=str(folder)))
        result.write(folder / "out", formats=("json",), history=False)
    return folder


def _compare(folder: Path, old: str, new: str, tmp: Path) -> dict:
    code = main(["compare", str(folder / "out" / old / "findings.json"), str(folder / "out" / new / "findings.json"),
                 "--out", str(tmp), "--format", "json", "--quiet"])
    assert code in (0, 1)
    return json.loads((tmp / "comparison.json").read_text(encoding="utf-8"))


def test_predictions_parquet_is_hashed_in_the_manifest(audits):
    doc = json.loads((audits / "out" / "old" / "findings.json").read_text(encoding="utf-8"))
    meta = doc["audit"]["predictions"]
    frame = pd.read_parquet(audits / "out" / "old" / meta["file"])
    rows = pd.read_csv(audits / "scored.csv")
    assert meta["rows"] == len(frame) == len(rows) and meta["key"] is None
    assert list(frame.columns) == meta["columns"] == ["row", "target", "prediction", "score", "group:sex",
                                                      "group:race"]
    np.testing.assert_array_equal(frame["prediction"], rows["a_label"])
    np.testing.assert_allclose(frame["score"], rows["a_score"], rtol=0, atol=0)
    assert (frame["group:sex"].astype(str) == rows["sex"]).all()


def test_paired_changes_equal_sklearn_on_the_masked_rows_and_mcnemar_by_hand(audits, tmp_path):
    comparison = _compare(audits, "old", "new", tmp_path)
    method = comparison["method"]
    assert method["paired"] is True and method["pairing"].startswith("paired: the same 6,000 evaluation rows")
    rows = pd.read_csv(audits / "scored.csv")
    y, a, b = rows["income"].to_numpy(), rows["a_label"].to_numpy(), rows["b_label"].to_numpy()
    changes = {(c["metric"], c["attribute"], c["group"]): c for c in comparison["metrics"]}
    for attribute, group, mask in [(None, None, np.ones(len(rows), bool)),
                                   ("sex", "Female", (rows["sex"] == "Female").to_numpy()),
                                   ("race", "White", (rows["race"] == "White").to_numpy())]:
        acc = changes[("accuracy", attribute, group)]
        expected = skm.accuracy_score(y[mask], b[mask]) - skm.accuracy_score(y[mask], a[mask])
        assert acc["change"] == pytest.approx(expected, abs=1e-9)
        assert acc["test"] == "mcnemar"
        right_a, right_b = a[mask] == y[mask], b[mask] == y[mask]
        p = binomtest(int(min((right_a & ~right_b).sum(), (~right_a & right_b).sum())),
                      int((right_a != right_b).sum()), 0.5).pvalue
        assert acc["p_value"] == pytest.approx(p, rel=1e-9)
        assert acc["change_ci_low"] <= acc["change"] <= acc["change_ci_high"]
        rec = changes[("recall", attribute, group)]
        assert rec["change"] == pytest.approx(skm.recall_score(y[mask], b[mask]) - skm.recall_score(y[mask], a[mask]),
                                              abs=1e-9)
    auc = changes[("roc_auc", None, None)]
    assert auc["test"] == "delong"
    assert auc["change"] == pytest.approx(skm.roc_auc_score(y, rows["b_score"]) - skm.roc_auc_score(y, rows["a_score"]),
                                          abs=1e-9)
    gaps = {(c["metric"], c["attribute"]): c for c in comparison["fairness"]}
    assert gaps[("demographic_parity_difference", "sex")]["test"] == "paired bootstrap"


def test_different_data_falls_back_to_the_independent_test_and_says_why(audits, tmp_path):
    comparison = _compare(audits, "old", "other", tmp_path)
    method = comparison["method"]
    assert method["paired"] is False
    assert "not paired: the audits evaluated different data" in method["pairing"]
    assert "conservative" in method["assumption"]
    assert {c["test"] for c in comparison["metrics"]} == {"independent z-test"}


def test_a_changed_predictions_file_is_refused(audits, tmp_path):
    import shutil

    copy = tmp_path / "new"
    shutil.copytree(audits / "out" / "new", copy, symlinks=False)
    frame = pd.read_parquet(copy / "predictions.parquet")
    frame.loc[0, "prediction"] = 1 - frame.loc[0, "prediction"]
    (copy / "predictions.parquet").unlink()
    frame.to_parquet(copy / "predictions.parquet", index=False)
    old = json.loads((audits / "out" / "old" / "findings.json").read_text(encoding="utf-8"))
    new = json.loads((copy / "findings.json").read_text(encoding="utf-8"))
    with pytest.raises(audit.AuditError, match="changed after the audit"):
        pair_documents(old, new, old_path=audits / "out" / "old" / "findings.json", new_path=copy / "findings.json")
    code = main(["compare", str(audits / "out" / "old" / "findings.json"), str(copy / "findings.json"), "--quiet"])
    assert code == 2


def test_run_with_a_baseline_pairs_with_the_rows_in_memory(audits):
    cfg = {"name": "again", "data": {"test": "scored.csv", "target": "income", "positive_label": 1,
                                     "sensitive": ["sex", "race"], "intersections": 2},
           "model": {"predictions": {"predictions": "b_label", "scores": "b_score"}},
           "bootstrap": {"replicates": 100},
           "checks": {"explainability": {"method": "none"}, "bias": {"proxies": False, "distributions": False}}}
    doc = audit.run(audit.config_from_dict(cfg, source="t", base_dir=str(audits)),
                    baseline=audits / "out" / "old" / "findings.json").document
    method = doc["comparison"]["method"]
    assert method["paired"] is True and "6,000" in method["pairing"]
    acc = next(c for c in doc["comparison"]["metrics"] if c["metric"] == "accuracy" and c["attribute"] is None)
    assert acc["test"] == "mcnemar"
