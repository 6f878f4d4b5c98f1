"""Mitigation what-if: what fairlearn's mitigations would cost in accuracy, measured on held-out rows.

It informs; it never replaces the audited model. The evaluation rows the audit keeps (the seeded sample
of up to 50,000 rows) are split by seed, stratified by group and label, into a *fit* part and a *held-out*
part:

* ``ThresholdOptimizer`` (post-processing, prefit on the audited model's scores) picks group-specific
  thresholds on the fit part, for demographic parity (strict and relaxed by ``tol``) and for equalized odds.
  It is fitted and evaluated on the scores the audit already has (the one feature of :class:`ScoreColumn`),
  so no row is scored by the model again for each fit; the saved model predicts from features;
* ``ExponentiatedGradient`` (reductions) retrains the model's estimator on the training data (a seeded
  subsample of at most ``fit_rows`` rows) for each ``eps``; only when the audit trained the model;
* every point, the unmitigated model included, is measured on the held-out part only.

A regression model gets ``ExponentiatedGradient`` with fairlearn's bounded group loss (every group's mean
squared error at most a bound), retraining the estimator on the training rows; with nothing fitted on the
evaluation rows, every point is measured on all of them. fairlearn has no mitigation for multiclass
models; the outcome then has no points and a note that says so. Each task's behaviour is one entry of
``_ADAPTERS``.

The what-if judges the groups the audit judges: groups with fewer than ``min_group_size`` evaluation rows
are left out (their rows neither fitted nor measured, their counts in ``left_out`` and a note), so a group
of 4 rows cannot make every point's equalized odds difference 1.
"""

from __future__ import annotations

import io
import time
import warnings
from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone

from .._errors import AuditError
from ..inputs._model import FittedModel, _categoricals_as_text, dense_clone, predict, predict_values, refit_without
from ..settings._config import MitigationConfig

__all__ = ["METHODS", "METHODS_BY_TASK", "MULTICLASS_NOTE", "AuditedScores", "ScoreColumn", "RescaledTarget",
           "MitigationPoint", "LeftOutGroup", "Mitigation", "check_mitigation_methods", "judged_groups", "mitigate",
           "frontier", "less_discriminatory",
           "saved_model", "split_fit_held_out"]

#: Mitigation methods, with the fairness constraint each one enforces (on a binary classifier).
METHODS = {"threshold_optimizer_dp": "demographic_parity", "threshold_optimizer_eo": "equalized_odds",
           "exponentiated_gradient": "demographic_parity", "drop_proxies": None}
#: Most proxies dropped (one alternative each: the strongest, the two strongest, ...).
_MAX_DROPPED = 3
#: The methods each task can run; the settings layer's data, one source.
METHODS_BY_TASK = MitigationConfig.METHODS_BY_TASK
#: Refuses methods the task cannot run, naming the field: ``check_mitigation_methods(methods, task)``.
check_mitigation_methods = MitigationConfig.check_methods
#: The constraint of ExponentiatedGradient on a regression model.
BOUNDED_GROUP_LOSS = "bounded_group_loss"


class AuditedScores(ClassifierMixin, BaseEstimator):
    """The audited model as a fitted scikit-learn classifier of 0/1 labels scoring the positive class.

    ``ThresholdOptimizer`` thresholds ``decision_function``; this is the audited model's positive-class
    score (the probability of ``positive_label`` when the model has ``predict_proba``), whichever column of
    the model's output holds it.
    """

    def __init__(self, estimator: Any = None, positive_column: int = 1, features: tuple[str, ...] = ()) -> None:
        self.estimator = estimator
        self.positive_column = positive_column
        self.features = features

    def __sklearn_is_fitted__(self) -> bool:
        return True  # wraps an already fitted model

    @property
    def classes_(self) -> np.ndarray:
        return np.array([0, 1])

    def fit(self, X: Any, y: Any) -> "AuditedScores":  # noqa: ARG002 - the model is fitted already
        return self

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        X = _categoricals_as_text(X, tuple(self.features))
        if hasattr(self.estimator, "predict_proba"):
            return np.asarray(self.estimator.predict_proba(X))[:, self.positive_column].astype(float)
        raw = np.asarray(self.estimator.decision_function(X), dtype=float)
        return raw if self.positive_column == 1 else -raw

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.decision_function(X) >= (0.5 if hasattr(self.estimator, "predict_proba") else 0.0)).astype(int)


class ScoreColumn(ClassifierMixin, BaseEstimator):
    """A fitted "classifier" whose one feature is the audited model's score: ``decision_function`` returns it.

    ThresholdOptimizer fits and predicts on ``scores[:, None]`` through this wrapper, so the scores the
    audit already has are thresholded as they are: no row is scored by the model again, however many
    tolerances are fitted.
    """

    def __sklearn_is_fitted__(self) -> bool:
        return True

    @property
    def classes_(self) -> np.ndarray:
        return np.array([0, 1])

    def fit(self, X: Any, y: Any) -> "ScoreColumn":  # noqa: ARG002 - nothing to fit
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        return np.asarray(X, dtype=float).reshape(len(X), -1)[:, 0]


def _on_features(mitigator: Any, scorer: AuditedScores) -> Any:
    """The ThresholdOptimizer fitted on score columns, made to predict from the model's features.

    The thresholds are the fitted ones; only the estimator that turns rows into scores changes (the audited
    model, through :class:`AuditedScores`), so the saved model takes a frame of features like the audited one.
    """
    import copy

    saved = copy.copy(mitigator)
    saved.estimator = saved.estimator_ = scorer
    thresholder = copy.copy(mitigator.interpolated_thresholder_)
    thresholder.estimator = thresholder.estimator_ = scorer
    saved.interpolated_thresholder_ = thresholder
    return saved


@dataclass(frozen=True)
class MitigationPoint:
    """One mitigated (or the unmitigated) model, measured on the held-out rows.

    A classifier's point has the accuracy and fairness fields and None in the regression ones; a regression
    model's point the reverse.
    """

    method: str  # "unmitigated" or a key of METHODS
    constraint: str | None
    # ThresholdOptimizer's tol, ExponentiatedGradient's eps; regression: the bound on every group's mean squared error
    tolerance: float | None
    accuracy: float | None
    accuracy_loss: float | None  # unmitigated accuracy minus this one: the accuracy given up
    demographic_parity_difference: float | None
    equalized_odds_difference: float | None
    selection_rate: float | None
    seconds: float
    mean_squared_error: float | None = None  # regression: over the rows measured
    mean_absolute_error: float | None = None
    worst_group_loss: float | None = None  # regression: the highest group mean squared error
    group_loss_gap: float | None = None  # regression: highest minus lowest group mean squared error
    loss_increase: float | None = None  # regression: this mean squared error minus the unmitigated one
    eps: float | None = None  # regression: ExponentiatedGradient's eps (slack, in units of the squared target range)
    #: Classifier: the smallest group rate of the favourable outcome over the largest (the adverse impact ratio).
    favourable_ratio: float | None = None
    #: drop_proxies: the features the model was retrained without.
    dropped: tuple[str, ...] | None = None


@dataclass(frozen=True)
class LeftOutGroup:
    """A group of the mitigation attribute with fewer than ``min_group_size`` evaluation rows: not judged."""

    group: str
    rows: int


@dataclass(frozen=True)
class Mitigation:
    """The trade-off between fairness and accuracy that the mitigations reach on held-out rows."""

    attribute: str
    groups: tuple[str, ...]
    fit_rows: int
    held_out_rows: int
    train_rows: int | None  # rows ExponentiatedGradient trained on
    seed: int
    points: tuple[MitigationPoint, ...]  # empty when the task has no mitigation (multiclass): see ``notes``
    notes: tuple[str, ...]
    complete: bool  # False when the time budget cut the list of methods short
    task: str = "binary"
    # regression: the target range (training rows) fairlearn's SquareLoss clips to; None for classifiers
    target_range: tuple[float, float] | None = None
    min_group_size: int = 1
    # groups under min_group_size evaluation rows: their rows take no part in the what-if (as the audit
    # judges them not)
    left_out: tuple[LeftOutGroup, ...] = ()


def _point(method: str, constraint: str | None, tolerance: float | None, y: np.ndarray, yhat: np.ndarray,
           a: np.ndarray, baseline: float | None, seconds: float, *, favourable_positive: bool = True,
           dropped: tuple[str, ...] | None = None) -> MitigationPoint:
    from fairlearn.metrics import demographic_parity_difference, demographic_parity_ratio, equalized_odds_difference
    from sklearn.metrics import accuracy_score

    acc = float(accuracy_score(y, yhat))
    favourable = yhat if favourable_positive else 1 - yhat
    return MitigationPoint(
        favourable_ratio=float(demographic_parity_ratio(y, favourable, sensitive_features=a)), dropped=dropped,
        method=method, constraint=constraint, tolerance=tolerance, accuracy=acc,
        accuracy_loss=0.0 if baseline is None else baseline - acc,
        demographic_parity_difference=float(demographic_parity_difference(y, yhat, sensitive_features=a)),
        equalized_odds_difference=float(equalized_odds_difference(y, yhat, sensitive_features=a)),
        selection_rate=float(np.mean(yhat)), seconds=round(seconds, 3))


def split_fit_held_out(y: np.ndarray, a: np.ndarray, *, held_out: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the fit and held-out parts, stratified by group and label when every stratum allows."""
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(y))
    strata = pd.Series(a).astype(str).to_numpy() + "|" + np.asarray(y).astype(str)
    counts = pd.Series(strata).value_counts()
    stratify = strata if counts.min() >= 2 else None
    fit, out = train_test_split(rows, test_size=held_out, random_state=seed, stratify=stratify)
    return np.sort(fit), np.sort(out)


@dataclass(frozen=True)
class _Request:
    """The arguments of :func:`mitigate`, handed to the task's adapter."""

    frame: pd.DataFrame
    y: np.ndarray
    yhat: np.ndarray
    sensitive: pd.Series
    attribute: str
    methods: list[str]
    tolerances: list[float]
    eps: list[float]
    held_out: float
    seed: int
    train: tuple[pd.DataFrame, np.ndarray, pd.Series] | None
    fit_rows: int
    max_iter: int
    max_seconds: float
    loss_bounds: list[float] | None
    scores: np.ndarray | None = None
    min_group_size: int = 1
    #: The attribute's strongest proxies among the model's features, strongest first (for drop_proxies).
    proxies: tuple[str, ...] = ()
    favourable_positive: bool = True


def mitigate(model: FittedModel, *, frame: pd.DataFrame, y: np.ndarray, yhat: np.ndarray, sensitive: pd.Series,
             attribute: str, methods: list[str], tolerances: list[float], eps: list[float], held_out: float,
             seed: int, train: tuple[pd.DataFrame, np.ndarray, pd.Series] | None = None, fit_rows: int = 20000,
             max_iter: int = 50, max_seconds: float = 300.0, task: str = "binary",
             loss_bounds: list[float] | None = None, scores: np.ndarray | None = None,
             min_group_size: int = 1, proxies: tuple[str, ...] = (),
             favourable_positive: bool = True) -> tuple[Mitigation, dict[str, Any]]:
    """Fit each mitigation and measure it, with the unmitigated model, on the held-out rows.

    Parameters
    ----------
    model : FittedModel
        The audited model.
    frame, y, yhat : evaluation rows, their targets and the audited model's predictions: 0/1 labels (binary),
        class labels (multiclass) or numbers (regression).
    sensitive : Series
        The group of each evaluation row for ``attribute`` (bands for binned attributes).
    attribute : str
        The sensitive attribute the constraints are about.
    methods : list of str
        Keys of :data:`METHODS`.
    tolerances : list of float
        ``tol`` values of the relaxed demographic-parity ThresholdOptimizer (0 = strict).
    eps : list of float
        Constraint bounds of ExponentiatedGradient.
    held_out : float
        Share of the evaluation rows held out for measuring.
    seed : int
        Seeds the split, the subsample, and the randomised predictions of the mitigated models.
    train : (frame, y, sensitive) or None
        Training rows for ExponentiatedGradient; None skips it (with a note).
    fit_rows, max_iter, max_seconds : bounds on ExponentiatedGradient's data, its iterations, and the
        total time (methods not started within it are left out, with a note).
    task : str
        ``binary``, ``multiclass`` or ``regression``. Regression runs only ``exponentiated_gradient`` (the
        threshold optimizers are refused, :func:`check_mitigation_methods`), under fairlearn's bounded group
        loss, measured on every evaluation row; multiclass runs nothing and says why in ``notes``.
    loss_bounds : list of float or None
        Regression: bounds on every group's mean squared error, one fit each (target units squared); None
        takes the audited model's overall mean squared error on the training rows and the midpoint between it
        and its worst group's. The smallest positive ``eps`` (0.01 when none is) is the slack of every fit.
    scores : array or None
        Binary: the audited model's positive-class score of each evaluation row (the audit's own, as
        ``predict`` gives them). ThresholdOptimizer is fitted and evaluated on these; None scores the rows
        once here. No row is scored again for each fit.
    min_group_size : int
        Groups with fewer evaluation rows are not judged, as in the rest of the audit: their rows (evaluation
        and training) take no part in the what-if, and ``left_out`` lists them with their row counts.
    proxies : tuple of str
        ``drop_proxies``: the attribute's strongest proxies among the model's features, strongest first; the
        model is retrained without the first one, the first two, ... (at most three alternatives).
    favourable_positive : bool
        Binary: whether the positive label is the favourable outcome (for each point's ``favourable_ratio``).

    Returns
    -------
    (Mitigation, dict)
        The measurements, and the strictest fitted model of each method (for saving).
    """
    adapter = _ADAPTERS.get(task)
    if adapter is None:
        raise AuditError(f"Mitigation knows the tasks {', '.join(_ADAPTERS)}; got {task!r}.")
    check_mitigation_methods(methods, task)
    return adapter(model, _Request(frame=frame, y=y, yhat=yhat, sensitive=sensitive, attribute=attribute,
                                   methods=list(methods), tolerances=list(tolerances), eps=list(eps), held_out=held_out,
                                   seed=seed, train=train, fit_rows=fit_rows, max_iter=max_iter,
                                   max_seconds=max_seconds, loss_bounds=None if loss_bounds is None
                                   else list(loss_bounds), scores=None if scores is None else np.asarray(scores),
                                   proxies=tuple(proxies), favourable_positive=favourable_positive,
                                   min_group_size=int(min_group_size)))


@dataclass(frozen=True)
class _Judged:
    """The rows of the groups the what-if judges (at least ``min_group_size`` evaluation rows)."""

    rows: np.ndarray  # positions in the evaluation rows
    groups: tuple[str, ...]  # the judged groups, sorted
    left_out: tuple[LeftOutGroup, ...]
    notes: tuple[str, ...]


def judged_groups(a: np.ndarray, *, attribute: str, min_group_size: int) -> _Judged:
    """Which evaluation rows take part in the what-if: those of groups with at least ``min_group_size`` rows.

    Examples
    --------
    >>> j = judged_groups(np.array(["a"] * 5 + ["b"] * 2 + ["c"] * 4), attribute="g", min_group_size=4)
    >>> j.rows.tolist(), j.groups, [(g.group, g.rows) for g in j.left_out]
    ([0, 1, 2, 3, 4, 7, 8, 9, 10], ('a', 'c'), [('b', 2)])
    """
    if len(np.unique(a)) < 2:
        raise AuditError(f"`mitigation.attribute` {attribute!r} has a single group in the evaluation rows; "
                         "mitigation needs at least two groups.")
    names, inverse, counts = np.unique(a, return_inverse=True, return_counts=True)
    small = counts < min_group_size
    left_out = tuple(LeftOutGroup(group=str(g), rows=int(c)) for g, c in zip(names[small], counts[small]))
    notes: tuple[str, ...] = ()
    if left_out:
        rows_out = sum(g.rows for g in left_out)
        named = ", ".join(f"{g.group} ({g.rows})" for g in left_out[:5]) + (", ..." if len(left_out) > 5 else "")
        notes = (f"{len(left_out)} group(s) of {attribute} with fewer than min_group_size {min_group_size} "
                 f"evaluation rows ({rows_out} rows in all: {named}) are left out of the what-if, as the audit does "
                 "not judge them; every point is fitted and measured on the other groups' rows. Their counts are in "
                 "findings.json (mitigation.left_out).",)
    return _Judged(rows=np.flatnonzero(~small[inverse]), groups=tuple(str(g) for g in names[~small]),
                   left_out=left_out, notes=notes)


def _too_few_groups(r: _Request, judged: _Judged, task: str) -> Mitigation:
    """No points: fewer than two groups have ``min_group_size`` rows."""
    note = (f"Fewer than two groups of {r.attribute} have min_group_size {r.min_group_size} evaluation rows, so "
            "there is no gap between judged groups to mitigate; no mitigation what-if was run.")
    return Mitigation(attribute=r.attribute, groups=judged.groups, fit_rows=0, held_out_rows=0, train_rows=None,
                      seed=r.seed, points=(), notes=(*judged.notes, note), complete=True, task=task,
                      min_group_size=r.min_group_size, left_out=judged.left_out)


def _judged_training_rows(train: tuple[pd.DataFrame, np.ndarray, pd.Series] | None,
                          judged: _Judged) -> tuple[pd.DataFrame, np.ndarray, pd.Series] | None:
    """The training rows of the judged groups only (all of them when no group is left out)."""
    if train is None or not judged.left_out:
        return train
    frame, y, a = train
    keep = np.flatnonzero(a.astype(str).isin(judged.groups).to_numpy())
    return frame.iloc[keep].reset_index(drop=True), np.asarray(y)[keep], a.iloc[keep].reset_index(drop=True)


def _mitigate_binary(model: FittedModel, r: _Request) -> tuple[Mitigation, dict[str, Any]]:
    """ThresholdOptimizer on the fit part and ExponentiatedGradient on the training rows, measured held out."""
    from fairlearn.postprocessing import ThresholdOptimizer

    attribute, methods, tolerances, eps = r.attribute, r.methods, r.tolerances, r.eps
    held_out, seed, fit_rows, max_iter, max_seconds = r.held_out, r.seed, r.fit_rows, r.max_iter, r.max_seconds
    started = time.perf_counter()
    judged = judged_groups(r.sensitive.astype(str).to_numpy(), attribute=attribute, min_group_size=r.min_group_size)
    if len(judged.groups) < 2:
        return _too_few_groups(r, judged, "binary"), {}
    rows = judged.rows
    whole = len(rows) == len(r.y)
    frame = r.frame if whole else r.frame.iloc[rows].reset_index(drop=True)
    y, yhat = np.asarray(r.y)[rows], np.asarray(r.yhat)[rows]
    a = r.sensitive.astype(str).to_numpy()[rows]
    train = _judged_training_rows(r.train, judged)
    scorer = AuditedScores(estimator=model.estimator, positive_column=model.positive_column, features=model.features)
    # The audit's scores, thresholded as they are; scored once here only when the caller has none.
    scores = (scorer.decision_function(frame) if r.scores is None else np.asarray(r.scores, dtype=float)[rows])
    fit, out = split_fit_held_out(y, a, held_out=held_out, seed=seed)
    if len(np.unique(a[fit])) < 2:
        raise AuditError(f"`mitigation.attribute` {attribute!r} has a single group in the evaluation rows; "
                         "mitigation needs at least two groups.")
    y_out, a_out = y[out], a[out]
    fav = r.favourable_positive
    base = _point("unmitigated", None, None, y_out, yhat[out], a_out, None, 0.0, favourable_positive=fav)
    points = [base]
    notes: list[str] = list(judged.notes)
    fitted: dict[str, Any] = {}
    S_fit, S_out = scores[fit][:, None], scores[out][:, None]
    X_out = None
    complete = True

    runs: list[tuple[str, float | None]] = []
    for method in methods:
        if method == "threshold_optimizer_dp":
            runs += [(method, t) for t in sorted(set(tolerances))]
        elif method == "threshold_optimizer_eo":
            runs.append((method, None))  # fairlearn cannot relax equalized odds
        elif method == "drop_proxies":
            if train is None:
                notes.append("Dropping proxies retrains the model: it needs training data and a model the audit "
                             "trains (`model.train`); it was skipped.")
            elif not r.proxies:
                notes.append(f"No feature of the model is a proxy of {attribute} (bias.proxies): nothing to drop.")
            else:
                runs += [(method, float(k)) for k in range(1, min(len(r.proxies), _MAX_DROPPED) + 1)]
        elif train is None:
            notes.append("ExponentiatedGradient needs training data and a model the audit trains (`model.train`); "
                         "it was skipped.")
        else:
            runs += [(method, e) for e in sorted(set(eps))]
    train_rows = None
    for method, tol in runs:
        if time.perf_counter() - started > max_seconds:
            complete = False
            notes.append(f"The time budget of {max_seconds:g} s ran out before {method} "
                         f"(tolerance {tol}); it and the methods after it were not run.")
            break
        t0 = time.perf_counter()
        dropped = None
        if method == "drop_proxies":
            assert train is not None and tol is not None
            dropped = tuple(r.proxies[:int(tol)])
            alternative = refit_without(model, train[0], train[1], drop=dropped)
            pred = np.asarray(predict(alternative, frame.iloc[out].reset_index(drop=True)).label)
            mitigator = alternative.estimator
        elif method.startswith("threshold_optimizer"):
            mitigator = ThresholdOptimizer(estimator=ScoreColumn(), constraints=METHODS[method], prefit=True,
                                           predict_method="decision_function",
                                           tol=tol if tol else None)
            mitigator.fit(S_fit, y[fit], sensitive_features=a[fit])
            pred = np.asarray(mitigator.predict(S_out, sensitive_features=a_out, random_state=seed))
            if method not in fitted:
                mitigator = _on_features(mitigator, scorer)
        else:
            assert train is not None
            if X_out is None:
                X_out = frame.iloc[out].reset_index(drop=True)
            pred, mitigator, train_rows = _exponentiated_gradient(model, train=train, X_out=X_out, eps=float(tol),
                                                                  seed=seed, fit_rows=fit_rows, max_iter=max_iter)
        points.append(_point(method, METHODS[method], tol, y_out, pred.astype(int), a_out, base.accuracy,
                             time.perf_counter() - t0, favourable_positive=fav, dropped=dropped))
        fitted.setdefault(method, mitigator)  # tolerances run strictest first
    return Mitigation(attribute=attribute, groups=judged.groups, fit_rows=len(fit), held_out_rows=len(out),
                      train_rows=train_rows, seed=seed, points=tuple(points), notes=tuple(notes),
                      complete=complete, min_group_size=r.min_group_size, left_out=judged.left_out), fitted


def _exponentiated_gradient(model: FittedModel, *, train: tuple[pd.DataFrame, np.ndarray, pd.Series],
                            X_out: pd.DataFrame, eps: float, seed: int, fit_rows: int,
                            max_iter: int) -> tuple[np.ndarray, Any, int]:
    """Retrain the audited model's estimator under a demographic-parity constraint (reductions)."""
    from fairlearn.reductions import DemographicParity, ExponentiatedGradient
    from sklearn.pipeline import Pipeline

    frame, y, a, pre, X = _training_rows(model, train, seed=seed, fit_rows=fit_rows)
    mitigator = ExponentiatedGradient(clone(model.estimator.steps[-1][1]), DemographicParity(), eps=eps,
                                      max_iter=max_iter)
    with warnings.catch_warnings():
        # fairlearn's moment bookkeeping grows a float Series with `.at` and puts booleans in it; pandas
        # deprecates both. Nothing of ours is affected.
        warnings.filterwarnings("ignore", message="Setting a value on a Series via .at with a key")
        warnings.filterwarnings("ignore", message="Setting an item of incompatible dtype is deprecated")
        mitigator.fit(X, y, sensitive_features=a.astype(str).to_numpy())
    pred = np.asarray(mitigator.predict(pre.transform(_categoricals_as_text(X_out, model.features)),
                                        random_state=seed))
    return pred, Pipeline([("preprocess", pre), ("mitigated", mitigator)]), len(frame)


def _training_rows(model: FittedModel, train: tuple[pd.DataFrame, np.ndarray, pd.Series], *, seed: int,
                   fit_rows: int) -> tuple[pd.DataFrame, np.ndarray, pd.Series, Any, Any]:
    """The seeded subsample of training rows, and a clone of the model's preprocessing fitted on them."""
    from sklearn.pipeline import Pipeline

    if not isinstance(model.estimator, Pipeline) or "preprocess" not in model.estimator.named_steps:
        raise AuditError("ExponentiatedGradient retrains the estimator of a model the audit trained "
                         "(`model.train`); remove `exponentiated_gradient` from `mitigation.methods`.")
    frame, y, a = train
    if len(frame) > fit_rows:
        rows = np.sort(np.random.default_rng(seed).choice(len(frame), fit_rows, replace=False))
        frame, y, a = frame.iloc[rows].reset_index(drop=True), y[rows], a.iloc[rows].reset_index(drop=True)
    # Preprocess once; the reduction refits only the final estimator, with sample weights.
    # fairlearn's reductions take dense input only: a linear model's sparse one-hot output is densified.
    pre = dense_clone(model.estimator.named_steps["preprocess"])
    X = pre.fit_transform(_categoricals_as_text(frame, model.features))
    return frame, y, a, pre, X


class RescaledTarget(RegressorMixin, BaseEstimator):
    """A regressor fitted on the target rescaled to [0, 1], predicting in the target's units.

    fairlearn's reductions assume losses in [0, 1]; on the raw target (squared errors in the thousands) the
    exponentiated-gradient weights overflow. For least-squares linear models and trees, rescaling the target
    only rescales the fit; an estimator with a threshold in target units (SVR's epsilon, Huber's) fits
    differently. ``predict`` passes ``random_state`` on, as ExponentiatedGradient's randomised predictions take it.
    """

    def __init__(self, mitigator: Any = None, low: float = 0.0, scale: float = 1.0) -> None:
        self.mitigator = mitigator
        self.low = low
        self.scale = scale

    def __sklearn_is_fitted__(self) -> bool:
        return True  # wraps an already fitted mitigator

    def fit(self, X: Any, y: Any) -> "RescaledTarget":  # noqa: ARG002 - the mitigator is fitted already
        return self

    def predict(self, X: Any, random_state: Any = None) -> np.ndarray:
        return self.low + self.scale * np.asarray(self.mitigator.predict(X, random_state=random_state), dtype=float)


def _regression_point(method: str, constraint: str | None, tolerance: float | None, eps: float | None,
                      y: np.ndarray, pred: np.ndarray, a: np.ndarray, baseline: float | None,
                      seconds: float) -> MitigationPoint:
    from sklearn.metrics import mean_absolute_error, mean_squared_error

    mse = float(mean_squared_error(y, pred))
    by_group = [float(mean_squared_error(y[a == g], pred[a == g])) for g in np.unique(a)]
    return MitigationPoint(
        method=method, constraint=constraint, tolerance=tolerance, accuracy=None, accuracy_loss=None,
        demographic_parity_difference=None, equalized_odds_difference=None, selection_rate=None,
        seconds=round(seconds, 3), mean_squared_error=mse, mean_absolute_error=float(mean_absolute_error(y, pred)),
        worst_group_loss=max(by_group), group_loss_gap=max(by_group) - min(by_group),
        loss_increase=0.0 if baseline is None else mse - baseline, eps=eps)


def _group_mse(y: np.ndarray, pred: np.ndarray, a: np.ndarray) -> tuple[float, float]:
    """Overall and worst-group mean squared error."""
    overall = float(np.mean((y - pred) ** 2))
    return overall, max(float(np.mean((y[a == g] - pred[a == g]) ** 2)) for g in np.unique(a))


def _mitigate_regression(model: FittedModel, r: _Request) -> tuple[Mitigation, dict[str, Any]]:
    """ExponentiatedGradient under bounded group loss, retrained on the training rows, measured on every row."""
    from fairlearn.reductions import BoundedGroupLoss, ExponentiatedGradient, SquareLoss
    from sklearn.pipeline import Pipeline

    started = time.perf_counter()
    judged = judged_groups(r.sensitive.astype(str).to_numpy(), attribute=r.attribute, min_group_size=r.min_group_size)
    if len(judged.groups) < 2:
        return _too_few_groups(r, judged, "regression"), {}
    rows = judged.rows
    frame = r.frame if len(rows) == len(r.y) else r.frame.iloc[rows].reset_index(drop=True)
    a = r.sensitive.astype(str).to_numpy()[rows]
    y, yhat = np.asarray(r.y, dtype=float)[rows], np.asarray(r.yhat, dtype=float)[rows]
    train = _judged_training_rows(r.train, judged)
    base = _regression_point("unmitigated", None, None, None, y, yhat, a, None, 0.0)
    points, notes, fitted = [base], [*judged.notes, f"Nothing is fitted on the evaluation rows, so every point is "
                                     f"measured on all {len(y)} of them."], {}
    complete, train_rows, target_range = True, None, None
    if "exponentiated_gradient" in r.methods and train is None:
        notes.append("ExponentiatedGradient needs training data and a model the audit trains (`model.train`); "
                     "it was skipped.")
    elif "exponentiated_gradient" in r.methods:
        assert train is not None
        frame_tr, y_tr, a_tr, pre, X = _training_rows(model, train, seed=r.seed, fit_rows=r.fit_rows)
        y_tr, a_tr = np.asarray(y_tr, dtype=float), a_tr.astype(str).to_numpy()
        train_rows = len(frame_tr)
        low, high = float(y_tr.min()), float(y_tr.max())
        scale = high - low if high > low else 1.0
        target_range = (low, high)
        bounds = r.loss_bounds
        if bounds is None:
            fitted_pred = np.asarray(model.estimator.predict(_categoricals_as_text(frame_tr, model.features)), float)
            overall, worst = _group_mse(y_tr, fitted_pred, a_tr)
            bounds = sorted({overall, (overall + worst) / 2})
            notes.append(f"Bounds on every group's mean squared error: {' and '.join(f'{b:.4g}' for b in bounds)}, "
                         f"the audited model's overall mean squared error on the {train_rows} training rows and the "
                         f"midpoint to its worst group's ({worst:.4g}).")
        slack = min((e for e in r.eps if e > 0), default=0.01)
        X_out = pre.transform(_categoricals_as_text(frame, model.features))
        for bound in sorted(set(bounds)):  # strictest first
            if time.perf_counter() - started > r.max_seconds:
                complete = False
                notes.append(f"The time budget of {r.max_seconds:g} s ran out before exponentiated_gradient "
                             f"(bound {bound:.4g}); it and the bounds after it were not run.")
                break
            t0 = time.perf_counter()
            # SquareLoss clips targets and predictions to the training range: [0, 1] once rescaled.
            moment = BoundedGroupLoss(SquareLoss(0.0, 1.0), upper_bound=bound / scale ** 2)
            mitigator = ExponentiatedGradient(clone(model.estimator.steps[-1][1]), moment, eps=slack,
                                              max_iter=r.max_iter)
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Setting a value on a Series via .at with a key")
                warnings.filterwarnings("ignore", message="Setting an item of incompatible dtype is deprecated")
                mitigator.fit(X, (y_tr - low) / scale, sensitive_features=a_tr)
            rescaled = RescaledTarget(mitigator=mitigator, low=low, scale=scale)
            pred = rescaled.predict(X_out, random_state=r.seed)
            points.append(_regression_point("exponentiated_gradient", BOUNDED_GROUP_LOSS, float(bound), slack, y,
                                            pred, a, base.mean_squared_error, time.perf_counter() - t0))
            fitted.setdefault("exponentiated_gradient", Pipeline([("preprocess", pre), ("mitigated", rescaled)]))
    if "drop_proxies" in r.methods:
        if train is None:
            notes.append("Dropping proxies retrains the model: it needs training data and a model the audit trains "
                         "(`model.train`); it was skipped.")
        elif not r.proxies:
            notes.append(f"No feature of the model is a proxy of {r.attribute} (bias.proxies): nothing to drop.")
        for k in range(1, min(len(r.proxies), _MAX_DROPPED) + 1) if train is not None else ():
            t0 = time.perf_counter()
            dropped = tuple(r.proxies[:k])
            alternative = refit_without(model, train[0], np.asarray(train[1], dtype=float), drop=dropped)
            pred = np.asarray(predict_values(alternative, frame, source="the evaluation rows", task="regression")[0],
                              dtype=float)
            point = _regression_point("drop_proxies", None, float(k), None, y, pred, a, base.mean_squared_error,
                                      time.perf_counter() - t0)
            points.append(replace(point, dropped=dropped))
            fitted.setdefault("drop_proxies", alternative.estimator)
    return Mitigation(attribute=r.attribute, groups=judged.groups, fit_rows=0, held_out_rows=len(y),
                      train_rows=train_rows, seed=r.seed, points=tuple(points), notes=tuple(notes), complete=complete,
                      task="regression", target_range=target_range, min_group_size=r.min_group_size,
                      left_out=judged.left_out), fitted


#: Said on the card of a multiclass audit with `mitigation.enabled`.
MULTICLASS_NOTE = ("fairlearn has no mitigation for multiclass models: ThresholdOptimizer and the "
                   "ExponentiatedGradient constraints take binary labels (or a regression target), so no "
                   "mitigation what-if was run.")


def _mitigate_multiclass(model: FittedModel, r: _Request) -> tuple[Mitigation, dict[str, Any]]:  # noqa: ARG001
    """No points: fairlearn has nothing for multiclass models; the note says so."""
    a = r.sensitive.astype(str).to_numpy()
    return Mitigation(attribute=r.attribute, groups=tuple(sorted(set(a))), fit_rows=0, held_out_rows=0,
                      train_rows=None, seed=r.seed, points=(), notes=(MULTICLASS_NOTE,), complete=True,
                      task="multiclass"), {}


#: What the what-if does for each task.
_ADAPTERS: dict[str, Callable[[FittedModel, _Request], tuple[Mitigation, dict[str, Any]]]] = {
    "binary": _mitigate_binary, "regression": _mitigate_regression, "multiclass": _mitigate_multiclass}


def _cost_and_disparity(p: MitigationPoint, task: str) -> tuple[float, float] | None:
    """A point's cost (accuracy given up, or the share of mean squared error added) and disparity (one minus
    the adverse impact ratio, or the group loss gap), both lower-is-better; None where undefined."""
    if task == "regression":
        if p.mean_squared_error is None or p.group_loss_gap is None or p.loss_increase is None:
            return None
        base = p.mean_squared_error - p.loss_increase
        return (p.loss_increase / base if base > 0 else 0.0), p.group_loss_gap
    if p.accuracy_loss is None or p.favourable_ratio is None:
        return None
    return p.accuracy_loss, 1.0 - p.favourable_ratio


def frontier(points: tuple[MitigationPoint, ...], *, task: str) -> tuple[bool, ...]:
    """Whether each point is on the cost–disparity frontier: no other point is at least as good on both and
    better on one.

    Examples
    --------
    >>> P = lambda loss, ratio: MitigationPoint("m", None, None, 0.8, loss, 0.1, 0.1, 0.3, 0.0, favourable_ratio=ratio)
    >>> frontier((P(0.0, 0.6), P(0.01, 0.9), P(0.02, 0.85)), task="binary")
    (True, True, False)
    """
    pairs = [_cost_and_disparity(p, task) for p in points]
    out = []
    for i, a in enumerate(pairs):
        out.append(a is not None and not any(
            b is not None and j != i and b[0] <= a[0] and b[1] <= a[1] and b != a for j, b in enumerate(pairs)))
    return tuple(out)


def less_discriminatory(points: tuple[MitigationPoint, ...], *, task: str, max_cost: float) -> int | None:
    """The point with the least disparity among those that cost at most ``max_cost`` and have less disparity
    than the unmitigated model (the first point); None when no point qualifies."""
    pairs = [_cost_and_disparity(p, task) for p in points]
    if not pairs or pairs[0] is None:
        return None
    eligible = [i for i, c in enumerate(pairs) if i and c is not None and c[0] <= max_cost and c[1] < pairs[0][1]]
    return min(eligible, key=lambda i: (pairs[i][1], pairs[i][0])) if eligible else None


def saved_model(method: str, mitigator: Any) -> tuple[str, bytes, str | None]:
    """File name, bytes and a note for a mitigated model: ``.skops`` when skops can store it, else joblib.

    fairlearn's ThresholdOptimizer keeps pandas objects that skops cannot store; those are written with
    joblib, which unpickles on load (load only files you wrote yourself).
    """
    import joblib
    import skops.io as sio

    try:
        return f"mitigated_{method}.skops", sio.dumps(mitigator), None
    except TypeError as exc:
        buffer = io.BytesIO()
        joblib.dump(mitigator, buffer)
        return (f"mitigated_{method}.joblib", buffer.getvalue(),
                f"mitigated_{method}.joblib is a joblib pickle (skops cannot store it: {exc}); load only your own files.")
