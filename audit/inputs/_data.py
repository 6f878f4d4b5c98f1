"""Loading evaluation and training tables, and checking them against the config."""

from __future__ import annotations

import bz2
import csv
import glob
import gzip
import hashlib
import lzma
import zlib
from dataclasses import dataclass, field as dataclass_field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd

from ..settings._config import AuditConfig
from .._errors import AuditError

__all__ = ["Rest", "one_vs_rest_note", "ReadOptions", "detect_separator", "csv_arguments", "infer_task", "is_numeric_feature", "category_text", "Table", "read_table", "open_table", "iter_batches", "Dataset", "load_dataset", "binary_labels",
           "evaluation_batches", "sha256_file"]

_PARQUET = (".parquet", ".pq")
_CSV = (".csv", ".csv.gz", ".txt", ".tsv", ".csv.bz2", ".csv.xz", ".csv.zst")


def is_numeric_feature(column: pd.Series) -> bool:
    """Numbers, not booleans: the columns that are binned by value rather than treated as categories."""
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def category_text(column: pd.Series) -> pd.Series:
    """Values as text, with absent values as the category ``"<missing>"``."""
    return column.astype(object).where(column.notna(), "<missing>").map(str)


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class ReadOptions:
    """How CSV files are read: ``data.separator`` ("auto" detects it), ``data.encoding``, ``data.na_values``."""

    separator: str = "auto"
    encoding: str = "utf-8"
    na_values: tuple[str, ...] = ()

    @classmethod
    def of(cls, config: AuditConfig) -> "ReadOptions":
        data = config.data
        return cls(separator=data.separator, encoding=data.encoding, na_values=tuple(data.na_values))


@dataclass(frozen=True)
class Table:
    """A table and where it came from; ``frame`` is None when it is read in batches."""

    frame: pd.DataFrame | None
    name: str
    files: tuple[str, ...]
    sha256: tuple[str, ...]
    columns: tuple[str, ...]
    options: ReadOptions = dataclass_field(default_factory=ReadOptions)


#: Delimiters tried when ``data.separator`` is "auto", in order of preference on a tie.
SEPARATORS = (",", ";", "\t", "|")
_SNIFF_BYTES = 1 << 16
_SNIFF_LINES = 50
# What a damaged or cut-short compressed file raises, depending on where the stream ends.
_DAMAGED = (EOFError, zlib.error, gzip.BadGzipFile, lzma.LZMAError)


def _head_bytes(path: Path) -> bytes:
    """The first bytes of a CSV file, decompressed by its suffix (as pandas infers the compression)."""
    lower = path.name.lower()
    opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}.get(path.suffix.lower())
    if lower.endswith(".zst"):
        try:
            import zstandard
        except ImportError:  # pandas needs it too, and will say so
            return b""
        with open(path, "rb") as raw, zstandard.ZstdDecompressor().stream_reader(raw) as fh:
            return fh.read(_SNIFF_BYTES)
    with (opener or open)(path, "rb") as fh:
        return fh.read(_SNIFF_BYTES)


def detect_separator(text: str) -> str | None:
    r"""The delimiter that splits the first lines of ``text`` into the same number (two or more) of fields.

    Among delimiters that do, the one giving the most fields wins; None when none does.

    Examples
    --------
    >>> detect_separator("age;job;y\n30;admin.;no\n41;\"a;b\";yes\n")
    ';'
    >>> detect_separator("a,b|c\n1,2|3\n"), detect_separator("one column\nx\n")
    (',', None)
    """
    lines = [line for line in text.splitlines()[:_SNIFF_LINES] if line.strip()]
    best, width = None, 1
    for sep in SEPARATORS:
        try:
            widths = {len(row) for row in csv.reader(lines, delimiter=sep)}
        except csv.Error:
            continue
        if len(widths) == 1 and (n := widths.pop()) > width:
            best, width = sep, n
    return best


def _separator(path: Path, options: ReadOptions) -> str:
    if options.separator != "auto":
        return options.separator
    if path.name.lower().endswith(".tsv"):
        return "\t"
    head = _head_bytes(path)
    if len(head) == _SNIFF_BYTES:
        head = head[: head.rfind(b"\n") + 1] or head  # the sample may end inside a line
    return detect_separator(head.decode(options.encoding, errors="replace")) or ","


def csv_arguments(path: Path, options: ReadOptions) -> dict[str, object]:
    """Keyword arguments of ``pandas.read_csv`` for ``path``: separator (detected or set), encoding, extra NAs."""
    return {"sep": _separator(path, options), "encoding": options.encoding,
            "na_values": list(options.na_values) or None}


def _shown_separator(sep: str) -> str:
    return "\\t" if sep == "\t" else sep


def read_error(exc: BaseException, *, path: Path, field: str, options: ReadOptions) -> AuditError:
    """The message for a data file that could not be read: what is wrong with the file and what to do."""
    if isinstance(exc, UnicodeDecodeError):
        byte = exc.object[exc.start:exc.start + 1].hex()
        return AuditError(
            f"`{field}` file {path.name} is not {options.encoding} text: byte 0x{byte} (at byte {exc.start} of the "
            f"text) cannot be decoded as {options.encoding}. Set `data.encoding` to the encoding the file was saved "
            "in (for instance `data.encoding: latin-1` or `cp1252` for Western European text from Excel), or "
            "re-save the file as UTF-8.")
    detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, _DAMAGED):
        return AuditError(f"`{field}` file {path.name} is damaged or cut short ({detail}); the compressed data "
                          "ends before the file does. Copy or download it again, and check it opens "
                          f"(e.g. `gzip -t {path.name}`).")
    return AuditError(f"`{field}` file {path} could not be read: {detail}. Check that it is a valid CSV "
                      "(a header line, one delimiter between fields; see `data.separator`) or Parquet file.")


def _check_joined_header(columns: list[str], *, path: Path, field: str, sep: str) -> None:
    """One column whose header holds another delimiter: the file was split at the wrong character."""
    if len(columns) != 1:
        return
    header = str(columns[0])
    for other in SEPARATORS:
        if other != sep and other in header:
            shown = header if len(header) <= 60 else header[:57] + "..."
            raise AuditError(
                f"`{field}` file {path.name} was read as one column, whose header {shown!r} holds "
                f"{_shown_separator(other)!r}: the file looks {_shown_separator(other)!r}-separated, and it was split "
                f"at {_shown_separator(sep)!r}. Set `data.separator: {_shown_separator(other)!r}` "
                "(or remove `data.separator` to detect it).")


def _read_one(path: Path, field: str, options: ReadOptions | None = None) -> pd.DataFrame:
    options = options or ReadOptions()
    lower = path.name.lower()
    try:
        if lower.endswith(_PARQUET):
            return pd.read_parquet(path)
        if lower.endswith(_CSV):
            arguments = csv_arguments(path, options)
            frame = pd.read_csv(path, low_memory=False, **arguments)
            _check_joined_header(list(frame.columns), path=path, field=field, sep=str(arguments["sep"]))
            return frame
    except AuditError:
        raise
    except (OSError, ValueError, pd.errors.ParserError, *_DAMAGED) as exc:
        raise read_error(exc, path=path, field=field, options=options) from None
    raise AuditError(f"`{field}` must be a CSV (.csv, .csv.gz) or Parquet (.parquet) file; got {path.name}.")


def _paths(config: AuditConfig, field: str, spec: str) -> list[Path]:
    pattern = config.resolve(spec)
    if any(ch in spec for ch in "*?["):
        paths = [Path(p) for p in sorted(glob.glob(str(pattern)))]
    else:
        paths = [pattern] if pattern.exists() else []
    if not paths:
        raise AuditError(f"`{field}` must name an existing CSV or Parquet file; got {spec!r}, "
                         f"which matches nothing (looked for {pattern}).")
    for path in paths:
        if not path.name.lower().endswith(_PARQUET + _CSV):
            raise AuditError(f"`{field}` must be a CSV (.csv, .csv.gz) or Parquet (.parquet) file; got {path.name}.")
    return paths


def read_table(config: AuditConfig, *, field: str, spec: str) -> Table:
    """Read a CSV/Parquet path or glob named by config field ``field``, whole.

    Several files matching a glob are concatenated in name order.
    """
    paths = _paths(config, field, spec)
    options = ReadOptions.of(config)
    frames = [_read_one(p, field, options) for p in paths]
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    if frame.empty:
        raise AuditError(f"`{field}` file {paths[0].name} holds no rows; an audit needs data.")
    name = paths[0].name if len(paths) == 1 else f"{spec} ({len(paths)} files)"
    return Table(frame=frame, name=name, files=tuple(str(p) for p in paths),
                 sha256=tuple(sha256_file(p) for p in paths), columns=tuple(map(str, frame.columns)),
                 options=options)


def _columns_of(path: Path, field: str, options: ReadOptions) -> tuple[str, ...]:
    if path.name.lower().endswith(_PARQUET):
        import pyarrow.parquet as pq

        try:
            return tuple(pq.ParquetFile(path).schema_arrow.names)
        except (OSError, ValueError) as exc:
            raise AuditError(f"`{field}` file {path} could not be read: {exc}. Check that it is a valid "
                             "Parquet file.") from None
    try:
        arguments = csv_arguments(path, options)
        columns = list(map(str, pd.read_csv(path, nrows=0, **arguments).columns))
    except (OSError, ValueError, pd.errors.ParserError, *_DAMAGED) as exc:
        raise read_error(exc, path=path, field=field, options=options) from None
    _check_joined_header(columns, path=path, field=field, sep=str(arguments["sep"]))
    return tuple(columns)


def open_table(config: AuditConfig, *, field: str, spec: str) -> Table:
    """Describe a table to be read in batches: files, hashes and columns, no rows."""
    paths = _paths(config, field, spec)
    options = ReadOptions.of(config)
    columns = _columns_of(paths[0], field, options)
    for path in paths[1:]:
        if _columns_of(path, field, options) != columns:
            raise AuditError(f"`{field}` files must share their columns; {path.name} differs from {paths[0].name}.")
    name = paths[0].name if len(paths) == 1 else f"{spec} ({len(paths)} files)"
    return Table(frame=None, name=name, files=tuple(str(p) for p in paths),
                 sha256=tuple(sha256_file(p) for p in paths), columns=columns, options=options)


def iter_batches(table: Table, *, batch_rows: int, columns: list[str] | None = None,
                 field: str = "data.test") -> Iterator[pd.DataFrame]:
    """Rows of ``table`` in batches of at most ``batch_rows``, file by file, in order.

    Parquet is read with pyarrow record batches, CSV in pandas chunks, so only
    one batch is in memory at a time. A file that turns out damaged part-way
    (a cut-short gzip, an undecodable byte) is an :class:`AuditError` naming it.
    """
    for file in table.files:
        path = Path(file)
        try:
            if path.name.lower().endswith(_PARQUET):
                import pyarrow.parquet as pq

                # pre_buffer=False: pyarrow would otherwise buffer the file's column chunks ahead, and hold
                # memory in proportion to the file rather than to the batch.
                with pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20) as parquet:
                    for batch in parquet.iter_batches(batch_size=batch_rows, columns=columns):
                        yield batch.to_pandas()
            else:
                with pd.read_csv(path, chunksize=batch_rows, usecols=columns, low_memory=False,
                                 **csv_arguments(path, table.options)) as reader:
                    yield from reader
        except (OSError, UnicodeDecodeError, pd.errors.ParserError, *_DAMAGED) as exc:
            raise read_error(exc, path=path, field=field, options=table.options) from None


def _require_columns(table: Table, field: str, columns: list[str]) -> None:
    present = set(table.columns)
    for column in columns:
        if column not in present:
            shown = ", ".join(table.columns[:40])
            raise AuditError(f"`{field}` must name a column of {table.name}; got {column!r}. Columns: {shown}.")


@dataclass(frozen=True)
class Dataset:
    """Evaluation data (and training data when the model is trained), checked.

    ``y_test``/``y_train`` are 0/1 arrays, 1 for ``positive_label``. When the
    evaluation data is read in batches (``batch_rows``), ``test.frame`` and
    ``y_test`` are None and :func:`evaluation_batches` yields the rows.
    """

    test: Table
    train: Table | None
    target: str
    positive_label: object
    negative_label: object
    features: tuple[str, ...]
    y_test: np.ndarray | None
    y_train: np.ndarray | None
    train_is_split: bool
    batch_rows: int | None = None
    #: "binary", "multiclass" or "regression" (``task`` of the config, or inferred from the target).
    task: str = "binary"
    #: How the target was read when it is not as it stands (one class against the rest); None otherwise.
    task_note: str | None = None


@dataclass(frozen=True)
class Rest:
    """The negative class of a binary audit of one class against the rest: every target value but ``positive``.

    A target of three or more values with a ``data.positive_label`` is audited as the positive label against
    all the others (fairlearn's readmission case study: readmitted within 30 days or not). ``others`` are the
    other values of the evaluation data, for messages and notes.
    """

    positive: object
    others: tuple[object, ...]

    def __str__(self) -> str:
        return f"not {self.positive}"


def one_vs_rest_note(target: str, rest: Rest) -> str:
    """The task note of a one-against-the-rest audit, for the card and the findings."""
    others = ", ".join(repr(_scalar(v)) for v in rest.others)
    return (f"One class against the rest: the target {target!r} holds {len(rest.others) + 1} values; this binary "
            f"audit reads {_scalar(rest.positive)!r} (`data.positive_label`) as the positive class and every other "
            f"value ({others}) as the negative class. For an audit of every class, remove `data.positive_label` "
            "(or set `task: multiclass`).")


def _scalar(value: object) -> object:
    return value.item() if hasattr(value, "item") else value


def binary_labels(column: pd.Series, *, target: str, source: str, positive: object,
                  negative: object = None, whole: bool = True) -> tuple[np.ndarray, object, object]:
    """0/1 labels of a target column, and the positive and negative label values.

    ``positive`` None infers 1 (or True) for a 0/1 or boolean target; a known
    ``negative`` (from an earlier batch) makes any third value an error, unless it is a :class:`Rest`
    (one class against the rest). A whole column of three or more values with a ``positive`` label is
    audited as that label against the rest: the negative label returned is then a :class:`Rest`.
    """
    if column.isna().any():
        raise AuditError(f"`data.target` column {target!r} of {source} has {int(column.isna().sum())} "
                         "missing values; drop those rows or fill them before the audit.")
    values = list(pd.unique(column))
    if isinstance(negative, Rest):
        y = (column.eq(negative.positive) | column.astype(str).eq(str(negative.positive))).to_numpy(dtype=np.int8)
        return y, positive, negative
    # Labels met in earlier batches count too (both are known once a negative has been seen).
    known = [v for v in (positive, negative) if v is not None] if negative is not None else []
    many = len(set(map(str, values)) | set(map(str, known))) > 2
    if many and (positive is None or negative is not None):
        shown = ", ".join(repr(v) for v in dict.fromkeys([*known, *values]))
        how = (" Set `data.positive_label` to one of them to audit that class against the rest, or remove "
               "`task: binary` for a multiclass audit." if positive is None else "")
        raise AuditError(f"`data.target` column {target!r} of {source} must hold two classes for a binary "
                         f"audit; got {shown}.{how}")
    if positive is None:
        if set(values) <= {0, 1} or set(values) <= {False, True}:
            positive = True if column.dtype == bool else 1
        else:
            raise AuditError(f"`data.positive_label` is required: the target {target!r} of {source} holds "
                             f"{', '.join(repr(v) for v in values)}; set it to the favourable outcome.")
    # YAML may give 1 where the column holds "1" (or the reverse): compare as text when no value matches.
    matches = [v for v in values if v == positive] or [v for v in values if str(v) == str(positive)]
    # A whole table must hold the positive label; one batch of a larger table may not.
    if not matches and (len(values) == 2 or whole):
        raise AuditError(f"`data.positive_label` must be one of the values of {target!r} in {source}; "
                         f"got {positive!r}. Values: {', '.join(repr(v) for v in values)}.")
    positive = matches[0] if matches else positive
    others = [v for v in values if str(v) != str(positive)]
    y = column.eq(positive).to_numpy(dtype=np.int8)
    if many:
        return y, positive, Rest(positive=positive, others=tuple(sorted(others, key=str)))
    return y, positive, (others[0] if others else negative)


def frame_table(frame: pd.DataFrame, *, name: str) -> Table:
    """A DataFrame held in Python as a table; its SHA-256 is of pandas' row hashes (index left out)."""
    import hashlib

    if not isinstance(frame, pd.DataFrame):
        raise AuditError(f"{name} must be a pandas DataFrame; got {type(frame).__name__}.")
    if frame.empty:
        raise AuditError(f"{name} holds no rows; an audit needs data.")
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()).hexdigest()
    return Table(frame=frame, name=name, files=(), sha256=(digest,), columns=tuple(frame.columns))


def load_dataset(config: AuditConfig, *, model_features: tuple[str, ...] | None = None,
                 lazy: bool = False, frames: dict[str, Table] | None = None) -> Dataset:
    """Read the tables of ``config.data`` and check targets, features and sensitive columns.

    When there is no ``data.train`` but the model must be trained, the test file
    is split (stratified, seeded by ``config.seed``) and the card says so. With
    ``data.batch_rows`` the evaluation data is only described here, and read in
    batches later; so it is with ``lazy`` (the dask engine reads it on the cluster).
    """
    data = config.data
    batch = data.batch_rows
    frames = frames or {}
    if "data.test" in frames:  # a DataFrame passed to audit.run replaces `data.test`, in memory
        test, batch, lazy = frames["data.test"], None, False
    else:
        test = read_table(config, field="data.test", spec=data.test) if batch is None and not lazy else \
            open_table(config, field="data.test", spec=data.test)
    _require_columns(test, "data.target", [data.target])
    _require_columns(test, "data.sensitive", data.sensitive)
    _require_columns(test, "data.bins", list(data.bins))
    _require_columns(test, "data.control", list(data.control))
    _require_columns(test, "checks.conditional.bins", list(config.checks.conditional.bins))
    if data.id is not None:
        _require_columns(test, "data.id", [data.id])
    for column in data.bins:
        if column not in data.sensitive:
            raise AuditError(f"`data.bins` must only name columns of `data.sensitive`; got {column!r}. "
                             f"Sensitive: {', '.join(data.sensitive)}.")
    # Columns of predictions made elsewhere (`model.predictions`) are outputs, never features.
    outputs: list[str] = []
    if config.model is not None and config.model.predictions is not None:
        spec = config.model.predictions
        outputs = [spec.predictions] + ([spec.scores] if spec.scores is not None else [])
        _require_columns(test, "model.predictions", outputs)
    if model_features is not None:
        features = model_features
    elif data.features == "all":
        features = tuple(c for c in test.columns if c != data.target and c not in data.sensitive and c not in outputs)
    else:
        features = tuple(data.features)
    _require_columns(test, "data.features", list(features))
    if data.target in features:
        raise AuditError(f"`data.features` must not include the target {data.target!r}; remove it.")
    if not features:
        raise AuditError(f"`data.features` leaves no feature columns in {test.name}; list at least one.")

    task = config.task
    if task is None:
        # Read in parts, the task is inferred from the first batch's target (set `task` to be sure of it).
        column = test.frame[data.target] if test.frame is not None else next(
            iter_batches(test, batch_rows=batch or 100_000, columns=[data.target]))[data.target]
        task = infer_task(column, positive_label=data.positive_label)
    if task != "binary":
        return _task_dataset(config, test, tuple(features), task, frames)
    if test.frame is not None:
        y_test, positive, negative = binary_labels(test.frame[data.target], target=data.target, source=test.name,
                                                   positive=data.positive_label)
    else:
        first = next(iter_batches(test, batch_rows=batch or 100_000, columns=[data.target]))
        _, positive, negative = binary_labels(first[data.target], target=data.target, source=test.name,
                                              positive=data.positive_label, whole=False)
        y_test = None
    train = None
    y_train = None
    split = False
    if config.model is not None and config.model.train is not None:
        if "data.train" in frames or data.train is not None:
            train = frames.get("data.train") or read_table(config, field="data.train", spec=data.train)
            _require_columns(train, "data.train", [data.target, *features])
            y_train, _, _ = binary_labels(train.frame[data.target], target=data.target, source=train.name,
                                          positive=positive, negative=negative)
        elif test.frame is None:
            why = "the dask engine runs" if lazy else "`data.batch_rows` is set"
            raise AuditError(f"`data.train` is required to train a model when {why}: the "
                             "evaluation data is read in parts and cannot be split. Name a training file.")
        else:
            train, test, y_train, y_test = _split(test, y_test, test_size=data.test_size, seed=config.seed,
                                                  stratify=y_test)
            split = True
    return Dataset(test=test, train=train, target=data.target, positive_label=positive,
                   negative_label=negative, features=tuple(features), y_test=y_test, y_train=y_train,
                   train_is_split=split, batch_rows=None if lazy else batch,
                   task_note=one_vs_rest_note(data.target, negative) if isinstance(negative, Rest) else None)


#: Integer targets with at most this many distinct values are classes; more make a regression.
MAX_INFERRED_CLASSES = 20


def infer_task(column: pd.Series, *, positive_label: object = None) -> str:
    """The task a target column implies, when the config does not say.

    A ``positive_label``, a boolean column or two distinct values make a binary audit; numbers that are
    not all integers, or integers with more than 20 distinct values, a regression; anything else
    (text with three or more values, or a few integer codes) a multiclass audit.

    Examples
    --------
    >>> infer_task(pd.Series([">50K", "<=50K"])), infer_task(pd.Series([0.5, 1.25, 3.0]))
    ('binary', 'regression')
    >>> infer_task(pd.Series(["a", "b", "c"])), infer_task(pd.Series(range(100)))
    ('multiclass', 'regression')
    """
    values = column.dropna().unique()
    if positive_label is not None or pd.api.types.is_bool_dtype(column) or len(values) <= 2:
        return "binary"
    if is_numeric_feature(column):
        numbers = np.asarray(values, dtype=float)
        if not np.all(np.mod(numbers, 1) == 0) or len(values) > MAX_INFERRED_CLASSES:
            return "regression"
    return "multiclass"


def _split(test: Table, y: np.ndarray, *, test_size: float, seed: int,
           stratify: np.ndarray | None) -> tuple[Table, Table, np.ndarray, np.ndarray]:
    """Split the evaluation table into seeded train and test parts (no ``data.train`` to train on)."""
    from sklearn.model_selection import train_test_split

    assert test.frame is not None
    idx_train, idx_test = train_test_split(np.arange(len(y)), test_size=test_size, random_state=seed,
                                           stratify=stratify)
    frame = test.frame
    train = Table(frame=frame.iloc[idx_train].reset_index(drop=True), name=f"{test.name} (train split)",
                  files=test.files, sha256=test.sha256, columns=test.columns, options=test.options)
    part = Table(frame=frame.iloc[idx_test].reset_index(drop=True), name=f"{test.name} (test split)",
                 files=test.files, sha256=test.sha256, columns=test.columns, options=test.options)
    return train, part, y[idx_train], y[idx_test]


def _task_dataset(config: AuditConfig, test: Table, features: tuple[str, ...], task: str,
                  frames: dict[str, Table] | None = None) -> Dataset:
    """Evaluation (and training) data of a multiclass or regression audit: targets as they are."""
    data = config.data
    if test.frame is None and config.model is not None and config.model.train is not None and data.train is None:
        raise AuditError(f"`data.batch_rows` and the dask engine read `data.test` in parts, so it cannot also be "
                         f"split to train the model: give `data.train` for this {task} audit.")
    if data.positive_label is not None:
        how = (" or remove `task` (or set `task: binary`) to audit that class against the rest"
               if task == "multiclass" else "")
        raise AuditError(f"`data.positive_label` applies to binary audits; remove it for this {task} audit "
                         f"(`task: {task}`){how}.")

    def target(table: Table) -> np.ndarray:
        assert table.frame is not None
        column = table.frame[data.target]
        if column.isna().any():
            raise AuditError(f"`data.target` column {data.target!r} of {table.name} has {int(column.isna().sum())} "
                             "missing values; drop those rows or fill them before the audit.")
        if task == "regression":
            numbers = pd.to_numeric(column, errors="coerce")
            if numbers.isna().any():
                raise AuditError(f"`data.target` column {data.target!r} of {table.name} must hold numbers for a "
                                 f"regression audit; got {column[numbers.isna()].iloc[0]!r}.")
            return numbers.to_numpy(dtype=np.float64)
        return column.to_numpy()

    frames = frames or {}
    y_test = target(test) if test.frame is not None else None
    train, y_train, split = None, None, False
    if config.model is not None and config.model.train is not None:
        if "data.train" in frames or data.train is not None:
            train = frames.get("data.train") or read_table(config, field="data.train", spec=data.train)
            _require_columns(train, "data.train", [data.target, *features])
            y_train = target(train)
        else:
            assert y_test is not None
            counts = pd.Series(y_test).value_counts()
            stratify = y_test if task == "multiclass" and counts.min() >= 2 else None
            train, test, y_train, y_test = _split(test, y_test, test_size=data.test_size, seed=config.seed,
                                                  stratify=stratify)
            split = True
    return Dataset(test=test, train=train, target=data.target, positive_label=None, negative_label=None,
                   features=features, y_test=y_test, y_train=y_train, train_is_split=split, task=task,
                   batch_rows=None if test.frame is not None else (data.batch_rows or 100_000))


def evaluation_batches(dataset: Dataset, *, columns: list[str],
                       labels: Callable[[pd.Series], np.ndarray]) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
    """The evaluation rows with their labels (the task's values, from ``labels`` of the target column):
    one piece in memory, or batch by batch."""
    if dataset.test.frame is not None:
        yield dataset.test.frame, labels(dataset.test.frame[dataset.target])
        return
    assert dataset.batch_rows is not None
    for frame in iter_batches(dataset.test, batch_rows=dataset.batch_rows, columns=columns):
        yield frame, labels(frame[dataset.target])
