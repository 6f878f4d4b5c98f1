"""Peak memory and time of a whole `audit run` on a large Parquet file read in batches.

Writes a seeded synthetic data set (20 numeric features, sensitive attributes of 2, 5 and 6 levels, a
binary target) as a Parquet file of ROWS rows, in row groups so that writing it never holds it whole, plus a
50,000-row training file. Then runs `audit run` in a child process with `data.batch_rows` set: the model (a
logistic regression in the standard preprocessing pipeline) is trained on the small file and scores every
row of the large one, batch by batch. Prints the child's wall time and peak resident memory.

    python benchmarks/large_parquet.py                      # 10M rows, batches of 500k
    python benchmarks/large_parquet.py --rows 2000000 --batch-rows 250000
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

LEVELS = {"sex": ["F", "M"], "region": ["N", "S", "E", "W", "C"], "age_band": ["18-25", "25-35", "35-45",
                                                                            "45-55", "55-65", "65+"]}


def write_data(path: Path, rows: int, *, seed: int, chunk: int = 1_000_000) -> None:
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=20) / np.sqrt(20)
    writer = None
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        features = rng.normal(size=(n, 20)).astype(np.float32)
        columns = {f"x{i}": features[:, i] for i in range(20)}
        sensitive = {name: np.asarray(levels)[rng.integers(0, len(levels), n)] for name, levels in LEVELS.items()}
        logit = features @ weights - 1.0 + 0.3 * (sensitive["sex"] == "M")
        columns.update(sensitive)
        columns["label"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int8)
        table = pa.table(columns)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=min(chunk, 250_000))
    writer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--batch-rows", type=int, default=500_000)
    parser.add_argument("--keep", type=Path, help="folder to keep the data and report in")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="audit-large-"))
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    write_data(folder / "test.parquet", args.rows, seed=0)
    write_data(folder / "train.parquet", 50_000, seed=1)
    print(f"wrote {args.rows:,} rows in {time.perf_counter() - start:.1f} s "
          f"({(folder / 'test.parquet').stat().st_size / 2**20:.0f} MiB Parquet)", flush=True)
    config = {
        "name": "large-parquet",
        "data": {"test": "test.parquet", "train": "train.parquet", "target": "label", "positive_label": 1,
                 "sensitive": list(LEVELS), "intersections": 3, "batch_rows": args.batch_rows},
        "model": {"train": {"estimator": "sklearn.linear_model.LogisticRegression", "params": {"max_iter": 200}}},
        "bootstrap": {"replicates": 200},
        "checks": {"performance": {"min": {"roc_auc": 0.6}}},
    }
    (folder / "audit.yaml").write_text(yaml.safe_dump(config))
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "audit", "run", str(folder / "audit.yaml"), "--out",
                           str(folder / "reports"), "--quiet"], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    if proc.returncode not in (0, 1):
        sys.exit(f"audit run failed ({proc.returncode}): {proc.stderr}")
    print(f"audit run: {args.rows:,} rows in batches of {args.batch_rows:,}: {seconds:.1f} s, "
          f"peak memory {peak:.2f} GiB (exit {proc.returncode})")


if __name__ == "__main__":
    main()
