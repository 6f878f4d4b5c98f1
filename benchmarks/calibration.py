"""Calibration of the audit's verdicts where the truth is known.

Four parts:

1. **Gates through ``audit.run``.** Predictions-only audits of synthetic data with an Adult-like structure
   (5 races x 2 sexes, intersections of order 2, every cell identical unless a gap is planted), 200
   bootstrap replicates, 95%. For each scenario it prints how often each gate ends ``fail``,
   ``inconclusive`` (warn) and ``pass``, how often the whole gate set fails, and how often the group-gap
   check and the slice search raise a finding where nothing differs:
   ``parity`` (a perfectly fair model), ``at_threshold`` (women's true positive rate lower by exactly the
   threshold, 0.10) and ``twice`` (lower by 0.20).
2. **The oracle:** the best pass rate any valid rule could reach for race at parity with known standard
   errors (an upper bound for the measured one).
3. **Interval coverage** of a rate gap from the engine's ``gap_interval`` (the function ``audit.run``
   uses for every gap; ``tests/statistics/test_inference.py`` checks it), at parity, near parity and with a clear
   gap, for 2 and 10 groups of 100 and 5,000 rows, and the rejection rate of the parity test.
4. **Coverage of every gated metric and gap** from the engine's ``evaluate`` (what ``audit.run`` calls;
   ``tests/statistics/test_evaluate_coverage.py`` checks it on real rows): Wilson rates, bootstrap ROC AUC,
   demographic parity and equalized odds differences and ratios, for two groups of 100 and 5,000 rows at
   parity, near parity and with a clear gap, and at rare rates (recall 0.95 on ~35 positives).

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
from audit.inputs._groups import build_groups
from audit.statistics._cells import cell_stats
from audit.statistics._evaluate import evaluate
from audit.statistics._inference import gap_interval
from audit.statistics._metrics import BINARY
from audit.statistics._tables import BinaryTable
from scipy.stats import norm

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


GATE_SETS = {
    "eo": {"max": {"equalized_odds_difference": 0.10}, "four_fifths_rule": False},
    # The Adult example's fairness gates: demographic parity and equalized odds differences at 0.10 and the
    # four-fifths rule.
    "adult": {"max": {"equalized_odds_difference": 0.10, "demographic_parity_difference": 0.10},
              "four_fifths_rule": True},
}


def _config(folder: Path, seed: int, *, gate_set: str = "eo") -> dict:
    return {"name": "calibration", "seed": seed,
            "data": {"test": "test.csv", "target": "y", "positive_label": 1, "sensitive": ["sex", "race"],
                     "intersections": 2},
            "model": {"predictions": {"predictions": "pred", "scores": "score"}},
            "bootstrap": {"replicates": 200},
            "checks": {"explainability": {"method": "none"},
                       "fairness": GATE_SETS[gate_set],
                       "slices": {"enabled": True, "features": ["x", "sex", "race"]},
                       "bias": {"proxies": False, "distributions": False}}}


def gates(*, runs: int, rows: int) -> None:
    """Gate outcomes through ``audit.run``; also how often the group-gap check and the slice search raise a
    finding on data where every group and every slice is alike (their global null)."""
    print(f"gates through audit.run: {runs} runs per scenario, {rows} rows, thresholds 0.10 (four-fifths 0.8)")
    print(f"{'scenario':<20}{'gate':<36}{'grouping':<10}{'fail':>7}{'warn':>7}{'pass':>7}{'insuff':>7}")
    for scenario, gap, gate_set in (("parity", 0.0, "eo"), ("at_threshold", 0.10, "eo"), ("twice", 0.20, "eo"),
                                    ("parity", 0.0, "adult")):
        counts: dict[tuple[str, str], dict[str, int]] = {}
        whole = {"fail": 0, "inconclusive": 0, "pass": 0}
        group_gaps = slices = 0
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            for r in range(runs):
                _data(rows, gap=gap, seed=r).to_csv(folder / "test.csv", index=False)
                cfg = audit.config_from_dict(_config(folder, r, gate_set=gate_set), source="calibration",
                                             base_dir=str(folder))
                doc = audit.run(cfg).document
                whole[doc["gate"]] += 1
                group_gaps += any(f["check"] == "group_gaps" and f["status"] in ("warn", "fail")
                                  for f in doc["findings"])
                slices += any(f["check"] == "slices" and f["status"] in ("warn", "fail") for f in doc["findings"])
                for f in doc["findings"]:
                    if f["check"] in ("fairness", "four_fifths_rule") and f["threshold"]:
                        key = (f"{f['threshold']['metric']} {f['threshold']['op']} {f['threshold']['value']}",
                               f["attribute"])
                        c = counts.setdefault(key, {"fail": 0, "warn": 0, "pass": 0, "insufficient_data": 0})
                        c[f["status"]] += 1
        label = f"{scenario} ({gate_set})"
        for (rule, grouping), c in counts.items():
            print(f"{label:<20}{rule:<36}{grouping:<10}"
                  + "".join(f"{c[k] / runs:>7.2f}" for k in ("fail", "warn", "pass", "insufficient_data")))
        print(f"{label:<20}whole gate: fail {whole['fail'] / runs:.2f}, inconclusive {whole['inconclusive'] / runs:.2f}, "
              f"pass {whole['pass'] / runs:.2f}")
        if gap == 0.0:
            print(f"{label:<20}global null: a group-gap finding in {group_gaps / runs:.3f} of audits, "
                  f"a slice reported in {slices / runs:.3f}")


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


def oracle(*, rows: int) -> None:
    """The best pass rate any valid rule can reach for race at parity, with the standard errors known.

    At parity every rate is equal, so each pair's estimated difference is normal around 0 with a known
    standard error. A rule whose 95% interval is valid wherever one unknown pair defines the gap needs each
    pair's bound ``|d| + z se`` under the threshold; with z = 1.645 that is a one-sided (TOST-like) test, the
    most lenient valid one. The worst pair alone caps the pass rate whatever is done with the others.
    """
    rng = np.random.default_rng(0)
    shares, base, tpr, fpr, limit = np.array(RACE_SHARES), 0.3, 0.7, 0.1, 0.10
    n = rows * shares
    se_tpr, se_fpr = np.sqrt(tpr * (1 - tpr) / (n * base)), np.sqrt(fpr * (1 - fpr) / (n * (1 - base)))
    i, j = np.triu_indices(len(shares), 1)
    draws = 100_000
    print(f"\noracle at parity, race ({len(shares)} groups, {rows} rows, shares {RACE_SHARES}), "
          f"equalized_odds_difference <= {limit}: P(pass) with known standard errors")
    for z in (1.959964, 1.644854):
        ok = np.ones(draws, bool)
        for se in (se_tpr, se_fpr):
            g = rng.standard_normal((draws, len(shares))) * se
            bound = np.abs(g[:, i] - g[:, j]) + z * np.hypot(se[i], se[j])
            ok &= (bound <= limit).all(axis=1)
        print(f"  every pair's bound |d| + {z:.3f} se under {limit}: {ok.mean():.3f}")
    worst = int(np.argmax(np.hypot(se_tpr[i], se_tpr[j])))
    se_w = float(np.hypot(se_tpr[i[worst]], se_tpr[j[worst]]))
    cap = 2 * norm.cdf((limit - 1.644854 * se_w) / se_w) - 1
    print(f"  the worst pair alone ({RACES[i[worst]]} vs {RACES[j[worst]]}, se {se_w:.4f}) caps it at {cap:.3f}")


def _binormal(*, base: float, tpr: float, fpr: float) -> dict[str, float]:
    """Truths of a binormal score (negatives N(0, 1), positives N(mu, 1)) cut at the threshold giving ``fpr``."""
    t = float(norm.ppf(1 - fpr))
    mu = t - float(norm.ppf(1 - tpr))
    sel = base * tpr + (1 - base) * fpr
    return {"t": t, "mu": mu, "base": base, "accuracy": base * tpr + (1 - base) * (1 - fpr), "recall": tpr,
            "false_positive_rate": fpr, "selection_rate": sel, "precision": base * tpr / sel,
            "roc_auc": float(norm.cdf(mu / np.sqrt(2)))}


ENGINE_METRICS = ("accuracy", "precision", "recall", "false_positive_rate", "selection_rate", "roc_auc")
ENGINE_GAPS = ("demographic_parity_difference", "demographic_parity_ratio", "equalized_odds_difference",
               "equalized_odds_ratio")


def engine_coverage(*, runs: int) -> None:
    """Coverage of every gated metric's and gap's 95% interval from the engine ``audit.run`` calls.

    Two groups of ``n`` rows each, binormal scores: group A has true positive rate 0.7 and false positive
    rate 0.1 (base rate 0.3); group B's true positive rate is lower by the scenario's gap. ``rare`` is the
    issue's small-count case: 100 rows, base rate 0.35, recall 0.95 (about 35 positives), false positive
    rate 0.02 (about 65 negatives), both groups alike. Truths are computed exactly from the binormal model.
    """
    print(f"\ncoverage of 95% intervals from the engine (evaluate, 200 replicates), {runs} runs per row; "
          "metrics of group A, gaps between A and B")
    short = {"accuracy": "acc", "precision": "prec", "recall": "recall", "false_positive_rate": "fpr",
             "selection_rate": "sel", "roc_auc": "auc", "demographic_parity_difference": "dp_diff",
             "demographic_parity_ratio": "dp_ratio", "equalized_odds_difference": "eo_diff",
             "equalized_odds_ratio": "eo_ratio"}
    print(f"{'scenario':<9}{'n/group':>8}" + "".join(f"{short[m]:>11}" for m in ENGINE_METRICS)
          + "".join(f"{short[g]:>14}" for g in ENGINE_GAPS))
    rng = np.random.default_rng(7)
    cases = [(label, n, gap) for n in (100, 5000) for label, gap in (("parity", 0.0), ("near", 0.02), ("clear", 0.15))]
    cases.append(("rare", 100, None))
    for label, n, gap in cases:
        if gap is None:
            a = b = _binormal(base=0.35, tpr=0.95, fpr=0.02)
        else:
            a, b = _binormal(base=0.3, tpr=0.7, fpr=0.1), _binormal(base=0.3, tpr=0.7 - gap, fpr=0.1)
        truth_gap = {"demographic_parity_difference": abs(a["selection_rate"] - b["selection_rate"]),
                     "demographic_parity_ratio": min(a["selection_rate"], b["selection_rate"])
                     / max(a["selection_rate"], b["selection_rate"]),
                     "equalized_odds_difference": max(abs(a["recall"] - b["recall"]),
                                                      abs(a["false_positive_rate"] - b["false_positive_rate"])),
                     "equalized_odds_ratio": min(min(a["recall"], b["recall"]) / max(a["recall"], b["recall"]),
                                                 min(a["false_positive_rate"], b["false_positive_rate"])
                                                 / max(a["false_positive_rate"], b["false_positive_rate"]))}
        hits = dict.fromkeys(ENGINE_METRICS + ENGINE_GAPS, 0)
        judged = dict.fromkeys(ENGINE_METRICS + ENGINE_GAPS, 0)
        frame = pd.DataFrame({"g": np.repeat(["A", "B"], n)})
        groups = build_groups(frame, sensitive=["g"], bins={}, intersections=1, source="calibration")
        for r in range(runs):
            y = np.concatenate([rng.random(n) < a["base"], rng.random(n) < b["base"]])
            mu = np.concatenate([np.full(n, a["mu"]), np.full(n, b["mu"])])
            t = np.concatenate([np.full(n, a["t"]), np.full(n, b["t"])])
            latent = rng.normal(size=2 * n) + np.where(y, mu, 0.0)
            yhat = (latent >= t).astype(int)
            score = norm.cdf(latent - t)  # a monotone map into (0, 1): the cut is at 0.5
            cells = cell_stats(leaf=groups.row_leaf, score=score, y=y.astype(int), yhat=yhat,
                               n_leaves=len(groups.leaf_levels))
            ev = evaluate(BinaryTable(cells), groups, registry=BINARY, replicates=200, level=0.95, seed=r,
                          min_group_size=30)
            gm = ev.by_grouping[0]
            ia = gm.groups.index("A")
            for m in ENGINE_METRICS:
                e = gm.metrics[m][ia]
                if e.ci_low is not None:
                    judged[m] += 1
                    hits[m] += e.ci_low <= a[m] <= e.ci_high
            for f in ev.fairness:
                if f.metric in truth_gap and f.ci_low is not None:
                    judged[f.metric] += 1
                    hits[f.metric] += f.ci_low <= truth_gap[f.metric] <= f.ci_high
        cells_out = [f"{hits[k] / judged[k]:.3f}" if judged[k] else "—" for k in ENGINE_METRICS + ENGINE_GAPS]
        print(f"{label:<9}{n:>8}" + "".join(f"{c:>11}" for c in cells_out[:len(ENGINE_METRICS)])
              + "".join(f"{c:>14}" for c in cells_out[len(ENGINE_METRICS):]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--rows", type=int, default=16_000)
    parser.add_argument("--coverage-runs", type=int, default=1000)
    args = parser.parse_args()
    started = time.process_time()
    oracle(rows=args.rows)
    coverage(runs=args.coverage_runs)
    engine_coverage(runs=args.coverage_runs)
    gates(runs=args.runs, rows=args.rows)
    print(f"\nCPU {time.process_time() - started:.0f} s")


if __name__ == "__main__":
    main()
