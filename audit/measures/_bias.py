"""Data bias: representation against reference shares, missingness by group, proxies, distributions.

Group counts and base rates come from the group statistics (``_evaluate``);
this module adds what needs the feature columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..inputs._data import category_text, is_numeric_feature
from .._errors import AuditError
from ..inputs._groups import GroupIndex
from ..statistics._cells import to_groups

__all__ = ["ProxyAssociation", "proxy_associations", "cramers_v", "mutual_information", "binned_balanced_accuracy", "RepresentationTest", "representation_tests",
           "representation_test", "Missingness", "missingness", "ProxyModel", "proxy_models", "DistributionGap",
           "distribution_gaps", "DataBias"]

_NUMERIC_BINS = 10
_MAX_CATEGORIES = 50


@dataclass(frozen=True)
class ProxyAssociation:
    """Cramér's V between one feature and one sensitive attribute (0 none, 1 one determines the other)."""

    feature: str
    attribute: str
    cramers_v: float
    mutual_information: float
    balanced_accuracy: float
    chance: float


def _codes(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both label arrays as dense integer codes."""
    return tuple(np.unique(x, return_inverse=True)[1].reshape(-1) for x in (a, b))  # type: ignore[return-value]


def _contingency(ia: np.ndarray, ib: np.ndarray, shape: tuple[int, int] | None = None) -> np.ndarray:
    """Counts of each (code of a, code of b) pair."""
    r, c = shape or (int(ia.max()) + 1, int(ib.max()) + 1)
    return np.bincount(ia * c + ib, minlength=r * c).reshape(r, c).astype(float)


def binned_balanced_accuracy(a: np.ndarray, b: np.ndarray, *, folds: int = 3, seed: int = 0) -> float:
    """Cross-validated balanced accuracy of predicting ``b`` from the bins of ``a`` alone.

    On each training fold every bin learns the class it is most typical of
    (largest count over the class's total, the rule that maximises balanced
    accuracy); the held-out fold is scored with it. Bins unseen in training
    predict the overall most typical class.

    Examples
    --------
    >>> a = np.array(["x", "y"] * 30); b = np.array([0, 1] * 30)
    >>> binned_balanced_accuracy(a, b)
    1.0
    >>> binned_balanced_accuracy(np.array(["x"] * 60), b)
    0.5
    """
    ia, ib = _codes(a, b)
    r, c = ia.max() + 1, ib.max() + 1
    if c < 2:
        return 1.0
    fold = np.random.default_rng(seed).permutation(len(ia)) % folds
    scores = []
    for k in range(folds):
        train, test = fold != k, fold == k
        table = _contingency(ia[train], ib[train], shape=(r, c))
        share = table / np.maximum(table.sum(axis=0, keepdims=True), 1)
        predicted = np.argmax(share, axis=1)
        hits = predicted[ia[test]] == ib[test]
        # Recall of each class present in the fold, from two bincounts instead of one mask per class.
        size = np.bincount(ib[test], minlength=c)
        recall = np.bincount(ib[test], weights=hits, minlength=c)[size > 0] / size[size > 0]
        scores.append(np.mean(recall))
    return float(np.mean(scores))


def cramers_v(a: np.ndarray, b: np.ndarray) -> float:
    """Cramér's V of two label arrays, from their contingency table.

    Examples
    --------
    >>> cramers_v(np.array(["x", "x", "y", "y"]), np.array([0, 0, 1, 1]))
    1.0
    >>> cramers_v(np.array(["x", "y", "x", "y"]), np.array([0, 0, 1, 1]))
    0.0
    """
    table = _contingency(*_codes(a, b))
    r, c = table.shape
    if min(r, c) < 2:
        return 0.0
    n = table.sum()
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / n
    chi2 = ((table - expected) ** 2 / expected).sum()
    return float(np.sqrt(chi2 / (n * (min(r, c) - 1))))


def _text_codes(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Each row's code among the column's sorted text levels (missing values as ``"<missing>"``), and the levels.

    The levels of :func:`audit.inputs._data.category_text`, but only the distinct values are turned into text.
    """
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    # "<missing>" goes last so that the missing rows' code -1 picks it.
    text = np.append(category_text(pd.Series(uniques)).to_numpy(dtype=object), "<missing>").astype(str)
    levels, inverse = np.unique(text, return_inverse=True)
    return inverse[codes], levels


def _as_labels(column: pd.Series) -> np.ndarray:
    """Integer bin labels of a feature: deciles of numbers, else its 50 most frequent values and the rest pooled.

    Only which rows share a label matters to the association measures, so the labels are codes, not text.
    """
    if is_numeric_feature(column) and column.nunique() > _NUMERIC_BINS:
        bins = pd.qcut(column, _NUMERIC_BINS, labels=False, duplicates="drop")
        return bins.astype("float").fillna(-1).to_numpy()
    codes, levels = _text_codes(column)
    # value_counts of the codes orders and breaks ties as that of the text does: one code per text, same rows.
    top = pd.Series(codes).value_counts().index[:_MAX_CATEGORIES].to_numpy()
    return np.where(np.isin(codes, top), codes, len(levels))


def _sorted_codes(labels: pd.Series) -> np.ndarray:
    """Codes of a label column in the sorted order of its text, so ties resolve as on the text itself."""
    return np.unique(labels.astype(str).to_numpy(), return_inverse=True)[1].reshape(-1)


def proxy_associations(frame: pd.DataFrame, *, features: tuple[str, ...], groups: GroupIndex,
                       seed: int = 0) -> tuple[ProxyAssociation, ...]:
    """Each feature (numerics in deciles) against each sensitive attribute, strongest first.

    Cramér's V and mutual information from the contingency table, and the
    3-fold cross-validated balanced accuracy of predicting the attribute from
    the feature's bins.
    """
    # Every attribute's labels are coded once, not once per feature.
    targets = {attr: _sorted_codes(groups.labels[attr]) for attr in groups.attributes}
    out = []
    for feature in features:
        if feature in groups.attributes:
            continue
        labels = _as_labels(frame[feature])
        for attr, target in targets.items():
            out.append(ProxyAssociation(feature=feature, attribute=attr, cramers_v=cramers_v(labels, target),
                                        mutual_information=mutual_information(labels, target),
                                        balanced_accuracy=binned_balanced_accuracy(labels, target, seed=seed),
                                        chance=1 / (int(target.max()) + 1)))
    return tuple(sorted(out, key=lambda p: -p.cramers_v))


@dataclass(frozen=True)
class RepresentationTest:
    """Observed group shares against reference shares (e.g. census), with a chi-square goodness-of-fit test.

    Groups of the data the reference does not name share the reference's remaining share: one such group
    keeps its own name (a group called "Other" stays "Other"); two or more are pooled as ``"(other)"``,
    and ``pooled`` names them (empty when no group was pooled).
    """

    attribute: str
    groups: tuple[str, ...]
    observed: tuple[int, ...]
    observed_share: tuple[float, ...]
    reference_share: tuple[float, ...]
    statistic: float
    p_value: float
    most_under_represented: str
    pooled: tuple[str, ...] = ()


#: The name of the pooled remainder, when two or more groups of the data are not in the reference.
OTHER = "(other)"


def representation_test(*, attribute: str, counts: dict[str, int], reference: dict[str, float]) -> RepresentationTest:
    """Chi-square goodness of fit of group counts to reference shares.

    Examples
    --------
    >>> t = representation_test(attribute="sex", counts={"F": 30, "M": 70}, reference={"F": 0.5, "M": 0.5})
    >>> round(t.statistic, 1), t.most_under_represented
    (16.0, 'F')
    """
    from scipy.stats import chisquare

    total = sum(counts.values())
    named = [g for g in reference if g in counts or reference[g] > 0]
    other = [g for g in counts if g not in reference]
    # The remainder's name: the one group it holds, else the pooled label (made unique against real groups,
    # so a group called "(other)" is never mistaken for the pool).
    pool = OTHER
    while pool in counts or pool in reference:
        pool = f"({pool})"
    remainder = other[0] if len(other) == 1 else pool
    groups = [*named, *([remainder] if other or sum(reference.values()) < 1 - 1e-9 else [])]
    observed = np.array([counts.get(g, 0) for g in named] + ([sum(counts[g] for g in other)] if len(groups) > len(named) else []),
                        dtype=float)
    shares = np.array([reference[g] for g in named] + ([1 - sum(reference.values())] if len(groups) > len(named) else []))
    shares = np.maximum(shares, 1e-12)
    expected = shares / shares.sum() * total
    statistic, p = chisquare(observed, expected)
    ratio = observed / expected
    return RepresentationTest(attribute=attribute, groups=tuple(groups), observed=tuple(int(o) for o in observed),
                              observed_share=tuple(float(o / total) for o in observed),
                              reference_share=tuple(float(s) for s in shares / shares.sum()),
                              statistic=float(statistic), p_value=float(p),
                              most_under_represented=groups[int(np.argmin(ratio))],
                              pooled=tuple(other) if len(other) > 1 else ())


def representation_tests(*, reference_shares: dict[str, dict[str, float]], counts: dict[str, dict[str, int]],
                         sensitive: list[str]) -> tuple[RepresentationTest, ...]:
    """One :func:`representation_test` per attribute of ``checks.bias.reference_shares``.

    ``counts`` maps each grouping to its group counts; an attribute it lacks is bad config.

    Examples
    --------
    >>> [t.attribute for t in representation_tests(reference_shares={"sex": {"F": 0.5}},
    ...     counts={"sex": {"F": 30, "M": 70}}, sensitive=["sex"])]
    ['sex']
    """
    tests = []
    for attribute, shares in reference_shares.items():
        if attribute not in counts:
            raise AuditError(f"`checks.bias.reference_shares` must name sensitive attributes; got {attribute!r}. "
                             f"Sensitive: {', '.join(sensitive)}.")
        tests.append(representation_test(attribute=attribute, counts=counts[attribute], reference=shares))
    return tuple(tests)


@dataclass(frozen=True)
class Missingness:
    """Share of missing values of one feature in each group of one attribute, and the largest gap."""

    feature: str
    attribute: str
    rates: dict[str, float]
    difference: float
    groups: tuple[str, str]


def missingness(missing_by_leaf: np.ndarray, rows_by_leaf: np.ndarray, *, features: tuple[str, ...],
                groups: GroupIndex, min_group_size: int) -> tuple[Missingness, ...]:
    """Missing rates per group from per-leaf counts (additive, so exact over every row), largest gap first."""
    out = []
    for grouping in groups.groupings:
        if len(grouping.attributes) != 1:
            continue
        rows = to_groups(rows_by_leaf, grouping.leaf_group, len(grouping.groups))
        missing = to_groups(missing_by_leaf, grouping.leaf_group, len(grouping.groups), axis=0).T  # (features, groups)
        eligible = rows >= min_group_size
        if eligible.sum() < 2:
            continue
        for j, feature in enumerate(features):
            if missing[j].sum() == 0:
                continue
            rate = missing[j] / np.maximum(rows, 1)
            hi, lo = np.argmax(np.where(eligible, rate, -1)), np.argmin(np.where(eligible, rate, 2))
            out.append(Missingness(feature=feature, attribute=grouping.name,
                                   rates={g: float(r) for g, r, ok in zip(grouping.groups, rate, eligible) if ok},
                                   difference=float(rate[hi] - rate[lo]),
                                   groups=(grouping.groups[hi], grouping.groups[lo])))
    return tuple(sorted(out, key=lambda m: -m.difference))


def mutual_information(a: np.ndarray, b: np.ndarray) -> float:
    """Mutual information (nats) of two label arrays, from their contingency table.

    Examples
    --------
    >>> round(mutual_information(np.array([0, 0, 1, 1]), np.array(["a", "a", "b", "b"])), 4)
    0.6931
    """
    ia, ib = _codes(a, b)
    joint = _contingency(ia, ib) / len(ia)
    outer = joint.sum(axis=1, keepdims=True) @ joint.sum(axis=0, keepdims=True)
    nz = joint > 0
    return float(np.sum(joint[nz] * np.log(joint[nz] / outer[nz])))


@dataclass(frozen=True)
class ProxyModel:
    """How well features predict a sensitive attribute: cross-validated balanced accuracy (chance = 1/levels)."""

    attribute: str
    features: tuple[str, ...]
    balanced_accuracy: float
    chance: float


def proxy_models(frame: pd.DataFrame, *, features: tuple[str, ...], groups: GroupIndex, seed: int,
                 max_rows: int = 10_000) -> tuple[ProxyModel, ...]:
    """How well all features together predict each sensitive attribute: a depth-6 tree, 3-fold CV."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.tree import DecisionTreeClassifier

    from ..inputs._model import _categoricals_as_text, build_preprocessor

    rows = np.random.default_rng(seed).permutation(len(frame))[:max_rows]
    X = _categoricals_as_text(frame.iloc[rows], features)
    out = []
    for attribute in groups.attributes:
        target = groups.labels[attribute].iloc[rows].astype(str).to_numpy()
        values, counts = np.unique(target, return_counts=True)
        keep = np.isin(target, values[counts >= 3])  # stratified folds need 3 of each
        if len(np.unique(target[keep])) < 2:
            continue
        others = tuple(f for f in features if f != attribute)
        model = make_pipeline(build_preprocessor(X[list(others)], others),
                              DecisionTreeClassifier(max_depth=6, min_samples_leaf=20, random_state=seed))
        score = cross_val_score(model, X.loc[keep, list(others)], target[keep], scoring="balanced_accuracy",
                                cv=StratifiedKFold(n_splits=3, shuffle=True, random_state=seed))
        out.append(ProxyModel(attribute=attribute, features=others, balanced_accuracy=float(score.mean()),
                              chance=1 / len(np.unique(target[keep]))))
    return tuple(out)


@dataclass(frozen=True)
class DistributionGap:
    """How differently a feature is distributed in one group than in the rest of the data.

    ``measure`` is ``"smd"`` (standardised mean difference, numerics) or
    ``"tvd"`` (total variation distance of the category shares, categoricals).
    """

    feature: str
    attribute: str
    group: str
    measure: str
    value: float


def _standardised_mean_differences(values: np.ndarray, group: np.ndarray, *, groups: int) -> np.ndarray:
    """Each group's mean minus the rest's, over the pooled standard deviation ``sqrt((s_in² + s_out²) / 2)``.

    Missing values are left out of both sides; 0 where either side has fewer than two values or the pooled
    deviation is 0. Sums of squares are taken about each side's own mean (two passes), as ``np.var`` does;
    the rest's is the total's less the group's, both about their means, which stays exact in floating point
    where expanding the squares would not.
    """
    keep = ~np.isnan(values)
    v, g = values[keep], group[keep]
    n_in = np.bincount(g, minlength=groups).astype(float)
    n_all = float(len(v))
    n_out = n_all - n_in
    sum_in = np.bincount(g, weights=v, minlength=groups)
    mean_all = v.mean() if len(v) else 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_in = sum_in / n_in
        mean_out = (v.sum() - sum_in) / n_out
        ss_in = np.bincount(g, weights=(v - np.nan_to_num(mean_in)[g]) ** 2, minlength=groups)
        ss_all = float(np.sum((v - mean_all) ** 2))
        # Sum over the rest of (x - mean_out)²: over all rows, less over the group, each shifted to mean_out.
        ss_out = (ss_all + n_all * (mean_all - mean_out) ** 2) - (ss_in + n_in * (mean_in - mean_out) ** 2)
        pooled = np.sqrt((ss_in / (n_in - 1) + ss_out / (n_out - 1)) / 2)
        smd = (mean_in - mean_out) / pooled
    ok = (n_in > 1) & (n_out > 1) & (pooled > 0)
    return np.where(ok, smd, 0.0)


def _total_variation_distances(column: pd.Series, group: np.ndarray, *, groups: int) -> np.ndarray:
    """Total variation distance between each group's shares of the column's values and the rest's."""
    codes, levels = _text_codes(column)
    inside = np.bincount(group * len(levels) + codes, minlength=groups * len(levels)).reshape(groups, len(levels))
    outside = np.bincount(codes, minlength=len(levels))[None, :] - inside
    with np.errstate(invalid="ignore", divide="ignore"):
        p = inside / inside.sum(axis=1, keepdims=True)
        q = outside / outside.sum(axis=1, keepdims=True)
    return 0.5 * np.abs(p - q).sum(axis=1)


def distribution_gaps(frame: pd.DataFrame, *, features: tuple[str, ...], groups: GroupIndex,
                      min_group_size: int) -> tuple[DistributionGap, ...]:
    """For each feature and attribute, the group whose distribution differs most from the rest.

    Groups need ``min_group_size`` rows inside and outside. Numbers are compared by standardised mean
    difference, other columns by total variation distance; the largest in absolute value is kept (the
    first in the groups' sorted order when equal to 1e-12).
    """
    out = []
    for attribute in groups.attributes:
        names, group, sizes = np.unique(groups.labels[attribute].astype(str).to_numpy(), return_inverse=True,
                                        return_counts=True)
        group = group.reshape(-1)
        eligible = (sizes >= min_group_size) & (len(group) - sizes >= min_group_size)
        if not eligible.any():
            continue
        for feature in features:
            if feature == attribute:
                continue
            column = frame[feature]
            if is_numeric_feature(column):
                values = _standardised_mean_differences(column.to_numpy(dtype=float, na_value=np.nan), group,
                                                        groups=len(names))
                measure = "smd"
            else:
                values, measure = _total_variation_distances(column, group, groups=len(names)), "tvd"
            size = np.where(eligible, np.abs(values), -np.inf)
            # The first of the largest: with two groups, each is the other's rest and their gaps are equal
            # but for rounding, so values within 1e-12 of the largest count as equal to it.
            best = int(np.argmax(size >= size.max() * (1 - 1e-12)))
            out.append(DistributionGap(feature=feature, attribute=attribute, group=str(names[best]),
                                       measure=measure, value=float(values[best])))
    return tuple(sorted(out, key=lambda d: -abs(d.value)))


@dataclass(frozen=True)
class DataBias:
    """All data bias results that need feature columns (group counts and base rates live in the evaluation)."""

    representation_tests: tuple[RepresentationTest, ...]
    missingness: tuple[Missingness, ...]
    proxies: tuple[ProxyAssociation, ...]
    proxy_models: tuple[ProxyModel, ...]
    distributions: tuple[DistributionGap, ...]
