"""The task adapters: a multiclass or regression audit read in batches, or on a dask cluster, equals the
in-memory audit exactly; the parts of any cut of the rows sum to the part of the whole."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import audit
from audit import config_from_dict
from audit.inputs._model import Predictions
from audit.statistics._tasks import LabelSettings, _block_weights, adapter
from conftest import ADULT, ROOT


def _comparable(doc: dict) -> str:
    doc = json.loads(json.dumps(doc))
    # The dask engine gathers no row-level outputs (predictions.parquet), and says so in a step note.
    for key in ("created", "duration_seconds", "config", "engine", "predictions"):
        doc["audit"].pop(key, None)
    doc["steps"] = [s for s in doc.get("steps", []) if s["step"] != "predictions"]
    doc["data"].pop("batch_rows")
    doc["explainability"].pop("seconds", None)
    doc.get("slices", {}).pop("seconds", None)
    for p in doc.get("mitigation", {}).get("points", []):
        p.pop("seconds", None)
    return json.dumps(doc, sort_keys=True)


def _assert_close(a, b, path: str = "") -> None:
    """Equal documents, numbers to 1e-9 relative: a regression's float sums are added in another order when
    the rows come in batches (counts, the binary and multiclass tables, are integers and equal exactly)."""
    assert type(a) is type(b), path
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _assert_close(a[k], b[k], f"{path}/{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_close(x, y, f"{path}[{i}]")
    elif isinstance(a, float):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-9), path
    else:
        assert a == b, path


@pytest.fixture(scope="module")
def regression(tmp_path_factory):
    """Hours worked per week on UCI Adult, a real numeric target, by sex and race (5,000 audited rows)."""
    folder = tmp_path_factory.mktemp("regression_batches")
    columns = ["age", "education-num", "capital-gain", "occupation", "sex", "race", "hours-per-week"]
    pd.read_csv(ADULT / "data/adult_train.csv.gz", usecols=columns).head(3000).to_csv(folder / "train.csv", index=False)
    test = pd.read_csv(ADULT / "data/adult_test.csv.gz", usecols=columns).head(5000)
    test.to_parquet(folder / "test.parquet", index=False, row_group_size=700)
    test.iloc[::3].to_csv(folder / "reference.csv", index=False)
    raw = {"name": "regression-batches", "task": "regression",
           "data": {"train": "train.csv", "test": "test.parquet", "reference": "reference.csv",
                    "target": "hours-per-week", "sensitive": ["sex", "race"], "min_group_size": 30},
           "model": {"train": {"estimator": "sklearn.linear_model.Ridge"}}, "bootstrap": {"replicates": 40},
           "checks": {"slices": {"enabled": True, "min_size": 100, "max_order": 2},
                      "explainability": {"sample": 100}},
           "mitigation": {"enabled": True, "attribute": "sex", "loss_bounds": [150.0], "max_iter": 10}}
    return folder, raw, audit.run(config_from_dict(raw, base_dir=str(folder)))


@pytest.fixture(scope="module")
def multiclass(tmp_path_factory):
    """The readmission example's three classes (NO, >30, <30) by race and gender (5,000 audited rows)."""
    folder = tmp_path_factory.mktemp("multiclass_batches")
    data = ROOT / "examples" / "readmission" / "data"
    pd.read_csv(data / "train.csv.gz").head(3000).to_csv(folder / "train.csv", index=False)
    test = pd.read_csv(data / "test.csv.gz").head(5000)
    test.to_parquet(folder / "test.parquet", index=False, row_group_size=700)
    pd.read_csv(data / "reference.csv.gz").head(1500).to_csv(folder / "reference.csv", index=False)
    raw = {"name": "multiclass-batches", "task": "multiclass",
           "data": {"train": "train.csv", "test": "test.parquet", "reference": "reference.csv",
                    "target": "readmitted", "sensitive": ["race", "gender"], "min_group_size": 30},
           "model": {"train": {"estimator": "sklearn.linear_model.LogisticRegression", "params": {"max_iter": 500}}},
           "bootstrap": {"replicates": 40},
           "checks": {"slices": {"enabled": True, "min_size": 100, "max_order": 2}, "explainability": {"sample": 100}}}
    return folder, raw, audit.run(config_from_dict(raw, base_dir=str(folder)))


@pytest.mark.slow
@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch_rows=st.integers(1000, 5500))
def test_a_regression_audit_in_batches_equals_the_in_memory_audit(regression, batch_rows):
    folder, raw, whole = regression
    batched = audit.run(config_from_dict({**raw, "data": {**raw["data"], "batch_rows": batch_rows}},
                                         base_dir=str(folder)))
    assert batched.document["data"]["batch_rows"] == batch_rows
    _assert_close(json.loads(_comparable(batched.document)), json.loads(_comparable(whole.document)))


@pytest.mark.slow
@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch_rows=st.integers(1000, 5500))
def test_a_multiclass_audit_in_batches_equals_the_in_memory_audit(multiclass, batch_rows):
    folder, raw, whole = multiclass
    batched = audit.run(config_from_dict({**raw, "data": {**raw["data"], "batch_rows": batch_rows}},
                                         base_dir=str(folder)))
    assert _comparable(batched.document) == _comparable(whole.document)


@pytest.mark.slow
def test_every_step_ran_for_both_tasks(regression, multiclass):
    for _, _, result in (regression, multiclass):
        doc = result.document
        assert doc["explainability"]["status"] == "done" and doc["drift"] is not None and doc["slices"]["slices"]
        assert any(f["check"] == "group_gaps" for f in doc["findings"])
        assert [s["step"] for s in doc.get("steps", [])] == ["regulatory"]  # LL144 is a binary decision's
    assert regression[2].document["mitigation"]["points"]
    assert regression[2].document["slices"]["metric"] == "absolute_error"


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=40) as local:
        yield local.scheduler_address


@pytest.mark.slow
@pytest.mark.parametrize("task", ["regression", "multiclass"])
def test_a_task_audit_on_a_dask_cluster_equals_the_in_memory_audit(task, regression, multiclass, cluster):
    folder, raw, whole = {"regression": regression, "multiclass": multiclass}[task]
    cfg = config_from_dict({**raw, "dask": {"partition_rows": 1400}}, base_dir=str(folder))
    on_cluster = audit.run(cfg, engine="dask", scheduler=cluster)
    assert on_cluster.document["audit"]["engine"]["name"] == "dask"
    _assert_close(json.loads(_comparable(on_cluster.document)), json.loads(_comparable(whole.document)))


LABELS = LabelSettings(target="y", source="t", positive_label=None, negative_label=None, seed=3, replicates=7)


@settings(max_examples=25, deadline=None)
@given(cuts=st.lists(st.integers(1, 199), max_size=4, unique=True), data=st.data())
def test_the_parts_of_any_cut_sum_to_the_part_of_the_whole(cuts, data):
    # Regression sums and their replicates, and multiclass confusion counts, cut anywhere and merged back.
    rng = np.random.default_rng(data.draw(st.integers(0, 1000)))
    n, n_leaves = 200, 3
    leaf = rng.integers(0, n_leaves, n)
    y = rng.normal(size=n)
    pred = y + rng.normal(size=n)
    classes_y = rng.choice(np.array(["a", "b", "c"], dtype=object), n)
    classes_p = rng.choice(np.array(["a", "b", "d"], dtype=object), n)
    bounds = [0, *sorted(cuts), n]
    for name, truth, predicted in (("regression", y, pred), ("multiclass", classes_y, classes_p)):
        task = adapter(name)

        def part(lo: int, hi: int):
            p = Predictions(score=np.zeros(hi - lo), label=predicted[lo:hi], probabilistic=False)
            return task.tally(leaf=leaf[lo:hi], y=truth[lo:hi], predictions=p, n_leaves=n_leaves, start=lo,
                              settings=LABELS)

        whole = task.table(part(0, n))
        merged = task.table(task.merge([part(lo, hi) for lo, hi in zip(bounds, bounds[1:])]))
        a, b = whole[0], merged[0]
        for field in ("sums", "reps", "counts"):
            if hasattr(a, field):
                np.testing.assert_allclose(getattr(b, field), getattr(a, field), rtol=1e-12, atol=1e-9)
        assert whole[1].classes == merged[1].classes


def test_block_weights_of_a_row_do_not_depend_on_the_cut():
    whole = _block_weights(seed=5, start=0, n=3000, replicates=4)
    np.testing.assert_array_equal(_block_weights(seed=5, start=1000, n=1500, replicates=4), whole[:, 1000:2500])
    assert whole.mean() == pytest.approx(1.0, abs=0.02)  # Poisson(1)


def test_class_order_puts_the_targets_classes_first_numerically():
    task = adapter("multiclass")
    p = Predictions(score=np.zeros(4), label=np.array(["10", "2", "x", "2"], dtype=object), probabilistic=False)
    part = task.tally(leaf=np.zeros(4, dtype=int), y=np.array(["10", "2", "1", "2"], dtype=object), predictions=p,
                      n_leaves=1, start=0, settings=LABELS)
    _, registry = task.table(part)
    assert registry.classes == ("1", "2", "10", "x")


def test_labels_of_a_regression_target_must_be_numbers():
    with pytest.raises(audit.AuditError, match="must hold numbers for a regression audit; 1 values are not"):
        adapter("regression").labels(pd.Series([1.0, "a", 2.0]), LABELS)
