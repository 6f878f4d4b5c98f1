"""The task adapters: a multiclass or regression audit read in batches, or on a dask cluster, equals the
in-memory audit exactly; the parts of any cut of the rows sum to the part of the whole."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_diabetes, load_digits

import audit
from audit import config_from_dict
from audit.inputs._model import Predictions
from audit.statistics._tasks import LabelSettings, _block_weights, adapter


def _comparable(doc: dict) -> str:
    doc = json.loads(json.dumps(doc))
    for key in ("created", "duration_seconds", "config", "engine"):
        doc["audit"].pop(key, None)
    doc["data"].pop("batch_rows")
    doc["explainability"].pop("seconds", None)
    doc.get("slices", {}).pop("seconds", None)
    for p in doc.get("mitigation", {}).get("points", []):
        p.pop("seconds", None)
    return json.dumps(doc, sort_keys=True)


@pytest.fixture(scope="module")
def regression(tmp_path_factory):
    """scikit-learn's diabetes data as training and test files (a batch audit cannot split its test data)."""
    folder = tmp_path_factory.mktemp("regression_batches")
    frame = load_diabetes(as_frame=True, scaled=False).frame
    frame["sex"] = frame["sex"].map({1.0: "1", 2.0: "2"})
    frame.iloc[::2].to_csv(folder / "train.csv", index=False)
    frame.iloc[1::2].to_csv(folder / "test.csv", index=False)
    frame.iloc[::4].to_csv(folder / "reference.csv", index=False)
    raw = {"name": "regression-batches", "task": "regression",
           "data": {"train": "train.csv", "test": "test.csv", "reference": "reference.csv", "target": "target",
                    "sensitive": ["sex", "age"], "bins": {"age": [0, 45, 60, 100]}, "min_group_size": 20},
           "model": {"train": {"estimator": "sklearn.linear_model.Ridge"}}, "bootstrap": {"replicates": 50},
           "checks": {"slices": {"enabled": True, "min_size": 30}, "explainability": {"sample": 100}},
           "mitigation": {"enabled": True, "attribute": "sex", "loss_bounds": [3500.0]}}
    return folder, raw, audit.run(config_from_dict(raw, base_dir=str(folder)))


@pytest.fixture(scope="module")
def multiclass(tmp_path_factory):
    """scikit-learn's digits (10 classes) with a group from the image (heavy or light ink)."""
    folder = tmp_path_factory.mktemp("multiclass_batches")
    data = load_digits(as_frame=True)
    frame = data.frame.rename(columns={"target": "digit"})
    ink = data.data.to_numpy().sum(axis=1)
    frame["ink"] = np.where(ink > np.median(ink), "heavy", "light")
    frame["half"] = np.where(np.arange(len(frame)) % 2 == 0, "even", "odd")
    frame = frame[[c for c in frame.columns if c.startswith("pixel_")][::4] + ["ink", "half", "digit"]]
    frame.iloc[:900].to_csv(folder / "train.csv", index=False)
    frame.iloc[900:].to_csv(folder / "test.csv", index=False)
    raw = {"name": "multiclass-batches", "task": "multiclass",
           "data": {"train": "train.csv", "test": "test.csv", "reference": "train.csv", "target": "digit",
                    "sensitive": ["ink", "half"]},
           "model": {"train": {"estimator": "sklearn.linear_model.LogisticRegression", "params": {"max_iter": 300}}},
           "bootstrap": {"replicates": 50},
           "checks": {"slices": {"enabled": True, "min_size": 50}, "explainability": {"sample": 100}}}
    return folder, raw, audit.run(config_from_dict(raw, base_dir=str(folder)))


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch_rows=st.integers(40, 300))
def test_a_regression_audit_in_batches_equals_the_in_memory_audit(regression, batch_rows):
    folder, raw, whole = regression
    batched = audit.run(config_from_dict({**raw, "data": {**raw["data"], "batch_rows": batch_rows}},
                                         base_dir=str(folder)))
    assert batched.document["data"]["batch_rows"] == batch_rows
    assert _comparable(batched.document) == _comparable(whole.document)


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch_rows=st.integers(50, 900))
def test_a_multiclass_audit_in_batches_equals_the_in_memory_audit(multiclass, batch_rows):
    folder, raw, whole = multiclass
    batched = audit.run(config_from_dict({**raw, "data": {**raw["data"], "batch_rows": batch_rows}},
                                         base_dir=str(folder)))
    assert _comparable(batched.document) == _comparable(whole.document)


def test_every_step_ran_for_both_tasks(regression, multiclass):
    for _, _, result in (regression, multiclass):
        doc = result.document
        assert doc["explainability"]["status"] == "done" and doc["drift"] is not None and doc["slices"]["slices"]
        assert any(f["check"] == "group_gaps" for f in doc["findings"])
        assert [s["step"] for s in doc.get("steps", [])] == ["regulatory"]  # LL144 is a binary decision's
    assert regression[2].document["mitigation"]["points"]
    assert regression[2].document["slices"]["metric"] == "absolute_error"


@pytest.mark.slow
@pytest.mark.parametrize("task", ["regression", "multiclass"])
def test_a_task_audit_on_a_dask_cluster_equals_the_in_memory_audit(task, regression, multiclass):
    pytest.importorskip("distributed")
    folder, raw, whole = {"regression": regression, "multiclass": multiclass}[task]
    cfg = config_from_dict({**raw, "dask": {"partition_rows": 100}}, base_dir=str(folder))
    on_cluster = audit.run(cfg, engine="dask")
    assert on_cluster.document["audit"]["engine"]["name"] == "dask"
    assert _comparable(on_cluster.document) == _comparable(whole.document)


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
