"""A seeded uniform sample of rows, kept while the data streams past in batches."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["RowSample", "SampleBuilder"]


@dataclass(frozen=True)
class RowSample:
    """The sampled rows in their original order, with labels, leaves and sensitive labels."""

    frame: pd.DataFrame
    y: np.ndarray
    leaf: np.ndarray
    labels: pd.DataFrame
    score: np.ndarray


class SampleBuilder:
    """Keeps the ``size`` rows with the smallest seeded random keys.

    Keys are drawn in row order from one generator, so the sample is the same
    however the rows are cut into batches (one batch included).

    Examples
    --------
    >>> frame = pd.DataFrame({"x": range(10)})
    >>> one, two = SampleBuilder(size=4, seed=1), SampleBuilder(size=4, seed=1)
    >>> z = np.zeros(10)
    >>> one.add(frame, z, z, frame, z)
    >>> two.add(frame[:3], z[:3], z[:3], frame[:3], z[:3]); two.add(frame[3:], z[3:], z[3:], frame[3:], z[3:])
    >>> one.result().frame.x.tolist() == two.result().frame.x.tolist()
    True
    """

    def __init__(self, *, size: int, seed: int) -> None:
        self.size = size
        self._rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5A3]))
        self._parts: list[tuple] = []

    def add(self, frame: pd.DataFrame, y: np.ndarray, leaf: np.ndarray, labels: pd.DataFrame,
            score: np.ndarray) -> None:
        keys = self._rng.random(len(frame))
        self._parts.append((keys, frame.reset_index(drop=True), np.asarray(y), np.asarray(leaf),
                            labels.reset_index(drop=True), np.asarray(score)))
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
        _, frame, y, leaf, labels, score = self._parts[0]
        return RowSample(frame=frame, y=y, leaf=leaf, labels=labels, score=score)
