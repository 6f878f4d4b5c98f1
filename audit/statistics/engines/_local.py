"""The one pass over the evaluation rows in this process, and the per-part work every engine shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
import pandas as pd

from ..._errors import AuditError
from ...inputs._groups import LeafCoder
from ...inputs._model import FittedModel, Predictions
from ...inputs._predictions import RowOutputs
from ...inputs._sample import RowSample, SampleBuilder
from .._tasks import LabelSettings, adapter

__all__ = ["EvaluationPass", "PassSettings", "RowKeeper", "tally", "finish", "local_pass"]

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
    #: Keep every row's outputs (:class:`~audit.inputs._predictions.RowOutputs`) for pairing and
    #: ``predictions.parquet``; costs a few numbers per row.
    keep_rows: bool = False
    #: The ``data.id`` column that keys the kept rows (None: their positions).
    id_column: str | None = None

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
    #: Every row's outputs, when the settings asked to keep them (``keep_rows``).
    rows: RowOutputs | None = None
    #: Each kept row's leaf in canonical order (as ``part``'s), None when rows were not kept.
    row_leaf: np.ndarray | None = None


class RowKeeper:
    """Collects every row's key, leaf, sensitive labels, target and predictions as the batches pass."""

    def __init__(self, *, id_column: str | None) -> None:
        self.id_column = id_column
        self._pieces: list[tuple[np.ndarray, np.ndarray, pd.DataFrame, np.ndarray, Predictions]] = []

    def add(self, frame: pd.DataFrame, *, start: int, leaf: np.ndarray, labels: pd.DataFrame, y: np.ndarray,
            predictions: Predictions) -> None:
        key = (frame[self.id_column].to_numpy() if self.id_column is not None
               else np.arange(start, start + len(frame), dtype=np.int64))
        self._pieces.append((key, leaf, labels.reset_index(drop=True), np.asarray(y), predictions))

    def result(self, *, order: np.ndarray, probabilistic: bool) -> tuple[RowOutputs, np.ndarray]:
        """The kept rows, and their leaves relabelled to canonical order (``order[leaf]``)."""
        pieces = self._pieces
        labels = pd.concat([p[2] for p in pieces], ignore_index=True).astype(str) if pieces else pd.DataFrame()
        outputs = RowOutputs(key=np.concatenate([p[0] for p in pieces]), key_column=self.id_column,
                             labels=labels, y=np.concatenate([p[3] for p in pieces]),
                             prediction=np.concatenate([np.asarray(p[4].label) for p in pieces]),
                             score=np.concatenate([np.asarray(p[4].score, dtype=np.float64) for p in pieces]),
                             probabilistic=probabilistic)
        return outputs, order[np.concatenate([p[1] for p in pieces])]


def tally(frame: pd.DataFrame, y: np.ndarray, *, coder: LeafCoder, model: FittedModel, sampler: SampleBuilder,
          settings: PassSettings, start: int, keeper: RowKeeper | None = None) -> tuple[Any, np.ndarray, bool]:
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
    if keeper is not None:
        keeper.add(frame, start=start, leaf=leaf, labels=labels, y=y, predictions=preds)
    return part, missing, preds.probabilistic


def finish(*, coder: LeafCoder, part: Any, missing: list[np.ndarray], sampler: SampleBuilder,
           probabilistic: bool, partitions: int, task: str, keeper: RowKeeper | None = None) -> EvaluationPass:
    """Relabel the summed statistics to canonical leaf order (independent of how the rows were cut)."""
    order = coder.leaf_order()
    part = adapter(task).relabel(part, order, coder.n_leaves)
    missing_by_leaf = np.zeros((coder.n_leaves, missing[0].shape[1] if missing else 1))
    for piece in missing:
        missing_by_leaf[: len(piece)] += piece
    missing_by_leaf[order] = missing_by_leaf.copy()
    rows, row_leaf = keeper.result(order=order, probabilistic=probabilistic) if keeper is not None else (None, None)
    return EvaluationPass(part=part, coder=coder, sample=sampler.result(), missing_by_leaf=missing_by_leaf,
                          probabilistic=probabilistic, partitions=partitions, rows=rows, row_leaf=row_leaf)


def local_pass(*, batches: Iterable[tuple[pd.DataFrame, np.ndarray]], model: FittedModel,
               settings: PassSettings) -> EvaluationPass:
    """The pass in this process over ``batches`` (the whole table as one batch, or batches of it)."""
    task = adapter(settings.task)
    coder = settings.coder()
    sampler = SampleBuilder(size=settings.sample_size, seed=settings.seed)
    keeper = RowKeeper(id_column=settings.id_column) if settings.keep_rows else None
    parts: list[Any] = []
    missing_parts: list[np.ndarray] = []  # per batch, additive like the parts
    probabilistic = True
    count = rows = 0
    for frame, y in batches:
        part, missing, batch_probabilistic = tally(frame, y, coder=coder, model=model, sampler=sampler,
                                                   settings=settings, start=rows, keeper=keeper)
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
                  probabilistic=probabilistic, partitions=count, task=settings.task, keeper=keeper)
