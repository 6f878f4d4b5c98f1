"""One small adapter per task: how its rows are labelled, predicted and summed into its additive table.

The pass over the evaluation rows (:mod:`.engines`) and the pipeline ask an adapter, never the task's name:

- ``labels``: the target column as the task's values (0/1, class text, numbers), with a clear error for
  values the task cannot take;
- ``predict``: the model's predictions of a batch, in the same values;
- ``tally``: one batch (or partition) reduced to its additive part, which ``merge``, ``remap`` (partition
  leaf codes into one coder) and ``relabel`` (canonical leaf order) combine, so that batches and dask
  partitions give the same part as the whole table;
- ``table``: the part as the engine's :class:`~._tables.AdditiveTable` and the task's registry.

Every part is a sum over rows, so its value does not depend on how the rows were cut; the regression
part's bootstrap replicates too, because row ``i`` always gets the same Poisson weights (drawn per block
of rows from a generator seeded with ``(seed, block)``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Protocol

import numpy as np
import pandas as pd

from .._errors import AuditError
from ..inputs._data import binary_labels
from ..inputs._model import FittedModel, Predictions, predict, predict_values
from ._cells import SUM_NAMES, CellStats, _row_losses, cell_stats, merge, relabel
from ._metrics import BINARY, Registry
from ._multiclass import multiclass_registry, unpack
from ._regression import REGRESSION, regression_row_values, unpacker
from ._tables import AdditiveTable, BinaryTable, CountTable, SumTable

__all__ = ["TaskAdapter", "LabelSettings", "ADAPTERS", "adapter", "ClassCounts", "RegressionSums"]

#: Rows per block of the regression bootstrap weights (row ``i`` is in block ``i // _BLOCK``).
_BLOCK = 1024


@dataclass(frozen=True)
class LabelSettings:
    """What labelling a batch needs: the target, where it comes from, the binary labels, the bootstrap."""

    target: str
    source: str
    positive_label: Any
    negative_label: Any
    seed: int
    replicates: int


class TaskAdapter(Protocol):
    """The per-task part of the pass and of the engine's input."""

    name: str

    def labels(self, column: pd.Series, settings: LabelSettings) -> np.ndarray: ...

    def predict(self, model: FittedModel, frame: pd.DataFrame, source: str) -> Predictions: ...

    def tally(self, *, leaf: np.ndarray, y: np.ndarray, predictions: Predictions, n_leaves: int, start: int,
              settings: LabelSettings) -> Any: ...

    def merge(self, parts: list[Any]) -> Any: ...

    def remap(self, part: Any, code: np.ndarray, n_leaves: int) -> Any: ...

    def relabel(self, part: Any, order: np.ndarray, n_leaves: int) -> Any: ...

    def rows(self, part: Any) -> int: ...

    def table(self, part: Any) -> tuple[AdditiveTable, Registry]: ...

    def drifted(self, *, score: np.ndarray, label: np.ndarray) -> np.ndarray:
        """What drifts of the predictions: a binary score, a predicted class, a regression's prediction."""

    def row_values(self, *, y: np.ndarray, predictions: Predictions, registry: Registry) -> np.ndarray:
        """Each row's addends of the table ``(rows, k)``: the paired comparison sums them under row weights."""

    def row_unpack(self, registry: Registry) -> Callable[[np.ndarray], dict[str, np.ndarray]]:
        """Named sums of an array ``(..., k)`` of :meth:`row_values` sums, for ``registry``'s metrics."""


def _scored(model: FittedModel, frame: pd.DataFrame, source: str) -> Predictions:
    try:
        return predict(model, frame, source=source)
    except AuditError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise AuditError(f"The model could not score {source}: {str(exc).splitlines()[0]}. "
                         "Check that the data has the columns and types the model was trained on.") from None


class _Binary:
    """Cells ``(leaf, score, label, predicted label)`` of a binary classifier."""

    name = "binary"

    def labels(self, column: pd.Series, settings: LabelSettings) -> np.ndarray:
        y, _, _ = binary_labels(column, target=settings.target, source=settings.source,
                                positive=settings.positive_label, negative=settings.negative_label, whole=False)
        return y

    def predict(self, model: FittedModel, frame: pd.DataFrame, source: str) -> Predictions:
        return _scored(model, frame, source)

    def tally(self, *, leaf: np.ndarray, y: np.ndarray, predictions: Predictions, n_leaves: int, start: int,
              settings: LabelSettings) -> CellStats:
        return cell_stats(leaf=leaf, score=predictions.score, y=y, yhat=predictions.label, n_leaves=n_leaves)

    def merge(self, parts: list[CellStats]) -> CellStats:
        return merge(parts)

    def remap(self, part: CellStats, code: np.ndarray, n_leaves: int) -> CellStats:
        # Cells are no longer sorted by leaf: `merge` sorts them again.
        return replace(part, leaf=code[part.leaf].astype(np.int32), n_leaves=n_leaves)

    def relabel(self, part: CellStats, order: np.ndarray, n_leaves: int) -> CellStats:
        return relabel(replace(part, n_leaves=n_leaves), order)

    def rows(self, part: CellStats) -> int:
        return part.n_rows

    def drifted(self, *, score: np.ndarray, label: np.ndarray) -> np.ndarray:
        return score

    def table(self, part: CellStats) -> tuple[AdditiveTable, Registry]:
        return BinaryTable(part), BINARY

    def row_values(self, *, y: np.ndarray, predictions: Predictions, registry: Registry) -> np.ndarray:
        # The cells' sums for one row each; ROC AUC is not a sum over rows (the paired test is DeLong's).
        y = np.asarray(y, dtype=np.float64)
        yhat = np.asarray(predictions.label, dtype=np.float64)
        log_loss, brier = _row_losses(np.asarray(predictions.score, dtype=np.float64), y)
        return np.column_stack([np.ones_like(y), y, 1 - y, y * yhat, (1 - y) * yhat, y * (1 - yhat),
                                (1 - y) * (1 - yhat), log_loss, brier])

    def row_unpack(self, registry: Registry) -> Callable[[np.ndarray], dict[str, np.ndarray]]:
        names = [n for n in SUM_NAMES if n != "auc_num"]
        return lambda a: {name: a[..., i] for i, name in enumerate(names)}


@dataclass(frozen=True)
class ClassCounts:
    """Confusion counts per leaf, ``(leaves, K, K)`` (true class, predicted class), classes as text.

    ``in_target[k]`` says whether class ``k`` was met as a true label (a class only ever predicted is
    ordered after the target's classes).
    """

    counts: np.ndarray
    classes: tuple[str, ...]
    in_target: tuple[bool, ...]


def _class_order(classes: tuple[str, ...], in_target: tuple[bool, ...]) -> list[int]:
    """Indices of the classes in report order: the target's (numerically when they are numbers), then the rest."""
    def order(idx: list[int]) -> list[int]:
        try:
            return sorted(idx, key=lambda i: float(classes[i]))
        except ValueError:
            return sorted(idx, key=lambda i: classes[i])

    return order([i for i, t in enumerate(in_target) if t]) + order([i for i, t in enumerate(in_target) if not t])


class _Multiclass:
    """Confusion matrices per leaf of a multiclass classifier."""

    name = "multiclass"

    def labels(self, column: pd.Series, settings: LabelSettings) -> np.ndarray:
        if column.isna().any():
            raise AuditError(f"`data.target` column {settings.target!r} of {settings.source} has "
                             f"{int(column.isna().sum())} missing values; drop those rows or fill them before the "
                             "audit.")
        return column.map(str).to_numpy(dtype=object)

    def predict(self, model: FittedModel, frame: pd.DataFrame, source: str) -> Predictions:
        values, confidence = predict_values(model, frame, source=source, task=self.name)
        return Predictions(score=confidence, label=pd.Series(values).map(str).to_numpy(dtype=object),
                           probabilistic=False)

    def tally(self, *, leaf: np.ndarray, y: np.ndarray, predictions: Predictions, n_leaves: int, start: int,
              settings: LabelSettings) -> ClassCounts:
        true_classes = pd.unique(pd.Series(y, dtype=object))
        classes = list(dict.fromkeys([*true_classes, *pd.unique(pd.Series(predictions.label, dtype=object))]))
        index = {c: i for i, c in enumerate(classes)}
        k = len(classes)
        yi = pd.Series(y, dtype=object).map(index).to_numpy(dtype=np.int64)
        pi = pd.Series(predictions.label, dtype=object).map(index).to_numpy(dtype=np.int64)
        code = (np.asarray(leaf, dtype=np.int64) * k + yi) * k + pi
        counts = np.bincount(code, minlength=n_leaves * k * k).reshape(n_leaves, k, k).astype(np.float64)
        seen = set(true_classes)
        return ClassCounts(counts=counts, classes=tuple(classes), in_target=tuple(c in seen for c in classes))

    def merge(self, parts: list[ClassCounts]) -> ClassCounts:
        classes: dict[str, bool] = {}
        for part in parts:
            for c, t in zip(part.classes, part.in_target):
                classes[c] = classes.get(c, False) or t
        names = list(classes)
        index = {c: i for i, c in enumerate(names)}
        n_leaves = max(p.counts.shape[0] for p in parts)
        out = np.zeros((n_leaves, len(names), len(names)))
        for part in parts:
            idx = np.array([index[c] for c in part.classes], dtype=np.int64)
            out[np.ix_(np.arange(part.counts.shape[0]), idx, idx)] += part.counts
        return ClassCounts(counts=out, classes=tuple(names), in_target=tuple(classes.values()))

    def remap(self, part: ClassCounts, code: np.ndarray, n_leaves: int) -> ClassCounts:
        out = np.zeros((n_leaves, *part.counts.shape[1:]))
        np.add.at(out, code[: part.counts.shape[0]], part.counts)
        return ClassCounts(counts=out, classes=part.classes, in_target=part.in_target)

    def relabel(self, part: ClassCounts, order: np.ndarray, n_leaves: int) -> ClassCounts:
        return self.remap(part, order, n_leaves)  # leaf l becomes order[l]

    def rows(self, part: ClassCounts) -> int:
        return int(part.counts.sum())

    def drifted(self, *, score: np.ndarray, label: np.ndarray) -> np.ndarray:
        return label

    def table(self, part: ClassCounts) -> tuple[AdditiveTable, Registry]:
        if not any(part.in_target):
            raise AuditError("The evaluation data holds no rows; an audit needs data.")
        order = _class_order(part.classes, part.in_target)
        predicted = [i for i in range(len(part.classes)) if part.counts[:, :, i].sum() > 0]
        if predicted and not any(part.in_target[i] for i in predicted):
            shown = ", ".join(part.classes[i] for i in predicted[:10])
            raise AuditError(f"The model's predicted classes ({shown}) share none with the values of `data.target`; "
                             "a model that predicts class numbers (e.g. a native LightGBM or XGBoost model) needs a "
                             "target coded the same way.")
        counts = part.counts[:, order][:, :, order]
        classes = [part.classes[i] for i in order]
        k = len(classes)
        return CountTable(counts=counts.reshape(counts.shape[0], k * k), unpack=unpack(k)), multiclass_registry(classes)

    def row_values(self, *, y: np.ndarray, predictions: Predictions, registry: Registry) -> np.ndarray:
        classes = list(registry.classes)
        index = {c: i for i, c in enumerate(classes)}
        k = len(classes)
        labels = pd.Series(predictions.label, dtype=object)
        unknown = pd.unique(labels[~labels.isin(classes)])
        if len(unknown):
            raise AuditError(f"The challenger predicts classes the champion's audit does not hold "
                             f"({', '.join(map(repr, unknown[:5]))}); classes: {', '.join(classes)}.")
        code = pd.Series(y, dtype=object).map(index).to_numpy(dtype=np.int64) * k + labels.map(index).to_numpy(
            dtype=np.int64)
        out = np.zeros((len(code), k * k))
        out[np.arange(len(code)), code] = 1.0
        return out

    def row_unpack(self, registry: Registry) -> Callable[[np.ndarray], dict[str, np.ndarray]]:
        return unpack(len(registry.classes))


@dataclass(frozen=True)
class RegressionSums:
    """Sums of the per-row values of a regression per leaf, ``(leaves, k)``, and their replicates
    ``(replicates, leaves, k)`` under Poisson(1) row weights."""

    sums: np.ndarray
    reps: np.ndarray


def _block_weights(*, seed: int, start: int, n: int, replicates: int) -> np.ndarray:
    """Poisson(1) weights ``(replicates, n)`` of rows ``start .. start + n - 1``, the same however rows are cut."""
    out = np.empty((replicates, n))
    first, last = start // _BLOCK, (start + n - 1) // _BLOCK
    for block in range(first, last + 1):
        w = np.random.default_rng([seed, block]).poisson(1.0, size=(replicates, _BLOCK))
        lo = max(start, block * _BLOCK)
        hi = min(start + n, (block + 1) * _BLOCK)
        out[:, lo - start:hi - start] = w[:, lo - block * _BLOCK:hi - block * _BLOCK]
    return out


class _Regression:
    """Residual, target and prediction sums per leaf of a regressor."""

    name = "regression"

    def labels(self, column: pd.Series, settings: LabelSettings) -> np.ndarray:
        values = pd.to_numeric(column, errors="coerce")
        bad = values.isna() | ~np.isfinite(values.to_numpy(dtype=np.float64, na_value=np.nan))
        if bad.any():
            shown = ", ".join(map(repr, pd.unique(column[bad])[:5]))
            raise AuditError(f"`data.target` column {settings.target!r} of {settings.source} must hold numbers for a "
                             f"regression audit; {int(bad.sum())} values are not ({shown}).")
        return values.to_numpy(dtype=np.float64)

    def predict(self, model: FittedModel, frame: pd.DataFrame, source: str) -> Predictions:
        values, _ = predict_values(model, frame, source=source, task=self.name)
        return Predictions(score=values, label=values, probabilistic=False)

    def tally(self, *, leaf: np.ndarray, y: np.ndarray, predictions: Predictions, n_leaves: int, start: int,
              settings: LabelSettings) -> RegressionSums:
        from scipy import sparse

        values = regression_row_values(np.asarray(y, dtype=np.float64), predictions.label)
        rows, k = values.shape
        sums = np.zeros((n_leaves, k))
        np.add.at(sums, leaf, values)
        reps = np.zeros((settings.replicates, n_leaves, k))
        if settings.replicates and rows:
            columns = (np.asarray(leaf, dtype=np.int64)[:, None] * k + np.arange(k)[None, :]).ravel()
            design = sparse.csr_matrix((values.ravel(), (np.repeat(np.arange(rows), k), columns)),
                                       shape=(rows, n_leaves * k))
            w = _block_weights(seed=settings.seed, start=start, n=rows, replicates=settings.replicates)
            reps = np.asarray(design.T @ w.T).T.reshape(settings.replicates, n_leaves, k)
        return RegressionSums(sums=sums, reps=reps)

    def merge(self, parts: list[RegressionSums]) -> RegressionSums:
        n_leaves = max(p.sums.shape[0] for p in parts)
        sums = np.zeros((n_leaves, parts[0].sums.shape[1]))
        reps = np.zeros((parts[0].reps.shape[0], n_leaves, parts[0].sums.shape[1]))
        for p in parts:
            sums[: p.sums.shape[0]] += p.sums
            reps[:, : p.sums.shape[0]] += p.reps
        return RegressionSums(sums=sums, reps=reps)

    def remap(self, part: RegressionSums, code: np.ndarray, n_leaves: int) -> RegressionSums:
        sums = np.zeros((n_leaves, part.sums.shape[1]))
        reps = np.zeros((part.reps.shape[0], n_leaves, part.sums.shape[1]))
        idx = code[: part.sums.shape[0]]
        np.add.at(sums, idx, part.sums)
        np.add.at(reps, (slice(None), idx), part.reps)
        return RegressionSums(sums=sums, reps=reps)

    def relabel(self, part: RegressionSums, order: np.ndarray, n_leaves: int) -> RegressionSums:
        return self.remap(part, order, n_leaves)  # leaf l becomes order[l]

    def rows(self, part: RegressionSums) -> int:
        return int(round(part.sums[:, 0].sum()))

    def drifted(self, *, score: np.ndarray, label: np.ndarray) -> np.ndarray:
        return label

    def table(self, part: RegressionSums) -> tuple[AdditiveTable, Registry]:
        return SumTable(sums=part.sums, reps=part.reps, unpack=unpacker()), REGRESSION

    def row_values(self, *, y: np.ndarray, predictions: Predictions, registry: Registry) -> np.ndarray:
        return regression_row_values(np.asarray(y, dtype=np.float64), np.asarray(predictions.label, dtype=np.float64))

    def row_unpack(self, registry: Registry) -> Callable[[np.ndarray], dict[str, np.ndarray]]:
        return unpacker()


#: The adapter of each task.
ADAPTERS: dict[str, TaskAdapter] = {a.name: a for a in (_Binary(), _Multiclass(), _Regression())}


def adapter(task: str) -> TaskAdapter:
    """The adapter of ``task`` ("binary", "multiclass" or "regression")."""
    return ADAPTERS[task]
