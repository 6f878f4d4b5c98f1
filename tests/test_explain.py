"""Explainability: SHAP in the original column space, additivity, explainer choice."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from audit import config_from_dict
from audit.inputs._data import load_dataset
from audit.measures._explain import _shap_values, _split, explain, flip_test, fold_columns, stratified_rows
from audit.inputs._groups import build_groups
from audit.inputs._model import _categoricals_as_text, train_model
from conftest import adult_config


@pytest.fixture(scope="module")
def adult_model():
    cfg = config_from_dict(adult_config(), source="audit.yaml")
    dataset = load_dataset(cfg)
    return cfg, dataset, train_model(cfg, dataset)


def test_fold_columns_maps_onehot_back_to_source():
    names = ["age", "education-num", "sex_Female", "sex_Male", "education_HS-grad"]
    features = ("age", "education", "education-num", "sex")
    assert fold_columns(names, features).tolist() == [0, 2, 3, 3, 1]
    with pytest.raises(ValueError, match="no source feature"):
        fold_columns(["mystery"], features)


@pytest.mark.slow
def test_tree_shap_folded_values_add_up_to_the_raw_output(adult_model):
    _, dataset, model = adult_model
    X = _categoricals_as_text(dataset.test.frame.head(500), model.features)
    pre, final = _split(model)
    Xt = np.asarray(pre.transform(X), dtype=float)
    values = _shap_values(final, Xt, "tree", 1, seed=0)
    source = fold_columns(list(pre.get_feature_names_out()), model.features)
    folded = np.zeros((len(Xt), len(model.features)))
    np.add.at(folded.T, source, values.T)
    import shap

    base = shap.TreeExplainer(final).expected_value
    raw = model.estimator.decision_function(X)
    np.testing.assert_allclose(folded.sum(axis=1) + np.ravel(base)[0], raw, rtol=0, atol=1e-6)
    assert folded.shape[1] == len(model.features)


@pytest.mark.slow
def test_explain_reports_importances_per_original_column(adult_model):
    cfg, dataset, model = adult_model
    frame = dataset.test.frame
    groups = build_groups(frame, sensitive=["sex", "race"], bins={}, intersections=1, source="t")
    ex = explain(model, frame, dataset.y_test, groups, method="auto", sample=800, seed=0, replicates=50,
                 level=0.95)
    assert ex.method == "tree" and ex.sample_size == 800
    assert {i.feature for i in ex.importances} == set(model.features)
    values = [i.value for i in ex.importances]
    assert values == sorted(values, reverse=True)
    top = ex.importances[0]
    assert top.ci_low <= top.value <= top.ci_high
    # Known about Adult: relationship/marital status and capital gain lead; fnlwgt is weak.
    top3 = {i.feature for i in ex.importances[:3]}
    assert top3 & {"relationship", "marital-status", "capital-gain"}
    assert set(ex.by_group["sex"]) == {"Female", "Male"}
    assert set(ex.by_group["sex"]["Female"]) == set(model.features)


@pytest.mark.slow
def test_linear_and_model_agnostic_explainers(tmp_path):
    frame = pd.read_csv(adult_config()["data"]["test"]).head(3000)
    frame.to_csv(tmp_path / "t.csv", index=False)
    for estimator, expected in [("sklearn.linear_model.LogisticRegression", "linear"),
                                ("sklearn.neighbors.KNeighborsClassifier", "permutation")]:
        raw = {"name": "x", "data": {"test": "t.csv", "target": "income", "positive_label": ">50K",
                                     "sensitive": ["sex"], "features": ["education-num", "hours-per-week",
                                                                         "relationship"]},
               "model": {"train": {"estimator": estimator}}}
        cfg = config_from_dict(raw, base_dir=str(tmp_path))
        dataset = load_dataset(cfg)
        model = train_model(cfg, dataset)
        groups = build_groups(dataset.test.frame, sensitive=["sex"], bins={}, intersections=1, source="t")
        ex = explain(model, dataset.test.frame, dataset.y_test, groups, method="auto", sample=300, seed=0,
                     replicates=20, level=0.95, max_seconds=2.0, flip_test_rows=200)
        assert ex.method == expected
        assert {i.feature for i in ex.importances} == {"education-num", "hours-per-week", "relationship"}
        assert max(i.value for i in ex.importances) > 0


def _train_on(tmp_path, features, estimator="sklearn.ensemble.HistGradientBoostingClassifier", params=None, rows=4000):
    frame = pd.read_csv(adult_config()["data"]["test"]).head(rows)
    frame.to_csv(tmp_path / "t.csv", index=False)
    pd.read_csv(adult_config()["data"]["train"]).head(rows).to_csv(tmp_path / "train.csv", index=False)
    raw = {"name": "x", "data": {"test": "t.csv", "train": "train.csv", "target": "income", "positive_label": ">50K",
                                 "sensitive": ["sex", "race"], "features": features},
           "model": {"train": {"estimator": estimator, "params": {"max_iter": 60} if params is None else params}}}
    cfg = config_from_dict(raw, base_dir=str(tmp_path))
    dataset = load_dataset(cfg)
    model = train_model(cfg, dataset)
    groups = build_groups(dataset.test.frame, sensitive=["sex", "race"], bins={}, intersections=2, source="t")
    return dataset, model, groups


FEATURES = ["age", "education-num", "hours-per-week", "marital-status", "occupation", "capital-gain"]


def test_flip_test_is_nonzero_when_the_model_reads_the_attribute(tmp_path):
    dataset, model, groups = _train_on(tmp_path, FEATURES + ["sex"])
    flips = {f.attribute: f for f in flip_test(model, dataset.test.frame, groups.labels, attributes=("sex", "race"),
                                               bins={}, max_rows=1000, seed=0)}
    assert flips["sex"].used_by_model and flips["sex"].overall_flip_rate > 0
    assert flips["sex"].overall_mean_shift > 0 and set(flips["sex"].flip_rate) == {"Female", "Male"}
    assert flips["race"].overall_flip_rate == 0.0 and not flips["race"].used_by_model


def test_flip_test_is_exactly_zero_without_the_attribute(tmp_path):
    dataset, model, groups = _train_on(tmp_path, FEATURES)
    flips = flip_test(model, dataset.test.frame, groups.labels, attributes=("sex", "race"), bins={}, max_rows=1000,
                      seed=0)
    assert all(f.overall_flip_rate == 0.0 and f.overall_mean_shift == 0.0 for f in flips)


@pytest.mark.slow
def test_stratified_sample_represents_every_group_combination(adult_model):
    _, dataset, _ = adult_model
    groups = build_groups(dataset.test.frame, sensitive=["sex", "race"], bins={}, intersections=2, source="t")
    rows = stratified_rows(groups.row_leaf, 500, seed=0)
    assert len(rows) == 500 and len(np.unique(rows)) == 500
    counts = np.bincount(groups.row_leaf[rows], minlength=len(groups.leaf_levels))
    full = np.bincount(groups.row_leaf, minlength=len(groups.leaf_levels))
    assert (counts >= np.minimum(full, 500 // (2 * len(full)))).all()  # small intersections are not left out
    np.testing.assert_array_equal(rows, stratified_rows(groups.row_leaf, 500, seed=0))


def test_a_black_box_model_is_explained_within_its_budget(tmp_path):
    # An RBF support vector machine: no tree, no coefficients, scores from decision_function only.
    # How long it takes against its budget is measured by benchmarks/explain_budget.py, not here.
    dataset, model, groups = _train_on(tmp_path, FEATURES, estimator="sklearn.svm.SVC", params={}, rows=1500)
    ex = explain(model, dataset.test.frame, dataset.y_test, groups, method="auto", sample=400, seed=0,
                 replicates=20, level=0.95, max_seconds=4.0, flip_test_rows=0)
    assert ex.method == "permutation" and 0 < ex.sample_size <= ex.requested_rows <= 400
    # Rows left unexplained are the budget's doing, and the note says so.
    assert ("s budget stopped it after" in ex.note) == (ex.sample_size < ex.requested_rows)
    # A spent budget stops the explainer after its first chunk of rows, whatever the machine's speed.
    spent = explain(model, dataset.test.frame, dataset.y_test, groups, method="auto", sample=400, seed=0,
                    replicates=20, level=0.95, max_seconds=1e-9, flip_test_rows=0)
    assert 0 < spent.sample_size <= 25 < spent.requested_rows
    assert f"the 1e-09 s budget stopped it after {spent.sample_size} of {spent.requested_rows}" in spent.note
    assert {i.feature for i in ex.importances} == set(FEATURES)
    assert max(i.value for i in ex.importances) > 0
    assert "PermutationExplainer" in ex.note


@pytest.mark.slow
def test_importance_gaps_come_with_paired_intervals(adult_model):
    _, dataset, model = adult_model
    groups = build_groups(dataset.test.frame, sensitive=["sex"], bins={}, intersections=1, source="t")
    ex = explain(model, dataset.test.frame, dataset.y_test, groups, method="auto", sample=1500, seed=0,
                 replicates=100, level=0.95, flip_test_rows=0)
    gaps = {g.feature: g for g in ex.gaps}
    assert set(gaps) == set(model.features)
    rel = gaps["relationship"]
    expected = abs(ex.by_group["sex"]["Male"]["relationship"] - ex.by_group["sex"]["Female"]["relationship"])
    assert rel.difference == pytest.approx(expected, rel=1e-9)
    assert rel.ci_low <= rel.difference <= rel.ci_high
    assert 0 < rel.ratio <= 1


def test_lightgbm_inside_the_pipeline_gets_tree_shap_that_adds_up(tmp_path):
    dataset, model, groups = _train_on(tmp_path, FEATURES, estimator="lightgbm.LGBMClassifier",
                                       params={"n_estimators": 60, "verbose": -1})
    ex = explain(model, dataset.test.frame, dataset.y_test, groups, method="auto", sample=500, seed=0,
                 replicates=20, level=0.95, flip_test_rows=0)
    assert ex.method == "tree" and {i.feature for i in ex.importances} == set(FEATURES)
    pre, final = _split(model)
    X = _categoricals_as_text(dataset.test.frame.head(300), model.features)
    Xt = np.asarray(pre.transform(X), dtype=float)
    values = _shap_values(final, Xt, "tree", 1, seed=0)
    import shap

    base = np.ravel(shap.TreeExplainer(final).expected_value)[-1]
    np.testing.assert_allclose(values.sum(axis=1) + base, final.predict(Xt, raw_score=True), rtol=0, atol=1e-6)
