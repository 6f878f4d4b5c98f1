"""Config validation: every error names the field path, what was expected and what was found."""

from __future__ import annotations

import copy

import pytest

from audit import AuditConfig, AuditError, config_from_dict, load_config
from audit.settings._config import _TASK_FAIRNESS, _TASK_METRICS
from audit.statistics._metrics import FAIRNESS_METRICS, METRICS

_BASE = {"name": "t", "data": {"test": "t.csv", "target": "y", "sensitive": ["sex"]},
         "model": {"train": {"estimator": "sklearn.linear_model.LogisticRegression"}}}


def _base() -> dict:
    return copy.deepcopy(_BASE)


def _error(raw: object, source: str = "audit.yaml") -> str:
    with pytest.raises(AuditError) as exc:
        config_from_dict(raw, source=source, base_dir="/nowhere")
    return str(exc.value)


def test_audit_error_is_a_value_error():
    assert issubclass(AuditError, ValueError)
    with pytest.raises(ValueError, match="`data.target` is required"):  # callers may catch ValueError
        config_from_dict({"name": "t", "data": {"test": "t.csv", "sensitive": ["s"]},
                          "model": {"load": "m.skops"}})


def test_a_valid_config_has_the_documented_defaults(tmp_path):
    cfg = config_from_dict(_base(), source="audit.yaml", base_dir=str(tmp_path))
    assert isinstance(cfg, AuditConfig)
    assert (cfg.data.min_group_size, cfg.data.intersections, cfg.data.test_size) == (30, 2, 0.3)
    assert (cfg.bootstrap.replicates, cfg.bootstrap.level) == (200, 0.95)
    assert cfg.data.features == "all" and cfg.data.bins == {} and cfg.data.positive_label is None
    assert cfg.checks.fairness.four_fifths_rule and cfg.checks.fairness.severity == "block"
    assert cfg.checks.group_gaps.severity == "warn" and not cfg.model.trust and cfg.model.trusted_types == []
    assert cfg.base_dir == str(tmp_path) and cfg.resolve("t.csv") == tmp_path / "t.csv"


@pytest.mark.parametrize("section, path", [
    ("checks", ["perfomance"]),
    ("checks", ["performance", "minimum"]),
    ("data", ["sensitve"]),
    ("model", ["train", "estimater"]),
    ("bootstrap", ["replicate"]),
    ("", ["nmae"]),
])
def test_unknown_keys_are_rejected_with_their_full_path(section, path):
    raw = _base()
    node = raw.setdefault(section, {}) if section else raw
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = 1
    full = ".".join([section, *path] if section else path)
    message = _error(raw)
    assert message.startswith(f"`{full}` is not a known field (in audit.yaml); remove it or check its spelling.")
    # Only the misspelt key is blamed, not the section around it.
    assert message.count("is not a known field") == 1


def test_base_dir_cannot_be_smuggled_in_through_the_file():
    assert _error({**_base(), "base_dir": "/etc"}) == "`base_dir` is not a known field (in audit.yaml); remove it."


@pytest.mark.parametrize("field, value, expected", [
    ("min_group_size", "ten",
     "`data.min_group_size` must be a valid integer; got 'ten' (in audit.yaml)."),
    ("min_group_size", 10.5, "`data.min_group_size` must be a valid integer; got 10.5 (in audit.yaml)."),
    ("min_group_size", 0, "`data.min_group_size` must be greater than or equal to 1; got 0 (in audit.yaml)."),
    ("target", 3, "`data.target` must be a valid string; got 3 (in audit.yaml)."),
    ("sensitive", "sex", "`data.sensitive` must be a valid list; got 'sex' (in audit.yaml)."),
    ("sensitive", [], "`data.sensitive` list should have at least 1 item after validation, not 0; got [] "
                      "(in audit.yaml)."),
    ("intersections", 0, "`data.intersections` must be greater than or equal to 1; got 0 (in audit.yaml)."),
    ("test_size", 1.0, "`data.test_size` must be less than 1; got 1.0 (in audit.yaml)."),
    ("batch_rows", 10, "`data.batch_rows` must be greater than or equal to 1000; got 10 (in audit.yaml)."),
    ("bins", {"age": "young"}, "`data.bins.age` must be a valid list; got 'young' (in audit.yaml)."),
])
def test_wrong_types_and_ranges_name_the_field_and_what_was_got(field, value, expected):
    raw = _base()
    raw["data"][field] = value
    assert _error(raw) == expected + " See the config reference in the README."


@pytest.mark.parametrize("path, value, expected", [
    # YAML's `true` is not the number 1: numbers and booleans are taken only as themselves.
    (("data", "min_group_size"), True, "`data.min_group_size` must be a valid integer; got True"),
    (("data", "intersections"), 2.0, "`data.intersections` must be a valid integer; got 2.0"),
    (("bootstrap", "replicates"), "200", "`bootstrap.replicates` must be a valid integer; got '200'"),
    (("seed",), False, "`seed` must be a valid integer; got False"),
    (("checks", "drift", "max_psi"), True, "`checks.drift.max_psi` must be a valid number; got True"),
    (("checks", "fairness", "four_fifths_rule"), 1, "`checks.fairness.four_fifths_rule` must be a valid boolean; "
                                                    "got 1"),
    (("checks", "bias", "proxies"), "no", "`checks.bias.proxies` must be a valid boolean; got 'no'"),
    (("checks", "fairness", "max"), {"equalized_odds_difference": True},
     "`checks.fairness.max.equalized_odds_difference` must be a valid number; got True"),
    (("model", "trust"), "yes", "`model.trust` must be a valid boolean; got 'yes'"),
])
def test_numbers_and_booleans_are_strict(path, value, expected):
    raw = _base()
    raw.setdefault("checks", {}).setdefault("drift", {})
    raw["checks"].setdefault("fairness", {})
    raw["checks"].setdefault("bias", {})
    node = raw
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    assert _error(raw).startswith(expected + " (in audit.yaml).")


def test_whole_numbers_are_still_valid_for_float_fields():
    raw = _base()
    raw["checks"] = {"drift": {"max_psi": 1}, "fairness": {"max": {"equalized_odds_difference": 0}},
                     "explainability": {"max_seconds": 30}}
    raw["bootstrap"] = {"level": 0.9}
    cfg = config_from_dict(raw, source="audit.yaml")
    assert (cfg.checks.drift.max_psi, cfg.checks.fairness.max, cfg.checks.explainability.max_seconds) == \
        (1.0, {"equalized_odds_difference": 0.0}, 30.0)
    assert isinstance(cfg.checks.drift.max_psi, float)


@pytest.mark.parametrize("sensitive", [["income"], ["sex", "income"], ["income", "race", "sex"]])
def test_the_target_cannot_be_a_sensitive_attribute(sensitive):
    raw = _base()
    raw["data"]["target"] = "income"
    raw["data"]["sensitive"] = sensitive
    assert _error(raw) == (f"`data.sensitive` must not list the target 'income' (a sensitive attribute describes the "
                           f"people, not the outcome); got {sensitive}. Remove 'income' from it (in audit.yaml). "
                           "See the config reference in the README.")


@pytest.mark.parametrize("field, value, expected", [
    ("separator", ";;", "`data.separator` must be \"auto\" or one character"),
    ("separator", "", "`data.separator` must be \"auto\" or one character"),
    ("separator", "\n", "`data.separator` must be \"auto\" or one character"),
    ("encoding", "klingon", "`data.encoding` must name a text encoding such as"),
    ("na_values", "?", "`data.na_values` must be a valid list; got '?'"),
])
def test_reading_options_are_checked(field, value, expected):
    raw = _base()
    raw["data"][field] = value
    assert _error(raw).startswith(expected)


def test_reading_options_default_to_detected_utf_8():
    cfg = config_from_dict(_base(), source="audit.yaml")
    assert (cfg.data.separator, cfg.data.encoding, cfg.data.na_values) == ("auto", "utf-8", [])


def test_the_source_name_appears_in_the_message():
    raw = _base()
    raw["data"]["min_group_size"] = "ten"
    assert "got 'ten' (in my-audit.yaml)." in _error(raw, source="my-audit.yaml")


def test_a_missing_target_is_named():
    raw = _base()
    del raw["data"]["target"]
    assert _error(raw) == "`data.target` is required (in audit.yaml). See the config reference in the README."


@pytest.mark.parametrize("model, got", [
    ({"load": "m.skops", "train": {"estimator": "sklearn.linear_model.LogisticRegression"}}, "got {'load': 'm.skops'"),
    ({}, "got {}"),
    ({"trust": True}, "got {'trust': True}"),
])
def test_model_needs_exactly_one_source(model, got):
    message = _error({**_base(), "model": model})
    assert message.startswith("`model` must set exactly one of `load`, `train` and `predictions`; ")
    assert got in message and "(in audit.yaml)" in message


def test_model_with_only_load_or_only_train_is_valid():
    assert config_from_dict({**_base(), "model": {"load": "m.skops"}}).model.load == "m.skops"
    assert config_from_dict(_base()).model.train.estimator == "sklearn.linear_model.LogisticRegression"


@pytest.mark.parametrize("section, field, name", [
    ("performance", "min", "rocauc"),
    ("performance", "max", "Accuracy"),
    ("performance", "group_min", "tpr"),
    ("performance", "metrics", "auc"),
])
def test_unknown_performance_metrics_are_named_with_the_known_ones(section, field, name):
    value = [name] if field == "metrics" else {name: 0.5}
    message = _error({**_base(), "checks": {section: {field: value}}})
    known = ", ".join([*METRICS, *_TASK_METRICS])  # the metrics of every task
    assert message.startswith(f"`checks.{section}.{field}` must name a performance metric; got {name!r}. "
                              f"Known: {known} (in audit.yaml).")
    for metric in ("accuracy", "roc_auc", "recall", "brier_score_loss"):
        assert metric in message


def test_unknown_fairness_metrics_are_named_with_the_known_ones():
    message = _error({**_base(), "checks": {"fairness": {"max": {"eod": 0.1}}}})
    assert f"`checks.fairness.max` must name a fairness metric; got 'eod'. Known: {', '.join([*FAIRNESS_METRICS, *_TASK_FAIRNESS])}" \
        in message
    # A performance metric is not a fairness metric.
    assert "got 'accuracy'" in _error({**_base(), "checks": {"fairness": {"min": {"accuracy": 0.1}}}})


def test_group_gaps_only_take_metrics_with_a_direction():
    message = _error({**_base(), "checks": {"group_gaps": {"metrics": ["accuracy", "selection_rate"]}}})
    assert "`checks.group_gaps.metrics` must name metrics where higher or lower is better; got 'selection_rate'" \
        in message


@pytest.mark.parametrize("edges", [[0, 30, 20], [0, 30, 30], [45, 25, 0], [5], []])
def test_bins_must_increase(edges):
    raw = _base()
    raw["data"]["bins"] = {"age": edges}
    shown = [float(e) for e in edges]
    assert _error(raw) == (f"`data.bins` edges of 'age' must be at least two increasing numbers; got {shown} "
                           "(in audit.yaml). See the config reference in the README.")


def test_increasing_bins_are_kept_as_floats():
    raw = _base()
    raw["data"]["bins"] = {"age": [0, 25, 45.5, 120]}
    assert config_from_dict(raw).data.bins == {"age": [0.0, 25.0, 45.5, 120.0]}


def test_every_error_is_reported_at_once():
    raw = _base()
    raw["data"]["foo"] = 1
    raw["data"]["intersections"] = 0
    raw["bootstrap"] = {"level": 1.5}
    message = _error(raw)
    assert "`data.foo` is not a known field" in message
    assert "`data.intersections` must be greater than or equal to 1; got 0" in message
    assert "`bootstrap.level` must be less than 1; got 1.5" in message


@pytest.mark.parametrize("raw, kind", [(["a", "list"], "list"), (None, "NoneType"), ("text", "str")])
def test_the_config_must_be_a_mapping(raw, kind):
    assert _error(raw) == (f"audit.yaml must hold a mapping of settings (name, data, model, checks); got {kind}.")


def test_load_config_reads_yaml_and_resolves_paths_against_its_folder(tmp_path):
    path = tmp_path / "sub" / "audit.yaml"
    path.parent.mkdir()
    path.write_text("name: t\ndata: {test: d/t.csv, target: y, sensitive: [s], bins: {s: [0, 10]}}\n"
                    "model: {load: m.skops, trust: false}\n", encoding="utf-8")
    cfg = load_config(path)
    assert cfg.name == "t" and cfg.data.bins == {"s": [0.0, 10.0]} and cfg.model.load == "m.skops"
    assert cfg.resolve(cfg.data.test) == path.parent.resolve() / "d" / "t.csv"


def test_load_config_names_the_file_in_field_errors(tmp_path):
    path = tmp_path / "gate.yaml"
    path.write_text("name: t\ndata: {test: t.csv, target: y, sensitive: [s], min_group_size: ten}\n"
                    "model: {load: m.skops}\n", encoding="utf-8")
    with pytest.raises(AuditError, match=r"`data.min_group_size` .*got 'ten' \(in gate\.yaml\)"):
        load_config(path)


@pytest.mark.parametrize("text", ["name: [unclosed\n", "data: {test: t.csv\n", "name: t\n  data: 1\n", "a: b: c\n"])
def test_invalid_yaml_is_an_audit_error_naming_the_file(tmp_path, text):
    path = tmp_path / "audit.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(AuditError) as exc:
        load_config(path)
    message = str(exc.value)
    assert message.startswith(f"{path} is not valid YAML: ")
    assert "\n" not in message  # one paragraph
    assert "line " in message  # the parser's position is kept


def test_a_list_in_a_yaml_file_is_not_a_config(tmp_path):
    path = tmp_path / "audit.yaml"
    path.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(AuditError, match=r"^audit\.yaml must hold a mapping of settings .*; got list\.$"):
        load_config(path)


def test_a_missing_config_file_is_named(tmp_path):
    missing = tmp_path / "nope" / "audit.yaml"
    with pytest.raises(AuditError) as exc:
        load_config(missing)
    assert str(exc.value).startswith(f"Cannot read config {missing}: No such file or directory. ")
    assert not missing.exists()


def test_a_folder_is_not_a_config_file(tmp_path):
    with pytest.raises(AuditError, match=f"^Cannot read config {tmp_path}: Is a directory"):
        load_config(tmp_path)


def test_a_binary_file_is_not_a_config(tmp_path):
    path = tmp_path / "adult.csv.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00" + bytes(range(256)))
    with pytest.raises(AuditError, match="adult.csv.gz"):
        load_config(path)


def test_nan_bin_edges_are_refused(tmp_path):
    path = tmp_path / "audit.yaml"
    path.write_text("name: t\ndata: {test: t.csv, target: y, sensitive: [age], bins: {age: [0, .nan, 120]}}\n"
                    "model: {load: m.skops}\n", encoding="utf-8")
    with pytest.raises(AuditError, match="`data.bins` edges of 'age' must be at least two increasing numbers"):
        load_config(path)


def test_slice_and_mitigation_settings_default_so_older_configs_do_not_change():
    cfg = config_from_dict(_base())
    slices, mitigation = cfg.checks.slices, cfg.mitigation
    # Unset (null): the task decides, so a saved config of one task reads the same for another.
    assert (slices.metric, slices.quantile, slices.threshold, mitigation.methods) == (None, 0.9, None, None)
    assert mitigation.loss_bounds is None and mitigation.eps == [0.01, 0.05]
    # Unset, the metric and methods follow the task; set, they are checked against it.
    assert [slices.metric_for(t) for t in ("binary", "multiclass", "regression")] == \
        ["error_rate", "error_rate", "absolute_error"]
    assert mitigation.methods_for("binary") == ["threshold_optimizer_dp", "threshold_optimizer_eo",
                                                "exponentiated_gradient"]
    assert mitigation.methods_for("regression") == ["exponentiated_gradient"]
    assert mitigation.methods_for("multiclass") == []  # nothing to run: the what-if notes why


def test_slice_metrics_and_mitigation_methods_are_checked_against_the_task():
    raw = _base()
    raw["checks"] = {"slices": {"metric": "false_positive_rate"}}
    raw["mitigation"] = {"methods": ["threshold_optimizer_eo"]}
    cfg = config_from_dict(raw)
    assert cfg.checks.slices.metric_for("binary") == "false_positive_rate"
    with pytest.raises(AuditError, match=r"`checks\.slices\.metric` must be one of error_rate for a multiclass audit"):
        cfg.checks.slices.metric_for("multiclass")
    with pytest.raises(AuditError, match=r"`mitigation\.methods` must hold only exponentiated_gradient, drop_proxies for a "
                                         r"regression audit .*got 'threshold_optimizer_eo'\."):
        cfg.mitigation.methods_for("regression")
    raw["checks"] = {"slices": {"metric": "absolute_error", "threshold": 12.5}}
    slices = config_from_dict(raw).checks.slices
    assert slices.metric_for("regression") == "absolute_error" and slices.threshold == 12.5
    with pytest.raises(AuditError, match=r"for a binary audit \(absolute_error needs numeric predictions"):
        slices.metric_for("binary")


@pytest.mark.parametrize(("section", "expected"), [
    ({"checks": {"slices": {"quantile": 1.0}}}, "`checks.slices.quantile` must be less than 1; got 1.0"),
    ({"checks": {"slices": {"quantile": 0}}}, "`checks.slices.quantile` must be greater than 0; got 0"),
    ({"checks": {"slices": {"threshold": -1}}}, "`checks.slices.threshold` must be greater than or equal to 0; got -1"),
    ({"checks": {"slices": {"threshold": "5"}}}, "`checks.slices.threshold` must be a valid number"),
    ({"checks": {"slices": {"metric": "error_rate", "threshold": 5}}},
     "`checks.slices` sets `threshold`, which applies to metric absolute_error (regression) only; got metric "
     "'error_rate'"),
    ({"checks": {"slices": {"metric": "mean_error"}}}, "`checks.slices.metric` must be 'error_rate', "),
    ({"mitigation": {"loss_bounds": [2.0, 0]}},
     "`mitigation.loss_bounds` must hold positive numbers (mean squared errors, in target units squared); "
     "got [2.0, 0.0]"),
    ({"mitigation": {"loss_bounds": []}}, "`mitigation.loss_bounds` list should have at least 1 item"),
])
def test_new_slice_and_mitigation_fields_name_what_is_wrong(section, expected):
    raw = _base()
    raw.update(section)
    assert expected in _error(raw)


def _numeric_fields(model, prefix=()):
    """Every field of the config whose default is a number (not a bool), by its path."""
    import typing

    from pydantic import BaseModel

    for name, info in model.model_fields.items():
        kinds = [info.annotation, *typing.get_args(info.annotation)]
        section = next((k for k in kinds if isinstance(k, type) and issubclass(k, BaseModel)), None)
        if section is not None:
            yield from _numeric_fields(section, (*prefix, name))
            continue
        default = info.get_default(call_default_factory=True)
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            yield (*prefix, name)


NUMERIC_FIELDS = sorted(_numeric_fields(AuditConfig))


def test_the_numeric_fields_are_many():
    assert len(NUMERIC_FIELDS) >= 34 and ("data", "min_group_size") in NUMERIC_FIELDS


@pytest.mark.parametrize("path", NUMERIC_FIELDS, ids=[".".join(p) for p in NUMERIC_FIELDS])
@pytest.mark.parametrize("value", [True, False])
def test_no_number_in_the_config_takes_a_boolean(path, value):
    raw = {"name": "strict", "data": {"test": "t.csv", "target": "y", "sensitive": ["s"]},
           "model": {"predictions": {"predictions": "p"}}}
    node = raw
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    with pytest.raises(AuditError) as exc:
        config_from_dict(raw, source="audit.yaml")
    assert f"`{'.'.join(path)}` must be a valid" in str(exc.value) and f"got {value}" in str(exc.value)
