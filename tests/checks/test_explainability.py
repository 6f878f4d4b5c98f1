"""The importance-ratio check judges each ratio on its own interval (not the difference's)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from audit.checks._explainability import _gaps
from audit.measures._explain import Explanation, FeatureImportance, _importance_gaps
from audit.settings._config import ExplainabilityConfig


def _per_row(rows: int, seed: int) -> tuple[np.ndarray, pd.DataFrame]:
    # Feature "a" matters three times as much for group x as for y; feature "b" the same for both.
    rng = np.random.default_rng(seed)
    group = np.where(np.arange(rows) < rows // 2, "x", "y")
    a = np.abs(rng.normal(size=rows)) * np.where(group == "x", 0.9, 0.3)
    b = np.abs(rng.normal(size=rows)) * 0.6
    return np.column_stack([a, b]), pd.DataFrame({"sex": group})


def test_the_ratio_interval_covers_its_truth_and_is_its_own():
    covered = {"a": 0, "b": 0}
    runs = 200
    for seed in range(runs):
        per_row, labels = _per_row(400, seed)
        gaps = {g.feature: g for g in _importance_gaps(per_row, labels, ("a", "b"), min_rows=30, replicates=200,
                                                       level=0.95, seed=seed)}
        a, b = gaps["a"], gaps["b"]
        assert 0 <= a.ratio_low <= a.ratio <= a.ratio_high <= 1
        covered["a"] += a.ratio_low <= 1 / 3 <= a.ratio_high
        covered["b"] += b.ratio_high >= 1.0 - 1e-12 or b.ratio_low <= 1.0 <= b.ratio_high
    # A percentile interval of 200 replicates: coverage near 95% for a ratio of means of 200 rows each.
    assert covered["a"] / runs >= 0.9
    assert covered["b"] / runs >= 0.9


def test_a_ratio_shown_under_the_threshold_fails_and_one_not_shown_warns():
    per_row, labels = _per_row(2000, 1)
    gaps = _importance_gaps(per_row, labels, ("a", "b"), min_rows=30, replicates=200, level=0.95, seed=1)
    explanation = Explanation(method="tree", measure="mean |SHAP|", sample_size=2000, requested_rows=2000,
                              importances=(FeatureImportance("a", 0.6, None, None), FeatureImportance("b", 0.5, None, None)),
                              by_group={}, group_sizes={}, gaps=gaps, flips=(), seconds=0.0, note="", points={})
    findings = _gaps(explanation, ExplainabilityConfig(min_importance_ratio=0.5, severity="block"))
    assert [(f.status, f.shown) for f in findings] == [("fail", "beyond")]
    assert findings[0].ci_high < 0.5 and "importance ratio" in findings[0].message
    # At a threshold inside the ratio's interval the check cannot tell: a warning that says so.
    a = next(g for g in gaps if g.feature == "a")
    middle = round((a.ratio_low + a.ratio_high) / 2, 6)
    undecided = _gaps(explanation, ExplainabilityConfig(min_importance_ratio=middle, severity="block"))
    assert [(f.status, f.shown) for f in undecided] == [("warn", "neither")]
    assert "not shown either way" in undecided[0].message
