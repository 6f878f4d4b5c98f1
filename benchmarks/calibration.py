"""Calibration of the audit's verdicts where the truth is known.

Two parts:

1. **Gates through ``audit.run``.** Predictions-only audits of synthetic data with an Adult-like structure
   (5 races x 2 sexes, intersections of order 2, every cell identical unless a gap is planted), 200
   bootstrap replicates, 95%. For each scenario it prints how often each gate ends ``fail``,
   ``inconclusive`` (warn) and ``pass``, and how often the whole gate set fails:
   ``parity`` (a perfectly fair model), ``at_threshold`` (women's true positive rate lower by exactly the
   threshold, 0.10) and ``twice`` (lower by 0.20).
2. **Interval coverage** of a rate gap from the engine's ``gap_interval`` (the function ``audit.run``
   uses for every gap; ``tests/statistics/test_inference.py`` checks it), at parity, near parity and with a clear
   gap, for 2 and 10 groups of 100 and 5,000 rows, and the rejection rate of the parity test.

Run: ``python benchmarks/calibration.py [--runs 200] [--rows 16000] [--coverage-runs 1000]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import audit
from audit.statistics._inference import gap_interval

RACES = ["White", "Black", "Asian", "Amer-Indian", "Other"]
RACE_SHARES = [0.6, 0.15, 0.1, 0.08, 0.07]


def _data(rows: int, *, gap: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sex = rng.choice(["Male", "Female"], size=rows)
    race = rng.choice(RACES, size=rows, p=RACE_SHARES)
    y = rng.random(rows) < 0.3
    tpr = np.where(sex == "Female", 0.7 - gap, 0.7)
    fpr = 0.1
    pred = np.where(y, rng.random(rows) < tpr, rng.random(rows) < fpr)
    score = np.clip(np.where(pred, 0.75, 0.25) + rng.normal(0, 0.1, rows), 0.001, 0.999)
    return pd.DataFrame({"x": rng.normal(size=rows), "sex": sex, "race": race, "y": y.astype(int), "pred": pred.astype(int), "score": score})


def _config(folder: Path, seed: int) -> dict:
    return {"name": "calibration", "seed": seed,
            "data": {"test": "test.csv", "target": "y", "positive_label": 1, "sensitive": ["sex", "race"],
                     "intersections": 2},
            "model": {"predictions": {"predictions": "pred", "scores": "score"}},
            "bootstrap": {"replicates": 200},
            "checks": {"explainability": {"method": "none"},
                       "fairness": {"max": {"equalized_odds_difference": 0.10}, "four_fifths_rule": False},
                       "bias": {"proxies": False, "distributions": False}}}


def gates(*, runs: int, rows: int) -> None:
    print(f"gates through audit.run: {runs} runs per scenario, {rows} rows, equalized_odds_difference <= 0.10")
    print(f"{'scenario':<14}{'grouping':<10}{'fail':>7}{'warn':>7}{'pass':>7}{'other':>7}   whole gate: fail / incl. / pass")
    for scenario, gap in (("parity", 0.0), ("at_threshold", 0.10), ("twice", 0.20)):
        counts: dict[str, dict[str, int]] = {}
        whole = {"fail": 0, "inconclusive": 0, "pass": 0}
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            for r in range(runs):
                _data(rows, gap=gap, seed=r).to_csv(folder / "test.csv", index=False)
                cfg = audit.config_from_dict(_config(folder, r), source="calibration", base_dir=str(folder))
                doc = audit.run(cfg).document
                whole[doc["gate"]] += 1
                for f in doc["findings"]:
                    if f["check"] == "fairness" and f["threshold"]["metric"] == "equalized_odds_difference":
                        c = counts.setdefault(f["attribute"], {"fail": 0, "warn": 0, "pass": 0, "other": 0})
                        c[f["status"] if f["status"] in c else "other"] += 1
        for grouping, c in counts.items():
            print(f"{scenario:<14}{grouping:<10}" + "".join(f"{c[k] / runs:>7.2f}" for k in ("fail", "warn", "pass", "other")))
        print(f"{scenario:<14}{'(gate)':<10}" + " " * 28 + f"   {whole['fail'] / runs:.2f} / {whole['inconclusive'] / runs:.2f}"
              f" / {whole['pass'] / runs:.2f}")


def coverage(*, runs: int) -> None:
    print(f"\ncoverage of the 95% rate-gap interval and the parity test's rejections, {runs} runs per row")
    print(f"{'groups':>6}{'rows/group':>11}{'true gap':>9}{'coverage':>10}{'parity p<=.05':>15}{'interval width':>16}")
    rng = np.random.default_rng(2026)
    for groups in (2, 10):
        for n in (100, 5000):
            for label, spread in (("parity", 0.0), ("near", 0.02), ("clear", 0.15)):
                rates = 0.3 + np.linspace(-spread / 2, spread / 2, groups)
                true_gap = float(rates.max() - rates.min())
                cover = reject = 0
                widths = []
                for _ in range(runs):
                    k = rng.binomial(n, rates)
                    s = rng.poisson(np.tile(k, (200, 1)))
                    f = rng.poisson(np.tile(n - k, (200, 1)))
                    with np.errstate(invalid="ignore", divide="ignore"):
                        reps = s / (s + f)
                    g = gap_interval([k / n], [reps], kind="difference", level=0.95)
                    cover += g.ci_low <= true_gap <= g.ci_high
                    reject += g.parity_p_value <= 0.05
                    widths.append(g.ci_high - g.ci_low)
                print(f"{groups:>6}{n:>11}{true_gap:>9.2f}{cover / runs:>10.3f}{reject / runs:>15.3f}"
                      f"{np.mean(widths):>16.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--rows", type=int, default=16_000)
    parser.add_argument("--coverage-runs", type=int, default=1000)
    args = parser.parse_args()
    started = time.process_time()
    coverage(runs=args.coverage_runs)
    gates(runs=args.runs, rows=args.rows)
    print(f"\nCPU {time.process_time() - started:.0f} s")


if __name__ == "__main__":
    main()
