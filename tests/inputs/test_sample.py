"""The seeded row sample is the same however the rows are cut: batches in one builder, or parts combined."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.inputs._groups import LeafCoder
from audit.inputs._sample import SampleBuilder, sample_keys


@given(start=st.integers(0, 10**12), n=st.integers(0, 50), split=st.integers(0, 50))
def test_keys_of_a_stretch_are_the_keys_of_its_parts(start, n, split):
    split = min(split, n)
    whole = sample_keys(seed=5, start=start, n=n)
    parts = np.concatenate([sample_keys(seed=5, start=start, n=split),
                            sample_keys(seed=5, start=start + split, n=n - split)])
    np.testing.assert_array_equal(whole, parts)


@settings(max_examples=30, deadline=None)
@given(rows=st.integers(1, 300), size=st.integers(1, 120), seed=st.integers(0, 2**32 - 1),
       cuts=st.lists(st.integers(1, 299), max_size=6))
def test_parts_combined_by_label_give_the_single_builders_sample(rows, size, seed, cuts):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x": np.arange(rows), "g": rng.choice(["a", "b", "c", "d"], size=rows)})
    y, score = rng.integers(0, 2, rows), rng.random(rows)
    one_coder, one = LeafCoder(sensitive=["g"], bins={}, source="t"), SampleBuilder(size=size, seed=seed)
    leaf, labels = one_coder.encode(frame)
    prediction = (score > 0.5).astype(int)
    one.add(frame, y, leaf, labels, score, prediction)
    expected = one.result()

    # Consecutive parts, each with its own coder and builder (as partitions on workers), then combined.
    bounds = [0, *sorted({c for c in cuts if c < rows}), rows]
    coder, combined = LeafCoder(sensitive=["g"], bins={}, source="t"), SampleBuilder(size=size, seed=seed)
    for a, b in zip(bounds, bounds[1:]):
        part_coder, part = LeafCoder(sensitive=["g"], bins={}, source="t"), SampleBuilder(size=size, seed=seed, start=a)
        part_leaf, part_labels = part_coder.encode(frame.iloc[a:b])
        part.add(frame.iloc[a:b], y[a:b], part_leaf, part_labels, score[a:b], prediction[a:b])
        combined.absorb(part, leaf_map=coder.absorb(part_coder.leaf_labels()))
    got = combined.result()

    assert len(got.frame) == min(size, rows)
    assert got.frame["x"].tolist() == expected.frame["x"].tolist()  # the same rows, in row order
    np.testing.assert_array_equal(got.score, expected.score)
    np.testing.assert_array_equal(got.prediction, expected.prediction)
    # Leaf codes differ between the coders; the leaves' labels do not.
    assert [coder.leaf_labels()[c] for c in got.leaf] == [one_coder.leaf_labels()[c] for c in expected.leaf]
