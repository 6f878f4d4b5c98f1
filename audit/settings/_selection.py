"""What an audit measures and judges, from the config and the task's registry.

The config's metric lists default to the binary names (so a binary config reads as it always has); an
audit of another task that names none gets its registry's defaults instead. Every name the config gives
must be one of the task's, or the audit stops with the list of those it knows.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._errors import AuditError
from ..statistics._metrics import DEFAULT_FAIRNESS_METRICS, DEFAULT_PERFORMANCE_METRICS, Registry
from ._config import (DEFAULT_GROUP_GAP_METRICS, AuditConfig, BiasConfig, FairnessConfig, GroupGapsConfig,
                      PerformanceConfig)

__all__ = ["Selection", "selected_metrics"]


@dataclass(frozen=True)
class Selection:
    """The metrics the findings show and the check configs of one audit, for its task."""

    performance: list[str]
    fairness: list[str]
    group_gaps: list[str]
    performance_config: PerformanceConfig
    fairness_config: FairnessConfig
    group_gaps_config: GroupGapsConfig
    bias_config: BiasConfig


def _known(names: list[str], known: list[str], field: str, task: str) -> None:
    for name in names:
        if name not in known:
            raise AuditError(f"`{field}` must name {task} metrics; got {name!r}. Known: {', '.join(known)}.")


def selected_metrics(cfg: AuditConfig, registry: Registry) -> Selection:
    """The metrics and check configs of an audit of ``registry.task``.

    Examples
    --------
    >>> from audit.settings._config import config_from_dict
    >>> from audit.statistics._regression import REGRESSION
    >>> cfg = config_from_dict({"name": "doc", "data": {"test": "t.csv", "target": "y", "sensitive": ["s"]},
    ...                         "model": {"train": {"estimator": "sklearn.linear_model.Ridge"}}}, source="doc")
    >>> selected_metrics(cfg, REGRESSION).group_gaps[:2]
    ['mean_absolute_error', 'root_mean_squared_error']
    """
    chk, task = cfg.checks, registry.task
    perf_known, fair_known = list(registry.metrics), list(registry.fairness)
    pc, fc, gc = chk.performance, chk.fairness, chk.group_gaps
    thresholds = [*pc.min, *pc.max, *pc.group_min, *pc.group_max]
    requested = list(pc.metrics) if task == "binary" or tuple(pc.metrics) != DEFAULT_PERFORMANCE_METRICS else []
    _known([*requested, *thresholds], perf_known, "checks.performance", task)
    performance = list(dict.fromkeys([*(requested or registry.performance_defaults), *thresholds]))

    fair_requested = list(fc.metrics) if task == "binary" or tuple(fc.metrics) != DEFAULT_FAIRNESS_METRICS else []
    _known([*fair_requested, *fc.min, *fc.max], fair_known, "checks.fairness", task)
    # The four-fifths rule is about selecting people for a benefit: a binary decision. Another task judges
    # its ratios only when `fairness.min` names them.
    four_fifths = fc.four_fifths_rule and task == "binary"
    fairness = list(dict.fromkeys([*(fair_requested or registry.fairness_defaults), *fc.min, *fc.max,
                                   *(["demographic_parity_ratio"] if four_fifths else [])]))

    gaps_requested = list(gc.metrics) if task == "binary" or list(gc.metrics) != DEFAULT_GROUP_GAP_METRICS else []
    _known(gaps_requested, perf_known, "checks.group_gaps.metrics", task)
    group_gaps = gaps_requested or [m for m in registry.performance_defaults
                                    if registry.metrics[m].direction != "none"]
    undirected = [m for m in group_gaps if registry.metrics[m].direction == "none"]
    if undirected:
        raise AuditError(f"`checks.group_gaps.metrics` must name metrics where higher or lower is better; got "
                         f"{undirected[0]!r}.")
    # A gap in base rates is a share of a binary target; another task's outcome gap is shown, not judged.
    bias = chk.bias if task == "binary" else chk.bias.model_copy(update={"max_base_rate_difference": None})
    return Selection(performance=performance, fairness=fairness, group_gaps=group_gaps,
                     performance_config=pc, fairness_config=fc.model_copy(update={"four_fifths_rule": four_fifths}),
                     group_gaps_config=gc.model_copy(update={"metrics": group_gaps}), bias_config=bias)
