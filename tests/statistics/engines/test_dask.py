"""The dask engine gives the local engine's findings exactly, on Adult and on generated data.

One two-worker ``distributed.LocalCluster`` (worker processes, so the model and
the partition results really travel) serves the whole module; runs reach it
through its address, as ``--scheduler`` does.
"""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

import audit
from audit.settings._config import config_from_dict
from audit.inputs._data import evaluation_batches, load_dataset
from audit.findings._document import load_schema
from audit.inputs._model import train_model
from audit.cli import main
from audit.statistics._tasks import adapter
from audit.statistics.engines import PassSettings, dask_pass, local_pass
from conftest import ADULT, AGE_BINS, ROOT

distributed = pytest.importorskip("distributed")

ADULT_ROWS = 6000


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=40) as local:
        yield local.scheduler_address


def _comparable(doc: dict) -> dict:
    """The document without what legitimately differs between runs and engines."""
    doc = json.loads(json.dumps(doc))
    # The dask engine gathers no row-level outputs (predictions.parquet), and says so in a step note.
    for key in ("created", "duration_seconds", "config", "engine", "predictions"):
        doc["audit"].pop(key, None)
    doc["steps"] = [s for s in doc.get("steps", []) if s["step"] != "predictions"]
    doc["data"].pop("batch_rows")
    doc["explainability"].pop("seconds", None)
    return doc


@pytest.fixture(scope="module")
def adult(tmp_path_factory):
    """Adult test rows as a Parquet data set of four files, a training file, and a model trained on it."""
    folder = tmp_path_factory.mktemp("dask_adult")
    test = pd.read_csv(ADULT / "data/adult_test.csv.gz").head(ADULT_ROWS)
    (folder / "test").mkdir()
    # Names whose text order (the local engine's) is not their natural order: part-1, part-10, part-11, part-2.
    for i, chunk in zip((1, 10, 11, 2), np.array_split(np.arange(ADULT_ROWS), 4)):
        test.iloc[chunk].to_parquet(folder / "test" / f"part-{i}.parquet", index=False, row_group_size=500)
    pd.read_csv(ADULT / "data/adult_train.csv.gz").head(4000).to_csv(folder / "train.csv", index=False)
    raw = {
        "name": "adult-dask",
        "data": {"test": "test/*.parquet", "train": "train.csv", "target": "income", "positive_label": ">50K",
                 "sensitive": ["sex", "race", "age"], "bins": {"age": AGE_BINS}, "intersections": 3},
        "model": {"train": {"estimator": "sklearn.ensemble.HistGradientBoostingClassifier",
                            "params": {"max_iter": 30}}},
        "bootstrap": {"replicates": 40}, "dask": {"partition_rows": 1000},  # two partitions per file
        "checks": {"explainability": {"sample": 200, "flip_test": False}, "fairness": {"max": {"equalized_odds_difference": 0.1}}},
    }
    return folder, raw, audit.run(config_from_dict(raw, base_dir=str(folder)))


@pytest.mark.slow
def test_adult_on_the_cluster_equals_the_local_audit_exactly(adult, cluster):
    folder, raw, local = adult
    on_cluster = audit.run(config_from_dict(raw, base_dir=str(folder)), engine="dask", scheduler=cluster)
    engine = on_cluster.document["audit"]["engine"]
    assert engine == {"name": "dask", "scheduler": cluster, "workers": 2, "partitions": 8}
    # Counts, metrics, bootstrap intervals, p-values, findings: all equal to the last bit, not just to 1e-9.
    assert _comparable(on_cluster.document) == _comparable(local.document)
    # And right: per-group ROC AUC against scikit-learn on the same rows and the same model's scores.
    test = pd.read_parquet(folder / "test")
    score = on_cluster.model.estimator.predict_proba(test[list(on_cluster.model.features)])[:, 1]
    by_sex = on_cluster.document["metrics"]["by_group"]["sex"]
    for group, rows in test.groupby("sex").indices.items():
        expected = roc_auc_score(test["income"].iloc[rows] == ">50K", score[rows])
        assert by_sex[group]["roc_auc"]["value"] == pytest.approx(expected, abs=1e-9)


def _generated(folder, *, rows: int, seed: int, fmt: str = "csv") -> None:
    """Three files; a level of ``branch`` that only the last file holds; NaN in sensitive and feature columns."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=rows), rng.normal(size=rows)
    branch = rng.choice(["north", "south", "east"], size=rows).astype(object)
    branch[-rows // 10:] = np.where(rng.random(rows // 10) < 0.5, "island", branch[-rows // 10:])
    branch[rng.random(rows) < 0.02] = None
    income = np.round(rng.gamma(2.0, 20_000, size=rows), -2)
    income[rng.random(rows) < 0.03] = np.nan
    x2[rng.random(rows) < 0.05] = np.nan
    y = (rng.random(rows) < 1 / (1 + np.exp(-(x1 - 0.5 + 0.4 * (branch == "south"))))).astype(int)
    frame = pd.DataFrame({"x1": x1, "x2": x2, "plan": rng.choice(["a", "b", "c"], size=rows), "branch": branch,
                          "income": income, "approved": y})
    (folder / "test").mkdir()
    for i, chunk in enumerate(np.array_split(np.arange(rows), 3)):
        if fmt == "csv":
            frame.iloc[chunk].to_csv(folder / "test" / f"part-{i}.csv", index=False)
        else:
            frame.iloc[chunk].to_parquet(folder / "test" / f"part-{i}.parquet", index=False, row_group_size=300)
    train = frame.sample(frac=0.5, random_state=seed)
    train["x2"] = train["x2"].fillna(0.0)
    train.to_csv(folder / "train.csv", index=False)


GENERATED = {
    "name": "generated",
    "data": {"test": "test/part-*.csv", "train": "train.csv", "target": "approved", "sensitive": ["branch", "income"],
             "bins": {"income": [0, 20_000, 50_000, 1e9]}, "intersections": 2, "min_group_size": 20},
    "model": {"train": {"estimator": "sklearn.linear_model.LogisticRegression"}},
    "bootstrap": {"replicates": 30},
    "checks": {"explainability": {"method": "none"}, "performance": {"min": {"roc_auc": 0.6}}},
}


@pytest.mark.slow
@pytest.mark.parametrize("batch_rows", [None, 1000])
def test_generated_csv_on_the_cluster_equals_the_local_audit(tmp_path, cluster, batch_rows):
    _generated(tmp_path, rows=3000, seed=7)
    raw = json.loads(json.dumps(GENERATED))
    raw["data"]["batch_rows"] = batch_rows
    local = audit.run(config_from_dict(raw, base_dir=str(tmp_path)))
    on_cluster = audit.run(config_from_dict({**raw, "engine": "dask", "dask": {"scheduler": cluster}},
                                            base_dir=str(tmp_path)))
    assert on_cluster.document["audit"]["engine"]["partitions"] == 3
    assert "island" in on_cluster.document["metrics"]["by_group"]["branch"]  # a level of the last file only
    assert _comparable(on_cluster.document) == _comparable(local.document)


@pytest.mark.slow
@pytest.mark.parametrize("fmt, partitions", [("csv", 3), ("parquet", 6)])
def test_the_cluster_draws_the_local_engines_sample_and_statistics(tmp_path, cluster, fmt, partitions):
    _generated(tmp_path, rows=3000, seed=3, fmt=fmt)
    data = {**GENERATED["data"], "batch_rows": 1000, "test": f"test/part-*.{fmt}"}
    cfg = config_from_dict({**GENERATED, "data": data}, base_dir=str(tmp_path))
    dataset = load_dataset(cfg)
    model = train_model(cfg, dataset)
    settings = PassSettings(sensitive=("branch", "income"), bins=cfg.data.bins, source=dataset.test.name,
                            target="approved", positive_label=dataset.positive_label,
                            negative_label=dataset.negative_label, sample_size=250, seed=11)
    columns = ["x1", "x2", "plan", "branch", "income", "approved"]
    labels = adapter("binary").labels
    local = local_pass(batches=evaluation_batches(dataset, columns=columns,
                                                  labels=lambda c: labels(c, settings.labelling())),
                       model=model, settings=settings)
    remote, where = dask_pass(dataset=load_dataset(cfg, lazy=True), model=model, columns=columns, settings=settings,
                              scheduler=cluster, workers=None, partition_rows=600,  # two row groups
                              progress=lambda _text: None)
    assert (where.workers, where.partitions) == (2, partitions)
    assert len(remote.sample.frame) == 250  # a real subsample of 3,000 rows, drawn on the workers
    pd.testing.assert_frame_equal(remote.sample.frame, local.sample.frame)
    np.testing.assert_array_equal(remote.sample.score, local.sample.score)
    np.testing.assert_array_equal(remote.coder.leaf_order()[remote.sample.leaf],
                                  local.coder.leaf_order()[local.sample.leaf])
    for field in ("leaf", "score", "y", "yhat", "count", "rank"):
        np.testing.assert_array_equal(getattr(remote.part, field), getattr(local.part, field))
    np.testing.assert_array_equal(remote.missing_by_leaf, local.missing_by_leaf)
    assert remote.missing_by_leaf[:, -1].sum() == 3000


@pytest.mark.slow
def test_command_line_runs_on_a_scheduler_and_a_scheduler_needs_the_dask_engine(cluster, tmp_path, capsys):
    _generated(tmp_path, rows=1000, seed=2)
    config = tmp_path / "audit.yaml"
    config.write_text(json.dumps(GENERATED))
    code = main(["run", str(config), "--engine", "dask", "--scheduler", cluster, "--out", str(tmp_path / "out"),
                 "--format", "json", "--quiet"])
    assert code in (0, 1)
    written = json.loads((tmp_path / "out" / "generated" / "findings.json").read_text())
    assert written["audit"]["engine"] == {"name": "dask", "scheduler": cluster, "workers": 2, "partitions": 3}
    jsonschema.Draft202012Validator(load_schema()).validate(written)
    assert main(["run", str(config), "--scheduler", cluster, "--quiet"]) == 2
    assert "only used by the dask engine; add `--engine dask`" in capsys.readouterr().err


@pytest.mark.slow
def test_local_engine_never_imports_dask(tmp_path):
    _generated(tmp_path, rows=1000, seed=1)
    folder, raw = tmp_path, GENERATED
    script = (f"import json, sys, audit; raw = json.loads({json.dumps(json.dumps(raw))})\n"
              "def loaded(): return sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed'))\n"
              "print(loaded())\n"
              f"audit.run(audit.config_from_dict(raw, base_dir={str(folder)!r}))\n"
              "print([m for m in loaded() if m.startswith(('distributed', 'dask.dataframe'))])")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    after_import, after_run = out.splitlines()
    assert after_import == "[]"
    # Writing the trained model with skops lists scikit-learn's estimators, which imports scikit-learn's
    # array-API shim for dask.array when dask is installed; the engine's dask.dataframe and distributed never are.
    assert after_run == "[]"


@pytest.mark.slow
def test_without_the_extra_the_error_names_it(adult):
    folder, raw, _ = adult
    # A Python where dask cannot be imported (as without the extra installed).
    script = ("import sys; sys.modules['dask'] = None; import audit\n"
              f"raw = {raw!r}; raw['engine'] = 'dask'\n"
              f"try:\n    audit.run(audit.config_from_dict(raw, base_dir={str(folder)!r}))\n"
              "except ImportError as exc:\n    print(isinstance(exc, audit.AuditError), exc)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.startswith("True The dask engine needs the `dask` extra")
    assert "pip install 'rai-audit[dask]'" in out


@pytest.mark.slow
def test_labels_name_the_codes_on_the_cluster_as_in_the_local_engine(tmp_path, cluster):
    _generated(tmp_path, rows=2000, seed=5)
    raw = json.loads(json.dumps(GENERATED))
    raw["data"].update({"labels": {"branch": {"north": "North branch", "south": "South branch"},
                                   "approved": {0: "declined", 1: "approved"}}, "positive_label": 1})
    local = audit.run(config_from_dict(raw, base_dir=str(tmp_path)))
    on_cluster = audit.run(config_from_dict({**raw, "engine": "dask", "dask": {"scheduler": cluster}},
                                            base_dir=str(tmp_path)))
    groups = on_cluster.document["data"]["groups"]["branch"]
    assert {"North branch", "South branch", "east", "island"} <= set(groups) and "north" not in groups
    assert on_cluster.document["model"]["positive_label"] == "approved"
    assert _comparable(on_cluster.document) == _comparable(local.document)


@pytest.mark.slow
def test_the_credit_sections_on_the_cluster_equal_the_local_audits(tmp_path, cluster):
    # Conditional disparity, fair lending and reasons read the seeded sample, which the cluster draws alike.
    frame = pd.read_csv(ROOT / "examples/german-credit/data/german.csv.gz")
    frame.iloc[:500].to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[500:].to_csv(tmp_path / "test.csv", index=False)
    raw = {"name": "german-dask", "seed": 0,
           "data": {"test": "test.csv", "train": "train.csv", "target": "risk", "positive_label": 1,
                    "sensitive": ["sex", "age"], "bins": {"age": [0, 25, 35, 50, 120]},
                    "control": ["credit_amount", "duration"]},
           "model": {"train": {"estimator": "sklearn.linear_model.LogisticRegression", "params": {"max_iter": 1000}}},
           "bootstrap": {"replicates": 40},
           "checks": {"explainability": {"method": "none"}, "lending": {"enabled": True, "cutoffs": 5},
                      "reasons": {"enabled": True}}}
    local = audit.run(config_from_dict(raw, base_dir=str(tmp_path))).document
    remote = audit.run(config_from_dict(raw, base_dir=str(tmp_path)), engine="dask", scheduler=cluster).document
    for key in ("conditional", "lending", "reasons"):
        assert remote[key] == local[key], key
