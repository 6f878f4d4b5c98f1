"""Properties of the cell statistics: additivity, invariance, exactness of AUC with ties, bounds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from audit.statistics._metrics import METRICS
from audit.statistics._cells import SUM_NAMES, PoissonReplicates, cell_stats, coarsen, group_sums, leaf_sums, merge, rest_sums


@st.composite
def rows(draw, min_size=2, max_size=300):
    n = draw(st.integers(min_size, max_size))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    leaves = draw(st.integers(1, 6))
    # Few distinct scores, so ties are frequent: the hard case for AUC.
    levels = draw(st.integers(1, 12))
    score = rng.integers(0, levels, n) / max(levels - 1, 1)
    y = rng.integers(0, 2, n)
    yhat = (score >= 0.5).astype(int)
    return rng.integers(0, leaves, n), score, y, yhat, leaves


def _weights(cells, replicates, seed):
    w = cells.count[None, :]
    if replicates:
        w = np.vstack([w, PoissonReplicates(cells, seed=seed).draw(replicates)])
    return w


def _sums(cells, *, replicates=0, seed=0, leaf_group=None, n_groups=None):
    if leaf_group is None:
        leaf_group = np.arange(cells.n_leaves)
        n_groups = cells.n_leaves
    w = _weights(cells, replicates, seed)
    return group_sums(cells, w, leaf_sums(cells, w), leaf_group=leaf_group, n_groups=n_groups)


@settings(max_examples=60, deadline=None)
@given(rows(), st.data())
def test_stats_are_additive(data, draw):
    leaf, score, y, yhat, leaves = data
    cut = draw.draw(st.integers(0, len(leaf)))
    whole = cell_stats(leaf=leaf, score=score, y=y, yhat=yhat, n_leaves=leaves)
    a = cell_stats(leaf=leaf[:cut], score=score[:cut], y=y[:cut], yhat=yhat[:cut], n_leaves=leaves)
    b = cell_stats(leaf=leaf[cut:], score=score[cut:], y=y[cut:], yhat=yhat[cut:], n_leaves=leaves)
    merged = a + b
    for field in ("leaf", "score", "y", "yhat", "count", "log_loss", "brier"):
        np.testing.assert_array_equal(getattr(merged, field), getattr(whole, field))
    # Identical cells give identical bootstrap draws too, however the rows arrived.
    s1, s2 = _sums(whole, replicates=5, seed=3), _sums(merged, replicates=5, seed=3)
    for name in SUM_NAMES:
        np.testing.assert_array_equal(s1[name], s2[name])


@settings(max_examples=60, deadline=None)
@given(rows())
def test_row_order_does_not_matter(data):
    leaf, score, y, yhat, leaves = data
    perm = np.random.default_rng(0).permutation(len(leaf))
    s1 = _sums(cell_stats(leaf=leaf, score=score, y=y, yhat=yhat, n_leaves=leaves))
    s2 = _sums(cell_stats(leaf=leaf[perm], score=score[perm], y=y[perm], yhat=yhat[perm], n_leaves=leaves))
    for name in SUM_NAMES:
        np.testing.assert_allclose(s1[name], s2[name], rtol=0, atol=1e-9)


@settings(max_examples=80, deadline=None)
@given(rows())
def test_auc_with_ties_equals_sklearn_per_group(data):
    leaf, score, y, yhat, leaves = data
    cells = cell_stats(leaf=leaf, score=score, y=y, yhat=yhat, n_leaves=leaves)
    auc = METRICS["roc_auc"].compute(_sums(cells))[0]
    for g in range(leaves):
        mask = leaf == g
        if mask.any() and len(np.unique(y[mask])) == 2:
            assert auc[g] == pytest.approx(roc_auc_score(y[mask], score[mask]), abs=1e-12)
        else:
            assert np.isnan(auc[g])


@settings(max_examples=60, deadline=None)
@given(rows())
def test_group_sums_add_up_to_the_overall_sums(data):
    leaf, score, y, yhat, leaves = data
    cells = cell_stats(leaf=leaf, score=score, y=y, yhat=yhat, n_leaves=leaves)
    per_leaf = _sums(cells, replicates=3, seed=1)
    overall = _sums(cells, replicates=3, seed=1, leaf_group=np.zeros(leaves, dtype=np.int64), n_groups=1)
    for name in SUM_NAMES:
        if name != "auc_num":  # AUC pair counts are within-group only
            np.testing.assert_allclose(per_leaf[name].sum(axis=1), overall[name][:, 0], rtol=1e-12, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(rows(), st.integers(1, 20), st.integers(0, 1000))
def test_metrics_stay_in_their_bounds_in_every_replicate(data, replicates, seed):
    leaf, score, y, yhat, leaves = data
    cells = cell_stats(leaf=leaf, score=score, y=y, yhat=yhat, n_leaves=leaves)
    sums = _sums(cells, replicates=replicates, seed=seed)
    for name, spec in METRICS.items():
        values = spec.compute(sums)
        finite = values[np.isfinite(values)]
        assert (finite >= -1e-12).all(), name
        if name != "log_loss":
            assert (finite <= 1 + 1e-12).all(), name


def test_bootstrap_is_seeded_and_replicate_r_does_not_depend_on_the_chunk():
    rng = np.random.default_rng(5)
    cells = cell_stats(leaf=rng.integers(0, 3, 500), score=rng.random(500), y=rng.integers(0, 2, 500),
                       yhat=rng.integers(0, 2, 500), n_leaves=3)
    whole = PoissonReplicates(cells, seed=42).draw(20)
    stream = PoissonReplicates(cells, seed=42)
    np.testing.assert_array_equal(np.vstack([stream.draw(3), stream.draw(10), stream.draw(7)]), whole)
    assert not np.array_equal(whole, PoissonReplicates(cells, seed=43).draw(20))
    # Poisson(count) draws: the mean total over replicates is near the row count.
    assert abs(whole.sum(axis=1).mean() - 500) < 4 * np.sqrt(500 / 20)


@settings(max_examples=60, deadline=None)
@given(rows(), st.integers(0, 5))
def test_rest_sums_equal_the_complement_computed_directly(data, seed):
    leaf, score, y, yhat, leaves = data
    cells = cell_stats(leaf=leaf, score=score, y=y, yhat=yhat, n_leaves=leaves)
    w = _weights(cells, 3, seed)
    per_leaf = leaf_sums(cells, w)
    groups = group_sums(cells, w, per_leaf, leaf_group=np.arange(leaves), n_groups=leaves)
    rest = rest_sums(groups, per_leaf, leaf_group=np.arange(leaves), n_groups=leaves)
    for g in range(leaves):
        # The complement of leaf g as a grouping of its own: group 1 is "everything but g".
        complement = (np.arange(leaves) != g).astype(np.int64)
        direct = group_sums(cells, w, per_leaf, leaf_group=complement, n_groups=2)
        for name in SUM_NAMES:
            np.testing.assert_allclose(rest[name][:, g], direct[name][:, 1], rtol=1e-12, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(rows(min_size=20))
def test_coarsening_keeps_counts_and_losses_and_orders_scores(data):
    leaf, score, y, yhat, leaves = data
    cells = cell_stats(leaf=leaf, score=score, y=y, yhat=yhat, n_leaves=leaves)
    coarse = coarsen(cells)
    s_exact, s_coarse = _sums(cells), _sums(coarse)
    for name in SUM_NAMES[:-1]:
        np.testing.assert_allclose(s_exact[name], s_coarse[name], rtol=1e-12, atol=1e-9)
    # Distinct scores here are at least 1/11 apart: far more than a bin, so AUC is unchanged too.
    np.testing.assert_allclose(s_exact["auc_num"], s_coarse["auc_num"], rtol=1e-12)
    assert merge([coarse]).n_rows == len(leaf)
