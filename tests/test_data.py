"""Reading data: CSV, gzip CSV and Parquet alike; errors that name the column and the file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from audit import AuditError, config_from_dict
from audit._data import load_dataset
from conftest import ADULT


@pytest.fixture(scope="module")
def adult_slice():
    return pd.read_csv(ADULT / "data/adult_test.csv.gz").head(2000)


def _config(tmp_path, test, **data):
    raw = {"name": "t", "data": {"test": test, "target": "income", "positive_label": ">50K",
                                 "sensitive": ["sex", "race"], **data},
           "model": {"train": {"estimator": "sklearn.linear_model.LogisticRegression"}}}
    return config_from_dict(raw, source="audit.yaml", base_dir=str(tmp_path))


def test_csv_gzip_and_parquet_give_the_same_rows(tmp_path, adult_slice):
    adult_slice.to_csv(tmp_path / "a.csv", index=False)
    adult_slice.to_csv(tmp_path / "a.csv.gz", index=False)
    adult_slice.to_parquet(tmp_path / "a.parquet", index=False)
    loaded = {name: load_dataset(_config(tmp_path, name, train="a.csv")) for name in ("a.csv", "a.csv.gz", "a.parquet")}
    reference = loaded["a.csv"]
    for name, ds in loaded.items():
        assert len(ds.test.frame) == 2000, name
        np.testing.assert_array_equal(ds.y_test, reference.y_test)
        pd.testing.assert_frame_equal(ds.test.frame.astype(str), reference.test.frame.astype(str))
    assert reference.y_test.sum() == (adult_slice["income"] == ">50K").sum()
    assert reference.features == tuple(c for c in adult_slice.columns if c not in ("income", "sex", "race"))


def test_a_glob_concatenates_files_in_name_order(tmp_path, adult_slice):
    adult_slice.head(700).to_csv(tmp_path / "part-1.csv", index=False)
    adult_slice.iloc[700:].to_parquet(tmp_path / "part-2.parquet", index=False)
    ds = load_dataset(_config(tmp_path, "part-*", train="part-1.csv"))
    assert len(ds.test.frame) == 2000 and len(ds.test.files) == 2 and len(ds.test.sha256) == 2


@pytest.mark.parametrize("field, value, expected", [
    ("target", "incme", "`data.target` must name a column of a.csv; got 'incme'. Columns: age, workclass"),
    ("sensitive", ["sex", "gender"], "`data.sensitive` must name a column of a.csv; got 'gender'."),
    ("features", ["age", "salary"], "`data.features` must name a column of a.csv; got 'salary'."),
    ("positive_label", "rich", "`data.positive_label` must be one of the values of 'income' in a.csv; got 'rich'."),
])
def test_missing_or_wrong_columns_name_column_and_file(tmp_path, adult_slice, field, value, expected):
    adult_slice.to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(AuditError) as exc:
        load_dataset(_config(tmp_path, "a.csv", train="a.csv", **{field: value}))
    assert expected in str(exc.value)


def test_target_problems_are_named(tmp_path, adult_slice):
    three = adult_slice.copy()
    three.loc[three.index[:5], "income"] = "unknown"
    three.to_csv(tmp_path / "three.csv", index=False)
    with pytest.raises(AuditError, match="must hold two classes for a binary audit"):
        load_dataset(_config(tmp_path, "three.csv", train="three.csv"))
    holes = adult_slice.copy()
    holes.loc[holes.index[:3], "income"] = np.nan
    holes.to_csv(tmp_path / "holes.csv", index=False)
    with pytest.raises(AuditError, match="has 3 missing values"):
        load_dataset(_config(tmp_path, "holes.csv", train="holes.csv"))


def test_missing_file_and_wrong_format(tmp_path):
    with pytest.raises(AuditError, match="`data.test` must name an existing CSV or Parquet file; got 'nope.csv'"):
        load_dataset(_config(tmp_path, "nope.csv"))
    (tmp_path / "x.xlsx").write_text("x")
    with pytest.raises(AuditError, match="must be a CSV .* or Parquet .* file; got x.xlsx"):
        load_dataset(_config(tmp_path, "x.xlsx"))


def test_without_a_train_file_the_test_file_is_split_stratified_and_seeded(tmp_path, adult_slice):
    adult_slice.to_csv(tmp_path / "a.csv", index=False)
    one, two = (load_dataset(_config(tmp_path, "a.csv")) for _ in range(2))
    assert one.train_is_split and len(one.test.frame) == 600 and len(one.train.frame) == 1400
    pd.testing.assert_frame_equal(one.test.frame, two.test.frame)
    assert abs(one.y_test.mean() - one.y_train.mean()) < 0.01


def test_zero_one_target_needs_no_positive_label(tmp_path, adult_slice):
    frame = adult_slice.assign(income=(adult_slice["income"] == ">50K").astype(int))
    frame.to_csv(tmp_path / "a.csv", index=False)
    raw = {"name": "t", "data": {"test": "a.csv", "train": "a.csv", "target": "income", "sensitive": ["sex"]},
           "model": {"train": {"estimator": "sklearn.linear_model.LogisticRegression"}}}
    ds = load_dataset(config_from_dict(raw, base_dir=str(tmp_path)))
    assert ds.positive_label == 1 and ds.y_test.sum() == frame["income"].sum()
