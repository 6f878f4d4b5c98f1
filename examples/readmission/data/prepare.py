"""Rebuild this example's three files from the UCI file `diabetic_data.csv` (see SOURCE.md).

    python examples/readmission/data/prepare.py path/to/diabetic_data.csv.gz
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = ["race", "gender", "age", "admission_type_id", "time_in_hospital", "num_lab_procedures",
           "num_procedures", "num_medications", "number_outpatient", "number_emergency", "number_inpatient",
           "number_diagnoses", "max_glu_serum", "A1Cresult", "metformin", "insulin", "change", "diabetesMed",
           "readmitted"]
BANDS = {"[0-10)": "under 30", "[10-20)": "under 30", "[20-30)": "under 30", "[30-40)": "30-60",
         "[40-50)": "30-60", "[50-60)": "30-60"}


def _write(frame: pd.DataFrame, path: Path) -> None:
    # gzip with timestamp 0: the same rows give the same bytes (and SHA-256).
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
        out.write(frame.to_csv(index=False).encode("utf-8"))


def main(source: str) -> None:
    raw = pd.read_csv(source, na_values="?", low_memory=False)
    raw = raw.sort_values("encounter_id").drop_duplicates("patient_nbr")  # each patient's first encounter
    raw = raw[raw["gender"].isin(["Female", "Male"])].copy()
    raw["race"] = raw["race"].fillna("Unknown")
    raw["age"] = raw["age"].map(BANDS).fillna("over 60")
    raw["admission_type_id"] = "type " + raw["admission_type_id"].astype(str)  # a code, not a number
    for column in ("max_glu_serum", "A1Cresult"):
        raw[column] = raw[column].fillna("not measured")
    frame = raw[COLUMNS].reset_index(drop=True)
    # Earlier encounters train the model and are the drift reference; the latest third is audited.
    cut = int(len(frame) * 2 / 3)
    early, late = frame.iloc[:cut], frame.iloc[cut:]
    rng = np.random.default_rng(0)
    early = early.iloc[rng.permutation(len(early))]
    folder = Path(__file__).parent
    _write(early.iloc[:10_000].sort_index(), folder / "train.csv.gz")
    _write(early.iloc[10_000:14_000].sort_index(), folder / "reference.csv.gz")
    _write(late.iloc[np.sort(rng.permutation(len(late))[:8_000])], folder / "test.csv.gz")


if __name__ == "__main__":
    main(sys.argv[1])
