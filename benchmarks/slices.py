"""Time slice discovery against a naive pandas groupby enumeration of the same slices.

A seeded synthetic data set of 20 features (10 categorical of 2 to 12 levels, 10 numeric, some with
missing values), labels from a logistic model with an interaction, and a model that is wrong 15% of the
time everywhere and mostly wrong on one planted slice of two predicates. Ours runs ``find_slices`` with the
defaults of ``checks.slices`` (up to 3 predicates, at least 100 rows, 4 quantile bins, 60 s budget). The
peer codes the features the same way and, with ``DataFrame.groupby``, counts rows and errors of every
conjunction of up to 3 predicates (no pruning), then scores and tests them all: it runs only at sizes where
it finishes in a few minutes. Both report whether their best slice is the planted one.

    python benchmarks/slices.py                      # 100k rows both, 1M rows ours
    python benchmarks/slices.py --rows 1000000 --peer-rows 0
"""

from __future__ import annotations

import argparse
import time
from itertools import combinations

import numpy as np
import pandas as pd
from scipy.special import ndtr

from audit.measures._slices import _encode, find_slices, slice_mask


def make_data(rows: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Features, labels, predicted labels and the planted slice's mask."""
    rng = np.random.default_rng(seed)
    cols: dict[str, np.ndarray] = {}
    for j in range(10):
        levels = np.array([f"v{k}" for k in range(2 + j)], dtype=object)
        cols[f"cat{j}"] = levels[rng.integers(0, 2 + j, rows)]
    for j in range(10):
        x = rng.lognormal(0, 1, rows) if j % 3 == 0 else rng.normal(size=rows)
        if j % 4 == 1:
            x[rng.random(rows) < 0.05] = np.nan
        cols[f"num{j}"] = x
    frame = pd.DataFrame(cols)
    logit = 0.8 * np.nan_to_num(frame["num1"].to_numpy()) - 0.5 * (frame["cat3"] == "v1").to_numpy() - 0.3
    y = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    yhat = np.where(rng.random(rows) < 0.15, 1 - y, y)
    planted = (frame["cat5"] == "v2").to_numpy() & (frame["num4"] >= frame["num4"].quantile(0.75)).to_numpy()
    yhat = np.where(planted & (rng.random(rows) < 0.6), 1 - y, yhat).astype(np.int8)
    return frame, y, yhat, planted


def naive(frame: pd.DataFrame, y: np.ndarray, yhat: np.ndarray, *, min_size: int = 100, bins: int = 4,
          max_order: int = 3) -> tuple[float, int, frozenset[str]]:
    """Every slice of up to ``max_order`` predicates by groupby; returns seconds, slices tested, best slice."""
    started = time.perf_counter()
    coded = {c: _encode(c, frame[c], bins=bins, min_size=min_size) for c in frame.columns}
    codes = pd.DataFrame({c: f.codes for c, f in coded.items()})
    err = pd.Series((y != yhat).astype(np.float64))
    total_n, total_e = len(frame), float(err.sum())
    rate = total_e / total_n
    tested, best = 0, (-np.inf, frozenset())
    for order in range(1, max_order + 1):
        for combo in combinations(codes.columns, order):
            g = err.groupby([codes[c] for c in combo]).agg(["sum", "count"])
            keys = np.array(g.index.tolist()).reshape(len(g), order)
            valid = np.all(keys < np.array([len(coded[c].predicates) for c in combo]), axis=1)
            n, e = g["count"].to_numpy(float), g["sum"].to_numpy(float)
            keep = valid & (n >= min_size) & (n < total_n)
            tested += int(keep.sum())
            n, e, keys = n[keep], e[keep], keys[keep]
            if len(n) == 0:
                continue
            pooled = total_e / total_n
            z = (e / n - (total_e - e) / (total_n - n)) / np.sqrt(pooled * (1 - pooled) * (1 / n + 1 / (total_n - n)))
            score = 0.95 * (e / n / rate - 1) - 0.05 * (total_n / n - 1)
            score[(ndtr(-z) > 0.05) | (z <= 0)] = -np.inf
            i = int(np.argmax(score))
            if score[i] > best[0]:
                best = (score[i], frozenset(coded[c].predicates[k].text for c, k in zip(combo, keys[i])))
    return time.perf_counter() - started, tested, best[1]


def ours(frame: pd.DataFrame, y: np.ndarray, yhat: np.ndarray) -> tuple[float, object]:
    started = time.perf_counter()
    search = find_slices(frame, y=y, yhat=yhat, features=list(frame.columns))
    return time.perf_counter() - started, search


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append", help="sizes for ours (default 100k and 1M)")
    parser.add_argument("--peer-rows", type=int, default=100_000, help="size for the naive peer (0: skip)")
    args = parser.parse_args()
    sizes = args.rows or [100_000, 1_000_000]
    print("| rows | ours (s) | complete | slices tested | planted slice on top | naive groupby (s) | slices tested | "
          "planted on top | ratio |")
    print("|---:|---:|---|---:|---|---:|---:|---|---:|")
    for rows in sizes:
        frame, y, yhat, planted = make_data(rows)
        seconds, search = ours(frame, y, yhat)
        top_ok = bool(search.slices) and np.array_equal(slice_mask(frame, search.slices[0].predicates), planted)
        peer = "not run | | |"
        if rows == args.peer_rows:
            peer_s, peer_tested, peer_best = naive(frame, y, yhat)
            peer_ok = peer_best == frozenset(p.text for p in search.slices[0].predicates) if top_ok else False
            peer = f"{peer_s:.1f} | {peer_tested:,} | {peer_ok} | {peer_s / seconds:.0f}x"
        print(f"| {rows:,} | {seconds:.1f} | {search.complete} | {search.evaluated:,} | {top_ok} | {peer} |", flush=True)


if __name__ == "__main__":
    main()
