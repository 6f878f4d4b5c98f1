"""Bootstrap intervals cover the truth at their nominal rate (simulation with a fixed population)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from audit.statistics._tables import BinaryTable
from audit.statistics._metrics import BINARY
from audit.statistics._evaluate import evaluate
from audit.inputs._groups import build_groups
from audit.statistics._cells import cell_stats

REPEATS = 600
SAMPLE = 3000


@pytest.mark.slow
def test_95_percent_intervals_cover_metric_gap_and_auc_92_to_97_percent_of_the_time():
    rng = np.random.default_rng(20261124)
    population = 200_000
    group = np.where(rng.random(population) < 0.4, "A", "B")
    score = rng.beta(2, 5, population)  # continuous: replicates use the coarsened table
    y = (rng.random(population) < np.clip(score + np.where(group == "A", 0.1, 0.0), 0, 1)).astype(int)
    yhat = (score >= np.where(group == "A", 0.35, 0.3)).astype(int)
    in_a = group == "A"

    def recall(mask):
        return ((y == 1) & (yhat == 1) & mask).sum() / ((y == 1) & mask).sum()

    true_recall_a = recall(in_a)
    true_gap = abs(true_recall_a - recall(~in_a))  # equal opportunity difference of the population
    true_auc_a = roc_auc_score(y[in_a], score[in_a])
    hits = {"recall": 0, "gap": 0, "auc": 0}
    for i in range(REPEATS):
        rows = rng.integers(0, population, SAMPLE)
        groups = build_groups(pd.DataFrame({"g": group[rows]}), sensitive=["g"], bins={}, intersections=1,
                              source="simulation")
        cells = cell_stats(leaf=groups.row_leaf, score=score[rows], y=y[rows], yhat=yhat[rows],
                           n_leaves=len(groups.leaf_levels))
        ev = evaluate(BinaryTable(cells), groups, registry=BINARY, replicates=200, level=0.95, seed=i, min_group_size=30)
        gm = ev.by_grouping[0]
        a = gm.groups.index("A")
        rec, auc = gm.metrics["recall"][a], gm.metrics["roc_auc"][a]
        gap = next(f for f in ev.fairness if f.metric == "equal_opportunity_difference")
        hits["recall"] += rec.ci_low <= true_recall_a <= rec.ci_high
        hits["auc"] += auc.ci_low <= true_auc_a <= auc.ci_high
        hits["gap"] += gap.ci_low <= true_gap <= gap.ci_high
    coverage = {k: v / REPEATS for k, v in hits.items()}
    assert all(0.92 <= c <= 0.97 for c in coverage.values()), coverage
