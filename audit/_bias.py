"""Data bias, first cut: how strongly each feature stands in for a sensitive attribute.

Representation and base rates come from the group statistics (``_evaluate``);
this module adds the proxy association, which needs the feature columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._groups import GroupIndex

__all__ = ["ProxyAssociation", "proxy_associations", "cramers_v"]

_NUMERIC_BINS = 10
_MAX_CATEGORIES = 50


@dataclass(frozen=True)
class ProxyAssociation:
    """Cramér's V between one feature and one sensitive attribute (0 none, 1 one determines the other)."""

    feature: str
    attribute: str
    cramers_v: float


def cramers_v(a: np.ndarray, b: np.ndarray) -> float:
    """Cramér's V of two label arrays, from their contingency table.

    Examples
    --------
    >>> cramers_v(np.array(["x", "x", "y", "y"]), np.array([0, 0, 1, 1]))
    1.0
    >>> cramers_v(np.array(["x", "y", "x", "y"]), np.array([0, 0, 1, 1]))
    0.0
    """
    _, ia = np.unique(a, return_inverse=True)
    _, ib = np.unique(b, return_inverse=True)
    ia, ib = ia.reshape(-1), ib.reshape(-1)
    r, c = ia.max() + 1, ib.max() + 1
    if min(r, c) < 2:
        return 0.0
    table = np.bincount(ia * c + ib, minlength=r * c).reshape(r, c).astype(float)
    n = table.sum()
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / n
    chi2 = ((table - expected) ** 2 / expected).sum()
    return float(np.sqrt(chi2 / (n * (min(r, c) - 1))))


def _as_labels(column: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column) \
            and column.nunique() > _NUMERIC_BINS:
        bins = pd.qcut(column, _NUMERIC_BINS, labels=False, duplicates="drop")
        return bins.astype("float").fillna(-1).to_numpy()
    text = column.astype(object).where(column.notna(), "<missing>").map(str)
    top = text.value_counts().index[:_MAX_CATEGORIES]
    return text.where(text.isin(top), "<other>").to_numpy(dtype=str)


def proxy_associations(frame: pd.DataFrame, *, features: tuple[str, ...], groups: GroupIndex) -> tuple[ProxyAssociation, ...]:
    """Cramér's V of every feature (numerics in deciles) with every sensitive attribute, strongest first."""
    out = []
    for feature in features:
        if feature in groups.attributes:
            continue
        labels = _as_labels(frame[feature])
        for attr in groups.attributes:
            out.append(ProxyAssociation(feature=feature, attribute=attr,
                                        cramers_v=cramers_v(labels, groups.labels[attr].to_numpy(dtype=str))))
    return tuple(sorted(out, key=lambda p: -p.cramers_v))
