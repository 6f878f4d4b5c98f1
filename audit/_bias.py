"""Data bias: representation against reference shares, missingness by group, proxies, distributions.

Group counts and base rates come from the group statistics (``_evaluate``);
this module adds what needs the feature columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._data import category_text, is_numeric_feature
from ._errors import AuditError
from ._groups import GroupIndex
from ._stats import leaf_indicator

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
        per_class = [hits[ib[test] == j].mean() for j in range(c) if (ib[test] == j).any()]
        scores.append(np.mean(per_class))
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


def _as_labels(column: pd.Series) -> np.ndarray:
    if is_numeric_feature(column) and column.nunique() > _NUMERIC_BINS:
        bins = pd.qcut(column, _NUMERIC_BINS, labels=False, duplicates="drop")
        return bins.astype("float").fillna(-1).to_numpy()
    text = category_text(column)
    top = text.value_counts().index[:_MAX_CATEGORIES]
    return text.where(text.isin(top), "<other>").to_numpy(dtype=str)


def proxy_associations(frame: pd.DataFrame, *, features: tuple[str, ...], groups: GroupIndex,
                       seed: int = 0) -> tuple[ProxyAssociation, ...]:
    """Each feature (numerics in deciles) against each sensitive attribute, strongest first.

    Cramér's V and mutual information from the contingency table, and the
    3-fold cross-validated balanced accuracy of predicting the attribute from
    the feature's bins.
    """
    out = []
    for feature in features:
        if feature in groups.attributes:
            continue
        labels = _as_labels(frame[feature])
        for attr in groups.attributes:
            target = groups.labels[attr].to_numpy(dtype=str)
            out.append(ProxyAssociation(feature=feature, attribute=attr, cramers_v=cramers_v(labels, target),
                                        mutual_information=mutual_information(labels, target),
                                        balanced_accuracy=binned_balanced_accuracy(labels, target, seed=seed),
                                        chance=1 / len(np.unique(target))))
    return tuple(sorted(out, key=lambda p: -p.cramers_v))


@dataclass(frozen=True)
class RepresentationTest:
    """Observed group shares against reference shares (e.g. census), with a chi-square goodness-of-fit test.

    Groups the reference does not name are pooled as ``"(other)"`` with the remaining share.
    """

    attribute: str
    groups: tuple[str, ...]
    observed: tuple[int, ...]
    observed_share: tuple[float, ...]
    reference_share: tuple[float, ...]
    statistic: float
    p_value: float
    most_under_represented: str


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
    groups = [*named, *(["(other)"] if other or sum(reference.values()) < 1 - 1e-9 else [])]
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
                              most_under_represented=groups[int(np.argmin(ratio))])


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
        indicator = leaf_indicator(grouping.leaf_group, len(grouping.groups))
        rows = rows_by_leaf @ indicator
        missing = missing_by_leaf.T @ indicator  # (features, groups)
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

    from ._model import _categoricals_as_text, build_preprocessor

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


def distribution_gaps(frame: pd.DataFrame, *, features: tuple[str, ...], groups: GroupIndex,
                      min_group_size: int) -> tuple[DistributionGap, ...]:
    """For each feature and attribute, the group whose distribution differs most from the rest."""
    out = []
    for attribute in groups.attributes:
        labels = groups.labels[attribute].astype(str).to_numpy()
        names, sizes = np.unique(labels, return_counts=True)
        names = names[sizes >= min_group_size]
        for feature in features:
            if feature == attribute:
                continue
            column = frame[feature]
            best = None
            for group in names:
                inside = labels == group
                if (~inside).sum() < min_group_size:
                    continue
                if is_numeric_feature(column):
                    a, b = column[inside].dropna().to_numpy(float), column[~inside].dropna().to_numpy(float)
                    pooled = np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2) if len(a) > 1 and len(b) > 1 else 0.0
                    value, measure = (float((a.mean() - b.mean()) / pooled) if pooled > 0 else 0.0), "smd"
                else:
                    text = category_text(column)
                    p = text[inside].value_counts(normalize=True)
                    q = text[~inside].value_counts(normalize=True)
                    value, measure = float(0.5 * p.sub(q, fill_value=0).abs().sum()), "tvd"
                if best is None or abs(value) > abs(best.value):
                    best = DistributionGap(feature=feature, attribute=attribute, group=str(group), measure=measure,
                                           value=value)
            if best is not None:
                out.append(best)
    return tuple(sorted(out, key=lambda d: -abs(d.value)))


@dataclass(frozen=True)
class DataBias:
    """All data bias results that need feature columns (group counts and base rates live in the evaluation)."""

    representation_tests: tuple[RepresentationTest, ...]
    missingness: tuple[Missingness, ...]
    proxies: tuple[ProxyAssociation, ...]
    proxy_models: tuple[ProxyModel, ...]
    distributions: tuple[DistributionGap, ...]
