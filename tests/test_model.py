"""Models: trained in the standard pipeline, loaded safely (no unpickling without an explicit opt-in)."""

from __future__ import annotations

import os
import pickle
from dataclasses import replace

import joblib
import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.metrics import roc_auc_score

import audit
from audit import AuditError, config_from_dict
from audit._data import load_dataset
from audit._model import predict, to_skops_bytes, train_model
from conftest import ADULT


class _Payload:
    """Unpickling this runs ``os.system`` and writes a file: what a hostile model file can do."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


@pytest.fixture(scope="module")
def adult_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    pd.read_csv(ADULT / "data/adult_test.csv.gz").head(3000).to_csv(folder / "test.csv", index=False)
    pd.read_csv(ADULT / "data/adult_train.csv.gz").head(3000).to_csv(folder / "train.csv", index=False)
    return folder


def _raw(model: dict) -> dict:
    return {"name": "m", "data": {"test": "test.csv", "train": "train.csv", "target": "income",
                                  "positive_label": ">50K", "sensitive": ["sex"]},
            "model": model, "bootstrap": {"replicates": 20}, "checks": {"explainability": {"method": "none"}}}


@pytest.mark.parametrize("suffix", [".pkl", ".joblib"])
def test_a_malicious_pickle_is_refused_without_trust_and_never_runs(adult_files, tmp_path, suffix):
    marker = tmp_path / "pwned"
    model_file = adult_files / f"evil{suffix}"
    model_file.write_bytes(pickle.dumps(_Payload(str(marker))))
    with pytest.raises(AuditError) as exc:
        audit.run(config_from_dict(_raw({"load": model_file.name}), base_dir=str(adult_files)))
    message = str(exc.value)
    assert f"`model.load` file evil{suffix} is a pickle" in message and "`model.trust: true`" in message
    assert not marker.exists()


def test_a_trusted_joblib_pipeline_is_audited(adult_files):
    cfg = config_from_dict(_raw({"train": {"estimator": "sklearn.linear_model.LogisticRegression",
                                           "params": {"max_iter": 1000}}}), base_dir=str(adult_files))
    model = train_model(cfg, load_dataset(cfg))
    joblib.dump(model.estimator, adult_files / "model.joblib")
    result = audit.run(config_from_dict(_raw({"load": "model.joblib", "trust": True}), base_dir=str(adult_files)))
    assert result.document["model"]["source"] == "loaded"
    assert result.document["metrics"]["overall"]["roc_auc"]["value"] > 0.8


def test_skops_refuses_untrusted_types_by_name_and_accepts_them_when_listed(adult_files):
    cfg = config_from_dict(_raw({"train": {"estimator": "sklearn.ensemble.HistGradientBoostingClassifier",
                                           "params": {"max_iter": 20}}}), base_dir=str(adult_files))
    model = train_model(cfg, load_dataset(cfg))
    (adult_files / "hgb.skops").write_bytes(to_skops_bytes(model))
    untrusted = sio.get_untrusted_types(file=adult_files / "hgb.skops")
    assert "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor" in untrusted
    with pytest.raises(AuditError) as exc:
        audit.run(config_from_dict(_raw({"load": "hgb.skops"}), base_dir=str(adult_files)))
    assert f"holds types that are not trusted by default: {', '.join(untrusted)}." in str(exc.value)
    assert "`model.trusted_types`" in str(exc.value)
    with pytest.raises(AuditError, match="not trusted by default: sklearn.ensemble"):  # trusting some is not enough
        audit.run(config_from_dict(_raw({"load": "hgb.skops", "trusted_types": untrusted[:1]}),
                                   base_dir=str(adult_files)))
    result = audit.run(config_from_dict(_raw({"load": "hgb.skops", "trusted_types": untrusted}),
                                        base_dir=str(adult_files)))
    # The loaded model scores exactly as the trained one.
    ds = load_dataset(cfg)
    trained = predict(model, ds.test.frame)
    assert result.document["metrics"]["overall"]["roc_auc"]["value"] == pytest.approx(
        roc_auc_score(ds.y_test, trained.score), abs=1e-12)


def test_trained_model_bytes_are_reproducible_and_load_back(adult_files):
    cfg = config_from_dict(_raw({"train": {"estimator": "sklearn.ensemble.HistGradientBoostingClassifier",
                                           "params": {"max_iter": 20}}}), base_dir=str(adult_files))
    ds = load_dataset(cfg)
    model = train_model(cfg, ds)
    data = to_skops_bytes(model)
    assert data == to_skops_bytes(train_model(cfg, ds))
    loaded = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    reloaded = predict(replace(model, estimator=loaded), ds.test.frame)
    np.testing.assert_array_equal(reloaded.score, predict(model, ds.test.frame).score)


def test_predictions_of_a_trained_pipeline(adult_files):
    cfg = config_from_dict(_raw({"train": {"estimator": "sklearn.ensemble.HistGradientBoostingClassifier",
                                           "params": {"max_iter": 20}}}), base_dir=str(adult_files))
    ds = load_dataset(cfg)
    preds = predict(train_model(cfg, ds), ds.test.frame)
    assert preds.probabilistic and ((preds.score >= 0) & (preds.score <= 1)).all()
    np.testing.assert_array_equal(preds.label, (preds.score > 0.5).astype(np.int8))


@pytest.mark.parametrize("model, expected", [
    ({"load": "model.onnx.txt"}, "`model.load` must name an existing model file"),
    ({"train": {"estimator": "sklearn.linear_model.NoSuchModel"}}, "must name an estimator class with `fit`"),
    ({"train": {"estimator": "nosuchpackage.Model"}}, "names module 'nosuchpackage', which cannot be imported"),
    ({"train": {"estimator": "sklearn.linear_model.LogisticRegression", "params": {"depth": 3}}},
     "`model.train.params` must be parameters of sklearn.linear_model.LogisticRegression"),
])
def test_model_errors_name_the_field(adult_files, model, expected):
    with pytest.raises(AuditError, match=expected.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        audit.run(config_from_dict(_raw(model), base_dir=str(adult_files)))


def test_unsupported_extension_is_refused(adult_files):
    (adult_files / "model.h5").write_bytes(b"\x89HDF")
    with pytest.raises(AuditError, match=r"must be a \.skops file .*got model\.h5"):
        audit.run(config_from_dict(_raw({"load": "model.h5"}), base_dir=str(adult_files)))
