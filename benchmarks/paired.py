"""Paired against independent comparison of two models on the same rows, where the truth is known.

Two classifiers share most of their decisions (the challenger re-decides a tenth of the rows): recall 0.70
for both (no difference) or 0.70 against 0.72. For each run the paired comparison (``paired_compare``, what
``audit run`` with a challenger calls: McNemar's exact test for recall) and the independent two-sample
z-test (what comparing two separate audits amounts to) are asked whether recall differs at 5%.

Run: ``python benchmarks/paired.py [--runs 200] [--rows 10000]``.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--rows", type=int, default=10_000)
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
    print(f"CPU {time.process_time() - started:.0f} s")


if __name__ == "__main__":
    main()
