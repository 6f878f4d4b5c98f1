"""``audit validate``: every check of a config that does not need the model's predictions.

A config that validates does not fail later for a reason it could have seen: the config's fields, what the
config and the command say together, the data files (each one's header, the evaluation data read whole),
the task inferred from the target, the metric names of that task, the target's labels against
``data.positive_label``, the bins against the sensitive columns, the reference data's columns, and where the
model comes from (its file, or the estimator's module). ``audit run`` makes the same checks before training.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .._errors import AuditError
from ..settings._boundary import check_run, check_task
from ..settings._config import AuditConfig, choose_champion, load_config
from ._data import Dataset, load_dataset, open_table
from ._groups import build_groups

__all__ = ["Validated", "validate", "check_before_model", "unnamed_codes"]


@dataclass(frozen=True)
class Validated:
    """What a valid config audits: its name, evaluation rows, features, groupings, and the task note."""

    name: str
    rows: int
    features: int
    groupings: int
    note: str | None


def check_before_model(cfg: AuditConfig, dataset: Dataset) -> None:
    """The checks that need the config and the data but no model: the task's metric names, the reference
    data's columns, and the model's source (its file exists, the estimator's module is installed).

    Raises
    ------
    AuditError
        Naming the field and what to fix.
    """
    check_task(cfg, dataset.task)
    if cfg.data.reference is not None:
        reference = open_table(cfg, field="data.reference", spec=cfg.data.reference)
        missing = [c for c in (*dataset.features, *cfg.data.sensitive) if c not in reference.columns]
        if missing:
            raise AuditError(f"`data.reference` must hold the features and sensitive columns; {reference.name} "
                             f"lacks {', '.join(map(repr, missing))}.")
    _check_lending_columns(cfg, dataset)
    model = cfg.model
    if model is not None and model.train is not None:
        module = model.train.estimator.rpartition(".")[0]
        if not _module_exists(module):
            raise AuditError(f"`model.train.estimator` must be the import path of an installed estimator class "
                             f"such as 'sklearn.ensemble.HistGradientBoostingClassifier'; got "
                             f"{model.train.estimator!r}, whose module cannot be found.")
    if model is not None and model.load is not None:
        spec = model.load
        path = cfg.resolve(spec)
        uri = spec.startswith(("mlflow:", "models:/", "runs:/"))
        if not uri and not path.exists():
            raise AuditError(f"`model.load` must name an existing model file; got {spec!r} (looked for {path}).")


def _check_lending_columns(cfg: AuditConfig, dataset: Dataset) -> None:
    """The columns the credit checks name, against the data (before a model is trained): reason texts and
    withheld features are feature columns, reasons may only be allowed for sensitive attributes, and the
    conditional check's edges are for control columns."""
    name, columns = dataset.test.name, [c for c in dataset.test.columns if c != dataset.target]
    rc = cfg.checks.reasons
    if rc.enabled:
        unknown = [f for f in [*rc.text, *rc.withhold] if f not in columns]
        if unknown:
            raise AuditError(f"`checks.reasons.text` and `checks.reasons.withhold` must name feature columns of "
                             f"{name}; got {', '.join(map(repr, unknown))}. Columns: {', '.join(columns)}.")
        wrong = [f for f in rc.allow if f not in cfg.data.sensitive]
        if wrong:
            raise AuditError(f"`checks.reasons.allow` must name attributes of `data.sensitive` "
                             f"({', '.join(cfg.data.sensitive)}); got {', '.join(map(repr, wrong))}.")
    stray = [c for c in cfg.checks.conditional.bins if c not in cfg.data.control]
    if stray:
        raise AuditError(f"`checks.conditional.bins` must only name columns of `data.control` "
                         f"({', '.join(cfg.data.control) or 'none'}); got {', '.join(map(repr, stray))}.")


def _module_exists(module: str) -> bool:
    """Whether ``module`` (dotted) is installed, found on disk without importing it or its packages: importing
    scikit-learn alone loads scipy.stats, which `audit validate` must stay free of."""
    top, _, rest = module.partition(".")
    try:
        spec = importlib.util.find_spec(top) if top else None
    except (ImportError, ValueError):
        return False
    if spec is None:
        return False
    if not rest:
        return True
    parts = rest.split(".")
    for location in spec.submodule_search_locations or ():
        base = Path(location).joinpath(*parts[:-1])
        last = parts[-1]
        if (base / last / "__init__.py").is_file() or (base / f"{last}.py").is_file() \
                or any(base.glob(f"{last}.*.so")) or any(base.glob(f"{last}.*.pyd")):
            return True
    return False


def validate(path: str | Path, *, champion: str | None = None) -> Validated:
    """Check the config at ``path`` and its data as far as can be done without the model's predictions.

    ``champion`` names the champion among the config's ``models`` (as ``audit run --champion``).

    Raises
    ------
    AuditError
        The first problem found, with the field, file or column and the fix.
    """
    cfg = choose_champion(load_config(path), champion=champion)
    check_run(cfg, model_given=False, engine=None, scheduler=None)
    dataset = load_dataset(cfg)
    check_before_model(cfg, dataset)
    frame = dataset.test.frame
    assert frame is not None or dataset.batch_rows is not None
    if frame is None:  # read in batches: the groups are checked on the first batch
        from ._data import iter_batches

        frame = next(iter_batches(dataset.test, batch_rows=dataset.batch_rows or 100_000,
                                  columns=list(cfg.data.sensitive)))
    groups = build_groups(frame, sensitive=list(cfg.data.sensitive), bins=cfg.data.bins,
                          intersections=cfg.data.intersections, source=dataset.test.name)
    notes = [n for n in (dataset.task_note, unnamed_codes(cfg, frame)) if n]
    return Validated(name=cfg.name, rows=len(frame), features=len(dataset.features),
                     groupings=len(groups.groupings), note=" ".join(notes) or None)


def unnamed_codes(cfg: AuditConfig, frame: pd.DataFrame) -> str | None:
    """A note on the codes of labelled columns that ``data.labels`` does not name (shown as their code), or
    None. ``frame`` is the data as read, with the names already in place.

    Examples
    --------
    >>> import pandas as pd
    >>> from audit import config_from_dict
    >>> cfg = config_from_dict({"name": "t", "data": {"test": "t.csv", "target": "y", "sensitive": ["m"],
    ...                         "labels": {"m": {1: "married", 2: "single"}}}})
    >>> unnamed_codes(cfg, pd.DataFrame({"m": ["married", "single", "0", "0", "single"]}))
    '`data.labels` names no code for m 0 (2 rows): shown as the code.'
    """
    parts = []
    for column, names in cfg.data.labels.items():
        if column not in frame.columns:
            continue
        values = frame[column].dropna()
        rest = values[~values.isin(set(names.values()))].value_counts().sort_index()
        if len(rest):
            counts = ", ".join(f"{code} ({n:,} row{'s' if n != 1 else ''})" for code, n in rest.items())
            parts.append(f"{column} {counts}")
    if not parts:
        return None
    return f"`data.labels` names no code for {'; '.join(parts)}: shown as the code."
