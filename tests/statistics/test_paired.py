"""Paired comparison of two models on the same rows, against scikit-learn on masked rows, a hand McNemar,
a brute-force DeLong, and by simulation (rejections under no difference, power at a small one)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom, norm
from sklearn import metrics as skm
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from audit.inputs._groups import build_groups
from audit.inputs._model import Predictions
from audit.statistics._metrics import BINARY
from audit.statistics._paired import PairedRows, delong_paired, mcnemar_exact, paired_compare
from audit.statistics._regression import REGRESSION
from audit.statistics._multiclass import multiclass_registry
from audit.statistics._tasks import adapter

ROOT = Path(__file__).resolve().parents[2]
NUMERIC = ["age", "education-num", "capital-gain", "capital-loss", "hours-per-week"]


@pytest.fixture(scope="module")
def adult_two_models():
    """Two real classifiers trained on 8,000 Adult test rows, scored on the other 8,281."""
    d = pd.read_csv(ROOT / "examples" / "adult" / "data" / "adult_test.csv.gz")
    y = (d["income"] == ">50K").to_numpy(int)
    fit, ev = np.arange(len(d)) < 8000, np.arange(len(d)) >= 8000
    x = d[NUMERIC].to_numpy(float)
    a = LogisticRegression(max_iter=2000).fit(x[fit], y[fit])
    b = DecisionTreeClassifier(max_depth=5, random_state=0).fit(x[fit], y[fit])
    frame = d[ev].reset_index(drop=True)
    sa, sb = a.predict_proba(x[ev])[:, 1], b.predict_proba(x[ev])[:, 1]
    return frame, y[ev], Predictions(sa, (sa >= 0.5).astype(int), True), Predictions(sb, (sb >= 0.5).astype(int), True)


def _compare(frame, y, pa, pb, *, task="binary", registry=BINARY, metrics, fairness=(), min_group_size=30, reps=100):
    groups = build_groups(frame, sensitive=["sex", "race"], bins={}, intersections=2, source="adult_test.csv.gz")
    ad = adapter(task)
    rows = PairedRows(leaf=groups.row_leaf, champion=ad.row_values(y=y, predictions=pa, registry=registry),
                      challenger=ad.row_values(y=y, predictions=pb, registry=registry),
                      unpack=ad.row_unpack(registry), n_leaves=len(groups.leaf_levels),
                      y=y if task == "binary" else None,
                      scores=(pa.score, pb.score) if task == "binary" else None)
    return groups, paired_compare(rows, groups, registry=registry, metrics=list(metrics), fairness=list(fairness),
                                  replicates=reps, level=0.95, seed=0, min_group_size=min_group_size)


SKLEARN = {
    "accuracy": skm.accuracy_score, "recall": skm.recall_score, "precision": skm.precision_score,
    "f1": skm.f1_score, "false_positive_rate": lambda y, p: ((p == 1) & (y == 0)).sum() / (y == 0).sum(),
    "selection_rate": lambda y, p: p.mean(), "balanced_accuracy": skm.balanced_accuracy_score,
}


def test_paired_differences_equal_sklearn_on_the_masked_rows(adult_two_models):
    frame, y, pa, pb = adult_two_models
    metrics = [*SKLEARN, "roc_auc", "log_loss", "brier_score_loss"]
    groups, out = _compare(frame, y, pa, pb, metrics=metrics, min_group_size=1)
    checked = 0
    labels = {name: frame[name.split("&")].astype(str).agg("&".join, axis=1).to_numpy()
              for name in ("sex", "race", "sex&race")}
    for d in out.differences:
        if d.metric not in metrics or d.difference is None:
            continue
        mask = np.ones(len(y), bool) if d.grouping is None else labels[d.grouping] == d.group
        yy = y[mask]
        if d.metric in SKLEARN:
            ref = SKLEARN[d.metric](yy, pb.label[mask]) - SKLEARN[d.metric](yy, pa.label[mask])
        elif d.metric == "roc_auc":
            ref = skm.roc_auc_score(yy, pb.score[mask]) - skm.roc_auc_score(yy, pa.score[mask])
        elif d.metric == "log_loss":
            ref = skm.log_loss(yy, pb.score[mask], labels=[0, 1]) - skm.log_loss(yy, pa.score[mask], labels=[0, 1])
        else:
            ref = skm.brier_score_loss(yy, pb.score[mask]) - skm.brier_score_loss(yy, pa.score[mask])
        assert d.difference == pytest.approx(ref, abs=1e-9), (d.metric, d.grouping, d.group)
        checked += 1
    assert checked > 100


def test_mcnemar_on_the_discordant_rows_by_hand(adult_two_models):
    frame, y, pa, pb = adult_two_models
    _, out = _compare(frame, y, pa, pb, metrics=["accuracy", "recall", "precision"])
    overall = {d.metric: d for d in out.differences if d.grouping is None}
    ra, rb = pa.label == y, pb.label == y
    b, c = int((ra & ~rb).sum()), int((~ra & rb).sum())
    by_hand = min(1.0, 2 * binom.cdf(min(b, c), b + c, 0.5))  # exact two-sided binomial test, p = 1/2
    assert overall["accuracy"].test == "mcnemar"
    assert overall["accuracy"].p_value == pytest.approx(by_hand, rel=1e-9)
    pos = y == 1  # recall: the positives are the pairs
    b, c = int((pos & (pa.label == 1) & (pb.label == 0)).sum()), int((pos & (pa.label == 0) & (pb.label == 1)).sum())
    assert overall["recall"].p_value == pytest.approx(min(1.0, 2 * binom.cdf(min(b, c), b + c, 0.5)), rel=1e-9)
    assert overall["precision"].test == "paired bootstrap"  # its denominator depends on the model
    assert mcnemar_exact(0, 0) == 1.0


def test_delong_variance_equals_the_brute_force_structural_components():
    rng = np.random.default_rng(2)
    y = (rng.random(80) < 0.4).astype(int)
    a = np.round(rng.normal(y, 1.0), 1)  # rounded: ties count one half
    b = np.round(rng.normal(y * 1.5, 1.0), 1)
    auc_a, auc_b, diff, se = delong_paired(y, a, b)
    x_idx, z_idx = np.flatnonzero(y == 1), np.flatnonzero(y == 0)

    def psi(s):
        return (s[x_idx][:, None] > s[z_idx][None, :]) + 0.5 * (s[x_idx][:, None] == s[z_idx][None, :])

    comps = [psi(a), psi(b)]
    v10 = np.vstack([c.mean(axis=1) for c in comps])
    v01 = np.vstack([c.mean(axis=0) for c in comps])
    cov = np.cov(v10) / len(x_idx) + np.cov(v01) / len(z_idx)
    assert auc_a == pytest.approx(skm.roc_auc_score(y, a)) and auc_b == pytest.approx(skm.roc_auc_score(y, b))
    assert diff == pytest.approx(auc_b - auc_a)
    assert se == pytest.approx(np.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]), rel=1e-12)


def test_regression_and_multiclass_differences_equal_sklearn(adult_two_models):
    frame, _, _, _ = adult_two_models
    rng = np.random.default_rng(0)
    x = frame[NUMERIC].to_numpy(float)
    target = frame["hours-per-week"].to_numpy(float)
    feats = x[:, [0, 1, 2]]
    pa = LinearRegression().fit(feats, target).predict(feats)
    pb = DecisionTreeRegressor(max_depth=4, random_state=0).fit(feats, target).predict(feats)
    _, out = _compare(frame, target, Predictions(pa, pa, False), Predictions(pb, pb, False), task="regression",
                      registry=REGRESSION, metrics=["mean_absolute_error", "root_mean_squared_error"])
    overall = {d.metric: d for d in out.differences if d.grouping is None}
    assert overall["mean_absolute_error"].difference == pytest.approx(
        skm.mean_absolute_error(target, pb) - skm.mean_absolute_error(target, pa), abs=1e-9)
    assert overall["root_mean_squared_error"].difference == pytest.approx(
        np.sqrt(skm.mean_squared_error(target, pb)) - np.sqrt(skm.mean_squared_error(target, pa)), abs=1e-9)
    # Multiclass: education bands predicted by two rules that err differently.
    classes = ["low", "mid", "high"]
    yc = np.array(classes, dtype=object)[np.digitize(x[:, 1], [9, 12])]
    guess_a = np.where(rng.random(len(yc)) < 0.7, yc, "mid").astype(object)
    guess_b = np.where(rng.random(len(yc)) < 0.75, yc, "low").astype(object)
    reg = multiclass_registry(classes)
    _, out = _compare(frame, yc, Predictions(np.ones(len(yc)), guess_a, False),
                      Predictions(np.ones(len(yc)), guess_b, False), task="multiclass", registry=reg,
                      metrics=["accuracy", "macro_f1"])
    overall = {d.metric: d for d in out.differences if d.grouping is None}
    assert overall["accuracy"].test == "mcnemar"
    assert overall["accuracy"].difference == pytest.approx(
        skm.accuracy_score(yc, guess_b) - skm.accuracy_score(yc, guess_a), abs=1e-12)
    assert overall["macro_f1"].difference == pytest.approx(
        skm.f1_score(yc, guess_b, average="macro") - skm.f1_score(yc, guess_a, average="macro"), abs=1e-9)


def _two_models(rows: int, *, recall_a: float, recall_b: float, seed: int):
    """Two classifiers that share most of their decisions (a retrained model), with known recalls."""
    rng = np.random.default_rng(seed)
    y = (rng.random(rows) < 0.3).astype(int)
    u, v = rng.random(rows), rng.random(rows)
    flip = rng.random(rows) < 0.1  # a tenth of the rows decided afresh by the challenger: real disagreement
    a = np.where(y == 1, u < recall_a, rng.random(rows) < 0.1)
    b = np.where(y == 1, np.where(flip, v < recall_b, u < recall_b), a ^ (rng.random(rows) < 0.02))
    frame = pd.DataFrame({"sex": rng.choice(["F", "M"], rows), "race": rng.choice(["x", "y", "z"], rows)})
    sa = np.clip(a * 0.5 + rng.normal(0.25, 0.1, rows), 0, 1)
    sb = np.clip(b * 0.5 + rng.normal(0.25, 0.1, rows), 0, 1)
    return frame, y, Predictions(sa, a.astype(int), True), Predictions(sb, b.astype(int), True)


@pytest.mark.slow
def test_no_true_difference_rejects_at_most_nominal_and_a_small_one_is_found():
    null_reject = power = 0
    runs = 100
    for r in range(runs):
        frame, y, pa, pb = _two_models(10_000, recall_a=0.70, recall_b=0.70, seed=r)
        _, out = _compare(frame, y, pa, pb, metrics=["recall"], reps=50)
        null_reject += next(d for d in out.differences if d.grouping is None).p_value <= 0.05
        frame, y, pa, pb = _two_models(10_000, recall_a=0.70, recall_b=0.72, seed=1000 + r)
        _, out = _compare(frame, y, pa, pb, metrics=["recall"], reps=50)
        overall = next(d for d in out.differences if d.grouping is None)
        power += overall.p_value <= 0.05 and overall.ci_low > 0
    assert null_reject / runs <= 0.08  # nominal 5%; 100 runs
    assert power / runs >= 0.9


@pytest.mark.slow
def test_paired_intervals_cover_the_true_differences_in_simulation():
    """The fast version of benchmarks/paired.py's coverage: 80 runs of 10,000 rows, truth from 2,000,000 rows.

    With 80 runs a 95% interval's coverage falls under 0.85 with probability below 0.1% (binomial)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import paired

    held = paired.coverage(runs=80, rows=10_000, replicates=100)
    shares = {k: v for k, v in held.items() if k[0] != "truth"}
    assert len(shares) == 4
    assert all(v >= 0.85 for v in shares.values()), shares
