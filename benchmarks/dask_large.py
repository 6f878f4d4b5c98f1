"""Time and peak memory per worker of an audit on a dask LocalCluster, against the local engine.

Writes a seeded synthetic Parquet data set of ROWS rows as files of FILE_ROWS rows each (one file in memory
at a time, so generation stays in bounded memory), plus a 50,000-row training file: six scorecard-style
integer features, sensitive attributes of 2, 5 and 6 levels (all 3 orders of intersections: 71 groups) and
a binary target. The model is a logistic regression in the standard preprocessing pipeline, trained on the
small file; its scores take one value per combination of feature levels (at most 7,200), which bounds the
exact cell table. Then, each in a child process:

1. the local engine with ``data.batch_rows`` on the first COMPARE_ROWS rows,
2. the dask engine on the same rows, on a LocalCluster of WORKERS single-threaded worker processes,
3. the dask engine on all ROWS rows, on the same kind of cluster,

and prints wall time, the peak resident memory of each worker (``getrusage`` in the worker, through
``client.run``) and of the client process, and whether runs 1 and 2 gave the same findings.

    nice -n 10 python benchmarks/dask_large.py                          # 50M rows, 5M compared
    python benchmarks/dask_large.py --rows 2000000 --compare-rows 1000000 --file-rows 250000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

LEVELS = {"sex": ["F", "M"], "region": ["N", "S", "E", "W", "C"],
          "age_band": ["18-25", "25-35", "35-45", "45-55", "55-65", "65+"]}
FEATURE_LEVELS = (5, 4, 6, 3, 5, 4)  # 7,200 combinations


def _chunk(n: int, rng: np.random.Generator) -> pa.Table:
    columns = {f"x{i}": rng.integers(0, k, n).astype(np.int8) for i, k in enumerate(FEATURE_LEVELS)}
    sensitive = {name: np.asarray(levels)[rng.integers(0, len(levels), n)] for name, levels in LEVELS.items()}
    logit = sum((columns[f"x{i}"] - (k - 1) / 2) * (0.6 - 0.2 * i) for i, k in enumerate(FEATURE_LEVELS))
    logit = logit - 1.0 + 0.3 * (sensitive["sex"] == "M")
    columns.update(sensitive)
    columns["label"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    return pa.table(columns)


def write_data(folder: Path, rows: int, *, file_rows: int, seed: int) -> list[Path]:
    """``rows`` rows as files ``part-00000.parquet``, ... of ``file_rows`` rows; one file in memory at a time."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, start in enumerate(range(0, rows, file_rows)):
        rng = np.random.default_rng([seed, index])
        path = folder / f"part-{index:05d}.parquet"
        pq.write_table(_chunk(min(file_rows, rows - start), rng), path, row_group_size=250_000)
        paths.append(path)
    return paths


def _config(test: str, *, engine: str, batch_rows: int | None) -> dict:
    return {
        "name": f"dask-large-{engine}", "engine": engine,
        "data": {"test": test, "train": "train/part-00000.parquet", "target": "label", "positive_label": 1,
                 "sensitive": list(LEVELS), "intersections": 3, "batch_rows": batch_rows},
        "model": {"train": {"estimator": "sklearn.linear_model.LogisticRegression", "params": {"max_iter": 200}}},
        "bootstrap": {"replicates": 200},
        "checks": {"performance": {"min": {"roc_auc": 0.6}}, "explainability": {"sample": 2000}},
    }


def _child(folder: Path, test: str, engine: str, workers: int, batch_rows: int) -> None:
    """One audit; prints a JSON line of its figures."""
    import audit

    raw = _config(test, engine=engine, batch_rows=batch_rows if engine == "local" else None)
    out: dict = {"engine": engine}
    if engine == "local":
        start = time.perf_counter()
        result = audit.run(audit.config_from_dict(raw, base_dir=str(folder)))
        out["seconds"] = time.perf_counter() - start
    else:
        import logging

        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, memory_limit="4GiB",
                          dashboard_address=":0", silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
            start = time.perf_counter()
            result = audit.run(audit.config_from_dict(raw, base_dir=str(folder)), scheduler=cluster.scheduler_address)
            out["seconds"] = time.perf_counter() - start
            peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
            out["worker_peak_bytes"] = sorted(peaks.values())
            out["partitions"] = result.document["audit"]["engine"]["partitions"]
    out["client_peak_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out["rows"] = result.document["data"]["rows"]
    out["metrics"] = result.document["metrics"]
    out["fairness"] = result.document["fairness"]
    print(json.dumps(out))


def _run_child(folder: Path, test: str, engine: str, args: argparse.Namespace) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", str(folder), test, engine, str(args.workers),
                           str(args.batch_rows)], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{engine} audit of {test} failed: {proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        folder, test, engine, workers, batch_rows = sys.argv[2:7]
        _child(Path(folder), test, engine, int(workers), int(batch_rows))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000_000)
    parser.add_argument("--compare-rows", type=int, default=5_000_000)
    parser.add_argument("--file-rows", type=int, default=1_000_000)
    parser.add_argument("--batch-rows", type=int, default=500_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/audit-dask-large"))
    args = parser.parse_args()
    if args.compare_rows % args.file_rows:
        sys.exit("--compare-rows must be a multiple of --file-rows (the comparison reads whole files)")
    folder = args.folder
    start = time.perf_counter()
    paths = write_data(folder / "test", args.rows, file_rows=args.file_rows, seed=0)
    write_data(folder / "train", 50_000, file_rows=50_000, seed=1)
    size = sum(p.stat().st_size for p in paths)
    print(f"wrote {args.rows:,} rows in {len(paths)} files in {time.perf_counter() - start:.1f} s "
          f"({size / 2**20:.0f} MiB Parquet) under {folder}", flush=True)
    # The first compare_rows rows: a glob of the first files (the only files whose index is below the cut).
    compare = [p.name for p in paths[: args.compare_rows // args.file_rows]]
    subset = folder / "compare"
    subset.mkdir(exist_ok=True)
    for name in compare:
        link = subset / name
        if not link.exists():
            link.symlink_to(folder / "test" / name)
    figures = {}
    for label, test, engine in (("local", "compare/*.parquet", "local"), ("dask", "compare/*.parquet", "dask"),
                                ("dask-full", "test/*.parquet", "dask")):
        figures[label] = result = _run_child(folder, test, engine, args)
        workers = ", ".join(_gib(b) for b in result.get("worker_peak_bytes", []))
        print(f"{label:9s} {engine:5s} {result['rows']:>12,} rows: {result['seconds']:7.1f} s, client peak "
              f"{_gib(result['client_peak_bytes'])}" + (f", worker peaks {workers}" if workers else ""), flush=True)
    same = (figures["local"]["metrics"] == figures["dask"]["metrics"]
            and figures["local"]["fairness"] == figures["dask"]["fairness"])
    print(f"same metrics and fairness (with intervals) on {args.compare_rows:,} rows: {same}; "
          f"dask / local time: {figures['dask']['seconds'] / figures['local']['seconds']:.2f}")


if __name__ == "__main__":
    main()
