"""The decision rule of a binary model: a fixed score cutoff, or one chosen for a target selection rate.

A rate-based cutoff is chosen on the training rows only: choosing it on the evaluation rows would fit the
rule to the data that is meant to judge it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["DecisionRule", "threshold_for_rate"]


@dataclass(frozen=True)
class DecisionRule:
    """How the audited model turns scores into decisions.

    ``threshold`` is None for the model's own ``predict``; ``chosen_on`` says where a rate-based cutoff was
    chosen (``"training rows"``) and ``target_rate``/``train_rate`` the rate asked for and the rate it gives
    there; ``selection_rate`` is the share of evaluation rows predicted positive.
    """

    threshold: float | None
    source: str
    target_rate: float | None
    train_rate: float | None
    train_rows: int | None
    selection_rate: float | None


def threshold_for_rate(scores: np.ndarray, *, selection_rate: float) -> float:
    """The largest cutoff ``t`` with ``mean(scores >= t) >= selection_rate``.

    The ``ceil(rate * n)``-th largest score: at least that share of rows is predicted positive (more when
    scores tie at the cutoff).

    Examples
    --------
    >>> threshold_for_rate(np.array([0.1, 0.9, 0.4, 0.7, 0.2]), selection_rate=0.4)
    0.7
    """
    values = np.sort(np.asarray(scores, dtype=np.float64))[::-1]
    if len(values) == 0:
        raise ValueError("no scores to choose a threshold on")
    k = max(1, math.ceil(selection_rate * len(values) - 1e-12))
    return float(values[min(k, len(values)) - 1])
