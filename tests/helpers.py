"""Helpers shared by the test modules: where the real Adult data lives, and cached slices of it."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
ADULT_DATA = ROOT / "examples" / "adult" / "data"
AGE_BINS = [0, 25, 45, 65, 120]


@lru_cache(maxsize=None)
def _adult(split: str) -> pd.DataFrame:
    return pd.read_csv(ADULT_DATA / f"adult_{split}.csv.gz")


def adult_rows(split: str = "test", rows: int | None = None) -> pd.DataFrame:
    """The first ``rows`` rows of the bundled Adult ``split`` ("train" or "test"), as a fresh copy."""
    frame = _adult(split)
    return (frame if rows is None else frame.head(rows)).copy()
