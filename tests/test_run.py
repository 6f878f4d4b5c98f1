"""The Python API end to end on real data: groups, findings, gate, reproducibility."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import audit
from audit.checks._finding import Finding, gate
from audit.checks._finding import guarded
from conftest import ADULT


def _small_adult(tmp_path, n=4000, **data_overrides):
    frame = pd.read_csv(ADULT / "data/adult_test.csv.gz").head(n)
    path = tmp_path / "adult.csv"
    frame.to_csv(path, index=False)
    pd.read_csv(ADULT / "data/adult_train.csv.gz").head(n).to_csv(tmp_path / "train.csv", index=False)
    raw = {
        "name": "small",
        "data": {"test": "adult.csv", "train": "train.csv", "target": "income", "positive_label": ">50K", "sensitive": ["sex", "race"],
                 "intersections": 2, "min_group_size": 30, **data_overrides},
        "model": {"train": {"estimator": "sklearn.ensemble.HistGradientBoostingClassifier",
                            "params": {"max_iter": 50}}},
        "bootstrap": {"replicates": 30},
        "checks": {"explainability": {"method": "none"}},
    }
    return frame, path, raw


@pytest.mark.slow
def test_missing_sensitive_values_form_their_own_group(tmp_path):
    frame, path, raw = _small_adult(tmp_path)
    frame.loc[frame.index[:50], "sex"] = np.nan
    frame.to_csv(path, index=False)
    result = audit.run(audit.config_from_dict(raw, base_dir=str(tmp_path)))
    groups = result.document["data"]["groups"]
    assert groups["sex"]["missing"] == 50
    assert sum(groups["sex"].values()) == result.document["data"]["rows"]  # no row dropped
    assert "missing" in result.document["metrics"]["by_group"]["sex"]


@pytest.mark.slow
def test_small_groups_are_insufficient_data_never_pass_or_fail(tmp_path):
    _, _, raw = _small_adult(tmp_path)
    raw["checks"]["performance"] = {"group_min": {"accuracy": 0.5}}
    result = audit.run(audit.config_from_dict(raw, base_dir=str(tmp_path)))
    by_group = [f for f in result.findings if f["check"] == "performance_by_group" and f["attribute"] == "race"]
    sizes = result.document["data"]["groups"]["race"]
    for f in by_group:
        if sizes[f["group"]] < 30:
            assert f["status"] == "insufficient_data"
            assert "fewer than min_group_size 30" in f["message"]
        else:
            assert f["status"] in ("pass", "fail", "warn")
    assert any(sizes[g] < 30 for g in sizes)  # the slice has small race groups
    rep = next(f for f in result.findings if f["check"] == "representation" and f["attribute"] == "race")
    assert rep["status"] == "warn" and "under min_group_size 30" in rep["message"]


@pytest.mark.slow
def test_same_seed_same_numbers(tmp_path):
    _, _, raw = _small_adult(tmp_path)
    cfg = audit.config_from_dict(raw, base_dir=str(tmp_path))
    a, b = audit.run(cfg), audit.run(cfg)
    c = audit.run(cfg, seed=7)
    assert a.document["metrics"] == b.document["metrics"]
    assert a.document["fairness"] == b.document["fairness"]
    assert a.document["metrics"]["overall"]["accuracy"]["value"] == c.document["metrics"]["overall"]["accuracy"]["value"]
    assert a.document["audit"]["model_sha256"] == b.document["audit"]["model_sha256"]
    assert a.document["audit"]["seed"] == 0 and c.document["audit"]["seed"] == 7


def test_manifest_holds_hashes_versions_and_config(tmp_path):
    _, path, raw = _small_adult(tmp_path)
    import hashlib

    result = audit.run(audit.config_from_dict(raw, base_dir=str(tmp_path)))
    manifest = result.document["audit"]
    assert manifest["data"]["test"]["sha256"] == [hashlib.sha256(path.read_bytes()).hexdigest()]
    assert manifest["model_sha256"] == hashlib.sha256(result.model_bytes).hexdigest()
    for package in ("python", "rai-audit", "numpy", "pandas", "scikit-learn", "fairlearn", "shap"):
        assert manifest["versions"][package]
    assert manifest["config"]["data"]["sensitive"] == ["sex", "race"]


def test_a_crashing_check_becomes_an_error_finding():
    def broken() -> list[Finding]:
        raise ZeroDivisionError("division by zero")

    findings = guarded("fairness", "fairness", "block", broken)
    assert [f.status for f in findings] == ["error"]
    assert "ZeroDivisionError" in findings[0].message
    assert gate(findings) == "fail"
    assert gate([Finding(check="x", category="bias", status="error", severity="warn", message="m")]) == "pass"


@pytest.mark.slow
def test_proxy_check_names_relationship_for_sex(tmp_path):
    _, _, raw = _small_adult(tmp_path, n=16281)
    result = audit.run(audit.config_from_dict(raw, base_dir=str(tmp_path)))
    proxies = result.document["bias"]["proxies"]
    assert (proxies[0]["feature"], proxies[0]["attribute"]) == ("relationship", "sex")
    assert proxies[0]["cramers_v"] > 0.6
    base = result.document["bias"]["base_rates"]["sex"]
    assert base["Male"]["value"] == pytest.approx(0.3, abs=0.02)
    assert base["Female"]["value"] == pytest.approx(0.11, abs=0.02)
