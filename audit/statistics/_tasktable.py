"""Group metrics of the multiclass and regression audits, from additive per-leaf sums.

Each task reduces its rows to a table of sums per leaf (``(leaves, k)``: counts and sums of errors for
regression, confusion counts for multiclass) and to bootstrap replicates of that table
(``(replicates, leaves, k)``). Groups are unions of leaves, so every group of every attribute and
intersection, and the rest of the rows beside it, are matrix products of these two arrays. Metrics
are functions of the summed columns; nothing here sees a row.

Returns the same frozen pieces as the binary engine (:class:`~audit.statistics._evaluate.Estimate`,
:class:`~audit.statistics._evaluate.RestComparison`, :class:`~audit.statistics._evaluate.FairnessValue`), so the performance
and fairness checks judge them unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ._evaluate import (Estimate, FairnessValue, RestComparison, _between, _intervals, _worst, benjamini_hochberg,
                        wald_p_value)
from ..inputs._groups import GroupIndex

__all__ = ["TaskMetric", "TaskFairness", "TaskGrouping", "TaskEvaluation", "evaluate_table", "row_poisson_sums"]

Unpack = Callable[[np.ndarray], dict[str, np.ndarray]]


@dataclass(frozen=True)
class TaskMetric:
    """A metric of summed columns: ``compute(sums)`` maps arrays ``(..., groups)`` to ``(..., groups)``."""

    name: str
    direction: str  # "higher", "lower" or "none"
    description: str
    compute: Callable[[dict[str, np.ndarray]], np.ndarray]


@dataclass(frozen=True)
class TaskFairness:
    """A between-group measure over groups with enough rows.

    ``kind`` is ``"difference"`` (largest minus smallest; 0 is parity), ``"ratio"`` (smallest over largest;
    1 is parity) or ``"max"`` (the largest group value, e.g. the worst group's loss). With several base
    metrics (one per class, one-vs-rest) the worst of them is taken.
    """

    name: str
    kind: str
    base: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class TaskGrouping:
    grouping: str
    attributes: tuple[str, ...]
    groups: tuple[str, ...]
    n: tuple[int, ...]
    eligible: tuple[bool, ...]
    metrics: dict[str, tuple[Estimate, ...]]
    versus_rest: dict[str, tuple[RestComparison, ...]]


@dataclass(frozen=True)
class TaskEvaluation:
    """Metrics overall and by group, fairness by grouping; the shape the checks read."""

    overall: dict[str, Estimate]
    n: int
    by_grouping: tuple[TaskGrouping, ...]
    fairness: tuple[FairnessValue, ...]
    replicates: int
    level: float


def row_poisson_sums(leaf: np.ndarray, values: np.ndarray, *, n_leaves: int, replicates: int,
                     seed: int, chunk: int = 50) -> np.ndarray:
    """Per-leaf sums of ``values`` (rows x k) under Poisson(1) row weights: ``(replicates, leaves, k)``.

    One seeded stream of weights, drawn ``chunk`` replicates at a time; each replicate is one sparse
    product, so the cost is ``replicates x rows`` weights and no copy of the data.
    """
    from scipy import sparse

    rows, k = values.shape
    columns = (leaf[:, None] * k + np.arange(k)[None, :]).ravel()
    design = sparse.csr_matrix((values.ravel(), (np.repeat(np.arange(rows), k), columns)), shape=(rows, n_leaves * k))
    rng = np.random.default_rng(seed)
    out = np.empty((replicates, n_leaves, k))
    for start in range(0, replicates, chunk):
        stop = min(replicates, start + chunk)
        weights = rng.poisson(1.0, size=(stop - start, rows)).astype(np.float64)
        out[start:stop] = np.asarray(design.T @ weights.T).T.reshape(stop - start, n_leaves, k)
    return out


def _one_hot(leaf_group: np.ndarray, n_groups: int) -> np.ndarray:
    out = np.zeros((n_groups, len(leaf_group)))
    out[leaf_group, np.arange(len(leaf_group))] = 1.0
    return out


def _num(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _fairness_stat(values: dict[str, np.ndarray], spec: TaskFairness, mask: np.ndarray) -> np.ndarray:
    """The measure per row of ``values`` (each ``(rows, groups)``) over the groups in ``mask``."""
    parts = []
    for base in spec.base:
        v = np.atleast_2d(values[base])[:, mask]
        if spec.kind == "max":
            finite = np.isfinite(v)
            parts.append(np.where(finite.any(axis=1), np.max(np.where(finite, v, -np.inf), axis=1, initial=-np.inf),
                                  np.nan))
        else:
            parts.append(_between(v, spec.kind))
    return _worst(np.column_stack(parts), "ratio" if spec.kind == "ratio" else "difference")


def evaluate_table(*, leaf: np.ndarray, reps: np.ndarray, unpack: Unpack, metrics: dict[str, TaskMetric],
                   fairness: dict[str, TaskFairness], groups: GroupIndex, level: float,
                   min_group_size: int) -> TaskEvaluation:
    """Every metric overall and by group with intervals, each group against the rest, and fairness.

    Parameters
    ----------
    leaf : ndarray, shape (leaves, k)
        Exact per-leaf sums.
    reps : ndarray, shape (replicates, leaves, k)
        The same sums under bootstrap weights.
    unpack : callable
        Turns an array ``(..., groups, k)`` into named sums ``(..., groups)`` (or more trailing axes).
    metrics, fairness : dict
        The task's registries.
    groups : GroupIndex
        Groupings of the leaves.
    level : float
        Interval coverage; ``1 - level`` is also the false discovery rate of group-versus-rest tests.
    min_group_size : int
        Groups with fewer rows are reported but left out of fairness measures and tests.
    """
    total = leaf.sum(axis=0)
    total_reps = reps.sum(axis=1)

    def values(sums: np.ndarray) -> dict[str, np.ndarray]:
        named = unpack(sums)
        with np.errstate(invalid="ignore", divide="ignore"):
            return {m: np.asarray(spec.compute(named), dtype=np.float64) for m, spec in metrics.items()}

    def estimates(exact: dict[str, np.ndarray], rep: dict[str, np.ndarray], n: np.ndarray) -> dict[str, tuple]:
        out = {}
        for m in metrics:
            lo, hi = _intervals(rep[m], level)
            out[m] = tuple(Estimate(value=_num(exact[m][g]),
                                    ci_low=_num(lo[g]) if _num(exact[m][g]) is not None else None,
                                    ci_high=_num(hi[g]) if _num(exact[m][g]) is not None else None,
                                    n=int(round(n[g])), reason=None if np.isfinite(exact[m][g]) else "undefined "
                                    "for this group (no rows of a class it needs)", support=int(round(n[g])))
                           for g in range(len(n)))
        return out

    overall_exact = values(total[None, :])
    overall_reps = values(total_reps[:, None, :])
    n_total = float(unpack(total[None, :])["n"][0])
    overall = {m: e[0] for m, e in estimates(overall_exact, overall_reps, np.array([n_total])).items()}

    pending = []
    for grouping in groups.groupings:
        hot = _one_hot(grouping.leaf_group, len(grouping.groups))
        g_exact = hot @ leaf
        g_reps = np.einsum("gl,rlk->rgk", hot, reps)
        exact, rep = values(g_exact), values(g_reps)
        rest_exact, rest_rep = values(total[None, :] - g_exact), values(total_reps[:, None, :] - g_reps)
        n = unpack(g_exact)["n"]
        eligible = n >= min_group_size
        raw = {}
        for m in metrics:
            diff = exact[m] - rest_exact[m]
            diff_reps = rep[m] - rest_rep[m]
            lo, hi = _intervals(diff_reps, level)
            p = np.full(len(n), np.nan)
            for g in range(len(n)):
                if eligible[g] and np.isfinite(diff[g]) and np.isfinite(lo[g]):
                    p[g] = wald_p_value(float(diff[g]), diff_reps[:, g])
            raw[m] = (diff, lo, hi, p)
        pending.append((grouping, n, eligible, estimates(exact, rep, n), exact, rep, raw))

    # Benjamini-Hochberg across every group of every grouping, per metric (as the binary engine does).
    adjusted: dict[str, list[np.ndarray]] = {}
    for m in metrics:
        flat = np.concatenate([item[6][m][3] for item in pending]) if pending else np.array([])
        adj = benjamini_hochberg(flat)
        sizes = np.cumsum([0] + [len(item[1]) for item in pending])
        adjusted[m] = [adj[sizes[i]:sizes[i + 1]] for i in range(len(pending))]

    by_grouping, fair = [], []
    for i, (grouping, n, eligible, est, exact, rep, raw) in enumerate(pending):
        versus = {}
        for m in metrics:
            diff, lo, hi, p = raw[m]
            versus[m] = tuple(RestComparison(
                difference=_num(diff[g]), ci_low=_num(lo[g]) if _num(diff[g]) is not None else None,
                ci_high=_num(hi[g]) if _num(diff[g]) is not None else None, p_value=_num(p[g]),
                p_adjusted=_num(adjusted[m][i][g]),
                significant=bool(np.isfinite(adjusted[m][i][g]) and adjusted[m][i][g] <= 1 - level))
                for g in range(len(n)))
        by_grouping.append(TaskGrouping(grouping=grouping.name, attributes=grouping.attributes,
                                        groups=grouping.groups, n=tuple(int(round(x)) for x in n),
                                        eligible=tuple(bool(e) for e in eligible), metrics=est, versus_rest=versus))
        names = np.asarray(grouping.groups, dtype=object)
        excluded = tuple(str(x) for x in names[~eligible])
        for spec in fairness.values():
            value = _num(_fairness_stat(exact, spec, eligible)[0]) if eligible.sum() >= (1 if spec.kind == "max" else 2) \
                else None
            if value is None:
                fair.append(FairnessValue(grouping=grouping.name, metric=spec.name, kind=spec.kind, value=None,
                                          ci_low=None, ci_high=None, groups=None, base_metric=None, n_groups=0,
                                          excluded_groups=excluded, reason="fewer than two groups with enough "
                                          "rows and a defined " + " or ".join(spec.base[:3])
                                          + (" ..." if len(spec.base) > 3 else "")))
                continue
            deciding = next(b for b in spec.base
                            if np.isclose(_fairness_stat(exact, TaskFairness(spec.name, spec.kind, (b,), ""),
                                                         eligible)[0], value, rtol=0, atol=1e-15))
            row = exact[deciding][eligible]
            pair = (str(names[eligible][np.nanargmax(row)]), str(names[eligible][np.nanargmin(row)]))
            lo, hi = (None, None)
            if len(reps):
                lo_a, hi_a = _intervals(_fairness_stat(rep, spec, eligible)[:, None], level)
                lo, hi = _num(lo_a[0]), _num(hi_a[0])
            fair.append(FairnessValue(grouping=grouping.name, metric=spec.name, kind=spec.kind, value=value,
                                      ci_low=lo, ci_high=hi, groups=pair, base_metric=deciding,
                                      n_groups=int(eligible.sum()), excluded_groups=excluded))
    return TaskEvaluation(overall=overall, n=int(round(n_total)), by_grouping=tuple(by_grouping),
                          fairness=tuple(fair), replicates=int(reps.shape[0]), level=level)
