"""Shared fixtures: the real Adult data and a real model trained on it, built once per session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from audit import config_from_dict
from audit.inputs._data import load_dataset
from audit.inputs._groups import GroupIndex, build_groups
from audit.inputs._model import predict, train_model

ROOT = Path(__file__).resolve().parents[1]
ADULT = ROOT / "examples" / "adult"
AGE_BINS = [0, 25, 45, 65, 120]


@dataclass(frozen=True)
class AdultScored:
    frame: pd.DataFrame
    y: np.ndarray
    score: np.ndarray
    label: np.ndarray
    groups: GroupIndex


def adult_config(tmp_path: Path | None = None, **overrides: object) -> dict:
    """A config mapping for the bundled Adult data; ``overrides`` replace top-level sections."""
    raw = {
        "name": "adult-test",
        "data": {"train": str(ADULT / "data" / "adult_train.csv.gz"), "test": str(ADULT / "data" / "adult_test.csv.gz"),
                 "target": "income", "positive_label": ">50K", "sensitive": ["sex", "race", "age"],
                 "bins": {"age": AGE_BINS}, "intersections": 3},
        "model": {"train": {"estimator": "sklearn.ensemble.HistGradientBoostingClassifier",
                            "params": {"max_iter": 100}}},
        "bootstrap": {"replicates": 50},
    }
    raw.update(overrides)
    return raw


@pytest.fixture(scope="session")
def adult_scored() -> AdultScored:
    """Adult test rows scored by a gradient-boosted pipeline trained on the Adult train rows."""
    cfg = config_from_dict(adult_config(), source="audit.yaml")
    dataset = load_dataset(cfg)
    model = train_model(cfg, dataset)
    preds = predict(model, dataset.test.frame)
    groups = build_groups(dataset.test.frame, sensitive=["sex", "race", "age"], bins={"age": AGE_BINS},
                          intersections=3, source="adult_test.csv.gz")
    return AdultScored(frame=dataset.test.frame, y=dataset.y_test, score=preds.score, label=preds.label,
                       groups=groups)


@dataclass(frozen=True)
class BundledRun:
    returncode: int
    stdout: str
    stderr: str
    folder: Path


@pytest.fixture(scope="session")
def bundled_adult(tmp_path_factory) -> BundledRun:
    """The Quickstart: ``audit run examples/adult/audit.yaml`` through the console entry point, run once.

    Shared by the command-line test and the browser tests of the Adult card (it takes half a minute).
    """
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("bundled") / "reports"
    proc = subprocess.run([sys.executable, "-m", "audit", "run", str(ADULT / "audit.yaml"), "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    return BundledRun(returncode=proc.returncode, stdout=proc.stdout, stderr=proc.stderr,
                      folder=out / "adult-income")
