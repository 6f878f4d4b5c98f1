"""Built-in metrics and fairness gaps against scikit-learn and fairlearn on real Adult predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn import metrics as flm
from sklearn import metrics as skm

from audit.statistics._tables import BinaryTable
from audit.statistics._metrics import BINARY
from audit.statistics._evaluate import evaluate
from audit.statistics._metrics import FAIRNESS_METRICS, METRICS
from audit.statistics._cells import cell_stats

TOL = 1e-9


def _both_classes(y: np.ndarray) -> bool:
    return len(np.unique(y)) == 2


# Reference implementations on one group's rows. NaN marks the cases our engine reports as undefined
# (scikit-learn would warn, raise, or substitute 0 there).
LABEL_REFERENCE = {
    "accuracy": lambda y, p: skm.accuracy_score(y, p),
    "balanced_accuracy": lambda y, p: skm.balanced_accuracy_score(y, p) if _both_classes(y) else np.nan,
    "precision": lambda y, p: skm.precision_score(y, p) if p.sum() else np.nan,
    "recall": lambda y, p: skm.recall_score(y, p) if y.sum() else np.nan,
    "f1": lambda y, p: skm.f1_score(y, p) if y.sum() + p.sum() else np.nan,
    "selection_rate": lambda y, p: flm.selection_rate(y, p),
    "false_positive_rate": lambda y, p: flm.false_positive_rate(y, p) if (y == 0).any() else np.nan,
    "false_negative_rate": lambda y, p: flm.false_negative_rate(y, p) if y.any() else np.nan,
}
SCORE_REFERENCE = {
    "roc_auc": lambda y, s: skm.roc_auc_score(y, s) if _both_classes(y) else np.nan,
    "log_loss": lambda y, s: skm.log_loss(y, s, labels=[0, 1]),
    "brier_score_loss": lambda y, s: skm.brier_score_loss(y, s, pos_label=1),
}
FAIRLEARN_FAIRNESS = {
    "demographic_parity_difference": flm.demographic_parity_difference,
    "demographic_parity_ratio": flm.demographic_parity_ratio,
    "equalized_odds_difference": flm.equalized_odds_difference,
    "equalized_odds_ratio": flm.equalized_odds_ratio,
    "equal_opportunity_difference": flm.equal_opportunity_difference,
    "false_positive_rate_difference": lambda y, p, sensitive_features: flm.MetricFrame(
        metrics=flm.false_positive_rate, y_true=y, y_pred=p, sensitive_features=sensitive_features).difference(),
    "false_negative_rate_difference": lambda y, p, sensitive_features: flm.MetricFrame(
        metrics=flm.false_negative_rate, y_true=y, y_pred=p, sensitive_features=sensitive_features).difference(),
    "predictive_parity_difference": lambda y, p, sensitive_features: flm.MetricFrame(
        metrics=skm.precision_score, y_true=y, y_pred=p, sensitive_features=sensitive_features).difference(),
}


def test_every_metric_has_a_reference():
    # A metric added to the registry without an independent reference fails here.
    assert set(METRICS) == set(LABEL_REFERENCE) | set(SCORE_REFERENCE)
    assert set(FAIRNESS_METRICS) == set(FAIRLEARN_FAIRNESS)


@pytest.fixture(scope="module")
def evaluation(adult_scored):
    s = adult_scored
    cells = cell_stats(leaf=s.groups.row_leaf, score=s.score, y=s.y, yhat=s.label,
                       n_leaves=len(s.groups.leaf_levels))
    return evaluate(BinaryTable(cells), s.groups, registry=BINARY, replicates=0, level=0.95, seed=0, min_group_size=1)


@pytest.fixture(scope="module")
def group_keys(adult_scored, evaluation):
    labels = adult_scored.groups.labels
    return {gm.grouping: labels[list(gm.attributes)].agg("&".join, axis=1) for gm in evaluation.by_grouping}


def _metric_frame(adult_scored, attributes, name):
    s = adult_scored
    ref = LABEL_REFERENCE.get(name) or SCORE_REFERENCE[name]
    pred = s.label if name in LABEL_REFERENCE else s.score
    features = s.groups.labels[list(attributes)]
    return flm.MetricFrame(metrics=ref, y_true=s.y, y_pred=pred, sensitive_features=features)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(METRICS))
def test_overall_metric_equals_reference(adult_scored, evaluation, name):
    s = adult_scored
    ref = LABEL_REFERENCE[name](s.y, s.label) if name in LABEL_REFERENCE else SCORE_REFERENCE[name](s.y, s.score)
    assert evaluation.overall[name].value == pytest.approx(ref, abs=TOL, rel=0)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(METRICS))
def test_group_metrics_equal_metricframe_for_every_grouping(adult_scored, evaluation, group_keys, name):
    checked = 0
    for gm in evaluation.by_grouping:
        frame = _metric_frame(adult_scored, gm.attributes, name)
        by_group = frame.by_group
        sizes = group_keys[gm.grouping].value_counts()
        for i, group in enumerate(gm.groups):
            key = tuple(group.split("&")) if len(gm.attributes) > 1 else group
            expected = by_group.loc[key]
            ours = gm.metrics[name][i]
            if np.isnan(expected):
                assert ours.value is None and ours.reason, (gm.grouping, group)
            else:
                assert ours.value == pytest.approx(expected, abs=TOL, rel=0), (gm.grouping, group)
                checked += 1
            assert ours.n == sizes[group]
    # Three attributes (2, 5 and 4 levels) and all their intersections: 87 groups, most of them defined.
    assert checked > 70


@pytest.mark.slow
def test_group_metrics_equal_sklearn_on_masked_rows(adult_scored, evaluation, group_keys):
    s = adult_scored
    gm = next(g for g in evaluation.by_grouping if g.grouping == "sex&race")
    keys = group_keys["sex&race"].to_numpy()
    for i, group in enumerate(gm.groups):
        mask = keys == group
        assert gm.metrics["recall"][i].value == pytest.approx(skm.recall_score(s.y[mask], s.label[mask]), abs=TOL)
        assert gm.metrics["roc_auc"][i].value == pytest.approx(skm.roc_auc_score(s.y[mask], s.score[mask]), abs=TOL)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(FAIRNESS_METRICS))
@pytest.mark.parametrize("grouping", ["sex", "race", "age", "sex&race", "sex&age"])
def test_fairness_equals_fairlearn(adult_scored, evaluation, name, grouping):
    # Every group of these groupings has both classes and positive predictions, so fairlearn's
    # convention (an undefined rate counts as 0) and ours (an undefined rate is skipped) coincide.
    s = adult_scored
    attrs = grouping.split("&")
    features = s.groups.labels[attrs]
    expected = FAIRLEARN_FAIRNESS[name](s.y, s.label, sensitive_features=features)
    fv = next(f for f in evaluation.fairness if f.grouping == grouping and f.metric == name)
    assert fv.value == pytest.approx(expected, abs=TOL, rel=0)


@pytest.mark.slow
def test_fairness_defining_groups_are_the_extremes(adult_scored, evaluation):
    s = adult_scored
    frame = flm.MetricFrame(metrics=flm.selection_rate, y_true=s.y, y_pred=s.label,
                            sensitive_features=s.groups.labels["race"])
    fv = next(f for f in evaluation.fairness if f.grouping == "race" and f.metric == "demographic_parity_difference")
    assert fv.groups == (frame.by_group.idxmax(), frame.by_group.idxmin())
    assert fv.base_metric == "selection_rate"


@pytest.mark.slow
def test_undefined_rates_are_skipped_not_zero(adult_scored, evaluation):
    # race&age holds groups with no positive label: their recall is undefined and left out of the gap,
    # where fairlearn would count it as 0.
    s = adult_scored
    gm = next(g for g in evaluation.by_grouping if g.grouping == "race&age")
    undefined = [g for g, e in zip(gm.groups, gm.metrics["recall"]) if e.value is None]
    assert "Amer-Indian-Eskimo&0-25" in undefined
    frame = flm.MetricFrame(metrics=LABEL_REFERENCE["recall"], y_true=s.y, y_pred=s.label,
                            sensitive_features=s.groups.labels[["race", "age"]])
    fv = next(f for f in evaluation.fairness if f.grouping == "race&age" and f.metric == "equal_opportunity_difference")
    assert fv.value == pytest.approx(frame.by_group.max() - frame.by_group.min(), abs=TOL)  # pandas skips NaN


@pytest.mark.slow
def test_min_group_size_excludes_small_groups_from_gaps(adult_scored):
    s = adult_scored
    cells = cell_stats(leaf=s.groups.row_leaf, score=s.score, y=s.y, yhat=s.label, n_leaves=len(s.groups.leaf_levels))
    ev = evaluate(BinaryTable(cells), s.groups, registry=BINARY, replicates=0, level=0.95, seed=0, min_group_size=150)
    gm = next(g for g in ev.by_grouping if g.grouping == "race")
    small = {g for g, n in zip(gm.groups, gm.n) if n < 150}
    assert small == {"Other"}  # 135 rows
    assert gm.eligible == tuple(g not in small for g in gm.groups)
    fv = next(f for f in ev.fairness if f.grouping == "race" and f.metric == "demographic_parity_difference")
    assert set(fv.excluded_groups) == small
    keep = ~s.groups.labels["race"].isin(small).to_numpy()
    expected = flm.demographic_parity_difference(s.y[keep], s.label[keep],
                                                 sensitive_features=s.groups.labels["race"][keep])
    assert fv.value == pytest.approx(expected, abs=TOL)


def test_single_class_group_gives_null_auc_with_reason():
    groups_frame = pd.DataFrame({"g": ["a"] * 40 + ["b"] * 40})
    from audit.inputs._groups import build_groups

    gi = build_groups(groups_frame, sensitive=["g"], bins={}, intersections=1, source="t.csv")
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(40, int), rng.integers(0, 2, 40)]  # group a holds negatives only
    score = rng.random(80)
    cells = cell_stats(leaf=gi.row_leaf, score=score, y=y, yhat=(score > 0.5).astype(int), n_leaves=len(gi.leaf_levels))
    ev = evaluate(BinaryTable(cells), gi, registry=BINARY, replicates=30, level=0.95, seed=0, min_group_size=30)
    auc_a, auc_b = ev.by_grouping[0].metrics["roc_auc"]
    assert auc_a.value is None and auc_a.ci_low is None and "one class" in auc_a.reason
    assert auc_b.value == pytest.approx(skm.roc_auc_score(y[40:], score[40:]), abs=TOL)
    recall_a = ev.by_grouping[0].metrics["recall"][0]
    assert recall_a.value is None and recall_a.reason == "no positive labels"


def test_a_ratio_with_a_zero_rate_gets_an_interval_that_is_not_zero_to_zero():
    from audit.inputs._groups import build_groups

    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"g": np.repeat(["a", "b"], [60, 940])})
    groups = build_groups(frame, sensitive=["g"], bins={}, intersections=1, source="t")
    y = (rng.random(1000) < 0.4).astype(int)
    yhat = np.where(frame["g"] == "a", 0, (rng.random(1000) < 0.5).astype(int))  # group a is never selected
    cells = cell_stats(leaf=groups.row_leaf, score=yhat * 0.5 + rng.random(1000) * 0.5, y=y, yhat=yhat,
                       n_leaves=len(groups.leaf_levels))
    ev = evaluate(BinaryTable(cells), groups, registry=BINARY, replicates=100, level=0.95, seed=0, min_group_size=30)
    dpr = next(f for f in ev.fairness if f.metric == "demographic_parity_ratio")
    assert dpr.value == 0.0
    assert dpr.value == pytest.approx(flm.demographic_parity_ratio(y, yhat, sensitive_features=frame["g"]))
    # 0 of 60 selected: the group's rate may be up to about 7%, so the ratio up to about 0.15, not 0.
    assert dpr.ci_low == 0.0 and 0.1 < dpr.ci_high < 0.25


def test_bounded_bootstrap_metrics_get_logit_wald_intervals_from_the_replicates_standard_error():
    from scipy.special import expit, logit

    from audit.statistics._evaluate import _logit_intervals

    rng = np.random.default_rng(3)
    point = np.array([0.9, 0.6, 1.0])
    reps = np.column_stack([np.clip(0.9 + rng.normal(0, 0.03, 200), 0, 0.999),
                            0.6 + rng.normal(0, 0.05, 200), np.ones(200)])
    fallback = (np.array([0.1, 0.2, 0.3]), np.array([0.4, 0.5, 1.0]))
    lo, hi = _logit_intervals(point, reps, 0.0, 1.0, 0.95, fallback)
    for g in (0, 1):  # by hand: logit(point) -/+ 1.96 x the standard deviation of the replicates' logits
        se = np.std(logit(reps[:, g]), ddof=1)
        assert lo[g] == pytest.approx(expit(logit(point[g]) - 1.959964 * se), rel=1e-6)
        assert hi[g] == pytest.approx(expit(logit(point[g]) + 1.959964 * se), rel=1e-6)
        assert 0 < lo[g] < point[g] < hi[g] < 1
    assert hi[0] - point[0] < point[0] - lo[0]  # asymmetric towards the bound near it
    assert (lo[2], hi[2]) == (0.3, 1.0)  # a point on the bound keeps the fallback (the percentile interval)


def test_auc_interval_of_a_small_group_stays_inside_0_1_and_around_the_value():
    rng = np.random.default_rng(5)
    y = (rng.random(120) < 0.3).astype(int)
    score = np.clip(0.5 + np.where(y == 1, 0.3, -0.1) + rng.normal(0, 0.15, 120), 0, 1)
    frame = pd.DataFrame({"g": np.where(rng.random(120) < 0.5, "a", "b")})
    from audit.inputs._groups import build_groups

    groups = build_groups(frame, sensitive=["g"], bins={}, intersections=1, source="t")
    cells = cell_stats(leaf=groups.row_leaf, score=score, y=y, yhat=(score >= 0.5).astype(int),
                       n_leaves=len(groups.leaf_levels))
    ev = evaluate(BinaryTable(cells), groups, registry=BINARY, replicates=200, level=0.95, seed=0, min_group_size=1)
    for g, e in zip(ev.by_grouping[0].groups, ev.by_grouping[0].metrics["roc_auc"]):
        mask = frame["g"].to_numpy() == g
        assert e.value == pytest.approx(skm.roc_auc_score(y[mask], score[mask]))
        assert 0 <= e.ci_low < e.value < e.ci_high <= 1


def _three_groups(y_b: np.ndarray):
    """Groups a, b, c of 60 rows; b's labels are ``y_b``; a's recall is 0.5 and c's 1, both false positive rates 0.5."""
    from audit.inputs._groups import build_groups

    rng = np.random.default_rng(11)
    y = np.r_[np.tile([1, 0], 30), y_b, np.tile([1, 0], 30)]
    yhat = np.r_[np.tile([1, 1, 0, 0], 15), rng.integers(0, 2, 60), np.tile([1, 0, 1, 1], 15)]
    frame = pd.DataFrame({"g": np.repeat(["a", "b", "c"], 60)})
    gi = build_groups(frame, sensitive=["g"], bins={}, intersections=1, source="t.csv")
    cells = cell_stats(leaf=gi.row_leaf, score=yhat * 0.8 + 0.1, y=y, yhat=yhat, n_leaves=len(gi.leaf_levels))
    ev = evaluate(BinaryTable(cells), gi, registry=BINARY, replicates=50, level=0.95, seed=0, min_group_size=30)
    return y, yhat, {f.metric: f for f in ev.fairness}


def test_equalized_odds_never_falls_back_to_half_a_metric_and_never_names_an_excluded_group():
    # Group b has no positive labels: its recall is undefined, so it is left out of every recall-based gap
    # (equalized odds included, even though its false positive rate is defined), and named as excluded.
    y, yhat, fv = _three_groups(np.zeros(60, int))
    eo = fv["equalized_odds_difference"]
    assert eo.excluded_groups == ("b",) and "b" not in eo.groups and eo.n_groups == 2
    a, c = slice(0, 60), slice(120, 180)
    ref = flm.equalized_odds_difference(np.r_[y[a], y[c]], np.r_[yhat[a], yhat[c]],
                                        sensitive_features=["a"] * 60 + ["c"] * 60)
    assert eo.value == pytest.approx(ref, abs=TOL)
    # The false positive rate gap alone still uses b (its negatives are there).
    assert fv["false_positive_rate_difference"].excluded_groups == ()


def test_a_composite_is_undefined_when_a_part_is_with_two_groups():
    from audit.inputs._groups import build_groups

    frame = pd.DataFrame({"g": np.repeat(["a", "b"], 60)})
    gi = build_groups(frame, sensitive=["g"], bins={}, intersections=1, source="t.csv")
    y = np.r_[np.tile([1, 0], 30), np.zeros(60, int)]
    yhat = np.r_[np.tile([1, 1, 0, 0], 15), np.tile([1, 0, 0], 20)]
    cells = cell_stats(leaf=gi.row_leaf, score=yhat * 0.8 + 0.1, y=y, yhat=yhat, n_leaves=len(gi.leaf_levels))
    ev = evaluate(BinaryTable(cells), gi, registry=BINARY, replicates=50, level=0.95, seed=0, min_group_size=30)
    fv = {f.metric: f for f in ev.fairness}
    for name in ("equalized_odds_difference", "equalized_odds_ratio", "equal_opportunity_difference"):
        assert fv[name].value is None and fv[name].groups is None and "recall" in fv[name].reason
    assert fv["false_positive_rate_difference"].value == pytest.approx(abs(0.5 - 1 / 3), abs=TOL)


def test_tied_groups_are_not_named_as_a_pair():
    from audit.checks._fairness import check_fairness
    from audit.inputs._groups import build_groups
    from audit.settings._config import FairnessConfig

    frame = pd.DataFrame({"g": np.repeat(["a", "b"], 40)})
    gi = build_groups(frame, sensitive=["g"], bins={}, intersections=1, source="t.csv")
    y, yhat = np.tile([1, 0, 1, 0], 20), np.tile([1, 1, 0, 0], 20)  # the same rates in both groups
    cells = cell_stats(leaf=gi.row_leaf, score=yhat * 0.8 + 0.1, y=y, yhat=yhat, n_leaves=len(gi.leaf_levels))
    ev = evaluate(BinaryTable(cells), gi, registry=BINARY, replicates=50, level=0.95, seed=0, min_group_size=30)
    dp = next(f for f in ev.fairness if f.metric == "demographic_parity_difference")
    assert dp.value == 0 and dp.groups is None
    findings = check_fairness(evaluation=ev, config=FairnessConfig(max={"demographic_parity_difference": 0.5}))
    message = next(f.message for f in findings if f.threshold.metric == "demographic_parity_difference")
    assert message.startswith("g: demographic parity difference is 0") and " vs " not in message
