"""The group-statistics engine (design §5).

All built-in metrics are functions of one additive table: per *cell*
``(leaf, score, label, predicted label)`` the number of rows and the sums of
their log loss and Brier loss. Groups are unions of leaves, so one pass over
the rows serves every attribute and intersection, and the table of a data
set is the sum of the tables of its parts (batches, partitions).

Bootstrap replicates resample rows with Poisson(1) weights. Rows in one cell
are interchangeable for the count metrics, and a sum of ``m`` independent
Poisson(1) weights is Poisson(``m``), so a replicate draws one Poisson count
per cell: the distribution of row weights, at the cost of the cell table.
Replicates use a *coarsened* table whose scores are binned finely on the
logit scale (count metrics are unchanged by it); intervals are then shifted
by the coarse table's own point estimate so that they centre on the exact
one. The draws depend only on the table, so they are the same whether the
table was built in one piece, in batches or on a cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
from scipy import sparse

from ..inputs._groups import factorize_sorted

__all__ = ["CellStats", "cell_stats", "merge", "relabel", "coarsen", "PoissonReplicates", "LeafSums", "leaf_sums",
           "leaf_indicator", "dense_membership", "membership", "to_groups", "pairs_on_grid", "group_sums", "rest_sums", "SUM_NAMES", "BOOTSTRAP_BINS"]

#: Additive per-group sums the metric registry reads (``auc_num`` is per group, not additive).
SUM_NAMES = ("n", "pos", "neg", "tp", "fp", "fn", "tn", "log_loss_sum", "brier_sum", "auc_num")
_ADDITIVE = SUM_NAMES[:-1]
#: Score bins of the coarsened table used for bootstrap replicates (on the logit scale).
BOOTSTRAP_BINS = 1 << 10
_LOGIT_RANGE = 28.0
# Leaves x distinct scores up to which AUC pairs are counted on a dense (leaf, score) grid, and leaves x
# leaves x scores (the batched product's work) up to which that beats one sort per grouping; beyond
# either, the work and memory stay linear in the cells (see :func:`_auc_within`).
_PAIR_MATRIX_LIMIT = 1 << 18
_PAIR_WORK_LIMIT = 1 << 24


def pairs_on_grid(cells: "CellStats") -> bool:
    """Whether :func:`leaf_sums` counts AUC pairs between every two leaves (few leaves and scores)."""
    return (cells.n_leaves * cells.n_scores <= _PAIR_MATRIX_LIMIT
            and cells.n_leaves * cells.n_leaves * cells.n_scores <= _PAIR_WORK_LIMIT)
_EPS = np.finfo(np.float64).eps


@dataclass(frozen=True)
class CellStats:
    """Row counts and loss sums per ``(leaf, score, y, yhat)``, sorted by leaf then score.

    Additive: ``a + b`` is the table of the union of the two row sets.
    """

    leaf: np.ndarray
    score: np.ndarray
    y: np.ndarray
    yhat: np.ndarray
    count: np.ndarray
    n_leaves: int
    #: Dense rank of each cell's score among the table's distinct scores (saves sorting again).
    rank: np.ndarray
    n_scores: int
    #: Loss sums of binned cells; exact cells derive theirs from score, label and count (saves memory).
    loss_sums: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def n_rows(self) -> int:
        return int(self.count.sum())

    @property
    def log_loss(self) -> np.ndarray:
        """Sum of the log loss of the rows of each cell."""
        return self.loss_sums[0] if self.loss_sums is not None else _row_losses(self.score, self.y)[0] * self.count

    @property
    def brier(self) -> np.ndarray:
        """Sum of the Brier loss of the rows of each cell."""
        return self.loss_sums[1] if self.loss_sums is not None else _row_losses(self.score, self.y)[1] * self.count

    def __add__(self, other: "CellStats") -> "CellStats":
        return merge([self, other])


def _compact(leaf: np.ndarray, score: np.ndarray, y: np.ndarray, yhat: np.ndarray, count: np.ndarray,
             n_leaves: int, losses: tuple[np.ndarray, np.ndarray] | None = None) -> CellStats:
    """Sum rows (or cells) with equal ``(leaf, score, y, yhat)``; cells come out sorted.

    Without ``losses`` the scores are exact and every row of a cell has the same
    loss, so a cell's loss sum is its count times that loss: independent of the
    order rows arrived in, hence equal to the last bit however the data was cut.
    """
    values, score_idx = factorize_sorted(score)
    key = ((leaf.astype(np.int64) * len(values) + score_idx) * 2 + y) * 2 + yhat
    keys, inverse = factorize_sorted(key)

    def total(w: np.ndarray) -> np.ndarray:
        return np.bincount(inverse, weights=w, minlength=len(keys))

    del key
    loss_sums = None if losses is None else (total(losses[0]), total(losses[1]))
    cell_count = total(count)
    del inverse
    rest = keys // 4
    return CellStats(leaf=(rest // len(values)).astype(np.int32), score=values[rest % len(values)],
                     y=((keys // 2) % 2).astype(np.int8), yhat=(keys % 2).astype(np.int8), count=cell_count,
                     n_leaves=n_leaves, rank=(rest % len(values)).astype(np.int32), n_scores=len(values),
                     loss_sums=loss_sums)


def _row_losses(score: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Same clipping as scikit-learn's log_loss: both class probabilities clipped to [eps, 1 - eps].
    p1 = np.clip(score, _EPS, 1 - _EPS)
    p0 = np.clip(1 - score, _EPS, 1 - _EPS)
    return np.where(y == 1, -np.log(p1), -np.log(p0)), (y - score) ** 2


def cell_stats(*, leaf: np.ndarray, score: np.ndarray, y: np.ndarray, yhat: np.ndarray,
               n_leaves: int) -> CellStats:
    """Count rows per cell in one vectorised pass.

    Parameters
    ----------
    leaf : ndarray of int
        Leaf (combination of sensitive levels) of each row.
    score : ndarray of float
        Score of the positive class (a probability for log loss and Brier).
    y, yhat : ndarray of {0, 1}
        True and predicted labels.
    n_leaves : int
        Number of leaves.

    Examples
    --------
    >>> s = cell_stats(leaf=np.array([0, 0, 1]), score=np.array([.2, .2, .9]),
    ...                y=np.array([0, 0, 1]), yhat=np.array([0, 0, 1]), n_leaves=2)
    >>> s.count.tolist(), s.leaf.tolist(), s.brier.round(2).tolist()
    ([2.0, 1.0], [0, 1], [0.08, 0.01])
    """
    score = np.asarray(score, dtype=np.float64)
    return _compact(np.asarray(leaf, dtype=np.int64), score, np.asarray(y, dtype=np.int8),
                    np.asarray(yhat, dtype=np.int8), np.ones(len(score)), n_leaves)


def merge(parts: list[CellStats]) -> CellStats:
    """Sum of several tables (of batches or partitions) in one pass."""
    if len(parts) == 1:
        return parts[0]
    n_leaves = max(p.n_leaves for p in parts)
    fields = [np.concatenate([getattr(p, f) for p in parts]) for f in ("leaf", "score", "y", "yhat", "count")]
    return _compact(*fields, n_leaves=n_leaves)


def relabel(cells: CellStats, new_leaf: np.ndarray) -> CellStats:
    """The table with leaf ``l`` renamed ``new_leaf[l]`` (a permutation of the leaves).

    Cells stay sorted by score within each leaf, so a stable sort on the new
    leaf numbers restores the (leaf, score) order.
    """
    new_leaf = np.asarray(new_leaf, dtype=np.int64)
    if np.array_equal(new_leaf, np.arange(len(new_leaf))):
        return cells
    leaf = new_leaf[cells.leaf]
    order = np.argsort(leaf, kind="stable")
    losses = None if cells.loss_sums is None else (cells.loss_sums[0][order], cells.loss_sums[1][order])
    return CellStats(leaf=leaf[order].astype(np.int32), score=cells.score[order], y=cells.y[order],
                     yhat=cells.yhat[order], count=cells.count[order], n_leaves=cells.n_leaves,
                     rank=cells.rank[order], n_scores=cells.n_scores, loss_sums=losses)


def coarsen(cells: CellStats, *, bins: int = BOOTSTRAP_BINS) -> CellStats:
    """The table with scores binned on the logit scale (counts and loss sums kept exact).

    Probabilities are binned on ``logit(p)``, other scores on ``arcsinh(s)``,
    each over ``[-28, 28]``; AUC then counts pairs within a bin as ties.
    """
    s = cells.score
    if len(s) and s.min() >= 0 and s.max() <= 1:
        p = np.clip(s, 1e-12, 1 - 1e-12)
        t = np.log(p) - np.log1p(-p)
    else:
        t = np.arcsinh(s)
    b = np.floor((np.clip(t, -_LOGIT_RANGE, _LOGIT_RANGE) + _LOGIT_RANGE) / (2 * _LOGIT_RANGE) * (bins - 1))
    b = b.astype(np.int64)
    space = cells.n_leaves * bins * 4
    if space > 1 << 26:
        return _compact(cells.leaf, b.astype(np.float64), cells.y, cells.yhat, cells.count, cells.n_leaves,
                        losses=(cells.log_loss, cells.brier))
    # Small key space: counting sort by bincount, no comparison sort of the (large) exact table.
    key = ((cells.leaf * bins + b) * 2 + cells.y) * 2 + cells.yhat
    occupied = np.bincount(key, minlength=space) > 0
    keys = np.flatnonzero(occupied)
    slot = np.cumsum(occupied) - 1
    inverse = slot[key]

    def total(w: np.ndarray) -> np.ndarray:
        return np.bincount(inverse, weights=w, minlength=len(keys))

    rest = keys // 4
    used_bins, rank = np.unique(rest % bins, return_inverse=True)
    return CellStats(leaf=(rest // bins).astype(np.int32), score=(rest % bins).astype(np.float64),
                     y=((keys // 2) % 2).astype(np.int8), yhat=(keys % 2).astype(np.int8), count=total(cells.count),
                     n_leaves=cells.n_leaves, rank=rank.reshape(-1).astype(np.int32), n_scores=len(used_bins),
                     loss_sums=(total(cells.log_loss), total(cells.brier)))


class PoissonReplicates:
    """Poisson bootstrap weights of each cell, drawn replicate after replicate from one seeded stream.

    Draws are sequential, so replicate ``r`` is the same whatever chunk sizes
    it is taken in; and they depend only on the table, not on how the rows
    were cut into batches or partitions.

    Examples
    --------
    >>> cells = cell_stats(leaf=np.zeros(4, int), score=np.arange(4) / 4, y=np.array([0, 1, 0, 1]),
    ...                    yhat=np.array([0, 0, 1, 1]), n_leaves=1)
    >>> a = PoissonReplicates(cells, seed=3); b = PoissonReplicates(cells, seed=3)
    >>> bool((np.vstack([a.draw(2), a.draw(3)]) == b.draw(5)).all())
    True
    """

    def __init__(self, cells: CellStats, *, seed: int) -> None:
        self._rng = np.random.default_rng(np.random.SeedSequence(seed))
        self._lam = cells.count

    def draw(self, replicates: int) -> np.ndarray:
        """The next ``replicates`` rows of weights, shape ``(replicates, cells)``."""
        return self._rng.poisson(self._lam, size=(replicates, len(self._lam))).astype(np.float64)


@dataclass(frozen=True)
class LeafSums:
    """Additive sums per leaf, shape ``(replicates, leaves)`` each, plus the cross-group AUC terms.

    ``auc_pos_all[:, l]`` counts pairs (positive in leaf ``l``, any negative)
    ordered right; ``auc_neg_all[:, l]`` pairs (any positive, negative in ``l``).
    ``auc_total`` is the overall pair count, shape ``(replicates,)``. For a
    table with few distinct scores (the coarsened one), ``pairs[:, a, b]``
    counts pairs (positive in leaf ``a``, negative in leaf ``b``) ordered
    right, from which every group's AUC follows without sorting.
    """

    sums: dict[str, np.ndarray]
    auc_pos_all: np.ndarray
    auc_neg_all: np.ndarray
    auc_total: np.ndarray
    pairs: np.ndarray | None = None


def leaf_sums(cells: CellStats, weights: np.ndarray) -> LeafSums:
    """Per-leaf sums for each row of ``weights`` (one row per replicate)."""
    n_cells = len(cells.y)
    reps = weights.shape[0]
    y = cells.y.astype(np.float64)
    onehot = None if reps == 1 else sparse.csr_matrix((np.ones(n_cells), (np.arange(n_cells), cells.leaf)),
                                                      shape=(n_cells, cells.n_leaves))

    def by_leaf(values: np.ndarray) -> np.ndarray:
        # (replicates, cells) -> (replicates, leaves). A single row (the exact table, which can hold
        # millions of cells) is one bincount; many replicate rows are one sparse product.
        if onehot is None:
            return np.bincount(cells.leaf, weights=values[0], minlength=cells.n_leaves)[None, :]
        return np.asarray(onehot.T.dot(values.T).T)

    def per_cell() -> Iterator[np.ndarray]:
        # One statistic at a time, so a table of millions of cells never holds nine copies at once.
        yhat = cells.yhat.astype(np.float64)
        count = np.where(cells.count > 0, cells.count, 1.0)
        yield np.ones_like(y)
        yield y
        yield 1 - y
        yield y * yhat
        yield (1 - y) * yhat
        yield y * (1 - yhat)
        yield (1 - y) * (1 - yhat)
        yield cells.log_loss / count
        yield cells.brier / count

    if reps == 1:
        sums = {name: by_leaf(weights * v) for name, v in zip(_ADDITIVE, per_cell())}
    else:
        k = len(_ADDITIVE)
        design = sparse.csr_matrix((np.column_stack(list(per_cell())).reshape(-1),
                                    (np.repeat(np.arange(n_cells), k),
                                     (cells.leaf[:, None].astype(np.int64) * k + np.arange(k)[None, :]).reshape(-1))),
                                   shape=(n_cells, cells.n_leaves * k))
        summed = np.asarray(design.T.dot(weights.T).T).reshape(reps, cells.n_leaves, k)
        sums = {name: summed[:, :, i] for i, name in enumerate(_ADDITIVE)}

    if pairs_on_grid(cells):
        # Positives and negatives per (leaf, score) for every replicate; one batched product then
        # counts the ordered pairs between every two leaves.
        grid = sparse.csr_matrix((np.ones(n_cells), (np.arange(n_cells),
                                                     cells.leaf.astype(np.int64) * cells.n_scores + cells.rank)),
                                 shape=(n_cells, cells.n_leaves * cells.n_scores))
        shape = (reps, cells.n_leaves, cells.n_scores)
        pos = np.asarray(grid.T.dot((weights * y).T).T).reshape(shape)
        neg = np.asarray(grid.T.dot((weights * (1 - y)).T).T).reshape(shape)
        below = np.cumsum(neg, axis=2) - 0.5 * neg  # negatives of leaf b scored lower; ties count one half
        pairs = np.matmul(pos, below.transpose(0, 2, 1))
        pos_all, neg_all = pairs.sum(axis=2), pairs.sum(axis=1)
        return LeafSums(sums=sums, auc_pos_all=pos_all, auc_neg_all=neg_all, auc_total=pos_all.sum(axis=1),
                        pairs=pairs)
    # Pairs against the whole population: totals per distinct score, cumulated in score order.
    pos = by_rank(cells, weights * y)
    neg = by_rank(cells, weights * (1 - y))
    neg_below = np.cumsum(neg, axis=1) - 0.5 * neg  # negatives scored lower, ties count one half
    pos_above = pos.sum(axis=1, keepdims=True) - np.cumsum(pos, axis=1) + 0.5 * pos
    pos_all = by_leaf(weights * y * neg_below[:, cells.rank])
    neg_all = by_leaf(weights * (1 - y) * pos_above[:, cells.rank])
    return LeafSums(sums=sums, auc_pos_all=pos_all, auc_neg_all=neg_all, auc_total=pos_all.sum(axis=1))


def by_rank(cells: CellStats, values: np.ndarray) -> np.ndarray:
    """Sum ``values`` (replicates, cells) over cells of equal score: shape (replicates, distinct scores)."""
    if values.shape[0] == 1:
        return np.bincount(cells.rank, weights=values[0], minlength=cells.n_scores)[None, :]
    onehot = sparse.csr_matrix((np.ones(len(cells.rank)), (np.arange(len(cells.rank)), cells.rank)),
                               shape=(len(cells.rank), cells.n_scores))
    return np.asarray(onehot.T.dot(values.T).T)


# Leaves x groups up to which the membership is a dense 0/1 matrix (a BLAS product, the summation order
# the engine has always had); beyond it a sparse one, linear in the leaves.
_DENSE_MEMBERSHIP = 1 << 16


def dense_membership(n_leaves: int, n_groups: int) -> bool:
    """Whether group sums go through a dense ``(leaves, groups)`` matrix (few leaves and groups)."""
    return n_leaves * n_groups <= _DENSE_MEMBERSHIP


def leaf_indicator(leaf_group: np.ndarray, n_groups: int) -> np.ndarray | sparse.csr_matrix:
    """``(leaves, groups)`` 0/1 matrix of group membership: dense when small, else sparse (one entry per leaf)."""
    leaf_group = np.asarray(leaf_group, dtype=np.int64)
    if dense_membership(len(leaf_group), n_groups):
        indicator = np.zeros((len(leaf_group), n_groups))
        indicator[np.arange(len(leaf_group)), leaf_group] = 1.0
        return indicator
    return sparse.csr_matrix((np.ones(len(leaf_group)), (np.arange(len(leaf_group)), leaf_group)),
                             shape=(len(leaf_group), n_groups))


def membership(leaf_group: np.ndarray, n_groups: int) -> np.ndarray | sparse.csr_matrix:
    """What :func:`to_groups` sums by, made once for many calls: the dense ``(leaves, groups)`` matrix, or
    the sparse ``(groups, leaves)`` one."""
    indicator = leaf_indicator(leaf_group, n_groups)
    return indicator if isinstance(indicator, np.ndarray) else indicator.T.tocsr()


def to_groups(values: np.ndarray, leaf_group: np.ndarray, n_groups: int, *, axis: int = -1,
              members: np.ndarray | sparse.csr_matrix | None = None) -> np.ndarray:
    """``values`` summed over the leaves of each group along ``axis`` (the leaf axis becomes the group axis).

    Memory and time are linear in the leaves and groups: one pass over the values through a sparse
    membership (each leaf belongs to one group), never a dense leaves x groups matrix.

    Examples
    --------
    >>> to_groups(np.array([[1., 2., 3.], [4., 5., 6.]]), np.array([1, 0, 1]), 2).tolist()
    [[2.0, 4.0], [5.0, 10.0]]
    """
    values = np.asarray(values, dtype=np.float64)
    moved = np.moveaxis(values, axis, -1)
    flat = moved.reshape(-1, moved.shape[-1])
    leaf_group = np.asarray(leaf_group, dtype=np.int64)
    members = membership(leaf_group, n_groups) if members is None else members
    if isinstance(members, np.ndarray):
        out = flat @ members
    elif flat.shape[0] == 1:
        out = np.bincount(leaf_group, weights=flat[0], minlength=n_groups)[None, :]
    else:
        # (groups, leaves) sparse times (leaves, rows): each group's leaves summed in leaf order.
        out = np.asarray(members @ np.ascontiguousarray(flat.T)).T
    return np.moveaxis(out.reshape(*moved.shape[:-1], n_groups), -1, axis)


def group_sums(cells: CellStats, weights: np.ndarray, per_leaf: LeafSums, *, leaf_group: np.ndarray,
               n_groups: int) -> dict[str, np.ndarray]:
    """Per-group sums, shape ``(replicates, n_groups)``; ``leaf_group[leaf]`` is each leaf's group.

    ``auc_num`` is the Mann-Whitney count of (positive, negative) pairs of the
    group ordered right, ties counting one half: ``roc_auc = auc_num / (pos * neg)``.
    """
    members = membership(leaf_group, n_groups)
    out = {name: to_groups(per_leaf.sums[name], leaf_group, n_groups, members=members) for name in _ADDITIVE}
    if n_groups == 1:
        out["auc_num"] = per_leaf.auc_total[:, None]  # one group: its pairs are all pairs
    elif per_leaf.pairs is not None and dense_membership(len(leaf_group), n_groups):
        indicator = leaf_indicator(leaf_group, n_groups)
        out["auc_num"] = np.einsum("lg,rlm,mg->rg", indicator, per_leaf.pairs, indicator, optimize=True)
    elif per_leaf.pairs is not None:
        # Pairs (positive in leaf l, negative in leaf m) with both leaves in the group: few leaves only.
        within = to_groups(per_leaf.pairs, leaf_group, n_groups, axis=2)  # (replicates, leaves, groups)
        out["auc_num"] = to_groups(np.take_along_axis(within, np.asarray(leaf_group)[None, :, None], axis=2)[:, :, 0],
                                   leaf_group, n_groups, members=members)
    else:
        out["auc_num"] = _auc_within(cells, weights, leaf_group[cells.leaf], n_groups)
    return out


def rest_sums(groups: dict[str, np.ndarray], per_leaf: LeafSums, *, leaf_group: np.ndarray,
              n_groups: int) -> dict[str, np.ndarray]:
    """Sums of the complement of each group (all other rows), from the group and overall sums."""
    out = {name: per_leaf.sums[name].sum(axis=1, keepdims=True) - groups[name] for name in _ADDITIVE}
    # Pairs with neither member in g: all pairs, less those with the positive or the negative in g,
    # plus those with both in g (subtracted twice).
    members = membership(leaf_group, n_groups)
    out["auc_num"] = (per_leaf.auc_total[:, None] - to_groups(per_leaf.auc_pos_all, leaf_group, n_groups, members=members)
                      - to_groups(per_leaf.auc_neg_all, leaf_group, n_groups, members=members) + groups["auc_num"])
    return out


def _auc_within(cells: CellStats, weights: np.ndarray, gid: np.ndarray, n_groups: int) -> np.ndarray:
    out = np.zeros((weights.shape[0], n_groups))
    if len(gid) == 0:
        return out
    # Cells are sorted by (leaf, score): for any grouping the keys below form one presorted run per
    # leaf, which a stable (merge-based) sort joins in little more than linear time.
    key = gid.astype(np.int64) * cells.n_scores + cells.rank
    order = np.argsort(key, kind="stable")
    key_sorted = key[order]
    g_sorted = gid[order]
    starts = np.flatnonzero(np.r_[True, key_sorted[1:] != key_sorted[:-1]])
    w = weights[:, order]
    y = cells.y[order].astype(np.float64)
    pos = np.add.reduceat(w * y, starts, axis=1)
    neg = np.add.reduceat(w * (1 - y), starts, axis=1)
    key_group = g_sorted[starts]
    new_group = np.r_[True, key_group[1:] != key_group[:-1]]
    group_start = np.flatnonzero(new_group)
    cum_neg = np.cumsum(neg, axis=1)
    # Negatives before the group's first key are subtracted so counts stay within the group.
    offset = np.zeros((w.shape[0], len(group_start)))
    offset[:, 1:] = cum_neg[:, group_start[1:] - 1]
    below = cum_neg - neg - offset[:, np.cumsum(new_group) - 1]
    out[:, key_group[group_start]] = np.add.reduceat(pos * (below + 0.5 * neg), group_start, axis=1)
    return out
