"""Bad input through the command line: a battery of configs, data, models, output folders and baselines.

Every case asserts the exit code, that the message names the file, field or column to fix, that no traceback
is printed, that nothing is written outside ``--out``, and that the earlier report in the same ``--out`` is
intact. The audits are predictions-only or tiny models on 300 rows, so the battery stays fast.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import pytest
import yaml

from audit.cli import main
from audit.inputs._groups import split_key
from audit.inputs._io import CURRENT

EXIT_BAD_INPUT = 2
N = 300


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    y = (rng.random(N) < 0.4).astype(int)
    pred = np.where(rng.random(N) < 0.8, y, 1 - y)
    grade = rng.choice(["a", "b", "c"], N)
    value = rng.normal(size=N)
    return pd.DataFrame({
        "sex": rng.choice(["F", "M"], N), "race": rng.choice(["A", "B", "C"], N), "x": value,
        "y": y, "pred": pred, "score": np.clip(pred * 0.6 + rng.random(N) * 0.4, 0, 1),
        "grade": grade, "grade_hat": np.where(rng.random(N) < 0.7, grade, "a"),
        "v": 3 * value + rng.normal(size=N), "v_hat": 3 * value})


BINARY = {"name": "bad", "data": {"test": "small.csv", "target": "y", "positive_label": 1,
                                  "sensitive": ["sex", "race"], "features": ["x"]},
          "model": {"predictions": {"predictions": "pred", "scores": "score"}}, "bootstrap": {"replicates": 10}}
REGRESSION = {"name": "bad-regression", "task": "regression",
              "data": {"test": "small.csv", "target": "v", "sensitive": ["sex", "race"], "features": ["x"]},
              "model": {"predictions": {"predictions": "v_hat"}}, "bootstrap": {"replicates": 10}}


@pytest.fixture(scope="module")
def earlier(tmp_path_factory) -> Path:
    """A case folder: the data, a good config, and the report of a good run in ``out``."""
    base = tmp_path_factory.mktemp("earlier")
    _frame().to_csv(base / "small.csv", index=False)
    (base / "audit.yaml").write_text(yaml.safe_dump(BINARY), encoding="utf-8")
    (base / "regression.yaml").write_text(yaml.safe_dump(REGRESSION), encoding="utf-8")
    assert main(["run", str(base / "regression.yaml"), "--out", str(base / "regression-out"), "--quiet"]) in (0, 1)
    assert main(["run", str(base / "audit.yaml"), "--out", str(base / "out"), "--quiet"]) in (0, 1)
    return base


def _snapshot(root: Path, *, skip: Path | None = None) -> dict[str, str]:
    """Every entry under ``root`` (but ``skip``): file bytes by hash, link targets, folders."""
    out = {}
    for path in sorted(root.rglob("*")):
        if skip is not None and (path == skip or skip in path.parents):
            continue
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            out[rel] = "-> " + os.readlink(path)
        elif path.is_dir():
            out[rel] = "dir"
        else:
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _config(folder: Path, raw: dict, name: str = "audit.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def _with(raw: dict, *path_and_value: Any) -> dict:
    out = json.loads(json.dumps(raw))
    *keys, value = path_and_value
    node = out
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value
    return out


def _data(change: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], list[str]]:
    def make(folder: Path) -> list[str]:
        frame = change(pd.read_csv(folder / "small.csv"))
        frame.to_csv(folder / "small.csv", index=False)
        return ["run", str(folder / "audit.yaml")]
    return make


def _raw(raw: dict) -> Callable[[Path], list[str]]:
    return lambda folder: ["run", str(_config(folder, raw))]


def _degenerate_model(kind: str) -> Callable[[Path], list[str]]:
    """A real scikit-learn model saved as .skops, made degenerate: NaN coefficients give NaN probabilities."""
    def make(folder: Path) -> list[str]:
        import skops.io as sio
        from sklearn.linear_model import LogisticRegression

        frame = pd.read_csv(folder / "small.csv")
        model = LogisticRegression().fit(frame[["x"]], frame["y"])
        if kind == "nan":
            model.coef_[:] = np.nan
        elif kind == "inf":
            model.intercept_[:] = np.inf
            model.coef_[:] = -np.inf
        sio.dump(model, folder / "model.skops")
        raw = _with(BINARY, "model", {"load": "model.skops"})
        return ["run", str(_config(folder, raw))]
    return make


def _gzip_cut(folder: Path) -> list[str]:
    data = gzip.compress((folder / "small.csv").read_bytes())
    (folder / "small.csv.gz").write_bytes(data[: len(data) // 2])
    return ["run", str(_config(folder, _with(BINARY, "data", "test", "small.csv.gz")))]


def _latin1(folder: Path) -> list[str]:
    frame = pd.read_csv(folder / "small.csv")
    frame["race"] = frame["race"].map({"A": "Müller", "B": "Özil", "C": "C"})
    frame.to_csv(folder / "small.csv", index=False, encoding="latin-1")
    return ["run", str(folder / "audit.yaml")]


def _out_is_a_file(folder: Path) -> list[str]:
    (folder / "out-file").write_text("not a folder", encoding="utf-8")
    return ["run", str(folder / "audit.yaml"), "--out", str(folder / "out-file")]


def _out_under_a_file(folder: Path) -> list[str]:
    (folder / "out-file").write_text("not a folder", encoding="utf-8")
    return ["run", str(folder / "audit.yaml"), "--out", str(folder / "out-file" / "reports")]


def _report_folder_is_a_file(folder: Path) -> list[str]:
    (folder / "out2").mkdir()
    (folder / "out2" / "bad").write_text("a file where the report folder goes", encoding="utf-8")
    return ["run", str(folder / "audit.yaml"), "--out", str(folder / "out2")]


def _baseline_of_another_task(folder: Path) -> list[str]:
    return ["run", str(folder / "audit.yaml"), "--baseline",
            str(folder / "regression-out" / "bad-regression" / "findings.json")]


def _compare_tasks(order: str) -> Callable[[Path], list[str]]:
    def make(folder: Path) -> list[str]:
        binary = str(folder / "out" / "bad" / "findings.json")
        regression = str(folder / "regression-out" / "bad-regression" / "findings.json")
        pair = [regression, binary] if order == "regression-first" else [binary, regression]
        return ["compare", *pair, "--quiet"]
    return make


def _not_findings(folder: Path) -> list[str]:
    (folder / "baseline.json").write_text('{"audit": {}}', encoding="utf-8")
    return ["run", str(folder / "audit.yaml"), "--baseline", str(folder / "baseline.json")]


def _multiclass(frame_change: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
                **overrides: Any) -> Callable[[Path], list[str]]:
    def make(folder: Path) -> list[str]:
        if frame_change is not None:
            frame_change(pd.read_csv(folder / "small.csv")).to_csv(folder / "small.csv", index=False)
        raw = {"name": "bad", "task": "multiclass", "bootstrap": {"replicates": 10},
               "data": {"test": "small.csv", "target": "grade", "sensitive": ["sex", "race"], "features": ["x"]},
               "model": {"predictions": {"predictions": "grade_hat"}}, **overrides}
        return ["run", str(_config(folder, raw))]
    return make


def _column(name: str, values: Callable[[pd.DataFrame], Any]) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame[name] = values(frame)
        return frame
    return change


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[Path], list[str]]
    says: tuple[str, ...]
    code: int = EXIT_BAD_INPUT
    extra: dict = field(default_factory=dict)


CASES = [
    # Settings
    Case("bool for an integer", _raw(_with(BINARY, "data", "min_group_size", True)),
         ("`data.min_group_size`", "integer", "True")),
    Case("bool for a number", _raw(_with(BINARY, "bootstrap", "level", True)), ("`bootstrap.level`",)),
    Case("target among sensitive", _raw(_with(BINARY, "data", "sensitive", ["sex", "y"])),
         ("`data.sensitive`", "'y'")),
    Case("misspelt target", _raw(_with(BINARY, "data", "target", "yy")), ("`data.target`", "small.csv", "'yy'")),
    Case("unknown field", _raw(_with(BINARY, "data", "sensitiv", ["sex"])), ("`data.sensitiv`",)),
    # Data
    Case("one-class target", _data(_column("y", lambda f: 1)), ("`data.target`", "'y'", "small.csv", "one class")),
    Case("five rows", _data(lambda f: f.head(5)), ("`data.test`", "small.csv", "5 evaluation rows")),
    Case("fewer rows than min_group_size", _raw(_with(BINARY, "data", "min_group_size", 400)),
         ("small.csv", "300 evaluation rows", "`data.min_group_size`")),
    Case("truncated gzip", _gzip_cut, ("small.csv.gz",)),
    Case("latin-1 bytes", _latin1, ("small.csv", "data.encoding")),
    # Predictions and model outputs
    Case("predicted labels not the target's", _data(_column("pred", lambda f: np.where(f.pred == 1, "High", "Low"))),
         ("`model.predictions`", "'pred'", "'High'", "'Low'", "1, 0")),
    Case("predicted labels partly not the target's", _data(_column("pred", lambda f: np.where(
        f.index < 10, "maybe", f.pred.astype(str)))), ("'pred'", "'maybe'", "10 of 300 rows")),
    Case("missing predictions", _data(_column("pred", lambda f: f.pred.where(f.index >= 7))), ("'pred'", "7")),
    Case("scores not numbers", _data(_column("score", lambda f: np.where(f.index < 4, "high", f.score.astype(str)))),
         ("`model.predictions.scores`", "'score'", "4 of 300 rows")),
    Case("infinite scores", _data(_column("score", lambda f: np.where(f.index < 3, np.inf, f.score))),
         ("'score'", "3 of 300 rows")),
    Case("loaded model with NaN probabilities", _degenerate_model("nan"),
         ("model.skops", "NaN or infinite probabilities", "300 of 300 rows", "small.csv")),
    # -inf * x + inf is NaN where x > 0 (and a probability of 1 elsewhere).
    Case("loaded model with infinite logits", _degenerate_model("inf"),
         ("model.skops", f"{int((_frame().x > 0).sum())} of 300 rows")),
    Case("multiclass predictions not the target's classes",
         _multiclass(_column("grade_hat", lambda f: np.where(f.index < 5, "z", f.grade_hat))),
         ("`model.predictions`", "'grade_hat'", "'z'", "'a'", "'b'", "'c'")),
    Case("multiclass target of one class", _multiclass(_column("grade", lambda f: "a")), ("'grade'", "one class")),
    Case("regression predictions not numbers",
         _raw(_with(REGRESSION, "model", "predictions", "predictions", "sex")), ("'sex'",)),
    # Output folder and baselines
    Case("--out is a file", _out_is_a_file, ("--out", "out-file", "is a file")),
    Case("--out under a file", _out_under_a_file, ("--out", "out-file", "is a file")),
    Case("report folder is a file", _report_folder_is_a_file, ("--out", "out2/bad", "is a file")),
    Case("baseline of another task", _baseline_of_another_task, ("findings.json", "regression", "binary")),
    Case("compare, regression first", _compare_tasks("regression-first"), ("findings.json", "regression", "binary")),
    Case("compare, binary first", _compare_tasks("binary-first"), ("findings.json", "regression", "binary")),
    Case("baseline not a findings document", _not_findings, ("baseline.json", "findings")),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_refused_clearly_and_writes_nothing(case, earlier, tmp_path, capsys):
    folder = tmp_path / "case"
    shutil.copytree(earlier, folder, symlinks=True)
    argv = case.make(folder)
    if argv[0] == "run" and "--out" not in argv:
        argv += ["--out", str(folder / "out"), "--quiet"]
    out_dir = Path(argv[argv.index("--out") + 1]) if "--out" in argv else folder / "out"
    report = _snapshot(folder / "out")
    outside = _snapshot(folder, skip=out_dir)
    capsys.readouterr()
    code = main(argv)
    printed = capsys.readouterr()
    text = printed.out + printed.err
    assert code == case.code, text
    assert "Traceback" not in text and "internal error" not in text, text
    for needle in case.says:
        assert needle in printed.err, f"{needle!r} not in: {printed.err}"
    assert _snapshot(folder, skip=out_dir) == outside  # nothing written outside --out
    assert _snapshot(folder / "out") == report  # the earlier report is intact


def test_the_battery_covers_every_input_kind():
    # Settings, data, predictions, models, the output folder and baselines each have several members.
    assert len(CASES) >= 27


def test_a_constant_model_fails_the_gate_with_a_finding_that_says_so(earlier, tmp_path, capsys):
    from sklearn.dummy import DummyClassifier
    import skops.io as sio

    folder = tmp_path / "case"
    shutil.copytree(earlier, folder, symlinks=True)
    frame = pd.read_csv(folder / "small.csv")
    sio.dump(DummyClassifier(strategy="most_frequent").fit(frame[["x"]], frame["y"]), folder / "model.skops")
    for name, raw in [("loaded", _with(BINARY, "model", {"load": "model.skops"})),
                      ("predictions", _with(BINARY, "model", {"predictions": {"predictions": "sex"}}))]:
        if name == "predictions":
            frame.assign(sex=0).to_csv(folder / "small.csv", index=False)
            raw = _with(raw, "data", "sensitive", ["race"])
        code = main(["run", str(_config(folder, raw)), "--out", str(folder / name), "--quiet"])
        assert code == 1, name
        doc = json.loads((folder / name / "bad" / "findings.json").read_text(encoding="utf-8"))
        constant = [f for f in doc["findings"] if f["check"] == "constant_predictions"]
        assert len(constant) == 1 and constant[0]["status"] == "fail" and constant[0]["severity"] == "block"
        assert "predicts the label 0" in constant[0]["message"] and "300 evaluation rows" in constant[0]["message"]
        assert doc["gate"] == "fail"
    # A model whose predictions vary has no such finding.
    doc = json.loads((folder / "out" / "bad" / "findings.json").read_text(encoding="utf-8"))
    assert not [f for f in doc["findings"] if f["check"] == "constant_predictions"]


def test_a_constant_model_can_be_accepted_by_the_gate_policy(earlier, tmp_path):
    folder = tmp_path / "case"
    shutil.copytree(earlier, folder, symlinks=True)
    pd.read_csv(folder / "small.csv").assign(pred=1, score=0.5).to_csv(folder / "small.csv", index=False)
    raw = _with(BINARY, "gate", {"severity": {"constant_predictions": "warn"}})
    main(["run", str(_config(folder, raw)), "--out", str(folder / "out"), "--quiet"])
    doc = json.loads((folder / "out" / "bad" / "findings.json").read_text(encoding="utf-8"))
    constant = next(f for f in doc["findings"] if f["check"] == "constant_predictions")
    assert constant["severity"] == "warn" and "the label 1 and the score 0.5" in constant["message"]


def test_values_holding_the_separator_are_audited_as_separate_groups(earlier, tmp_path):
    folder = tmp_path / "case"
    shutil.copytree(earlier, folder, symlinks=True)
    frame = pd.read_csv(folder / "small.csv")
    half = frame.index % 2 == 0
    frame["sex"] = np.where(half, "p&q", "p")
    frame["race"] = np.where(half, "r", "q&r")
    frame.to_csv(folder / "small.csv", index=False)
    code = main(["run", str(folder / "audit.yaml"), "--out", str(folder / "out"), "--quiet"])
    assert code in (0, 1)
    doc = json.loads((folder / "out" / "bad" / "findings.json").read_text(encoding="utf-8"))
    groups = doc["metrics"]["by_group"]["sex&race"]
    assert sorted(tuple(split_key(g)) for g in groups) == [("p", "q&r"), ("p&q", "r")]
    # Each group holds its own half of the rows, not one group's numbers written over the other's.
    sizes = {tuple(split_key(g)): m["accuracy"]["n"] for g, m in groups.items()}
    assert sizes == {("p", "q&r"): int((~half).sum()), ("p&q", "r"): int(half.sum())}
    accuracy = {tuple(split_key(g)): m["accuracy"]["value"] for g, m in groups.items()}
    for (s, r), rows in ((("p&q", "r"), half), (("p", "q&r"), ~half)):
        assert accuracy[(s, r)] == pytest.approx(float((frame.pred[rows] == frame.y[rows]).mean()))
    assert (folder / "out" / "bad" / "model_card.html").read_text(encoding="utf-8").count("p\\&amp;q&amp;r") >= 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into any folder")
def test_an_unwritable_out_folder_is_refused_before_any_work(earlier, tmp_path, capsys):
    folder = tmp_path / "case"
    shutil.copytree(earlier, folder, symlinks=True)
    locked = folder / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        code = main(["run", str(folder / "audit.yaml"), "--out", str(locked), "--quiet"])
    finally:
        locked.chmod(0o700)
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT and "locked" in err and "not writable" in err
    assert list(locked.iterdir()) == []


def test_the_earlier_report_is_still_shown_through_its_link(earlier):
    # The fixture's report is a whole set shown through `.current`.
    folder = earlier / "out" / "bad"
    assert (folder / CURRENT).is_symlink()
    assert json.loads((folder / "findings.json").read_text(encoding="utf-8"))["audit"]["name"] == "bad"


@pytest.mark.parametrize("scores, asked, why", [
    ("outside", False, "the scores in `model.predictions.scores` column 'score' are not probabilities"),
    ("none", False, "the audit has predicted labels only (`model.predictions.scores` is not set)"),
    ("outside", True, "are not probabilities (some fall outside [0, 1])"),
])
def test_metrics_that_need_probabilities_say_why_they_were_not_computed(earlier, tmp_path, scores, asked, why):
    folder = tmp_path / "case"
    shutil.copytree(earlier, folder, symlinks=True)
    frame = pd.read_csv(folder / "small.csv")
    frame.assign(score=frame.score * 3 - 1).to_csv(folder / "small.csv", index=False)
    raw = BINARY if scores == "outside" else _with(BINARY, "model", {"predictions": {"predictions": "pred"}})
    if asked:
        raw = _with(raw, "checks", {"performance": {"metrics": ["accuracy", "log_loss", "brier_score_loss"]}})
    assert main(["run", str(_config(folder, raw)), "--out", str(folder / "out"), "--quiet"]) in (0, 1)
    doc = json.loads((folder / "out" / "bad" / "findings.json").read_text(encoding="utf-8"))
    assert "log_loss" not in doc["metrics"]["overall"] and "brier_score_loss" not in doc["metrics"]["overall"]
    note = next(s["note"] for s in doc["steps"] if s["step"] == "statistics")
    assert note.startswith("log_loss and brier_score_loss were not computed: ") and why in note
    assert note in (folder / "out" / "bad" / "model_card.html").read_text(encoding="utf-8").replace("&#39;", "'")
    uncomputed = [f for f in doc["findings"] if "was not computed" in f["message"]]
    assert [f["status"] for f in uncomputed] == (["insufficient_data"] * 2 if asked else [])


def test_probabilities_leave_no_note(earlier):
    doc = json.loads((earlier / "out" / "bad" / "findings.json").read_text(encoding="utf-8"))
    assert "log_loss" in doc["metrics"]["overall"]
    assert not [s for s in doc.get("steps") or [] if "not computed" in s["note"]]
