"""Calibration of the conditional-disparity check (``data.control``) where the truth is known, through ``audit.run``.

Synthetic admissions: two groups spread unevenly over four strata of a legitimate factor (group ``b`` mostly in
the strata with low base rates), so the marginal selection-rate gap is large whatever happens within strata.
Within every stratum the two groups' selection rates differ by exactly ``d``, so the true conditional
difference (standardised over the strata) is ``d`` whatever the weights. Scenarios:

* ``d = 0``: the marginal gap is only the mix: the Simpson check should say it **vanishes**, the threshold check
  (``max_difference`` 0.1, blocking) should never fail;
* ``d = 0.1`` (at the threshold): the threshold check should fail about 2.5% of the time at most;
* ``d = 0.25``: it should fail nearly always (power);
* ``d = -0.08``: the groups' order is reversed within strata: the check should say it **reverses**.

For each it prints the coverage of the 95% conditional interval for ``d``, the share of audits whose
threshold finding is fail / warn / pass, and the share flagged ``reverses`` / ``vanishes``.

Run: ``python benchmarks/conditional_calibration.py [--runs 200] [--rows 4000]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import audit

#: Base selection rate of each stratum, and the share of group a's / group b's rows in it.
BASE = np.array([0.7, 0.55, 0.4, 0.25])
SHARE_A = np.array([0.4, 0.3, 0.2, 0.1])
SHARE_B = np.array([0.1, 0.2, 0.3, 0.4])


def _data(rows: int, *, d: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b"], size=rows)
    stratum = np.where(group == "a", rng.choice(4, size=rows, p=SHARE_A), rng.choice(4, size=rows, p=SHARE_B))
    rate = BASE[stratum] + np.where(group == "a", d / 2, -d / 2)
    decision = (rng.random(rows) < rate).astype(int)
    return pd.DataFrame({"group": group, "band": np.array(["q1", "q2", "q3", "q4"])[stratum], "decision": decision,
                         "y": rng.integers(0, 2, rows), "x": rng.normal(size=rows)})


def _config(seed: int) -> dict:
    return {"name": "conditional-calibration", "seed": seed,
            "data": {"target": "y", "positive_label": 1, "sensitive": ["group"], "control": ["band"],
                     "features": ["x", "band"], "intersections": 1},
            "model": {"predictions": {"predictions": "decision"}},
            "bootstrap": {"replicates": 200},
            "checks": {"explainability": {"method": "none"}, "slices": {"enabled": False},
                       "bias": {"proxies": False, "distributions": False}, "group_gaps": {"enabled": False},
                       "leakage": {"enabled": False},
                       "conditional": {"metrics": ["selection_rate"], "max_difference": 0.1, "severity": "block"}},
            "mitigation": {"enabled": False}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--rows", type=int, default=4000)
    args = parser.parse_args()
    start = time.process_time()
    print(f"conditional disparity through audit.run: {args.runs} runs per scenario, {args.rows} rows, "
          f"threshold |d| <= 0.1 (blocking), 95% intervals, 200 replicates")
    print(f"{'true d':>7}{'coverage':>10}{'fail':>7}{'warn':>7}{'pass':>7}{'reverses':>10}{'vanishes':>10}"
          f"{'persists':>10}{'emerges':>9}{'marginal':>10}")
    for d in (0.0, 0.1, 0.25, -0.08):
        cover = 0
        status = {"fail": 0, "warn": 0, "pass": 0, "insufficient_data": 0}
        pattern = {"reverses": 0, "vanishes": 0, "persists": 0, "emerges": 0, "no_marginal_gap": 0, "undefined": 0}
        marginal = []
        for r in range(args.runs):
            doc = audit.run(_config(r), data=_data(args.rows, d=d, seed=r)).document
            m = doc["conditional"]["by_attribute"]["group"]["metrics"]["selection_rate"]
            # The document's difference is (higher marginal group) minus (lower): group a here.
            sign = 1.0 if m["groups"] == ["a", "b"] else -1.0
            low, high = sorted((sign * m["ci_low"], sign * m["ci_high"]))
            cover += low <= d <= high
            marginal.append(sign * m["marginal"])
            pattern[m["pattern"]] += 1
            gap = next(f for f in doc["findings"]
                       if f["id"] == "conditional_disparity.conditional_selection_rate_difference.group")
            status[gap["status"]] += 1
        n = args.runs
        print(f"{d:>7.2f}{cover / n:>10.3f}{status['fail'] / n:>7.3f}{status['warn'] / n:>7.3f}"
              f"{status['pass'] / n:>7.3f}{pattern['reverses'] / n:>10.3f}{pattern['vanishes'] / n:>10.3f}"
              f"{pattern['persists'] / n:>10.3f}{pattern['emerges'] / n:>9.3f}{np.mean(marginal):>10.3f}")
    print(f"CPU {time.process_time() - start:.1f} s")


if __name__ == "__main__":
    main()
