"""Group-versus-rest comparisons, Benjamini-Hochberg control and metric support on real Adult predictions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import false_discovery_control
from sklearn.metrics import recall_score

from audit.statistics._tables import BinaryTable
from audit.statistics._metrics import BINARY
from audit.settings._config import GroupGapsConfig
from audit.statistics._evaluate import benjamini_hochberg, evaluate
from audit.statistics._cells import cell_stats
from audit.checks import check_group_gaps


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=80))
def test_benjamini_hochberg_equals_scipy(p):
    np.testing.assert_allclose(benjamini_hochberg(np.array(p)), false_discovery_control(p, method="bh"),
                               rtol=1e-12, atol=1e-15)


def test_benjamini_hochberg_leaves_untested_groups_out():
    p = np.array([0.01, np.nan, 0.04, 0.03])
    np.testing.assert_allclose(benjamini_hochberg(p), [0.03, np.nan, 0.04, 0.04])


@pytest.fixture(scope="module")
def adult_evaluation(adult_scored):
    s = adult_scored
    cells = cell_stats(leaf=s.groups.row_leaf, score=s.score, y=s.y, yhat=s.label, n_leaves=len(s.groups.leaf_levels))
    return evaluate(BinaryTable(cells), s.groups, registry=BINARY, replicates=200, level=0.95, seed=0, min_group_size=30)


@pytest.mark.slow
def test_difference_to_rest_is_the_group_minus_all_other_rows(adult_scored, adult_evaluation):
    s = adult_scored
    gm = next(g for g in adult_evaluation.by_grouping if g.grouping == "race")
    labels = s.groups.labels["race"].to_numpy(dtype=str)
    for i, group in enumerate(gm.groups):
        inside = labels == group
        expected = recall_score(s.y[inside], s.label[inside]) - recall_score(s.y[~inside], s.label[~inside])
        cmp = gm.versus_rest["recall"][i]
        assert cmp.difference == pytest.approx(expected, abs=1e-12)
        assert cmp.ci_low < cmp.difference < cmp.ci_high


@pytest.mark.slow
def test_significance_is_adjusted_across_all_groups(adult_evaluation):
    tested = [(gm.grouping, g, c) for gm in adult_evaluation.by_grouping
              for g, c in zip(gm.groups, gm.versus_rest["recall"]) if c.p_value is not None]
    raw = np.array([c.p_value for _, _, c in tested])
    adjusted = np.array([c.p_adjusted for _, _, c in tested])
    np.testing.assert_allclose(adjusted, false_discovery_control(raw, method="bh"), rtol=1e-12)
    assert all(c.significant == (c.p_adjusted <= 0.05) for _, _, c in tested)
    # Some groups have an interval that excludes 0 but do not survive the adjustment: no crying wolf.
    unadjusted_only = [t for t in tested if t[2].p_value <= 0.05 and not t[2].significant]
    assert unadjusted_only


@pytest.mark.slow
def test_groups_without_enough_support_are_never_tested_or_in_gaps(adult_scored, adult_evaluation):
    gm = next(g for g in adult_evaluation.by_grouping if g.grouping == "race&age")
    i = gm.groups.index("Asian-Pac-Islander&0-25")  # 70 rows, 1 positive label
    assert gm.n[i] >= 30 and gm.positives[i] == 1
    assert gm.metrics["recall"][i].support == 1
    assert gm.versus_rest["recall"][i].p_value is None and not gm.versus_rest["recall"][i].significant
    eo = next(f for f in adult_evaluation.fairness if f.grouping == "race&age" and f.metric == "equal_opportunity_difference")
    assert "Asian-Pac-Islander&0-25" in eo.excluded_groups
    assert "Asian-Pac-Islander&0-25" not in eo.groups
    dp = next(f for f in adult_evaluation.fairness if f.grouping == "race&age" and f.metric == "demographic_parity_difference")
    assert "Asian-Pac-Islander&0-25" not in dp.excluded_groups  # selection rate rests on all 70 rows


@pytest.mark.slow
def test_group_gaps_check_names_significantly_worse_groups(adult_evaluation):
    findings = check_group_gaps(evaluation=adult_evaluation, config=GroupGapsConfig(metrics=["recall", "accuracy"]))
    by_metric = {f.message.split(" ")[0]: f for f in findings}
    recall = by_metric["recall"]
    assert recall.status == "warn"
    flagged = [(gm.grouping, g) for gm in adult_evaluation.by_grouping
               for g, c, e in zip(gm.groups, gm.versus_rest["recall"], gm.metrics["recall"])
               if c.significant and c.difference < 0]
    assert flagged and f"{flagged[0][0]}={flagged[0][1]}" in recall.message or "more" in recall.message
    assert f"{len(flagged)} group(s)" in recall.message
    assert "adjusted p" in recall.message and "false discovery rate 0.05" in recall.message
