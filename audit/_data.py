"""Loading evaluation and training tables, and checking them against the config."""

from __future__ import annotations

import glob
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ._config import AuditConfig
from ._errors import AuditError

__all__ = ["Table", "read_table", "Dataset", "load_dataset", "sha256_file"]

_PARQUET = (".parquet", ".pq")
_CSV = (".csv", ".csv.gz", ".txt", ".tsv", ".csv.bz2", ".csv.xz", ".csv.zst")


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Table:
    """A loaded table and where it came from."""

    frame: pd.DataFrame
    name: str
    files: tuple[str, ...]
    sha256: tuple[str, ...]


def _read_one(path: Path, field: str) -> pd.DataFrame:
    lower = path.name.lower()
    try:
        if lower.endswith(_PARQUET):
            return pd.read_parquet(path)
        if lower.endswith(_CSV):
            return pd.read_csv(path, sep="\t" if lower.endswith(".tsv") else ",", low_memory=False)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise AuditError(f"`{field}` file {path} could not be read: {detail}. "
                         "Check that it is a valid CSV (comma-separated, header line) or Parquet file.") from None
    raise AuditError(f"`{field}` must be a CSV (.csv, .csv.gz) or Parquet (.parquet) file; got {path.name}.")


def read_table(config: AuditConfig, *, field: str, spec: str) -> Table:
    """Read a CSV/Parquet path or glob named by config field ``field``.

    Several files matching a glob are concatenated in name order.
    """
    pattern = config.resolve(spec)
    if any(ch in spec for ch in "*?["):
        paths = [Path(p) for p in sorted(glob.glob(str(pattern)))]
    else:
        paths = [pattern] if pattern.exists() else []
    if not paths:
        raise AuditError(f"`{field}` must name an existing CSV or Parquet file; got {spec!r}, "
                         f"which matches nothing (looked for {pattern}).")
    frames = [_read_one(p, field) for p in paths]
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    if frame.empty:
        raise AuditError(f"`{field}` file {paths[0].name} holds no rows; an audit needs data.")
    name = paths[0].name if len(paths) == 1 else f"{spec} ({len(paths)} files)"
    return Table(frame=frame, name=name, files=tuple(str(p) for p in paths),
                 sha256=tuple(sha256_file(p) for p in paths))


def _require_columns(table: Table, field: str, columns: list[str]) -> None:
    present = set(table.frame.columns)
    for column in columns:
        if column not in present:
            shown = ", ".join(map(str, table.frame.columns[:40]))
            raise AuditError(f"`{field}` must name a column of {table.name}; got {column!r}. Columns: {shown}.")


@dataclass(frozen=True)
class Dataset:
    """Evaluation data (and training data when the model is trained), checked.

    ``y_test``/``y_train`` are 0/1 arrays, 1 for ``positive_label``.
    """

    test: Table
    train: Table | None
    target: str
    positive_label: object
    negative_label: object
    features: tuple[str, ...]
    y_test: np.ndarray
    y_train: np.ndarray | None
    train_is_split: bool


def _labels(table: Table, target: str, positive: object) -> tuple[np.ndarray, object, object]:
    column = table.frame[target]
    if column.isna().any():
        raise AuditError(f"`data.target` column {target!r} of {table.name} has {int(column.isna().sum())} "
                         "missing values; drop those rows or fill them before the audit.")
    values = list(pd.unique(column))
    if len(values) > 2:
        shown = ", ".join(repr(v) for v in values[:10])
        raise AuditError(f"`data.target` column {target!r} of {table.name} must hold two classes for a binary "
                         f"audit; got {len(values)}: {shown}.")
    if positive is None:
        if set(values) <= {0, 1} or set(values) <= {False, True}:
            positive = True if set(values) <= {False, True} and column.dtype == bool else 1
        else:
            raise AuditError(f"`data.positive_label` is required: the target {target!r} of {table.name} holds "
                             f"{', '.join(repr(v) for v in values)}; set it to the favourable outcome.")
    # YAML may give 1 where the column holds "1" (or the reverse): compare as text when no value matches.
    matches = [v for v in values if v == positive] or [v for v in values if str(v) == str(positive)]
    if not matches and len(values) == 2:
        raise AuditError(f"`data.positive_label` must be one of the values of {target!r} in {table.name}; "
                         f"got {positive!r}. Values: {', '.join(repr(v) for v in values)}.")
    positive = matches[0] if matches else positive
    negatives = [v for v in values if v != positive]
    y = (column == positive).to_numpy(dtype=np.int8) if matches else np.zeros(len(column), np.int8)
    return y, positive, (negatives[0] if negatives else None)


def load_dataset(config: AuditConfig, *, model_features: tuple[str, ...] | None = None) -> Dataset:
    """Read the tables of ``config.data`` and check targets, features and sensitive columns.

    When there is no ``data.train`` but the model must be trained, the test file
    is split (stratified, seeded by ``config.seed``) and the card says so.
    """
    data = config.data
    test = read_table(config, field="data.test", spec=data.test)
    _require_columns(test, "data.target", [data.target])
    _require_columns(test, "data.sensitive", data.sensitive)
    _require_columns(test, "data.bins", list(data.bins))
    for column in data.bins:
        if column not in data.sensitive:
            raise AuditError(f"`data.bins` must only name columns of `data.sensitive`; got {column!r}. "
                             f"Sensitive: {', '.join(data.sensitive)}.")
    if model_features is not None:
        features = model_features
    elif data.features == "all":
        features = tuple(c for c in test.frame.columns if c != data.target and c not in data.sensitive)
    else:
        features = tuple(data.features)
    _require_columns(test, "data.features", list(features))
    if data.target in features:
        raise AuditError(f"`data.features` must not include the target {data.target!r}; remove it.")
    if not features:
        raise AuditError(f"`data.features` leaves no feature columns in {test.name}; list at least one.")

    y_test, positive, negative = _labels(test, data.target, data.positive_label)
    train = None
    y_train = None
    split = False
    if config.model.train is not None:
        if data.train is not None:
            train = read_table(config, field="data.train", spec=data.train)
            _require_columns(train, "data.train", [data.target, *features])
            y_train, _, _ = _labels(train, data.target, positive)
        else:
            from sklearn.model_selection import train_test_split

            idx_train, idx_test = train_test_split(
                np.arange(len(test.frame)), test_size=data.test_size, random_state=config.seed, stratify=y_test)
            frame = test.frame
            train = Table(frame=frame.iloc[idx_train].reset_index(drop=True), name=f"{test.name} (train split)",
                          files=test.files, sha256=test.sha256)
            test = Table(frame=frame.iloc[idx_test].reset_index(drop=True), name=f"{test.name} (test split)",
                         files=test.files, sha256=test.sha256)
            y_train, y_test = y_test[idx_train], y_test[idx_test]
            split = True
    return Dataset(test=test, train=train, target=data.target, positive_label=positive,
                   negative_label=negative, features=tuple(features), y_test=y_test, y_train=y_train,
                   train_is_split=split)
