"""Disparity conditioned on legitimate factors (``data.control``): groups compared within strata, and combined.

A marginal gap in approval rates between two groups may come from the groups applying with different
incomes, or persist among applicants of the same income; it may even reverse within every income band while
the marginal gap points the other way (Simpson's paradox). For each sensitive attribute and each rate (the
selection rate and the error rates of a binary audit, accuracy of a multiclass one, the mean prediction and
the mean absolute error of a regression), this measure gives:

* the marginal difference between the groups with the highest and the lowest rate (``a`` minus ``b``, so it
  is never negative), with a bootstrap interval;
* the same two groups' difference within each stratum of the controls, with its interval (Newcombe's score
  interval for a rate that is a share of rows, a bootstrap percentile interval otherwise);
* the **conditional difference**: the within-stratum differences averaged over the strata where both groups
  have support, each stratum weighted by the two groups' support there (direct standardisation: the gap if
  both groups had the same mix of strata), with its interval; and how it relates to the marginal one
  (``persists``, ``vanishes``, ``reverses``);
* for binary audits, SageMaker Clarify's conditional demographic disparity (CDD) of the group with the
  lowest favourable rate: the stratum-size-weighted mean over strata of (its share of the unfavourable
  outcomes minus its share of the favourable ones); positive when it is over-represented among those refused.

Every rate is a ratio of per-row sums (numerator over denominator), so the bootstrap is a Poisson bootstrap
of rows, drawn per distinct row (a row's weights summed over its equals are Poisson of their count), seeded.
Computed on the audit's seeded sample of evaluation rows (all of them when there are few enough).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from ..statistics._inference import finite_or_none, wilson_interval

__all__ = ["RATES", "FAVOURABLE", "StratumRow", "ConditionalMetric", "ConditionalAttribute", "ConditionalDisparity",
           "strata", "conditional_disparity"]

_Rate = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _ones(y: np.ndarray) -> np.ndarray:
    return np.ones(len(y))


#: Each rate as (numerator, denominator) of a row, from its label and prediction: the rates of each task,
#: named as ``checks.conditional.metrics`` names them (see ``ConditionalConfig.METRICS_BY_TASK``).
RATES: dict[str, _Rate] = {
    "selection_rate": lambda y, p: (p.astype(float), _ones(y)),
    "true_positive_rate": lambda y, p: ((p * y).astype(float), y.astype(float)),
    "false_positive_rate": lambda y, p: ((p * (1 - y)).astype(float), (1 - y).astype(float)),
    "accuracy": lambda y, p: ((y == p).astype(float), _ones(y)),
    "mean_prediction": lambda y, p: (p.astype(float), _ones(y)),
    "mean_absolute_error": lambda y, p: (np.abs(y.astype(float) - p.astype(float)), _ones(y)),
}


#: The favourable outcome of each row, for the CDD, by task: a binary decision's, given whether the favourable
#: outcome is the positive label. Tasks without an accept/refuse outcome have none.
FAVOURABLE: dict[str, Callable[[np.ndarray, bool], np.ndarray]] = {
    "binary": lambda prediction, positive: prediction.astype(int) if positive else 1 - prediction.astype(int),
}


#: Rates that are shares of rows (a 0/1 numerator over a 0/1 denominator): their within-stratum differences get
#: Newcombe's score interval, which stays honest for a handful of rows, where a bootstrap percentile interval
#: of two rates of 1.0 collapses to [0, 0].
PROPORTIONS = frozenset({"selection_rate", "true_positive_rate", "false_positive_rate", "accuracy"})


def newcombe_interval(k1: float, n1: float, k2: float, n2: float, level: float) -> tuple[float | None, float | None]:
    """Newcombe's hybrid score interval (1998, method 10) of ``k1/n1 - k2/n2``, from the two Wilson intervals.

    Examples
    --------
    >>> lo, hi = newcombe_interval(3, 3, 24, 24, 0.95)   # 3 of 3 against 24 of 24: far from [0, 0]
    >>> round(lo, 3), round(hi, 3)
    (-0.561, 0.138)
    """
    if n1 <= 0 or n2 <= 0:
        return None, None
    (l1,), (u1,) = wilson_interval(np.array([k1]), np.array([n1]), level)
    (l2,), (u2,) = wilson_interval(np.array([k2]), np.array([n2]), level)
    p1, p2 = k1 / n1, k2 / n2
    d = p1 - p2
    return float(d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)), float(d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))


@dataclass(frozen=True)
class StratumRow:
    """The two groups' rates in one stratum and their difference (``a`` minus ``b``)."""

    stratum: str
    rows: int
    support_a: int
    support_b: int
    rate_a: float | None
    rate_b: float | None
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    #: Whether the stratum enters the conditional difference (both groups have support in it).
    used: bool


@dataclass(frozen=True)
class ConditionalMetric:
    """One rate of one attribute: marginal and conditional differences between the same two groups."""

    metric: str
    #: The groups with the highest (``a``) and lowest (``b``) marginal rate, among those judged.
    groups: tuple[str, str] | None
    marginal: float | None
    marginal_ci_low: float | None
    marginal_ci_high: float | None
    conditional: float | None
    ci_low: float | None
    ci_high: float | None
    strata_used: int
    strata_total: int
    #: Share of the two groups' support that lies in the strata used.
    support_covered: float | None
    #: ``persists`` (shown within strata too), ``vanishes`` (shown marginally, not within strata),
    #: ``reverses`` (shown the other way within strata), ``emerges`` (not shown marginally, shown within
    #: strata: masked by the mix), ``no_marginal_gap``, or ``undefined``.
    pattern: str
    reason: str | None
    by_stratum: tuple[StratumRow, ...]


@dataclass(frozen=True)
class ConditionalAttribute:
    attribute: str
    metrics: tuple[ConditionalMetric, ...]
    #: Clarify's CDD of ``cdd_group`` (binary audits), with its interval; None where it does not apply.
    cdd_group: str | None
    cdd: float | None
    cdd_ci_low: float | None
    cdd_ci_high: float | None


@dataclass(frozen=True)
class ConditionalDisparity:
    controls: tuple[str, ...]
    #: How each control was cut into strata: its edges, or None for a column taken value by value.
    edges: dict[str, tuple[float, ...] | None]
    strata: tuple[str, ...]
    rows: int
    level: float
    replicates: int
    attributes: tuple[ConditionalAttribute, ...]


def _fmt_edge(value: float) -> str:
    return f"{value:.6g}"


def _cut(values: pd.Series, edges: list[float]) -> pd.Series:
    labels = ([f"< {_fmt_edge(edges[0])}"] + [f"[{_fmt_edge(a)}, {_fmt_edge(b)})" for a, b in zip(edges, edges[1:])]
              + [f"≥ {_fmt_edge(edges[-1])}"])
    index = np.searchsorted(np.asarray(edges, float), values.to_numpy(float), side="right")
    out = pd.Series(np.asarray(labels, dtype=object)[index], index=values.index)
    return out.where(values.notna(), "missing")


def strata(frame: pd.DataFrame, *, controls: list[str], bins: dict[str, list[float]], quantiles: int,
           max_levels: int) -> tuple[pd.Series, dict[str, tuple[float, ...] | None]]:
    """Each row's stratum (``"income=[2e+04, 5e+04), duration=< 12"``) and how each control was cut.

    A control with edges in ``bins`` is cut at them; a numeric one with more than ``max_levels`` distinct
    values at its interior ``quantiles`` quantiles; any other is taken value by value (missing: ``missing``).

    Examples
    --------
    >>> f = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "c": ["u", "v", "u", None]})
    >>> s, edges = strata(f, controls=["x", "c"], bins={"x": [2.5]}, quantiles=4, max_levels=10)
    >>> s.tolist(), edges
    (['x=< 2.5, c=u', 'x=< 2.5, c=v', 'x=≥ 2.5, c=u', 'x=≥ 2.5, c=missing'], {'x': (2.5,), 'c': None})
    """
    parts, edges_used = [], {}
    for column in controls:
        values = frame[column]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        if column in bins:
            edges = sorted(bins[column])
        elif numeric and values.nunique() > max_levels:
            qs = np.quantile(values.dropna().to_numpy(float), np.linspace(0, 1, quantiles + 1)[1:-1])
            edges = sorted(set(float(q) for q in qs))
        else:
            edges = None
        edges_used[column] = None if edges is None else tuple(edges)
        label = _cut(values, edges) if edges is not None else values.astype(object).where(values.notna(), "missing")
        parts.append(f"{column}=" + label.astype(str))
    stratum = parts[0]
    for p in parts[1:]:
        stratum = stratum + ", " + p
    return stratum, edges_used


def _quantiles(reps: np.ndarray, level: float) -> tuple[float | None, float | None]:
    finite = reps[np.isfinite(reps)]
    if len(finite) < max(2, len(reps) // 2):
        return None, None
    lo, hi = np.quantile(finite, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def _sums(group: np.ndarray, stratum: np.ndarray, num: np.ndarray, den: np.ndarray, *, n_groups: int,
          n_strata: int, replicates: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Numerator and denominator sums per (group, stratum): row 0 the data's, rows 1.. the replicates'.

    Rows equal in group, stratum, numerator and denominator are one cell; a cell of ``c`` rows gets a
    Poisson(``c``) weight per replicate, the sum of its rows' Poisson(1) weights.
    """
    cell = group * n_strata + stratum
    table = pd.DataFrame({"cell": cell, "num": num, "den": den})
    counted = table.groupby(["cell", "num", "den"], sort=True).size().reset_index(name="count")
    counts = counted["count"].to_numpy(float)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 7]))
    weights = np.vstack([counts[None, :], rng.poisson(counts, size=(replicates, len(counts))).astype(float)])
    # The cells come sorted by (group, stratum): each one's weighted sums are one run of columns.
    present, starts = np.unique(counted["cell"].to_numpy(), return_index=True)
    nums = np.zeros((len(weights), n_groups * n_strata))
    dens = np.zeros_like(nums)
    nums[:, present] = np.add.reduceat(weights * counted["num"].to_numpy(float), starts, axis=1)
    dens[:, present] = np.add.reduceat(weights * counted["den"].to_numpy(float), starts, axis=1)
    return nums.reshape(-1, n_groups, n_strata), dens.reshape(-1, n_groups, n_strata)


def _standardised(num: np.ndarray, den: np.ndarray, a: int, b: int, used: np.ndarray) -> np.ndarray:
    """Per replicate, the a-minus-b difference averaged over the used strata where both have support,
    weighted by their support."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ra, rb = num[:, a] / den[:, a], num[:, b] / den[:, b]
        both = used[None, :] & (den[:, a] > 0) & (den[:, b] > 0)
        weight = np.where(both, den[:, a] + den[:, b], 0.0)
        total = weight.sum(axis=1)
        diff = np.where(both, ra - rb, 0.0)
        return np.where(total > 0, (weight * diff).sum(axis=1) / np.where(total > 0, total, 1), np.nan)


def _pattern(marginal_low: float | None, low: float | None, high: float | None) -> str:
    if marginal_low is None or low is None or high is None:
        return "undefined"
    if marginal_low <= 0:
        # Nothing shown marginally; a gap shown within strata is masked by the mix of strata.
        return "emerges" if low > 0 or high < 0 else "no_marginal_gap"
    if high < 0:
        return "reverses"
    if low <= 0:
        return "vanishes"
    return "persists"


def _metric(name: str, num: np.ndarray, den: np.ndarray, *, groups: list[str], strata_names: list[str],
            rows: np.ndarray, eligible: np.ndarray, min_support: int, level: float) -> ConditionalMetric:
    marg_num, marg_den = num.sum(axis=2), den.sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        marginal = marg_num / marg_den
    judged = eligible & (marg_den[0] >= min_support)
    empty = ConditionalMetric(metric=name, groups=None, marginal=None, marginal_ci_low=None, marginal_ci_high=None,
                              conditional=None, ci_low=None, ci_high=None, strata_used=0,
                              strata_total=len(strata_names), support_covered=None, pattern="undefined",
                              reason=None, by_stratum=())
    if judged.sum() < 2:
        return ConditionalMetric(**{**empty.__dict__, "reason": f"fewer than two groups with {min_support} rows of "
                                                                  f"support for {name}"})
    values = np.where(judged, marginal[0], np.nan)
    a, b = int(np.nanargmax(values)), int(np.nanargmin(values))
    if a == b or values[a] == values[b]:
        return ConditionalMetric(**{**empty.__dict__, "groups": (groups[a], groups[b]),
                                    "marginal": 0.0, "pattern": "no_marginal_gap",
                                    "reason": "every judged group has the same rate"})
    marg = marginal[:, a] - marginal[:, b]
    m_lo, m_hi = _quantiles(marg[1:], level)
    used = (den[0, a] > 0) & (den[0, b] > 0)
    cond = _standardised(num, den, a, b, used)
    lo, hi = _quantiles(cond[1:], level)
    support = den[0, a] + den[0, b]
    with np.errstate(invalid="ignore", divide="ignore"):
        ra, rb = num[:, a] / den[:, a], num[:, b] / den[:, b]
    by_stratum = []
    for s, stratum in enumerate(strata_names):
        if rows[s] == 0:
            continue
        d = ra[:, s] - rb[:, s]
        if not used[s]:
            s_lo = s_hi = None
        elif name in PROPORTIONS:
            s_lo, s_hi = newcombe_interval(num[0, a, s], den[0, a, s], num[0, b, s], den[0, b, s], level)
        else:
            s_lo, s_hi = _quantiles(d[1:], level)
        by_stratum.append(StratumRow(stratum=stratum, rows=int(rows[s]), support_a=int(round(den[0, a, s])),
                                     support_b=int(round(den[0, b, s])), rate_a=finite_or_none(ra[0, s]), rate_b=finite_or_none(rb[0, s]),
                                     difference=finite_or_none(d[0]), ci_low=s_lo, ci_high=s_hi, used=bool(used[s])))
    return ConditionalMetric(
        metric=name, groups=(groups[a], groups[b]), marginal=finite_or_none(marg[0]), marginal_ci_low=m_lo,
        marginal_ci_high=m_hi, conditional=finite_or_none(cond[0]), ci_low=lo, ci_high=hi, strata_used=int(used.sum()),
        strata_total=int((rows > 0).sum()), support_covered=finite_or_none(support[used].sum() / support.sum()),
        pattern=_pattern(m_lo, lo, hi), reason=None if np.isfinite(cond[0]) else "no stratum holds both groups",
        by_stratum=tuple(by_stratum))


def _cdd(favourable: np.ndarray, group: np.ndarray, stratum: np.ndarray, *, n_groups: int, n_strata: int,
         eligible: np.ndarray, replicates: int, seed: int, level: float,
         groups: list[str]) -> tuple[str | None, float | None, float | None, float | None]:
    # One call: the favourable counts and the row counts of a replicate come from the same weights.
    acc, n = _sums(group, stratum, favourable.astype(float), np.ones(len(group)), n_groups=n_groups,
                   n_strata=n_strata, replicates=replicates, seed=seed)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = acc[0].sum(axis=1) / n[0].sum(axis=1)
    if eligible.sum() < 2:
        return None, None, None, None
    d = int(np.nanargmin(np.where(eligible, rate, np.nan)))
    rej = n - acc
    with np.errstate(invalid="ignore", divide="ignore"):
        share_rej = rej[:, d] / rej.sum(axis=1)
        share_acc = acc[:, d] / acc.sum(axis=1)
        dd = np.nan_to_num(share_rej) - np.nan_to_num(share_acc)
        size = n.sum(axis=1)
        cdd = (size * dd).sum(axis=1) / size.sum(axis=1)
    lo, hi = _quantiles(cdd[1:], level)
    return groups[d], finite_or_none(cdd[0]), lo, hi


def conditional_disparity(*, y: np.ndarray, prediction: np.ndarray, sensitive: pd.DataFrame, stratum: pd.Series,
                          edges: dict[str, tuple[float, ...] | None], metrics: list[str],
                          favourable: np.ndarray | None, min_group_size: int, replicates: int, level: float,
                          seed: int) -> ConditionalDisparity:
    """Marginal and conditional differences of each rate, for each sensitive attribute.

    Parameters
    ----------
    y, prediction : ndarray
        The rows' labels and predictions, in the task's values.
    sensitive : DataFrame
        The rows' sensitive labels, one column per attribute.
    stratum : Series
        Each row's stratum of the controls (:func:`strata`).
    edges : dict
        How each control was cut, for the report.
    metrics : list of str
        Names of :data:`RATES`.
    favourable : ndarray or None
        1 where the row got the favourable outcome (binary audits), for the CDD; None where it does not apply.
    min_group_size : int
        Fewest rows (and rows of a rate's denominator) for a group to be judged.
    replicates, level, seed
        The bootstrap.

    Examples
    --------
    >>> y = np.array([1, 0] * 40); p = np.array([1, 1, 0, 0] * 20)
    >>> sens = pd.DataFrame({"g": ["u"] * 40 + ["v"] * 40}); st = pd.Series(["s=1", "s=2"] * 40)
    >>> out = conditional_disparity(y=y, prediction=p, sensitive=sens, stratum=st, edges={"s": None},
    ...                             metrics=["selection_rate"], favourable=p, min_group_size=10, replicates=20,
    ...                             level=0.95, seed=0)
    >>> m = out.attributes[0].metrics[0]
    >>> m.pattern, m.marginal
    ('no_marginal_gap', 0.0)
    """
    codes_s, names_s = pd.factorize(stratum, sort=True)
    n_strata = len(names_s)
    attributes = []
    for attribute in sensitive.columns:
        labels = sensitive[attribute].astype(str)
        codes_g, names_g = pd.factorize(labels, sort=True)
        n_groups = len(names_g)
        rows_gs = np.zeros((n_groups, n_strata))
        np.add.at(rows_gs, (codes_g, codes_s), 1)
        eligible = rows_gs.sum(axis=1) >= min_group_size
        out = []
        for name in metrics:
            num_rows, den_rows = RATES[name](y, prediction)
            num, den = _sums(codes_g, codes_s, num_rows, den_rows, n_groups=n_groups, n_strata=n_strata,
                             replicates=replicates, seed=seed)
            out.append(_metric(name, num, den, groups=[str(g) for g in names_g],
                               strata_names=[str(s) for s in names_s], rows=rows_gs.sum(axis=0),
                               eligible=eligible, min_support=min_group_size, level=level))
        cdd = (None, None, None, None) if favourable is None else _cdd(
            favourable, codes_g, codes_s, n_groups=n_groups, n_strata=n_strata, eligible=eligible,
            replicates=replicates, seed=seed, level=level, groups=[str(g) for g in names_g])
        attributes.append(ConditionalAttribute(attribute=str(attribute), metrics=tuple(out), cdd_group=cdd[0],
                                               cdd=cdd[1], cdd_ci_low=cdd[2], cdd_ci_high=cdd[3]))
    return ConditionalDisparity(controls=tuple(edges), edges=edges, strata=tuple(str(s) for s in names_s),
                                rows=len(y), level=level, replicates=replicates, attributes=tuple(attributes))
