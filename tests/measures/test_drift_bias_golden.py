"""The vectorised drift and data-bias measures give the values of the loop-based ones, on the Adult data.

tests/golden/drift_bias_adult.json was written by tests/golden/make_drift_bias_adult.py with the
implementation before vectorisation (commit 6dfca4e).
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from audit.measures._bias import distribution_gaps, proxy_associations
from audit.measures._drift import _grouped_bins, measure_drift, population_stability_index
from drift_bias_inputs import adult_inputs

GOLDEN = json.loads((Path(__file__).resolve().parents[1] / "golden" / "drift_bias_adult.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def inputs():
    return adult_inputs()


def _assert_same(actual: object, expected: object, where: str = "") -> None:
    """Equal structure and text; numbers within 1e-12."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and set(actual) == set(expected), where
        for key in expected:
            _assert_same(actual[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, (list, tuple)) and len(actual) == len(expected), where
        for i, (a, e) in enumerate(zip(actual, expected)):
            _assert_same(a, e, f"{where}[{i}]")
    elif isinstance(expected, float) and not isinstance(expected, bool):
        assert isinstance(actual, float), where
        assert math.isclose(actual, expected, rel_tol=1e-12, abs_tol=1e-12), f"{where}: {actual} != {expected}"
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def test_drift_matches_the_loop_based_values(inputs):
    drift = measure_drift(inputs.reference, inputs.current, features=inputs.features,
                          reference_labels=inputs.reference_labels, current_labels=inputs.current_labels, bins=10,
                          reference_scores=inputs.reference_scores, current_scores=inputs.current_scores,
                          min_group_size=30)
    found = json.loads(json.dumps(dataclasses.asdict(drift)))
    # The golden predates the prediction drift's breakdown by group (checked by hand below).
    worst = (found["predictions"].pop("worst_group"), found["predictions"].pop("worst_group_psi"))
    for key in ("worst_group", "worst_group_psi"):
        GOLDEN["drift"]["predictions"].pop(key, None)
        found["predictions"][key] = None
    GOLDEN["drift"]["predictions"].update(worst_group=None, worst_group_psi=None)
    _assert_same(found, GOLDEN["drift"], "drift")
    # The score's worst group: the largest PSI of a group's own scores, bins set on its reference rows.
    group, psi = worst
    attribute, name = group.split("=", 1)
    ref = inputs.reference_scores[(inputs.reference_labels[attribute] == name).to_numpy()]
    cur = inputs.current_scores[(inputs.current_labels[attribute] == name).to_numpy()]
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, 11)))
    r = np.histogram(np.clip(ref, edges[0], edges[-1]), edges)[0] / len(ref)
    c = np.histogram(np.clip(cur, edges[0], edges[-1]), edges)[0] / len(cur)
    r, c = np.clip(r, 1e-4, None), np.clip(c, 1e-4, None)
    assert psi == pytest.approx(float(np.sum((c - r) * np.log(c / r))), rel=1e-6)
    # A real shift is there to be found: the smallest race groups move most.
    assert GOLDEN["drift"]["features"][2]["worst_group"] == "race=Amer-Indian-Eskimo"


def test_proxy_associations_match_the_loop_based_values(inputs):
    proxies = proxy_associations(inputs.current, features=inputs.features, groups=inputs.groups, seed=0)
    _assert_same(json.loads(json.dumps([dataclasses.asdict(p) for p in proxies])), GOLDEN["proxies"], "proxies")


def test_distribution_gaps_match_the_loop_based_values(inputs):
    gaps = distribution_gaps(inputs.current, features=inputs.features, groups=inputs.groups, min_group_size=30)
    _assert_same(json.loads(json.dumps([dataclasses.asdict(g) for g in gaps])), GOLDEN["distributions"],
                 "distributions")


def _direct_group_psi(reference: pd.Series, current: pd.Series, *, bins: int) -> float:
    """PSI of one group, binned on its own reference rows as the loop-based code did, with numpy and pandas."""
    if reference.nunique() > bins:
        edges = np.unique(np.nanquantile(reference.to_numpy(dtype=float), np.linspace(0, 1, bins + 1)[1:-1]))

        def counts(s: pd.Series) -> np.ndarray:
            v = s.to_numpy(dtype=float)
            return np.bincount(np.where(np.isnan(v), len(edges) + 1, np.searchsorted(edges, v, side="right")),
                               minlength=len(edges) + 2)

        return population_stability_index(counts(reference), counts(current))
    ref, cur = reference.astype(object).where(reference.notna(), "<missing>").map(str), \
        current.astype(object).where(current.notna(), "<missing>").map(str)
    levels = sorted(set(ref) | set(cur))
    return population_stability_index(ref.value_counts().reindex(levels, fill_value=0).to_numpy(),
                                      cur.value_counts().reindex(levels, fill_value=0).to_numpy())


def test_groups_binned_by_value_and_by_quantile_side_by_side():
    # Group "a" has many distinct values (quantile bins), group "b" four (one bin per value) and missing
    # values, group "c" is only in the reference: each group's PSI is that of binning it on its own.
    rng = np.random.default_rng(3)
    ref = pd.Series(np.concatenate([rng.normal(size=400), rng.integers(0, 4, 300), rng.normal(size=50)]))
    ref[np.arange(400, 700, 7)] = np.nan
    cur = pd.Series(np.concatenate([rng.normal(0.3, 1.2, size=500), rng.integers(0, 5, 200)]))
    cur[np.arange(500, 700, 5)] = np.nan
    ref_group = np.repeat([0, 1, -1], [400, 300, 50])
    cur_group = np.repeat([0, 1], [500, 200])
    psi = _grouped_bins(ref, cur, reference_group=ref_group, current_group=cur_group, groups=2, bins=10).psi
    expected = [_direct_group_psi(ref[ref_group == g].reset_index(drop=True),
                                  cur[cur_group == g].reset_index(drop=True), bins=10) for g in (0, 1)]
    np.testing.assert_allclose(psi, expected, rtol=1e-12, atol=0)
    assert psi[0] > 0.05 and psi[1] > 0.05  # both groups did shift
