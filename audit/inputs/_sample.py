"""A seeded uniform sample of rows, kept while the data streams past in batches."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["RowSample", "SampleBuilder", "sample_keys", "PROXY_SAMPLE_ROWS", "uniform_rows"]

_STREAM = 0x5A3


#: Rows kept (a seeded uniform sample) for proxy checks, drift and explanations; statistics use every row.
PROXY_SAMPLE_ROWS = 50_000


def uniform_rows(frame: pd.DataFrame, *, size: int, seed: int) -> pd.DataFrame:
    """``frame`` itself when it has at most ``size`` rows, else a seeded uniform sample of them in their order.

    Examples
    --------
    >>> len(uniform_rows(pd.DataFrame({"x": range(10)}), size=4, seed=0))
    4
    """
    if len(frame) <= size:
        return frame
    rows = np.sort(np.random.default_rng(seed).choice(len(frame), size, replace=False))
    return frame.iloc[rows].reset_index(drop=True)


def sample_keys(*, seed: int, start: int, n: int) -> np.ndarray:
    """The random keys of rows ``start`` to ``start + n - 1`` of the seeded key stream.

    Row ``i`` always gets the ``i``-th draw of one generator, so a batch or a
    partition that knows its first row's position draws its keys alone: the
    generator is advanced to ``start`` (one 64-bit draw per key), not replayed.

    Examples
    --------
    >>> whole = sample_keys(seed=1, start=0, n=10)
    >>> bool(np.array_equal(whole[4:], sample_keys(seed=1, start=4, n=6)))
    True
    """
    bits = np.random.PCG64(np.random.SeedSequence([seed, _STREAM]))
    bits.advance(start)
    return np.random.Generator(bits).random(n)


@dataclass(frozen=True)
class RowSample:
    """The sampled rows in their original order, with labels, leaves and sensitive labels.

    ``y`` and ``prediction`` hold the task's values (0/1 labels, class text, numbers); ``score`` the
    binary positive-class score (the predicted class's probability for multiclass, the prediction for
    regression).
    """

    frame: pd.DataFrame
    y: np.ndarray
    leaf: np.ndarray
    labels: pd.DataFrame
    score: np.ndarray
    prediction: np.ndarray


class SampleBuilder:
    """Keeps the ``size`` rows with the smallest seeded random keys.

    Row ``i`` (counted from ``start``) gets key ``sample_keys(seed=seed, start=i, n=1)``,
    so the sample is the same however the rows are cut into batches (one batch
    included) or partitions: builders of consecutive parts combine with
    :meth:`absorb`.

    Examples
    --------
    >>> frame = pd.DataFrame({"x": range(10)})
    >>> one, two = SampleBuilder(size=4, seed=1), SampleBuilder(size=4, seed=1)
    >>> z = np.zeros(10)
    >>> one.add(frame, z, z, frame, z, z)
    >>> two.add(frame[:3], z[:3], z[:3], frame[:3], z[:3], z[:3]); two.add(frame[3:], z[3:], z[3:], frame[3:], z[3:], z[3:])
    >>> one.result().frame.x.tolist() == two.result().frame.x.tolist()
    True
    """

    def __init__(self, *, size: int, seed: int, start: int = 0) -> None:
        self.size = size
        self.seed = seed
        self._next = start
        self._parts: list[tuple] = []

    def add(self, frame: pd.DataFrame, y: np.ndarray, leaf: np.ndarray, labels: pd.DataFrame,
            score: np.ndarray, prediction: np.ndarray) -> None:
        keys = sample_keys(seed=self.seed, start=self._next, n=len(frame))
        self._next += len(frame)
        self._parts.append((keys, frame.reset_index(drop=True), np.asarray(y), np.asarray(leaf),
                            labels.reset_index(drop=True), np.asarray(score), np.asarray(prediction)))
        self._compact()

    def absorb(self, other: "SampleBuilder", *, leaf_map: np.ndarray) -> None:
        """Take in the candidates of ``other``, whose rows come after this builder's.

        ``leaf_map[l]`` is this builder's leaf code for ``other``'s leaf ``l``.
        """
        for keys, frame, y, leaf, labels, score, prediction in other._parts:
            self._parts.append((keys, frame, y, np.asarray(leaf_map, dtype=np.int64)[leaf], labels, score,
                                prediction))
        self._next = max(self._next, other._next)
        if self._parts:
            self._compact()

    def _compact(self) -> None:
        keys = np.concatenate([p[0] for p in self._parts])
        if len(keys) <= self.size and len(self._parts) == 1:
            return
        keep = np.argsort(keys, kind="stable")[: self.size]
        offsets = np.cumsum([0] + [len(p[0]) for p in self._parts])
        picked = []
        for i, part in enumerate(self._parts):
            local = keep[(keep >= offsets[i]) & (keep < offsets[i + 1])] - offsets[i]
            local.sort()
            picked.append(tuple(x.iloc[local] if isinstance(x, pd.DataFrame) else x[local] for x in part))
        self._parts = [tuple(pd.concat([p[i] for p in picked], ignore_index=True) if isinstance(picked[0][i], pd.DataFrame)
                             else np.concatenate([p[i] for p in picked]) for i in range(len(picked[0])))]

    def result(self) -> RowSample:
        """The sample, rows in the order they arrived."""
        self._compact()
        _, frame, y, leaf, labels, score, prediction = self._parts[0]
        return RowSample(frame=frame, y=y, leaf=leaf, labels=labels, score=score, prediction=prediction)
