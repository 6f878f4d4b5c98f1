"""The inputs of the drift and data-bias measures on the bundled Adult data, as an audit run builds them.

Shared by the golden file's generator (tests/golden/make_drift_bias_adult.py), its test and
benchmarks/adult_phases.py, so that all three measure the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from audit.inputs._groups import GroupIndex, LeafCoder, build_groups

ADULT = Path(__file__).resolve().parents[1] / "examples" / "adult" / "data"
SENSITIVE = ["sex", "race", "age"]
BINS = {"age": [0, 25, 45, 65, 120]}


@dataclass(frozen=True)
class DriftBiasInputs:
    reference: pd.DataFrame
    current: pd.DataFrame
    features: tuple[str, ...]
    reference_labels: pd.DataFrame
    current_labels: pd.DataFrame
    reference_scores: np.ndarray
    current_scores: np.ndarray
    groups: GroupIndex


def _score(frame: pd.DataFrame) -> np.ndarray:
    """A deterministic stand-in for a model's score: a logistic of a few numeric columns."""
    z = (frame["education-num"] - 10) / 3 + (frame["hours-per-week"] - 40) / 12 + frame["capital-gain"] / 5000
    return np.asarray(1 / (1 + np.exp(-z)), dtype=float)


def adult_inputs() -> DriftBiasInputs:
    """Training data as the reference, test data as the evaluation rows; every non-sensitive feature."""
    reference = pd.read_csv(ADULT / "adult_train.csv.gz")
    current = pd.read_csv(ADULT / "adult_test.csv.gz")
    features = tuple(c for c in current.columns if c not in ("income", *SENSITIVE))
    _, reference_labels = LeafCoder(sensitive=SENSITIVE, bins=BINS, source="reference").encode(reference)
    _, current_labels = LeafCoder(sensitive=SENSITIVE, bins=BINS, source="test").encode(current)
    groups = build_groups(current, sensitive=SENSITIVE, bins=BINS, intersections=2, source="test")
    return DriftBiasInputs(reference=reference, current=current, features=features,
                           reference_labels=reference_labels, current_labels=current_labels,
                           reference_scores=_score(reference), current_scores=_score(current), groups=groups)
