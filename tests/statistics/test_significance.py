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


def _synthetic(seed: int, *, rows: int, shares: list[float], rate: float):
    """Predictions independent of the groups: every group's rates equal the rest's."""
    import pandas as pd
    from audit.inputs._groups import build_groups

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"g": rng.choice([f"g{i}" for i in range(len(shares))], size=rows, p=shares)})
    groups = build_groups(frame, sensitive=["g"], bins={}, intersections=1, source="t")
    y = (rng.random(rows) < 0.5).astype(int)
    yhat = np.where(rng.random(rows) < rate, 1 - y, y)
    cells = cell_stats(leaf=groups.row_leaf, score=np.clip(yhat * 0.6 + rng.random(rows) * 0.4, 0, 1), y=y,
                       yhat=yhat, n_leaves=len(groups.leaf_levels))
    return frame, y, yhat, groups, cells


def test_rate_comparisons_use_fishers_exact_test_against_the_rest():
    from scipy.stats import fisher_exact

    frame, y, yhat, groups, cells = _synthetic(3, rows=2000, shares=[0.9, 0.05, 0.05], rate=0.04)
    ev = evaluate(BinaryTable(cells), groups, registry=BINARY, replicates=100, level=0.95, seed=0, min_group_size=30)
    gm = ev.by_grouping[0]
    right = yhat == y
    for i, group in enumerate(gm.groups):
        inside = frame["g"].to_numpy() == group
        table = [[right[inside].sum(), (~right[inside]).sum()], [right[~inside].sum(), (~right[~inside]).sum()]]
        one_sided = [fisher_exact(table, alternative=a).pvalue for a in ("less", "greater")]
        assert gm.versus_rest["accuracy"][i].p_value == pytest.approx(min(1.0, 2 * min(one_sided)), rel=1e-9)


def test_the_group_gap_family_is_adjusted_together_across_its_metrics():
    _, _, _, groups, cells = _synthetic(4, rows=3000, shares=[0.5, 0.3, 0.2], rate=0.1)
    family = ("recall", "accuracy", "roc_auc")
    ev = evaluate(BinaryTable(cells), groups, registry=BINARY, replicates=100, level=0.95, seed=0, min_group_size=30,
                  family=family)
    gm = ev.by_grouping[0]
    raw = np.array([c.p_value for m in family for c in gm.versus_rest[m]])
    adjusted = np.array([c.p_adjusted for m in family for c in gm.versus_rest[m]])
    np.testing.assert_allclose(adjusted, false_discovery_control(raw, method="bh"), rtol=1e-12)
    # A metric outside the family is its own family.
    own = np.array([c.p_value for c in gm.versus_rest["precision"]])
    np.testing.assert_allclose([c.p_adjusted for c in gm.versus_rest["precision"]],
                               false_discovery_control(own, method="bh"), rtol=1e-12)


def test_small_groups_and_rare_rates_are_not_flagged_more_often_than_nominal():
    # Groups of about 40 rows with an error rate of 3%: a Wald test on bootstrap replicates rejected
    # several times too often here; the exact test may only be conservative.
    rejected = tested = 0
    for seed in range(150):
        _, _, _, groups, cells = _synthetic(seed, rows=1000, shares=[0.92, 0.04, 0.04], rate=0.03)
        ev = evaluate(BinaryTable(cells), groups, registry=BINARY, replicates=50, level=0.95, seed=seed,
                      min_group_size=30)
        for c in ev.by_grouping[0].versus_rest["accuracy"]:
            if c.p_value is not None:
                tested += 1
                rejected += c.p_value <= 0.05
    assert tested > 300 and rejected / tested <= 0.05
