"""CPU time of each step of the Adult example audit, and of the drift and data-bias measures alone.

    PYTHONPATH=. nice -n 10 python benchmarks/adult_phases.py            # the whole audit, then the measures
    PYTHONPATH=. nice -n 10 python benchmarks/adult_phases.py --measures-only

The audit's ``progress`` callback is called when each step starts; the CPU time (``time.process_time``,
this process's user and system time) between two calls is the earlier step's. "explained k of n rows"
messages belong to the explaining step. The second part times ``measure_drift``, ``proxy_associations``
and ``distribution_gaps`` on the same inputs as tests/measures/test_drift_bias_golden.py (training data against the
test data); run it with PYTHONPATH pointing at another checkout to compare implementations.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the shared inputs of the drift and bias measures


class StepClock:
    """A ``progress`` callback that charges the CPU time between two calls to the step named by the first."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._step = "before the first step (imports, config)"
        self._since = time.process_time()

    def __call__(self, text: str) -> None:
        if text.startswith("explained "):  # progress within the explaining step, not a new step
            return
        self.stop()
        # Counts in the message (rows, replicates) vary with the config; the step's name is the rest.
        self._step = re.sub(r"\d+", "N", text)

    def stop(self) -> None:
        now = time.process_time()
        self.seconds[self._step] = self.seconds.get(self._step, 0.0) + now - self._since
        self._since = now


def _report(title: str, seconds: dict[str, float]) -> None:
    print(title)
    for name, value in sorted(seconds.items(), key=lambda kv: -kv[1]):
        print(f"  {value:8.2f} s  {name}")
    print(f"  {sum(seconds.values()):8.2f} s  total")


def _time(fn: Callable[[], object], *, repeat: int) -> float:
    """The smallest CPU time of ``repeat`` calls (the least disturbed by other work on the machine)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def whole_audit() -> None:
    import audit

    clock = StepClock()
    audit.run(ROOT / "examples" / "adult" / "audit.yaml", progress=clock)
    clock.stop()
    _report("Adult audit, CPU seconds by step (examples/adult/audit.yaml)", clock.seconds)


def measures(*, repeat: int) -> None:
    from drift_bias_inputs import adult_inputs

    from audit.measures._bias import distribution_gaps, proxy_associations
    from audit.measures._drift import measure_drift

    x = adult_inputs()
    timings = {
        "measure_drift": _time(lambda: measure_drift(
            x.reference, x.current, features=x.features, reference_labels=x.reference_labels,
            current_labels=x.current_labels, bins=10, reference_scores=x.reference_scores,
            current_scores=x.current_scores, min_group_size=30), repeat=repeat),
        "proxy_associations": _time(lambda: proxy_associations(x.current, features=x.features, groups=x.groups,
                                                               seed=0), repeat=repeat),
        "distribution_gaps": _time(lambda: distribution_gaps(x.current, features=x.features, groups=x.groups,
                                                             min_group_size=30), repeat=repeat),
    }
    import audit.measures._drift

    _report(f"drift and bias measures, best CPU seconds of {repeat} ({audit.measures._drift.__file__})", timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measures-only", action="store_true", help="skip the whole audit")
    parser.add_argument("--repeat", type=int, default=3, help="calls of each measure (default 3)")
    args = parser.parse_args()
    if not args.measures_only:
        whole_audit()
    measures(repeat=args.repeat)


if __name__ == "__main__":
    main()
