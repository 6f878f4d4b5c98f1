"""Mitigation what-if: what fairlearn's mitigations would cost in accuracy, measured on held-out rows.

It informs; it never replaces the audited model. The evaluation rows the audit keeps (the seeded sample
of up to 50,000 rows) are split by seed, stratified by group and label, into a *fit* part and a *held-out*
part:

* ``ThresholdOptimizer`` (post-processing, prefit on the audited model's scores) picks group-specific
  thresholds on the fit part, for demographic parity (strict and relaxed by ``tol``) and for equalized odds;
* ``ExponentiatedGradient`` (reductions) retrains the model's estimator on the training data (a seeded
  subsample of at most ``fit_rows`` rows) for each ``eps``; only when the audit trained the model;
* every point, the unmitigated model included, is measured on the held-out part only.
"""

from __future__ import annotations

import io
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone

from .._errors import AuditError
from ..inputs._model import FittedModel, _categoricals_as_text

__all__ = ["METHODS", "AuditedScores", "MitigationPoint", "Mitigation", "mitigate", "saved_model", "split_fit_held_out"]

#: Mitigation methods, with the fairness constraint each one enforces.
METHODS = {"threshold_optimizer_dp": "demographic_parity", "threshold_optimizer_eo": "equalized_odds",
           "exponentiated_gradient": "demographic_parity"}


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


@dataclass(frozen=True)
class MitigationPoint:
    """One mitigated (or the unmitigated) model, measured on the held-out rows."""

    method: str  # "unmitigated" or a key of METHODS
    constraint: str | None
    tolerance: float | None  # ThresholdOptimizer's tol, ExponentiatedGradient's eps
    accuracy: float
    accuracy_loss: float  # unmitigated accuracy minus this one: the accuracy given up
    demographic_parity_difference: float
    equalized_odds_difference: float
    selection_rate: float
    seconds: float


@dataclass(frozen=True)
class Mitigation:
    """The trade-off between fairness and accuracy that the mitigations reach on held-out rows."""

    attribute: str
    groups: tuple[str, ...]
    fit_rows: int
    held_out_rows: int
    train_rows: int | None  # rows ExponentiatedGradient trained on
    seed: int
    points: tuple[MitigationPoint, ...]
    notes: tuple[str, ...]
    complete: bool  # False when the time budget cut the list of methods short


def _point(method: str, constraint: str | None, tolerance: float | None, y: np.ndarray, yhat: np.ndarray,
           a: np.ndarray, baseline: float | None, seconds: float) -> MitigationPoint:
    from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference
    from sklearn.metrics import accuracy_score

    acc = float(accuracy_score(y, yhat))
    return MitigationPoint(
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


def mitigate(model: FittedModel, *, frame: pd.DataFrame, y: np.ndarray, yhat: np.ndarray, sensitive: pd.Series,
             attribute: str, methods: list[str], tolerances: list[float], eps: list[float], held_out: float,
             seed: int, train: tuple[pd.DataFrame, np.ndarray, pd.Series] | None = None, fit_rows: int = 20000,
             max_iter: int = 50, max_seconds: float = 300.0) -> tuple[Mitigation, dict[str, Any]]:
    """Fit each mitigation and measure it, with the unmitigated model, on the held-out rows.

    Parameters
    ----------
    model : FittedModel
        The audited model.
    frame, y, yhat : evaluation rows, their 0/1 labels and the audited model's 0/1 predictions.
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

    Returns
    -------
    (Mitigation, dict)
        The measurements, and the strictest fitted model of each method (for saving).
    """
    from fairlearn.postprocessing import ThresholdOptimizer

    started = time.perf_counter()
    a = sensitive.astype(str).to_numpy()
    fit, out = split_fit_held_out(y, a, held_out=held_out, seed=seed)
    if len(np.unique(a[fit])) < 2:
        raise AuditError(f"`mitigation.attribute` {attribute!r} has a single group in the evaluation rows; "
                         "mitigation needs at least two groups.")
    y_out, a_out = y[out], a[out]
    base = _point("unmitigated", None, None, y_out, yhat[out], a_out, None, 0.0)
    points = [base]
    notes: list[str] = []
    fitted: dict[str, Any] = {}
    scorer = AuditedScores(estimator=model.estimator, positive_column=model.positive_column, features=model.features)
    X_fit, X_out = frame.iloc[fit].reset_index(drop=True), frame.iloc[out].reset_index(drop=True)
    complete = True

    runs: list[tuple[str, float | None]] = []
    for method in methods:
        if method == "threshold_optimizer_dp":
            runs += [(method, t) for t in sorted(set(tolerances))]
        elif method == "threshold_optimizer_eo":
            runs.append((method, None))  # fairlearn cannot relax equalized odds
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
        if method.startswith("threshold_optimizer"):
            mitigator = ThresholdOptimizer(estimator=scorer, constraints=METHODS[method], prefit=True,
                                           predict_method="decision_function",
                                           tol=tol if tol else None)
            mitigator.fit(X_fit, y[fit], sensitive_features=a[fit])
            pred = np.asarray(mitigator.predict(X_out, sensitive_features=a_out, random_state=seed))
        else:
            assert train is not None
            pred, mitigator, train_rows = _exponentiated_gradient(model, train=train, X_out=X_out, eps=float(tol),
                                                                  seed=seed, fit_rows=fit_rows, max_iter=max_iter)
        points.append(_point(method, METHODS[method], tol, y_out, pred.astype(int), a_out, base.accuracy,
                             time.perf_counter() - t0))
        fitted.setdefault(method, mitigator)  # tolerances run strictest first
    return Mitigation(attribute=attribute, groups=tuple(sorted(set(a))), fit_rows=len(fit), held_out_rows=len(out),
                      train_rows=train_rows, seed=seed, points=tuple(points), notes=tuple(notes),
                      complete=complete), fitted


def _exponentiated_gradient(model: FittedModel, *, train: tuple[pd.DataFrame, np.ndarray, pd.Series],
                            X_out: pd.DataFrame, eps: float, seed: int, fit_rows: int,
                            max_iter: int) -> tuple[np.ndarray, Any, int]:
    """Retrain the audited model's estimator under a demographic-parity constraint (reductions)."""
    from fairlearn.reductions import DemographicParity, ExponentiatedGradient
    from sklearn.pipeline import Pipeline

    if not isinstance(model.estimator, Pipeline) or "preprocess" not in model.estimator.named_steps:
        raise AuditError("ExponentiatedGradient retrains the estimator of a model the audit trained "
                         "(`model.train`); remove `exponentiated_gradient` from `mitigation.methods`.")
    frame, y, a = train
    if len(frame) > fit_rows:
        rows = np.sort(np.random.default_rng(seed).choice(len(frame), fit_rows, replace=False))
        frame, y, a = frame.iloc[rows].reset_index(drop=True), y[rows], a.iloc[rows].reset_index(drop=True)
    # Preprocess once; the reduction refits only the final estimator, with sample weights.
    pre = clone(model.estimator.named_steps["preprocess"])
    X = pre.fit_transform(_categoricals_as_text(frame, model.features))
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
