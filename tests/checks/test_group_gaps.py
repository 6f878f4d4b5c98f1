"""The group-gap check on the one engine's evaluation of every task: it reads each metric's direction
from the task's registry and names the groups significantly worse than the rest."""

from __future__ import annotations

import numpy as np
import pandas as pd

from audit.checks import check_group_gaps
from audit.inputs._groups import build_groups
from audit.settings._config import GroupGapsConfig
from audit.statistics._evaluate import evaluate
from audit.statistics._regression import REGRESSION, regression_row_values, unpacker
from audit.statistics._tables import SumTable


def _regression_evaluation(noise_b: float):
    rng = np.random.default_rng(0)
    n = 4000
    frame = pd.DataFrame({"g": np.where(np.arange(n) % 2 == 0, "a", "b")})
    groups = build_groups(frame, sensitive=["g"], bins={}, intersections=1, source="t")
    y = rng.normal(size=n)
    pred = y + rng.normal(scale=np.where(frame["g"] == "a", 1.0, noise_b), size=n)
    values = regression_row_values(y, pred)
    leaves = len(groups.leaf_levels)
    sums = np.zeros((leaves, values.shape[1]))
    np.add.at(sums, groups.row_leaf, values)
    w = rng.poisson(1.0, size=(200, n)).astype(float)
    reps = np.stack([np.stack([(w[r, groups.row_leaf == leaf, None] * values[groups.row_leaf == leaf]).sum(axis=0)
                               for leaf in range(leaves)]) for r in range(200)])
    table = SumTable(sums=sums, reps=reps, unpack=unpacker())
    return evaluate(table, groups, registry=REGRESSION, replicates=200, level=0.95, seed=0, min_group_size=30)


def test_a_regression_group_with_twice_the_error_is_named_worse_and_lower_is_better():
    ev = _regression_evaluation(noise_b=2.0)
    findings = check_group_gaps(evaluation=ev, config=GroupGapsConfig(metrics=["mean_absolute_error"]))
    assert len(findings) == 1 and findings[0].status == "warn"
    assert "g=b" in findings[0].message and "above the rest" in findings[0].message


def test_equal_errors_give_no_group_gap():
    ev = _regression_evaluation(noise_b=1.0)
    findings = check_group_gaps(evaluation=ev, config=GroupGapsConfig(metrics=["mean_absolute_error"]))
    assert [f.status for f in findings] == ["pass"]
