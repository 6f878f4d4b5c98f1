"""Write drift_bias_adult.json: drift and data-bias measures on the bundled Adult data.

The values were produced by the loop-based implementation (commit 6dfca4e) before the measures were
vectorised; tests/measures/test_drift_bias_golden.py holds the vectorised one to them. Rerun only on purpose:

    PYTHONPATH=. python tests/golden/make_drift_bias_adult.py
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from drift_bias_inputs import adult_inputs  # noqa: E402

from audit.measures._bias import distribution_gaps, proxy_associations  # noqa: E402
from audit.measures._drift import measure_drift  # noqa: E402


def main() -> None:
    inputs = adult_inputs()
    drift = measure_drift(inputs.reference, inputs.current, features=inputs.features,
                          reference_labels=inputs.reference_labels, current_labels=inputs.current_labels,
                          bins=10, reference_scores=inputs.reference_scores, current_scores=inputs.current_scores,
                          min_group_size=30)
    proxies = proxy_associations(inputs.current, features=inputs.features, groups=inputs.groups, seed=0)
    gaps = distribution_gaps(inputs.current, features=inputs.features, groups=inputs.groups, min_group_size=30)
    document = {"drift": dataclasses.asdict(drift), "proxies": [dataclasses.asdict(p) for p in proxies],
                "distributions": [dataclasses.asdict(g) for g in gaps]}
    (HERE / "drift_bias_adult.json").write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
