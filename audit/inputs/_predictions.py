"""Row-level outputs of an audited model: what ``predictions.parquet`` holds, so later audits can pair rows.

An audit keeps, for every evaluation row, its key, its sensitive labels (as the groups name them), the target
(the task's values: 0/1, class text, numbers), the model's prediction and its score. Written beside
``findings.json`` (compressed Parquet, hashed in the manifest), they let ``audit compare`` and a champion
against challenger audit compare two models on the same rows instead of as independent samples.

Rows are keyed by a configured ``data.id`` column, or by their position in the evaluation data together with
the data file's SHA-256 (positions only pair when the data is the same file).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import AuditError

__all__ = ["RowOutputs", "PREDICTIONS_NAME", "ROW_COLUMN", "row_outputs_bytes", "read_row_outputs"]

#: File name of the row-level outputs in a report folder.
PREDICTIONS_NAME = "predictions.parquet"
#: Key column when rows are keyed by position.
ROW_COLUMN = "row"
_TARGET, _PREDICTION, _SCORE = "target", "prediction", "score"
_GROUP_PREFIX = "group:"


@dataclass(frozen=True)
class RowOutputs:
    """One model's outputs on every evaluation row, in the data's order.

    Attributes
    ----------
    key : ndarray
        The ``data.id`` value of each row, or its position (0, 1, ...) when ``key_column`` is None.
    key_column : str or None
        The configured ``data.id`` column, or None for row positions.
    labels : DataFrame
        Each row's label of every sensitive attribute (bins applied), as the groups name them.
    y, prediction, score : ndarray
        The target and the model's prediction in the task's values, and the score (binary: the positive
        class's; multiclass: the predicted class's confidence; regression: the prediction).
    probabilistic : bool
        Whether the scores are probabilities.
    """

    key: np.ndarray
    key_column: str | None
    labels: pd.DataFrame
    y: np.ndarray
    prediction: np.ndarray
    score: np.ndarray
    probabilistic: bool

    def __len__(self) -> int:
        return len(self.y)

    @property
    def columns(self) -> list[str]:
        """The columns of :meth:`to_frame`: key, target, prediction, score, then ``group:<attribute>``."""
        return [self.key_column or ROW_COLUMN, _TARGET, _PREDICTION, _SCORE,
                *(_GROUP_PREFIX + name for name in self.labels.columns)]

    def to_frame(self) -> pd.DataFrame:
        """The outputs as a table (columns :attr:`columns`); sensitive labels as categoricals."""
        key, target, prediction, score, *groups = self.columns
        frame = pd.DataFrame({key: self.key, target: self.y, prediction: self.prediction,
                              score: np.asarray(self.score, dtype=np.float64)})
        for column, name in zip(groups, self.labels.columns):
            frame[column] = pd.Categorical(self.labels[name].astype(str))
        return frame

    def take(self, rows: np.ndarray) -> "RowOutputs":
        """The outputs of ``rows`` (positions), in that order."""
        return RowOutputs(key=self.key[rows], key_column=self.key_column,
                          labels=self.labels.iloc[rows].reset_index(drop=True), y=self.y[rows],
                          prediction=self.prediction[rows], score=self.score[rows],
                          probabilistic=self.probabilistic)


def row_outputs_bytes(outputs: RowOutputs) -> bytes:
    """``outputs`` as compressed Parquet bytes (zstd), the same bytes for the same outputs."""
    buffer = io.BytesIO()
    outputs.to_frame().to_parquet(buffer, index=False, compression="zstd")
    return buffer.getvalue()


def read_row_outputs(path: str | Path, *, sha256: str | None, key_column: str | None,
                     probabilistic: bool) -> RowOutputs:
    """Read a ``predictions.parquet`` an audit wrote, checking it against the SHA-256 of its manifest.

    ``key_column`` is the manifest's ``data.id`` column (None: rows keyed by position).

    Raises
    ------
    AuditError
        The file is missing, altered since the audit (its SHA-256 differs), or not an audit's outputs.
    """
    path = Path(path)
    if not path.is_file():
        raise AuditError(f"{path} does not exist: the audit's row-level outputs were not found beside its "
                         "findings.json.")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if sha256 is not None and digest != sha256:
        raise AuditError(f"{path} has SHA-256 {digest[:12]}…, not the {sha256[:12]}… its findings.json records: "
                         "the file was changed after the audit. Re-run the audit to pair its rows.")
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise AuditError(f"{path} could not be read as Parquet ({str(exc).splitlines()[0]}).") from None
    fixed = [c for c in (_TARGET, _PREDICTION, _SCORE) if c not in frame.columns]
    if fixed or len(frame.columns) < 4:
        raise AuditError(f"{path} is not an audit's row-level outputs: it needs a key column and the columns "
                         f"{_TARGET}, {_PREDICTION}, {_SCORE}; missing {', '.join(fixed) or 'the key'}.")
    key = key_column or ROW_COLUMN
    if frame.columns[0] != key:
        raise AuditError(f"{path} is keyed by {frame.columns[0]!r}, not by {key!r} as its findings.json says.")
    groups = [c for c in frame.columns if c.startswith(_GROUP_PREFIX)]
    labels = pd.DataFrame({c[len(_GROUP_PREFIX):]: frame[c].astype(str).to_numpy(dtype=object) for c in groups})
    return RowOutputs(key=frame[key].to_numpy(), key_column=key_column,
                      labels=labels, y=frame[_TARGET].to_numpy(), prediction=frame[_PREDICTION].to_numpy(),
                      score=frame[_SCORE].to_numpy(dtype=np.float64), probabilistic=probabilistic)


@dataclass(frozen=True)
class RowPairing:
    """Two audits' row-level outputs matched row by row, or why they could not be.

    ``old`` and ``new`` hold the matched rows in the same order (None when not paired); ``how`` says how
    the rows were matched, or why they were not.
    """

    old: RowOutputs | None
    new: RowOutputs | None
    how: str

    @property
    def paired(self) -> bool:
        return self.old is not None


def _outputs_of(doc: dict, path: Path) -> RowOutputs | str:
    meta = (doc.get("audit") or {}).get("predictions")
    if not meta:
        return f"{path.name} records no {PREDICTIONS_NAME} (an older audit, one on the dask engine, or " \
               "`report.predictions: false`)"
    if not (path.parent / meta["file"]).is_file():  # a findings.json copied alone (a CI artifact, say)
        return f"{meta['file']} is not beside {path} (copy it with findings.json to pair the rows)"
    return read_row_outputs(path.parent / meta["file"], sha256=meta["sha256"], key_column=meta["key"],
                            probabilistic=bool((doc.get("model") or {}).get("probabilistic")))


def pair_documents(old: dict, new: dict, *, old_path: str | Path, new_path: str | Path | None = None,
                   new_rows: RowOutputs | None = None) -> RowPairing:
    """Match the evaluation rows of two findings documents through their ``predictions.parquet``.

    ``new_rows`` are the new audit's outputs when they are still in memory (``audit run --baseline``);
    otherwise they are read beside ``new_path``. Rows keyed by position pair when both audits evaluated the
    same data (equal SHA-256 of every file); rows keyed by a ``data.id`` column pair on the keys both hold.
    The targets of matched rows must agree.
    """
    a = _outputs_of(old, Path(old_path))
    if new_rows is not None:
        b: RowOutputs | str = new_rows
    elif new_path is None:
        b = "this audit kept no row-level outputs (the dask engine does not gather them)"
    else:
        b = _outputs_of(new, Path(new_path))
    for side in (a, b):
        if isinstance(side, str):
            return RowPairing(old=None, new=None, how=side)
    assert isinstance(a, RowOutputs) and isinstance(b, RowOutputs)
    if a.key_column != b.key_column:
        return RowPairing(old=None, new=None, how=f"the rows are keyed differently ({a.key_column or 'position'} "
                                                  f"against {b.key_column or 'position'})")
    if a.key_column is None:
        sha = [((d.get("audit") or {}).get("data") or {}).get("test", {}).get("sha256") for d in (old, new)]
        if not sha[0] or sha[0] != sha[1] or len(a) != len(b):
            return RowPairing(old=None, new=None, how="the audits evaluated different data (the SHA-256 of their "
                                                      "evaluation files differ) and their rows have no `data.id`")
        ia = ib = np.arange(len(a))
        how = f"the same {len(a):,} evaluation rows (same data SHA-256), matched by position"
    else:
        ka, kb = pd.Index(a.key), pd.Index(b.key)
        if not ka.is_unique or not kb.is_unique:
            return RowPairing(old=None, new=None, how=f"`data.id` column {a.key_column!r} repeats values")
        common = ka.intersection(kb, sort=False)
        if len(common) == 0:
            return RowPairing(old=None, new=None, how=f"no `data.id` value ({a.key_column!r}) is in both audits")
        ia, ib = ka.get_indexer(common), kb.get_indexer(common)
        how = (f"{len(common):,} evaluation rows matched by `data.id` column {a.key_column!r} (of {len(a):,} and "
               f"{len(b):,})")
    pa, pb = a.take(ia), b.take(ib)
    differ = int((pd.Series(pa.y).astype(str).to_numpy() != pd.Series(pb.y).astype(str).to_numpy()).sum())
    if differ:
        return RowPairing(old=None, new=None, how=f"the target differs on {differ:,} of the matched rows")
    if list(pa.labels.columns) != list(pb.labels.columns):
        return RowPairing(old=None, new=None, how="the audits have different sensitive attributes")
    return RowPairing(old=pa, new=pb, how=how)
