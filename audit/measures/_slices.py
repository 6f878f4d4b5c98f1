"""Slice discovery: conjunctions of feature predicates where the model does significantly worse.

Every feature is coded once as small integers: a categorical by value, a numeric by quantile bin, a
missing value as its own code. A slice of order k is a conjunction of k predicates on k different
features; the rows, supports and errors of every slice of a feature pair or triple come from one
``np.bincount`` on the combined (mixed-radix) code, never from a loop over rows.

The search is SliceLine's (Sagadeeva and Boehm, SIGMOD 2021), level by level:

* score ``sc = w * (rate / overall_rate - 1) - (1 - w) * (M / m - 1)`` trades the slice's error rate
  against its size (``m`` rows in the metric's denominator out of ``M``);
* a slice is expanded only when it has at least ``min_size`` rows (children are never larger) and the upper
  bound of any child's score, from the slice's size and error sum, can beat the current top-k;
* a slice of order k is evaluated only when all of its k parents of order k - 1 were expanded, and is
  dropped when it holds exactly the rows of a parent (the same slice, described twice).

Each evaluated slice is tested against the rest of the rows with a one-sided Fisher exact test (the
slice's errors given its size and the total errors are hypergeometric under "no worse than the rest"):
exact at every count, where a z-test at 30 rows and rare errors rejects several times too often. The
pruning decides by the errors which slices are evaluated, so adjusting over the evaluated slices alone
would count too few hypotheses: the Benjamini-Hochberg family is every slice the search *could* have
evaluated (every conjunction with at least ``min_size`` rows in the metric's denominator, counted with a
``bincount`` per feature combination), the unevaluated ones taking p = 1. Benjamini-Hochberg is monotone in
the p-values, so this rejects no more than the procedure over every candidate would: with errors
independent of every feature a slice is reported in at most ``alpha`` of searches.

Every task has a per-row error, so every metric is a rate: misclassification (``error_rate``, binary or
multiclass labels), false positives among negatives and false negatives among positives (binary), and for
regression ``absolute_error``, a row whose ``|y - yhat|`` exceeds a cut (a quantile of ``|y - yhat|`` over the
rows searched, or a threshold in the target's units).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from itertools import combinations

import numpy as np
import pandas as pd
from scipy.special import ndtri

from ..inputs._data import category_text, is_numeric_feature
from ..settings._config import SlicesConfig
from .._errors import AuditError
from ..statistics._evaluate import benjamini_hochberg

__all__ = ["SLICE_METRICS", "SLICE_METRICS_BY_TASK", "Predicate", "Slice", "SliceSearch", "check_slice_metric",
           "find_slices", "slice_mask"]

#: Metrics a slice can be worse on: each is a rate of errors among the rows it is a rate of.
SLICE_METRICS = ("error_rate", "false_positive_rate", "false_negative_rate", "absolute_error")
#: The metrics each task allows (the first is its default); the settings layer's data, one source.
SLICE_METRICS_BY_TASK = SlicesConfig.METRICS_BY_TASK
#: Refuses a metric the task has no meaning for, with the field's name: ``check_slice_metric(metric, task)``.
check_slice_metric = SlicesConfig.check_metric
_MAX_LEVELS = 50
#: A slice sharing this share of its rows with a reported one (Jaccard index) is not reported again.
_MAX_OVERLAP = 0.8


@dataclass(frozen=True)
class Predicate:
    """One condition on one feature.

    ``kind`` is ``"value"`` (``feature == value``), ``"range"`` (``low <= feature < high``, either bound
    may be open) or ``"missing"`` (the feature is missing).
    """

    feature: str
    kind: str
    text: str
    value: str | None = None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Slice:
    """A conjunction of predicates and how the model does on its rows, against the rest."""

    predicates: tuple[Predicate, ...]
    rows: int  # rows in the slice
    support: int  # rows the metric is a rate of (all rows for error_rate, negatives for the FPR, ...)
    errors: int
    value: float
    ci_low: float
    ci_high: float
    rest_value: float
    effect: float  # value - rest_value: how much worse than the rest
    z: float
    p_value: float
    p_adjusted: float
    score: float  # SliceLine score: the search's ranking

    @property
    def text(self) -> str:
        return " and ".join(p.text for p in self.predicates)


@dataclass(frozen=True)
class SliceSearch:
    """The outcome of a slice search: the top significant slices and how far the search went."""

    metric: str
    rows: int
    support: int
    overall_value: float
    features: tuple[str, ...]
    max_order: int
    order_reached: int  # highest order whose every candidate was evaluated
    complete: bool  # False when the time budget stopped the search
    seconds: float
    max_seconds: float
    min_size: int
    alpha: float
    level: float
    evaluated: int  # slices tested
    significant: int  # of which significantly worse after adjustment (with effect >= min_effect)
    slices: tuple[Slice, ...]
    task: str = "binary"
    # absolute_error only: a row is an error when |y - yhat| > cut (target units). cut_source says how the cut
    # was chosen: "quantile" (the `quantile` quantile of |y - yhat| over the rows searched) or "threshold".
    cut: float | None = None
    cut_source: str | None = None
    quantile: float | None = None
    #: Candidate slices (at least ``min_size`` rows in the metric's denominator, up to ``max_order``): the
    #: Benjamini-Hochberg family, of which ``evaluated`` were tested and the rest, pruned, count as p = 1.
    family: int = 0

    @property
    def cut_text(self) -> str:
        """How the absolute-error cut was chosen, in words ("" for the classification metrics)."""
        if self.cut is None:
            return ""
        how = (f"the {self.quantile:g} quantile of |y - yhat| over the {self.rows} rows searched"
               if self.cut_source == "quantile" else "the configured `checks.slices.threshold`")
        return f"an error is |y - yhat| > {self.cut:.4g} ({how})"


@dataclass(frozen=True)
class _Feature:
    name: str
    codes: np.ndarray  # per row, 0..L-1 a predicate, L for rows no predicate of this feature describes
    predicates: tuple[Predicate, ...]


def _num_text(x: float) -> str:
    return f"{x:.4g}"


def _encode(name: str, column: pd.Series, *, bins: int, min_size: int) -> _Feature:
    """Integer codes of one feature: values, quantile bins, missing; rare values get no predicate."""
    if is_numeric_feature(column):
        values = column.to_numpy(dtype=float, na_value=np.nan)
        missing = np.isnan(values)
        present = values[~missing]
        distinct = np.unique(present)
        if len(distinct) > bins:
            inner = np.unique(np.quantile(present, np.linspace(0, 1, bins + 1))[1:-1])
            inner = inner[inner > distinct[0]]  # an edge at the minimum would make an empty first bin
            if len(inner) == 0:  # most rows share the minimum (capital gains): split it from the rest
                inner = distinct[1:2]
            codes = np.searchsorted(inner, np.nan_to_num(values), side="right").astype(np.int64)
            preds = []
            for i in range(len(inner) + 1):
                low = float(inner[i - 1]) if i > 0 else None
                high = float(inner[i]) if i < len(inner) else None
                text = (f"{name} < {_num_text(high)}" if low is None else
                        f"{name} ≥ {_num_text(low)}" if high is None else
                        f"{_num_text(low)} ≤ {name} < {_num_text(high)}")
                preds.append(Predicate(feature=name, kind="range", text=text, low=low, high=high))
            codes[missing] = len(preds)
            preds.append(Predicate(feature=name, kind="missing", text=f"{name} is missing"))
            return _levels(name, codes, preds, min_size=min_size)
    text = category_text(column)
    codes, uniques = pd.factorize(text, sort=True)
    preds = [Predicate(feature=name, kind="missing", text=f"{name} is missing") if u == "<missing>" else
             Predicate(feature=name, kind="value", text=f"{name} = {u}", value=str(u)) for u in uniques]
    return _levels(name, codes.astype(np.int64), preds, min_size=min_size)


def _levels(name: str, codes: np.ndarray, preds: list[Predicate], *, min_size: int) -> _Feature:
    """Keep the predicates with at least ``min_size`` rows (at most ``_MAX_LEVELS``, most frequent first)."""
    counts = np.bincount(codes, minlength=len(preds))
    keep = [i for i in np.argsort(-counts, kind="stable") if counts[i] >= min_size][:_MAX_LEVELS]
    keep.sort()
    new = np.full(len(preds) + 1, len(keep), dtype=np.int64)
    new[keep] = np.arange(len(keep))
    return _Feature(name=name, codes=new[codes], predicates=tuple(preds[i] for i in keep))


def _wilson(s: np.ndarray, m: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    p = s / m
    centre = (p + z * z / (2 * m)) / (1 + z * z / m)
    half = z * np.sqrt(p * (1 - p) / m + z * z / (4 * m * m)) / (1 + z * z / m)
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def _fisher_worse(s: np.ndarray, m: np.ndarray, *, total_errors: float, total_support: float) -> np.ndarray:
    """One-sided Fisher exact p-values: P(at least ``s`` errors in a slice of ``m``) given the totals.

    Examples
    --------
    >>> from scipy.stats import fisher_exact
    >>> p = _fisher_worse(np.array([6.0]), np.array([20.0]), total_errors=10.0, total_support=100.0)
    >>> bool(np.isclose(p[0], fisher_exact([[6, 14], [4, 76]], alternative="greater").pvalue))
    True
    """
    from scipy.stats import hypergeom

    return np.clip(hypergeom.sf(s - 1, round(total_support), round(total_errors), m), 0.0, 1.0)


def _family_size(coded: list[_Feature], support: np.ndarray | None, *, total: float, min_size: int,
                 max_order: int, deadline: float) -> int:
    """How many conjunctions of up to ``max_order`` predicates have ``min_size`` to ``total`` (exclusive) support.

    One ``bincount`` per combination of features, on the rows every feature of it describes. Past the
    deadline each remaining combination counts its bound: no more cells than predicates, and no more slices
    of ``min_size`` rows than fit in its rows (a larger family is conservative).
    """
    count = 0
    for order in range(1, max_order + 1):
        for combo in combinations(range(len(coded)), order):
            sizes = [len(coded[f].predicates) for f in combo]
            if time.perf_counter() > deadline:
                count += int(min(np.prod(sizes, dtype=float), total // min_size))
                continue
            valid = np.ones(len(coded[combo[0]].codes), dtype=bool)
            code = np.zeros(len(valid), dtype=np.int64)
            for f, size in zip(combo, sizes):
                valid &= coded[f].codes < size
                code = code * size + coded[f].codes
            cells = np.bincount(code[valid], weights=None if support is None else support[valid],
                                minlength=int(np.prod(sizes)))
            count += int(np.count_nonzero((cells >= min_size) & (cells < total)))
    return count


class _Scorer:
    """SliceLine's score and its upper bound for any child slice, vectorised."""

    def __init__(self, *, total_support: float, total_errors: float, weight: float, min_size: int) -> None:
        self.M, self.S, self.w, self.min_size = total_support, total_errors, weight, min_size
        self.rate = total_errors / total_support

    def score(self, m: np.ndarray, s: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.w * ((s / m) / self.rate - 1) - (1 - self.w) * (self.M / m - 1)

    def child_bound(self, m: np.ndarray, s: np.ndarray) -> np.ndarray:
        # A child has support m' in [min_size, m] and errors s' <= min(s, m'). For fixed s the score is
        # monotone in m' on each side of m' = s, so its maximum is at one of three sizes.
        best = np.full(len(m), -np.inf)
        for size in (np.full(len(m), float(self.min_size)), np.clip(s, self.min_size, m), m.astype(float)):
            size = np.minimum(np.maximum(size, self.min_size), m)
            best = np.maximum(best, self.score(size, np.minimum(s, size)))
        return np.where(m >= self.min_size, best, -np.inf)


def _binary_rows(metric: str, y: np.ndarray, yhat: np.ndarray, cut: float | None) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y).astype(bool)
    yhat = np.asarray(yhat).astype(bool)
    if metric == "error_rate":
        return np.ones(len(y), dtype=bool), y != yhat
    if metric == "false_positive_rate":
        return ~y, ~y & yhat
    if metric == "false_negative_rate":
        return y, y & ~yhat
    raise AuditError(f"`checks.slices.metric` must be one of {', '.join(SLICE_METRICS)}; got {metric!r}.")


def _multiclass_rows(metric: str, y: np.ndarray, yhat: np.ndarray,
                     cut: float | None) -> tuple[np.ndarray, np.ndarray]:
    y, yhat = np.asarray(y), np.asarray(yhat)
    if (y.dtype.kind in "OUS") != (yhat.dtype.kind in "OUS"):  # labels as text on one side only: compare text
        y, yhat = y.astype(str), yhat.astype(str)
    return np.ones(len(y), dtype=bool), np.asarray(y != yhat, dtype=bool)


def _abs_errors(y: np.ndarray, yhat: np.ndarray) -> np.ndarray:
    return np.abs(np.asarray(y, dtype=np.float64) - np.asarray(yhat, dtype=np.float64))


def _regression_rows(metric: str, y: np.ndarray, yhat: np.ndarray,
                     cut: float | None) -> tuple[np.ndarray, np.ndarray]:
    assert cut is not None
    return np.ones(len(y), dtype=bool), _abs_errors(y, yhat) > cut


#: Which rows the metric is a rate of (``support``) and which of those are errors, by task.
_ROWS = {"binary": _binary_rows, "multiclass": _multiclass_rows, "regression": _regression_rows}


def _per_row(metric: str, y: np.ndarray, yhat: np.ndarray, *, task: str = "binary",
             cut: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Which rows the metric is a rate of (``support``) and which of those are errors."""
    return _ROWS[task](metric, y, yhat, cut)


def _cut(y: np.ndarray, yhat: np.ndarray, *, quantile: float,
         threshold: float | None) -> tuple[float, str, float | None]:
    """The absolute-error cut, how it was chosen, and the quantile (None when a threshold is given)."""
    if threshold is not None:
        return float(threshold), "threshold", None
    if not 0 < quantile < 1:
        raise AuditError(f"`checks.slices.quantile` must be in (0, 1); got {quantile!r}.")
    errors = _abs_errors(y, yhat)
    return float(np.quantile(errors, quantile)) if len(errors) else float("nan"), "quantile", quantile


def find_slices(frame: pd.DataFrame, *, y: np.ndarray, yhat: np.ndarray, features: tuple[str, ...] | list[str],
                metric: str | None = None, max_order: int = 3, min_size: int = 100, bins: int = 4,
                alpha: float = 0.05, top_k: int = 10, min_effect: float = 0.0, score_weight: float = 0.95,
                level: float = 0.95, max_seconds: float = 60.0, task: str = "binary", quantile: float = 0.9,
                threshold: float | None = None) -> SliceSearch:
    """Search slices (conjunctions of up to ``max_order`` predicates) significantly worse on ``metric``.

    Parameters
    ----------
    frame : DataFrame
        The rows, with the ``features`` columns.
    y, yhat : array
        True and predicted values of each row: 0/1 labels (1 = positive) for ``binary``, class labels for
        ``multiclass``, numbers for ``regression``.
    features : sequence of str
        Columns to describe slices with.
    metric : str or None
        ``error_rate`` (binary, multiclass), ``false_positive_rate``, ``false_negative_rate`` (binary) or
        ``absolute_error`` (regression); None is the task's default (``error_rate``, or ``absolute_error``).
        A metric the task has no meaning for is refused (:func:`check_slice_metric`).
    max_order : int
        Most predicates in one slice (1 to 3).
    min_size : int
        Fewest rows in the metric's denominator for a slice to be evaluated.
    bins : int
        Quantile bins of a numeric feature (a numeric with at most ``bins`` values is coded by value).
    alpha : float
        False discovery rate of the Benjamini-Hochberg procedure across all evaluated slices.
    top_k : int
        Most slices reported: the best SliceLine scores among the significant ones, leaving out
        refinements no worse than a reported slice and slices whose rows overlap a reported slice's by 80%
        or more (Jaccard index).
    min_effect : float
        Least difference between the slice's metric and the rest's to report a slice.
    score_weight : float
        SliceLine's alpha: weight of the error ratio against the slice size in the score.
    level : float
        Confidence level of each slice's Wilson interval.
    max_seconds : float
        Time budget: the search stops deepening when it is spent (``complete`` is then False).
    task : str
        ``binary``, ``multiclass`` or ``regression``: what ``y`` and ``yhat`` hold.
    quantile : float
        ``absolute_error``: the cut is this quantile of ``|y - yhat|`` over the rows searched.
    threshold : float or None
        ``absolute_error``: the cut in the target's units; when given it is used instead of ``quantile``.

    Returns
    -------
    SliceSearch

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> frame = pd.DataFrame({"a": rng.choice(["x", "y", "z"], 3000), "b": rng.normal(size=3000)})
    >>> y = rng.integers(0, 2, 3000)
    >>> yhat = np.where((frame.a == "z") & (frame.b > 0), 1 - y, y)   # wrong where a = z and b > 0
    >>> found = find_slices(frame, y=y, yhat=yhat, features=["a", "b"], min_size=50, bins=2)
    >>> found.slices[0].text, round(found.slices[0].value, 4)
    ('a = z and b ≥ -0.03743', 0.9713)

    A regression: rows whose absolute error exceeds the cut, here the 0.8 quantile of the absolute errors.

    >>> target = rng.normal(size=3000)
    >>> guess = target + rng.normal(size=3000) * np.where(frame.a == "x", 3.0, 0.5)  # worse where a = x
    >>> found = find_slices(frame, y=target, yhat=guess, features=["a"], task="regression", quantile=0.8)
    >>> found.metric, found.cut_source, bool(found.cut == np.quantile(np.abs(target - guess), 0.8))
    ('absolute_error', 'quantile', True)
    >>> found.slices[0].text
    'a = x'
    """
    started = time.perf_counter()
    if not 1 <= max_order <= 3:
        raise AuditError(f"`checks.slices.max_order` must be 1, 2 or 3; got {max_order}.")
    metric = SLICE_METRICS_BY_TASK[task][0] if metric is None and task in SLICE_METRICS_BY_TASK else metric
    check_slice_metric(str(metric), task)
    cut, cut_source, cut_quantile = (_cut(y, yhat, quantile=quantile, threshold=threshold)
                                     if metric == "absolute_error" else (None, None, None))
    support_row, error_row = _per_row(metric, y, yhat, task=task, cut=cut)
    w = support_row.astype(np.float64)
    e = error_row.astype(np.float64)
    M, S = float(w.sum()), float(e.sum())
    z_level = float(ndtri(0.5 + level / 2))
    empty = SliceSearch(metric=metric, rows=len(frame), support=int(M), overall_value=S / M if M else float("nan"),
                        features=tuple(features), max_order=max_order, order_reached=0, complete=True, seconds=0.0,
                        max_seconds=max_seconds, min_size=min_size, alpha=alpha, level=level, evaluated=0,
                        significant=0, slices=(), task=task, cut=cut, cut_source=cut_source, quantile=cut_quantile)
    if M < 2 * min_size or S == 0:
        return empty
    scorer = _Scorer(total_support=M, total_errors=S, weight=score_weight, min_size=min_size)
    coded = [_encode(f, frame[f], bins=bins, min_size=min_size) for f in features]
    coded = [c for c in coded if c.predicates]
    radix = [len(c.predicates) + 1 for c in coded]

    # Everything evaluated, for the Benjamini-Hochberg family and the final ranking.
    found_blocks: list[tuple[tuple[int, ...], np.ndarray, np.ndarray]] = []
    pool = np.empty(0)  # scores of candidates that could be reported (raw p <= alpha, effect >= min_effect)
    threshold = -np.inf
    # alive[combo] = (sorted combined codes of the slices expanded, their row counts)
    alive: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {}
    lookup: dict[tuple[int, ...], np.ndarray] = {}  # combo -> boolean table over combined codes: expanded?
    order_reached, complete = 0, True

    def combined(combo: tuple[int, ...], rows: np.ndarray | None) -> np.ndarray:
        code = np.zeros(len(frame) if rows is None else len(rows), dtype=np.int64)
        for f in combo:
            c = coded[f].codes if rows is None else coded[f].codes[rows]
            code = code * radix[f] + c
        return code

    for order in range(1, max_order + 1):
        level_combos = [c for c in combinations(range(len(coded)), order)
                        if all(len(alive.get(sub, ((),))[0]) for sub in combinations(c, order - 1))] \
            if order > 1 else [(i,) for i in range(len(coded))]
        out_of_time = False
        for combo in level_combos:
            if time.perf_counter() - started > max_seconds:
                out_of_time = True
                break
            size = int(np.prod([radix[f] for f in combo]))
            if order == 1:
                rows = None
            else:
                # Only rows inside an expanded parent of the first k-1 features can form a candidate.
                head = combo[:-1]
                keep = lookup[head][combined(head, None)] & lookup[(combo[-1],)][coded[combo[-1]].codes]
                rows = np.flatnonzero(keep)
                if len(rows) == 0:
                    continue
            code = combined(combo, rows)
            n = np.bincount(code, minlength=size)
            m = n.astype(np.float64) if metric in ("error_rate", "absolute_error") else \
                np.bincount(code, weights=w if rows is None else w[rows], minlength=size)
            s = np.bincount(code, weights=e if rows is None else e[rows], minlength=size)
            cand = np.flatnonzero(m >= min_size)
            # Per-feature codes of each candidate; the last code of a feature means "no predicate".
            parts = np.empty((len(cand), order), dtype=np.int64)
            rest = cand.copy()
            for j in range(order - 1, -1, -1):
                parts[:, j] = rest % radix[combo[j]]
                rest //= radix[combo[j]]
            ok = np.all(parts < np.array([radix[f] - 1 for f in combo]), axis=1) & (m[cand] < M)
            if order > 1:
                for drop in range(order):
                    sub = combo[:drop] + combo[drop + 1:]
                    sub_codes = np.zeros(len(cand), dtype=np.int64)
                    for j, f in enumerate(combo):
                        if j != drop:
                            sub_codes = sub_codes * radix[f] + parts[:, j]
                    codes_alive, n_alive = alive[sub]
                    pos = np.searchsorted(codes_alive, sub_codes).clip(0, len(codes_alive) - 1)
                    # All parents must have been expanded; a child with a parent's rows is that parent.
                    ok &= (codes_alive[pos] == sub_codes) & (n_alive[pos] != n[cand])
            cand = cand[ok]
            if len(cand) == 0:
                alive[combo] = (np.empty(0, np.int64), np.empty(0, np.int64))
                continue
            mc, sc_, nc = m[cand], s[cand], n[cand]
            found_blocks.append((combo, cand, np.column_stack([nc, mc, sc_])))
            score = scorer.score(mc, sc_)
            rate, rest_rate = sc_ / mc, (S - sc_) / (M - mc)
            raw = _fisher_worse(sc_, mc, total_errors=S, total_support=M)
            reportable = (raw <= alpha) & (rate - rest_rate >= min_effect) & (rate > rest_rate)
            if reportable.any():
                pool = np.sort(np.concatenate([pool, score[reportable]]))[::-1][:top_k]
                if len(pool) >= top_k:
                    threshold = pool[-1]
            if order < max_order:
                grow = scorer.child_bound(mc, sc_) > threshold
                order_codes = cand[grow]
                alive[combo] = (order_codes, nc[grow])
                table = np.zeros(size, dtype=bool)
                table[order_codes] = True
                lookup[combo] = table
        if out_of_time:
            complete = False
            break
        order_reached = order
    # A parent's expansion was decided with the threshold of its time; that only ever grows, so the
    # slices pruned later were no better.

    if not found_blocks:
        return replace(empty, order_reached=order_reached, complete=complete, seconds=time.perf_counter() - started,
                       features=tuple(c.name for c in coded))
    stats = np.concatenate([b[2] for b in found_blocks])
    n, m, s = stats[:, 0], stats[:, 1], stats[:, 2]
    rate, rest_rate = s / m, (S - s) / (M - m)
    pooled = S / M
    # The standardised difference, shown as the effect's size; the test is exact.
    z = (rate - rest_rate) / np.sqrt(pooled * (1 - pooled) * (1 / m + 1 / (M - m)))
    p = _fisher_worse(s, m, total_errors=S, total_support=M)  # one-sided: is the slice worse than the rest?
    family = max(len(p), _family_size(coded, None if metric in ("error_rate", "absolute_error") else w,
                                      total=M, min_size=min_size,
                                      max_order=order_reached if complete else min(max_order, order_reached + 1),
                                      deadline=started + max_seconds))
    p_adj = benjamini_hochberg(p, family=family)
    score = scorer.score(m, s)
    significant = np.flatnonzero((p_adj <= alpha) & (rate - rest_rate >= min_effect) & (rate > rest_rate))
    ranked = significant[np.lexsort((-m[significant], -score[significant]))]
    block_of = np.concatenate([np.full(len(b[1]), i) for i, b in enumerate(found_blocks)])
    offset = np.concatenate([[0], np.cumsum([len(b[1]) for b in found_blocks])])
    slices: list[Slice] = []
    masks: list[np.ndarray] = []
    for i in ranked:
        if len(slices) >= top_k:
            break
        combo, cand, _ = found_blocks[block_of[i]]
        code = int(cand[i - offset[block_of[i]]])
        preds = []
        for f in reversed(combo):
            code, part = divmod(code, radix[f])
            preds.append(coded[f].predicates[part])
        preds.reverse()
        # A refinement of a reported slice that is no worse than it says nothing new; nor does a slice of
        # nearly the same rows under another name (husband / married, for instance).
        if any(set(r.predicates) < set(preds) and r.value >= rate[i] for r in slices):
            continue
        mask = np.ones(len(frame), dtype=bool)
        for f, pred in zip(combo, preds):
            mask &= coded[f].codes == coded[f].predicates.index(pred)
        if any(np.count_nonzero(mask & other) / np.count_nonzero(mask | other) >= _MAX_OVERLAP for other in masks):
            continue
        masks.append(mask)
        low, high = _wilson(s[i:i + 1], m[i:i + 1], z_level)
        slices.append(Slice(predicates=tuple(preds), rows=int(n[i]), support=int(m[i]), errors=int(s[i]),
                            value=float(rate[i]), ci_low=float(low[0]), ci_high=float(high[0]),
                            rest_value=float(rest_rate[i]), effect=float(rate[i] - rest_rate[i]), z=float(z[i]),
                            p_value=float(p[i]), p_adjusted=float(p_adj[i]), score=float(score[i])))
    return SliceSearch(metric=metric, rows=len(frame), support=int(M), overall_value=S / M,
                       features=tuple(c.name for c in coded), max_order=max_order, order_reached=order_reached,
                       complete=complete, seconds=time.perf_counter() - started, max_seconds=max_seconds,
                       min_size=min_size, alpha=alpha, level=level, evaluated=len(p), significant=len(significant),
                       slices=tuple(slices), task=task, cut=cut, cut_source=cut_source, quantile=cut_quantile,
                       family=family)


def slice_mask(frame: pd.DataFrame, predicates: tuple[Predicate, ...] | list[Predicate]) -> np.ndarray:
    """Boolean mask of the rows of ``frame`` in the slice (every predicate holds).

    Examples
    --------
    >>> frame = pd.DataFrame({"a": ["x", "y", None], "b": [1.0, 5.0, 2.0]})
    >>> slice_mask(frame, [Predicate(feature="b", kind="range", text="b < 3", high=3.0)]).tolist()
    [True, False, True]
    """
    mask = np.ones(len(frame), dtype=bool)
    for p in predicates:
        col = frame[p.feature]
        if p.kind == "missing":
            mask &= col.isna().to_numpy()
        elif p.kind == "value":
            mask &= (category_text(col) == p.value).to_numpy()
        else:
            values = col.to_numpy(dtype=float, na_value=np.nan)
            inside = ~np.isnan(values)
            if p.low is not None:
                inside &= values >= p.low
            if p.high is not None:
                inside &= values < p.high
            mask &= inside
    return mask
