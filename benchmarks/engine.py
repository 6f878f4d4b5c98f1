"""Time the group-statistics engine against fairlearn's MetricFrame on the same metrics and groupings.

A seeded synthetic data set: 20 numeric features scored by a fixed logistic model, three sensitive
attributes of 2, 5 and 6 levels (60 intersectional groups), at 100k, 1M and 10M rows. Both sides get the
same predictions and compute the 11 built-in metrics (ROC AUC included) for the three attributes and all
their intersections (7 groupings, 73 groups). Ours runs with no bootstrap and with 200 replicates (intervals
for every metric and gap, group-versus-rest tests); fairlearn runs without bootstrap, and only at sizes
where it finishes in a few minutes. Each measurement runs in its own process, so peak memory (max RSS) is
that measurement's alone, data included.

    python benchmarks/engine.py                 # 100k and 1M with fairlearn, 10M ours only
    python benchmarks/engine.py --rows 100000   # one size
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
import pandas as pd

LEVELS = {"s2": 2, "s5": 5, "s6": 6}
FAIRLEARN_MAX_ROWS = 1_000_000


def make_data(rows: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Sensitive columns, labels, scores and predicted labels of ``rows`` synthetic people."""
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=20) / np.sqrt(20)
    sensitive = pd.DataFrame({name: rng.integers(0, k, rows).astype(np.int8) for name, k in LEVELS.items()})
    logit = np.empty(rows)
    for start in range(0, rows, 1_000_000):  # features in chunks: 20 columns of 10M rows need not coexist
        stop = min(rows, start + 1_000_000)
        features = rng.normal(size=(stop - start, 20))
        logit[start:stop] = features @ weights - 1.0 + 0.15 * sensitive["s5"].to_numpy()[start:stop]
    score = 1 / (1 + np.exp(-logit))
    y = (rng.random(rows) < score).astype(np.int8)
    sensitive = sensitive.astype(str)
    return sensitive, y, score, (score >= 0.5).astype(np.int8)


def run_ours(rows: int, replicates: int) -> float:
    from audit.statistics._evaluate import evaluate
    from audit.inputs._groups import LeafCoder
    from audit.statistics._cells import cell_stats, relabel

    sensitive, y, score, yhat = make_data(rows)
    start = time.perf_counter()
    coder = LeafCoder(sensitive=list(LEVELS), bins={}, source="synthetic")
    leaf, labels = coder.encode(sensitive)
    cells = relabel(cell_stats(leaf=leaf, score=score, y=y, yhat=yhat, n_leaves=coder.n_leaves), coder.leaf_order())
    groups = coder.index(intersections=3, row_leaf=leaf[:0], labels=labels.iloc[:0])
    evaluation = evaluate(BinaryTable(cells), groups, registry=BINARY, replicates=replicates, level=0.95, seed=0, min_group_size=30)
    elapsed = time.perf_counter() - start
    assert sum(len(g.groups) for g in evaluation.by_grouping) == 2 + 5 + 6 + 10 + 12 + 30 + 60
    return elapsed


def run_fairlearn(rows: int) -> float:
    from itertools import combinations

    from fairlearn.metrics import MetricFrame, false_negative_rate, false_positive_rate, selection_rate
    from sklearn import metrics as skm

    sensitive, y, score, yhat = make_data(rows)
    label_metrics = {"accuracy": skm.accuracy_score, "balanced_accuracy": skm.balanced_accuracy_score,
                     "precision": skm.precision_score, "recall": skm.recall_score, "f1": skm.f1_score,
                     "selection_rate": selection_rate, "false_positive_rate": false_positive_rate,
                     "false_negative_rate": false_negative_rate}
    score_metrics = {"roc_auc": skm.roc_auc_score, "log_loss": skm.log_loss,
                     "brier_score_loss": skm.brier_score_loss}
    start = time.perf_counter()
    for order in (1, 2, 3):
        for columns in combinations(LEVELS, order):
            features = sensitive[list(columns)]
            MetricFrame(metrics=label_metrics, y_true=y, y_pred=yhat, sensitive_features=features).by_group
            MetricFrame(metrics=score_metrics, y_true=y, y_pred=score, sensitive_features=features).by_group
    return time.perf_counter() - start


def _worker(args: argparse.Namespace) -> None:
    seconds = run_fairlearn(args.rows) if args.worker == "fairlearn" else run_ours(args.rows, args.replicates)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mib": peak_mib}))


def _measure(worker: str, rows: int, replicates: int = 0) -> dict:
    cmd = [sys.executable, __file__, "--worker", worker, "--rows", str(rows), "--replicates", str(replicates)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append", help="sizes to run (default 100k, 1M, 10M)")
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--worker", choices=["ours", "fairlearn"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        args.rows = args.rows[0]
        _worker(args)
        return
    sizes = args.rows or [100_000, 1_000_000, 10_000_000]
    print(f"{'rows':>11} {'engine':<28} {'seconds':>9} {'peak MiB':>9} {'fairlearn / this':>17}")
    for rows in sizes:
        results = {"ours, no bootstrap": _measure("ours", rows, 0),
                   f"ours, {args.replicates} replicates": _measure("ours", rows, args.replicates)}
        if rows <= FAIRLEARN_MAX_ROWS:
            results["fairlearn MetricFrame"] = _measure("fairlearn", rows)
        reference = results.get("fairlearn MetricFrame", {}).get("seconds")
        for name, r in results.items():
            ratio = f"{reference / r['seconds']:.1f}x" if reference else "-"
            print(f"{rows:>11,} {name:<28} {r['seconds']:>9.2f} {r['peak_mib']:>9.0f} {ratio:>17}", flush=True)


if __name__ == "__main__":
    main()
