"""Drift of the evaluation data against a reference data set: per feature, per group, of the predictions.

The predictions drift as the task's output is: a binary classifier's scores and a regressor's predictions as
numbers (quantile bins and a Kolmogorov-Smirnov test), a multiclass classifier's predicted classes as a
category (class shares and a chi-square test), exactly as a numeric or a categorical feature would.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from ..inputs._data import category_text, is_numeric_feature
from ..statistics._evaluate import benjamini_hochberg

__all__ = ["population_stability_index", "FeatureDrift", "Drift", "measure_drift"]

_EPSILON = 1e-4  # share given to an empty bin, so that PSI stays finite


def population_stability_index(reference: np.ndarray, current: np.ndarray) -> float:
    """PSI of two count (or share) vectors over the same bins: sum of (c - r) * ln(c / r) on shares.

    Empty bins get a share of 1e-4. Under 0.1 is usually read as stable, over 0.2 as a shift.

    Examples
    --------
    >>> round(population_stability_index(np.array([50, 50]), np.array([40, 60])), 4)
    0.0405
    """
    r = np.asarray(reference, dtype=float)
    c = np.asarray(current, dtype=float)
    r = np.maximum(r / r.sum(), _EPSILON)
    c = np.maximum(c / c.sum(), _EPSILON)
    return float(np.sum((c - r) * np.log(c / r)))


def _text_levels(columns: tuple[pd.Series, ...]) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """The sorted text levels of several columns and each row's level code, missing values as ``"<missing>"``.

    The same levels as :func:`audit.inputs._data.category_text` gives each column, but only the distinct values
    are turned into text: the rows are factorised once and carry integer codes from there on.
    """
    factorised = [pd.factorize(column, use_na_sentinel=True) for column in columns]
    # Text of each column's distinct values, then "<missing>" last so that the NaN code -1 lands on it.
    texts = [np.append(category_text(pd.Series(uniques)).to_numpy(dtype=object), "<missing>")
             for _, uniques in factorised]
    levels, inverse = np.unique(np.concatenate(texts).astype(str), return_inverse=True)
    out, start = [], 0
    for (codes, _), text in zip(factorised, texts):
        local = inverse[start:start + len(text)]
        out.append(local[codes])
        start += len(text)
    return levels, tuple(out)


def _cell_counts(group: np.ndarray, cell: np.ndarray, *, groups: int, cells: int) -> np.ndarray:
    """Rows in each (group, cell) pair, a ``(groups, cells)`` array; rows of group -1 are left out."""
    keep = group >= 0
    flat = np.bincount(group[keep] * cells + cell[keep], minlength=groups * cells)
    return flat.reshape(groups, cells)


def _group_quantile_edges(values: np.ndarray, group: np.ndarray, *, groups: int, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Each group's ``bins``-quantile edges of its non-missing values, and its number of distinct values.

    The edges are those of ``np.nanquantile(values_of_group, np.linspace(0, 1, bins + 1)[1:-1])`` (its
    ``linear`` method, reproduced operation for operation so the floats are the same), sorted, one row per
    group; groups without values get NaN edges.
    """
    keep = (group >= 0) & ~np.isnan(values)
    g, v = group[keep], values[keep]
    order = np.lexsort((v, g))
    g, v = g[order], v[order]
    size = np.bincount(g, minlength=groups)
    start = np.concatenate(([0], np.cumsum(size)[:-1]))
    new_value = np.ones(len(v), dtype=bool)
    new_value[1:] = (g[1:] != g[:-1]) | (v[1:] != v[:-1])
    distinct = np.bincount(g[new_value], minlength=groups)
    q = np.linspace(0, 1, bins + 1)[1:-1]
    n = size[:, None].astype(float)
    virtual = (n - 1) * q[None, :]
    previous = np.floor(virtual)
    gamma = virtual - previous
    last = virtual >= n - 1
    prev_i = np.where(last, n - 1, previous).astype(np.intp)
    next_i = np.where(last, n - 1, previous + 1).astype(np.intp)
    empty = size == 0
    # Empty groups index nothing of their own: point them at row 0 and blank their edges afterwards.
    prev_i = np.where(empty[:, None], 0, prev_i + start[:, None])
    next_i = np.where(empty[:, None], 0, next_i + start[:, None])
    if len(v) == 0:
        return np.full((groups, len(q)), np.nan), distinct
    a, b = v[prev_i], v[next_i]
    diff = b - a
    edges = np.where(gamma >= 0.5, b - diff * (1 - gamma), a + diff * gamma)
    edges[empty] = np.nan
    return np.sort(edges, axis=1), distinct


def _quantile_cells(values: np.ndarray, group: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Each row's bin among its group's distinct edges (``searchsorted(..., side="right")``); missing last.

    With ``e`` distinct edges a group has bins 0..e and missing values go to bin e + 1, as a bin count
    of ``e + 2`` cells; every group gets ``edges.shape[1] + 2`` cells, the ones beyond stay empty.
    """
    distinct = np.ones(edges.shape, dtype=bool)
    distinct[:, 1:] = edges[:, 1:] != edges[:, :-1]
    rank = np.cumsum(distinct, axis=1)  # distinct edges up to each position
    n_distinct = rank[:, -1] if edges.shape[1] else np.zeros(len(edges), dtype=np.intp)
    own = edges[np.maximum(group, 0)]
    with np.errstate(invalid="ignore"):
        at_or_below = (own <= values[:, None]).sum(axis=1)
    rows = np.maximum(group, 0)
    cell = np.where(at_or_below > 0, rank[rows, np.maximum(at_or_below - 1, 0)], 0)
    return np.where(np.isnan(values), n_distinct[rows] + 1, cell)


def _psi_rows(reference: np.ndarray, current: np.ndarray) -> np.ndarray:
    """:func:`population_stability_index` of every row pair of two count arrays (NaN for an empty row)."""
    r = np.asarray(reference, dtype=float)
    c = np.asarray(current, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.maximum(r / r.sum(axis=1, keepdims=True), _EPSILON)
        c = np.maximum(c / c.sum(axis=1, keepdims=True), _EPSILON)
        return np.sum((c - r) * np.log(c / r), axis=1)


@dataclass(frozen=True)
class _GroupBins:
    """Counts of both samples per group over bins set on each group's reference rows."""

    reference: np.ndarray  # (groups, cells)
    current: np.ndarray
    psi: np.ndarray  # (groups,)


def _grouped_bins(reference: pd.Series, current: pd.Series, *, reference_group: np.ndarray,
                  current_group: np.ndarray, groups: int, bins: int) -> _GroupBins:
    """Bin both samples within each group, bins set on the group's reference rows, and each group's PSI.

    Numbers with more than ``bins`` distinct reference values in a group fall into that group's quantile
    bins; other columns, and numbers with fewer values, into their text levels. Missing values are a bin of
    their own. Groups are codes ``0..groups-1``, -1 for rows in no group. Every group's cells are the union
    of all groups' cells: a cell empty on both sides adds exactly 0 to the PSI, so the values are those of
    binning each group on its own.
    """
    levels, (ref_level, cur_level) = _text_levels((reference, current))
    ref_counts = _cell_counts(reference_group, ref_level, groups=groups, cells=len(levels))
    cur_counts = _cell_counts(current_group, cur_level, groups=groups, cells=len(levels))
    psi = _psi_rows(ref_counts, cur_counts)
    if not is_numeric_feature(reference):
        return _GroupBins(reference=ref_counts, current=cur_counts, psi=psi)
    ref_values = reference.to_numpy(dtype=float, na_value=np.nan)
    cur_values = current.to_numpy(dtype=float, na_value=np.nan)
    edges, distinct = _group_quantile_edges(ref_values, reference_group, groups=groups, bins=bins)
    by_quantile = distinct > bins
    if not by_quantile.any():
        return _GroupBins(reference=ref_counts, current=cur_counts, psi=psi)
    cells = edges.shape[1] + 2
    q_ref = _cell_counts(reference_group, _quantile_cells(ref_values, reference_group, edges), groups=groups,
                         cells=cells)
    q_cur = _cell_counts(current_group, _quantile_cells(cur_values, current_group, edges), groups=groups,
                         cells=cells)
    if by_quantile.all():
        return _GroupBins(reference=q_ref, current=q_cur, psi=_psi_rows(q_ref, q_cur))
    return _GroupBins(reference=ref_counts, current=cur_counts,
                      psi=np.where(by_quantile, _psi_rows(q_ref, q_cur), psi))


def _binned_counts(reference: pd.Series, current: pd.Series, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Counts of both samples over bins set on the reference: quantiles for numbers, values otherwise.

    Missing values are a bin of their own; bins empty in both samples are dropped.
    """
    whole = _grouped_bins(reference, current, reference_group=np.zeros(len(reference), dtype=np.intp),
                          current_group=np.zeros(len(current), dtype=np.intp), groups=1, bins=bins)
    r, c = whole.reference[0], whole.current[0]
    seen = (r + c) > 0
    return r[seen], c[seen]


@dataclass(frozen=True)
class FeatureDrift:
    """Drift of one feature (or of the model's predictions: scores, predicted values or classes)."""

    feature: str
    kind: str  # "numeric" or "categorical"
    psi: float
    test: str  # "ks" or "chi2"
    statistic: float
    p_value: float
    p_adjusted: float
    worst_group: str | None
    worst_group_psi: float | None


@dataclass(frozen=True)
class Drift:
    reference_rows: int
    current_rows: int
    features: tuple[FeatureDrift, ...]
    predictions: FeatureDrift | None


def _as_number(values: np.ndarray) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=float))


def _as_class(values: np.ndarray) -> pd.Series:
    # Text, so that classes coded as numbers (0, 1, 2) are shares of classes rather than quantile bins.
    return category_text(pd.Series(np.asarray(values, dtype=object)))


#: Per task, the name of the prediction in the report and how its values are read (numbers or classes).
_PREDICTIONS = {
    "binary": ("model score", pd.Series),
    "regression": ("model prediction", _as_number),
    "multiclass": ("predicted class", _as_class),
}


def _one(name: str, reference: pd.Series, current: pd.Series, bins: int) -> tuple[str, float, str, float, float]:
    r_counts, c_counts = _binned_counts(reference, current, bins)
    psi = population_stability_index(r_counts, c_counts)
    if is_numeric_feature(reference):
        result = sps.ks_2samp(reference.dropna().to_numpy(dtype=float), current.dropna().to_numpy(dtype=float))
        return "numeric", psi, "ks", float(result.statistic), float(result.pvalue)
    chi2, p, _, _ = sps.chi2_contingency(np.vstack([r_counts, c_counts])) if len(r_counts) > 1 else (0.0, 1.0, 0, 0)
    return "categorical", psi, "chi2", float(chi2), float(p)


def _group_codes(reference_labels: pd.Series, current_labels: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group codes of both samples in order of first appearance in ``current``; -1 for reference-only groups."""
    cur_codes, names = pd.factorize(current_labels.astype(str).to_numpy())
    ref_codes = pd.Index(names).get_indexer(reference_labels.astype(str).to_numpy())
    return np.asarray(ref_codes, dtype=np.intp), np.asarray(cur_codes, dtype=np.intp), np.asarray(names)


def measure_drift(reference: pd.DataFrame, current: pd.DataFrame, *, features: tuple[str, ...],
                  reference_labels: pd.DataFrame, current_labels: pd.DataFrame, bins: int,
                  reference_scores: np.ndarray | None, current_scores: np.ndarray | None,
                  min_group_size: int, task: str = "binary") -> Drift:
    """PSI and a two-sample test for every feature, the worst group's PSI, and the drift of the predictions.

    p-values are Benjamini-Hochberg adjusted across features. Per-group PSI
    compares each group of each sensitive attribute with the same group of the
    reference (groups with fewer than ``min_group_size`` rows on either side
    are skipped), with bins set on that group's reference rows.

    ``reference_scores`` and ``current_scores`` are the model's predictions of
    both samples, as ``task`` has them: the positive class's scores
    ("binary", reported as "model score") or the predictions ("regression",
    "model prediction"), both binned and tested as a numeric feature; the
    predicted classes ("multiclass", "predicted class"), compared by class
    shares with a chi-square test as a categorical feature. Either None: no
    prediction drift. The prediction drift is broken down by group as the
    features are (its worst group), and its p-value is not adjusted (one test).

    Examples
    --------
    >>> reference = pd.DataFrame({"x": [1.0, 2.0] * 50})
    >>> labels = pd.DataFrame({"sex": ["F", "M"] * 50})
    >>> drift = measure_drift(reference, reference, features=("x",), reference_labels=labels,
    ...                       current_labels=labels, bins=10, reference_scores=np.array(["a"] * 50 + ["b"] * 50),
    ...                       current_scores=np.array(["a"] * 40 + ["b"] * 60), min_group_size=30,
    ...                       task="multiclass")
    >>> drift.predictions.feature, drift.predictions.test, round(drift.predictions.psi, 4)
    ('predicted class', 'chi2', 0.0405)
    """
    try:
        prediction_name, as_series = _PREDICTIONS[task]
    except KeyError:
        raise ValueError(f"task must be one of {', '.join(_PREDICTIONS)}; got {task!r}") from None
    attributes = []
    for attribute in current_labels.columns:
        ref_codes, cur_codes, names = _group_codes(reference_labels[attribute], current_labels[attribute])
        sizes = (np.bincount(ref_codes[ref_codes >= 0], minlength=len(names)),
                 np.bincount(cur_codes, minlength=len(names)))
        eligible = (sizes[0] >= min_group_size) & (sizes[1] >= min_group_size)
        attributes.append((attribute, ref_codes, cur_codes, names, eligible))
    def worst_group(ref: pd.Series, cur: pd.Series) -> tuple[str | None, float | None]:
        # The group (of any attribute) whose own distribution moved most, with bins set on its reference rows.
        worst, worst_psi = None, None
        for attribute, ref_codes, cur_codes, names, eligible in attributes:
            if not eligible.any():
                continue
            by_group = _grouped_bins(ref, cur, reference_group=ref_codes, current_group=cur_codes,
                                     groups=len(names), bins=bins).psi
            best = int(np.argmax(np.where(eligible, by_group, -np.inf)))  # the first of equal values, as before
            if worst_psi is None or by_group[best] > worst_psi:
                worst, worst_psi = f"{attribute}={names[best]}", float(by_group[best])
        return worst, worst_psi

    rows = []
    for feature in features:
        kind, psi, test, statistic, p = _one(feature, reference[feature], current[feature], bins)
        rows.append((feature, kind, psi, test, statistic, p, *worst_group(reference[feature], current[feature])))
    adjusted = benjamini_hochberg(np.array([r[5] for r in rows])) if rows else np.array([])
    drifts = tuple(FeatureDrift(feature=f, kind=k, psi=psi, test=t, statistic=st, p_value=p, p_adjusted=float(a),
                                worst_group=w, worst_group_psi=wp)
                   for (f, k, psi, t, st, p, w, wp), a in zip(rows, adjusted))
    predictions = None
    if reference_scores is not None and current_scores is not None:
        ref_pred, cur_pred = as_series(reference_scores), as_series(current_scores)
        kind, psi, test, statistic, p = _one(prediction_name, ref_pred, cur_pred, bins)
        worst, worst_psi = worst_group(ref_pred, cur_pred)
        predictions = FeatureDrift(feature=prediction_name, kind=kind, psi=psi, test=test, statistic=statistic,
                                   p_value=p, p_adjusted=p, worst_group=worst, worst_group_psi=worst_psi)
    return Drift(reference_rows=len(reference), current_rows=len(current), features=drifts, predictions=predictions)
