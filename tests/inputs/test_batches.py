"""Reading the evaluation data in batches gives exactly the in-memory audit, whatever the batch size."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import skops.io as sio
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import audit
from conftest import ADULT

ROWS = 6000


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    folder = tmp_path_factory.mktemp("batches")
    pd.read_csv(ADULT / "data/adult_test.csv.gz").head(ROWS).to_parquet(folder / "test.parquet", index=False)
    pd.read_csv(ADULT / "data/adult_train.csv.gz").head(4000).to_csv(folder / "train.csv", index=False)
    raw = {
        "name": "batches",
        "data": {"test": "test.parquet", "train": "train.csv", "target": "income", "positive_label": ">50K",
                 "sensitive": ["sex", "race", "age"], "bins": {"age": [0, 25, 45, 65, 120]}, "intersections": 3},
        "model": {"train": {"estimator": "sklearn.ensemble.HistGradientBoostingClassifier", "params": {"max_iter": 30}}},
        "bootstrap": {"replicates": 40},
        "checks": {"explainability": {"sample": 300}, "fairness": {"max": {"equalized_odds_difference": 0.1}}},
    }
    trained = audit.run(audit.config_from_dict(raw, base_dir=str(folder)))
    (folder / "model.skops").write_bytes(trained.model_bytes)
    raw["model"] = {"load": "model.skops", "trusted_types": sio.get_untrusted_types(data=trained.model_bytes)}
    whole = audit.run(audit.config_from_dict(raw, base_dir=str(folder)))
    return folder, raw, whole.document


def _comparable(doc: dict) -> str:
    doc = json.loads(json.dumps(doc))
    for key in ("created", "duration_seconds", "config"):
        doc["audit"].pop(key)
    doc["data"].pop("batch_rows")
    doc["explainability"].pop("seconds", None)
    return json.dumps(doc, sort_keys=True)


@pytest.mark.slow
@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch_rows=st.integers(1000, ROWS + 500))
@example(batch_rows=1000)
@example(batch_rows=ROWS)
def test_batched_audit_equals_in_memory_audit_exactly(setup, batch_rows):
    folder, raw, whole = setup
    batched_raw = json.loads(json.dumps(raw))
    batched_raw["data"]["batch_rows"] = batch_rows
    batched = audit.run(audit.config_from_dict(batched_raw, base_dir=str(folder)))
    assert batched.document["data"]["batch_rows"] == batch_rows
    assert _comparable(batched.document) == _comparable(whole)


@pytest.mark.slow
def test_batches_need_a_training_file_to_train(tmp_path, setup):
    folder, raw, _ = setup
    bad = json.loads(json.dumps(raw))
    bad["data"].pop("train")
    bad["data"]["batch_rows"] = 2000
    bad["model"] = {"train": {"estimator": "sklearn.linear_model.LogisticRegression"}}
    with pytest.raises(audit.AuditError, match="`data.train` is required to train a model when `data.batch_rows`"):
        audit.run(audit.config_from_dict(bad, base_dir=str(folder)))
