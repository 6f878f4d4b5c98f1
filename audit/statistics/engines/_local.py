"""The one pass over the evaluation rows in this process, and the per-part work every engine shares."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Iterable

import numpy as np
import pandas as pd

from ..._errors import AuditError
from ...inputs._groups import LeafCoder
from ...inputs._model import FittedModel, predict
from ...inputs._sample import RowSample, SampleBuilder
from .._cells import CellStats, cell_stats, merge, relabel

__all__ = ["EvaluationPass", "PassSettings", "tally", "finish", "local_pass"]

_MERGE_EVERY = 8


@dataclass(frozen=True)
class PassSettings:
    """What the per-part work needs to know, small enough to ship to every worker."""

    sensitive: tuple[str, ...]
    bins: dict[str, list[float]]
    source: str
    target: str
    positive_label: Any
    negative_label: Any
    sample_size: int
    seed: int

    def coder(self) -> LeafCoder:
        return LeafCoder(sensitive=list(self.sensitive), bins=self.bins, source=self.source)


@dataclass(frozen=True)
class EvaluationPass:
    """The result of the pass: additive statistics in canonical leaf order, and the row sample.

    ``missing_by_leaf[leaf]`` holds the missing values of each model feature
    in that leaf's rows, then (last column) the leaf's row count.
    """

    cells: CellStats
    coder: LeafCoder
    sample: RowSample
    missing_by_leaf: np.ndarray
    probabilistic: bool
    partitions: int


def tally(frame: pd.DataFrame, y: np.ndarray, *, coder: LeafCoder, model: FittedModel, sampler: SampleBuilder,
          source: str) -> tuple[CellStats, np.ndarray, bool]:
    """One part (batch or partition): leaf codes, missing counts, predictions, cells; sample candidates.

    Returns the part's cell table and missing counts (in ``coder``'s leaf codes
    as they stand after this part) and whether the scores are probabilities.
    """
    leaf, labels = coder.encode(frame)
    missing = np.zeros((coder.n_leaves, len(model.features) + 1))
    np.add.at(missing, leaf, np.column_stack([frame[list(model.features)].isna().to_numpy(dtype=float),
                                              np.ones(len(frame))]))
    try:
        preds = predict(model, frame)
    except (ValueError, TypeError, KeyError) as exc:
        raise AuditError(f"The model could not score {source}: {str(exc).splitlines()[0]}. "
                         "Check that the data has the columns and types the model was trained on.") from None
    cells = cell_stats(leaf=leaf, score=preds.score, y=y, yhat=preds.label, n_leaves=coder.n_leaves)
    sampler.add(frame, y, leaf, labels, preds.score)
    return cells, missing, preds.probabilistic


def finish(*, coder: LeafCoder, cells: CellStats, missing: list[np.ndarray], sampler: SampleBuilder,
           probabilistic: bool, partitions: int) -> EvaluationPass:
    """Relabel the summed statistics to canonical leaf order (independent of how the rows were cut)."""
    order = coder.leaf_order()
    cells = relabel(replace(cells, n_leaves=coder.n_leaves), order)
    missing_by_leaf = np.zeros((coder.n_leaves, missing[0].shape[1] if missing else 1))
    for part in missing:
        missing_by_leaf[: len(part)] += part
    missing_by_leaf[order] = missing_by_leaf.copy()
    return EvaluationPass(cells=cells, coder=coder, sample=sampler.result(), missing_by_leaf=missing_by_leaf,
                          probabilistic=probabilistic, partitions=partitions)


def local_pass(*, batches: Iterable[tuple[pd.DataFrame, np.ndarray]], model: FittedModel,
               settings: PassSettings) -> EvaluationPass:
    """The pass in this process over ``batches`` (the whole table as one batch, or batches of it)."""
    coder = settings.coder()
    sampler = SampleBuilder(size=settings.sample_size, seed=settings.seed)
    parts: list[CellStats] = []
    missing_parts: list[np.ndarray] = []  # per batch, additive like the cells
    probabilistic = True
    count = 0
    for frame, y in batches:
        cells, missing, batch_probabilistic = tally(frame, y, coder=coder, model=model, sampler=sampler,
                                                    source=settings.source)
        parts.append(cells)
        missing_parts.append(missing)
        probabilistic = probabilistic and batch_probabilistic
        count += 1
        if len(parts) >= _MERGE_EVERY:  # fold batch tables together so they never pile up
            parts = [merge(parts)]
    return finish(coder=coder, cells=merge(parts), missing=missing_parts, sampler=sampler,
                  probabilistic=probabilistic, partitions=count)


