"""Multiclass audits: per-class and macro metrics, one-vs-rest fairness and confusion matrices by group.

The additive table is the confusion matrix of every leaf, ``(leaves, K x K)`` counts of (true class,
predicted class). Rows in one cell (leaf, true, predicted) are interchangeable for every metric here,
and a sum of ``m`` Poisson(1) row weights is Poisson(``m``), so a bootstrap replicate draws one Poisson
count per cell: exactly the distribution of Poisson(1) row weights, at the cost of the table.

Macro averages follow scikit-learn's defaults: over the classes present in the group (as true or
predicted labels), a class without predicted (or true) rows counting 0 precision (or recall), as
``zero_division=0`` does; balanced accuracy is the mean recall over the classes present as true labels.
"""

from __future__ import annotations

import numpy as np

from ._metrics import FairnessSpec, MetricSpec, Registry

__all__ = ["confusion_table", "cell_poisson", "unpack", "multiclass_metrics", "multiclass_fairness", "multiclass_registry",
           "DEFAULT_MULTICLASS_METRICS", "MACRO_METRICS", "PER_CLASS_METRICS", "class_key", "MULTICLASS_FAIRNESS_NAMES"]

#: Metrics shown for every group (the per-class ones are shown class by class).
MACRO_METRICS = ("accuracy", "balanced_accuracy", "macro_precision", "macro_recall", "macro_f1")
DEFAULT_MULTICLASS_METRICS = MACRO_METRICS
PER_CLASS_METRICS = ("precision", "recall", "f1", "selection_rate", "false_positive_rate")
MULTICLASS_FAIRNESS_NAMES = ("accuracy_difference", "demographic_parity_difference", "demographic_parity_ratio",
                             "equalized_odds_difference", "equal_opportunity_difference")


def class_key(metric: str, label: str) -> str:
    """Name of a per-class metric, e.g. ``recall[3]``."""
    return f"{metric}[{label}]"


def confusion_table(*, leaf: np.ndarray, y: np.ndarray, pred: np.ndarray, n_leaves: int, n_classes: int) -> np.ndarray:
    """Confusion counts per leaf, ``(leaves, K x K)``; ``y``/``pred`` are class indices.

    Examples
    --------
    >>> confusion_table(leaf=np.array([0, 0, 1]), y=np.array([0, 1, 1]), pred=np.array([0, 0, 1]),
    ...                 n_leaves=2, n_classes=2).tolist()
    [[1.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]]
    """
    code = (leaf * n_classes + y) * n_classes + pred
    return np.bincount(code, minlength=n_leaves * n_classes * n_classes).reshape(n_leaves, -1).astype(np.float64)


def cell_poisson(table: np.ndarray, *, replicates: int, seed: int) -> np.ndarray:
    """Bootstrap replicates of the table: one Poisson(count) draw per cell, ``(replicates, leaves, K x K)``."""
    rng = np.random.default_rng(seed)
    return rng.poisson(table[None, :, :], size=(replicates, *table.shape)).astype(np.float64)


def unpack(n_classes: int):
    """Named sums of an array ``(..., groups, K x K)``: the confusion matrices and their margins."""
    def named(a: np.ndarray) -> dict[str, np.ndarray]:
        c = a.reshape(*a.shape[:-1], n_classes, n_classes)
        return {"n": c.sum(axis=(-2, -1)), "tp": np.diagonal(c, axis1=-2, axis2=-1),
                "support": c.sum(axis=-1), "predicted": c.sum(axis=-2)}
    return named


def _div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _macro(per_class: np.ndarray, present: np.ndarray) -> np.ndarray:
    count = present.sum(axis=-1)
    return _div(np.where(present, np.nan_to_num(per_class, nan=0.0), 0.0).sum(axis=-1), count)


def _per_class(s: dict[str, np.ndarray], metric: str) -> np.ndarray:
    """``(..., groups, K)`` values of a per-class (one-vs-rest) metric."""
    tp, support, predicted, n = s["tp"], s["support"], s["predicted"], s["n"][..., None]
    if metric == "precision":
        return _div(tp, predicted)
    if metric == "recall":
        return _div(tp, support)
    if metric == "f1":
        return _div(2 * tp, support + predicted)
    if metric == "selection_rate":
        return _div(predicted, np.broadcast_to(n, predicted.shape))
    return _div(predicted - tp, n - support)  # false positive rate: predicted k among rows not of class k


def _rows(s: dict[str, np.ndarray]) -> np.ndarray:
    return s["n"]


def multiclass_metrics(classes: list[str]) -> dict[str, MetricSpec]:
    """Macro metrics and every per-class metric (named ``metric[class]``)."""
    def macro(metric: str, present_of: str):
        def compute(s: dict[str, np.ndarray]) -> np.ndarray:
            present = (s["support"] + s["predicted"] > 0) if present_of == "either" else (s["support"] > 0)
            return _macro(_per_class(s, metric), present)
        return compute

    out = {
        "accuracy": MetricSpec("accuracy", "higher", lambda s: _div(s["tp"].sum(axis=-1), s["n"]), "empty group",
                               "Share of rows whose class is predicted right.", _rows, "rows",
                               lambda s: (s["tp"].sum(axis=-1), s["n"])),
        "balanced_accuracy": MetricSpec("balanced_accuracy", "higher", macro("recall", "true"), "empty group",
                                        "Mean recall over the classes present in the group.", _rows, "rows"),
        "macro_precision": MetricSpec("macro_precision", "higher", macro("precision", "either"), "empty group",
                                      "Unweighted mean of per-class precision.", _rows, "rows"),
        "macro_recall": MetricSpec("macro_recall", "higher", macro("recall", "either"), "empty group",
                                   "Unweighted mean of per-class recall.", _rows, "rows"),
        "macro_f1": MetricSpec("macro_f1", "higher", macro("f1", "either"), "empty group",
                               "Unweighted mean of per-class F1.", _rows, "rows"),
    }
    direction = {"precision": "higher", "recall": "higher", "f1": "higher", "selection_rate": "none",
                 "false_positive_rate": "lower"}
    for k, label in enumerate(classes):
        # What each one-vs-rest metric is a rate over, and its (successes, trials) for Wilson's interval.
        support = {"precision": (lambda s, k=k: s["predicted"][..., k], f"rows predicted {label}",
                                 lambda s, k=k: (s["tp"][..., k], s["predicted"][..., k]), "nothing predicted"),
                   "recall": (lambda s, k=k: s["support"][..., k], f"rows of class {label}",
                              lambda s, k=k: (s["tp"][..., k], s["support"][..., k]), "no rows of the class"),
                   "f1": (lambda s, k=k: s["support"][..., k], f"rows of class {label}", None,
                          "no rows of the class and none predicted"),
                   "selection_rate": (_rows, "rows", lambda s, k=k: (s["predicted"][..., k], s["n"]), "empty group"),
                   "false_positive_rate": (lambda s, k=k: s["n"] - s["support"][..., k], f"rows not of class {label}",
                                           lambda s, k=k: (s["predicted"][..., k] - s["tp"][..., k],
                                                           s["n"] - s["support"][..., k]), "only rows of the class")}
        for metric in PER_CLASS_METRICS:
            sup, sup_name, rate, reason = support[metric]
            out[class_key(metric, label)] = MetricSpec(
                class_key(metric, label), direction[metric],
                lambda s, metric=metric, k=k: _per_class(s, metric)[..., k], reason,
                f"{metric} of class {label} against all others.", sup, sup_name, rate)
    return out


def multiclass_fairness(classes: list[str]) -> dict[str, FairnessSpec]:
    """One-vs-rest fairness: the worst class decides each measure."""
    def each(metric: str) -> tuple[str, ...]:
        return tuple(class_key(metric, c) for c in classes)

    return {f.name: f for f in (
        FairnessSpec("accuracy_difference", "difference", ("accuracy",), "Largest gap in accuracy between groups."),
        FairnessSpec("demographic_parity_difference", "difference", each("selection_rate"),
                     "Largest gap between groups in the rate of predicting a class, over all classes."),
        FairnessSpec("demographic_parity_ratio", "ratio", each("selection_rate"),
                     "Smallest ratio between groups of the rate of predicting a class, over all classes."),
        FairnessSpec("equalized_odds_difference", "difference", each("recall") + each("false_positive_rate"),
                     "Largest gap in a class's true or false positive rate between groups (one-vs-rest)."),
        FairnessSpec("equal_opportunity_difference", "difference", each("recall"),
                     "Largest gap in a class's recall between groups (one-vs-rest)."),
    )}


def multiclass_registry(classes: list[str]) -> Registry:
    """The registry of a multiclass audit with these classes (per-class metrics are named by class)."""
    fairness = multiclass_fairness(classes)
    return Registry(task="multiclass", metrics=multiclass_metrics(classes), fairness=fairness,
                    performance_defaults=MACRO_METRICS, fairness_defaults=tuple(fairness), classes=tuple(classes))
