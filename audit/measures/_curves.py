"""ROC and calibration curves and confusion counts by group, from the additive cell table.

The exact cell table holds, per leaf and distinct score, the rows of each
label and predicted label, so a group's ROC curve (positives and negatives
above every threshold), its calibration bins (rows, score sums and positives
per score bin) and its confusion counts are sums over its leaves: no second
pass over the rows.

Curves are kept for the overall population and for the groups of each single
sensitive attribute, not for intersections: those would multiply the card's
size for groups that are mostly too small to draw a stable curve, and their
metrics are in the group tables. A ROC curve is thinned to at most
``roc_points`` of its vertices (each one an exact vertex of the full curve),
enough to draw it and small enough to keep the card light.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..inputs._groups import GroupIndex
from ..statistics._cells import CellStats

__all__ = ["Confusion", "RocCurve", "CalibrationCurve", "GroupCurves", "Curves", "curves", "thin_roc"]

ROC_POINTS = 40
CALIBRATION_BINS = 10


@dataclass(frozen=True)
class Confusion:
    """Rows by true and predicted label (1 is the positive label)."""

    tn: int
    fp: int
    fn: int
    tp: int


@dataclass(frozen=True)
class RocCurve:
    """Vertices of a ROC curve, from (0, 0) to (1, 1).

    ``threshold[i]`` is the lowest score predicted positive at vertex ``i``
    (None for the first vertex, where nothing is: scikit-learn's ``inf``).
    """

    fpr: tuple[float, ...]
    tpr: tuple[float, ...]
    threshold: tuple[float | None, ...]


@dataclass(frozen=True)
class CalibrationCurve:
    """Non-empty bins of equal width on [0, 1]: mean score, share of positives and rows of each."""

    mean_score: tuple[float, ...]
    positive_rate: tuple[float, ...]
    n: tuple[int, ...]


@dataclass(frozen=True)
class GroupCurves:
    """Curves of one group; ``roc`` is None without both labels, ``calibration`` None for non-probability scores."""

    group: str
    n: int
    confusion: Confusion
    roc: RocCurve | None
    calibration: CalibrationCurve | None


@dataclass(frozen=True)
class Curves:
    """Curves overall and for each group of each single sensitive attribute."""

    overall: GroupCurves
    by_attribute: dict[str, tuple[GroupCurves, ...]]
    roc_points: int
    calibration_bins: int


def thin_roc(fpr: np.ndarray, tpr: np.ndarray, *, points: int) -> np.ndarray:
    """Indices of about ``points`` vertices spread evenly along the curve, ends included.

    Vertices are picked at equal steps of ``fpr + tpr`` (which grows from 0
    to 2 along the curve), so steep and flat stretches both keep detail.

    Examples
    --------
    >>> thin_roc(np.linspace(0, 1, 101), np.linspace(0, 1, 101), points=5).tolist()
    [0, 25, 50, 75, 100]
    """
    if len(fpr) <= points:
        return np.arange(len(fpr))
    progress = fpr + tpr
    idx = np.searchsorted(progress, np.linspace(0.0, progress[-1], points), side="left")
    # On a real ROC curve fpr + tpr grows strictly, so the last target is the last vertex; appending it
    # only matters for ties at the end.
    return np.unique(np.r_[np.minimum(idx, len(fpr) - 1), len(fpr) - 1])


def _one(cells: CellStats, mask: np.ndarray, *, group: str, score_of_rank: np.ndarray, probabilistic: bool,
         roc_points: int, calibration_bins: int) -> GroupCurves:
    count = cells.count[mask]
    y = cells.y[mask].astype(bool)
    yhat = cells.yhat[mask].astype(bool)
    confusion = Confusion(tn=int(round(count[~y & ~yhat].sum())), fp=int(round(count[~y & yhat].sum())),
                          fn=int(round(count[y & ~yhat].sum())), tp=int(round(count[y & yhat].sum())))
    rank = cells.rank[mask]
    pos = np.bincount(rank, weights=count * y, minlength=len(score_of_rank))
    neg = np.bincount(rank, weights=count * ~y, minlength=len(score_of_rank))
    seen = np.flatnonzero((pos + neg) > 0)[::-1]  # the group's distinct scores, highest first
    roc = None
    if pos.sum() > 0 and neg.sum() > 0:
        tps = np.r_[0.0, np.cumsum(pos[seen])]
        fps = np.r_[0.0, np.cumsum(neg[seen])]
        fpr, tpr = fps / fps[-1], tps / tps[-1]
        keep = thin_roc(fpr, tpr, points=roc_points)
        thresholds = np.r_[np.nan, score_of_rank[seen]]
        roc = RocCurve(fpr=tuple(float(v) for v in fpr[keep]), tpr=tuple(float(v) for v in tpr[keep]),
                       threshold=tuple(None if np.isnan(v) else float(v) for v in thresholds[keep]))
    calibration = None
    if probabilistic and count.sum() > 0:
        edges = np.linspace(0.0, 1.0, calibration_bins + 1)
        score = cells.score[mask]
        bins = np.searchsorted(edges[1:-1], score)  # scikit-learn's calibration_curve binning
        rows = np.bincount(bins, weights=count, minlength=calibration_bins)
        score_sum = np.bincount(bins, weights=count * score, minlength=calibration_bins)
        positives = np.bincount(bins, weights=count * y, minlength=calibration_bins)
        filled = rows > 0
        calibration = CalibrationCurve(mean_score=tuple(float(v) for v in score_sum[filled] / rows[filled]),
                                       positive_rate=tuple(float(v) for v in positives[filled] / rows[filled]),
                                       n=tuple(int(round(v)) for v in rows[filled]))
    return GroupCurves(group=group, n=int(round(count.sum())), confusion=confusion, roc=roc, calibration=calibration)


def curves(cells: CellStats, groups: GroupIndex, *, probabilistic: bool, roc_points: int = ROC_POINTS,
           calibration_bins: int = CALIBRATION_BINS) -> Curves:
    """ROC curve, calibration bins and confusion counts overall and by group of each attribute.

    Parameters
    ----------
    cells : CellStats
        The exact (not coarsened) cell table of the evaluation rows.
    groups : GroupIndex
        Groupings; only those of a single attribute get curves.
    probabilistic : bool
        Whether scores are probabilities (else there is no calibration curve).
    roc_points : int
        Most vertices kept of each ROC curve.
    calibration_bins : int
        Bins of equal width on [0, 1], as scikit-learn's ``calibration_curve(strategy="uniform")``.

    Examples
    --------
    >>> from audit.statistics._cells import cell_stats
    >>> from audit.inputs._groups import build_groups
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"sex": ["F", "F", "M", "M"]})
    >>> g = build_groups(frame, sensitive=["sex"], bins={}, intersections=1, source="t")
    >>> cells = cell_stats(leaf=g.row_leaf, score=np.array([.2, .7, .4, .9]), y=np.array([0, 1, 1, 1]),
    ...                    yhat=np.array([0, 1, 0, 1]), n_leaves=len(g.leaf_levels))
    >>> c = curves(cells, g, probabilistic=True)
    >>> c.overall.confusion, c.overall.roc.tpr
    (Confusion(tn=1, fp=0, fn=1, tp=2), (0.0, 0.3333333333333333, 0.6666666666666666, 1.0, 1.0))
    >>> [x.roc is None for x in c.by_attribute["sex"]]  # group M has no negatives
    [False, True]
    """
    score_of_rank = np.empty(cells.n_scores)
    score_of_rank[cells.rank] = cells.score
    s = cells.score
    probabilistic = bool(probabilistic and (len(s) == 0 or (s.min() >= 0 and s.max() <= 1)))
    kw = dict(score_of_rank=score_of_rank, probabilistic=probabilistic, roc_points=roc_points,
              calibration_bins=calibration_bins)
    overall = _one(cells, np.ones(len(cells.count), dtype=bool), group="all rows", **kw)
    by_attribute = {}
    for grouping in groups.groupings:
        if len(grouping.attributes) != 1:
            continue
        gid = grouping.leaf_group[cells.leaf]
        by_attribute[grouping.name] = tuple(_one(cells, gid == i, group=name, **kw)
                                            for i, name in enumerate(grouping.groups))
    return Curves(overall=overall, by_attribute=by_attribute, roc_points=roc_points,
                  calibration_bins=calibration_bins)
