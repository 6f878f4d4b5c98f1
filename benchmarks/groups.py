"""CPU time and peak memory of the group-statistics engine against the number of leaves.

A seeded synthetic data set of binary predictions with three sensitive attributes whose levels multiply to
60, 600, 6,000 or 60,000 leaves (2 x 5 x 6, 2 x 50 x 6, 2 x 50 x 60, 2 x 500 x 60), at 100k and 1M rows.
Three measurements of the same groups (the three attributes and all their intersections, 7 groupings):

* ``engine``: the audit's engine (leaf codes, cell table, every metric of every group with ``--replicates``
  bootstrap replicates, group-versus-rest tests, fairness gaps), ``min_group_size`` 30; as in an audit,
  intersections none of whose groups has 30 rows are counted, not evaluated (``groups`` shows the groups
  evaluated, and the summarised ones after a ``+``);
* ``floor``: numpy alone, no bootstrap: for each grouping, ``np.bincount`` of the combined code of its
  attributes for the rows, positives, true and false positives (the least any engine has to do);
* ``metricframe``: fairlearn's ``MetricFrame`` with the 8 label metrics, no bootstrap, where it finishes
  within ``--timeout`` seconds.

Each measurement runs in its own process: CPU seconds are that process's ``time.process_time()`` from
after the data is made and the engine's modules are imported, and peak memory is its maximum resident set (``resource``), data included; the data
alone is measured too (``data``), so the engine's own memory is the difference.

    python benchmarks/groups.py                     # 60 to 60,000 leaves, 100k and 1M rows, 200 replicates
    python benchmarks/groups.py --quick             # 60 and 600 leaves at 100k rows, 50 replicates
    python benchmarks/groups.py --rows 100000 --leaves 60 --leaves 6000
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

#: Levels of the three sensitive attributes for each number of leaves.
SHAPES = {60: (2, 5, 6), 600: (2, 50, 6), 6_000: (2, 50, 60), 60_000: (2, 500, 60)}
NAMES = ("a", "b", "c")


def make_data(rows: int, leaves: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Sensitive columns (text), labels, scores and predicted labels of ``rows`` synthetic rows."""
    rng = np.random.default_rng(seed)
    levels = SHAPES[leaves]
    codes = {name: rng.integers(0, k, rows) for name, k in zip(NAMES, levels)}
    logit = rng.normal(size=rows) - 1.0 + 0.3 * (codes["a"] == 1) + 0.01 * codes["b"] % 7
    score = np.round(1 / (1 + np.exp(-logit)), 4)  # scores with ties, as a model's often are
    y = (rng.random(rows) < score).astype(np.int8)
    sensitive = pd.DataFrame({name: pd.Categorical.from_codes(c, categories=[f"{name}{i}" for i in range(k)])
                              for (name, c), k in zip(codes.items(), levels)})
    return sensitive, y, score, (score >= 0.5).astype(np.int8)


def _groupings() -> list[tuple[str, ...]]:
    from itertools import combinations

    return [cols for order in (1, 2, 3) for cols in combinations(NAMES, order)]


def run_engine(sensitive: pd.DataFrame, y: np.ndarray, score: np.ndarray, yhat: np.ndarray,
               replicates: int) -> dict:
    from audit.inputs._groups import LeafCoder
    from audit.statistics._cells import cell_stats, relabel
    from audit.statistics._evaluate import evaluate
    from audit.statistics._metrics import BINARY
    from audit.statistics._tables import BinaryTable

    coder = LeafCoder(sensitive=list(NAMES), bins={}, source="synthetic")
    leaf, labels = coder.encode(sensitive)
    cells = relabel(cell_stats(leaf=leaf, score=score, y=y, yhat=yhat, n_leaves=coder.n_leaves), coder.leaf_order())
    rows_by_leaf = np.bincount(cells.leaf, weights=cells.count, minlength=coder.n_leaves)
    # As the audit does: intersections with no group of min_group_size rows are counted, not evaluated.
    groups = coder.index(intersections=3, row_leaf=leaf[:0], labels=labels.iloc[:0]).judged(rows_by_leaf,
                                                                                             min_group_size=30)
    evaluation = evaluate(BinaryTable(cells), groups, registry=BINARY, replicates=replicates, level=0.95, seed=0,
                          min_group_size=30)
    return {"leaves": coder.n_leaves, "groups": sum(len(g.groups) for g in evaluation.by_grouping),
            "summarised": sum(s.groups for s in groups.small_intersections)}


def run_floor(sensitive: pd.DataFrame, y: np.ndarray, score: np.ndarray, yhat: np.ndarray) -> dict:  # noqa: ARG001
    codes = {name: sensitive[name].cat.codes.to_numpy(np.int64) for name in NAMES}
    sizes = {name: len(sensitive[name].cat.categories) for name in NAMES}
    groups = 0
    for cols in _groupings():
        code = np.zeros(len(y), dtype=np.int64)
        for c in cols:
            code = code * sizes[c] + codes[c]
        width = int(np.prod([sizes[c] for c in cols]))
        n = np.bincount(code, minlength=width)
        np.bincount(code, weights=y, minlength=width)
        np.bincount(code, weights=yhat & y, minlength=width)
        np.bincount(code, weights=yhat & (1 - y), minlength=width)
        groups += int((n > 0).sum())
    return {"groups": groups}


def run_metricframe(sensitive: pd.DataFrame, y: np.ndarray, score: np.ndarray, yhat: np.ndarray) -> dict:  # noqa: ARG001
    from fairlearn.metrics import MetricFrame, false_negative_rate, false_positive_rate, selection_rate
    from sklearn import metrics as skm

    label_metrics = {"accuracy": skm.accuracy_score, "balanced_accuracy": skm.balanced_accuracy_score,
                     "precision": skm.precision_score, "recall": skm.recall_score, "f1": skm.f1_score,
                     "selection_rate": selection_rate, "false_positive_rate": false_positive_rate,
                     "false_negative_rate": false_negative_rate}
    groups = 0
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for cols in _groupings():
            frame = MetricFrame(metrics=label_metrics, y_true=y, y_pred=yhat,
                                sensitive_features=sensitive[list(cols)].astype(str))
            groups += len(frame.by_group.dropna(how="all"))
    return {"groups": groups}


def _worker(args: argparse.Namespace) -> None:
    data = make_data(args.rows, args.leaves)
    if args.worker == "engine":
        # Imports (scipy.stats alone is about a second) are a fixed cost that every audit pays once, whatever
        # its rows and groups, and the floor pays none: they are made before the clock starts.
        import audit.statistics._evaluate  # noqa: F401
    t0 = time.process_time()
    if args.worker == "engine":
        info = run_engine(*data, replicates=args.replicates)
    elif args.worker == "floor":
        info = run_floor(*data)
    elif args.worker == "metricframe":
        info = run_metricframe(*data)
    else:
        info = {}
    info["cpu"] = time.process_time() - t0
    info["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(info))


def _measure(worker: str, rows: int, leaves: int, replicates: int, timeout: float) -> dict | None:
    cmd = [sys.executable, __file__, "--worker", worker, "--rows", str(rows), "--leaves", str(leaves),
           "--replicates", str(replicates)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append", help="sizes (default 100k and 1M)")
    parser.add_argument("--leaves", type=int, action="append", choices=sorted(SHAPES),
                        help="numbers of leaves (default all four)")
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds before a measurement is given up")
    parser.add_argument("--no-metricframe", action="store_true", help="skip fairlearn's MetricFrame")
    parser.add_argument("--quick", action="store_true", help="60 and 600 leaves at 100k rows, 50 replicates")
    parser.add_argument("--worker", choices=["engine", "floor", "metricframe", "data"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        args.rows = args.rows[0]
        args.leaves = args.leaves[0]
        _worker(args)
        return
    if args.quick:
        args.rows, args.leaves, args.replicates = args.rows or [100_000], args.leaves or [60, 600], 50
    sizes, leaf_counts = args.rows or [100_000, 1_000_000], args.leaves or sorted(SHAPES)
    print(f"{'rows':>10} {'leaves':>7} {'measure':<12} {'groups':>7} {'CPU s':>8} {'peak MiB':>9} "
          f"{'vs floor':>9} {'vs prev CPU':>12} {'vs prev MiB':>12}")
    for rows in sizes:
        previous: dict[str, dict] = {}
        for leaves in leaf_counts:
            data = _measure("data", rows, leaves, 0, args.timeout)
            floor = _measure("floor", rows, leaves, 0, args.timeout)
            results = {"data": data, "floor": floor,
                       "engine": _measure("engine", rows, leaves, args.replicates, args.timeout)}
            if not args.no_metricframe:
                results["metricframe"] = _measure("metricframe", rows, leaves, 0, args.timeout)
            for name, r in results.items():
                if r is None:
                    print(f"{rows:>10,} {leaves:>7,} {name:<12} {'did not finish in the time allowed':>40}")
                    continue
                vs_floor = (f"{r['cpu'] / floor['cpu']:.1f}x" if floor and name in ("engine", "metricframe")
                            and floor["cpu"] > 0 else "")
                before = previous.get(name)
                vs_cpu = f"{r['cpu'] / before['cpu']:.1f}x" if before and before["cpu"] > 0 else ""
                vs_mem = f"{r['peak_mib'] / before['peak_mib']:.2f}x" if before else ""
                label = f"{name} ({args.replicates} reps)" if name == "engine" else name
                shown = f"{r.get('groups', '')}" + (f"+{r['summarised']}" if r.get("summarised") else "")
                print(f"{rows:>10,} {leaves:>7,} {label:<12} {shown:>7} {r['cpu']:>8.2f} "
                      f"{r['peak_mib']:>9.0f} {vs_floor:>9} {vs_cpu:>12} {vs_mem:>12}", flush=True)
                previous[name] = r


if __name__ == "__main__":
    main()
