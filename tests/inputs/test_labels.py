"""`data.labels`: coded values named once as the data is read, so groups and findings show the names.

Checked on a hand-made table and on the credit default sample (SEX 1 = male, 2 = female; MARRIAGE 1 married,
2 single, 3 others, 0 undocumented), against pandas counts of the codes mapped by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from audit import AuditError, config_from_dict
from audit.cli import main
from audit.inputs._data import ReadOptions, apply_labels, load_dataset

DATA = Path(__file__).resolve().parents[1] / "data" / "credit_default_sample.csv.gz"
TARGET = "default payment next month"
FEATURES = ["LIMIT_BAL", "AGE", "PAY_0", "EDUCATION", "BILL_AMT1", "PAY_AMT1"]
SEX = {1: "male", 2: "female"}
MARRIAGE = {1: "married", 2: "single", 3: "others"}
LABELS = {"SEX": SEX, "MARRIAGE": MARRIAGE,
          "EDUCATION": {1: "graduate school", 2: "university", 3: "high school", 4: "others"},
          TARGET: {0: "paid", 1: "default"}}


def _options(labels: dict) -> ReadOptions:
    raw = {"name": "t", "data": {"test": "t.csv", "target": "y", "sensitive": ["g"], "labels": labels}}
    return ReadOptions.of(config_from_dict(raw))


def test_codes_written_three_ways_get_one_name_and_unnamed_codes_stay_as_text():
    frame = pd.DataFrame({"g": [1, 2, 2, 0], "f": [1.0, np.nan, 2.0, 2.0], "s": ["1", "2", "x", "1"],
                          "other": [1, 2, 3, 4]})
    # YAML keys as integers and as text: "1" of a text column, 1.0 of a column with a missing value, are code 1.
    labelled = apply_labels(frame, _options({"g": {1: "a", 2: "b"}, "f": {"1": "a", 2: "b"},
                                             "s": {1: "a", 2: "b"}}).labels)
    assert labelled["g"].tolist() == ["a", "b", "b", "0"]
    assert labelled["f"].iloc[[0, 2, 3]].tolist() == ["a", "b", "b"] and pd.isna(labelled["f"].iloc[1])
    assert labelled["s"].tolist() == ["a", "b", "x", "a"]
    assert labelled["other"].tolist() == [1, 2, 3, 4]  # unlabelled columns untouched
    assert frame["g"].tolist() == [1, 2, 2, 0]  # the frame read is not changed in place


def test_a_code_named_twice_and_a_labelled_column_with_bins_are_refused():
    with pytest.raises(AuditError, match=r"`data.labels` must give each code of 'g' one name; got 1 more than once"):
        _options({"g": {1: "a", "1": "b"}})
    raw = {"name": "t", "data": {"test": "t.csv", "target": "y", "sensitive": ["g"], "labels": {"g": {1: "a"}},
                                 "bins": {"g": [0, 1, 2]}}}
    with pytest.raises(AuditError, match=r"must not list a column in both `bins` and `labels`.*got 'g'"):
        config_from_dict(raw)


def test_positive_favorable_and_reference_may_be_given_as_code_or_name():
    base = {"test": "t.csv", "target": "y", "sensitive": ["SEX"], "labels": {"SEX": SEX, "y": {0: "paid", 1: "default"}}}
    by_code = config_from_dict({"name": "t", "data": {**base, "positive_label": 1, "favorable_label": 0,
                                                      "reference_groups": {"SEX": 1}}}).data
    by_name = config_from_dict({"name": "t", "data": {**base, "positive_label": "default", "favorable_label": "paid",
                                                      "reference_groups": {"SEX": "male"}}}).data
    assert (by_code.positive_label, by_code.favorable_label, by_code.reference_groups) == \
        ("default", "paid", {"SEX": "male"})
    assert (by_name.positive_label, by_name.favorable_label, by_name.reference_groups) == \
        (by_code.positive_label, by_code.favorable_label, by_code.reference_groups)


def _split(tmp_path: Path, *, train_rows: int = 1400) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = pd.read_csv(DATA)
    train, test = frame.iloc[:train_rows], frame.iloc[train_rows:]
    train.to_csv(tmp_path / "train.csv", index=False)
    test.to_csv(tmp_path / "test.csv", index=False)
    return train, test


def _raw(**data) -> dict:
    return {"name": "credit",
            "data": {"test": "test.csv", "train": "train.csv", "target": TARGET, "positive_label": 1,
                     "sensitive": ["SEX", "MARRIAGE"], "features": FEATURES, "labels": LABELS, **data},
            "model": {"train": {"estimator": "sklearn.linear_model.LogisticRegression", "params": {"max_iter": 500}}},
            "bootstrap": {"replicates": 20},
            "checks": {"explainability": {"method": "none"}, "bias": {"proxies": False}}}


def test_the_credit_audit_with_labels_shows_the_names_in_findings(tmp_path):
    _, test = _split(tmp_path)
    config = tmp_path / "audit.yaml"
    config.write_text(yaml.safe_dump(_raw(reference_groups={"SEX": 2})))
    assert main(["run", str(config), "--out", str(tmp_path / "out"), "--format", "json", "--quiet",
                 "--no-history"]) in (0, 1)
    document = json.loads((tmp_path / "out" / "credit" / "findings.json").read_text())
    groups = document["data"]["groups"]
    # The reference: pandas counts of the codes, named by hand; MARRIAGE's undocumented 0 keeps its code.
    assert groups["SEX"] == test["SEX"].map(SEX).value_counts().to_dict()
    assert groups["MARRIAGE"] == test["MARRIAGE"].map(lambda v: MARRIAGE.get(v, str(v))).value_counts().to_dict()
    assert set(groups["SEX&MARRIAGE"]) >= {"female&married", "male&single"}
    assert document["data"]["positives"] == int((test[TARGET] == 1).sum())
    assert document["fairness"]["reference_groups"]["SEX"]["reference"] == "female"
    assert set(document["fairness"]["by_attribute"]["SEX"]["demographic_parity_difference"]["groups"]) == \
        {"male", "female"}
    four_fifths = next(f["message"] for f in document["findings"]
                       if f["check"] == "four_fifths_rule" and f["attribute"] == "SEX")
    assert four_fifths.startswith(("SEX (male vs female)", "SEX (female vs male)")), four_fifths


def test_a_labelled_column_not_in_the_data_is_refused_naming_the_file_and_its_columns(tmp_path, capsys):
    _split(tmp_path)
    config = tmp_path / "audit.yaml"
    config.write_text(yaml.safe_dump(_raw(labels={"GENDER": SEX})))
    expected = "audit: error: `data.labels` must name a column of test.csv; got 'GENDER'. Columns: ID, LIMIT_BAL, SEX,"
    assert main(["validate", str(config)]) == 2
    assert capsys.readouterr().err.startswith(expected)
    assert main(["run", str(config), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert capsys.readouterr().err.startswith(expected)


def test_labels_apply_to_a_dataframe_passed_in_place_of_the_file():
    frame = pd.read_csv(DATA)
    raw = {"name": "t", "data": {"target": TARGET, "sensitive": ["SEX"], "labels": {"SEX": SEX},
                                 "features": FEATURES}, "model": {"load": "m.skops"}}
    from audit.inputs._data import frame_table

    dataset = load_dataset(config_from_dict({**raw, "data": {**raw["data"], "test": "<DataFrame>"}}),
                           frames={"data.test": frame_table(frame, name="df")})
    assert dataset.test.frame["SEX"].value_counts().to_dict() == frame["SEX"].map(SEX).value_counts().to_dict()


def test_a_loaded_model_s_feature_may_not_be_labelled(tmp_path):
    _split(tmp_path)
    raw = {"name": "t", "data": {"test": "test.csv", "target": TARGET, "sensitive": ["SEX"],
                                 "labels": {"SEX": SEX, "EDUCATION": {1: "graduate school"}}, "features": FEATURES},
           "model": {"load": "m.skops"}}
    with pytest.raises(AuditError, match=r"`data.labels` must not name a feature of a loaded model.*'EDUCATION'"):
        load_dataset(config_from_dict(raw, base_dir=str(tmp_path)))


def test_read_in_batches_the_audit_shows_the_same_names_and_counts(tmp_path):
    _split(tmp_path, train_rows=600)  # 1,400 evaluation rows: two batches of at most 1,000
    whole = audit_run(_raw(), tmp_path)
    batched = audit_run(_raw(batch_rows=1000), tmp_path)
    assert batched["data"]["groups"] == whole["data"]["groups"]
    assert set(batched["data"]["groups"]["SEX"]) == {"male", "female"}
    assert batched["fairness"]["by_attribute"]["MARRIAGE"] == whole["fairness"]["by_attribute"]["MARRIAGE"]


def audit_run(raw: dict, folder: Path) -> dict:
    from audit import run

    return run(config_from_dict(raw, base_dir=str(folder))).document


def test_a_positive_label_neither_code_nor_name_is_refused_naming_both(tmp_path):
    _split(tmp_path)
    with pytest.raises(AuditError) as exc:
        load_dataset(config_from_dict(_raw(positive_label="yes"), base_dir=str(tmp_path)))
    assert str(exc.value).endswith("got 'yes'. Values: 'paid', 'default'. The values are the names of "
                                   f"`data.labels.{TARGET}`; its codes are accepted too: 0 (paid), 1 (default).")
    assert load_dataset(config_from_dict(_raw(positive_label="default"), base_dir=str(tmp_path))).positive_label \
        == "default"


def test_validate_names_the_codes_left_without_a_name(tmp_path, capsys):
    _, test = _split(tmp_path)
    config = tmp_path / "audit.yaml"
    config.write_text(yaml.safe_dump(_raw()))
    assert main(["validate", str(config)]) == 0
    out = capsys.readouterr().out
    # The reference: codes of the evaluation rows that the mapping leaves out, counted by pandas.
    marriage = test["MARRIAGE"][~test["MARRIAGE"].isin(MARRIAGE)].value_counts().sort_index()
    education = test["EDUCATION"][~test["EDUCATION"].isin(LABELS["EDUCATION"])].value_counts().sort_index()
    shown = lambda counts: ", ".join(f"{c} ({n} row{'s' if n != 1 else ''})" for c, n in counts.items())  # noqa: E731
    assert len(marriage) and len(education)
    # In the order of `data.labels` (yaml.safe_dump wrote its keys sorted).
    assert (f"`data.labels` names no code for EDUCATION {shown(education)}; MARRIAGE {shown(marriage)}: shown as "
            "the code.") in out
