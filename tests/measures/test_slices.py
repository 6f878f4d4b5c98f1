"""Slice discovery on real and generated data, checked against independent recomputation."""

from __future__ import annotations

import re
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.metrics import accuracy_score

import audit
from audit import config_from_dict
from audit.checks._finding import Threshold
from audit.measures._slices import Predicate, find_slices, slice_mask
from audit.checks import check_slices


def _independent_mask(frame: pd.DataFrame, predicates: list[dict] | tuple[Predicate, ...]) -> np.ndarray:
    """The slice's rows built straight from the predicate fields with pandas, without audit's helpers."""
    mask = pd.Series(True, index=frame.index)
    for p in predicates:
        p = p if isinstance(p, dict) else p.__dict__
        col = frame[p["feature"]]
        if p["kind"] == "missing":
            mask &= col.isna()
        elif p["kind"] == "value":
            mask &= col.notna() & (col.astype(str) == p["value"])
        else:
            if p["low"] is not None:
                mask &= col >= p["low"]
            if p["high"] is not None:
                mask &= col < p["high"]
            mask &= col.notna()
    return mask.to_numpy()


def _fisher(errors_in: int, n_in: int, errors_out: int, n_out: int) -> float:
    """One-sided Fisher exact test of the 2x2 table (slice, rest) x (error, right), from scipy."""
    table = [[errors_in, n_in - errors_in], [errors_out, n_out - errors_out]]
    return float(stats.fisher_exact(table, alternative="greater").pvalue)


@pytest.fixture(scope="module")
def adult_slices(adult_scored):
    features = [c for c in adult_scored.frame.columns if c != "income"]
    search = find_slices(adult_scored.frame, y=adult_scored.y, yhat=adult_scored.label, features=features,
                         min_size=100, top_k=5)
    return adult_scored, search


def test_adult_slices_are_confirmed_worse_by_independent_recomputation(adult_slices):
    data, search = adult_slices
    assert search.complete and search.order_reached == 3 and len(search.slices) == 5
    overall_error = 1 - accuracy_score(data.y, data.label)
    assert search.overall_value == pytest.approx(overall_error, abs=1e-12)
    for s in search.slices:
        mask = _independent_mask(data.frame, s.predicates)
        assert s.rows == mask.sum() >= 100
        inside = 1 - accuracy_score(data.y[mask], data.label[mask])
        rest = 1 - accuracy_score(data.y[~mask], data.label[~mask])
        assert s.value == pytest.approx(inside, abs=1e-12)
        assert s.rest_value == pytest.approx(rest, abs=1e-12)
        assert s.effect == pytest.approx(inside - rest, abs=1e-12) and inside > rest
        errors_in = int((data.y[mask] != data.label[mask]).sum())
        errors_out = int((data.y[~mask] != data.label[~mask]).sum())
        p = _fisher(errors_in, int(mask.sum()), errors_out, int((~mask).sum()))
        assert s.p_value == pytest.approx(p, rel=1e-6, abs=1e-300)
        # Significant on its own and after Benjamini-Hochberg over every candidate slice.
        assert search.family >= search.evaluated
        assert p < 0.05 / search.family or p == 0.0
        assert s.p_value <= s.p_adjusted <= 0.05
        # The interval is Wilson's (scipy's binomtest gives the same).
        ci = stats.binomtest(errors_in, int(mask.sum())).proportion_ci(confidence_level=0.95, method="wilson")
        assert (s.ci_low, s.ci_high) == pytest.approx((ci.low, ci.high), abs=1e-9)


def _planted(kind: str, n: int = 20_000, seed: int = 1) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "colour": rng.choice(["red", "green", "blue", "grey"], n),
        "region": rng.choice(["north", "south", "east", "west", "centre"], n),
        "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2]),
        "age": rng.integers(18, 90, n).astype(float),
        "income": rng.lognormal(10, 1, n),
        "tenure": rng.integers(0, 40, n),
    })
    frame.loc[rng.random(n) < 0.05, "income"] = np.nan
    y = rng.integers(0, 2, n)
    yhat = np.where(rng.random(n) < 0.12, 1 - y, y)  # a model that is right 88% of the time everywhere
    if kind == "two categories":
        planted = (frame.region == "south").to_numpy() & (frame.plan == "pro").to_numpy()
    else:  # a category and a numeric quartile
        planted = (frame.colour == "blue").to_numpy() & (frame.age >= frame.age.quantile(0.75)).to_numpy()
    yhat = np.where(planted & (rng.random(n) < 0.7), 1 - y, yhat)  # mostly wrong on the planted slice
    return frame, y, yhat, planted


@pytest.mark.parametrize("kind", ["two categories", "category and numeric"])
def test_a_planted_slice_is_found_at_the_top(kind):
    frame, y, yhat, planted = _planted(kind)
    search = find_slices(frame, y=y, yhat=yhat, features=list(frame.columns), min_size=200, top_k=5)
    top = search.slices[0]
    assert len(top.predicates) == 2
    assert np.array_equal(slice_mask(frame, top.predicates), planted)
    assert top.p_adjusted < 1e-6 and top.value > 0.5


def test_pruning_never_loses_the_best_slice():
    """The top slice equals the best of a naive pandas groupby over every slice of up to two predicates."""
    frame, y, yhat, _ = _planted("two categories", n=6000, seed=3)
    frame = frame[["colour", "region", "plan"]]
    search = find_slices(frame, y=y, yhat=yhat, features=list(frame.columns), max_order=2, min_size=50, top_k=1)
    err = pd.Series(y != yhat, index=frame.index)
    total_n, total_e = len(frame), int(err.sum())
    rate = total_e / total_n
    best = None
    for order in (1, 2):
        for cols in combinations(frame.columns, order):
            g = err.groupby([frame[c] for c in cols]).agg(["sum", "count"])
            for key, row in g.iterrows():
                n, e = int(row["count"]), int(row["sum"])
                if n < 50 or n == total_n or e / n <= (total_e - e) / (total_n - n):
                    continue
                if _fisher(e, n, total_e - e, total_n - n) > 0.05:
                    continue
                score = 0.95 * (e / n / rate - 1) - 0.05 * (total_n / n - 1)
                key = key if isinstance(key, tuple) else (key,)
                if best is None or score > best[0] + 1e-12:
                    best = (score, {f"{c} = {v}" for c, v in zip(cols, key)}, n)
    assert search.slices[0].score == pytest.approx(best[0], abs=1e-12)
    assert {p.text for p in search.slices[0].predicates} == best[1]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(300, 1500), metric=st.sampled_from(
    ["error_rate", "false_positive_rate", "false_negative_rate"]), bins=st.integers(2, 5))
def test_reported_slices_match_their_rows(seed, n, metric, bins):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"a": rng.choice(list("xyz"), n), "b": rng.normal(size=n),
                          "c": rng.choice([1.0, 2.0, np.nan], n), "d": rng.integers(0, 30, n)})
    y = rng.integers(0, 2, n)
    yhat = np.where(rng.random(n) < 0.2 + 0.3 * (frame.a == "x"), 1 - y, y)
    search = find_slices(frame, y=y, yhat=yhat, features=list(frame.columns), metric=metric, min_size=20,
                         bins=bins, top_k=4)
    support = {"error_rate": np.ones(n, bool), "false_positive_rate": y == 0, "false_negative_rate": y == 1}[metric]
    wrong = (y != yhat) & support
    scores = [s.score for s in search.slices]
    assert scores == sorted(scores, reverse=True)
    for s in search.slices:
        mask = slice_mask(frame, s.predicates)
        assert np.array_equal(mask, _independent_mask(frame, s.predicates))
        assert s.rows == mask.sum() and s.support == (mask & support).sum() >= 20
        assert s.errors == (mask & wrong).sum()
        assert s.ci_low <= s.value <= s.ci_high and s.effect > 0
        assert s.p_value <= s.p_adjusted <= search.alpha
        assert len({p.feature for p in s.predicates}) == len(s.predicates)  # one predicate per feature


def test_time_budget_stops_the_search_and_the_finding_says_so(adult_scored):
    features = [c for c in adult_scored.frame.columns if c != "income"]
    search = find_slices(adult_scored.frame, y=adult_scored.y, yhat=adult_scored.label, features=features,
                         max_seconds=1e-9)
    assert not search.complete and search.order_reached == 0
    cfg = config_from_dict({"name": "x", "data": {"test": "t.csv", "target": "y", "sensitive": ["s"]},
                            "model": {"load": "m.skops"}, "checks": {"slices": {"enabled": True}}})
    findings = check_slices(search=search, config=cfg.checks.slices)
    assert all("time budget of 1e-09 s ran out" in f.message for f in findings)


def test_nothing_worse_is_a_pass_with_the_threshold_as_data():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.choice(list("xyz"), 2000)})
    y = rng.integers(0, 2, 2000)
    search = find_slices(frame, y=y, yhat=y.copy(), features=["a"])  # a perfect model: no errors anywhere
    cfg = config_from_dict({"name": "x", "data": {"test": "t.csv", "target": "y", "sensitive": ["s"]},
                            "model": {"load": "m.skops"}, "checks": {"slices": {"enabled": True, "min_effect": 0.02}}})
    [finding] = check_slices(search=search, config=cfg.checks.slices)
    assert finding.status == "pass" and "0.02" in finding.message
    assert finding.threshold == Threshold(metric="error_rate_difference", op="<=", value=0.02, severity="warn")


# ------------------------------------------------------------------------ multiclass and regression tasks


@pytest.fixture(scope="module")
def diabetes():
    """sklearn's diabetes data (raw units) and a ridge regression's in-sample predictions."""
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge

    frame, y = load_diabetes(return_X_y=True, as_frame=True, scaled=False)
    yhat = Ridge(alpha=1.0).fit(frame, y).predict(frame)
    return frame, y.to_numpy(), yhat


def test_regression_slices_rank_rows_beyond_the_quantile_of_absolute_errors(diabetes):
    frame, y, yhat = diabetes
    search = find_slices(frame, y=y, yhat=yhat, features=list(frame.columns), task="regression", quantile=0.9,
                         min_size=40, bins=3)
    abs_error = np.abs(y - yhat)
    cut = np.quantile(abs_error, 0.9)
    beyond = abs_error > cut
    assert search.metric == "absolute_error" and search.task == "regression"
    assert search.cut == cut and search.cut_source == "quantile" and search.quantile == 0.9
    assert search.overall_value == beyond.mean() and search.support == len(frame)
    assert search.slices, "the ridge regression is worse on some slice of the diabetes data"
    for s in search.slices:
        mask = _independent_mask(frame, s.predicates)
        assert s.rows == s.support == mask.sum() >= 40
        assert s.errors == (mask & beyond).sum() and s.value == s.errors / s.rows
        assert s.rest_value == (~mask & beyond).sum() / (~mask).sum()
    cfg = config_from_dict({"name": "x", "task": "regression", "data": {"test": "t.csv", "target": "y",
                                                                        "sensitive": ["s"]},
                            "model": {"load": "m.skops"}, "checks": {"slices": {"enabled": True}}})
    assert cfg.checks.slices.metric_for("regression") == "absolute_error"
    findings = check_slices(search=search, config=cfg.checks.slices)
    assert all(f"|y - yhat| > {cut:.4g} (the 0.9 quantile of |y - yhat| over the 442 rows searched)" in f.message
               for f in findings)
    assert findings[0].threshold.metric == "absolute_error_difference"


def test_an_explicit_threshold_is_the_cut_whatever_the_quantile(diabetes):
    frame, y, yhat = diabetes
    search = find_slices(frame, y=y, yhat=yhat, features=["sex", "bmi", "bp"], metric="absolute_error",
                         task="regression", quantile=0.5, threshold=80.0, min_size=40, bins=3)
    beyond = np.abs(y - yhat) > 80.0
    assert (search.cut, search.cut_source, search.quantile) == (80.0, "threshold", None)
    assert search.overall_value == beyond.mean()
    assert "|y - yhat| > 80 (the configured `checks.slices.threshold`)" in search.cut_text
    for s in search.slices:
        assert s.errors == (slice_mask(frame, s.predicates) & beyond).sum()


def test_multiclass_slices_count_misclassified_rows():
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    digits = load_digits(as_frame=True)
    frame = digits.frame.drop(columns="target")
    y = np.array([f"digit {d}" for d in digits.target])  # class labels, as text
    yhat = LogisticRegression(C=0.001, max_iter=300).fit(frame, y).predict(frame)
    features = ["pixel_2_4", "pixel_3_3", "pixel_4_4", "pixel_5_2", "pixel_1_5", "pixel_6_3"]
    search = find_slices(frame, y=y, yhat=yhat, features=features, task="multiclass", min_size=60, bins=3)
    wrong = y != yhat
    assert search.metric == "error_rate" and search.cut is None and search.cut_text == ""
    assert search.overall_value == wrong.mean() == pytest.approx(1 - accuracy_score(y, yhat), abs=1e-12)
    assert search.slices, "the weak classifier is worse on some slice of the digits"
    for s in search.slices:
        mask = _independent_mask(frame, s.predicates)
        assert s.rows == mask.sum() and s.errors == (mask & wrong).sum() and s.value == s.errors / s.rows
    # The same labels as integers on one side and text on the other still compare as labels.
    as_int = np.array([int(v.split()[1]) for v in yhat])
    again = find_slices(frame, y=np.array([str(v) for v in digits.target]), yhat=as_int, features=features,
                        task="multiclass", min_size=60, bins=3)
    assert again.overall_value == search.overall_value


@pytest.mark.parametrize(("metric", "task", "message"), [
    ("false_positive_rate", "multiclass",
     "`checks.slices.metric` must be one of error_rate for a multiclass audit (false_positive_rate needs a positive "
     "class: binary audits only); got 'false_positive_rate'."),
    ("false_negative_rate", "regression",
     "`checks.slices.metric` must be one of absolute_error for a regression audit (false_negative_rate needs a "
     "positive class: binary audits only); got 'false_negative_rate'."),
    ("error_rate", "regression",
     "`checks.slices.metric` must be one of absolute_error for a regression audit (error_rate counts misclassified "
     "rows: classification audits only); got 'error_rate'."),
    ("absolute_error", "binary",
     "`checks.slices.metric` must be one of error_rate, false_positive_rate, false_negative_rate for a binary audit "
     "(absolute_error needs numeric predictions: regression audits only); got 'absolute_error'."),
])
def test_a_metric_the_task_has_no_meaning_for_is_refused(metric, task, message):
    from audit.measures._slices import SLICE_METRICS_BY_TASK, check_slice_metric

    assert metric not in SLICE_METRICS_BY_TASK[task]
    with pytest.raises(audit.AuditError, match=re.escape(message)):
        check_slice_metric(metric, task)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.choice(list("xy"), 400)})
    with pytest.raises(audit.AuditError, match=re.escape(message)):
        find_slices(frame, y=rng.integers(0, 2, 400), yhat=rng.integers(0, 2, 400), features=["a"], metric=metric,
                    task=task, min_size=20)


def test_family_counts_every_candidate_slice_as_a_pandas_groupby_does():
    # The Benjamini-Hochberg family is every conjunction with at least min_size rows, pruned or not.
    rng = np.random.default_rng(7)
    n = 3000
    frame = pd.DataFrame({"a": rng.choice(list("xyz"), n), "b": rng.choice(list("pq"), n, p=[0.9, 0.1]),
                          "c": rng.choice(list("uvwst"), n)})
    y = rng.integers(0, 2, n)
    yhat = np.where(rng.random(n) < 0.2, 1 - y, y)
    search = find_slices(frame, y=y, yhat=yhat, features=["a", "b", "c"], min_size=60, max_order=3)
    expected = 0
    for order in (1, 2, 3):
        for cols in combinations(frame.columns, order):
            sizes = frame.groupby(list(cols)).size()
            expected += int(((sizes >= 60) & (sizes < n)).sum())
    assert search.family == expected >= search.evaluated
    # With a strong slice found early the search prunes, and the pruned candidates still count.
    yhat = np.where((frame.a == "x").to_numpy() & (rng.random(n) < 0.6), 1 - y, yhat)
    pruned = find_slices(frame, y=y, yhat=yhat, features=["a", "b", "c"], min_size=60, max_order=3, top_k=1)
    assert pruned.family == expected > pruned.evaluated


@pytest.mark.parametrize(("rows", "error_rate", "min_size"),
                         [(2000, 0.1, 30), pytest.param(3000, 0.03, 30, marks=pytest.mark.slow)])
def test_errors_independent_of_every_feature_rarely_give_a_slice(rows, error_rate, min_size):
    # Under the global null every reported slice is false: at most alpha of searches may report one.
    # Nominal 5%; 60 seeded searches, so more than 7 reports (P < 0.01 at a true 5%) would be a real excess.
    reported = 0
    for seed in range(60):
        rng = np.random.default_rng(seed)
        frame = pd.DataFrame({**{f"c{i}": rng.choice(list("abcde"[:2 + i % 4]), rows) for i in range(5)},
                              **{f"x{i}": rng.normal(size=rows) for i in range(3)}})
        y = rng.integers(0, 2, rows)
        yhat = np.where(rng.random(rows) < error_rate, 1 - y, y)
        search = find_slices(frame, y=y, yhat=yhat, features=list(frame.columns), min_size=min_size)
        reported += bool(search.slices)
    assert reported <= 7
