"""Drift of the evaluation data against a reference data set: per feature, per group, of the predictions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from ._data import category_text, is_numeric_feature
from ._evaluate import benjamini_hochberg

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


def _binned_counts(reference: pd.Series, current: pd.Series, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Counts of both samples over bins set on the reference: quantiles for numbers, values otherwise.

    Missing values are a bin of their own.
    """
    if is_numeric_feature(reference) and reference.nunique() > bins:
        edges = np.unique(np.nanquantile(reference.to_numpy(dtype=float), np.linspace(0, 1, bins + 1)[1:-1]))
        def codes(s: pd.Series) -> np.ndarray:
            v = s.to_numpy(dtype=float, na_value=np.nan)
            return np.where(np.isnan(v), len(edges) + 1, np.searchsorted(edges, v, side="right"))
        size = len(edges) + 2
        return (np.bincount(codes(reference), minlength=size), np.bincount(codes(current), minlength=size))
    ref, cur = category_text(reference), category_text(current)
    levels = sorted(set(ref) | set(cur))
    return (ref.value_counts().reindex(levels, fill_value=0).to_numpy(),
            cur.value_counts().reindex(levels, fill_value=0).to_numpy())


@dataclass(frozen=True)
class FeatureDrift:
    """Drift of one feature (or of the model's scores)."""

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


def _one(name: str, reference: pd.Series, current: pd.Series, bins: int) -> tuple[str, float, str, float, float]:
    r_counts, c_counts = _binned_counts(reference, current, bins)
    psi = population_stability_index(r_counts, c_counts)
    if is_numeric_feature(reference):
        result = sps.ks_2samp(reference.dropna().to_numpy(dtype=float), current.dropna().to_numpy(dtype=float))
        return "numeric", psi, "ks", float(result.statistic), float(result.pvalue)
    keep = (r_counts + c_counts) > 0
    chi2, p, _, _ = sps.chi2_contingency(np.vstack([r_counts[keep], c_counts[keep]])) if keep.sum() > 1 else (0.0, 1.0, 0, 0)
    return "categorical", psi, "chi2", float(chi2), float(p)


def measure_drift(reference: pd.DataFrame, current: pd.DataFrame, *, features: tuple[str, ...],
                  reference_labels: pd.DataFrame, current_labels: pd.DataFrame, bins: int,
                  reference_scores: np.ndarray | None, current_scores: np.ndarray | None,
                  min_group_size: int) -> Drift:
    """PSI and a two-sample test for every feature, the worst group's PSI, and the drift of the scores.

    p-values are Benjamini-Hochberg adjusted across features. Per-group PSI
    compares each group of each sensitive attribute with the same group of the
    reference (groups with fewer than ``min_group_size`` rows on either side
    are skipped).
    """
    rows = []
    for feature in features:
        kind, psi, test, statistic, p = _one(feature, reference[feature], current[feature], bins)
        worst, worst_psi = None, None
        for attribute in current_labels.columns:
            cur_groups = current_labels[attribute].astype(str).to_numpy()
            ref_groups = reference_labels[attribute].astype(str).to_numpy()
            for group in pd.unique(cur_groups):
                c_mask, r_mask = cur_groups == group, ref_groups == group
                if c_mask.sum() < min_group_size or r_mask.sum() < min_group_size:
                    continue
                r_counts, c_counts = _binned_counts(reference[feature][r_mask], current[feature][c_mask], bins)
                value = population_stability_index(r_counts, c_counts)
                if worst_psi is None or value > worst_psi:
                    worst, worst_psi = f"{attribute}={group}", value
        rows.append((feature, kind, psi, test, statistic, p, worst, worst_psi))
    adjusted = benjamini_hochberg(np.array([r[5] for r in rows])) if rows else np.array([])
    drifts = tuple(FeatureDrift(feature=f, kind=k, psi=psi, test=t, statistic=st, p_value=p, p_adjusted=float(a),
                                worst_group=w, worst_group_psi=wp)
                   for (f, k, psi, t, st, p, w, wp), a in zip(rows, adjusted))
    predictions = None
    if reference_scores is not None and current_scores is not None:
        kind, psi, test, statistic, p = _one("score", pd.Series(reference_scores), pd.Series(current_scores), bins)
        predictions = FeatureDrift(feature="model score", kind=kind, psi=psi, test=test, statistic=statistic,
                                   p_value=p, p_adjusted=p, worst_group=None, worst_group_psi=None)
    return Drift(reference_rows=len(reference), current_rows=len(current), features=drifts, predictions=predictions)
