"""The pass on a dask cluster: the local engine's per-part work mapped over partitions, then summed.

Each partition is scored where it lies (the model is scattered to the workers
once) and reduced to what the audit keeps of it: its cell table, missing-value
counts, the sample candidates among its rows, and its leaves *by label*.
Leaf codes are local to a partition, so results are combined, in a tree, by
mapping each partition's leaf labels into one coder. The combined cell table
holds the exact scores, so ROC AUC, like every other metric, is exact.

The row sample equals the local engine's: row ``i`` of the data (files in
name order, rows in file order) gets the ``i``-th key of the seeded stream,
whichever partition holds it, so every partition needs its first row's
position: Parquet partitions are planned from the files' footers (row groups),
CSV partitions are counted in a first, cheap pass on the cluster.

dask itself is imported only here, and only when this engine runs.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pandas as pd

from ...inputs._data import Dataset, apply_labels, csv_arguments
from ..._errors import AuditError
from ..._extras import require
from ...inputs._model import FittedModel
from ...inputs._sample import SampleBuilder
from .._tasks import adapter
from ._local import EvaluationPass, PassSettings, finish, tally

__all__ = ["DaskRun", "dask_pass", "import_dask"]

#: Partition results combined per task of the tree reduction.
_FAN_IN = 8
_PARQUET = (".parquet", ".pq")
_COMPRESSED = (".gz", ".bz2", ".xz", ".zst")


def import_dask() -> tuple[Any, Any, Any]:
    """``(dask, dask.dataframe, distributed)``, or :class:`~audit._extras.MissingExtra` naming the extra.

    Examples
    --------
    >>> dask, dd, distributed = import_dask()  # doctest: +SKIP
    """
    return tuple(require(module, extra="dask", purpose="The dask engine")  # type: ignore[return-value]
                 for module in ("dask", "dask.dataframe", "distributed"))


@dataclass(frozen=True)
class DaskRun:
    """Where the pass ran, for the findings: the scheduler (or a local cluster), workers, partitions."""

    scheduler: str
    workers: int
    partitions: int


@dataclass
class _Part:
    """What one partition (or a combination of consecutive partitions) reduces to."""

    leaves: list[tuple[str, ...]]
    part: Any
    missing: np.ndarray
    sampler: SampleBuilder
    probabilistic: bool
    partitions: int


def _partition(frame: pd.DataFrame, start: int, model: FittedModel, settings: PassSettings) -> _Part:
    """The local engine's per-part work on one partition whose first row is row ``start`` of the data."""
    frame = frame.reset_index(drop=True)
    y = adapter(settings.task).labels(frame[settings.target], settings.labelling())
    coder = settings.coder()
    sampler = SampleBuilder(size=settings.sample_size, seed=settings.seed, start=start)
    part, missing, probabilistic = tally(frame, y, coder=coder, model=model, sampler=sampler, settings=settings,
                                         start=start)
    return _Part(leaves=coder.leaf_labels(), part=part, missing=missing, sampler=sampler,
                 probabilistic=probabilistic, partitions=1)


def _combine(parts: list[_Part], settings: PassSettings) -> _Part:
    """Sum consecutive parts (in row order): leaves by label into one coder, cells, missing counts, sample."""
    task = adapter(settings.task)
    coder = settings.coder()
    codes = [coder.absorb(part.leaves) for part in parts]
    missing = np.zeros((coder.n_leaves, parts[0].missing.shape[1]))
    tables = []
    sampler = SampleBuilder(size=settings.sample_size, seed=settings.seed)
    for part, code in zip(parts, codes):
        missing[code[: len(part.missing)]] += part.missing
        tables.append(task.remap(part.part, np.asarray(code, dtype=np.int64), coder.n_leaves))
        sampler.absorb(part.sampler, leaf_map=code)
    # The first part's leaves keep their codes (a fresh coder numbers them in order), so one part stays sorted.
    merged = task.merge(tables) if len(tables) > 1 else tables[0]
    return _Part(leaves=coder.leaf_labels(), part=merged, missing=missing, sampler=sampler,
                 probabilistic=all(p.probabilistic for p in parts), partitions=sum(p.partitions for p in parts))


def _parquet_pieces(files: list[str], partition_rows: int) -> list[tuple[str, tuple[int, ...], int]]:
    """Partitions of Parquet files: consecutive row groups of one file, up to ``partition_rows`` rows.

    Planned from the files' footers, so every partition's first row is known
    without reading the data; files in name order, as the local engine reads them.
    """
    import pyarrow.parquet as pq

    pieces = []
    for path in files:
        try:
            meta = pq.ParquetFile(path).metadata
        except (OSError, ValueError) as exc:
            raise AuditError(f"`data.test` file {path} could not be read: {exc}. Check that it is a valid "
                             "Parquet file.") from None
        groups: list[int] = []
        rows = 0
        for index in range(meta.num_row_groups):
            count = meta.row_group(index).num_rows
            if groups and rows + count > partition_rows:
                pieces.append((path, tuple(groups), rows))
                groups, rows = [], 0
            groups.append(index)
            rows += count
        if rows:
            pieces.append((path, tuple(groups), rows))
    return pieces


def _read_piece(path: str, row_groups: tuple[int, ...], columns: list[str]) -> pd.DataFrame:
    """One partition of a Parquet file, read on a worker (pandas types, as the local engine reads them)."""
    import pyarrow.parquet as pq

    try:
        with pq.ParquetFile(path, pre_buffer=False) as parquet:
            return parquet.read_row_groups(list(row_groups), columns=columns).to_pandas()
    except (OSError, ValueError) as exc:
        raise AuditError(f"`data.test` file {path} could not be read on a dask worker: "
                         f"{str(exc).splitlines()[0]}. The workers must reach the data under the same path "
                         "as the machine that runs `audit`.") from None


def _pieces(dask: Any, dd: Any, dataset: Dataset, columns: list[str],
            partition_rows: int) -> tuple[list[Any], list[int] | None]:
    """The evaluation data as dask tasks, one per partition, in the local engine's row order.

    Returns the tasks and, for Parquet, each partition's row count (None for CSV,
    whose partitions are byte ranges: their rows are counted on the cluster).
    """
    files = list(dataset.test.files)
    labels = dataset.test.options.labels
    parquet = [f.lower().endswith(_PARQUET) for f in files]
    if any(parquet) and not all(parquet):
        raise AuditError(f"`data.test` must match only Parquet or only CSV files for the dask engine; "
                         f"{dataset.test.name} matches both. Narrow the glob.")
    if all(parquet):
        # Planned here rather than with dd.read_parquet, which orders files by natural sort ("part-2" before
        # "part-10") where the local engine sorts names as text: the sample follows row order.
        pieces = _parquet_pieces(files, partition_rows)
        # `data.labels` on the cluster as in the local reader: every partition gets the names.
        return [dask.delayed(apply_labels)(dask.delayed(_read_piece)(path, groups, columns), labels)
                for path, groups, _ in pieces], [rows for _, _, rows in pieces]
    compressed = any(f.lower().endswith(_COMPRESSED) for f in files)
    try:
        # The separator (detected or `data.separator`), encoding and extra missing values of the local reader.
        arguments = csv_arguments(Path(files[0]), dataset.test.options)
        # Compressed CSV cannot be split: one partition per file. dd.read_csv keeps the files' order.
        frame = dd.read_csv(files, usecols=columns, low_memory=False, blocksize=None if compressed else "64MB",
                            **arguments)
    except (OSError, ValueError, EOFError) as exc:
        raise AuditError(f"`data.test` {dataset.test.name} could not be read with dask: "
                         f"{str(exc).splitlines()[0]}.") from None
    return [dask.delayed(apply_labels)(part, labels) for part in frame.to_delayed()], None


@contextlib.contextmanager
def _client(distributed: Any, scheduler: str | None, workers: int | None) -> Iterator[tuple[Any, str]]:
    """A client of the cluster at ``scheduler``, or of a local cluster started (and closed) here."""
    if scheduler is not None:
        try:
            client = distributed.Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise AuditError(f"`dask.scheduler` (or --scheduler) {scheduler!r} could not be reached: {exc}. "
                             "Check the address (tcp://host:8786) and that the scheduler is running.") from None
        with client:
            yield client, scheduler
        return
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", silence_logs=logging.ERROR) as cluster, \
            distributed.Client(cluster) as client:
        yield client, "local cluster"


def dask_pass(*, dataset: Dataset, model: FittedModel, columns: list[str], settings: PassSettings,
              scheduler: str | None, workers: int | None, partition_rows: int,
              progress: Callable[[str], None]) -> tuple[EvaluationPass, DaskRun]:
    """The pass over ``dataset``'s evaluation files on a dask cluster.

    Parameters
    ----------
    dataset : Dataset
        Loaded lazily (``test.frame`` is None): files, columns and labels.
    model : FittedModel
        Scattered to every worker once.
    columns : list of str
        The columns to read: model features, sensitive columns, target.
    settings : PassSettings
        Sensitive columns, bins, labels, sample size and seed.
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``); None starts a local cluster.
    workers : int, optional
        Workers of the local cluster (default: one per core).
    partition_rows : int
        Most rows of a Parquet partition (whole row groups of one file); CSV is cut in 64 MB blocks.
    progress : callable
        Called with a short text at each step.

    Returns
    -------
    (EvaluationPass, DaskRun)
        The same statistics and sample as the local engine's pass, and where it ran.
    """
    dask, dd, distributed = import_dask()
    # CSV text stays as Python strings (object columns), as pandas reads it locally: the model and the
    # checks then see the same values and dtypes on either engine.
    with dask.config.set({"dataframe.convert-string": False}), _client(distributed, scheduler, workers) as (
            client, where):
        pieces, lengths = _pieces(dask, dd, dataset, columns, partition_rows)
        if lengths is None:
            progress(f"counting the rows of {len(pieces)} partitions on the cluster")
            lengths = list(dask.compute(*[dask.delayed(len)(piece) for piece in pieces]))
        if not pieces:
            raise AuditError(f"`data.test` {dataset.test.name} holds no rows; an audit needs data.")
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(int)
        shipped = client.scatter(model, broadcast=True, hash=False)
        level = [dask.delayed(_partition)(piece, int(start), shipped, settings)
                 for piece, start in zip(pieces, starts)]
        while len(level) > 1:  # tree reduction, in row order
            level = [dask.delayed(_combine)(level[i:i + _FAN_IN], settings) for i in range(0, len(level), _FAN_IN)]
        progress(f"predicting and counting {sum(lengths):,} rows on the cluster")
        part = client.compute(level[0]).result()
        workers_seen = len(client.scheduler_info()["workers"])
    if adapter(settings.task).rows(part.part) == 0:
        raise AuditError(f"`data.test` {dataset.test.name} holds no rows; an audit needs data.")
    coder = settings.coder()
    coder.absorb(part.leaves)  # codes 0..n-1 in order: the part's own codes
    result = finish(coder=coder, part=part.part, missing=[part.missing], sampler=part.sampler,
                    probabilistic=part.probabilistic, partitions=part.partitions, task=settings.task)
    return result, DaskRun(scheduler=where, workers=workers_seen, partitions=part.partitions)
