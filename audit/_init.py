"""``audit init``: look at a data file and write a commented starter ``audit.yaml``.

It proposes, and says why in a comment next to each choice:

- the target: a two-valued column named like a label (``income``, ``target``, ``y``, ``default``, ...), else
  the last two-valued column that is not sensitive; and its positive value (``>50K``, ``yes``, ``1``, ``good``,
  ... else the rarer value, flagged for checking);
- sensitive attributes by name (sex, gender, race, ethnicity, age, religion, marital status, nationality,
  disability, ...) and by values (a column holding ``Male``/``Female``, ``White``/``Black``, ``Married``/
  ``Divorced``, ...);
- bands for continuous sensitive columns (the usual 25/45/65 age bands for an age, quartiles otherwise);
- features: all columns, without identifier-like columns (unique integers, names like ``id``).
- names of coded values (``data.labels``) from a data dictionary (``--dictionary``: YAML ``{column: {code:
  name}}`` or a CSV of ``column,code,label``); without one, a commented example for sensitive columns that hold
  a few small integers (``SEX`` 1/2), which would otherwise show as codes on the card.

Nothing is overwritten without ``force``.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .inputs._data import _CSV, _PARQUET, _read_one, apply_labels
from .settings._config import code_key
from ._errors import AuditError
from .report import atomic_write_text

__all__ = ["Sensitive", "Proposal", "propose", "read_dictionary", "render_config", "write_config"]

_TARGET_NAMES = ("target", "label", "y", "class", "outcome", "income", "default", "risk", "churn", "response",
                 "approved", "approval", "result", "two_year_recid", "is_recid", "readmitted", "pass", "first_pf",
                 "credit_risk", "bad", "fraud")
_POSITIVE_VALUES = ("<30", ">50k", "yes", "y", "true", "1", "good", "approved", "positive", "pass", "passed",
                    "accepted", "default", "churn", "fraud", "bad", "readmitted")
_SENSITIVE_NAMES = {
    "sex": "sex", "gender": "gender", "race": "race", "ethnicity": "ethnicity", "ethnic": "ethnicity",
    "age": "age", "religion": "religion", "religious": "religion", "marital": "marital status",
    "married": "marital status", "marriage": "marital status", "nationality": "nationality", "native": "national origin",
    "citizenship": "citizenship", "citizen": "citizenship", "disability": "disability", "disabled": "disability",
    "pregnant": "pregnancy", "pregnancy": "pregnancy", "orientation": "sexual orientation", "skin": "skin colour",
    "colour": "skin colour", "caste": "caste", "foreign": "national origin",
}
_SENSITIVE_VALUES = {
    "sex": {"male", "female", "man", "woman", "men", "women", "non-binary", "nonbinary"},
    "race": {"white", "black", "asian", "hispanic", "latino", "amer-indian-eskimo", "asian-pac-islander",
             "african-american", "caucasian", "native american", "pacific islander"},
    "marital status": {"married", "single", "divorced", "widowed", "never-married", "separated",
                       "married-civ-spouse", "married-spouse-absent", "married-af-spouse"},
    "religion": {"christian", "muslim", "jewish", "hindu", "buddhist", "atheist", "catholic", "protestant"},
}
_ID_NAMES = {"id", "uuid", "index", "row", "rowid", "unnamed", "nbr"}


@dataclass(frozen=True)
class Sensitive:
    """A proposed sensitive attribute, why it was proposed, and its bands when continuous."""

    column: str
    reason: str
    bins: tuple[float, ...] | None


@dataclass(frozen=True)
class Proposal:
    """What ``audit init`` proposes for one data set."""

    test: Path
    train: Path | None
    name: str
    rows_read: int
    target: str
    target_reason: str
    positive_label: str | int | float | bool | None
    positive_reason: str
    sensitive: tuple[Sensitive, ...]
    excluded: tuple[str, ...]
    columns: tuple[str, ...]
    #: Why each column of ``excluded`` is left out (an identifier, a date, a twin of the target).
    excluded_reasons: tuple[str, ...] = ()
    #: ``data.labels`` from the data dictionary: (column, ((code, name), ...)), in the dictionary's order.
    labels: tuple[tuple[str, tuple[tuple[object, str], ...]], ...] = ()
    #: Sensitive columns still holding codes (a few small integers) and their codes, for a commented example.
    coded: tuple[tuple[str, tuple[int, ...]], ...] = ()
    #: The favourable outcome when the positive label is an adverse one (a default, a fraud), else None.
    favorable_label: str | int | float | bool | None = None
    #: Text values that stand for a missing value in this file ("?"), with the columns holding them.
    na_values: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: The share of rows of the positive class, when it is rare enough that a 0.5 cutoff selects almost no one.
    rare_positive: float | None = None


#: Below this share of positive rows, `model.threshold: {selection_rate: share}` is proposed.
RARE_POSITIVE = 0.2


def _rare_share(column: pd.Series, positive: object) -> float | None:
    values = column.dropna()
    shown = 1 if positive is None else positive
    share = float((values.map(code_key) == code_key(shown)).mean()) if len(values) else 0.0
    return round(share, 3) if 0 < share < RARE_POSITIVE else None


#: Markers of a missing value that pandas does not know ("?" in the UCI files).
_NA_MARKERS = ("?",)


def _numbers_if_all(column: pd.Series) -> pd.Series:
    # A column of numbers and "?" becomes numbers once "?" is missing, as pandas reads it with na_values.
    if column.dtype != object:
        return column
    try:
        return pd.to_numeric(column)
    except (ValueError, TypeError):
        return column


def _na_markers(frame: pd.DataFrame) -> tuple[tuple[str, tuple[str, ...]], ...]:
    found = []
    for marker in _NA_MARKERS:
        columns = tuple(str(c) for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])
                        and (frame[c].astype(str) == marker).any())  # exact, as pandas matches na_values
        if columns:
            found.append((marker, columns))
    return tuple(found)


#: Words of a target or positive value that make the positive label the adverse outcome for the person.
_ADVERSE = {"default", "defaulted", "fraud", "bad", "recid", "recidivism", "delinquent", "delinquency"}


def _favorable(column: pd.Series, name: str, positive: object) -> str | int | float | bool | None:
    """The other value of a two-valued target whose positive label is adverse (``default`` 1/0: 0), else None:
    the four-fifths rule and the selection rates then count the outcome that benefits the person."""
    values = [_plain(v) for v in column.dropna().unique()]
    if len(values) != 2:
        return None
    shown = 1 if positive is None else positive
    words = set(_tokens(name)) | set(_tokens(str(shown)))
    if not words & _ADVERSE:
        return None
    other = [v for v in values if code_key(v) != code_key(shown)]
    return other[0] if len(other) == 1 else None


def _code(text: object) -> object:
    # A code read from a CSV dictionary is text; "1" is written back as the number it is in the data.
    if isinstance(text, str) and re.fullmatch(r"-?\d+", text.strip()):
        return int(text)
    return text


def read_dictionary(path: str | Path) -> dict[str, dict[object, str]]:
    """Read a data dictionary: YAML (or JSON) ``{column: {code: name}}``, or a CSV of ``column,code,label``.

    Raises
    ------
    AuditError
        The file cannot be read or is not of either shape; the message names the file and the shape expected.
    """
    import yaml

    path = Path(path)
    shape = ("a YAML mapping {column: {code: name}} or a CSV with the columns column, code, label")
    lower = path.name.lower()
    try:
        if lower.endswith(_CSV):
            table = pd.read_csv(path, dtype=str, keep_default_na=False)
            table.columns = [str(c).strip().lower() for c in table.columns]
            if not {"column", "code", "label"} <= set(table.columns):
                raise AuditError(f"--dictionary {path.name} must be {shape}; its columns are "
                                 f"{', '.join(table.columns)}.")
            out: dict[str, dict[object, str]] = {}
            for column, code, label in table[["column", "code", "label"]].itertuples(index=False):
                out.setdefault(column.strip(), {})[_code(code)] = label.strip()
            return out
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise AuditError(f"--dictionary {path} could not be read: {exc}. It must be {shape}.") from None
    except yaml.YAMLError as exc:
        raise AuditError(f"--dictionary {path.name} is not valid YAML: {exc}".replace("\n", " ")) from None
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise AuditError(f"--dictionary {path.name} must be {shape}; got {type(raw).__name__}.")
    return {str(column): {_code(code): str(name) for code, name in names.items()} for column, names in raw.items()}


def _coded(frame: pd.DataFrame, columns: list[str]) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """Columns holding a few small integers: codes a reader of the card cannot decode."""
    out = []
    for col in columns:
        s = frame[col].dropna()
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s) and 2 <= s.nunique() <= 10 \
                and bool((s == s.round()).all()) and s.abs().max() < 100:
            out.append((col, tuple(sorted(int(v) for v in s.unique()))))
    return tuple(out)


def _tokens(name: str) -> list[str]:
    return [t for t in re.split(r"[^a-z0-9]+", name.lower()) if t]


def _data_files(folder: Path) -> list[Path]:
    found = []
    for where in (folder, folder / "data"):
        if where.is_dir():
            found += [p for p in sorted(where.iterdir()) if p.is_file() and p.name.lower().endswith((*_CSV, *_PARQUET))
                      and not p.name.startswith(".")]
    return found


def _pick_files(path: Path) -> tuple[Path, Path | None]:
    if path.is_file():
        train = None
        if "test" in path.name.lower():
            sibling = path.with_name(path.name.lower().replace("test", "train"))
            twin = next((p for p in path.parent.iterdir() if p.name.lower() == sibling.name), None)
            train = twin
        return path, train
    if not path.is_dir():
        raise AuditError(f"`audit init` needs a data file (CSV or Parquet) or a folder holding one; {path} does "
                         "not exist.")
    files = _data_files(path)
    if not files:
        raise AuditError(f"`audit init` found no CSV (.csv, .csv.gz) or Parquet file in {path} or {path / 'data'}; "
                         "pass the data file itself: `audit init path/to/data.csv`.")
    test = next((p for p in files if "test" in p.name.lower()), files[0])
    train = next((p for p in files if "train" in p.name.lower() and p != test), None)
    return test, train


def _values(column: pd.Series) -> set[str]:
    return {str(v).strip().lower() for v in column.dropna().unique()[:200]}


def _is_binary(column: pd.Series) -> bool:
    return column.dropna().nunique() == 2


def _sensitive(frame: pd.DataFrame, target: str | None) -> list[Sensitive]:
    out = []
    for col in frame.columns:
        if col == target:
            continue
        series = frame[col]
        named = next((_SENSITIVE_NAMES[t] for t in _tokens(str(col)) if t in _SENSITIVE_NAMES), None)
        reason = f"its name suggests {named}" if named else None
        if reason is None and not pd.api.types.is_numeric_dtype(series) and series.nunique() <= 50:
            values = _values(series)
            for what, known in _SENSITIVE_VALUES.items():
                hits = sorted(values & known)
                if len(hits) >= 2 or (what == "sex" and values and values <= {"m", "f", "male", "female"}):
                    shown = [str(v) for v in series.dropna().unique() if str(v).strip().lower() in known][:3]
                    reason = f"its values look like {what} ({', '.join(shown or sorted(values)[:3])})"
                    break
            if reason is None:
                # Values that combine attributes ("male : single", "female : divorced"): a word of each.
                for what, known in _SENSITIVE_VALUES.items():
                    worded = sorted(v for v in values if set(_tokens(v)) & known)
                    if len({t for v in worded for t in _tokens(v)} & known) >= 2 and len(worded) * 2 > len(values):
                        reason = f"its values name {what} ({', '.join(worded[:3])})"
                        break
        if reason is None:
            continue
        bins = None
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series) and series.nunique() > 10:
            bins = _bins(series.dropna().astype(float), age=named == "age")
            reason += "; continuous, so grouped into bands"
        out.append(Sensitive(column=str(col), reason=reason, bins=bins))
    return out


def _nice(x: float) -> float:
    if x == 0 or not math.isfinite(x):
        return 0.0
    digits = 2 - int(math.floor(math.log10(abs(x)))) - 1
    return float(round(x, max(digits, 0)))


def _bins(values: pd.Series, *, age: bool) -> tuple[float, ...]:
    lo, hi = math.floor(values.min()), math.floor(values.max()) + 1
    inner = [25, 45, 65] if age else sorted({_nice(q) for q in np.quantile(values, [0.25, 0.5, 0.75])})
    edges = [float(lo)] + [float(e) for e in inner if lo < e < hi] + [float(hi)]
    return tuple(dict.fromkeys(edges))


def _target(frame: pd.DataFrame, chosen: str | None) -> tuple[str, str]:
    if chosen is not None:
        if chosen not in frame.columns:
            raise AuditError(f"--target must name a column of the data; got {chosen!r}. Columns: "
                             f"{', '.join(map(str, frame.columns))}.")
        n = frame[chosen].nunique()
        if not 2 <= n <= 20:
            raise AuditError(f"--target {chosen!r} has {n} distinct values; `audit init` writes a classification "
                             "audit, of a target of 2 to 20 values (one of them audited against the rest).")
        return chosen, "chosen with --target"
    # A column named like a label wins, in the order of _TARGET_NAMES ("readmitted" before a medication
    # flag); it may have more than two values (`readmitted`: NO, >30, <30), then one is audited against the rest.
    named = [(rank, str(c)) for c in frame.columns for rank, name in enumerate(_TARGET_NAMES)
             if (name in _tokens(str(c)) or str(c).lower() == name) and 2 <= frame[c].nunique() <= 20]
    if named:
        column = min(named)[1]
        n = frame[column].nunique()
        return column, ("two values and a name like a label" if n == 2 else
                        f"{n} values and a name like a label: one value is audited against the rest")
    binary = [c for c in frame.columns if _is_binary(frame[c])]
    candidates = [c for c in binary if not any(t in _SENSITIVE_NAMES for t in _tokens(str(c)))
                  and not (_values(frame[c]) & _SENSITIVE_VALUES["sex"])]
    if not candidates:
        raise AuditError("`audit init` found no column with exactly two values to use as the target; name it with "
                         "--target COLUMN (the audit covers binary classification).")
    return str(candidates[-1]), "the last two-valued column (no name looked like a label): check it"


def _positive(column: pd.Series) -> tuple[str | int | float | bool | None, str]:
    values = list(column.dropna().unique())
    rest = (f"; the other {len(values) - 1} values are the negative class (one class against the rest)"
            if len(values) > 2 else "")
    if pd.api.types.is_bool_dtype(column) or set(values) <= {0, 1}:
        return None, "0/1 or boolean target: 1 (true) is the positive class"
    for wanted in _POSITIVE_VALUES:  # in order of preference: "<30" before "yes"
        for v in values:
            if str(v).strip().lower().rstrip(".") == wanted:
                return _plain(v), f"a value that usually means the positive outcome{rest}"
    counts = column.value_counts()
    return _plain(counts.index[-1]), f"the rarer value (no value looked positive): check it{rest}"


def _plain(v: object) -> str | int | float | bool:
    return v.item() if hasattr(v, "item") else v  # type: ignore[return-value]


_ID_SUFFIXES = ("nbr", "number", "num", "no", "id", "key", "code")
_DATE_NAMES = {"date", "time", "timestamp", "datetime", "dob", "year", "month", "day"}


def _id_like(frame: pd.DataFrame) -> dict[str, str]:
    """Identifier and date columns, each with why it is left out of the features."""
    out = {}
    for col in frame.columns:
        s = frame[col]
        tokens = _tokens(str(col))
        named = bool(set(tokens) & _ID_NAMES) and not str(col).lower().startswith("paid")
        ints = pd.api.types.is_integer_dtype(s)
        distinct = s.nunique() / max(len(s), 1)
        if named and (str(col).lower() in _ID_NAMES or tokens[0] == "unnamed" or distinct > 0.5):
            # A coded category named like one (`admission_type_id`: 8 codes) is not an identifier.
            out[str(col)] = "an identifier (its name)"
        elif ints and s.is_unique and len(s) > 50:
            out[str(col)] = "an identifier (a different integer in every row)"
        elif ints and tokens and tokens[-1] in _ID_SUFFIXES and distinct > 0.5 and len(s) > 50:
            out[str(col)] = f"an identifier (its name, and {distinct:.0%} of its values are distinct)"
        elif set(tokens) & _DATE_NAMES and not (ints and s.nunique() <= 20) and s.nunique() > 2:
            # Two values are a flag, not a time ("default payment next month": paid / default).
            out[str(col)] = "a date or time (ties the model to when a row was recorded)"
        elif not pd.api.types.is_numeric_dtype(s) and distinct > 0.9 and len(s) > 50:
            out[str(col)] = "an identifier (a different text in almost every row)"
    return out


def _twins(frame: pd.DataFrame, target: str, columns: list[str]) -> dict[str, str]:
    """Columns that alone predict the target almost perfectly (a recoding of it, or recorded after it)."""
    from .inputs._data import is_numeric_feature

    y = frame[target].astype(str)
    out = {}
    for col in columns:
        s = frame[col]
        if is_numeric_feature(s) and s.nunique() > 20:
            continue  # a continuous column is judged by the leakage check of the audit itself
        text = s.astype(object).where(s.notna(), "<missing>").map(str)
        # Accuracy of predicting the target by the column's most common target value per value.
        majority = pd.crosstab(text, y).max(axis=1).sum() / len(y)
        base = y.value_counts(normalize=True).iloc[0]
        if text.nunique() <= 50 and base < 0.99 and majority >= 0.99:
            out[str(col)] = (f"a twin of the target (alone it gives the target in {majority:.1%} of rows, against "
                             f"{base:.1%} for the commonest value)")
    return out


def propose(path: str | Path, *, target: str | None = None, rows: int = 50_000,
            dictionary: dict[str, dict[object, str]] | None = None) -> Proposal:
    """Look at the data file (or the data files in a folder) and propose an audit.

    Parameters
    ----------
    path : path
        A CSV/Parquet file, or a folder holding some (also looked for under ``data/``). A file named
        ``*test*`` is the evaluation data; a ``*train*`` file beside it is the training data.
    target : str, optional
        The target column, when the guess should not be made.
    rows : int
        Rows read for the proposal (the first ones).
    dictionary : mapping, optional
        Names of coded values (see :func:`read_dictionary`), applied before the proposal is made, so that
        sensitive columns are recognised by their names and the positive label is given as a name.

    Examples
    --------
    >>> p = propose("examples/adult/data/adult_test.csv.gz", rows=2000)
    >>> p.target, p.positive_label, [s.column for s in p.sensitive]
    ('income', '>50K', ['age', 'marital-status', 'race', 'sex', 'native-country'])
    """
    test, train = _pick_files(Path(path))
    frame = _read_one(test, "data.test").head(rows)
    if frame.empty:
        raise AuditError(f"{test} holds no rows; `audit init` needs data to look at.")
    frame.columns = [str(c) for c in frame.columns]
    labels = tuple((column, tuple(names.items())) for column, names in (dictionary or {}).items())
    unknown = [column for column, _ in labels if column not in frame.columns]
    if unknown:
        raise AuditError(f"--dictionary must name columns of {test.name}; got {', '.join(map(repr, unknown))}. "
                         f"Columns: {', '.join(frame.columns[:40])}.")
    # "?" for a missing value: read as missing, as `audit run` will with `data.na_values`, so that a sensitive
    # column's "?" is not a group nor a numeric column text.
    markers = _na_markers(frame)
    if markers:
        frame = frame.replace({m: np.nan for m, _ in markers}).infer_objects()
        frame = frame.apply(_numbers_if_all)
    # As `audit run` will read the data: with the names in place of the codes.
    frame = apply_labels(frame, tuple((c, tuple((code_key(k), v) for k, v in names)) for c, names in labels))
    dropped = {c: why for c, why in _id_like(frame).items() if c != target}
    column, target_reason = _target(frame.drop(columns=list(dropped)), target)
    positive, positive_reason = _positive(frame[column])
    dropped.update(_twins(frame, column, [c for c in frame.columns if c != column and c not in dropped]))
    excluded = tuple(dropped)
    sensitive = _sensitive(frame.drop(columns=list(excluded)), column)
    stem = re.sub(r"(\.csv|\.gz|\.parquet|\.pq|\.tsv|\.txt)+$", "", test.name, flags=re.I)
    name = re.sub(r"[^a-z0-9]+", "-", re.sub(r"[_-]?test[_-]?", "", stem, flags=re.I).lower()).strip("-") or "audit"
    return Proposal(test=test, train=train, name=name, rows_read=len(frame), target=column,
                    target_reason=target_reason, positive_label=positive, positive_reason=positive_reason,
                    sensitive=tuple(sensitive), excluded=excluded, excluded_reasons=tuple(dropped.values()),
                    columns=tuple(frame.columns), labels=labels,
                    coded=_coded(frame, [s.column for s in sensitive if s.bins is None]),
                    favorable_label=_favorable(frame[column], column, positive), na_values=markers,
                    rare_positive=_rare_share(frame[column], positive))


def _q(value: object) -> str:
    # JSON scalars are valid YAML flow scalars: quoting and escaping come out right for any column name.
    return json.dumps(value, ensure_ascii=False)


def _edges(bins: tuple[float, ...]) -> str:
    return "[" + ", ".join(f"{b:g}" for b in bins) + "]"


def render_config(p: Proposal, *, config_dir: Path) -> str:
    """The commented ``audit.yaml`` text for a proposal; paths are written relative to ``config_dir``."""
    rel = lambda f: _q(Path(os.path.relpath(f.resolve(), config_dir.resolve())).as_posix())  # noqa: E731
    lines = [f"# Starter audit written by `audit init` from {p.test.name} ({p.rows_read:,} rows looked at).",
             "# Every choice below is a guess: read the comments, then `audit validate` and `audit run` this file.",
             f"name: {_q(p.name)}",
             "task: binary          # a positive label against the rest of the target's values",
             "seed: 0",
             "data:",
             f"  test: {rel(p.test)}   # evaluation data; paths are relative to this file"]
    if p.train is not None:
        lines += [f"  train: {rel(p.train)}   # training data for model.train",
                  f"  reference: {rel(p.train)}   # drift is measured against it"]
    else:
        lines += ["  # train: ...        # without training data, the test file is split (data.test_size)"]
    if p.na_values:
        lines.append(f"  na_values: [{', '.join(_q(m) for m, _ in p.na_values)}]   # missing values written as "
                     + "; ".join(f"{m} (in {', '.join(cols[:4])}{', ...' if len(cols) > 4 else ''})"
                                 for m, cols in p.na_values))
    lines.append(f"  target: {_q(p.target)}   # {p.target_reason}")
    if p.positive_label is None:
        lines.append(f"  # positive_label: 1   # {p.positive_reason}")
    else:
        lines.append(f"  positive_label: {_q(p.positive_label)}   # {p.positive_reason}")
    if p.favorable_label is not None:
        lines.append(f"  favorable_label: {_q(p.favorable_label)}   # the positive label is the adverse outcome "
                     "(its name says so): rates of selection and the four-fifths rule count this one")
    if p.excluded:
        sensitive = {s.column for s in p.sensitive}
        # Sensitive columns are never features unless asked: an explicit list would otherwise train on them.
        kept = [c for c in p.columns if c not in p.excluded and c != p.target and c not in sensitive]
        lines.append("  # Left out of the features (check each; put a column back in the list to use it):")
        lines += [f"  #   {c}: {why}" for c, why in zip(p.excluded, p.excluded_reasons or ("",) * len(p.excluded))]
        lines.append("  # The sensitive columns below are not features either (list one here to train on it).")
        lines.append(f"  features: [{', '.join(_q(c) for c in kept)}]")
    else:
        lines.append("  features: all   # every column but the target; sensitive ones are left out unless listed")
    if p.sensitive:
        lines.append("  sensitive:")
        lines += [f"    - {_q(s.column)}   # {s.reason}" for s in p.sensitive]
    else:
        lines += ["  # No column looked sensitive by name or values: name at least one (e.g. sex, race, age).",
                  "  sensitive: []"]
    if p.labels:
        lines.append("  labels:              # names of coded values (from the data dictionary), shown in their place")
        lines += [f"    {_q(c)}: {{{', '.join(f'{_q(k)}: {_q(v)}' for k, v in names)}}}" for c, names in p.labels]
    elif p.coded:
        lines.append("  # Coded values show as codes on the card (\"SEX 2\"): name them (or pass --dictionary FILE):")
        lines.append("  # labels:")
        blank = '"..."'
        lines += [f"  #   {_q(c)}: {{{', '.join(f'{k}: {blank}' for k in codes)}}}" for c, codes in p.coded]
    binned = [s for s in p.sensitive if s.bins]
    if binned:
        lines.append("  bins:                # bands [a, b) of continuous sensitive columns")
        lines += [f"    {_q(s.column)}: {_edges(s.bins)}" for s in binned]  # type: ignore[arg-type]
    lines += ["  intersections: 2      # pairs of sensitive attributes too (1 = none)",
              "  min_group_size: 30    # smaller groups are reported as insufficient data",
              "model:",
              "  train:                # or `load: model.skops` to audit a model you already have",
              "    estimator: sklearn.ensemble.HistGradientBoostingClassifier",
              "    params: {max_iter: 200}",
              *([f"  threshold: {{selection_rate: {p.rare_positive:g}}}   # the positive class is rare "
                 f"({p.rare_positive:.1%} of rows): predict's 0.5 cutoff would select almost no one; this cutoff, "
                 "chosen on the training rows, selects as many as are positive"] if p.rare_positive else []),
              "checks:",
              "  performance: {metrics: [accuracy, balanced_accuracy, precision, recall, f1, roc_auc, selection_rate],",
              "                min: {roc_auc: 0.75}}   # set the thresholds your use case needs",
              "  fairness:",
              "    max: {equalized_odds_difference: 0.10}",
              "    four_fifths_rule: true   # demographic_parity_ratio >= 0.8",
              "    severity: block",
              "  explainability: {method: auto, sample: 1000}",
              "bootstrap: {replicates: 200, level: 0.95}",
              "gate:",
              "  fail_on: any_fail     # or significant_regression (with `audit run --baseline old/findings.json`)",
              "  # exceptions:",
              "  #   - {check: four_fifths_rule, attribute: sex, reason: \"remediation planned\", expires: 2026-12-31}",
              "report:",
              f"  title: {_q(p.name)}",
              "  owners: []",
              "  intended_use: \"\"",
              "  limitations: \"\""]
    return "\n".join(lines) + "\n"


def write_config(path: str | Path, *, output: str | Path | None = None, target: str | None = None,
                 force: bool = False, dictionary: str | Path | None = None) -> tuple[Path, Proposal]:
    """Propose an audit for ``path`` and write it to ``output`` (default: ``audit.yaml`` beside the data).

    ``dictionary`` is a data dictionary file (see :func:`read_dictionary`) whose names become ``data.labels``.

    Raises
    ------
    AuditError
        The output exists and ``force`` is false, or the data cannot be read or has no binary column.
    """
    source = Path(path)
    out = Path(output) if output is not None else (source if source.is_dir() else source.parent) / "audit.yaml"
    if out.is_dir():
        out = out / "audit.yaml"
    if out.exists() and not force:
        raise AuditError(f"{out} already exists; `audit init` never overwrites it. Pass --force to replace it, or "
                         "--output to write elsewhere.")
    names = read_dictionary(dictionary) if dictionary is not None else None
    proposal = propose(source, target=target, dictionary=names)
    atomic_write_text(out, render_config(proposal, config_dir=out.parent))
    return out, proposal
