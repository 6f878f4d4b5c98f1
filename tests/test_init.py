"""`audit init`: proposals from real data, a config that `audit validate` accepts, no silent overwrite."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
import yaml

from audit import load_config
from audit._init import propose, write_config
from conftest import ADULT, ROOT
from audit.cli import main
from helpers import ADULT_DATA, adult_rows


@pytest.fixture()
def adult_folder(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    adult_rows("test", 3000).to_csv(data / "adult_test.csv.gz", index=False)
    adult_rows("train", 3000).to_csv(data / "adult_train.csv.gz", index=False)
    return tmp_path


def test_init_on_a_folder_writes_a_config_that_validates(adult_folder, capsys):
    assert main(["init", str(adult_folder)]) == 0
    config = adult_folder / "audit.yaml"
    text = config.read_text(encoding="utf-8")
    assert "target: \"income\"   # two values and a name like a label" in text
    assert "positive_label: \">50K\"" in text and text.count("#") > 15
    cfg = load_config(config)
    assert cfg.data.target == "income" and cfg.data.positive_label == ">50K"
    assert cfg.data.test == "data/adult_test.csv.gz" and cfg.data.train == "data/adult_train.csv.gz"
    assert set(cfg.data.sensitive) == {"age", "marital-status", "race", "sex", "native-country"}
    assert cfg.data.bins["age"][1:-1] == [25, 45, 65]
    ages = adult_rows("test", 3000)["age"]
    assert cfg.data.bins["age"][0] <= ages.min() and cfg.data.bins["age"][-1] > ages.max()
    capsys.readouterr()
    assert main(["validate", str(config)]) == 0
    assert "valid." in capsys.readouterr().out


def test_init_never_overwrites_without_force(adult_folder, capsys):
    config = adult_folder / "audit.yaml"
    config.write_text("name: mine\n", encoding="utf-8")
    assert main(["init", str(adult_folder)]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "--force" in err
    assert config.read_text(encoding="utf-8") == "name: mine\n"
    assert main(["init", str(adult_folder), "--force"]) == 0
    assert load_config(config).data.target == "income"


def test_sensitive_columns_are_found_by_their_values(tmp_path):
    # Columns renamed so that only their values can give them away; written as Parquet.
    frame = adult_rows("test", 2000).rename(columns={"sex": "s1", "race": "grp", "marital-status": "ms",
                                                     "income": "outcome", "age": "years"})
    frame.to_parquet(tmp_path / "scored.parquet")
    p = propose(tmp_path / "scored.parquet")
    reasons = {s.column: s.reason for s in p.sensitive}
    assert reasons["s1"].startswith("its values look like sex") and "Male" in reasons["s1"]
    assert reasons["grp"].startswith("its values look like race")
    assert reasons["ms"].startswith("its values look like marital status")
    assert "years" not in reasons  # a number named `years` is not an age without a hint
    assert (p.target, p.positive_label) == ("outcome", ">50K")


def test_numeric_target_and_identifier_columns(tmp_path):
    frame = adult_rows("test", 1500)
    frame.insert(0, "id", range(100_000, 100_000 + len(frame)))
    frame["label"] = (frame.pop("income") == ">50K").astype(int)
    frame.to_csv(tmp_path / "loans.csv", index=False)
    (tmp_path / "cfg").mkdir()  # --output may name a folder: audit.yaml goes inside
    assert main(["init", str(tmp_path / "loans.csv"), "--output", str(tmp_path / "cfg")]) == 0
    raw = yaml.safe_load((tmp_path / "cfg" / "audit.yaml").read_text(encoding="utf-8"))
    assert raw["data"]["target"] == "label" and "positive_label" not in raw["data"]
    assert "id" not in raw["data"]["features"] and "education-num" in raw["data"]["features"]
    assert raw["data"]["test"] == "../loans.csv"
    assert main(["validate", str(tmp_path / "cfg" / "audit.yaml")]) == 0


@pytest.mark.parametrize("args, message", [
    (["--target", "nope"], "--target must name a column of the data; got 'nope'"),
    (["--target", "age"], "--target 'age' has"),
])
def test_bad_target_choice_is_a_clear_error(tmp_path, capsys, args, message):
    shutil.copy(ADULT_DATA / "adult_test.csv.gz", tmp_path / "adult_test.csv.gz")
    assert main(["init", str(tmp_path / "adult_test.csv.gz"), *args]) == 2
    assert message in capsys.readouterr().err


def test_folder_without_data_is_a_clear_error(tmp_path, capsys):
    assert main(["init", str(tmp_path)]) == 2
    assert "found no CSV" in capsys.readouterr().err
    pd.DataFrame({"a": [1, 2, 3], "b": [1.5, 2.5, 3.5]}).to_csv(tmp_path / "x.csv", index=False)
    assert main(["init", str(tmp_path / "x.csv")]) == 2
    assert "no column with exactly two values" in capsys.readouterr().err


def test_init_on_the_readmission_data_picks_readmitted_and_keeps_sensitive_and_identifier_columns_out(tmp_path):
    """Rows of the UCI Diabetes 130-US hospitals file as published (tests/data/SOURCE.md): a patient number,
    a medication flag of two values, and the three-valued target `readmitted`."""
    import yaml

    frame = pd.read_csv(ROOT / "tests" / "data" / "diabetes_sample.csv.gz")
    frame.to_csv(tmp_path / "diabetic_data.csv", index=False)
    out, proposal = write_config(tmp_path / "diabetic_data.csv")
    assert (proposal.target, proposal.positive_label) == ("readmitted", "<30")
    text = out.read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    features = raw["data"]["features"]
    assert set(raw["data"]["sensitive"]) == {"race", "gender", "age"}
    assert not set(features) & set(raw["data"]["sensitive"])  # never trains on a sensitive column
    assert "patient_nbr" not in features and "encounter_id" not in features
    assert "diabetesMed" in features and "admission_type_id" in features  # a coded category is not an id
    assert "#   patient_nbr: an identifier (its name)" in text
    assert "positive_label: \"<30\"   # a value that usually means the positive outcome; the other 2 values" in text
    assert main(["validate", str(out)]) == 0


def test_init_drops_a_twin_of_the_target_and_says_why(tmp_path):
    frame = pd.read_csv(ADULT / "data" / "adult_test.csv.gz", nrows=3000)
    frame["income_band"] = frame["income"].map({">50K": "high", "<=50K": "low"})
    frame.to_csv(tmp_path / "people.csv", index=False)
    out, proposal = write_config(tmp_path / "people.csv")
    assert proposal.excluded == ("income_band",)
    assert "#   income_band: a twin of the target (alone it gives the target in 100.0% of rows" in \
        out.read_text(encoding="utf-8")


CREDIT = ROOT / "tests" / "data" / "credit_default_sample.csv.gz"
CREDIT_TARGET = "default payment next month"


def test_a_dictionary_becomes_data_labels_and_the_audit_reads_the_names(tmp_path, capsys):
    shutil.copy(CREDIT, tmp_path / "credit.csv.gz")
    (tmp_path / "dict.csv").write_text("column,code,label\nSEX,1,male\nSEX,2,female\nMARRIAGE,1,married\n"
                                       f"MARRIAGE,2,single\nMARRIAGE,3,others\n{CREDIT_TARGET},0,paid\n"
                                       f"{CREDIT_TARGET},1,default\n", encoding="utf-8")
    assert main(["init", str(tmp_path / "credit.csv.gz"), "--dictionary", str(tmp_path / "dict.csv")]) == 0
    cfg = load_config(tmp_path / "audit.yaml")
    assert cfg.data.labels == {"SEX": {1: "male", 2: "female"}, "MARRIAGE": {1: "married", 2: "single", 3: "others"},
                               CREDIT_TARGET: {0: "paid", 1: "default"}}
    # The target named "... next month" is a two-valued flag, not a date: it stays the target, given by name.
    assert cfg.data.target == CREDIT_TARGET and cfg.data.positive_label == "default"
    assert {"SEX", "MARRIAGE"} <= set(cfg.data.sensitive)
    assert not set(cfg.data.sensitive) & set(cfg.data.features)
    capsys.readouterr()
    assert main(["validate", str(tmp_path / "audit.yaml")]) == 0
    # The same dictionary as YAML gives the same labels.
    (tmp_path / "dict.yaml").write_text(yaml.safe_dump(cfg.data.labels), encoding="utf-8")
    assert main(["init", str(tmp_path / "credit.csv.gz"), "--dictionary", str(tmp_path / "dict.yaml"),
                 "--output", str(tmp_path / "again.yaml")]) == 0
    assert load_config(tmp_path / "again.yaml").data.labels == cfg.data.labels


def test_without_a_dictionary_coded_sensitive_columns_get_a_commented_example(tmp_path):
    shutil.copy(CREDIT, tmp_path / "credit.csv.gz")
    out, proposal = write_config(tmp_path / "credit.csv.gz")
    text = out.read_text(encoding="utf-8")
    codes = sorted(pd.read_csv(CREDIT)["MARRIAGE"].unique())
    assert '  #   "SEX": {1: "...", 2: "..."}' in text
    assert '  #   "MARRIAGE": {' + ", ".join(f'{c}: "..."' for c in codes) + "}" in text
    assert "AGE" not in dict(proposal.coded)  # banded, not coded
    assert load_config(out).data.labels == {}


def test_a_dictionary_naming_a_column_not_in_the_data_is_refused(tmp_path, capsys):
    shutil.copy(CREDIT, tmp_path / "credit.csv.gz")
    (tmp_path / "dict.yaml").write_text("GENDER: {1: male, 2: female}\n", encoding="utf-8")
    assert main(["init", str(tmp_path / "credit.csv.gz"), "--dictionary", str(tmp_path / "dict.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("audit: error: --dictionary must name columns of credit.csv.gz; got 'GENDER'. "
                          "Columns: ID, LIMIT_BAL, SEX,")
    assert not (tmp_path / "audit.yaml").exists()


def test_an_adverse_positive_label_gets_the_other_value_as_the_favourable_outcome(tmp_path, adult_folder):
    # Credit default: 1 is a default, the harm; the favourable outcome for the person is 0 (no default).
    shutil.copy(CREDIT, tmp_path / "credit.csv.gz")
    out, proposal = write_config(tmp_path / "credit.csv.gz")
    cfg = load_config(out)
    assert cfg.data.favorable_label == 0 and cfg.data.positive_label is None
    assert set(pd.read_csv(CREDIT)[CREDIT_TARGET].unique()) == {0, 1}
    # Income above 50K is a benefit: no favourable label is written, the positive label is one.
    out, _ = write_config(adult_folder, output=adult_folder / "adult.yaml")
    assert load_config(out).data.favorable_label is None and "favorable_label" not in out.read_text()


DIABETES = ROOT / "tests" / "data" / "diabetes_sample.csv.gz"


def test_question_marks_are_missing_and_a_rare_positive_class_gets_a_selection_rate_cutoff(tmp_path, capsys):
    shutil.copy(DIABETES, tmp_path / "diabetic.csv.gz")
    out, proposal = write_config(tmp_path / "diabetic.csv.gz")
    cfg = load_config(out)
    raw = pd.read_csv(DIABETES, dtype=str)
    assert cfg.data.na_values == ["?"]
    assert "race" in dict(proposal.na_values)["?"] and (raw["race"] == "?").any()
    assert cfg.data.target == "readmitted" and cfg.data.positive_label == "<30"
    assert {"encounter_id", "patient_nbr"} <= set(proposal.excluded)
    share = (raw["readmitted"] == "<30").mean()  # the reference: pandas on the raw text
    assert cfg.model.threshold.selection_rate == pytest.approx(share, abs=5e-4) and share < 0.2
    # Read as `audit run` reads it: "?" of race is missing, not a group.
    from audit.inputs._data import load_dataset

    frame = load_dataset(cfg).test.frame
    assert frame["race"].isna().any() and "?" not in set(frame["race"].dropna())  # the evaluation split of it
    capsys.readouterr()
    assert main(["validate", str(out)]) == 0


def test_a_common_positive_class_keeps_the_model_s_own_rule(tmp_path):
    shutil.copy(CREDIT, tmp_path / "credit.csv.gz")  # 22% defaults
    out, proposal = write_config(tmp_path / "credit.csv.gz")
    assert proposal.rare_positive is None and load_config(out).model.threshold is None


def test_values_that_combine_sex_with_another_attribute_are_found_as_sensitive(tmp_path):
    # German credit's personal_status once named (A91 "male : divorced/separated", ...): sex with marital status.
    names = ["male : divorced/separated", "female : divorced/separated/married", "male : single",
             "male : married/widowed", "female : single"]
    frame = pd.DataFrame({"personal_status": [names[i % 5] for i in range(200)],
                          "amount": [100 + 7 * i for i in range(200)],
                          "purpose": [("car", "radio/television", "business")[i % 3] for i in range(200)],
                          "class": [("good", "bad")[i % 3 == 0] for i in range(200)]})
    frame.to_csv(tmp_path / "credit.csv", index=False)
    proposal = propose(tmp_path / "credit.csv")
    found = {s.column: s.reason for s in proposal.sensitive}
    assert found["personal_status"].startswith("its values name sex (female : divorced/separated/married")
    assert "purpose" not in found and proposal.target == "class" and proposal.positive_label == "good"
