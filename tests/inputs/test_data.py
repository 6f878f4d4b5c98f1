"""Reading data: CSV, gzip CSV and Parquet alike; errors that name the column and the file; the seeded split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from audit import AuditError, config_from_dict
from audit.inputs._data import Rest, load_dataset, sha256_file
from helpers import adult_rows

ROWS = 2000


@pytest.fixture(scope="module")
def adult_slice() -> pd.DataFrame:
    return adult_rows("test", ROWS)


def _config(tmp_path, test, *, model=None, seed=0, **data):
    raw = {"name": "t", "seed": seed,
           "data": {"test": test, "target": "income", "positive_label": ">50K", "sensitive": ["sex", "race"], **data},
           "model": model or {"load": "model.skops"}}
    return config_from_dict(raw, source="audit.yaml", base_dir=str(tmp_path))


_TRAIN = {"train": {"estimator": "sklearn.linear_model.LogisticRegression"}}


def _error(config) -> str:
    with pytest.raises(AuditError) as exc:
        load_dataset(config)
    return str(exc.value)


def test_csv_gzip_csv_and_parquet_of_the_same_rows_load_identically(tmp_path, adult_slice):
    adult_slice.to_csv(tmp_path / "a.csv", index=False)
    adult_slice.to_csv(tmp_path / "a.csv.gz", index=False)
    adult_slice.to_parquet(tmp_path / "a.parquet", index=False)
    loaded = {name: load_dataset(_config(tmp_path, name)) for name in ("a.csv", "a.csv.gz", "a.parquet")}
    expected_y = (adult_slice["income"] == ">50K").to_numpy(dtype=np.int8)
    for name, ds in loaded.items():
        pd.testing.assert_frame_equal(ds.test.frame, loaded["a.csv"].test.frame)
        pd.testing.assert_frame_equal(ds.test.frame, adult_slice, check_dtype=False)
        np.testing.assert_array_equal(ds.y_test, expected_y)
        assert ds.y_test.dtype == np.int8
        assert (ds.positive_label, ds.negative_label) == (">50K", "<=50K")
        assert ds.test.name == name and ds.test.files == (str(tmp_path / name),)
        assert ds.test.sha256 == (sha256_file(tmp_path / name),)
        assert ds.test.columns == tuple(adult_slice.columns)
        assert ds.features == tuple(c for c in adult_slice.columns if c not in ("income", "sex", "race"))
        assert ds.train is None and ds.y_train is None and not ds.train_is_split
    assert expected_y.sum() == 481  # positives in the first 2,000 Adult test rows
    # Three different files, three different hashes.
    assert len({ds.test.sha256 for ds in loaded.values()}) == 3


@pytest.mark.parametrize("second", ["part-2.csv", "part-2.parquet"])
def test_a_glob_of_two_files_concatenates_them_in_name_order(tmp_path, adult_slice, second):
    # Written in reverse name order, so that the order of the rows comes from the names.
    if second.endswith(".parquet"):
        adult_slice.iloc[700:].to_parquet(tmp_path / second, index=False)
    else:
        adult_slice.iloc[700:].to_csv(tmp_path / second, index=False)
    adult_slice.head(700).to_csv(tmp_path / "part-1.csv", index=False)
    (tmp_path / "notes.txt.bak").write_text("not data")  # not matched by the glob
    ds = load_dataset(_config(tmp_path, "part-*"))
    pd.testing.assert_frame_equal(ds.test.frame, adult_slice.reset_index(drop=True), check_dtype=False)
    assert ds.test.frame.index.equals(pd.RangeIndex(ROWS))
    np.testing.assert_array_equal(ds.y_test, (adult_slice["income"] == ">50K").to_numpy(dtype=np.int8))
    assert ds.test.files == (str(tmp_path / "part-1.csv"), str(tmp_path / second))
    assert ds.test.name == "part-* (2 files)"
    assert ds.test.sha256 == (sha256_file(tmp_path / "part-1.csv"), sha256_file(tmp_path / second))


def test_a_glob_that_matches_nothing_is_named(tmp_path):
    message = _error(_config(tmp_path, "part-*.csv"))
    assert message == (f"`data.test` must name an existing CSV or Parquet file; got 'part-*.csv', which matches "
                       f"nothing (looked for {tmp_path / 'part-*.csv'}).")


@pytest.mark.parametrize("file", ["adult.csv", "adult.parquet"])
def test_a_missing_target_column_names_the_column_and_the_file(tmp_path, adult_slice, file):
    frame = adult_slice.drop(columns="income")
    frame.to_parquet(tmp_path / file, index=False) if file.endswith(".parquet") else \
        frame.to_csv(tmp_path / file, index=False)
    message = _error(_config(tmp_path, file, target="incme"))
    assert message.startswith(f"`data.target` must name a column of {file}; got 'incme'. Columns: age, workclass,")
    assert "income" not in message  # the listed columns are the file's


def test_a_missing_sensitive_column_names_the_column_and_the_file(tmp_path, adult_slice):
    adult_slice.to_csv(tmp_path / "adult.csv.gz", index=False)
    message = _error(_config(tmp_path, "adult.csv.gz", sensitive=["sex", "gender"]))
    assert message.startswith("`data.sensitive` must name a column of adult.csv.gz; got 'gender'. Columns: ")
    assert ", sex, " in message and ", income." in message


def test_a_missing_feature_column_names_the_column_and_the_file(tmp_path, adult_slice):
    adult_slice.to_csv(tmp_path / "adult.csv", index=False)
    message = _error(_config(tmp_path, "adult.csv", features=["age", "salary"]))
    assert message.startswith("`data.features` must name a column of adult.csv; got 'salary'.")


def test_a_train_file_missing_a_feature_is_named(tmp_path, adult_slice):
    adult_slice.to_csv(tmp_path / "test.csv", index=False)
    adult_slice.drop(columns="occupation").to_csv(tmp_path / "train.csv", index=False)
    message = _error(_config(tmp_path, "test.csv", train="train.csv", model=_TRAIN))
    assert message.startswith("`data.train` must name a column of train.csv; got 'occupation'.")


def test_a_positive_label_not_among_the_target_values_is_named(tmp_path, adult_slice):
    adult_slice.to_csv(tmp_path / "adult.csv", index=False)
    message = _error(_config(tmp_path, "adult.csv", positive_label=">50k"))
    assert message == ("`data.positive_label` must be one of the values of 'income' in adult.csv; got '>50k'. "
                       "Values: '<=50K', '>50K'.")


def test_a_label_that_is_text_in_yaml_and_a_number_in_the_file_still_matches(tmp_path, adult_slice):
    frame = adult_slice.assign(income=np.where(adult_slice["income"] == ">50K", 7, 3))
    frame.to_csv(tmp_path / "adult.csv", index=False)
    ds = load_dataset(_config(tmp_path, "adult.csv", positive_label="7"))
    assert ds.positive_label == 7 and ds.negative_label == 3
    np.testing.assert_array_equal(ds.y_test, (frame["income"] == 7).to_numpy(dtype=np.int8))


def test_a_zero_one_target_needs_no_positive_label(tmp_path, adult_slice):
    frame = adult_slice.assign(income=(adult_slice["income"] == ">50K").astype(int))
    frame.to_csv(tmp_path / "adult.csv", index=False)
    ds = load_dataset(_config(tmp_path, "adult.csv", positive_label=None))
    assert (ds.positive_label, ds.negative_label) == (1, 0)
    np.testing.assert_array_equal(ds.y_test, frame["income"].to_numpy(dtype=np.int8))


def test_a_text_target_without_positive_label_asks_for_one(tmp_path, adult_slice):
    adult_slice.to_csv(tmp_path / "adult.csv", index=False)
    message = _error(_config(tmp_path, "adult.csv", positive_label=None))
    assert message.startswith("`data.positive_label` is required: the target 'income' of adult.csv holds ")
    assert "'<=50K'" in message and "'>50K'" in message


def test_a_binary_target_with_three_classes_and_no_positive_label_says_how_to_audit_it(tmp_path, adult_slice):
    frame = adult_slice.copy()
    frame.loc[frame.index[:5], "income"] = "unknown"
    frame.to_csv(tmp_path / "three.csv", index=False)
    message = _error(_config(tmp_path, "three.csv", positive_label=None).model_copy(update={"task": "binary"}))
    assert message.startswith("`data.target` column 'income' of three.csv must hold two classes for a binary audit; "
                              "got ")
    for value in ("'unknown'", "'<=50K'", "'>50K'"):
        assert value in message
    assert message.endswith("Set `data.positive_label` to one of them to audit that class against the rest, or "
                            "remove `task: binary` for a multiclass audit.")


def test_a_positive_label_of_a_three_valued_target_is_audited_against_the_rest(tmp_path, adult_slice):
    frame = adult_slice.copy()
    frame.loc[frame.index[:5], "income"] = "unknown"
    frame.to_csv(tmp_path / "three.csv", index=False)
    ds = load_dataset(_config(tmp_path, "three.csv"))
    assert ds.task == "binary" and ds.positive_label == ">50K"
    assert isinstance(ds.negative_label, Rest) and ds.negative_label.others == ("<=50K", "unknown")
    np.testing.assert_array_equal(ds.y_test, (frame["income"] == ">50K").to_numpy(dtype=np.int8))
    assert ds.task_note.startswith("One class against the rest: the target 'income' holds 3 values; this binary "
                                   "audit reads '>50K' (`data.positive_label`) as the positive class and every "
                                   "other value ('<=50K', 'unknown') as the negative class.")
    # A two-valued target is what it always was: no note.
    adult_slice.to_csv(tmp_path / "two.csv", index=False)
    assert load_dataset(_config(tmp_path, "two.csv")).task_note is None


def test_a_third_class_only_in_the_train_file_is_rejected(tmp_path, adult_slice):
    adult_slice.to_csv(tmp_path / "test.csv", index=False)
    adult_slice.assign(income=adult_slice["income"].replace({">50K": ">50K."})).to_csv(tmp_path / "train.csv",
                                                                                       index=False)
    message = _error(_config(tmp_path, "test.csv", train="train.csv", model=_TRAIN))
    assert "column 'income' of train.csv must hold two classes" in message and "'>50K.'" in message


def test_a_target_with_missing_values_is_rejected(tmp_path, adult_slice):
    frame = adult_slice.copy()
    frame.loc[frame.index[[3, 10, 500]], "income"] = np.nan
    frame.to_csv(tmp_path / "holes.csv", index=False)
    assert _error(_config(tmp_path, "holes.csv")) == (
        "`data.target` column 'income' of holes.csv has 3 missing values; drop those rows or fill them before the "
        "audit.")


def test_bins_must_name_a_sensitive_column(tmp_path, adult_slice):
    adult_slice.to_csv(tmp_path / "adult.csv", index=False)
    message = _error(_config(tmp_path, "adult.csv", bins={"hours-per-week": [0, 40, 100]}))
    assert message == ("`data.bins` must only name columns of `data.sensitive`; got 'hours-per-week'. "
                       "Sensitive: sex, race.")


def test_without_a_train_file_a_trained_model_splits_the_test_file_stratified_and_seeded(tmp_path, adult_slice):
    adult_slice.to_csv(tmp_path / "adult.csv", index=False)
    one, two = (load_dataset(_config(tmp_path, "adult.csv", model=_TRAIN, seed=3)) for _ in range(2))
    other = load_dataset(_config(tmp_path, "adult.csv", model=_TRAIN, seed=4))

    assert one.train_is_split and one.train is not None
    assert one.test.name == "adult.csv (test split)" and one.train.name == "adult.csv (train split)"
    assert (len(one.test.frame), len(one.train.frame)) == (600, 1400)  # data.test_size 0.3
    # Same seed, same split; another seed, another split.
    pd.testing.assert_frame_equal(one.test.frame, two.test.frame)
    pd.testing.assert_frame_equal(one.train.frame, two.train.frame)
    np.testing.assert_array_equal(one.y_test, two.y_test)
    assert not one.test.frame.equals(other.test.frame)
    # Labels stay aligned with their rows.
    for ds in (one, other):
        np.testing.assert_array_equal(ds.y_test, (ds.test.frame["income"] == ">50K").to_numpy(dtype=np.int8))
        np.testing.assert_array_equal(ds.y_train, (ds.train.frame["income"] == ">50K").to_numpy(dtype=np.int8))
    # Stratified: each part has the positive share of the whole, to within one row.
    positives = int((adult_slice["income"] == ">50K").sum())
    assert abs(int(one.y_test.sum()) - 0.3 * positives) <= 1
    assert int(one.y_test.sum()) + int(one.y_train.sum()) == positives
    # A partition: together the two parts are the file's rows.
    columns = list(adult_slice.columns)
    together = pd.concat([one.train.frame, one.test.frame]).sort_values(columns).reset_index(drop=True)
    pd.testing.assert_frame_equal(together, adult_slice.sort_values(columns).reset_index(drop=True))


def test_the_split_follows_data_test_size(tmp_path, adult_slice):
    adult_slice.to_csv(tmp_path / "adult.csv", index=False)
    ds = load_dataset(_config(tmp_path, "adult.csv", model=_TRAIN, test_size=0.5))
    assert (len(ds.test.frame), len(ds.train.frame)) == (1000, 1000)


def test_a_loaded_model_never_splits_the_data(tmp_path, adult_slice):
    adult_slice.to_csv(tmp_path / "adult.csv", index=False)
    ds = load_dataset(_config(tmp_path, "adult.csv", train="adult.csv"))  # model.load: train file unused
    assert not ds.train_is_split and ds.train is None and len(ds.test.frame) == ROWS


def test_a_train_file_is_read_and_labelled_when_given(tmp_path, adult_slice):
    adult_slice.head(500).to_csv(tmp_path / "test.csv", index=False)
    adult_rows("train", 1500).to_parquet(tmp_path / "train.parquet", index=False)
    ds = load_dataset(_config(tmp_path, "test.csv", train="train.parquet", model=_TRAIN))
    assert not ds.train_is_split and len(ds.test.frame) == 500 and len(ds.train.frame) == 1500
    assert ds.train.name == "train.parquet"
    np.testing.assert_array_equal(ds.y_train, (adult_rows("train", 1500)["income"] == ">50K").to_numpy(np.int8))


def test_unsupported_file_types_and_empty_files_are_named(tmp_path, adult_slice):
    (tmp_path / "adult.xlsx").write_bytes(b"PK\x03\x04")
    assert _error(_config(tmp_path, "adult.xlsx")) == (
        "`data.test` must be a CSV (.csv, .csv.gz) or Parquet (.parquet) file; got adult.xlsx.")
    adult_slice.head(0).to_csv(tmp_path / "empty.csv", index=False)
    assert _error(_config(tmp_path, "empty.csv")) == "`data.test` file empty.csv holds no rows; an audit needs data."


def test_a_misspelt_positive_label_is_named_even_when_the_data_holds_one_class(tmp_path, adult_slice):
    adult_slice[adult_slice["income"] == "<=50K"].to_csv(tmp_path / "negatives.csv", index=False)
    message = _error(_config(tmp_path, "negatives.csv", positive_label=">50k"))
    assert "'>50k'" in message
