"""Fair-lending measures of a score: adverse impact ratio by cutoff, standardised mean difference, and the
marginal effect of the sensitive attribute on the decision with the legitimate factors held fixed.

* **Adverse impact ratio (AIR) by score band.** A lender chooses a cutoff; the four-fifths view judges one.
  For each cutoff at the score's quantiles, each group's approval rate over the reference group's, with the
  log (Katz) interval of a ratio of two independent proportions (statsmodels), so a reviewer sees at which
  cutoffs the ratio falls below 0.8 and how sure that is.
* **Standardised mean difference (SMD)** of the scores between each group and the reference group, oriented
  so that a negative value means the group's scores are less favourable: Hedges' bias-corrected g and its
  large-sample variance (statsmodels' ``effectsize_smd``).
* **Marginal effect on approval.** A logistic regression of the decision (favourable or not) on the
  sensitive attribute's groups (dummies against the reference group) and the controls (``data.control``:
  numeric ones as they are, others as dummies); the average marginal effect of each group (the discrete
  change in the probability of approval, averaged over the rows) with its delta-method interval
  (statsmodels ``Logit.get_margeff``). Undefined, with the reason, when the fit fails (separation, a
  singular design).

The reference group of an attribute is ``data.reference_groups``' when set, else the group with the most rows.
Computed on the audit's seeded sample of evaluation rows.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._extras import require
from ..statistics._inference import finite_or_none

__all__ = ["AirPoint", "GroupShift", "LendingAttribute", "Lending", "lending_measures"]


@dataclass(frozen=True)
class AirPoint:
    """One group at one cutoff: its approval rate and its ratio to the reference group's."""

    cutoff: float
    #: Share of all rows approved at this cutoff.
    approval_rate: float
    group: str
    group_rate: float | None
    ratio: float | None
    ci_low: float | None
    ci_high: float | None
    #: Whether this cutoff is the audited model's own decision rule (``model.threshold``).
    at_decision: bool = False


@dataclass(frozen=True)
class GroupShift:
    """One group against the reference group: an estimate with its interval (and p-value when tested)."""

    group: str
    rows: int
    value: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None = None


@dataclass(frozen=True)
class LendingAttribute:
    attribute: str
    reference: str
    air: tuple[AirPoint, ...]
    smd: tuple[GroupShift, ...]
    marginal_effects: tuple[GroupShift, ...]
    #: Why the marginal effects are missing, when they are.
    marginal_note: str | None
    controls: tuple[str, ...]
    #: ``logit`` (average marginal effect on the probability of the favourable decision) or ``ols`` (effect on
    #: the prediction, in its units).
    effect_model: str


@dataclass(frozen=True)
class Lending:
    cutoffs: tuple[float, ...]
    #: Whether a higher score is the favourable outcome (approval when score >= cutoff) or the adverse one.
    higher_is_favourable: bool
    level: float
    rows: int
    attributes: tuple[LendingAttribute, ...]


def _air(score: np.ndarray, groups: pd.Series, reference: str, *, cutoffs: np.ndarray, higher: bool,
         level: float, min_group_size: int, decision: float | None = None) -> tuple[AirPoint, ...]:
    proportion = require("statsmodels.stats.proportion", extra="lending", purpose="The fair-lending measures")
    names = [g for g in pd.unique(groups) if g != reference and (groups == g).sum() >= min_group_size]
    ref_rows = (groups == reference).to_numpy()
    points = []
    for cutoff in cutoffs:
        approved = score >= cutoff if higher else score < cutoff
        k_ref, n_ref = int(approved[ref_rows].sum()), int(ref_rows.sum())
        for g in sorted(names, key=str):
            rows = (groups == g).to_numpy()
            k, n = int(approved[rows].sum()), int(rows.sum())
            ratio = lo = hi = None
            if k_ref > 0:
                ratio = (k / n) / (k_ref / n_ref)
                if k > 0:
                    lo, hi = proportion.confint_proportions_2indep(k, n, k_ref, n_ref, compare="ratio", method="log",
                                                                   alpha=1 - level)
            points.append(AirPoint(cutoff=float(cutoff), approval_rate=float(approved.mean()), group=str(g),
                                   group_rate=k / n, ratio=finite_or_none(ratio), ci_low=finite_or_none(lo), ci_high=finite_or_none(hi),
                                   at_decision=decision is not None and float(cutoff) == float(decision)))
    return tuple(points)


def _smd(favourable_score: np.ndarray, groups: pd.Series, reference: str, *, level: float,
         min_group_size: int) -> tuple[GroupShift, ...]:
    meta = require("statsmodels.stats.meta_analysis", extra="lending", purpose="The fair-lending measures")
    from scipy.stats import norm

    z = norm.ppf(0.5 + level / 2)
    ref = favourable_score[(groups == reference).to_numpy()]
    out = []
    for g in sorted(pd.unique(groups), key=str):
        if g == reference:
            continue
        values = favourable_score[(groups == g).to_numpy()]
        if len(values) < min_group_size or len(ref) < 2:
            out.append(GroupShift(group=str(g), rows=len(values), value=None, ci_low=None, ci_high=None))
            continue
        d, var = meta.effectsize_smd(values.mean(), values.std(ddof=1), len(values), ref.mean(), ref.std(ddof=1),
                                     len(ref))
        se = float(np.sqrt(var)) if np.isfinite(var) else np.nan
        out.append(GroupShift(group=str(g), rows=len(values), value=finite_or_none(d), ci_low=finite_or_none(d - z * se),
                              ci_high=finite_or_none(d + z * se)))
    return tuple(out)


def _design(groups: pd.Series, reference: str, controls: pd.DataFrame) -> pd.DataFrame:
    dummies = pd.get_dummies(groups.astype(str), prefix="", prefix_sep="", dtype=float)
    dummies = dummies.drop(columns=[str(reference)])
    parts = [pd.DataFrame({"const": np.ones(len(groups))}, index=groups.index), dummies]
    for column in controls.columns:
        values = controls[column]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            filled = values.astype(float)
            parts.append(pd.DataFrame({column: filled.fillna(filled.mean())}))
        else:
            parts.append(pd.get_dummies(values.astype(str), prefix=column, drop_first=True, dtype=float))
    return pd.concat(parts, axis=1)


def _marginal_effects(outcome: np.ndarray, groups: pd.Series, reference: str, controls: pd.DataFrame, *,
                      binary: bool, level: float, min_group_size: int) -> tuple[tuple[GroupShift, ...], str | None]:
    sm = require("statsmodels.api", extra="lending", purpose="The fair-lending measures")
    tools = require("statsmodels.tools.sm_exceptions", extra="lending", purpose="The fair-lending measures")
    if len(np.unique(outcome)) < 2:
        return (), "every row got the same decision" if binary else "every row got the same prediction"
    X = _design(groups, reference, controls)
    tested = [c for c in X.columns if c in set(groups.astype(str)) and (groups.astype(str) == c).sum() >= min_group_size]
    if not tested:
        return (), f"no group other than the reference has {min_group_size} rows"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", tools.PerfectSeparationWarning)
            warnings.simplefilter("ignore", tools.ConvergenceWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            if binary:
                fit = sm.Logit(outcome.astype(float), X.to_numpy(float)).fit(disp=0, maxiter=200)
                effects = fit.get_margeff(at="overall", dummy=True)
                # get_margeff leaves out the constant: its columns are X's from the second on.
                value, ci, p = effects.margeff, effects.conf_int(alpha=1 - level), effects.pvalues
            else:
                # A linear model's coefficient of a dummy is its marginal effect; heteroscedasticity-robust errors.
                fit = sm.OLS(outcome.astype(float), X.to_numpy(float)).fit(cov_type="HC3")
                value, ci, p = fit.params[1:], fit.conf_int(alpha=1 - level)[1:], fit.pvalues[1:]
    except (np.linalg.LinAlgError, ValueError, tools.PerfectSeparationError, tools.PerfectSeparationWarning) as exc:
        kind = "logistic" if binary else "linear"
        return (), f"the {kind} regression could not be fitted ({type(exc).__name__}: {exc})"
    if not np.all(np.isfinite(np.asarray(ci, float))) or (binary and not fit.mle_retvals.get("converged", True)):
        return (), ("the logistic regression could not be fitted: it did not converge, as when the groups and "
                    "controls separate the decisions (almost) perfectly" if binary else
                    "the linear regression could not be fitted: its errors are undefined")
    names = list(X.columns[1:])
    out = []
    for c in tested:
        i = names.index(c)
        out.append(GroupShift(group=c, rows=int((groups.astype(str) == c).sum()), value=finite_or_none(value[i]),
                              ci_low=finite_or_none(ci[i, 0]), ci_high=finite_or_none(ci[i, 1]), p_value=finite_or_none(p[i])))
    return tuple(out), None


def lending_measures(*, score: np.ndarray, sensitive: pd.DataFrame, controls: pd.DataFrame, decision: np.ndarray,
                     decision_is_binary: bool, references: dict[str, str], higher_is_favourable: bool, cutoffs: int,
                     level: float, min_group_size: int, decision_cutoff: float | None = None) -> Lending:
    """AIR at ``cutoffs`` score quantiles, SMD and marginal effects, for each sensitive attribute.

    Parameters
    ----------
    score : ndarray
        The score the decision is made on (a binary model's positive-class score, a regression's prediction).
    sensitive : DataFrame
        Sensitive labels of the rows, one column per attribute.
    controls : DataFrame
        The control columns (``data.control``) of the rows; may have no columns.
    decision : ndarray
        What the marginal effect is measured on: 1 where the row got the favourable outcome under the audit's
        decision rule (``decision_is_binary``, a logistic regression), or a continuous output (a linear one).
    decision_is_binary : bool
    references : dict
        ``data.reference_groups`` as group labels.
    higher_is_favourable : bool
        Whether a higher score is the favourable side (a binary model whose positive label is favourable, a
        regression of an amount granted) or the adverse one (a default score).
    cutoffs : int
        Number of cutoffs, at evenly spaced quantiles of the score strictly between 0 and 1.
    decision_cutoff : float, optional
        The audited model's own cutoff (``model.threshold``), added to the cutoffs and marked.
    level : float
    min_group_size : int

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> g = pd.Series(np.repeat(["u", "v"], 200)); s = rng.random(400) + 0.2 * (g == "u").to_numpy()
    >>> out = lending_measures(score=s, sensitive=pd.DataFrame({"g": g}), controls=pd.DataFrame(index=g.index),
    ...                        decision=(s >= 0.6).astype(int), decision_is_binary=True, references={},
    ...                        higher_is_favourable=True,
    ...                        cutoffs=3, level=0.95, min_group_size=30)
    >>> a = out.attributes[0]; a.reference, [round(p.ratio, 2) for p in a.air], round(a.smd[0].value, 2)
    ('u', [0.81, 0.68, 0.33], -0.74)
    """
    score = np.asarray(score, dtype=float)
    qs = np.quantile(score, np.linspace(0, 1, cutoffs + 2)[1:-1])
    edges = np.unique(np.append(qs, decision_cutoff) if decision_cutoff is not None else qs)
    favourable_score = score if higher_is_favourable else -score
    attributes = []
    for attribute in sensitive.columns:
        groups = sensitive[attribute].astype(str).reset_index(drop=True)
        counts = groups.value_counts()
        largest = min(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))[0]  # ties: first by name
        reference = str(references.get(attribute, largest))
        effects, note = _marginal_effects(np.asarray(decision), groups, reference, controls.reset_index(drop=True),
                                          binary=decision_is_binary, level=level, min_group_size=min_group_size)
        attributes.append(LendingAttribute(
            attribute=str(attribute), reference=reference,
            air=_air(score, groups, reference, cutoffs=edges, higher=higher_is_favourable, level=level,
                     min_group_size=min_group_size, decision=decision_cutoff),
            smd=_smd(favourable_score, groups, reference, level=level, min_group_size=min_group_size),
            marginal_effects=effects, marginal_note=note, controls=tuple(controls.columns),
            effect_model="logit" if decision_is_binary else "ols"))
    return Lending(cutoffs=tuple(float(c) for c in edges), higher_is_favourable=higher_is_favourable, level=level,
                   rows=len(score), attributes=tuple(attributes))
