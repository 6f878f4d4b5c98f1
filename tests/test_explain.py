"""Explainability: SHAP in the original column space, additivity, explainer choice."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from audit import config_from_dict
from audit._data import load_dataset
from audit._explain import _shap_values, _split, explain, fold_columns
from audit._groups import build_groups
from audit._model import _categoricals_as_text, train_model
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
                     replicates=20, level=0.95)
        assert ex.method == expected
        assert {i.feature for i in ex.importances} == {"education-num", "hours-per-week", "relationship"}
        assert max(i.value for i in ex.importances) > 0
