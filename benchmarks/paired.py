"""Paired against independent comparison of two models on the same rows, where the truth is known.

Two classifiers share most of their decisions (the challenger re-decides a tenth of the rows): recall 0.70
for both (no difference) or 0.70 against 0.72. For each run the paired comparison (``paired_compare``, what
``audit run`` with a challenger calls: McNemar's exact test for recall) and the independent two-sample
z-test (what comparing two separate audits amounts to) are asked whether recall differs at 5%.

Then the coverage of the paired intervals: two models whose recall depends on sex (the challenger better for
women), the difference of recall overall and for women, and the change of the equal-opportunity and
demographic-parity gaps, each against its true value (computed on 2,000,000 rows of the same process): the
share of runs whose 95% interval holds the truth.

Run: ``python benchmarks/paired.py [--runs 200] [--rows 10000] [--coverage-runs 400]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from scipy.stats import norm

from audit.inputs._groups import build_groups
from audit.inputs._model import Predictions
from audit.statistics._metrics import BINARY
from audit.statistics._paired import PairedRows, paired_compare
from audit.statistics._tasks import adapter


def _two_models(rows: int, *, recall_a: float, recall_b: float, seed: int):
    rng = np.random.default_rng(seed)
    y = (rng.random(rows) < 0.3).astype(int)
    u, v = rng.random(rows), rng.random(rows)
    flip = rng.random(rows) < 0.1
    a = np.where(y == 1, u < recall_a, rng.random(rows) < 0.1)
    b = np.where(y == 1, np.where(flip, v < recall_b, u < recall_b), a ^ (rng.random(rows) < 0.02))
    return y, a.astype(int), b.astype(int), rng.choice(["F", "M"], rows)


def _by_sex(rows: int, *, seed: int):
    """Recall 0.65 (women) and 0.72 (men) for the champion; 0.70 and 0.72 for the challenger, which re-decides
    a fifth of the rows; selection of negatives 0.08 and 0.12 by sex."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(np.array(["F", "M"]), rows, p=[0.35, 0.65])
    woman = sex == "F"
    y = (rng.random(rows) < np.where(woman, 0.2, 0.35)).astype(int)
    u, v = rng.random(rows), rng.random(rows)
    flip = rng.random(rows) < 0.2
    ra, rb = np.where(woman, 0.65, 0.72), np.where(woman, 0.70, 0.72)
    neg = rng.random(rows) < np.where(woman, 0.08, 0.12)
    a = np.where(y == 1, u < ra, neg)
    b = np.where(y == 1, np.where(flip, v < rb, u < rb), np.where(flip, rng.random(rows) < np.where(woman, 0.08, 0.12),
                                                                    neg))
    return y, a.astype(int), b.astype(int), sex


def _paired(y, a, b, sex, *, replicates: int, seed: int, fairness: list[str]):
    task = adapter("binary")
    groups = build_groups(pd.DataFrame({"sex": sex}), sensitive=["sex"], bins={}, intersections=1, source="simulation")
    score_a, score_b = a * 0.5 + 0.25, b * 0.5 + 0.25
    rows = PairedRows(leaf=groups.row_leaf, n_leaves=len(groups.leaf_levels), unpack=task.row_unpack(BINARY),
                      champion=task.row_values(y=y, predictions=Predictions(score_a, a, True), registry=BINARY),
                      challenger=task.row_values(y=y, predictions=Predictions(score_b, b, True), registry=BINARY))
    return paired_compare(rows, groups, registry=BINARY, metrics=["recall"], fairness=fairness,
                          replicates=replicates, level=0.95, seed=seed, min_group_size=30)


def _truth(y, a, b, sex) -> dict[tuple[str, str | None, str | None], float]:
    def rec(p, m):
        return p[m & (y == 1)].mean()

    def sel(p, m):
        return p[m].mean()

    w, m, every = sex == "F", sex == "M", np.ones(len(y), bool)
    return {("recall", None, None): rec(b, every) - rec(a, every),
            ("recall", "sex", "F"): rec(b, w) - rec(a, w),
            ("equal_opportunity_difference", "sex", None): abs(rec(b, w) - rec(b, m)) - abs(rec(a, w) - rec(a, m)),
            ("demographic_parity_difference", "sex", None): abs(sel(b, w) - sel(b, m)) - abs(sel(a, w) - sel(a, m))}


def coverage(*, runs: int, rows: int, replicates: int = 200) -> dict[tuple[str, str | None, str | None], float]:
    """Share of runs whose paired 95% interval holds the true difference, per quantity."""
    truth = _truth(*_by_sex(2_000_000, seed=99))
    held = dict.fromkeys(truth, 0)
    fairness = ["equal_opportunity_difference", "demographic_parity_difference"]
    for r in range(runs):
        out = _paired(*_by_sex(rows, seed=1000 + r), replicates=replicates, seed=r, fairness=fairness)
        for d in out.differences:
            key = (d.metric, d.grouping, d.group)
            if key in truth and d.ci_low is not None:
                held[key] += d.ci_low <= truth[key] <= d.ci_high
    return {k: v / runs for k, v in held.items()} | {("truth",) + k: truth[k] for k in truth}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--coverage-runs", type=int, default=400)
    args = parser.parse_args()
    started = time.process_time()
    task = adapter("binary")
    print(f"{args.runs} runs, {args.rows} rows; share of runs where recall is found to differ at 5%")
    print(f"{'truth':<22}{'paired (McNemar)':>18}{'independent z':>16}")
    for label, (ra, rb, offset) in {"no difference": (0.70, 0.70, 0), "0.70 against 0.72": (0.70, 0.72, 10_000)}.items():
        paired = independent = 0
        for r in range(args.runs):
            y, a, b, sex = _two_models(args.rows, recall_a=ra, recall_b=rb, seed=offset + r)
            groups = build_groups(pd.DataFrame({"sex": sex}), sensitive=["sex"], bins={}, intersections=1,
                                  source="simulation")
            score_a, score_b = a * 0.5 + 0.25, b * 0.5 + 0.25
            rows = PairedRows(leaf=groups.row_leaf, n_leaves=len(groups.leaf_levels), unpack=task.row_unpack(BINARY),
                              champion=task.row_values(y=y, predictions=Predictions(score_a, a, True), registry=BINARY),
                              challenger=task.row_values(y=y, predictions=Predictions(score_b, b, True), registry=BINARY))
            out = paired_compare(rows, groups, registry=BINARY, metrics=["recall"], fairness=[], replicates=50,
                                 level=0.95, seed=r, min_group_size=30)
            paired += next(d for d in out.differences if d.grouping is None).p_value <= 0.05
            pos = y == 1
            pa, pb, m = a[pos].mean(), b[pos].mean(), pos.sum()
            se = np.sqrt(pa * (1 - pa) / m + pb * (1 - pb) / m)
            independent += 2 * norm.sf(abs(pb - pa) / se) <= 0.05
        print(f"{label:<22}{paired / args.runs:>18.3f}{independent / args.runs:>16.3f}")
    print(f"\ncoverage of the paired 95% intervals, {args.coverage_runs} runs of {args.rows} rows, 200 replicates")
    held = coverage(runs=args.coverage_runs, rows=args.rows)
    for key, share in held.items():
        if key[0] != "truth":
            name = key[0] + ("" if key[1] is None else f" [{key[1]}{'' if key[2] is None else '=' + key[2]}]")
            print(f"  {name:<46} truth {held[('truth',) + key]:+.4f}  coverage {share:.3f}")
    print(f"CPU {time.process_time() - started:.0f} s")


if __name__ == "__main__":
    main()
