"""Sensitive groups: banding, explicit missing groups, intersections, leaf codes.

Every row gets one *leaf* code: its combination of levels over all sensitive
attributes. Any group of any attribute or intersection is a union of leaves,
so statistics are computed once per leaf and summed (design §5).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

from ._errors import AuditError

__all__ = ["MISSING", "GroupIndex", "Grouping", "build_groups", "band_labels"]

#: Label of the group of rows whose sensitive value is missing.
MISSING = "missing"
_MAX_LEVELS = 50


def _fmt(edge: float) -> str:
    return str(int(edge)) if float(edge).is_integer() else f"{edge:g}"


def band_labels(edges: list[float]) -> list[str]:
    """Labels of the half-open bands ``[a, b)`` between consecutive edges.

    Examples
    --------
    >>> band_labels([0, 25, 45])
    ['0-25', '25-45']
    """
    return [f"{_fmt(a)}-{_fmt(b)}" for a, b in zip(edges, edges[1:])]


@dataclass(frozen=True)
class Grouping:
    """One attribute or intersection of attributes, e.g. ``"sex&race"``.

    ``leaf_group[leaf]`` is the index in ``groups`` of the group holding that leaf.
    """

    name: str
    attributes: tuple[str, ...]
    groups: tuple[str, ...]
    leaf_group: np.ndarray


@dataclass(frozen=True)
class GroupIndex:
    """Leaf codes of rows and the groupings built on them."""

    attributes: tuple[str, ...]
    levels: tuple[tuple[str, ...], ...]
    leaf_levels: np.ndarray  # (leaves, attributes) level codes
    row_leaf: np.ndarray  # leaf index per row
    groupings: tuple[Grouping, ...]
    labels: pd.DataFrame  # per row, the label of each sensitive attribute

    def grouping(self, name: str) -> Grouping:
        return next(g for g in self.groupings if g.name == name)


def _labels_of(column: pd.Series, name: str, edges: list[float] | None, source: str) -> tuple[np.ndarray, list[str]]:
    missing = column.isna().to_numpy()
    if edges is not None:
        if not pd.api.types.is_numeric_dtype(column):
            raise AuditError(f"`data.bins.{name}` needs a numeric column; column {name!r} of {source} holds "
                             f"{column.dtype} values such as {column.dropna().iloc[0]!r}. Remove the bins.")
        values = column.to_numpy(dtype=float, na_value=np.nan)
        names = band_labels(edges)
        below = f"<{_fmt(edges[0])}"
        above = f">={_fmt(edges[-1])}"
        idx = np.searchsorted(np.asarray(edges, dtype=float), values, side="right") - 1
        text = np.empty(len(values), dtype=object)
        inside = (idx >= 0) & (idx < len(names))
        text[inside] = np.asarray(names, dtype=object)[idx[inside]]
        text[(idx < 0) & ~missing] = below
        text[(idx >= len(names)) & ~missing] = above
        text[missing] = MISSING
        order = [below, *names, above, MISSING]
        present = set(text)
        return text, [level for level in order if level in present]
    distinct = column.dropna().unique()
    if len(distinct) > _MAX_LEVELS:
        hint = (f"add `data.bins.{name}: [edges]` to band it" if pd.api.types.is_numeric_dtype(column)
                else "group its values into fewer categories before the audit")
        raise AuditError(f"`data.sensitive` column {name!r} of {source} has {len(distinct)} distinct values "
                         f"(at most {_MAX_LEVELS} make groups); {hint}.")
    text = column.astype(object).where(~missing, MISSING).map(str).to_numpy(dtype=object)
    try:
        ordered = [str(v) for v in sorted(distinct)]
    except TypeError:
        ordered = sorted(str(v) for v in distinct)
    if missing.any():
        ordered.append(MISSING)
    return text, list(dict.fromkeys(ordered))


def build_groups(frame: pd.DataFrame, *, sensitive: list[str], bins: dict[str, list[float]],
                 intersections: int, source: str) -> GroupIndex:
    """Label rows by sensitive attribute and index all groupings up to ``intersections``.

    Parameters
    ----------
    frame : DataFrame
        Evaluation data holding the sensitive columns.
    sensitive : list of str
        Sensitive columns, in the order they are reported.
    bins : dict
        Band edges of continuous sensitive columns; bands are ``[a, b)``.
    intersections : int
        Highest order of intersections (1 means single attributes only).
    source : str
        Data file name, for error messages.

    Examples
    --------
    >>> df = pd.DataFrame({"sex": ["F", "M", "F"], "age": [20, 50, None]})
    >>> gi = build_groups(df, sensitive=["sex", "age"], bins={"age": [0, 30, 120]},
    ...                   intersections=2, source="t.csv")
    >>> [g.name for g in gi.groupings]
    ['sex', 'age', 'sex&age']
    >>> gi.grouping("sex&age").groups
    ('F&0-30', 'F&missing', 'M&30-120')
    """
    texts, levels, codes = {}, [], []
    for name in sensitive:
        text, lv = _labels_of(frame[name], name, bins.get(name), source)
        lookup = {level: i for i, level in enumerate(lv)}
        texts[name] = text
        levels.append(tuple(lv))
        codes.append(np.fromiter((lookup[t] for t in text), dtype=np.int64, count=len(text)))
    radix = np.array([len(lv) for lv in levels], dtype=np.int64)
    combined = np.zeros(len(frame), dtype=np.int64)
    for code, r in zip(codes, radix):
        combined = combined * r + code
    leaf_codes, row_leaf = np.unique(combined, return_inverse=True)
    leaf_levels = np.empty((len(leaf_codes), len(sensitive)), dtype=np.int64)
    rest = leaf_codes.copy()
    for j in range(len(sensitive) - 1, -1, -1):
        leaf_levels[:, j] = rest % radix[j]
        rest //= radix[j]
    groupings = []
    for order in range(1, min(intersections, len(sensitive)) + 1):
        for attrs in combinations(range(len(sensitive)), order):
            sub = leaf_levels[:, attrs]
            keys, leaf_group = np.unique(sub, axis=0, return_inverse=True)
            names = tuple("&".join(levels[a][k] for a, k in zip(attrs, key)) for key in keys)
            groupings.append(Grouping(name="&".join(sensitive[a] for a in attrs),
                                      attributes=tuple(sensitive[a] for a in attrs), groups=names,
                                      leaf_group=leaf_group.reshape(-1).astype(np.int64)))
    return GroupIndex(attributes=tuple(sensitive), levels=tuple(levels), leaf_levels=leaf_levels,
                      row_leaf=row_leaf.reshape(-1).astype(np.int64), groupings=tuple(groupings),
                      labels=pd.DataFrame(texts, index=frame.index))
