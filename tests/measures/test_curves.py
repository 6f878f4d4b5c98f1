"""ROC and calibration curves and confusion counts by group, against scikit-learn on masked Adult rows."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.calibration import calibration_curve
from sklearn.metrics import auc, confusion_matrix, roc_auc_score, roc_curve

from audit.statistics._tables import BinaryTable
from audit.statistics._metrics import BINARY
from audit.measures._curves import curves, thin_roc
from audit.measures._highlights import worst_groups
from audit.statistics._evaluate import evaluate
from audit.statistics._cells import cell_stats, merge


@pytest.fixture(scope="module")
def adult(adult_scored):
    s = adult_scored
    cells = cell_stats(leaf=s.groups.row_leaf, score=s.score, y=s.y, yhat=s.label, n_leaves=len(s.groups.leaf_levels))
    return s, curves(cells, s.groups, probabilistic=True)


def _masks(s):
    yield "all rows", None, np.ones(len(s.y), dtype=bool)
    for attribute in ("sex", "race", "age"):
        labels = s.groups.labels[attribute].to_numpy()
        for group in s.groups.grouping(attribute).groups:
            yield attribute, group, labels == group


def _of(c, attribute, group):
    if group is None:
        return c.overall
    return next(g for g in c.by_attribute[attribute] if g.group == group)


@pytest.mark.slow
def test_only_single_attributes_get_curves(adult):
    s, c = adult
    assert list(c.by_attribute) == ["sex", "race", "age"]  # the audit has intersections up to 3; none here
    for attribute, groups in c.by_attribute.items():
        assert [g.group for g in groups] == list(s.groups.grouping(attribute).groups)
        assert sum(g.n for g in groups) == len(s.y)


@pytest.mark.slow
def test_confusion_counts_match_scikit_learn(adult):
    s, c = adult
    for attribute, group, mask in _masks(s):
        tn, fp, fn, tp = confusion_matrix(s.y[mask], s.label[mask], labels=[0, 1]).ravel()
        got = _of(c, attribute, group).confusion
        assert (got.tn, got.fp, got.fn, got.tp) == (tn, fp, fn, tp), (attribute, group)


@pytest.mark.slow
def test_roc_vertices_are_scikit_learns_and_keep_its_area(adult):
    s, c = adult
    checked = 0
    for attribute, group, mask in _masks(s):
        roc = _of(c, attribute, group).roc
        y, score = s.y[mask], s.score[mask]
        if y.min() == y.max():
            assert roc is None
            continue
        fpr, tpr, thr = roc_curve(y, score, drop_intermediate=False)
        assert len(roc.fpr) <= c.roc_points
        assert (roc.fpr[0], roc.tpr[0], roc.threshold[0]) == (0.0, 0.0, None) and np.isinf(thr[0])
        assert (roc.fpr[-1], roc.tpr[-1]) == (1.0, 1.0)
        # Every kept vertex is one of scikit-learn's, at the same threshold.
        where = {t: i for i, t in enumerate(thr[1:], start=1)}
        for f, t, th in zip(roc.fpr[1:], roc.tpr[1:], roc.threshold[1:]):
            i = where[th]
            assert abs(f - fpr[i]) < 1e-12 and abs(t - tpr[i]) < 1e-12
        assert np.all(np.diff(roc.fpr) >= 0) and np.all(np.diff(roc.tpr) >= 0)
        # Thinning keeps the area within a few thousandths of the exact AUC.
        assert abs(auc(roc.fpr, roc.tpr) - roc_auc_score(y, score)) < 0.01, (attribute, group)
        checked += 1
    assert checked >= 10


@pytest.mark.slow
def test_calibration_bins_match_scikit_learn(adult):
    s, c = adult
    for attribute, group, mask in _masks(s):
        cal = _of(c, attribute, group).calibration
        prob_true, prob_pred = calibration_curve(s.y[mask], s.score[mask], n_bins=c.calibration_bins)
        np.testing.assert_allclose(cal.positive_rate, prob_true, rtol=0, atol=1e-9)
        np.testing.assert_allclose(cal.mean_score, prob_pred, rtol=0, atol=1e-9)
        assert sum(cal.n) == mask.sum()


@pytest.mark.slow
def test_curves_of_batches_equal_curves_of_the_whole(adult_scored):
    s = adult_scored
    n_leaves = len(s.groups.leaf_levels)
    whole = cell_stats(leaf=s.groups.row_leaf, score=s.score, y=s.y, yhat=s.label, n_leaves=n_leaves)
    cuts = np.array_split(np.arange(len(s.y)), 3)
    parts = merge([cell_stats(leaf=s.groups.row_leaf[i], score=s.score[i], y=s.y[i], yhat=s.label[i],
                              n_leaves=n_leaves) for i in cuts])
    assert curves(parts, s.groups, probabilistic=True) == curves(whole, s.groups, probabilistic=True)


@pytest.mark.slow
def test_no_calibration_for_scores_that_are_not_probabilities(adult_scored):
    s = adult_scored
    cells = cell_stats(leaf=s.groups.row_leaf, score=np.log(s.score / (1 - s.score)), y=s.y, yhat=s.label,
                       n_leaves=len(s.groups.leaf_levels))
    c = curves(cells, s.groups, probabilistic=True)
    assert c.overall.calibration is None and c.overall.roc is not None


@pytest.mark.slow
def test_worst_groups_are_the_lowest_judged_values(adult_scored):
    s = adult_scored
    cells = cell_stats(leaf=s.groups.row_leaf, score=s.score, y=s.y, yhat=s.label, n_leaves=len(s.groups.leaf_levels))
    ev = evaluate(BinaryTable(cells), s.groups, registry=BINARY, replicates=0, level=0.95, seed=0, min_group_size=30)
    worst = {w.metric: w for w in worst_groups(ev, metrics=["recall", "log_loss", "selection_rate"],
                                               min_group_size=30)}
    assert set(worst) == {"recall", "log_loss"}  # selection rate has no better direction
    # Recall by hand: over every group of every grouping with >= 30 rows and >= 30 positives.
    best = None
    for gm in ev.by_grouping:
        parts = s.groups.labels[list(gm.attributes)].astype(str)
        labels = parts.iloc[:, 0].str.cat([parts[c] for c in parts.columns[1:]], sep="&").to_numpy()
        for g in gm.groups:
            m = labels == g
            if m.sum() >= 30 and s.y[m].sum() >= 30:
                r = (s.label[m] & s.y[m]).sum() / s.y[m].sum()
                best = min(best or (2.0, ""), (r, g))
    assert (worst["recall"].group, worst["recall"].estimate.value) == (best[1], pytest.approx(best[0], abs=1e-12))
    assert worst["recall"].overall.value == pytest.approx(ev.overall["recall"].value)


@given(st.lists(st.floats(0, 1), min_size=2, max_size=300).map(sorted), st.integers(2, 60))
@settings(max_examples=60, deadline=None)
def test_thinning_keeps_the_ends_and_at_most_the_asked_points(values, points):
    fpr = np.array(values)
    tpr = np.sqrt(fpr)
    keep = thin_roc(fpr, tpr, points=points)
    assert keep[0] == 0 and keep[-1] == len(fpr) - 1
    assert len(keep) <= max(points, 2) + 1 and np.all(np.diff(keep) > 0)
