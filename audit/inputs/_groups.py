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

from .._errors import AuditError

__all__ = ["MISSING", "SEPARATOR", "GroupIndex", "Grouping", "LeafCoder", "factorize_sorted", "SmallIntersection", "build_groups",
           "band_labels", "join_key", "split_key", "escape_part"]

#: Label of the group of rows whose sensitive value is missing.
MISSING = "missing"
#: What joins the parts of an intersection's name ("sex&race") and of its groups' names ("F&Black").
SEPARATOR = "&"


def escape_part(text: str) -> str:
    r"""One part of a group key, with the separator and the escape character escaped by a backslash.

    Keys of intersections stay unambiguous whatever the values hold: ``p&q`` x ``r`` and ``p`` x ``q&r`` are
    ``p\&q&r`` and ``p&q\&r``. A value without ``&`` or ``\`` is unchanged.

    Examples
    --------
    >>> escape_part("p&q"), escape_part("F")
    ('p\\&q', 'F')
    """
    return text.replace("\\", "\\\\").replace(SEPARATOR, "\\" + SEPARATOR)


def join_key(parts: list[str] | tuple[str, ...]) -> str:
    r"""The key of an intersection from its parts as they are (each escaped, joined by ``&``).

    Examples
    --------
    >>> join_key(["p&q", "r"]) != join_key(["p", "q&r"])
    True
    >>> split_key(join_key(["p&q", "r"])), split_key(join_key(["p", "q&r"]))
    (['p&q', 'r'], ['p', 'q&r'])
    """
    return SEPARATOR.join(escape_part(str(p)) for p in parts)


def split_key(key: str) -> list[str]:
    r"""The parts of a key built by :func:`join_key` (or of an escaped group name), unescaped.

    Examples
    --------
    >>> split_key("F&Black"), split_key("p\\&q&r"), split_key("a\\\\&b")
    (['F', 'Black'], ['p&q', 'r'], ['a\\', 'b'])
    """
    parts, current, i = [], [], 0
    while i < len(key):
        ch = key[i]
        if ch == "\\" and i + 1 < len(key):
            current.append(key[i + 1])
            i += 2
            continue
        if ch == SEPARATOR:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


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
    """Leaves, levels and the groupings built on them.

    ``row_leaf`` and ``labels`` describe the rows held in memory: all
    evaluation rows when the data is read whole, the seeded sample when it is
    read in batches (statistics never need more).
    """

    attributes: tuple[str, ...]
    levels: tuple[tuple[str, ...], ...]
    leaf_levels: np.ndarray  # (leaves, attributes) level codes
    row_leaf: np.ndarray  # leaf index per row held in memory
    groupings: tuple[Grouping, ...]
    labels: pd.DataFrame  # per row held in memory, the label of each sensitive attribute
    #: Intersections whose every group is under ``min_group_size`` rows: summarised, not evaluated.
    small_intersections: tuple["SmallIntersection", ...] = ()

    def grouping(self, name: str) -> Grouping:
        return next(g for g in self.groupings if g.name == name)

    def judged(self, rows_by_leaf: np.ndarray, *, min_group_size: int) -> "GroupIndex":
        """This index without the intersections none of whose groups has ``min_group_size`` rows.

        Such an intersection has nothing to judge: every group would be *insufficient data*. It is kept
        as a :class:`SmallIntersection` (its groups' row counts) instead of being evaluated group by group,
        so an intersection of attributes with hundreds of values costs its counts only. Single attributes
        are always kept.

        Examples
        --------
        >>> gi = build_groups(pd.DataFrame({"a": list("xxxy"), "b": list("pqrs")}), sensitive=["a", "b"], bins={},
        ...                   intersections=2, source="t")
        >>> kept = gi.judged(np.bincount(gi.row_leaf), min_group_size=2)
        >>> [g.name for g in kept.groupings], [(s.grouping, s.groups, s.rows) for s in kept.small_intersections]
        (['a', 'b'], [('a&b', 4, 4)])
        """
        rows_by_leaf = np.asarray(rows_by_leaf, dtype=np.float64)
        keep, small = [], list(self.small_intersections)
        for g in self.groupings:
            n = np.rint(np.bincount(g.leaf_group, weights=rows_by_leaf, minlength=len(g.groups))).astype(np.int64)
            if len(g.attributes) > 1 and n.max(initial=0) < min_group_size:
                present = n > 0
                small.append(SmallIntersection(grouping=g.name, attributes=g.attributes, groups=int(present.sum()),
                                               rows=int(n.sum()), largest=int(n.max(initial=0)),
                                               counts={name: int(c) for name, c, ok in zip(g.groups, n, present)
                                                       if ok}))
            else:
                keep.append(g)
        return GroupIndex(attributes=self.attributes, levels=self.levels, leaf_levels=self.leaf_levels,
                          row_leaf=self.row_leaf, groupings=tuple(keep), labels=self.labels,
                          small_intersections=tuple(small))


@dataclass(frozen=True)
class SmallIntersection:
    """An intersection all of whose groups are under ``min_group_size`` rows: counted, never evaluated."""

    grouping: str
    attributes: tuple[str, ...]
    groups: int  # groups with at least one row
    rows: int
    largest: int  # rows of its largest group
    counts: dict[str, int]  # rows per group


def _factorize(column: pd.Series, name: str, edges: list[float] | None, source: str) -> tuple[np.ndarray, list[str]]:
    """Codes of each row and the label of each code: bands for binned columns, "missing" for NaN."""
    missing = column.isna().to_numpy()
    if edges is not None:
        if not pd.api.types.is_numeric_dtype(column):
            raise AuditError(f"`data.bins.{name}` needs a numeric column; column {name!r} of {source} holds "
                             f"{column.dtype} values such as {column.dropna().iloc[0]!r}. Remove the bins.")
        values = column.to_numpy(dtype=float, na_value=np.nan)
        labels = [f"<{_fmt(edges[0])}", *band_labels(edges), f">={_fmt(edges[-1])}", MISSING]
        codes = np.searchsorted(np.asarray(edges, dtype=float), values, side="right")
        codes = np.where(codes >= len(edges), len(edges), codes)  # the last edge and beyond: ">=last"
        codes[missing] = len(labels) - 1
        return codes.astype(np.int64), labels
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    # A value written "missing" is not the same group as an absent value. A value holding the separator is
    # escaped, so that the keys of intersections stay unambiguous (see `escape_part`).
    labels = [f"{MISSING} (as written)" if str(u) == MISSING else escape_part(str(u)) for u in uniques]
    position: dict[str, int] = {}
    remap = np.array([position.setdefault(label, len(position)) for label in labels] + [-1], dtype=np.int64)
    codes = remap[codes]  # -1 (NaN) maps through the trailing -1; equal texts share one code
    labels = list(position)
    if missing.any():
        codes = np.where(codes < 0, len(labels), codes)
        labels.append(MISSING)
    return codes, labels


def factorize_sorted(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` by hashing: the distinct values sorted, and each value's index
    among them.

    Sorting a million rows to find a few thousand distinct values costs several times a hash table's pass;
    only the distinct values are sorted here. NaN is a value of its own, sorted last, as in ``np.unique``.

    Examples
    --------
    >>> u, inv = factorize_sorted(np.array([0.3, 0.1, 0.3, 0.2]))
    >>> u.tolist(), inv.tolist()
    ([0.1, 0.2, 0.3], [2, 0, 2, 1])
    """
    values = np.asarray(values)
    if values.dtype.kind in "iu" and len(values):
        low, high = int(values.min()), int(values.max())
        if high - low <= 4 * len(values) + 1024:
            # A dense range: presence by counting, no hashing and no sorting at all.
            present = np.bincount(values - low, minlength=high - low + 1) > 0
            rank = np.cumsum(present) - 1
            return np.flatnonzero(present).astype(values.dtype) + low, rank[values - low]
    if values.dtype.kind == "f":
        values = values + 0.0  # -0.0 and 0.0 are one value, as np.unique has them
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    uniques = np.asarray(uniques)
    order = np.argsort(uniques, kind="stable")
    rank = np.empty(len(order), dtype=np.intp)
    rank[order] = np.arange(len(order))
    return uniques[order], rank[codes]


class LeafCoder:
    """Assigns leaf codes to rows batch by batch, consistently across batches.

    Levels and leaves are numbered as they first appear; :meth:`index` sorts
    the levels for reporting without renumbering leaves, so statistics built
    from earlier batches stay valid.
    """

    def __init__(self, *, sensitive: list[str], bins: dict[str, list[float]], source: str) -> None:
        self.sensitive = list(sensitive)
        self.bins = bins
        self.source = source
        self._levels: list[dict[str, int]] = [{} for _ in sensitive]
        self._leaves: dict[tuple[int, ...], int] = {}

    def encode(self, frame: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
        """Leaf index of each row and the rows' sensitive labels (categorical columns)."""
        texts = {}
        codes = np.empty((len(frame), len(self.sensitive)), dtype=np.int64)
        for j, name in enumerate(self.sensitive):
            local, labels = _factorize(frame[name], name, self.bins.get(name), self.source)
            lookup = self._levels[j]
            used = np.flatnonzero(np.bincount(local, minlength=len(labels)))
            to_global = np.full(len(labels), -1, dtype=np.int64)
            for code in used:
                to_global[code] = lookup.setdefault(labels[code], len(lookup))
            codes[:, j] = to_global[local]
            texts[name] = pd.Categorical.from_codes(local, categories=labels)
        # Mixed-radix code of the level combination; the radix only has to exceed every level code so far.
        radix = max(len(lookup) for lookup in self._levels) + 1
        if radix ** len(self.sensitive) < 2**62:
            combined = np.zeros(len(frame), dtype=np.int64)
            for j in range(len(self.sensitive)):
                combined = combined * radix + codes[:, j]
            uniques, inverse = factorize_sorted(combined)
            digits = np.empty((len(uniques), len(self.sensitive)), dtype=np.int64)
            rest = uniques.copy()
            for j in range(len(self.sensitive) - 1, -1, -1):
                rest, digits[:, j] = np.divmod(rest, radix)
        else:  # too many attributes for one integer code
            _, first, inverse = np.unique(codes, axis=0, return_index=True, return_inverse=True)
            digits = codes[first]
        ids = np.array([self._leaves.setdefault(tuple(int(c) for c in row), len(self._leaves)) for row in digits],
                       dtype=np.int64)
        return ids[inverse.reshape(-1)], pd.DataFrame(texts, index=frame.index)

    @property
    def n_leaves(self) -> int:
        return len(self._leaves)

    def leaf_labels(self) -> list[tuple[str, ...]]:
        """Each leaf's level labels (one per sensitive attribute), in leaf-code order.

        Labels, unlike codes, mean the same in every coder: coders that saw
        different parts of the data (partitions on a cluster) combine through them.
        """
        names = [list(lookup) for lookup in self._levels]
        return [tuple(names[j][code] for j, code in enumerate(key)) for key in self._leaves]

    def absorb(self, leaf_labels: list[tuple[str, ...]]) -> np.ndarray:
        """Add leaves given by their labels (see :meth:`leaf_labels`); return their codes in this coder.

        Examples
        --------
        >>> a = LeafCoder(sensitive=["sex"], bins={}, source="a.csv")
        >>> b = LeafCoder(sensitive=["sex"], bins={}, source="b.csv")
        >>> _ = a.encode(pd.DataFrame({"sex": ["F"]})); _ = b.encode(pd.DataFrame({"sex": ["M", "F"]}))
        >>> a.absorb(b.leaf_labels()).tolist(), a.leaf_labels()
        ([1, 0], [('F',), ('M',)])
        """
        codes = np.empty(len(leaf_labels), dtype=np.int64)
        for i, labels in enumerate(leaf_labels):
            key = tuple(lookup.setdefault(label, len(lookup)) for lookup, label in zip(self._levels, labels))
            codes[i] = self._leaves.setdefault(key, len(self._leaves))
        return codes

    def _sorted_levels(self) -> tuple[list[tuple[str, ...]], np.ndarray]:
        levels, remap = [], []
        for j, lookup in enumerate(self._levels):
            ordered = _ordered_levels(list(lookup), self.bins.get(self.sensitive[j]))
            levels.append(tuple(ordered))
            position = {level: i for i, level in enumerate(ordered)}
            remap.append(np.array([position[level] for level in lookup], dtype=np.int64))
        leaf_levels = np.array(list(self._leaves), dtype=np.int64).reshape(len(self._leaves), len(self.sensitive))
        for j in range(len(self.sensitive)):
            leaf_levels[:, j] = remap[j][leaf_levels[:, j]]
        return levels, leaf_levels

    def leaf_order(self) -> np.ndarray:
        """``new[old]``: canonical leaf numbers (leaves sorted by their levels), whatever the arrival order.

        Relabelling statistics with it makes them, and the bootstrap draws made
        from them, independent of how the rows were cut into batches.
        """
        _, leaf_levels = self._sorted_levels()
        order = np.lexsort(leaf_levels.T[::-1]) if len(leaf_levels) else np.zeros(0, dtype=np.int64)
        new = np.empty(len(order), dtype=np.int64)
        new[order] = np.arange(len(order))
        return new

    def index(self, *, intersections: int, row_leaf: np.ndarray, labels: pd.DataFrame) -> GroupIndex:
        """The groupings up to order ``intersections`` over every leaf seen so far, in canonical leaf order.

        ``row_leaf`` (codes as returned by :meth:`encode`) is relabelled to the canonical order.
        """
        sensitive = self.sensitive
        levels, leaf_levels = self._sorted_levels()
        new = self.leaf_order()
        canonical = np.empty_like(leaf_levels)
        canonical[new] = leaf_levels
        groupings = []
        for order in range(1, min(intersections, len(sensitive)) + 1):
            for attrs in combinations(range(len(sensitive)), order):
                keys, leaf_group = np.unique(canonical[:, attrs], axis=0, return_inverse=True)
                # Level labels are escaped already (`_factorize`); attribute names are escaped here.
                names = tuple(SEPARATOR.join(levels[a][k] for a, k in zip(attrs, key)) for key in keys)
                groupings.append(Grouping(name=join_key([sensitive[a] for a in attrs]),
                                          attributes=tuple(sensitive[a] for a in attrs), groups=names,
                                          leaf_group=leaf_group.reshape(-1).astype(np.int64)))
        return GroupIndex(attributes=tuple(sensitive), levels=tuple(levels), leaf_levels=canonical,
                          row_leaf=new[np.asarray(row_leaf, dtype=np.int64)], groupings=tuple(groupings),
                          labels=labels)


def _ordered_levels(seen: list[str], edges: list[float] | None) -> list[str]:
    """Levels in reporting order: bands by edge, other values sorted (numerically when they are numbers)."""
    if edges is not None:
        order = [f"<{_fmt(edges[0])}", *band_labels(edges), f">={_fmt(edges[-1])}", MISSING]
        return [level for level in order if level in seen]
    present = [level for level in seen if level != MISSING]

    def key(level: str) -> tuple[int, float, str]:
        try:
            return (0, float(level), level)
        except ValueError:
            return (1, 0.0, level)

    return sorted(present, key=key) + ([MISSING] if MISSING in seen else [])


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
    coder = LeafCoder(sensitive=sensitive, bins=bins, source=source)
    row_leaf, labels = coder.encode(frame)
    return coder.index(intersections=intersections, row_leaf=row_leaf, labels=labels)
