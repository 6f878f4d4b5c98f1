"""Every rule that depends on the config (and the arguments of ``audit.run``) alone, checked once,
before any data is read: a bad combination fails at once, with a message that names the field."""

from __future__ import annotations

from dataclasses import dataclass

from .._errors import AuditError
from .._extras import check_installed
from ..statistics._metrics import BINARY, Registry
from ..statistics._multiclass import multiclass_registry
from ..statistics._regression import REGRESSION
from ._config import AuditConfig
from ._selection import selected_metrics

__all__ = ["RunSettings", "check_run", "check_task"]


@dataclass(frozen=True)
class RunSettings:
    """The engine and scheduler an audit runs on, after the arguments of ``audit.run`` override the config."""

    engine: str
    scheduler: str | None


def check_run(cfg: AuditConfig, *, model_given: bool, engine: str | None, scheduler: str | None) -> RunSettings:
    """Check what the config and the call say together; returns the engine settings.

    Raises
    ------
    AuditError
        A scheduler without the dask engine, a model both in the config and passed (or in neither), a
        mitigation or LL144 attribute that is not a sensitive attribute.

    Examples
    --------
    >>> from audit.settings._config import config_from_dict
    >>> cfg = config_from_dict({"name": "doc", "data": {"test": "t.csv", "target": "y", "sensitive": ["sex"]},
    ...                         "model": {"train": {"estimator": "sklearn.linear_model.LogisticRegression"}}},
    ...                        source="doc")
    >>> check_run(cfg, model_given=False, engine=None, scheduler=None)
    RunSettings(engine='local', scheduler=None)
    """
    chosen = engine or cfg.engine
    address = scheduler or cfg.dask.scheduler
    if address is not None and chosen != "dask":
        raise AuditError(f"A scheduler ({address!r}) is only used by the dask engine; add `--engine dask` "
                         "(or `engine: dask` to the config), or drop the scheduler.")
    if model_given and cfg.model is not None:
        raise AuditError("Pass the model either in the config's `model` section or as `model=` to audit.run, "
                         "not both.")
    if not model_given and cfg.model is None:
        raise AuditError("`model` is required: set one of `model.load`, `model.train` and `model.predictions`, "
                         "or pass a fitted model object as `model=` to audit.run.")
    if cfg.checks.lending.enabled:  # before any work: the measures need statsmodels
        check_installed("statsmodels", extra="lending", purpose="`checks.lending` (the fair-lending measures)")
    sensitive = list(cfg.data.sensitive)
    mc = cfg.mitigation
    if mc.enabled and mc.attribute is not None and mc.attribute not in sensitive:
        raise AuditError(f"`mitigation.attribute` must be one of `data.sensitive`; got {mc.attribute!r}. "
                         f"Sensitive: {', '.join(sensitive)}.")
    if cfg.regulatory.enabled:
        ll = cfg.regulatory.ll144
        for field, value in (("sex", ll.sex), ("race", ll.race)):
            if value is not None and value not in sensitive:
                raise AuditError(f"`regulatory.ll144.{field}` must name one of the sensitive attributes "
                                 f"({', '.join(sensitive)}); got {value!r}.")
    return RunSettings(engine=chosen, scheduler=address)


def _names_of(task: str) -> Registry:
    # The metric names a task accepts in the config do not depend on its data (per-class metrics are not
    # named in a config), so a multiclass registry without classes knows them all.
    return {"binary": BINARY, "regression": REGRESSION, "multiclass": multiclass_registry([])}[task]


def check_task(cfg: AuditConfig, task: str) -> None:
    """Check the settings that depend on the task, as soon as the task is known (before any model is fitted).

    Raises
    ------
    AuditError
        A metric the task has no such name for, a slice metric or a mitigation method it has no meaning for.

    Examples
    --------
    >>> from audit.settings._config import config_from_dict
    >>> cfg = config_from_dict({"name": "doc", "data": {"test": "t.csv", "target": "y", "sensitive": ["s"]},
    ...                         "model": {"train": {"estimator": "sklearn.linear_model.Ridge"}},
    ...                         "checks": {"performance": {"min": {"roc_auc": 0.8}}}}, source="doc")
    >>> check_task(cfg, "regression")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    audit._errors.AuditError: `checks.performance` must name regression metrics; got 'roc_auc'. Known: ...
    """
    selected_metrics(cfg, _names_of(task))
    cfg.checks.slices.metric_for(task)
    cfg.checks.conditional.metrics_for(task)
    if cfg.challenger is not None:
        registry = _names_of(task)
        judged = [m for m, spec in registry.metrics.items() if spec.direction != "none"] + list(registry.fairness)
        for name in cfg.challenger.margin:
            if name not in judged:
                raise AuditError(f"`challenger.margin` must name {task} metrics with a better direction or fairness "
                                 f"measures; got {name!r}. Known: {', '.join(judged)}.")
    if cfg.mitigation.enabled:
        cfg.mitigation.methods_for(task)


# --- Harm direction, reference groups and the decision rule (binary audits) ---

def favorable_side(cfg: AuditConfig, *, task: str, source: str, positive_label: object,
                   negative_label: object) -> bool:
    """Whether the favourable outcome (``data.favorable_label``) is the positive label; True when it is unset.

    Raises
    ------
    AuditError
        ``favorable_label`` in a non-binary audit, or a value that is neither of the target's labels.

    Examples
    --------
    >>> from audit.settings._config import config_from_dict
    >>> cfg = config_from_dict({"name": "doc", "data": {"test": "t.csv", "target": "default", "sensitive": ["sex"],
    ...                         "favorable_label": 0}, "model": {"train": {"estimator": "a.B"}}}, source="doc")
    >>> favorable_side(cfg, task="binary", source="t.csv", positive_label=1, negative_label=0)
    False
    """
    favorable = cfg.data.favorable_label
    if favorable is None:
        return True
    if task != "binary":
        raise AuditError(f"`data.favorable_label` applies to binary audits; remove it for this {task} audit.")

    def same(label: object) -> bool:
        return label is not None and (favorable == label or str(favorable) == str(label))

    if same(positive_label):
        return True
    if same(negative_label) or negative_label is None:
        return False
    raise AuditError(f"`data.favorable_label` must be one of the labels of `data.target` {cfg.data.target!r} in "
                     f"{source}; got {favorable!r}. Labels: {positive_label!r}, {negative_label!r}.")


def check_reference_groups(cfg: AuditConfig, groups: dict[str, tuple[str, ...]], *, source: str) -> dict[str, str]:
    """``data.reference_groups`` as group keys, each checked against the attribute's groups in the data.

    ``groups`` maps each sensitive attribute to its group keys (bands for binned attributes).

    Examples
    --------
    >>> from audit.settings._config import config_from_dict
    >>> cfg = config_from_dict({"name": "doc", "data": {"test": "t.csv", "target": "y", "sensitive": ["race"],
    ...                         "reference_groups": {"race": "White"}}, "model": {"train": {"estimator": "a.B"}}})
    >>> check_reference_groups(cfg, {"race": ("Black", "White")}, source="t.csv")
    {'race': 'White'}
    """
    out = {}
    for attribute, value in cfg.data.reference_groups.items():
        known = groups.get(attribute, ())
        key = str(value)
        if key not in known:
            raise AuditError(f"`data.reference_groups.{attribute}` must name a group of {attribute!r} in {source}; "
                             f"got {value!r}. Groups: {', '.join(known)}.")
        out[attribute] = key
    return out


def check_threshold(cfg: AuditConfig, *, task: str, trained_rows: bool) -> None:
    """Refuse a ``model.threshold`` the audit cannot apply: another task, labels without scores, or a rate
    without training rows to choose it on (``trained_rows``: the audit holds training rows)."""
    threshold = None if cfg.model is None else cfg.model.threshold
    if threshold is None:
        return
    if task != "binary":
        raise AuditError(f"`model.threshold` applies to binary audits (a cutoff of the positive-class score); "
                         f"remove it for this {task} audit.")
    predictions = cfg.model.predictions
    if predictions is not None and predictions.scores is None:
        raise AuditError("`model.threshold` needs scores: set `model.predictions.scores`, or remove the threshold "
                         "to audit the predicted labels as they are.")
    if not isinstance(threshold, (int, float)) and not trained_rows:
        raise AuditError("`model.threshold.selection_rate` is chosen on the training rows, and this audit has "
                         "none: set `data.train` (the evaluation rows are never used to choose it), or give a "
                         "fixed cutoff as `model.threshold: 0.5`.")
