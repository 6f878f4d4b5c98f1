"""Explainability: SHAP in the original column space, additivity, explainer choice."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from audit import config_from_dict
from audit.inputs._data import load_dataset
from audit.measures._explain import _shap_values, _split, explain, flip_test, fold_columns, stratified_rows
from audit.inputs._groups import build_groups
from audit.inputs._model import _categoricals_as_text, dense, train_model
from conftest import adult_config


@pytest.fixture(scope="module")
def adult_model():
    # Gradient boosting on one-hot columns: tree SHAP's values add up exactly there (HistGradientBoosting's
    # native category splits are explained by the permutation explainer instead).
    raw = adult_config()
    raw["model"] = {"train": {"estimator": "sklearn.ensemble.GradientBoostingClassifier",
                              "params": {"n_estimators": 40, "max_depth": 3}}}
    cfg = config_from_dict(raw, source="audit.yaml")
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
    Xt = dense(pre.transform(X))
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


@pytest.mark.slow
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
    Xt = dense(pre.transform(X))
    values = _shap_values(final, Xt, "tree", 1, seed=0)
    import shap

    base = np.ravel(shap.TreeExplainer(final).expected_value)[-1]
    np.testing.assert_allclose(values.sum(axis=1) + base, final.predict(Xt, raw_score=True), rtol=0, atol=1e-6)


# --- Regression and multiclass: the output each task explains -------------------------------------------------


def _wrap(estimator, features):
    from audit.inputs._model import fitted_from_object

    return fitted_from_object(estimator, dataset_features=tuple(features), positive_label=None, source="python",
                              name="the test's model", path=None, sha256=None)


@pytest.fixture(scope="module")
def diabetes():
    from sklearn.datasets import load_diabetes

    data = load_diabetes(as_frame=True, scaled=False)  # sex is coded 1 and 2
    return data.data, data.target.to_numpy(dtype=float)


def _regressors():
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.linear_model import Ridge

    return [(RandomForestRegressor(n_estimators=30, max_depth=6, random_state=0), "tree"), (Ridge(alpha=1.0), "linear")]


@pytest.mark.parametrize("index", [0, 1], ids=["random_forest", "ridge"])
def test_regression_shap_adds_up_to_the_prediction_and_importance_is_its_mean_abs(diabetes, index):
    import shap

    X, y = diabetes
    estimator, kind = _regressors()[index]
    estimator.fit(X, y)
    model = _wrap(estimator, X.columns)
    groups = build_groups(X, sensitive=["sex"], bins={}, intersections=1, source="t")
    ex = explain(model, X, y, groups, method="auto", sample=len(X), seed=0, replicates=0, level=0.95,
                 flip_test_rows=0, task="regression")
    assert ex.method == kind and ex.task == "regression" and ex.sample_size == len(X)
    assert ex.measure == "mean |SHAP| (units of the prediction)"
    # SHAP itself, on the raw prediction, with the background explain draws for the linear explainer.
    Xt = X.to_numpy(dtype=float)
    if kind == "tree":
        explainer = shap.TreeExplainer(estimator)
        values = explainer.shap_values(Xt, check_additivity=False)
    else:
        background = Xt[np.random.default_rng(0).choice(len(Xt), size=200, replace=False)]
        explainer = shap.LinearExplainer(estimator, shap.maskers.Independent(background))
        values = explainer.shap_values(Xt)
    np.testing.assert_allclose(values.sum(axis=1) + np.ravel(explainer.expected_value)[0], estimator.predict(X),
                               rtol=0, atol=1e-6)
    expected = dict(zip(X.columns, np.abs(values).mean(axis=0)))
    assert {i.feature: i.value for i in ex.importances} == pytest.approx(expected, rel=1e-9, abs=1e-12)
    sex = groups.labels["sex"].astype(str).to_numpy()
    for group in np.unique(sex):
        by_hand = dict(zip(X.columns, np.abs(values[sex == group]).mean(axis=0)))
        assert ex.by_group["sex"][group] == pytest.approx(by_hand, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("index", [0, 1], ids=["random_forest", "ridge"])
def test_regression_flip_test_reports_the_mean_absolute_change_of_the_prediction(diabetes, index):
    X, y = diabetes
    estimator, _ = _regressors()[index]
    estimator.fit(X, y)
    model = _wrap(estimator, X.columns)
    groups = build_groups(X, sensitive=["sex"], bins={}, intersections=1, source="t")
    (flip,) = flip_test(model, X, groups.labels, attributes=("sex",), bins={}, max_rows=len(X), seed=0,
                        task="regression")
    # By hand: every row's sex swapped to the other value (1 <-> 2), the prediction compared.
    original = estimator.predict(X)
    shift = np.abs(estimator.predict(X.assign(sex=3 - X["sex"])) - original)
    tolerance = 0.1 * np.std(original)
    assert flip.used_by_model and flip.shift == "prediction" and flip.rows == len(X)
    assert flip.tolerance == pytest.approx(tolerance, rel=1e-12)
    assert flip.overall_mean_shift == pytest.approx(shift.mean(), rel=1e-12) and flip.overall_mean_shift > 0
    assert flip.overall_flip_rate == pytest.approx((shift > tolerance).mean(), abs=1e-15)
    sex = groups.labels["sex"].astype(str).to_numpy()
    for group in np.unique(sex):
        assert flip.mean_shift[group] == pytest.approx(shift[sex == group].mean(), rel=1e-12)
        assert flip.flip_rate[group] == pytest.approx((shift[sex == group] > tolerance).mean(), abs=1e-15)
    if hasattr(estimator, "coef_"):
        # A linear model moves every prediction by the attribute's coefficient, no more, no less.
        assert flip.overall_mean_shift == pytest.approx(abs(estimator.coef_[list(X.columns).index("sex")]), rel=1e-9)


def test_regression_flip_test_is_exactly_zero_without_the_attribute(diabetes):
    from sklearn.linear_model import Ridge

    X, y = diabetes
    without = X.drop(columns="sex")
    model = _wrap(Ridge().fit(without, y), without.columns)
    groups = build_groups(X, sensitive=["sex"], bins={}, intersections=1, source="t")
    (flip,) = flip_test(model, X, groups.labels, attributes=("sex",), bins={}, max_rows=len(X), seed=0,
                        task="regression")
    assert not flip.used_by_model and flip.overall_mean_shift == 0.0 and flip.overall_flip_rate == 0.0


def _iris_with_site(tmp_path, estimator, params):
    """Iris with a categorical ``site``; at the south site the species labels are rotated, so the model needs it."""
    from sklearn.datasets import load_iris

    iris = load_iris(as_frame=True)
    frame = iris.data.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
    site = np.where(np.random.default_rng(0).random(len(frame)) < 0.5, "north", "south")
    code = (iris.target.to_numpy() + (site == "south")) % 3
    frame = frame.assign(site=site, species=np.asarray(iris.target_names)[code])
    frame.to_csv(tmp_path / "iris.csv", index=False)
    features = [c for c in frame.columns if c != "species"]
    raw = {"name": "iris", "task": "multiclass",
           "data": {"test": "iris.csv", "target": "species", "sensitive": ["site"], "features": features},
           "model": {"train": {"estimator": estimator, "params": params}}}
    cfg = config_from_dict(raw, base_dir=str(tmp_path))
    dataset = load_dataset(cfg)
    model = train_model(cfg, dataset)
    groups = build_groups(dataset.test.frame, sensitive=["site"], bins={}, intersections=1, source="t")
    return dataset, model, groups


_CLASSIFIERS = [("sklearn.ensemble.RandomForestClassifier", {"n_estimators": 40}, "tree", "probability"),
                ("sklearn.linear_model.LogisticRegression", {"max_iter": 1000}, "linear", "log-odds")]


@pytest.mark.parametrize("estimator, params, kind, unit", _CLASSIFIERS, ids=["random_forest", "logistic"])
def test_multiclass_shap_per_class_adds_up_and_importance_is_the_mean_over_classes(tmp_path, estimator, params,
                                                                                    kind, unit):
    import shap

    dataset, model, groups = _iris_with_site(tmp_path, estimator, params)
    frame = dataset.test.frame
    assert len(model.estimator.classes_) == 3 and model.positive_class is None
    ex = explain(model, frame, dataset.y_test, groups, method="auto", sample=len(frame), seed=0, replicates=20,
                 level=0.95, flip_test_rows=0, task="multiclass")
    assert ex.method == kind and ex.task == "multiclass" and ex.sample_size == len(frame)
    assert ex.measure == f"mean over classes of mean |SHAP| ({unit})"
    X = _categoricals_as_text(frame, model.features)
    pre, final = _split(model)
    Xt = dense(pre.transform(X))
    if kind == "tree":
        explainer = shap.TreeExplainer(final)
        values = explainer.shap_values(Xt, check_additivity=False)
        target = model.estimator.predict_proba(X)  # a forest's trees output class shares: SHAP adds up to them
    else:
        background = Xt[np.random.default_rng(0).choice(len(Xt), size=min(len(Xt), 200), replace=False)]
        explainer = shap.LinearExplainer(final, shap.maskers.Independent(background))
        values = explainer.shap_values(Xt)
        # The linear explainer explains the class margins; softmax is not additive, so they are what adds up.
        target = model.estimator.decision_function(X)
    assert values.shape == (len(Xt), Xt.shape[1], 3)
    source = fold_columns(list(pre.get_feature_names_out()), model.features)
    folded = np.zeros((len(Xt), len(model.features), 3))
    for k in range(3):
        np.add.at(folded[:, :, k].T, source, values[:, :, k].T)
        np.testing.assert_allclose(folded[:, :, k].sum(axis=1) + np.ravel(explainer.expected_value)[k], target[:, k],
                                   rtol=0, atol=1e-6)
    per_class = np.abs(folded).mean(axis=0)  # (features, classes): each class's mean |SHAP|
    expected = dict(zip(model.features, per_class.mean(axis=1)))
    assert {i.feature: i.value for i in ex.importances} == pytest.approx(expected, rel=1e-9, abs=1e-12)
    top = ex.importances[0]
    assert top.ci_low <= top.value <= top.ci_high
    assert set(ex.by_group["site"]) == {"north", "south"}


@pytest.mark.parametrize("estimator, params, kind, unit", _CLASSIFIERS, ids=["random_forest", "logistic"])
def test_multiclass_flip_rate_is_the_share_of_rows_whose_class_changes(tmp_path, estimator, params, kind, unit):
    dataset, model, groups = _iris_with_site(tmp_path, estimator, params)
    frame = dataset.test.frame
    (flip,) = flip_test(model, frame, groups.labels, attributes=("site",), bins={}, max_rows=len(frame), seed=0,
                        task="multiclass")
    # By hand: the other site for every row (two sites, one other value each), scikit-learn's predict and proba.
    X = _categoricals_as_text(frame, model.features)
    swapped = X.assign(site=np.where(X["site"] == "north", "south", "north"))
    changed = model.estimator.predict(swapped) != model.estimator.predict(X)
    shift = 0.5 * np.abs(model.estimator.predict_proba(swapped) - model.estimator.predict_proba(X)).sum(axis=1)
    assert flip.used_by_model and flip.shift == "probability" and flip.tolerance is None
    assert flip.overall_flip_rate == changed.sum() / len(frame) and flip.overall_flip_rate > 0
    assert flip.overall_mean_shift == pytest.approx(shift.mean(), rel=1e-12)
    site = groups.labels["site"].astype(str).to_numpy()
    for group in ("north", "south"):
        assert flip.flip_rate[group] == changed[site == group].sum() / (site == group).sum()
        assert flip.mean_shift[group] == pytest.approx(shift[site == group].mean(), rel=1e-12)


@pytest.mark.slow
def test_multiclass_models_without_tree_shap_get_the_permutation_explainer(tmp_path):
    # TreeExplainer does not take scikit-learn's GradientBoostingClassifier for three classes; "auto" falls back.
    dataset, model, groups = _iris_with_site(tmp_path, "sklearn.ensemble.GradientBoostingClassifier",
                                             {"n_estimators": 20})
    ex = explain(model, dataset.test.frame, dataset.y_test, groups, method="auto", sample=40, seed=0,
                 replicates=0, level=0.95, max_seconds=20.0, flip_test_rows=0, task="multiclass")
    assert ex.method == "permutation" and "PermutationExplainer" in ex.note
    assert ex.measure == "mean over classes of mean |SHAP| (probability)"
    assert {i.feature for i in ex.importances} == set(model.features) and max(i.value for i in ex.importances) > 0
    assert all(len(p["shap"]) == ex.sample_size for p in ex.points.values())


def test_an_unknown_task_is_refused(adult_model):
    _, dataset, model = adult_model
    groups = build_groups(dataset.test.frame, sensitive=["sex"], bins={}, intersections=1, source="t")
    with pytest.raises(ValueError, match="task must be one of binary, multiclass, regression"):
        explain(model, dataset.test.frame, dataset.y_test, groups, method="auto", sample=50, seed=0, replicates=0,
                level=0.95, task="ranking")


def test_the_flip_finding_says_what_flipped_for_each_task():
    from audit.checks._explainability import check_explainability
    from audit.measures._explain import Explanation, FlipResult
    from audit.settings._config import ExplainabilityConfig

    def message(**task_fields):
        flip = FlipResult(attribute="sex", used_by_model=True, rows=400, flip_rate={"F": 0.1, "M": 0.02},
                          mean_shift={"F": 3.0, "M": 1.0}, overall_flip_rate=0.06, overall_mean_shift=2.0,
                          **task_fields)
        ex = Explanation(method="tree", measure="m", sample_size=1, requested_rows=1, importances=(), by_group={},
                         group_sizes={}, gaps=(), flips=(flip,), seconds=0.0, note="", points={})
        (finding,) = [f for f in check_explainability(explanation=ex, sensitive=(), config=ExplainabilityConfig())
                      if f.check == "counterfactual_flip"]
        return finding.message

    assert message().startswith("Changing only sex changes 6% of predictions (mean score shift 2;")
    assert message(shift="prediction", tolerance=1.5).startswith(
        "Changing only sex moves 6% of predictions by more than 1.5 (mean prediction shift 2;")
    assert message(shift="probability").startswith(
        "Changing only sex changes 6% of predicted classes (mean probability shift 2;")
