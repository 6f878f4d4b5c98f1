"""CPU time and peak memory of training a model spec on the Diabetes 130-US hospitals data.

What ``audit run`` does at its "training" step (``audit.inputs._model.train_model``: the column-type
preprocessing and the estimator, fitted together), on a seeded sample of the UCI file's rows, with the
three-class target ``readmitted`` and every other column but the two identifiers as a feature (three
diagnosis columns of about 700 codes each, a medical specialty of 70). Each estimator is timed in a fresh
interpreter, so that peak memory (``ru_maxrss``) is that fit's alone.

Run: ``python benchmarks/preprocessing.py --data PATH/diabetic_data.csv.gz [--rows 20000]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

_ESTIMATORS = {
    "hgb": ("sklearn.ensemble.HistGradientBoostingClassifier", {"max_iter": 200}),
    "logistic": ("sklearn.linear_model.LogisticRegression", {"max_iter": 200}),
}

_CHILD = """
import json, resource, sys, time
import pandas as pd
from audit.inputs._data import load_dataset
from audit.inputs._model import train_model
from audit.settings._config import config_from_dict

path, rows, estimator, params, sample = sys.argv[1], int(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4]), sys.argv[5]
frame = pd.read_csv(path, na_values=["?"], low_memory=False).sample(n=rows, random_state=0)
frame.drop(columns=["encounter_id", "patient_nbr"]).to_csv(sample, index=False)
cfg = config_from_dict({"name": "bench", "task": "multiclass", "data": {"test": sample, "target": "readmitted",
                        "sensitive": ["race", "gender", "age"]},
                        "model": {"train": {"estimator": estimator, "params": params}}})
dataset = load_dataset(cfg)
start = time.process_time()
train_model(cfg, dataset)
cpu = time.process_time() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"cpu_seconds": round(cpu, 1), "peak_rss_mb": round(peak), "train_rows": len(dataset.train.frame),
                  "features": len(dataset.features)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="diabetic_data.csv(.gz) of the UCI zip")
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--sample", default="/tmp/diabetes_sample.csv", help="where the sample is written")
    args = parser.parse_args()
    for name, (estimator, params) in _ESTIMATORS.items():
        out = subprocess.run([sys.executable, "-c", _CHILD, args.data, str(args.rows), estimator, json.dumps(params),
                              args.sample], capture_output=True, text=True, check=True)
        print(name, out.stdout.strip())


if __name__ == "__main__":
    main()
