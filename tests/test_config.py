"""Config validation: every error names the field path, what was expected and what was found."""

from __future__ import annotations

import pytest

from audit import AuditError, config_from_dict, load_config


def _base() -> dict:
    return {"name": "t", "data": {"test": "t.csv", "target": "y", "sensitive": ["sex"]},
            "model": {"train": {"estimator": "sklearn.linear_model.LogisticRegression"}}}


def _error(raw: dict) -> str:
    with pytest.raises(AuditError) as exc:
        config_from_dict(raw, source="audit.yaml")
    return str(exc.value)


def test_audit_error_is_a_value_error():
    assert issubclass(AuditError, ValueError)


@pytest.mark.parametrize("mutate, expected", [
    (lambda r: r.setdefault("checks", {}).update(perfomance={}),
     "`checks.perfomance` is not a known field (in audit.yaml); remove it or check its spelling."),
    (lambda r: r["data"].update(min_group_size="ten"),
     "`data.min_group_size` must be a valid integer, unable to parse string as an integer; got 'ten' (in audit.yaml)."),
    (lambda r: r["data"].pop("target"), "`data.target` is required (in audit.yaml)."),
    (lambda r: r["model"].update(load="m.skops"), "`model` must set exactly one of `load` and `train`"),
    (lambda r: r.update(model={}), "`model` must set exactly one of `load` and `train`"),
    (lambda r: r.setdefault("checks", {}).update(performance={"min": {"rocauc": 0.9}}),
     "`checks.performance.min` must name a performance metric; got 'rocauc'. Known: accuracy, balanced_accuracy"),
    (lambda r: r.setdefault("checks", {}).update(fairness={"max": {"eod": 0.1}}),
     "`checks.fairness.max` must name a fairness metric; got 'eod'"),
    (lambda r: r["data"].update(bins={"age": [0, 30, 20]}),
     "`data.bins` edges of 'age' must be at least two increasing numbers; got [0.0, 30.0, 20.0]"),
    (lambda r: r["data"].update(sensitive=[]), "`data.sensitive` list should have at least 1 item"),
    (lambda r: r.setdefault("bootstrap", {}).update(level=1.5), "`bootstrap.level` must be less than 1"),
    (lambda r: r.setdefault("checks", {}).update(group_gaps={"metrics": ["selection_rate"]}),
     "must name metrics where higher or lower is better; got 'selection_rate'"),
])
def test_errors_name_the_field(mutate, expected):
    raw = _base()
    mutate(raw)
    assert expected in _error(raw)


def test_every_error_is_reported_at_once():
    raw = _base()
    raw["data"]["foo"] = 1
    raw["data"]["intersections"] = 0
    message = _error(raw)
    assert "`data.foo` is not a known field" in message and "`data.intersections` must be greater than or equal to 1" in message


def test_defaults():
    cfg = config_from_dict(_base())
    assert (cfg.data.min_group_size, cfg.data.intersections, cfg.bootstrap.replicates, cfg.bootstrap.level) == (30, 2, 200, 0.95)
    assert cfg.checks.fairness.four_fifths_rule and cfg.checks.fairness.severity == "block"


def test_yaml_file_errors(tmp_path):
    with pytest.raises(AuditError, match="Cannot read config .*missing.yaml"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "audit.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(AuditError, match="audit.yaml is not valid YAML"):
        load_config(bad)
    bad.write_text("- just\n- a list\n")
    with pytest.raises(AuditError, match="must hold a mapping of settings"):
        load_config(bad)


def test_relative_paths_resolve_against_the_config_folder(tmp_path):
    path = tmp_path / "sub" / "audit.yaml"
    path.parent.mkdir()
    path.write_text("name: t\ndata: {test: d/t.csv, target: y, sensitive: [s]}\n"
                    "model: {train: {estimator: sklearn.linear_model.LogisticRegression}}\n")
    cfg = load_config(path)
    assert cfg.resolve(cfg.data.test) == path.parent.resolve() / "d" / "t.csv"
