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
    assert section.count("<svg") == 2 and section.count("<circle") == 2 * len(m["points"])
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
        assert dom_section[:dom_section.index("</section>")].count("<circle") == 2 * len(m["points"])


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
    message = ("`mitigation.methods` must hold only exponentiated_gradient for a regression audit (the threshold "
               "optimizers post-process classifier scores); got 'threshold_optimizer_dp', 'threshold_optimizer_eo'.")
    assert METHODS_BY_TASK["regression"] == ("exponentiated_gradient",)
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
