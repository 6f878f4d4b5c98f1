"""Mitigation what-if with fairlearn on real Adult data, measured independently on the held-out rows."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference
from sklearn.metrics import accuracy_score

import audit
from audit.inputs._data import load_dataset
from audit.findings._document import load_schema
from audit.measures._mitigation import mitigate, split_fit_held_out
from audit.inputs._model import predict, train_model
from audit.report import render_html, render_markdown
from conftest import ADULT

CHROMIUM = Path("/usr/bin/chromium")
LOGISTIC = {"train": {"estimator": "sklearn.linear_model.LogisticRegression", "params": {"max_iter": 300}}}


def _adult(tmp_path, *, train_rows: int = 5000, test_rows: int | None = None, **sections) -> dict:
    train = pd.read_csv(ADULT / "data/adult_train.csv.gz").head(train_rows)
    train.to_csv(tmp_path / "train.csv", index=False)
    test = pd.read_csv(ADULT / "data/adult_test.csv.gz")
    (test if test_rows is None else test.head(test_rows)).to_csv(tmp_path / "test.csv", index=False)
    raw = {"name": "mitigation", "data": {"train": "train.csv", "test": "test.csv", "target": "income",
                                          "positive_label": ">50K", "sensitive": ["sex", "race"]},
           "model": LOGISTIC, "bootstrap": {"replicates": 20},
           "checks": {"explainability": {"method": "none"}, "bias": {"proxies": False}}}
    raw.update(sections)
    return raw


@pytest.fixture(scope="module")
def adult_model(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("adult")
    cfg = audit.config_from_dict(_adult(tmp), base_dir=str(tmp))
    dataset = load_dataset(cfg)
    model = train_model(cfg, dataset)
    return dataset, model


def test_threshold_optimizer_brings_demographic_parity_below_0_05_on_held_out_rows(adult_model):
    dataset, model = adult_model
    frame, y = dataset.test.frame, dataset.y_test
    yhat = predict(model, frame).label
    outcome, fitted = mitigate(model, frame=frame, y=y, yhat=yhat, sensitive=frame["sex"], attribute="sex",
                               methods=["threshold_optimizer_dp", "threshold_optimizer_eo"], tolerances=[0.0, 0.05],
                               eps=[0.01], held_out=0.5, seed=7)
    # The held-out rows, recomputed: the same seeded split, and the fitted optimizer's own predictions.
    fit, out = split_fit_held_out(y, frame["sex"].astype(str).to_numpy(), held_out=0.5, seed=7)
    assert len(np.intersect1d(fit, out)) == 0 and len(fit) + len(out) == len(frame)
    assert outcome.fit_rows == len(fit) and outcome.held_out_rows == len(out)
    X_out, a_out, y_out = frame.iloc[out], frame["sex"].iloc[out], y[out]
    mitigated = fitted["threshold_optimizer_dp"].predict(X_out, sensitive_features=a_out, random_state=7)
    before = demographic_parity_difference(y_out, yhat[out], sensitive_features=a_out)
    after = demographic_parity_difference(y_out, mitigated, sensitive_features=a_out)
    assert before > 0.1 and after < 0.05
    base, strict = outcome.points[0], next(p for p in outcome.points if p.method == "threshold_optimizer_dp"
                                           and p.tolerance == 0.0)
    assert base.demographic_parity_difference == pytest.approx(before, abs=1e-12)
    assert strict.demographic_parity_difference == pytest.approx(after, abs=1e-12)
    assert strict.accuracy == pytest.approx(accuracy_score(y_out, mitigated), abs=1e-12)
    assert strict.accuracy_loss == pytest.approx(base.accuracy - strict.accuracy, abs=1e-12)
    assert base.accuracy == pytest.approx(accuracy_score(y_out, yhat[out]), abs=1e-12)
    # Equalized odds: the other optimizer closes that gap instead.
    eo = next(p for p in outcome.points if p.method == "threshold_optimizer_eo")
    eo_pred = fitted["threshold_optimizer_eo"].predict(X_out, sensitive_features=a_out, random_state=7)
    assert eo.equalized_odds_difference == pytest.approx(
        equalized_odds_difference(y_out, eo_pred, sensitive_features=a_out), abs=1e-12)
    assert eo.equalized_odds_difference < base.equalized_odds_difference
    # A relaxed tolerance gives up less accuracy than the strict constraint: the trade-off curve.
    relaxed = next(p for p in outcome.points if p.method == "threshold_optimizer_dp" and p.tolerance == 0.05)
    assert relaxed.accuracy >= strict.accuracy


@pytest.mark.slow
def test_the_card_shows_the_accuracy_given_up_and_that_it_informs_only(tmp_path):
    raw = _adult(tmp_path, train_rows=3000, test_rows=4000,
                 mitigation={"enabled": True, "methods": ["threshold_optimizer_dp", "exponentiated_gradient"],
                             "tolerances": [0.0, 0.1], "eps": [0.05], "fit_rows": 1000, "max_iter": 5, "save": True})
    raw["checks"]["slices"] = {"enabled": True, "top_k": 3}
    result = audit.run(audit.config_from_dict(raw, base_dir=str(tmp_path)))
    doc = result.document
    jsonschema.validate(doc, load_schema())
    m = doc["mitigation"]
    assert [p["method"] for p in m["points"]] == ["unmitigated", "threshold_optimizer_dp", "threshold_optimizer_dp",
                                                   "exponentiated_gradient"]
    assert m["attribute"] == "sex" and m["train_rows"] == 1000 and m["complete"]
    assert not any(f["status"] == "error" for f in doc["findings"])
    html = render_html(doc)
    section = html[html.index('<section id="mitigation">'):]
    section = section[:section.index("</section>")]
    assert "does not replace the audited model" in section and "Accuracy given up" in section
    strict = m["points"][1]
    assert strict["accuracy_loss"] > 0
    assert f"{strict['accuracy_loss']:.4g}" in section
    # Accuracy against demographic parity, equalized odds and the adverse impact ratio: one dot per point each.
    assert section.count("<svg") == 3 and section.count("<circle") == 3 * len(m["points"])
    # The slices section and its findings come along; the summary mentions the top slice.
    assert '<section id="slices">' in html and doc["slices"]["slices"]
    top = doc["slices"]["slices"][0]["text"].replace("<", "&lt;").replace(">", "&gt;")  # as Markdown shows it
    summary = render_markdown(doc)
    assert top in summary and "Mitigation what-if by sex" in summary
    written = result.write(tmp_path / "reports")
    assert {p.name for k, p in written.files.items() if k.startswith("mitigated_")} == set(m["saved"])
    assert all(p.stat().st_size > 0 for p in written.files.values())
    if CHROMIUM.exists():  # a real browser lays the sections out where the card puts them
        done = subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                               f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", written["html"].as_uri()],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr[-2000:]
        ids = re.findall(r'<section id="([a-z-]+)"', done.stdout)
        assert ids.index("explainability") + 1 == ids.index("slices") == ids.index("mitigation") - 1
        dom_section = done.stdout[done.stdout.index('<section id="mitigation">'):]
        assert dom_section[:dom_section.index("</section>")].count("<circle") == 3 * len(m["points"])


def test_strings_from_data_are_escaped_in_both_sections(tmp_path):
    raw = _adult(tmp_path, train_rows=2000, test_rows=3000,
                 mitigation={"enabled": True, "methods": ["threshold_optimizer_dp"], "tolerances": [0.0]})
    raw["checks"]["slices"] = {"enabled": True, "top_k": 2}
    doc = audit.run(audit.config_from_dict(raw, base_dir=str(tmp_path))).document
    hostile = "<script>alert(1)</script>"
    doc["slices"]["slices"][0]["predicates"][0]["text"] = hostile
    doc["mitigation"]["attribute"] = hostile
    doc["mitigation"]["notes"] = [hostile]
    html = render_html(doc)
    assert hostile not in html and html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 3


@pytest.mark.parametrize(("section", "message"), [
    ({"mitigation": {"enabled": True, "attribute": "age"}}, "`mitigation.attribute` must be one of `data.sensitive`"),
    ({"mitigation": {"enabled": True, "methods": ["reweighing"]}}, "`mitigation.methods.0`"),
    ({"mitigation": {"tolerances": [1.5]}}, "`mitigation.tolerances` must hold numbers in [0, 1)"),
    ({"checks": {"slices": {"metric": "roc_auc"}}}, "`checks.slices.metric`"),
    ({"checks": {"slices": {"max_order": 4}}}, "`checks.slices.max_order`"),
    ({"checks": {"slices": {"enabled": True, "features": ["age", "incme"]}}},
     "`checks.slices.features` must name feature columns of test.csv (not the target); got 'incme'."),
    ({"checks": {"slices": {"enabled": True, "features": ["income"]}}}, "got 'income'"),
])
def test_bad_settings_name_the_field(tmp_path, section, message):
    raw = _adult(tmp_path, train_rows=500, test_rows=500)
    if "checks" in section:
        raw["checks"].update(section["checks"])
    else:
        raw.update(section)
    with pytest.raises(audit.AuditError, match=re.escape(message)):
        audit.run(audit.config_from_dict(raw, base_dir=str(tmp_path)))


# ------------------------------------------------------------------------ regression and multiclass tasks


def _regression_rows(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """A target whose dependence on x3 (and whose noise) is larger in the minority group b, not a feature."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n), "x3": rng.normal(size=n),
                          "group": rng.choice(["a", "b"], n, p=[0.75, 0.25])})
    b = (frame.group == "b").to_numpy()
    y = 2 * frame.x1 + frame.x2 + np.where(b, 3.0, 0.0) * frame.x3 + rng.normal(size=n) * np.where(b, 1.5, 0.5)
    return frame, y.to_numpy()


@pytest.fixture(scope="module")
def ridge():
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import Pipeline

    from audit.inputs._model import FittedModel, build_preprocessor

    features = ("x1", "x2", "x3")
    train, y_train = _regression_rows(2000, seed=1)
    test, y_test = _regression_rows(2000, seed=2)
    pipeline = Pipeline([("preprocess", build_preprocessor(train, features)), ("model", Ridge(alpha=1.0))])
    pipeline.fit(train[list(features)], y_train)
    model = FittedModel(estimator=pipeline, source="trained", type_name="sklearn.linear_model.Ridge",
                        features=features, positive_column=-1, positive_class=None, path=None, sha256=None, params={})
    return model, (train, y_train), (test, y_test)


@pytest.mark.slow
def test_regression_mitigation_bounds_the_worst_group_loss_on_every_row(ridge):
    from sklearn.metrics import mean_absolute_error, mean_squared_error

    from audit.measures._mitigation import saved_model

    model, (train, y_train), (test, y_test) = ridge
    yhat = model.estimator.predict(test[list(model.features)])
    outcome, fitted = mitigate(model, frame=test, y=y_test, yhat=yhat, sensitive=test["group"], attribute="group",
                               methods=["exponentiated_gradient"], tolerances=[0.0], eps=[0.0, 0.02], held_out=0.5,
                               seed=5, train=(train, y_train, train["group"]), max_iter=20, task="regression")
    assert outcome.task == "regression" and outcome.complete and outcome.held_out_rows == len(test)
    assert outcome.train_rows == len(train) and outcome.target_range == (y_train.min(), y_train.max())
    b = test["group"].to_numpy() == "b"
    base, strict, relaxed = outcome.points
    # The unmitigated model, measured by sklearn on every row and on each group's rows.
    assert base.mean_squared_error == pytest.approx(mean_squared_error(y_test, yhat), abs=1e-12)
    assert base.mean_absolute_error == pytest.approx(mean_absolute_error(y_test, yhat), abs=1e-12)
    assert base.worst_group_loss == pytest.approx(mean_squared_error(y_test[b], yhat[b]), abs=1e-12)
    assert base.group_loss_gap == pytest.approx(
        mean_squared_error(y_test[b], yhat[b]) - mean_squared_error(y_test[~b], yhat[~b]), abs=1e-12)
    assert base.accuracy is None and base.demographic_parity_difference is None
    # The default bounds: the audited model's overall training MSE, and the midpoint to its worst group's.
    fit_pred = model.estimator.predict(train[list(model.features)])
    overall = mean_squared_error(y_train, fit_pred)
    worst = mean_squared_error(y_train[train.group == "b"], fit_pred[(train.group == "b").to_numpy()])
    assert strict.tolerance == pytest.approx(overall, rel=1e-12)
    assert relaxed.tolerance == pytest.approx((overall + worst) / 2, rel=1e-12)
    assert strict.constraint == "bounded_group_loss" and strict.eps == 0.02  # the smallest positive eps
    # The strictest mitigated model, recomputed from its own (seeded, randomised) predictions.
    mitigated = fitted["exponentiated_gradient"].predict(test[list(model.features)], random_state=5)
    assert strict.mean_squared_error == pytest.approx(mean_squared_error(y_test, mitigated), abs=1e-12)
    by_group = [mean_squared_error(y_test[m], mitigated[m]) for m in (~b, b)]
    assert strict.worst_group_loss == pytest.approx(max(by_group), abs=1e-12)
    assert strict.group_loss_gap == pytest.approx(max(by_group) - min(by_group), abs=1e-12)
    assert strict.loss_increase == pytest.approx(strict.mean_squared_error - base.mean_squared_error, abs=1e-12)
    # Bounding the group loss brings the worst group's error down, and costs overall error.
    assert strict.worst_group_loss <= base.worst_group_loss * 0.9
    assert relaxed.worst_group_loss <= base.worst_group_loss + 1e-6
    assert strict.mean_squared_error >= base.mean_squared_error
    assert strict.worst_group_loss <= relaxed.worst_group_loss + 1e-6
    assert any("every point is measured on all 2000" in n for n in outcome.notes)
    name, data, _ = saved_model("exponentiated_gradient", fitted["exponentiated_gradient"])
    assert name.startswith("mitigated_exponentiated_gradient.") and data


def test_regression_mitigation_takes_explicit_bounds_and_notes_missing_training_rows(ridge):
    model, (train, y_train), (test, y_test) = ridge
    yhat = model.estimator.predict(test[list(model.features)])
    outcome, fitted = mitigate(model, frame=test, y=y_test, yhat=yhat, sensitive=test["group"], attribute="group",
                               methods=["exponentiated_gradient"], tolerances=[0.0], eps=[0.05], held_out=0.5,
                               seed=5, train=(train, y_train, train["group"]), max_iter=5, task="regression",
                               loss_bounds=[4.0])
    assert [p.tolerance for p in outcome.points] == [None, 4.0]
    skipped, none = mitigate(model, frame=test, y=y_test, yhat=yhat, sensitive=test["group"], attribute="group",
                             methods=["exponentiated_gradient"], tolerances=[0.0], eps=[0.05], held_out=0.5, seed=5,
                             task="regression")
    assert [p.method for p in skipped.points] == ["unmitigated"] and none == {}
    assert any("it was skipped" in n for n in skipped.notes)


def test_threshold_optimizers_are_refused_for_a_regression(ridge):
    from audit.measures._mitigation import METHODS_BY_TASK, check_mitigation_methods

    model, _, (test, y_test) = ridge
    message = ("`mitigation.methods` must hold only exponentiated_gradient, drop_proxies for a regression audit (the "
               "threshold optimizers post-process classifier scores); got 'threshold_optimizer_dp', "
               "'threshold_optimizer_eo'.")
    assert METHODS_BY_TASK["regression"] == ("exponentiated_gradient", "drop_proxies")
    with pytest.raises(audit.AuditError, match=re.escape(message)):
        check_mitigation_methods(["threshold_optimizer_dp", "threshold_optimizer_eo"], "regression")
    with pytest.raises(audit.AuditError, match=re.escape(message)):
        mitigate(model, frame=test, y=y_test, yhat=y_test, sensitive=test["group"], attribute="group",
                 methods=["threshold_optimizer_dp", "threshold_optimizer_eo"], tolerances=[0.0], eps=[0.01],
                 held_out=0.5, seed=0, task="regression")


def test_a_multiclass_model_gets_a_note_that_fairlearn_has_no_mitigation_for_it():
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    from audit.inputs._model import FittedModel
    from audit.measures._mitigation import MULTICLASS_NOTE

    iris = load_iris(as_frame=True)
    frame = iris.frame.drop(columns="target")
    y = iris.target_names[iris.target]
    estimator = LogisticRegression(max_iter=300).fit(frame, y)
    model = FittedModel(estimator=estimator, source="trained", type_name="LogisticRegression",
                        features=tuple(frame.columns), positive_column=-1, positive_class=None, path=None,
                        sha256=None, params={})
    wide = pd.Series(np.where(frame["sepal width (cm)"] > 3, "wide", "narrow"))
    outcome, fitted = mitigate(model, frame=frame, y=y, yhat=estimator.predict(frame), sensitive=wide,
                               attribute="sepal", methods=["threshold_optimizer_dp", "exponentiated_gradient"],
                               tolerances=[0.0], eps=[0.01], held_out=0.5, seed=0, task="multiclass")
    assert outcome.points == () and fitted == {} and outcome.task == "multiclass"
    assert outcome.notes == (MULTICLASS_NOTE,)
    assert "fairlearn has no mitigation for multiclass models" in MULTICLASS_NOTE
    assert outcome.groups == ("narrow", "wide")


# ------------------------------------------------------------------ precomputed scores, judged groups only


def _binary_rows(sizes: dict[str, int], seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Two features and a label that depends on them and (by its base rate) on the group."""
    rng = np.random.default_rng(seed)
    group = np.concatenate([[g] * n for g, n in sizes.items()])
    rng.shuffle(group)
    frame = pd.DataFrame({"x1": rng.normal(size=len(group)), "x2": rng.normal(size=len(group)), "group": group})
    shift = pd.Series(group).map({g: 0.8 * i for i, g in enumerate(sizes)}).to_numpy()
    y = (frame.x1 + 0.5 * frame.x2 + shift + rng.normal(size=len(group)) > 1.0).astype(int).to_numpy()
    return frame, y


class _CountingLogistic:
    """A fitted logistic regression that counts the rows it scores."""

    def __init__(self, inner):
        self.inner, self.scored = inner, 0
        self.classes_ = inner.classes_

    def predict_proba(self, X):
        self.scored += len(X)
        return self.inner.predict_proba(X)

    def predict(self, X):
        self.scored += len(X)
        return self.inner.predict(X)


@pytest.fixture(scope="module")
def logistic():
    from sklearn.linear_model import LogisticRegression

    from audit.inputs._model import FittedModel

    sizes = {"a": 1500, "b": 900, "c": 4, "d": 7}
    train, y_train = _binary_rows(sizes, seed=3)
    test, y_test = _binary_rows(sizes, seed=4)
    features = ("x1", "x2")
    inner = LogisticRegression().fit(train[list(features)], y_train)
    model = FittedModel(estimator=_CountingLogistic(inner), source="trained", type_name="LogisticRegression",
                        features=features, positive_column=1, positive_class=1, path=None, sha256=None, params={})
    return model, inner, test, y_test


def _direct_threshold_optimizer(inner, X_fit, y_fit, a_fit, X_out, a_out, *, constraints, tol, seed):
    """fairlearn's ThresholdOptimizer as its documentation shows it: prefit on the model, fed the features."""
    from fairlearn.postprocessing import ThresholdOptimizer

    to = ThresholdOptimizer(estimator=inner, constraints=constraints, prefit=True, predict_method="predict_proba",
                            tol=tol)
    to.fit(X_fit, y_fit, sensitive_features=a_fit)
    return np.asarray(to.predict(X_out, sensitive_features=a_out, random_state=seed))


def test_threshold_optimizer_on_the_audit_scores_equals_fairlearn_on_the_features_and_scores_no_row(logistic):
    model, inner, test, y = logistic
    X = test[["x1", "x2"]]
    scores = inner.predict_proba(X)[:, 1]
    yhat = (scores >= 0.5).astype(int)
    model.estimator.scored = 0
    outcome, fitted = mitigate(model, frame=test, y=y, yhat=yhat, sensitive=test["group"], attribute="group",
                               methods=["threshold_optimizer_dp", "threshold_optimizer_eo"], tolerances=[0.0, 0.05],
                               eps=[0.01], held_out=0.5, seed=11, scores=scores, min_group_size=30)
    assert model.estimator.scored == 0  # every fit and every evaluation used the scores given
    # The same rows by hand: the judged groups a and b, the seeded split, fairlearn fed the model and features.
    keep = test["group"].isin(["a", "b"]).to_numpy()
    Xk, yk, ak, yhatk = X[keep].reset_index(drop=True), y[keep], test["group"].to_numpy()[keep], yhat[keep]
    fit, out = split_fit_held_out(yk, ak, held_out=0.5, seed=11)
    assert (outcome.fit_rows, outcome.held_out_rows) == (len(fit), len(out))
    expected = {("unmitigated", None): yhatk[out]}
    for constraints, method, tol in [("demographic_parity", "threshold_optimizer_dp", 0.0),
                                     ("demographic_parity", "threshold_optimizer_dp", 0.05),
                                     ("equalized_odds", "threshold_optimizer_eo", None)]:
        expected[(method, tol)] = _direct_threshold_optimizer(
            inner, Xk.iloc[fit], yk[fit], ak[fit], Xk.iloc[out], ak[out], constraints=constraints,
            tol=tol or None, seed=11)
    assert [(p.method, p.tolerance) for p in outcome.points] == list(expected)
    for p, pred in zip(outcome.points, expected.values()):
        assert p.accuracy == accuracy_score(yk[out], pred)
        assert p.selection_rate == np.mean(pred)
        assert p.demographic_parity_difference == demographic_parity_difference(yk[out], pred,
                                                                                sensitive_features=ak[out])
        assert p.equalized_odds_difference == equalized_odds_difference(yk[out], pred, sensitive_features=ak[out])
    # The saved model predicts from features, with the fitted thresholds: the strict point's predictions.
    saved = fitted["threshold_optimizer_dp"].predict(Xk.iloc[out], sensitive_features=ak[out], random_state=11)
    np.testing.assert_array_equal(saved, expected[("threshold_optimizer_dp", 0.0)])


def test_groups_under_min_group_size_are_left_out_and_counted(logistic):
    from audit.findings._document import mitigation_section

    model, inner, test, y = logistic
    scores = inner.predict_proba(test[["x1", "x2"]])[:, 1]
    yhat = (scores >= 0.5).astype(int)
    kwargs = dict(frame=test, y=y, yhat=yhat, sensitive=test["group"], attribute="group",
                  methods=["threshold_optimizer_eo"], tolerances=[0.0], eps=[0.01], held_out=0.5, seed=2,
                  scores=scores)
    judged, _ = mitigate(model, min_group_size=30, **kwargs)
    assert judged.groups == ("a", "b") and [(g.group, g.rows) for g in judged.left_out] == [("c", 4), ("d", 7)]
    assert judged.fit_rows + judged.held_out_rows == 2400
    assert any("2 group(s) of group with fewer than min_group_size 30 evaluation rows (11 rows in all: c (4), d (7))"
               in n for n in judged.notes)
    # Counted in, the tiny groups decide the equalized odds difference; judged out, the groups of 900 and 1500 do.
    every, _ = mitigate(model, min_group_size=1, **{**kwargs, "methods": []})
    assert every.left_out == () and every.groups == ("a", "b", "c", "d")
    a = test["group"].to_numpy()
    _, out = split_fit_held_out(y, a, held_out=0.5, seed=2)
    counted_in = equalized_odds_difference(y[out], yhat[out], sensitive_features=a[out])
    assert every.points[0].equalized_odds_difference == counted_in > 0.5
    assert all(p.equalized_odds_difference < 0.2 for p in judged.points)
    section = mitigation_section(judged, saved=None)
    assert section["left_out"] == [{"group": "c", "rows": 4}, {"group": "d", "rows": 7}]
    assert section["min_group_size"] == 30
    # Fewer than two judged groups: no points, and a note that says why.
    alone, fitted = mitigate(model, min_group_size=1000, **kwargs)
    assert alone.points == () and fitted == {} and alone.groups == ("a",)
    assert any("Fewer than two groups of group have min_group_size 1000" in n for n in alone.notes)


def test_dropping_proxies_gives_alternatives_on_a_frontier_and_the_least_discriminatory_within_budget():
    from pathlib import Path

    from audit.measures._mitigation import _cost_and_disparity, MitigationPoint

    german = Path(__file__).resolve().parents[2] / "examples" / "german-credit" / "data" / "german.csv.gz"
    raw = {"name": "german", "seed": 0,
           "data": {"test": str(german), "target": "risk", "positive_label": 1, "sensitive": ["sex"],
                    "test_size": 0.5},
           "model": {"train": {"estimator": "sklearn.linear_model.LogisticRegression", "params": {"max_iter": 1000}}},
           "bootstrap": {"replicates": 20}, "checks": {"explainability": {"method": "none"}},
           "mitigation": {"enabled": True, "methods": ["threshold_optimizer_dp", "drop_proxies"],
                          "tolerances": [0.0, 0.05], "max_accuracy_loss": 0.02}}
    doc = audit.run(raw).document
    m = doc["mitigation"]
    ranked = [p["feature"] for p in sorted((p for p in doc["bias"]["proxies"] if p["attribute"] == "sex"),
                                           key=lambda p: -p["cramers_v"])]
    dropped = [p["dropped"] for p in m["points"] if p["method"] == "drop_proxies"]
    assert dropped == [ranked[:k] for k in range(1, min(3, len(ranked)) + 1)]
    # The frontier by brute force: no other point at most as costly and at most as disparate, better on one.
    pairs = [(p["accuracy_loss"], 1 - p["favourable_ratio"]) for p in m["points"]]
    for p, (cost, gap) in zip(m["points"], pairs):
        dominated = any(c <= cost and g <= gap and (c, g) != (cost, gap) for c, g in pairs)
        assert p["on_frontier"] == (not dominated)
    # The alternative: the highest adverse impact ratio among points within 0.02 accuracy that beat the model.
    within = [i for i, (c, g) in enumerate(pairs) if i and c <= 0.02 and g < pairs[0][1]]
    if within:
        assert m["alternative"] == min(within, key=lambda i: (pairs[i][1], pairs[i][0]))
    else:
        assert m["alternative"] is None
    # A favourable ratio is fairlearn's demographic parity ratio of the predictions (the positive label here).
    assert all(0 <= p["favourable_ratio"] <= 1 for p in m["points"])


def test_refit_without_equals_training_without_the_columns():
    from pathlib import Path

    from audit.inputs._data import load_dataset
    from audit.inputs._model import refit_without, train_model
    from audit.settings._config import config_from_dict

    german = Path(__file__).resolve().parents[2] / "examples" / "german-credit" / "data" / "german.csv.gz"
    base = {"name": "g", "data": {"test": str(german), "target": "risk", "positive_label": 1, "sensitive": ["sex"]},
            "model": {"train": {"estimator": "sklearn.ensemble.HistGradientBoostingClassifier",
                                "params": {"max_iter": 30}}}}
    cfg = config_from_dict(base, source="t")
    dataset = load_dataset(cfg)
    model = train_model(cfg, dataset)
    refit = refit_without(model, dataset.train.frame, dataset.y_train, drop=("housing", "job"))
    reduced = [f for f in dataset.features if f not in ("housing", "job")]
    cfg2 = config_from_dict({**base, "data": {**base["data"], "features": reduced}}, source="t")
    direct = train_model(cfg2, load_dataset(cfg2))
    frame = dataset.test.frame
    assert refit.features == tuple(reduced)
    np.testing.assert_allclose(refit.estimator.predict_proba(frame[reduced]),
                               direct.estimator.predict_proba(frame[reduced]), atol=1e-12)
