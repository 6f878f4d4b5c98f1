"""DataFrames in Python: `audit.run(config, data=df)` and `audit.audit(model, X, y, sensitive_features=...)`,
against the same audit read from a file, on the credit default sample."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import audit

DATA = Path(__file__).resolve().parent / "data" / "credit_default_sample.csv.gz"
TARGET = "default payment next month"
FEATURES = ["LIMIT_BAL", "AGE", "PAY_0", "PAY_2", "BILL_AMT1", "PAY_AMT1"]
CHECKS = {"explainability": {"method": "none"}, "bias": {"proxies": False}}


@pytest.fixture(scope="module")
def fitted():
    frame = pd.read_csv(DATA)
    train, test = frame.iloc[:1400], frame.iloc[1400:]
    model = LogisticRegression(max_iter=500).fit(train[FEATURES], train[TARGET])
    return model, test


def _metrics(result):
    doc = result.document
    return doc["metrics"]["overall"], doc["fairness"]["by_attribute"]["SEX"], doc["data"]["rows"]


def test_a_dataframe_gives_the_file_audit(fitted, tmp_path):
    model, test = fitted
    test.to_csv(tmp_path / "test.csv", index=False)
    raw = {"name": "credit", "data": {"target": TARGET, "sensitive": ["SEX"], "features": FEATURES},
           "bootstrap": {"replicates": 20}, "checks": CHECKS}
    from_file = audit.run({**raw, "data": {**raw["data"], "test": str(tmp_path / "test.csv")}}, model=model)
    from_frame = audit.run(raw, model=model, data=test)
    assert _metrics(from_frame) == _metrics(from_file)
    assert from_frame.document["audit"]["data"]["test"]["name"] == "the DataFrame passed as `data`"


def test_audit_takes_what_a_fairlearn_user_holds(fitted):
    model, test = fitted
    result = audit.audit(model, test[FEATURES], test[TARGET], sensitive_features=test["SEX"],
                         config={"bootstrap": {"replicates": 20}, "checks": CHECKS})
    rows = result.document["data"]["rows"]
    assert rows == len(test)
    accuracy = result.document["metrics"]["overall"]["accuracy"]["value"]
    assert accuracy == pytest.approx((model.predict(test[FEATURES]) == test[TARGET]).mean(), abs=1e-12)
    assert set(result.document["data"]["groups"]["SEX"]) == {"1", "2"}


def test_audit_refuses_rows_that_do_not_line_up(fitted):
    model, test = fitted
    with pytest.raises(audit.AuditError, match="must hold the same rows"):
        audit.audit(model, test[FEATURES], test[TARGET].iloc[:10], sensitive_features=test["SEX"])
