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


@lru_cache(maxsize=None)
def exports_audit():
    """One small audit of the bundled Adult data (all test rows, a shallow tree, explanations off), run once.

    Shared by the regulatory, export and MLflow tests; treat the result as read-only.
    """
    import audit
    from conftest import adult_config

    raw = adult_config(name="adult-exports", bootstrap={"replicates": 20},
                       checks={"explainability": {"method": "none"}, "bias": {"proxies": False}},
                       report={"title": "Income classifier (export test)", "owners": ["Model risk team"],
                               "license": "Apache-2.0", "intended_use": "Tests of the exports.",
                               "limitations": "Census data from 1994.",
                               "human_oversight": "A credit officer reviews every refusal."})
    raw["data"]["intersections"] = 2
    # A shallow tree: a real model that trains in a second even on a busy machine.
    raw["model"] = {"train": {"estimator": "sklearn.tree.DecisionTreeClassifier",
                              "params": {"max_depth": 8, "random_state": 0}}}
    return audit.run(raw)


def scored_by_two_classifiers(folder: Path) -> pd.DataFrame:
    """6,000 Adult test rows with the predictions of two real classifiers fitted on the other Adult test rows
    (``a_*``: logistic regression, ``b_*``: a depth-6 tree; ``income`` as 0/1), written to ``folder/scored.csv``."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    numeric = ["age", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
    d = adult_rows("test")
    y = (d["income"] == ">50K").to_numpy(int)
    fit = np.arange(len(d)) >= 6000
    x = d[numeric].to_numpy(float)
    a = LogisticRegression(max_iter=2000).fit(x[fit], y[fit])
    b = DecisionTreeClassifier(max_depth=6, random_state=0).fit(x[fit], y[fit])
    rows = d[~fit].copy()
    rows["a_score"], rows["b_score"] = a.predict_proba(x[~fit])[:, 1], b.predict_proba(x[~fit])[:, 1]
    rows["a_label"], rows["b_label"] = (rows["a_score"] >= 0.5).astype(int), (rows["b_score"] >= 0.5).astype(int)
    rows["income"] = (rows["income"] == ">50K").astype(int)
    rows.to_csv(folder / "scored.csv", index=False)
    return rows
