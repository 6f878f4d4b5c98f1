"""The one pass over the evaluation rows in this process, and the per-part work every engine shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
import pandas as pd

from ..._errors import AuditError
from ...inputs._groups import LeafCoder
from ...inputs._model import FittedModel
from ...inputs._sample import RowSample, SampleBuilder
from .._tasks import LabelSettings, adapter

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
    #: "binary", "multiclass" or "regression": which adapter of :mod:`audit.statistics._tasks` tallies.
    task: str = "binary"
    #: Bootstrap replicates the task's part draws in the pass (regression sums); 0 for none.
    replicates: int = 0

    def coder(self) -> LeafCoder:
        return LeafCoder(sensitive=list(self.sensitive), bins=self.bins, source=self.source)

    def labelling(self) -> LabelSettings:
        return LabelSettings(target=self.target, source=self.source, positive_label=self.positive_label,
                             negative_label=self.negative_label, seed=self.seed, replicates=self.replicates)


@dataclass(frozen=True)
class EvaluationPass:
    """The result of the pass: the task's additive part in canonical leaf order, and the row sample.

    ``missing_by_leaf[leaf]`` holds the missing values of each model feature
    in that leaf's rows, then (last column) the leaf's row count.
    """

    part: Any
    coder: LeafCoder
    sample: RowSample
    missing_by_leaf: np.ndarray
    probabilistic: bool
    partitions: int


def tally(frame: pd.DataFrame, y: np.ndarray, *, coder: LeafCoder, model: FittedModel, sampler: SampleBuilder,
          settings: PassSettings, start: int) -> tuple[Any, np.ndarray, bool]:
    """One part (batch or partition) whose first row is row ``start``: leaf codes, missing counts,
    predictions, the task's additive part; sample candidates.

    Returns the part (in ``coder``'s leaf codes as they stand after this part), its missing counts and
    whether the scores are probabilities.
    """
    task = adapter(settings.task)
    leaf, labels = coder.encode(frame)
    missing = np.zeros((coder.n_leaves, len(model.features) + 1))
    np.add.at(missing, leaf, np.column_stack([frame[list(model.features)].isna().to_numpy(dtype=float),
                                              np.ones(len(frame))]))
    preds = task.predict(model, frame, settings.source)
    part = task.tally(leaf=leaf, y=y, predictions=preds, n_leaves=coder.n_leaves, start=start,
                      settings=settings.labelling())
    sampler.add(frame, y, leaf, labels, preds.score, preds.label)
    return part, missing, preds.probabilistic


def finish(*, coder: LeafCoder, part: Any, missing: list[np.ndarray], sampler: SampleBuilder,
           probabilistic: bool, partitions: int, task: str) -> EvaluationPass:
    """Relabel the summed statistics to canonical leaf order (independent of how the rows were cut)."""
    order = coder.leaf_order()
    part = adapter(task).relabel(part, order, coder.n_leaves)
    missing_by_leaf = np.zeros((coder.n_leaves, missing[0].shape[1] if missing else 1))
    for piece in missing:
        missing_by_leaf[: len(piece)] += piece
    missing_by_leaf[order] = missing_by_leaf.copy()
    return EvaluationPass(part=part, coder=coder, sample=sampler.result(), missing_by_leaf=missing_by_leaf,
                          probabilistic=probabilistic, partitions=partitions)


def local_pass(*, batches: Iterable[tuple[pd.DataFrame, np.ndarray]], model: FittedModel,
               settings: PassSettings) -> EvaluationPass:
    """The pass in this process over ``batches`` (the whole table as one batch, or batches of it)."""
    task = adapter(settings.task)
    coder = settings.coder()
    sampler = SampleBuilder(size=settings.sample_size, seed=settings.seed)
    parts: list[Any] = []
    missing_parts: list[np.ndarray] = []  # per batch, additive like the parts
    probabilistic = True
    count = rows = 0
    for frame, y in batches:
        part, missing, batch_probabilistic = tally(frame, y, coder=coder, model=model, sampler=sampler,
                                                   settings=settings, start=rows)
        rows += len(frame)
        parts.append(part)
        missing_parts.append(missing)
        probabilistic = probabilistic and batch_probabilistic
        count += 1
        if len(parts) >= _MERGE_EVERY:  # fold batch parts together so they never pile up
            parts = [task.merge(parts)]
    if not parts:
        raise AuditError(f"`data.test` {settings.source} holds no rows; an audit needs data.")
    return finish(coder=coder, part=task.merge(parts), missing=missing_parts, sampler=sampler,
                  probabilistic=probabilistic, partitions=count, task=settings.task)
