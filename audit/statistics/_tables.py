"""The additive tables of the three tasks, behind one protocol the engine reads.

Every task reduces its evaluation rows to a table of sums per *leaf* (combination of sensitive levels);
groups are unions of leaves, so each group of each attribute and intersection, and all other rows beside
it, follow from the leaf sums without seeing a row again. The tables differ in what they sum:

- binary: counts and loss sums per cell ``(leaf, score, label, predicted label)`` (:mod:`._cells`), so
  that ROC AUC, which is not a sum over leaves, is exact too;
- multiclass: the confusion matrix of every leaf, ``(leaves, K x K)`` counts;
- regression: sums of the residual, its absolute value and square, the target, the prediction and
  their products, ``(leaves, k)``.

An :class:`AdditiveTable` gives the engine three things: the exact leaf sums, the leaf sums its bootstrap
replicates are centred on, and the replicates themselves, chunk by chunk; and it turns any of them into
named sums per group and per rest (all other rows). The engine (:mod:`._evaluate`) never asks which task
it serves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator, Protocol

import numpy as np

from ._cells import (CellStats, LeafSums, PoissonReplicates, coarsen, dense_membership, group_sums,
                     leaf_indicator, leaf_sums, pairs_on_grid, rest_sums, to_groups)

__all__ = ["AdditiveTable", "BinaryTable", "CountTable", "SumTable", "Named"]

Named = dict[str, np.ndarray]
# Replicates per chunk are chosen so one chunk's numbers stay near this many (memory bound).
_CHUNK_NUMBERS = 5_000_000


class AdditiveTable(Protocol):
    """What the engine needs of a task's table."""

    n_leaves: int

    def exact(self) -> object:
        """Leaf sums of the exact table (one replicate)."""

    def centre(self) -> object:
        """Leaf sums of the table the replicates are drawn from (equal to ``exact()`` unless coarsened)."""

    def replicates(self, *, count: int, seed: int) -> Iterator[object]:
        """Leaf sums of ``count`` bootstrap replicates, in chunks, from one seeded stream."""

    def grouped(self, draw: object, *, leaf_group: np.ndarray, n_groups: int) -> tuple[Named, Named]:
        """Named sums ``(replicates, groups, ...)`` of each group and of its rest."""


@dataclass(frozen=True)
class _CellDraw:
    table: CellStats
    weights: np.ndarray
    sums: LeafSums


@dataclass(frozen=True)
class BinaryTable:
    """The cell table of a binary audit; replicates are drawn on its coarsened copy (see :mod:`._cells`)."""

    cells: CellStats
    #: The coarsened copy the replicates are drawn on, made once (it sorts the whole cell table).
    coarse: CellStats = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "coarse", coarsen(self.cells))

    @property
    def n_leaves(self) -> int:
        return self.cells.n_leaves

    def exact(self) -> _CellDraw:
        w = self.cells.count[None, :]
        return _CellDraw(self.cells, w, leaf_sums(self.cells, w))

    def centre(self) -> _CellDraw:
        w = self.coarse.count[None, :]
        return _CellDraw(self.coarse, w, leaf_sums(self.coarse, w))

    def replicates(self, *, count: int, seed: int) -> Iterator[_CellDraw]:
        coarse = self.coarse
        # Numbers one replicate holds at once, roughly: weights and their products per cell, sums per leaf,
        # and the (leaf, score) grids and leaf x leaf pairs where AUC is counted on them.
        width = 4 * len(coarse.count) + 12 * coarse.n_leaves
        if pairs_on_grid(coarse):
            width += 3 * coarse.n_leaves * coarse.n_scores + coarse.n_leaves ** 2
        width = max(width, 1)
        chunk = max(1, min(count, _CHUNK_NUMBERS // width))
        draws = PoissonReplicates(coarse, seed=seed)
        for start in range(0, count, chunk):
            w = draws.draw(min(count, start + chunk) - start)
            yield _CellDraw(coarse, w, leaf_sums(coarse, w))

    def grouped(self, draw: _CellDraw, *, leaf_group: np.ndarray, n_groups: int) -> tuple[Named, Named]:
        g = group_sums(draw.table, draw.weights, draw.sums, leaf_group=leaf_group, n_groups=n_groups)
        return g, rest_sums(g, draw.sums, leaf_group=leaf_group, n_groups=n_groups)


def _by_group(leaf_sums_: np.ndarray, leaf_group: np.ndarray, n_groups: int) -> np.ndarray:
    """``(replicates, leaves, k)`` summed into ``(replicates, groups, k)`` (sparse membership when large)."""
    if dense_membership(len(leaf_group), n_groups):
        return np.einsum("lg,rlk->rgk", leaf_indicator(leaf_group, n_groups), leaf_sums_)
    return to_groups(leaf_sums_, leaf_group, n_groups, axis=1)


@dataclass(frozen=True)
class CountTable:
    """Counts per leaf whose rows are interchangeable within a column (the multiclass confusion cells).

    A sum of ``m`` Poisson(1) row weights is Poisson(``m``), so a replicate draws one Poisson count per
    cell: exactly the Poisson bootstrap of the rows, at the cost of the table.
    """

    counts: np.ndarray  # (leaves, k)
    unpack: Callable[[np.ndarray], Named]

    @property
    def n_leaves(self) -> int:
        return self.counts.shape[0]

    def exact(self) -> np.ndarray:
        return self.counts[None]

    def centre(self) -> np.ndarray:
        return self.counts[None]

    def replicates(self, *, count: int, seed: int) -> Iterator[np.ndarray]:
        rng = np.random.default_rng(np.random.SeedSequence(seed))
        chunk = max(1, min(count, _CHUNK_NUMBERS // max(self.counts.size, 1)))
        for start in range(0, count, chunk):
            size = min(count, start + chunk) - start
            yield rng.poisson(self.counts[None], size=(size, *self.counts.shape)).astype(np.float64)

    def grouped(self, draw: np.ndarray, *, leaf_group: np.ndarray, n_groups: int) -> tuple[Named, Named]:
        g = _by_group(draw, leaf_group, n_groups)
        return self.unpack(g), self.unpack(draw.sum(axis=1, keepdims=True) - g)


@dataclass(frozen=True)
class SumTable:
    """Sums of per-row values per leaf (regression), with their replicates under Poisson(1) row weights.

    Rows of a leaf are not interchangeable here, so the replicates are summed from the rows, in the pass
    (see :func:`audit.statistics._regression.RegressionTally`); the table only hands them out.
    """

    sums: np.ndarray  # (leaves, k)
    reps: np.ndarray  # (replicates, leaves, k)
    unpack: Callable[[np.ndarray], Named]

    @property
    def n_leaves(self) -> int:
        return self.sums.shape[0]

    def exact(self) -> np.ndarray:
        return self.sums[None]

    def centre(self) -> np.ndarray:
        return self.sums[None]

    def replicates(self, *, count: int, seed: int) -> Iterator[np.ndarray]:  # noqa: ARG002 - drawn in the pass
        chunk = max(1, min(count, _CHUNK_NUMBERS // max(self.sums.size, 1)))
        available = min(count, len(self.reps))
        for start in range(0, available, chunk):
            yield self.reps[start:min(available, start + chunk)]

    def grouped(self, draw: np.ndarray, *, leaf_group: np.ndarray, n_groups: int) -> tuple[Named, Named]:
        g = _by_group(draw, leaf_group, n_groups)
        return self.unpack(g), self.unpack(draw.sum(axis=1, keepdims=True) - g)
