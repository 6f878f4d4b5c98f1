"""The multiclass and regression audits, end to end: model → per-leaf sums → checks → findings document.

The binary audit lives in ``_run``; this path shares its data loading, groups, data bias measures,
checks and renderers, and differs in what is counted (confusion matrices or error sums per leaf).
The data is read whole (``data.batch_rows`` is for binary audits).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from . import checks
from .measures._bias import DataBias, distribution_gaps, missingness, proxy_associations, proxy_models, representation_tests
from .settings._config import AuditConfig
from .inputs._data import Dataset
from .findings._document import _clean, _estimate, bias_section, fairness_section, metrics_section
from ._errors import AuditError
from .checks._finding import Finding, gate, guarded
from .inputs._formats import ColumnPredictions
from .inputs._groups import GroupIndex, build_groups
from .statistics._metrics import DEFAULT_FAIRNESS_METRICS, DEFAULT_PERFORMANCE_METRICS
from .inputs._model import FittedModel, _categoricals_as_text, obtain_model
from .statistics._multiclass import (MACRO_METRICS, PER_CLASS_METRICS, cell_poisson, class_key, confusion_table,
                          multiclass_fairness, multiclass_metrics, unpack)
from .statistics._regression import (DEFAULT_REGRESSION_METRICS, REGRESSION_FAIRNESS, REGRESSION_METRICS,
                          calibration_by_group, regression_table, row_values, unpacker)
from .inputs._sample import PROXY_SAMPLE_ROWS, uniform_rows
from .statistics._tasktable import TaskEvaluation, TaskFairness, TaskMetric, evaluate_table, row_poisson_sums

__all__ = ["run_task", "task_metric_names"]



def task_metric_names(task: str) -> tuple[list[str], list[str]]:
    """Performance and fairness metric names a task accepts in the config (per-class names aside)."""
    if task == "regression":
        return list(REGRESSION_METRICS), list(REGRESSION_FAIRNESS)
    fair = multiclass_fairness(["_"])
    return list(MACRO_METRICS), list(fair)


def _predict(model: FittedModel, frame: pd.DataFrame, task: str, name: str) -> np.ndarray:
    est = model.estimator
    if isinstance(est, ColumnPredictions):
        raw = est.predict(frame)
    else:
        try:
            raw = np.asarray(est.predict(_categoricals_as_text(frame, model.features)))
        except (ValueError, TypeError, KeyError) as exc:
            raise AuditError(f"The model could not score {name}: {str(exc).splitlines()[0]}. Check that the data "
                             "has the columns and types the model was trained on.") from None
    raw = np.asarray(raw).ravel() if np.asarray(raw).ndim == 2 and np.asarray(raw).shape[1] == 1 else np.asarray(raw)
    if task == "regression":
        values = pd.to_numeric(pd.Series(raw), errors="coerce").to_numpy(dtype=np.float64)
        if not np.isfinite(values).all():
            raise AuditError(f"The model's predictions for {name} must be finite numbers for a regression audit; "
                             f"{int((~np.isfinite(values)).sum())} are not.")
        return values
    if pd.isna(pd.Series(raw)).any():
        raise AuditError(f"The model's predictions for {name} hold missing values; every row needs a class.")
    return raw


def _class_order(y: np.ndarray, pred: np.ndarray) -> list[str]:
    """Classes as text: the target's, sorted (numerically when they are numbers), then predicted-only ones."""
    def order(values: np.ndarray) -> list[str]:
        unique = pd.unique(pd.Series(values))
        try:
            return [str(v) for v in sorted(unique, key=float)]
        except (TypeError, ValueError):
            return sorted(str(v) for v in unique)

    seen = order(y)
    return seen + [c for c in order(pred) if c not in seen]


def _select(requested: list[str], defaults: list[str] | tuple[str, ...], known: list[str], field: str,
            task: str) -> list[str]:
    for name in requested:
        if name not in known:
            raise AuditError(f"`{field}` must name {task} metrics; got {name!r}. Known: {', '.join(known)}.")
    return list(dict.fromkeys(requested or defaults))


def _bias(cfg: AuditConfig, frame: pd.DataFrame, groups: GroupIndex, features: tuple[str, ...],
          evaluation: TaskEvaluation) -> DataBias:
    chk = cfg.checks.bias
    tests = representation_tests(reference_shares=chk.reference_shares, sensitive=list(cfg.data.sensitive),
                                 counts={gm.grouping: dict(zip(gm.groups, gm.n)) for gm in evaluation.by_grouping})
    sample_frame, sample_groups = uniform_rows(frame, size=PROXY_SAMPLE_ROWS, seed=cfg.seed), groups
    if sample_frame is not frame:
        sample_groups = build_groups(sample_frame, sensitive=list(cfg.data.sensitive), bins=cfg.data.bins,
                                     intersections=cfg.data.intersections, source="sample")
    n_leaves = len(groups.leaf_levels)
    missing = np.zeros((n_leaves, len(features)))
    np.add.at(missing, groups.row_leaf, frame[list(features)].isna().to_numpy(dtype=float))
    rows_by_leaf = np.bincount(groups.row_leaf, minlength=n_leaves).astype(float)
    return DataBias(
        representation_tests=tuple(tests),
        missingness=(missingness(missing, rows_by_leaf, features=features, groups=groups,
                                 min_group_size=cfg.data.min_group_size) if chk.missingness and features else ()),
        proxies=(proxy_associations(sample_frame, features=features, groups=sample_groups, seed=cfg.seed)
                 if chk.proxies and features else ()),
        proxy_models=(proxy_models(sample_frame, features=features, groups=sample_groups, seed=cfg.seed)
                      if chk.proxies and features else ()),
        distributions=(distribution_gaps(sample_frame, features=features, groups=sample_groups,
                                         min_group_size=cfg.data.min_group_size) if chk.distributions and features
                       else ()))


def run_task(cfg: AuditConfig, dataset: Dataset, *, given: Any, started: float, created: str,
             say: Callable[[str], None], audit_meta: Callable[..., dict[str, Any]]) -> tuple[dict[str, Any],
                                                                                           bytes | None, FittedModel]:
    """A multiclass or regression audit; returns the findings document, the trained model's bytes and the model."""
    task = dataset.task
    if chk_binary_only := [name for name, on in (("checks.slices", cfg.checks.slices.enabled),
                                                 ("mitigation", cfg.mitigation.enabled)) if on]:
        raise AuditError(f"`{chk_binary_only[0]}` applies to binary audits; this is a {task} audit. "
                         f"Set `{chk_binary_only[0]}.enabled: false` (or remove the section).")
    frame = dataset.test.frame
    assert frame is not None and dataset.y_test is not None
    chk = cfg.checks
    model, model_bytes, model_sha = obtain_model(cfg, dataset, given=given, say=say)
    predictions_only = model.source == "predictions"

    say("predicting and counting")
    pred = _predict(model, frame, task, dataset.test.name)
    groups = build_groups(frame, sensitive=list(cfg.data.sensitive), bins=cfg.data.bins,
                          intersections=cfg.data.intersections, source=dataset.test.name)
    n_leaves = len(groups.leaf_levels)
    reps_n = cfg.bootstrap.replicates
    extra: dict[str, Any]
    if task == "regression":
        y = np.asarray(dataset.y_test, dtype=np.float64)
        table = regression_table(leaf=groups.row_leaf, y=y, pred=pred, n_leaves=n_leaves)
        reps = row_poisson_sums(groups.row_leaf, row_values(y, pred, table.edges), n_leaves=n_leaves,
                                replicates=reps_n, seed=cfg.seed)
        metrics_registry: dict[str, TaskMetric] = REGRESSION_METRICS
        fairness_registry: dict[str, TaskFairness] = REGRESSION_FAIRNESS
        say(f"group statistics ({reps_n} bootstrap replicates)")
        evaluation = evaluate_table(leaf=table.sums, reps=reps, unpack=unpacker(table.n_bins),
                                    metrics=metrics_registry, fairness=fairness_registry, groups=groups,
                                    level=cfg.bootstrap.level, min_group_size=cfg.data.min_group_size)
        default_metrics: list[str] = list(DEFAULT_REGRESSION_METRICS)
        extra = {"regression": {"residual": "y - prediction",
                                "calibration": calibration_by_group(table, groups),
                                "intervals": "percentile bootstrap, Poisson(1) weights per row"}}
    else:
        y_text = pd.Series(dataset.y_test).map(str).to_numpy()
        p_text = pd.Series(pred).map(str).to_numpy()
        if not set(p_text) & set(y_text):
            shown = ", ".join(sorted(set(p_text))[:10])
            raise AuditError(f"The model's predicted classes ({shown}) share none with the values of `data.target` "
                             f"{dataset.target!r}; a model that predicts class numbers (e.g. a native LightGBM or "
                             "XGBoost model) needs a target coded the same way.")
        classes = _class_order(y_text, p_text)
        index = {c: i for i, c in enumerate(classes)}
        K = len(classes)
        yi = np.array([index[v] for v in y_text])
        pi = np.array([index[v] for v in p_text])
        table = confusion_table(leaf=groups.row_leaf, y=yi, pred=pi, n_leaves=n_leaves, n_classes=K)
        reps = cell_poisson(table, replicates=reps_n, seed=cfg.seed)
        metrics_registry = multiclass_metrics(classes)
        fairness_registry = multiclass_fairness(classes)
        say(f"group statistics ({reps_n} bootstrap replicates)")
        evaluation = evaluate_table(leaf=table, reps=reps, unpack=unpack(K), metrics=metrics_registry,
                                    fairness=fairness_registry, groups=groups, level=cfg.bootstrap.level,
                                    min_group_size=cfg.data.min_group_size)
        default_metrics = list(MACRO_METRICS)

        def per_class(estimates: dict[str, Any], i: int | None) -> dict[str, Any]:
            pick = (lambda e: e) if i is None else (lambda e: e[i])
            return {c: {m: _estimate(pick(estimates[class_key(m, c)])) for m in PER_CLASS_METRICS} for c in classes}

        def matrix(sums: np.ndarray) -> list[list[int]]:
            return np.rint(sums.reshape(K, K)).astype(int).tolist()

        by_group_cm: dict[str, Any] = {}
        by_group_pc: dict[str, Any] = {}
        for g, gm in zip(groups.groupings, evaluation.by_grouping):
            hot = np.zeros((len(g.groups), n_leaves))
            hot[g.leaf_group, np.arange(n_leaves)] = 1.0
            sums = hot @ table
            by_group_cm[g.name] = {name: matrix(sums[i]) for i, name in enumerate(g.groups)}
            by_group_pc[g.name] = {name: per_class(gm.metrics, i) for i, name in enumerate(g.groups)}
        extra = {"multiclass": {"classes": classes,
                                "confusion": {"overall": matrix(table.sum(axis=0)), "by_group": by_group_cm},
                                "per_class": {"overall": per_class(evaluation.overall, None),
                                              "by_group": by_group_pc}}}

    perf_known, fair_known = task_metric_names(task)
    pc = chk.performance
    user_perf = [*pc.min, *pc.max, *pc.group_min, *pc.group_max]
    # The config's defaults are the binary lists: a task uses its own unless metrics are named.
    requested = [] if tuple(pc.metrics) == DEFAULT_PERFORMANCE_METRICS else list(pc.metrics)
    perf_selected = _select([*requested, *user_perf], default_metrics, perf_known, "checks.performance", task)
    if not requested:
        perf_selected = list(dict.fromkeys([*default_metrics, *user_perf]))
    fc = chk.fairness
    fair_requested = [] if tuple(fc.metrics) == DEFAULT_FAIRNESS_METRICS else list(fc.metrics)
    fair_selected = _select([*fair_requested, *fc.min, *fc.max], fair_known, fair_known, "checks.fairness", task)
    if not fair_requested:
        fair_selected = list(dict.fromkeys([*fair_known, *fc.min, *fc.max]))

    say("data bias")
    bias = _bias(cfg, frame, groups, model.features if not predictions_only else dataset.features, evaluation)

    findings: list[Finding] = []
    note = ("Explainability was skipped: this audit has the model's predictions only (`model.predictions`)."
            if predictions_only else
            f"Explainability by subgroup (SHAP) is implemented for binary classifiers; it was not run for this "
            f"{task} audit.")
    if chk.explainability.method != "none":
        findings.append(Finding(check="explainability", category="explainability", status="insufficient_data",
                                severity=chk.explainability.severity, message=note))
    if cfg.data.reference is not None:
        findings.append(Finding(check="drift", category="drift", status="insufficient_data",
                                severity=chk.drift.severity,
                                message=f"Drift against `data.reference` is measured in binary audits only; it was "
                                        f"not measured in this {task} audit."))
    mgs = cfg.data.min_group_size
    findings += guarded("performance", "performance", pc.severity,
                              lambda: checks.check_performance(evaluation=evaluation, config=pc,  # type: ignore[arg-type]
                                                               min_group_size=mgs))
    # The four-fifths rule is about selecting people for a benefit (binary); a multiclass audit judges the
    # one-vs-rest ratio only when `fairness.min` names it.
    fair_config = fc.model_copy(update={"four_fifths_rule": False})
    findings += guarded("fairness", "fairness", fc.severity,
                              lambda: checks.check_fairness(evaluation=evaluation,  # type: ignore[arg-type]
                                                            config=fair_config))
    bias_config = chk.bias.model_copy(update={"max_base_rate_difference": None})
    findings += guarded("bias", "bias", chk.bias.severity,
                              lambda: checks.check_bias(evaluation=evaluation, bias=bias,  # type: ignore[arg-type]
                                                        config=bias_config, min_group_size=mgs))
    verdict = gate(findings)

    meta = audit_meta(model_sha=model_sha, duration=time.perf_counter() - started)
    model_meta = {
        "type": model.type_name, "task": task, "source": model.source, "features": list(model.features),
        "params": model.params, "positive_label": None, "negative_label": None,
        "probabilistic": False,
        "file": "model.skops" if model_bytes is not None else (Path(model.path).name if model.path else None),
        "sha256": model_sha,
    }
    data_meta = {
        "target": dataset.target, "rows": evaluation.n, "positives": None,
        "columns": list(dataset.test.columns), "sensitive": list(cfg.data.sensitive),
        "bins": cfg.data.bins, "intersections": cfg.data.intersections, "min_group_size": mgs,
        "train_rows": None if dataset.train is None or dataset.train.frame is None else len(dataset.train.frame),
        "train_is_split": dataset.train_is_split, "batch_rows": None, "sample_rows": len(frame),
        "groups": {gm.grouping: {g: n for g, n in zip(gm.groups, gm.n)} for gm in evaluation.by_grouping},
    }
    counts = {s: sum(f.status == s for f in findings) for s in ("pass", "fail", "warn", "insufficient_data", "error")}
    from .findings._document import SCHEMA_VERSION

    doc = {
        "schema_version": SCHEMA_VERSION, "audit": meta, "model": model_meta, "data": data_meta,
        "metrics": metrics_section(evaluation, perf_selected, registry=metrics_registry),
        # The card's worst-group highlights and ROC/calibration curves are built on the binary cell table.
        "highlights": {"worst_groups": []},
        "curves": None,
        "fairness": fairness_section(evaluation, fair_selected, registry=fairness_registry),
        "bias": bias_section(evaluation, bias),
        "drift": None,
        "explainability": {"status": "skipped", "note": note},
        # LL144 impact ratios, the four-fifths rule and the EU checklist are built on binary selection rates.
        "regulatory": None,
        **extra,
        "findings": [f.to_dict() for f in findings],
        "summary": counts,
        "gate": verdict,
    }
    return _clean(doc), model_bytes, model
