"""The group-statistics engine (design §5).

All built-in metrics are functions of one additive table: the number of rows
in each *cell* ``(leaf, score, label, predicted label)``. Groups are unions of
leaves, so one pass over the rows serves every attribute and intersection.

Bootstrap replicates resample rows with Poisson(1) weights. Rows in one cell
are interchangeable for every metric here, and a sum of ``m`` independent
Poisson(1) weights is Poisson(``m``), so each replicate draws one Poisson
count per cell: the same distribution as row weights, at the cost of the
(much smaller) cell table, and the same draws whether the cells were built in
one piece, in batches or on a cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

__all__ = ["CellStats", "cell_stats", "replicate_weights", "group_sums", "SUM_NAMES"]

#: Names of the per-group sums the metric registry reads.
SUM_NAMES = ("n", "pos", "neg", "tp", "fp", "fn", "tn", "log_loss_sum", "brier_sum", "auc_num")
_EPS = np.finfo(np.float64).eps


@dataclass(frozen=True)
class CellStats:
    """Counts of rows per ``(leaf, score, y, yhat)``, sorted by leaf then score.

    Additive: ``a + b`` holds the counts of the union of the two row sets.
    """

    leaf: np.ndarray
    score: np.ndarray
    y: np.ndarray
    yhat: np.ndarray
    count: np.ndarray
    n_leaves: int

    @property
    def n_rows(self) -> int:
        return int(self.count.sum())

    def __add__(self, other: "CellStats") -> "CellStats":
        if self.n_leaves != other.n_leaves:
            raise ValueError("cannot add statistics built on different leaf sets")
        return _compact(np.concatenate([self.leaf, other.leaf]), np.concatenate([self.score, other.score]),
                        np.concatenate([self.y, other.y]), np.concatenate([self.yhat, other.yhat]),
                        np.concatenate([self.count, other.count]), self.n_leaves)


def _compact(leaf: np.ndarray, score: np.ndarray, y: np.ndarray, yhat: np.ndarray, count: np.ndarray,
             n_leaves: int) -> CellStats:
    values, score_idx = np.unique(score, return_inverse=True)
    score_idx = score_idx.reshape(-1).astype(np.int64)
    key = ((leaf.astype(np.int64) * len(values) + score_idx) * 2 + y) * 2 + yhat
    keys, inverse = np.unique(key, return_inverse=True)
    counts = np.bincount(inverse.reshape(-1), weights=count, minlength=len(keys))
    yhat_k = (keys % 2).astype(np.int8)
    y_k = ((keys // 2) % 2).astype(np.int8)
    rest = keys // 4
    return CellStats(leaf=rest // len(values), score=values[rest % len(values)], y=y_k, yhat=yhat_k,
                     count=counts, n_leaves=n_leaves)


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
    >>> s.count.tolist(), s.leaf.tolist()
    ([2.0, 1.0], [0, 1])
    """
    return _compact(np.asarray(leaf, dtype=np.int64), np.asarray(score, dtype=np.float64),
                    np.asarray(y, dtype=np.int8), np.asarray(yhat, dtype=np.int8),
                    np.ones(len(leaf), dtype=np.float64), n_leaves)


def replicate_weights(cells: CellStats, *, replicates: int, seed: int) -> np.ndarray:
    """Weights of each cell: row 0 the counts, rows 1..R Poisson bootstrap draws.

    Each replicate has its own generator spawned from ``seed``, so replicate
    ``r`` is the same whatever else is computed.
    """
    out = np.empty((replicates + 1, len(cells.count)), dtype=np.float64)
    out[0] = cells.count
    for r, child in enumerate(np.random.SeedSequence(seed).spawn(replicates), start=1):
        out[r] = np.random.default_rng(child).poisson(cells.count)
    return out


def _row_losses(cells: CellStats) -> tuple[np.ndarray, np.ndarray]:
    # Same clipping as scikit-learn's log_loss: both class probabilities clipped to [eps, 1 - eps].
    p1 = np.clip(cells.score, _EPS, 1 - _EPS)
    p0 = np.clip(1 - cells.score, _EPS, 1 - _EPS)
    log_loss = np.where(cells.y == 1, -np.log(p1), -np.log(p0))
    brier = (cells.y - cells.score) ** 2
    return log_loss, brier


def group_sums(cells: CellStats, weights: np.ndarray, *, leaf_group: np.ndarray,
               n_groups: int) -> dict[str, np.ndarray]:
    """Per-group sums for every replicate: arrays of shape ``(replicates + 1, n_groups)``.

    ``leaf_group[leaf]`` maps each leaf to its group. ``auc_num`` is the
    Mann-Whitney count of (positive, negative) pairs ordered right, ties
    counting one half, so ``roc_auc = auc_num / (pos * neg)``.
    """
    y = cells.y.astype(np.float64)
    yhat = cells.yhat.astype(np.float64)
    log_loss, brier = _row_losses(cells)
    per_cell = {
        "n": np.ones_like(y), "pos": y, "neg": 1 - y, "tp": y * yhat, "fp": (1 - y) * yhat,
        "fn": y * (1 - yhat), "tn": (1 - y) * (1 - yhat), "log_loss_sum": log_loss, "brier_sum": brier,
    }
    gid = leaf_group[cells.leaf]
    n_cells = len(gid)
    values = np.column_stack(list(per_cell.values()))  # (cells, k)
    # One sparse product sums every statistic for every group and replicate.
    k = values.shape[1]
    rows = np.repeat(np.arange(n_cells), k)
    cols = (gid[:, None] * k + np.arange(k)[None, :]).reshape(-1)
    design = sparse.csr_matrix((values.reshape(-1), (rows, cols)), shape=(n_cells, n_groups * k))
    summed = np.asarray(design.T.dot(weights.T).T).reshape(weights.shape[0], n_groups, k)
    out = {name: summed[:, :, i] for i, name in enumerate(per_cell)}
    out["auc_num"] = _auc_numerator(cells, weights, gid, n_groups)
    return out


def _auc_numerator(cells: CellStats, weights: np.ndarray, gid: np.ndarray, n_groups: int) -> np.ndarray:
    order = np.lexsort((cells.score, gid))
    g_sorted = gid[order]
    s_sorted = cells.score[order]
    new_key = np.r_[True, (g_sorted[1:] != g_sorted[:-1]) | (s_sorted[1:] != s_sorted[:-1])]
    starts = np.flatnonzero(new_key)
    w = weights[:, order]
    y = cells.y[order].astype(np.float64)
    pos = np.add.reduceat(w * y, starts, axis=1)
    neg = np.add.reduceat(w * (1 - y), starts, axis=1)
    key_group = g_sorted[starts]
    group_start = np.flatnonzero(np.r_[True, key_group[1:] != key_group[:-1]])
    cum_neg = np.cumsum(neg, axis=1)
    # Negatives before the group's first key, subtracted so counts stay within the group.
    offset = np.zeros((w.shape[0], len(group_start)))
    offset[:, 1:] = cum_neg[:, group_start[1:] - 1]
    seg = np.cumsum(np.r_[False, key_group[1:] != key_group[:-1]])
    below = cum_neg - neg - offset[:, seg]
    numer = np.add.reduceat(pos * (below + 0.5 * neg), group_start, axis=1)
    out = np.zeros((w.shape[0], n_groups))
    out[:, key_group[group_start]] = numer
    return out
