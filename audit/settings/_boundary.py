"""Every rule that depends on the config (and the arguments of ``audit.run``) alone, checked once,
before any data is read: a bad combination fails at once, with a message that names the field."""

from __future__ import annotations

from dataclasses import dataclass

from .._errors import AuditError
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
    if cfg.challenger is not None:
        registry = _names_of(task)
        judged = [m for m, spec in registry.metrics.items() if spec.direction != "none"] + list(registry.fairness)
        for name in cfg.challenger.margin:
            if name not in judged:
                raise AuditError(f"`challenger.margin` must name {task} metrics with a better direction or fairness "
                                 f"measures; got {name!r}. Known: {', '.join(judged)}.")
    if cfg.mitigation.enabled:
        cfg.mitigation.methods_for(task)
