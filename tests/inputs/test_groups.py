"""Sensitive groups: bands, explicit missing groups, intersections and the per-row leaf codes."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit import AuditError
from audit.inputs._groups import MISSING, band_labels, build_groups, factorize_sorted, join_key, split_key
from helpers import AGE_BINS, adult_rows

BANDS = ["0-25", "25-45", "45-65", "65-120"]


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    return adult_rows("test", 4000)


def _row_groups(gi, name: str) -> np.ndarray:
    """The group label of every row in grouping ``name``, read through the leaf codes."""
    g = gi.grouping(name)
    return np.asarray(g.groups, dtype=object)[g.leaf_group[gi.row_leaf]]


def _counts(gi, name: str) -> dict[str, int]:
    g = gi.grouping(name)
    return dict(zip(g.groups, np.bincount(g.leaf_group[gi.row_leaf], minlength=len(g.groups)).tolist()))


def test_age_bands_on_adult_count_as_pandas_cut_with_closed_left_edges():
    frame = adult_rows("test")  # every row: 16,281 ages from 17 to 90
    gi = build_groups(frame, sensitive=["age"], bins={"age": AGE_BINS}, intersections=1, source="adult_test.csv.gz")
    expected = pd.cut(frame["age"], AGE_BINS, right=False).value_counts(sort=False)
    assert gi.grouping("age").groups == tuple(BANDS)
    assert list(_counts(gi, "age").values()) == expected.tolist()
    assert sum(_counts(gi, "age").values()) == len(frame)
    # Row by row, too: the band of each row is the interval pandas puts it in.
    cut = pd.cut(frame["age"], AGE_BINS, right=False, labels=BANDS).astype(str).to_numpy()
    np.testing.assert_array_equal(_row_groups(gi, "age"), cut)
    np.testing.assert_array_equal(gi.labels["age"].astype(str).to_numpy(), cut)


def test_ages_on_an_edge_fall_in_the_band_that_starts_there(adult):
    gi = build_groups(adult, sensitive=["age"], bins={"age": AGE_BINS}, intersections=1, source="t")
    bands = _row_groups(gi, "age")
    for edge, band in [(25, "25-45"), (45, "45-65"), (65, "65-120")]:
        at_edge = (adult["age"] == edge).to_numpy()
        assert at_edge.sum() > 0 and set(bands[at_edge]) == {band}
        below = (adult["age"] == edge - 1).to_numpy()
        assert set(bands[below]) == {BANDS[BANDS.index(band) - 1]}


def test_real_ages_outside_the_edges_get_open_bands(adult):
    gi = build_groups(adult, sensitive=["age"], bins={"age": [25, 45, 65]}, intersections=1, source="t")
    counts = _counts(gi, "age")
    assert list(counts) == ["<25", "25-45", "45-65", ">=65"]
    assert counts["<25"] == (adult["age"] < 25).sum() > 0
    assert counts[">=65"] == (adult["age"] >= 65).sum() > 0
    assert counts["25-45"] == adult["age"].between(25, 44).sum()


def test_values_outside_the_edges_and_missing_values_have_labels():
    ages = pd.Series([-5, 0, 24.9, 25, 119.99, 120, 150, np.nan, 64], name="age")
    gi = build_groups(ages.to_frame(), sensitive=["age"], bins={"age": AGE_BINS}, intersections=1, source="t")
    assert list(_row_groups(gi, "age")) == ["<0", "0-25", "0-25", "25-45", "65-120", ">=120", ">=120", MISSING,
                                            "45-65"]
    # Reporting order: below the first edge, the bands, from the last edge, then missing.
    assert gi.grouping("age").groups == ("<0", "0-25", "25-45", "45-65", "65-120", ">=120", "missing")
    assert band_labels([0, 2.5, 10]) == ["0-2.5", "2.5-10"]


def test_missing_values_become_an_explicit_group_and_rows_are_kept(adult):
    # workclass has real missing values in Adult ("?" in the source).
    n_missing = int(adult["workclass"].isna().sum())
    assert n_missing > 100
    gi = build_groups(adult, sensitive=["sex", "workclass"], bins={}, intersections=2, source="t")
    assert len(gi.row_leaf) == len(adult) and len(gi.labels) == len(adult)
    counts = _counts(gi, "workclass")
    assert counts[MISSING] == n_missing
    assert gi.grouping("workclass").groups[-1] == MISSING  # missing is reported last
    assert sum(counts.values()) == len(adult)
    rows = _row_groups(gi, "workclass")
    np.testing.assert_array_equal(rows == MISSING, adult["workclass"].isna().to_numpy())
    pair = _counts(gi, "sex&workclass")
    assert pair["Female&missing"] == (adult["workclass"].isna() & (adult["sex"] == "Female")).sum()
    assert pair["Female&missing"] + pair["Male&missing"] == n_missing


def test_missing_values_in_a_banded_column_become_the_missing_band(adult):
    frame = adult.copy()
    frame.loc[frame.index[::10], "age"] = np.nan
    gi = build_groups(frame, sensitive=["age"], bins={"age": AGE_BINS}, intersections=1, source="t")
    counts = _counts(gi, "age")
    assert counts[MISSING] == len(frame.index[::10]) == 400
    assert sum(counts.values()) == len(frame)


@pytest.mark.parametrize("order, names", [
    (1, ["sex", "race", "age"]),
    (2, ["sex", "race", "age", "sex&race", "sex&age", "race&age"]),
    (3, ["sex", "race", "age", "sex&race", "sex&age", "race&age", "sex&race&age"]),
    (5, ["sex", "race", "age", "sex&race", "sex&age", "race&age", "sex&race&age"]),  # capped at 3 attributes
])
def test_intersections_up_to_the_given_order(adult, order, names):
    gi = build_groups(adult, sensitive=["sex", "race", "age"], bins={"age": AGE_BINS}, intersections=order,
                      source="t")
    assert [g.name for g in gi.groupings] == names
    assert [g.attributes for g in gi.groupings] == [tuple(n.split("&")) for n in names]


def test_intersection_group_labels(adult):
    gi = build_groups(adult, sensitive=["sex", "race", "age"], bins={"age": AGE_BINS}, intersections=3, source="t")
    assert gi.levels == (("Female", "Male"),
                         ("Amer-Indian-Eskimo", "Asian-Pac-Islander", "Black", "Other", "White"),
                         tuple(BANDS))
    sex_race = gi.grouping("sex&race").groups
    assert "Female&Black" in sex_race and "Male&White" in sex_race
    assert sex_race == tuple(f"{s}&{r}" for s in gi.levels[0] for r in gi.levels[1])  # all present, sorted
    assert "Female&Black&25-45" in gi.grouping("sex&race&age").groups
    counts = _counts(gi, "sex&race")
    assert counts["Female&Black"] == ((adult["sex"] == "Female") & (adult["race"] == "Black")).sum() > 0
    # Only combinations that occur are groups.
    triple = gi.grouping("sex&race&age").groups
    observed = {f"{s}&{r}&{a}" for s, r, a in zip(adult["sex"], adult["race"],
                                                  pd.cut(adult["age"], AGE_BINS, right=False, labels=BANDS))}
    assert set(triple) == observed


def test_leaf_codes_reconstruct_every_grouping_for_every_row(adult):
    frame = adult.copy()
    frame.loc[frame.index[::7], "race"] = np.nan
    sensitive = ["sex", "race", "age", "workclass"]
    gi = build_groups(frame, sensitive=sensitive, bins={"age": AGE_BINS}, intersections=3, source="t")
    # The label of each attribute, computed here without the package.
    text = {
        "sex": frame["sex"].astype(str).to_numpy(dtype=object),
        "race": frame["race"].fillna(MISSING).astype(str).to_numpy(dtype=object),
        "age": pd.cut(frame["age"], AGE_BINS, right=False, labels=BANDS).astype(str).to_numpy(dtype=object),
        "workclass": frame["workclass"].fillna(MISSING).astype(str).to_numpy(dtype=object),
    }
    assert len(gi.groupings) == 4 + 6 + 4
    for g in gi.groupings:
        expected = text[g.attributes[0]]
        for attribute in g.attributes[1:]:
            expected = expected + "&" + text[attribute]
        np.testing.assert_array_equal(_row_groups(gi, g.name), expected, err_msg=g.name)
    # The leaf levels agree with the labels, attribute by attribute.
    for j, attribute in enumerate(sensitive):
        levels = np.asarray(gi.levels[j], dtype=object)
        np.testing.assert_array_equal(levels[gi.leaf_levels[gi.row_leaf, j]], text[attribute])
        np.testing.assert_array_equal(gi.labels[attribute].astype(str).to_numpy(dtype=object), text[attribute])
    # Leaves are the distinct combinations of levels: no two leaves share one.
    assert len(np.unique(gi.leaf_levels, axis=0)) == len(gi.leaf_levels) == len(np.unique(gi.row_leaf))


def test_a_numeric_column_with_many_values_and_no_bins_gets_a_group_per_value(adult):
    assert adult["age"].nunique() > 50
    gi = build_groups(adult, sensitive=["sex", "age"], bins={}, intersections=2, source="adult_test.csv.gz")
    ages = gi.grouping("age")
    expected = adult.groupby("age").size()  # pandas: one group per age in years, sorted as numbers
    assert ages.groups == tuple(str(a) for a in expected.index)
    counts = np.bincount(ages.leaf_group[gi.row_leaf], minlength=len(ages.groups))
    np.testing.assert_array_equal(counts, expected.to_numpy())
    both = gi.grouping("sex&age")
    assert len(both.groups) == len(adult.groupby(["sex", "age"]).size())


def test_hundreds_of_text_levels_are_accepted_and_counted_as_pandas_counts_them():
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"zip": [f"z{i:03d}" for i in rng.integers(0, 700, 20000)],
                          "sex": rng.choice(["F", "M"], 20000)})
    gi = build_groups(frame, sensitive=["zip", "sex"], bins={}, intersections=2, source="t.csv")
    for name, columns in [("zip", ["zip"]), ("zip&sex", ["zip", "sex"])]:
        g = gi.grouping(name)
        expected = frame.groupby(columns).size()
        assert g.groups == tuple("&".join(k) if isinstance(k, tuple) else k for k in expected.index)
        np.testing.assert_array_equal(np.bincount(g.leaf_group[gi.row_leaf], minlength=len(g.groups)),
                                      expected.to_numpy())


def test_bins_on_a_text_column_are_refused(adult):
    with pytest.raises(AuditError) as exc:
        build_groups(adult, sensitive=["sex"], bins={"sex": [0, 1]}, intersections=1, source="adult_test.csv.gz")
    assert str(exc.value).startswith("`data.bins.sex` needs a numeric column; column 'sex' of adult_test.csv.gz holds ")
    assert "'Male'" in str(exc.value)


def test_a_literal_missing_value_next_to_real_missing_values():
    frame = pd.DataFrame({"a": ["x", None, "missing", "y"]})
    gi = build_groups(frame, sensitive=["a"], bins={}, intersections=1, source="t.csv")
    assert len(gi.row_leaf) == 4
    # The written value and the absent value stay two groups.
    assert gi.grouping("a").groups == ("missing (as written)", "x", "y", "missing")


# --- property: group counts add up ---------------------------------------------------------------------------

_VALUES = ["a", "b", "c", "Dé", "10", "9"]


@st.composite
def _frames(draw):
    n_cols = draw(st.integers(2, 3))
    n_rows = draw(st.integers(1, 40))
    columns = {}
    for j in range(n_cols):
        pool = draw(st.lists(st.sampled_from(_VALUES), min_size=1, max_size=4, unique=True))
        cells = st.one_of(st.sampled_from(pool), st.none()) if draw(st.booleans()) else st.sampled_from(pool)
        columns[f"s{j}"] = draw(st.lists(cells, min_size=n_rows, max_size=n_rows))
    return pd.DataFrame(columns, dtype=object)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=_frames(), order=st.integers(1, 3))
def test_group_counts_sum_to_the_rows_and_match_groupby(frame, order):
    sensitive = list(frame.columns)
    gi = build_groups(frame, sensitive=sensitive, bins={}, intersections=order, source="t.csv")
    labels = frame.fillna(MISSING).astype(str)
    assert [g.attributes for g in gi.groupings] == [
        attrs for k in range(1, min(order, len(sensitive)) + 1) for attrs in combinations(sensitive, k)]
    for g in gi.groupings:
        counts = np.bincount(g.leaf_group[gi.row_leaf], minlength=len(g.groups))
        assert counts.sum() == len(frame)
        assert (counts > 0).all()  # every group reported holds rows
        expected = labels.groupby(list(g.attributes)).size()
        keys = ["&".join(k) if isinstance(k, tuple) else k for k in expected.index]
        assert dict(zip(g.groups, counts.tolist())) == dict(zip(keys, expected.tolist()))
        # and via the per-row labels the package keeps
        kept = gi.labels[list(g.attributes)].astype(str).groupby(list(g.attributes), observed=True).size()
        assert sorted(kept.tolist()) == sorted(counts.tolist())


# Group keys stay unambiguous whatever the values hold: the separator "&" (and the escape "\") in a value or a
# column name is escaped, so that no two groups share a key and no group's counts overwrite another's.
@pytest.mark.parametrize("a, b", [
    (["p&q", "p"], ["r", "q&r"]),            # p&q x r against p x q&r
    (["a&", "a"], ["b", "&b"]),              # the separator at either end
    (["x\\", "x"], ["&y", "\\&y"]),          # the escape character next to the separator
    (["&", "&&"], ["&&", "&"]),              # values made of separators only
])
def test_values_holding_the_separator_never_share_an_intersection_key(a, b):
    frame = pd.DataFrame({"s": np.repeat(a, 3), "t": np.repeat(b, 3)})
    gi = build_groups(frame, sensitive=["s", "t"], bins={}, intersections=2, source="t.csv")
    groups = gi.grouping("s&t").groups
    assert len(groups) == len(set(groups)) == 2
    # Each key splits back into the values it was built from, and counts by key match pandas' groupby.
    assert sorted(tuple(split_key(g)) for g in groups) == sorted(zip(a, b))
    keys = _row_groups(gi, "s&t")
    by_key = {tuple(split_key(k)): n for k, n in pd.Series(keys).value_counts().items()}
    assert by_key == {pair: 3 for pair in zip(a, b)}


def test_three_way_intersections_with_separators_stay_apart():
    frame = pd.DataFrame({"s": ["p&q", "p", "p"], "t": ["r", "q&r", "q"], "u": ["z", "z", "&r&z"]})
    gi = build_groups(frame, sensitive=["s", "t", "u"], bins={}, intersections=3, source="t.csv")
    groups = gi.grouping("s&t&u").groups
    assert sorted(map(tuple, map(split_key, groups))) == sorted(zip(frame.s, frame.t, frame.u))


def test_column_names_holding_the_separator_name_their_groupings_apart():
    # Columns "a&b", "c" and "a", "b&c": the intersection names differ, and neither is a single column's name.
    frame = pd.DataFrame({"a&b": ["x", "y"], "c": ["u", "v"], "a": ["x", "x"], "b&c": ["v", "u"]})
    gi = build_groups(frame, sensitive=["a&b", "c", "a", "b&c"], bins={}, intersections=2, source="t.csv")
    names = [g.name for g in gi.groupings]
    assert len(names) == len(set(names))
    assert join_key(["a&b", "c"]) in names and join_key(["a", "b&c"]) in names
    assert join_key(["a&b", "c"]) != join_key(["a", "b&c"])
    assert {tuple(split_key(g.name)) for g in gi.groupings if len(g.attributes) == 2} == \
        {tuple(g.attributes) for g in gi.groupings if len(g.attributes) == 2}


def test_plain_values_keep_their_keys():
    # No separator, no escape: keys are the values joined by "&", as before.
    frame = pd.DataFrame({"sex": ["F", "M"], "race": ["Black", "White"]})
    gi = build_groups(frame, sensitive=["sex", "race"], bins={}, intersections=2, source="t.csv")
    assert gi.grouping("sex&race").groups == ("F&Black", "M&White")
    assert gi.grouping("sex").groups == ("F", "M")


def test_intersections_with_no_group_of_min_group_size_are_counted_not_kept():
    rng = np.random.default_rng(8)
    frame = pd.DataFrame({"zip": [f"z{i:03d}" for i in rng.integers(0, 300, 12000)],
                          "age": rng.integers(18, 58, 12000).astype(str), "sex": rng.choice(["F", "M"], 12000)})
    gi = build_groups(frame, sensitive=["zip", "age", "sex"], bins={}, intersections=3, source="t.csv")
    rows_by_leaf = np.bincount(gi.row_leaf, minlength=len(gi.leaf_levels))
    judged = gi.judged(rows_by_leaf, min_group_size=30)
    # zip&age (about 1 row a group) and zip&age&sex have no group of 30 rows; the rest have some.
    small = {s.grouping: s for s in judged.small_intersections}
    assert set(small) == {"zip&age", "zip&age&sex"}
    assert [g.name for g in judged.groupings] == ["zip", "age", "sex", "zip&sex", "age&sex"]
    for name, columns in [("zip&age", ["zip", "age"]), ("zip&age&sex", ["zip", "age", "sex"])]:
        expected = frame.groupby(columns).size()  # pandas counts the same groups
        s = small[name]
        assert s.counts == {"&".join(k): int(v) for k, v in expected.items()}
        assert (s.groups, s.rows, s.largest) == (len(expected), len(frame), int(expected.max()))
        assert s.largest < 30
    # Single attributes stay, even when every group is small; nothing is dropped at min_group_size 1.
    assert [g.name for g in gi.judged(rows_by_leaf, min_group_size=10**6).groupings] == ["zip", "age", "sex"]
    assert gi.judged(rows_by_leaf, min_group_size=1).groupings == gi.groupings


@settings(max_examples=200, deadline=None)
@given(st.one_of(
    st.lists(st.integers(-5, 5), max_size=50),
    st.lists(st.integers(-2**40, 2**40), max_size=50),
    st.lists(st.sampled_from([0.0, -0.0, 0.25, 1.0, float("nan"), 1e-300]), max_size=50),
    st.lists(st.floats(allow_nan=False, allow_infinity=True, width=32), max_size=50)))
def test_factorize_sorted_is_np_unique(values):
    array = np.asarray(values, dtype=np.int64 if values and isinstance(values[0], int) else np.float64)
    uniques, inverse = factorize_sorted(array)
    expected, expected_inverse = np.unique(array, return_inverse=True)
    np.testing.assert_array_equal(uniques, expected)
    np.testing.assert_array_equal(inverse, expected_inverse.reshape(-1))
