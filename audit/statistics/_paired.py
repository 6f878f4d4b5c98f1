"""Paired comparison of two models scored on the same evaluation rows: champion against challenger.

Both models' per-row addends of the task's additive table (:meth:`TaskAdapter.row_values`) are summed per
leaf under one set of Poisson(1) row weights, so every bootstrap replicate weighs the same rows for both
models and the difference of any metric or fairness gap keeps the pairing (an independent comparison of
two audits ignores it and is badly underpowered). Row ``i`` always gets the same weights, drawn per block of
rows from a generator seeded with ``(seed, block)`` as the regression table's are.

Tests: the difference of every metric has a Wald interval from the paired replicates' standard error; a
simple rate whose denominator does not depend on the model (accuracy, recall, false positive rate,
selection rate, ...) gets McNemar's exact test on the rows the two models disagree on; ROC AUC gets
DeLong's test on the rows; one Benjamini-Hochberg family over everything compared.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from ..inputs._groups import GroupIndex, build_groups
from ..inputs._model import Predictions
from ..inputs._predictions import RowOutputs
from ._evaluate import _stat, benjamini_hochberg
from ._inference import finite_or_none
from ._metrics import Registry
from ._tasks import _BLOCK, LabelSettings, _block_weights, adapter

__all__ = ["PairedRows", "PairedDifference", "PairedComparison", "paired_compare", "delong_paired",
           "mcnemar_exact", "paired_outputs"]


@dataclass(frozen=True)
class PairedRows:
    """Both models' per-row addends on the same rows (``(rows, k)`` each), each row's leaf, and for ROC AUC
    the labels (1 = positive) and both models' scores (None when the task has no AUC)."""

    leaf: np.ndarray
    champion: np.ndarray
    challenger: np.ndarray
    unpack: Callable[[np.ndarray], dict[str, np.ndarray]]
    n_leaves: int
    y: np.ndarray | None = None
    scores: tuple[np.ndarray, np.ndarray] | None = None


@dataclass(frozen=True)
class PairedDifference:
    """Challenger minus champion for one metric (or fairness measure) overall, in one group or grouping."""

    metric: str
    grouping: str | None  # None: overall
    group: str | None  # None: overall, or a fairness measure of the whole grouping
    champion: float | None
    challenger: float | None
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    p_adjusted: float | None
    test: str  # "mcnemar", "delong", "paired bootstrap", or "" when not compared
    n: int
    support: int
    reason: str | None = None


@dataclass(frozen=True)
class PairedComparison:
    """Every paired difference; ``kind`` per metric name: "metric" or "fairness"."""

    differences: tuple[PairedDifference, ...]
    level: float
    replicates: int
    rows: int
    min_group_size: int


def mcnemar_exact(b: float, c: float) -> float:
    """Two-sided exact McNemar p-value: the binomial test of ``b`` against ``c`` discordant pairs.

    Examples
    --------
    >>> round(mcnemar_exact(2, 10), 4)
    0.0386
    """
    from scipy.stats import binomtest

    total = int(round(b + c))
    if total == 0:
        return 1.0
    return float(binomtest(int(round(min(b, c))), total, 0.5).pvalue)


def _midranks(x: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(x, method="average")


def delong_paired(y: np.ndarray, score_a: np.ndarray, score_b: np.ndarray) -> tuple[float, float, float, float]:
    """ROC AUC of two scores on the same rows and DeLong's variance of their difference.

    Returns ``(auc_a, auc_b, difference, standard_error)``; NaN when a class is missing.

    Examples
    --------
    >>> y = np.array([0, 0, 1, 1, 0, 1])
    >>> a, b, d, se = delong_paired(y, np.array([.1, .4, .35, .8, .2, .7]), np.array([.2, .3, .6, .9, .1, .5]))
    >>> round(a, 4), round(b, 4)
    (0.8889, 1.0)
    """
    pos, neg = y == 1, y == 0
    m, n = int(pos.sum()), int(neg.sum())
    if m == 0 or n == 0:
        return np.nan, np.nan, np.nan, np.nan
    v10, v01 = [], []
    for s in (score_a, score_b):
        x, z = s[pos], s[neg]
        tz = _midranks(np.concatenate([x, z]))
        tx, ty = _midranks(x), _midranks(z)
        v10.append((tz[:m] - tx) / n)  # per positive: share of negatives scored below it (ties one half)
        v01.append(1 - (tz[m:] - ty) / m)  # per negative: share of positives scored above it
    auc_a, auc_b = float(v10[0].mean()), float(v10[1].mean())
    s10 = np.cov(np.vstack(v10)) if m > 1 else np.zeros((2, 2))
    s01 = np.cov(np.vstack(v01)) if n > 1 else np.zeros((2, 2))
    cov = s10 / m + s01 / n
    var = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    return auc_a, auc_b, auc_b - auc_a, float(np.sqrt(max(var, 0.0)))


def _leaf_sums(rows: PairedRows, *, replicates: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact leaf sums ``(leaves, 2k)`` of both models and their replicates ``(B, leaves, 2k)``, in row blocks
    so that memory stays ``B x block`` however many rows."""
    from scipy import sparse

    values = np.hstack([rows.champion, rows.challenger])
    n, k2 = values.shape
    exact = np.zeros((rows.n_leaves, k2))
    np.add.at(exact, rows.leaf, values)
    reps = np.zeros((replicates, rows.n_leaves * k2))
    for start in range(0, n, _BLOCK):
        stop = min(n, start + _BLOCK)
        w = _block_weights(seed=seed, start=start, n=stop - start, replicates=replicates)
        cols = (rows.leaf[start:stop, None].astype(np.int64) * k2 + np.arange(k2)[None, :]).ravel()
        design = sparse.csr_matrix((values[start:stop].ravel(), (np.repeat(np.arange(stop - start), k2), cols)),
                                   shape=(stop - start, rows.n_leaves * k2))
        reps += np.asarray((design.T @ w.T).T)
    return exact, reps.reshape(replicates, rows.n_leaves, k2)


def _to_groups(a: np.ndarray, leaf_group: np.ndarray, n_groups: int) -> np.ndarray:
    """Sum the leaf axis of ``a`` (``(leaves, k)`` or ``(B, leaves, k)``) into groups."""
    from scipy import sparse

    leaves = a.shape[-2]
    indicator = sparse.csr_matrix((np.ones(leaves), (leaf_group, np.arange(leaves))), shape=(n_groups, leaves))
    if a.ndim == 2:
        return np.asarray(indicator @ a)
    b, _, k = a.shape
    flat = np.moveaxis(a, 1, 0).reshape(leaves, b * k)
    return np.moveaxis(np.asarray(indicator @ flat).reshape(n_groups, b, k), 0, 1)


def _wald(d: np.ndarray, reps: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Interval and two-sided p-value of each column's difference from its replicates' standard error."""
    from scipy.stats import norm

    finite = np.isfinite(reps)
    k = finite.sum(axis=0)
    filled = np.where(finite, reps, 0.0)
    mean = filled.sum(axis=0) / np.maximum(k, 1)
    se = np.sqrt(np.where(finite, (reps - mean) ** 2, 0.0).sum(axis=0) / np.maximum(k - 1, 1))
    se = np.where(k >= max(2, reps.shape[0] // 2), se, np.nan) if reps.shape[0] else np.full(d.shape, np.nan)
    z = float(norm.ppf((1 + level) / 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(se > 0, 2 * norm.sf(np.abs(d) / np.where(se > 0, se, 1.0)), np.where(d == 0, 1.0, 0.0))
    p = np.where(np.isfinite(se) & np.isfinite(d), p, np.nan)
    return d - z * se, d + z * se, p


def paired_compare(rows: PairedRows, groups: GroupIndex, *, registry: Registry, metrics: list[str],
                   fairness: list[str], replicates: int, level: float, seed: int,
                   min_group_size: int) -> PairedComparison:
    """Challenger minus champion for ``metrics`` overall and in every group, and for ``fairness`` measures
    in every grouping, on the same rows.

    A group is compared on a metric when the rows that metric is a rate of number at least
    ``min_group_size`` for both models (as the audit judges groups); other groups get a reason.

    Examples
    --------
    >>> import pandas as pd
    >>> from audit.inputs._groups import build_groups
    >>> from audit.statistics._metrics import BINARY
    >>> from audit.statistics._tasks import adapter
    >>> from audit.inputs._model import Predictions
    >>> g = build_groups(pd.DataFrame({"s": ["a", "b"] * 50}), sensitive=["s"], bins={}, intersections=1, source="t")
    >>> y = np.tile([1, 0, 1, 0], 25)
    >>> a = adapter("binary")
    >>> va = a.row_values(y=y, predictions=Predictions(np.full(100, .6), np.ones(100, int), True), registry=BINARY)
    >>> vb = a.row_values(y=y, predictions=Predictions(np.full(100, .6), y.copy(), True), registry=BINARY)
    >>> rows = PairedRows(leaf=g.row_leaf, champion=va, challenger=vb, unpack=a.row_unpack(BINARY), n_leaves=2)
    >>> out = paired_compare(rows, g, registry=BINARY, metrics=["accuracy"], fairness=[], replicates=50,
    ...                      level=0.95, seed=0, min_group_size=10)
    >>> d = out.differences[0]
    >>> (d.metric, d.champion, d.challenger, d.difference, d.test)
    ('accuracy', 0.5, 1.0, 0.5, 'mcnemar')
    """
    exact, reps = _leaf_sums(rows, replicates=replicates, seed=seed)
    k = rows.champion.shape[1]
    # Per-row success and trial of every simple rate, for McNemar: a row's addends are its own sums.
    row_a, row_b = rows.unpack(rows.champion), rows.unpack(rows.challenger)
    mcnemar: dict[str, np.ndarray] = {}  # metric -> (rows, 3): trial, champion only, challenger only
    for m in metrics:
        spec = registry.metrics[m]
        if spec.rate is None:
            continue
        sa, ta = (np.asarray(v, float) for v in spec.rate(row_a))
        sb, tb = (np.asarray(v, float) for v in spec.rate(row_b))
        if np.array_equal(ta, tb):  # the same rows are its denominator whichever model: a paired proportion
            mcnemar[m] = np.column_stack([ta, ta * sa * (1 - sb), ta * (1 - sa) * sb])
    discord = {m: np.zeros((rows.n_leaves, 3)) for m in mcnemar}
    for m, per_row in mcnemar.items():
        np.add.at(discord[m], rows.leaf, per_row)

    # The groupings compared: overall (one group of every leaf), then each attribute and intersection.
    levels = [("", (None,), np.zeros(rows.n_leaves, dtype=np.int64))]
    levels += [(g.name, g.groups, np.asarray(g.leaf_group, dtype=np.int64)) for g in groups.groupings]
    auc = "roc_auc" in metrics and rows.y is not None and rows.scores is not None
    out: list[PairedDifference] = []
    for name, labels, leaf_group in levels:
        n_groups = len(labels)
        ex = _to_groups(exact, leaf_group, n_groups)
        rp = _to_groups(reps, leaf_group, n_groups) if replicates else np.zeros((0, n_groups, 2 * k))
        ea, eb = rows.unpack(ex[..., :k]), rows.unpack(ex[..., k:])
        ra, rb = rows.unpack(rp[..., :k]), rows.unpack(rp[..., k:])
        n = np.asarray(ea["n"], float)
        values_a: dict[str, np.ndarray] = {}
        values_b: dict[str, np.ndarray] = {}
        reps_a: dict[str, np.ndarray] = {}
        reps_b: dict[str, np.ndarray] = {}
        supports: dict[str, np.ndarray] = {}
        needed = list(dict.fromkeys([*metrics, *(b for f in fairness for b in registry.fairness[f].base)]))
        for m in needed:
            spec = registry.metrics[m]
            if m == "roc_auc":
                continue
            with np.errstate(invalid="ignore", divide="ignore"):
                values_a[m], values_b[m] = np.asarray(spec.compute(ea), float), np.asarray(spec.compute(eb), float)
                reps_a[m], reps_b[m] = np.asarray(spec.compute(ra), float), np.asarray(spec.compute(rb), float)
            supports[m] = np.minimum(np.asarray(spec.support(ea), float), np.asarray(spec.support(eb), float))
        if auc:
            codes = leaf_group[rows.leaf]
            auc_parts = [delong_paired(rows.y[codes == g], rows.scores[0][codes == g], rows.scores[1][codes == g])
                         for g in range(n_groups)]
            supports["roc_auc"] = np.minimum(np.asarray(registry.metrics["roc_auc"].support(ea), float),
                                             np.asarray(registry.metrics["roc_auc"].support(eb), float))
        for m in metrics:
            if m == "roc_auc" and not auc:
                continue
            if m == "roc_auc":
                from scipy.stats import norm

                z = float(norm.ppf((1 + level) / 2))
                va = np.array([p[0] for p in auc_parts])
                vb = np.array([p[1] for p in auc_parts])
                d = vb - va
                se = np.array([p[3] for p in auc_parts])
                lo, hi = d - z * se, d + z * se
                with np.errstate(invalid="ignore", divide="ignore"):
                    p = np.where(se > 0, 2 * norm.sf(np.abs(d) / np.where(se > 0, se, 1.0)),
                                 np.where(d == 0, 1.0, 0.0))
                test = "delong"
            else:
                va, vb = values_a[m], values_b[m]
                d = vb - va
                lo, hi, p = _wald(d, reps_b[m] - reps_a[m], level)
                test = "paired bootstrap"
                if m in mcnemar:
                    dg = _to_groups(discord[m], leaf_group, n_groups)
                    p = np.array([mcnemar_exact(dg[g, 1], dg[g, 2]) for g in range(n_groups)])
                    test = "mcnemar"
            for g in range(n_groups):
                support = int(round(supports[m][g]))
                small = support < min_group_size
                undefined = not (np.isfinite(va[g]) and np.isfinite(vb[g]))
                reason = ("undefined for a model" if undefined else
                          f"{support} rows to compare, fewer than min_group_size {min_group_size}" if small else None)
                judged = reason is None
                out.append(PairedDifference(
                    metric=m, grouping=name or None, group=None if labels[g] is None else str(labels[g]),
                    champion=finite_or_none(va[g]), challenger=finite_or_none(vb[g]), difference=finite_or_none(d[g]) if not undefined else None,
                    ci_low=finite_or_none(lo[g]) if judged else None, ci_high=finite_or_none(hi[g]) if judged else None,
                    p_value=finite_or_none(p[g]) if judged else None, p_adjusted=None, test=test if judged else "",
                    n=int(round(float(n[g]))), support=support, reason=reason))
        if not name:
            continue
        for f in fairness:
            spec = registry.fairness[f]
            eligible = np.logical_and.reduce([supports[b] >= min_group_size for b in spec.base]) & (n >= min_group_size)
            needed_groups = 1 if spec.kind == "max" else 2
            if eligible.sum() < needed_groups:
                out.append(PairedDifference(metric=f, grouping=name, group=None, champion=None, challenger=None,
                                            difference=None, ci_low=None, ci_high=None, p_value=None,
                                            p_adjusted=None, test="", n=int(eligible.sum()), support=0,
                                            reason="fewer than two groups to compare for both models"))
                continue
            ga = _stat({b: values_a[b].reshape(1, -1) for b in spec.base}, spec, eligible)[0]
            gb = _stat({b: values_b[b].reshape(1, -1) for b in spec.base}, spec, eligible)[0]
            rga = _stat({b: reps_a[b] for b in spec.base}, spec, eligible)
            rgb = _stat({b: reps_b[b] for b in spec.base}, spec, eligible)
            d = np.array([gb - ga])
            lo, hi, p = _wald(d, (rgb - rga).reshape(-1, 1), level)
            out.append(PairedDifference(metric=f, grouping=name, group=None, champion=finite_or_none(ga), challenger=finite_or_none(gb),
                                        difference=finite_or_none(d[0]), ci_low=finite_or_none(lo[0]), ci_high=finite_or_none(hi[0]),
                                        p_value=finite_or_none(p[0]), p_adjusted=None, test="paired bootstrap",
                                        n=int(eligible.sum()), support=int(eligible.sum())))
    raw = np.array([np.nan if x.p_value is None else x.p_value for x in out])
    tested = np.isfinite(raw)
    adjusted = np.full(len(out), np.nan)
    if tested.any():
        adjusted[tested] = benjamini_hochberg(raw[tested])
    out = [replace(x, p_adjusted=finite_or_none(a)) for x, a in zip(out, adjusted)]
    return PairedComparison(differences=tuple(out), level=level, replicates=replicates, rows=int(len(rows.leaf)),
                            min_group_size=min_group_size)


def paired_outputs(champion: RowOutputs, challenger: RowOutputs, *, task: str, intersections: int,
                   min_group_size: int, metrics: list[str], fairness: list[str], replicates: int, level: float,
                   seed: int) -> PairedComparison:
    """:func:`paired_compare` of two audits' row-level outputs on the same rows (matched, in one order).

    The groups are rebuilt from the rows' stored sensitive labels; metrics and fairness measures the task's
    registry does not hold are left out.
    """
    labels = challenger.labels.reset_index(drop=True)
    groups = build_groups(labels, sensitive=list(labels.columns), bins={}, intersections=intersections,
                          source="predictions.parquet")
    n_leaves = len(groups.leaf_levels)
    groups = groups.judged(np.bincount(groups.row_leaf, minlength=n_leaves), min_group_size=min_group_size)
    t = adapter(task)
    a = Predictions(score=champion.score, label=champion.prediction, probabilistic=champion.probabilistic)
    b = Predictions(score=challenger.score, label=challenger.prediction, probabilistic=challenger.probabilistic)
    settings = LabelSettings(target="target", source="predictions.parquet", positive_label=1, negative_label=0,
                             seed=seed, replicates=0)
    both = np.concatenate([np.asarray(champion.y), np.asarray(challenger.y)])
    part = t.tally(leaf=np.concatenate([groups.row_leaf, groups.row_leaf]), y=both,
                   predictions=Predictions(score=np.concatenate([a.score, b.score]),
                                           label=np.concatenate([np.asarray(a.label), np.asarray(b.label)]),
                                           probabilistic=a.probabilistic), n_leaves=n_leaves, start=0,
                   settings=settings)
    _, registry = t.table(part)  # both models' classes (multiclass) in one registry
    binary = task == "binary"
    rows = PairedRows(leaf=groups.row_leaf, champion=t.row_values(y=champion.y, predictions=a, registry=registry),
                      challenger=t.row_values(y=challenger.y, predictions=b, registry=registry),
                      unpack=t.row_unpack(registry), n_leaves=n_leaves,
                      y=np.asarray(champion.y).astype(int) if binary else None,
                      scores=(np.asarray(a.score, dtype=float), np.asarray(b.score, dtype=float)) if binary else None)
    return paired_compare(rows, groups, registry=registry, metrics=[m for m in metrics if m in registry.metrics],
                          fairness=[f for f in fairness if f in registry.fairness], replicates=replicates,
                          level=level, seed=seed, min_group_size=min_group_size)
