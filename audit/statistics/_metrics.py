"""Registry of built-in metrics: each one a function of additive group sums.

A metric here never sees rows. It receives the summed sufficient statistics of
a group (confusion counts, sums of per-row losses, the AUC pair counts) for
every bootstrap replicate at once, as arrays of shape ``(replicates, groups)``,
and returns the metric with NaN where it is undefined, plus the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

__all__ = [
    "MetricSpec",
    "METRICS",
    "FAIRNESS_METRICS",
    "FairnessSpec",
    "DEFAULT_PERFORMANCE_METRICS",
    "DEFAULT_FAIRNESS_METRICS",
    "Registry",
    "BINARY",
    "BASE_RATE",
    "FAVORABLE_RATE",
    "with_favorable",
    "favorable_rate_metric",
]

Sums = Mapping[str, np.ndarray]


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    # 0/0 and x/0 are undefined, not 0: the caller reports them as null with a reason.
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


@dataclass(frozen=True)
class MetricSpec:
    """A built-in metric.

    Attributes
    ----------
    name : str
        Name used in config and findings.
    direction : str
        ``"higher"`` when higher is better, ``"lower"`` when lower is better,
        ``"none"`` when neither (a selection rate).
    compute : callable
        ``compute(sums) -> ndarray``; NaN where undefined.
    undefined_reason : str
        Why the value can be undefined (shown next to a null).
    description : str
        One line for the model card.
    support : callable
        ``support(sums) -> ndarray``: the rows the metric is a rate over (all
        rows for accuracy, positive labels for recall, ...). A group whose
        support is under ``min_group_size`` is not judged on this metric.
    support_name : str
        What the support counts, for messages.
    """

    name: str
    direction: str
    compute: Callable[[Sums], np.ndarray]
    undefined_reason: str
    description: str
    support: Callable[[Sums], np.ndarray]
    support_name: str
    #: ``rate(sums) -> (successes, trials)`` for a simple proportion: its interval is Wilson's, from the
    #: counts, which stays honest at 0 and 1 and for small groups; None for other metrics (bootstrap).
    rate: Callable[[Sums], tuple[np.ndarray, np.ndarray]] | None = None
    #: The metric's range; intervals are kept inside it.
    upper: float = 1.0
    lower: float = 0.0
    #: ``pairs(sums) -> (positives, negatives)`` for a Mann-Whitney proportion of pairs (ROC AUC): where its
    #: bootstrap collapses on a bound, the score-type interval of the pairs is used instead.
    pairs: Callable[[Sums], tuple[np.ndarray, np.ndarray]] | None = None


def _balanced_accuracy(s: Sums) -> np.ndarray:
    tpr = _ratio(s["tp"], s["tp"] + s["fn"])
    tnr = _ratio(s["tn"], s["tn"] + s["fp"])
    return (tpr + tnr) / 2


def _auc(s: Sums) -> np.ndarray:
    return _ratio(s["auc_num"], s["pos"] * s["neg"])


def _rows(s: Sums) -> np.ndarray:
    return s["n"]


def _rarer_class(s: Sums) -> np.ndarray:
    return np.minimum(s["pos"], s["neg"])


def _positives(s: Sums) -> np.ndarray:
    return s["pos"]


METRICS: dict[str, MetricSpec] = {
    spec.name: spec
    for spec in (
        MetricSpec("accuracy", "higher", lambda s: _ratio(s["tp"] + s["tn"], s["n"]),
                   "empty group", "Share of correct predictions.", _rows, "rows",
                   lambda s: (s["tp"] + s["tn"], s["n"])),
        MetricSpec("balanced_accuracy", "higher", _balanced_accuracy,
                   "the group holds only one class", "Mean of true positive and true negative rates.",
                   _rarer_class, "rows of the rarer class"),
        MetricSpec("precision", "higher", lambda s: _ratio(s["tp"], s["tp"] + s["fp"]),
                   "no positive predictions", "Share of positive predictions that are right.",
                   lambda s: s["tp"] + s["fp"], "positive predictions", lambda s: (s["tp"], s["tp"] + s["fp"])),
        MetricSpec("recall", "higher", lambda s: _ratio(s["tp"], s["tp"] + s["fn"]),
                   "no positive labels", "Share of positive labels found (true positive rate).",
                   _positives, "positive labels", lambda s: (s["tp"], s["tp"] + s["fn"])),
        MetricSpec("f1", "higher", lambda s: _ratio(2 * s["tp"], 2 * s["tp"] + s["fp"] + s["fn"]),
                   "no positive labels and no positive predictions", "Harmonic mean of precision and recall.",
                   _positives, "positive labels"),
        MetricSpec("roc_auc", "higher", _auc,
                   "the group holds only one class", "Probability a positive is scored above a negative.",
                   _rarer_class, "rows of the rarer class", pairs=lambda s: (s["pos"], s["neg"])),
        MetricSpec("selection_rate", "none", lambda s: _ratio(s["tp"] + s["fp"], s["n"]),
                   "empty group", "Share of positive predictions.", _rows, "rows",
                   lambda s: (s["tp"] + s["fp"], s["n"])),
        MetricSpec("false_positive_rate", "lower", lambda s: _ratio(s["fp"], s["fp"] + s["tn"]),
                   "no negative labels", "Share of negatives predicted positive.",
                   lambda s: s["neg"], "negative labels", lambda s: (s["fp"], s["fp"] + s["tn"])),
        MetricSpec("false_negative_rate", "lower", lambda s: _ratio(s["fn"], s["fn"] + s["tp"]),
                   "no positive labels", "Share of positives predicted negative.", _positives, "positive labels",
                   lambda s: (s["fn"], s["fn"] + s["tp"])),
        MetricSpec("log_loss", "lower", lambda s: _ratio(s["log_loss_sum"], s["n"]),
                   "empty group", "Mean cross-entropy of the scores.", _rows, "rows", upper=np.inf),
        MetricSpec("brier_score_loss", "lower", lambda s: _ratio(s["brier_sum"], s["n"]),
                   "empty group", "Mean squared error of the scores.", _rows, "rows"),
    )
}

DEFAULT_PERFORMANCE_METRICS: tuple[str, ...] = tuple(METRICS)


@dataclass(frozen=True)
class FairnessSpec:
    """A between-group fairness metric built from one or two per-group metrics.

    ``kind`` is ``"difference"`` (max minus min over groups; 0 is parity),
    ``"ratio"`` (min over max; 1 is parity) or ``"max"`` (the largest group value, e.g. the worst
    group's loss; lower is better). With several base metrics the worst of them is taken, as
    fairlearn's ``equalized_odds_*`` do.
    """

    name: str
    kind: str
    base: tuple[str, ...]
    description: str


FAIRNESS_METRICS: dict[str, FairnessSpec] = {
    spec.name: spec
    for spec in (
        FairnessSpec("demographic_parity_difference", "difference", ("selection_rate",),
                     "Largest gap in selection rate between groups."),
        FairnessSpec("demographic_parity_ratio", "ratio", ("selection_rate",),
                     "Smallest selection rate over the largest (the four-fifths rule compares it to 0.8)."),
        FairnessSpec("equalized_odds_difference", "difference", ("recall", "false_positive_rate"),
                     "Larger of the gaps in true and false positive rate between groups."),
        FairnessSpec("equalized_odds_ratio", "ratio", ("recall", "false_positive_rate"),
                     "Smaller of the ratios of true and false positive rates between groups."),
        FairnessSpec("equal_opportunity_difference", "difference", ("recall",),
                     "Largest gap in true positive rate (recall) between groups."),
        FairnessSpec("false_positive_rate_difference", "difference", ("false_positive_rate",),
                     "Largest gap in false positive rate between groups."),
        FairnessSpec("false_negative_rate_difference", "difference", ("false_negative_rate",),
                     "Largest gap in false negative rate between groups."),
        FairnessSpec("predictive_parity_difference", "difference", ("precision",),
                     "Largest gap in precision between groups."),
    )
}

DEFAULT_FAIRNESS_METRICS: tuple[str, ...] = tuple(FAIRNESS_METRICS)

#: The share of positive labels: the binary target's distribution in a group (data bias, not performance).
BASE_RATE = MetricSpec("base_rate", "none", lambda s: _ratio(s["pos"], s["n"]), "empty group",
                       "Share of positive labels.", _rows, "rows", lambda s: (s["pos"], s["n"]))


@dataclass(frozen=True)
class Registry:
    """What one task measures: its metrics and fairness measures, the defaults, and the outcome metric.

    Attributes
    ----------
    task : str
        ``"binary"``, ``"multiclass"`` or ``"regression"``.
    metrics : mapping
        Every metric the engine computes for every group (performance, and per-class ones).
    fairness : mapping
        Between-group measures built on ``metrics``.
    performance_defaults, fairness_defaults : tuple of str
        What the findings show when the config names nothing.
    outcome : MetricSpec or None
        The target's distribution in a group (the base rate of a binary target, the mean of a regression
        target); None when one number cannot describe it (several classes). Its gap between groups is a
        data bias measure.
    classes : tuple of str
        The classes of a multiclass target, in report order; empty for other tasks.
    """

    task: str
    metrics: Mapping[str, MetricSpec]
    fairness: Mapping[str, FairnessSpec]
    performance_defaults: tuple[str, ...]
    fairness_defaults: tuple[str, ...]
    outcome: MetricSpec | None = None
    #: The classes of a multiclass target, in report order (per-class metrics are named by them).
    classes: tuple[str, ...] = ()


BINARY = Registry(task="binary", metrics=METRICS, fairness=FAIRNESS_METRICS,
                  performance_defaults=DEFAULT_PERFORMANCE_METRICS, fairness_defaults=DEFAULT_FAIRNESS_METRICS,
                  outcome=BASE_RATE)


# --- The direction of harm: which outcome is favourable ---

#: The share of rows predicted the negative label, when that is the favourable outcome (``data.favorable_label``).
FAVORABLE_RATE = MetricSpec("favorable_rate", "none", lambda s: _ratio(s["tn"] + s["fn"], s["n"]), "empty group",
                            "Share of rows predicted the favourable outcome (the negative label).", _rows, "rows",
                            lambda s: (s["tn"] + s["fn"], s["n"]))


#: Specificity: among the rows whose label is the favourable negative one, the share that receives it.
TRUE_NEGATIVE_RATE = MetricSpec("true_negative_rate", "higher", lambda s: _ratio(s["tn"], s["tn"] + s["fp"]),
                                "no negative labels", "Share of negatives predicted negative.",
                                lambda s: s["neg"], "negative labels", lambda s: (s["tn"], s["tn"] + s["fp"]))


def with_favorable(registry: Registry, *, favorable_is_positive: bool) -> Registry:
    """The binary registry with the favourable outcome's rate behind ``demographic_parity_ratio``.

    When the positive label is favourable (the default) the registry is returned as it is. Otherwise it gains
    ``favorable_rate`` (the share predicted negative) and ``demographic_parity_ratio`` becomes the smallest
    favourable rate over the largest: the group named lowest is then the one that receives the benefit least,
    as the four-fifths rule means it. ``equalized_odds_ratio`` likewise compares the rates at which the
    favourable outcome is given: to the rows that merit it (the true negative rate) and to those that do not
    (the false negative rate), as fairlearn's ratio on the swapped labels does; a ratio of true positive rates
    is not the ratio of true negative rates. The differences are the same either way.

    Examples
    --------
    >>> flipped = with_favorable(BINARY, favorable_is_positive=False)
    >>> flipped.fairness["demographic_parity_ratio"].base, flipped.fairness["equalized_odds_ratio"].base
    (('favorable_rate',), ('true_negative_rate', 'false_negative_rate'))
    """
    if favorable_is_positive:
        return registry
    fairness = dict(registry.fairness)
    fairness["demographic_parity_ratio"] = FairnessSpec(
        "demographic_parity_ratio", "ratio", ("favorable_rate",),
        "Smallest rate of the favourable outcome (the negative label) over the largest (the four-fifths rule "
        "compares it to 0.8).")
    fairness["equalized_odds_ratio"] = FairnessSpec(
        "equalized_odds_ratio", "ratio", ("true_negative_rate", "false_negative_rate"),
        "Smaller of the ratios between groups of the rates the favourable outcome (the negative label) is given "
        "to the rows whose label it is and to the others (true and false negative rates).")
    return Registry(task=registry.task, metrics={**registry.metrics, FAVORABLE_RATE.name: FAVORABLE_RATE,
                                                 TRUE_NEGATIVE_RATE.name: TRUE_NEGATIVE_RATE},
                    fairness=fairness, performance_defaults=registry.performance_defaults,
                    fairness_defaults=registry.fairness_defaults, outcome=registry.outcome, classes=registry.classes)


def favorable_rate_metric(registry: Registry) -> str:
    """The metric that is the rate of the favourable outcome: ``favorable_rate`` or ``selection_rate``."""
    return FAVORABLE_RATE.name if FAVORABLE_RATE.name in registry.metrics else "selection_rate"
