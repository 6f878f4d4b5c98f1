"""The audit, end to end: config → data → model → statistics → checks → findings document."""

from __future__ import annotations

import platform
import time
from dataclasses import replace
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np

from . import checks
from .measures._bias import (DataBias, distribution_gaps, missingness, proxy_associations, proxy_models,
                    representation_tests)
from .settings._config import AuditConfig, config_from_dict, load_config
from .measures._curves import curves
from .inputs._data import Dataset, evaluation_batches, load_dataset, read_table
from .measures._drift import Drift, measure_drift
from .findings._document import build_document, mitigation_section, slices_section
from ._errors import AuditError
from .statistics._evaluate import Evaluation, evaluate
from .measures._explain import explain
from .checks._finding import Finding, gate, guarded
from .inputs._groups import GroupIndex, LeafCoder
from .measures._highlights import worst_groups
from .statistics.engines import DaskRun, PassSettings, dask_pass, import_dask, local_pass
from .statistics._metrics import METRICS
from .measures._mitigation import mitigate, saved_model
from .inputs._model import FittedModel, obtain_model, predict
from .findings._policy import apply_policy, load_findings
from .measures._regulatory import ll144_attributes, regulatory_views
from ._result import AuditResult
from .inputs._sample import PROXY_SAMPLE_ROWS, RowSample, uniform_rows
from .measures._slices import find_slices

__all__ = ["run", "package_versions", "PROXY_SAMPLE_ROWS"]


_PACKAGES = ("rai-audit", "numpy", "pandas", "scipy", "scikit-learn", "fairlearn", "shap", "skops", "jinja2",
             "pydantic", "pyarrow")


def package_versions() -> dict[str, str]:
    """Versions of Python and of the packages an audit's numbers depend on."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _as_config(config: AuditConfig | str | Path | dict[str, Any]) -> AuditConfig:
    if isinstance(config, AuditConfig):
        return config
    if isinstance(config, dict):
        return config_from_dict(config, source="config")
    return load_config(config)


def run(config: AuditConfig | str | Path | dict[str, Any], *, model: Any = None, seed: int | None = None,
        progress: Callable[[str], None] | None = None, engine: Literal["local", "dask"] | None = None,
        scheduler: str | None = None, baseline: dict[str, Any] | str | Path | None = None) -> AuditResult:
    """Run a whole audit and return its result; nothing is written.

    Parameters
    ----------
    config : AuditConfig, path or mapping
        The audit config, or the path of an ``audit.yaml``.
    model : object, optional
        A fitted model with ``predict`` (and ``predict_proba`` for classifier scores), audited as it is;
        the config then has no ``model`` section.
    seed : int, optional
        Overrides ``seed`` of the config.
    progress : callable, optional
        Called with a short text at the start of each step.
    engine : {"local", "dask"}, optional
        Overrides ``engine`` of the config: ``dask`` runs the pass over the
        evaluation data on a dask cluster (the ``dask`` extra), with the same results.
    scheduler : str, optional
        Overrides ``dask.scheduler``: the address of a running dask scheduler;
        without one the dask engine starts a local cluster.
    baseline : dict or path, optional
        Findings document (or its ``findings.json``) of an earlier audit: adds the ``comparison`` key
        and lets the ``gate`` policy judge regressions (see :mod:`audit.findings._policy`).

    Returns
    -------
    AuditResult
        Holds the findings document; ``to_html``, ``to_json`` and ``write`` render it.

    Raises
    ------
    AuditError
        Bad config, data or model; the message names the field, file or column.

    Examples
    --------
    >>> result = run("examples/adult/audit.yaml")  # doctest: +SKIP
    >>> result.gate, result.exit_code  # doctest: +SKIP
    ('pass', 0)
    """
    started = time.perf_counter()
    baseline_source = "baseline" if baseline is None or isinstance(baseline, dict) else Path(baseline).name
    if baseline is not None and not isinstance(baseline, dict):
        baseline = load_findings(baseline)  # read first: a bad baseline fails before the long run
    created = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    cfg = _as_config(config)
    if seed is not None:
        cfg = cfg.model_copy(update={"seed": seed})
    engine = engine or cfg.engine
    scheduler = scheduler or cfg.dask.scheduler
    if scheduler is not None and engine != "dask":
        raise AuditError(f"A scheduler ({scheduler!r}) is only used by the dask engine; add `--engine dask` "
                         "(or `engine: dask` to the config), or drop the scheduler.")
    if engine == "dask":
        import_dask()  # before any work: a missing extra is reported at once
    say = progress or (lambda _text: None)
    given = model
    if given is not None and cfg.model is not None:
        raise AuditError("Pass the model either in the config's `model` section or as `model=` to audit.run, "
                         "not both.")
    if given is None and cfg.model is None:
        raise AuditError("`model` is required: set one of `model.load`, `model.train` and `model.predictions`, "
                         "or pass a fitted model object as `model=` to audit.run.")
    if cfg.regulatory.enabled:  # a misnamed attribute is bad input: say so before any work
        ll144_attributes(sensitive=cfg.data.sensitive, sex=cfg.regulatory.ll144.sex, race=cfg.regulatory.ll144.race)

    say("loading data")
    dataset = load_dataset(cfg, lazy=engine == "dask")
    chk = cfg.checks
    if dataset.task != "binary":
        from ._run_task import run_task

        document, trained, fitted = run_task(
            cfg, dataset, given=given, started=started, created=created, say=say,
            audit_meta=lambda *, model_sha, duration: _audit_meta(cfg, dataset, created=created, duration=duration,
                                                                  model_sha=model_sha))
        document = apply_policy(document, policy=cfg.gate, baseline=baseline, baseline_source=baseline_source)
        return AuditResult(document=document, model_bytes=trained, model=fitted, template=_template(cfg),
                           inconclusive=cfg.gate.inconclusive)

    model, model_bytes, model_sha = obtain_model(cfg, dataset, given=given, say=say)
    predictions_only = model.source == "predictions"

    # One pass over the evaluation rows (whole, in batches, or by partition on a cluster): the statistics are
    # additive, and only a seeded sample of rows is kept for explanations and proxy checks.
    settings = PassSettings(sensitive=tuple(cfg.data.sensitive), bins=cfg.data.bins, source=dataset.test.name,
                            target=dataset.target, positive_label=dataset.positive_label,
                            negative_label=dataset.negative_label, seed=cfg.seed,
                            sample_size=max(chk.explainability.sample, PROXY_SAMPLE_ROWS))
    # Predictions made elsewhere are read from their columns, beside the features; slices may name other columns.
    outputs = [] if not predictions_only else [c for c in (model.estimator.predictions, model.estimator.scores) if c]
    slice_columns = chk.slices.features if chk.slices.enabled and chk.slices.features != "all" else []
    needed = list(dict.fromkeys([*model.features, *cfg.data.sensitive, dataset.target, *outputs, *slice_columns]))
    cluster: DaskRun | None = None
    if engine == "dask":
        done, cluster = dask_pass(dataset=dataset, model=model, columns=needed, settings=settings,
                                  scheduler=scheduler, workers=cfg.dask.workers,
                                  partition_rows=cfg.dask.partition_rows, progress=say)
    else:
        say("predicting and counting")
        done = local_pass(batches=evaluation_batches(dataset, columns=needed), model=model, settings=settings)
    cells, coder, sample, probabilistic = done.cells, done.coder, done.sample, done.probabilistic
    missing_by_leaf = done.missing_by_leaf
    groups = coder.index(intersections=cfg.data.intersections, row_leaf=sample.leaf, labels=sample.labels)
    del done

    say(f"group statistics ({cfg.bootstrap.replicates} bootstrap replicates)")
    evaluation = evaluate(cells, groups, replicates=cfg.bootstrap.replicates, level=cfg.bootstrap.level,
                          seed=cfg.seed, min_group_size=cfg.data.min_group_size)

    say("data bias")
    bias = _data_bias(cfg, sample, groups, model.features, missing_by_leaf, evaluation)
    drift = _drift(cfg, model, model.features, sample, say, score_reference=not predictions_only) \
        if cfg.data.reference is not None else None

    explanation, explanation_note = None, None
    findings: list[Finding] = []
    if predictions_only:
        explanation_note = ("Explainability was skipped: this audit has the model's predictions only "
                            "(`model.predictions`), not the model, so nothing can be asked why it predicted them.")
        findings.append(Finding(check="explainability", category="explainability", status="insufficient_data",
                                severity=chk.explainability.severity, message=explanation_note))
    elif chk.explainability.method == "none":
        explanation_note = "Explainability was switched off (`checks.explainability.method: none`)."
    else:
        say(f"explaining {min(chk.explainability.sample, len(sample.frame))} rows")
        try:
            xc = chk.explainability
            explanation = explain(model, sample.frame, sample.y, groups, method=xc.method, sample=xc.sample,
                                  seed=cfg.seed, replicates=cfg.bootstrap.replicates, level=cfg.bootstrap.level,
                                  max_seconds=xc.max_seconds, min_group_size=cfg.data.min_group_size,
                                  bins=cfg.data.bins, flip_test_rows=1000 if xc.flip_test else 0,
                                  progress=lambda done, total: say(f"explained {done} of {total} rows"))
        except Exception as exc:  # noqa: BLE001 - a failed explainer is a finding, the audit goes on
            explanation_note = f"The explainer failed: {type(exc).__name__}: {exc}"
            findings.append(Finding(check="sensitive_feature_importance", category="explainability",
                                    status="error", severity=chk.explainability.severity, message=explanation_note))

    say("checks")
    mgs = cfg.data.min_group_size
    findings += guarded("performance", "performance", chk.performance.severity,
                         lambda: checks.check_performance(evaluation=evaluation, config=chk.performance,
                                                          min_group_size=mgs))
    if chk.group_gaps.enabled:
        findings += guarded("group_gaps", "performance", chk.group_gaps.severity,
                             lambda: checks.check_group_gaps(evaluation=evaluation, config=chk.group_gaps))
    findings += guarded("fairness", "fairness", chk.fairness.severity,
                         lambda: checks.check_fairness(evaluation=evaluation, config=chk.fairness))
    findings += guarded("bias", "bias", chk.bias.severity,
                         lambda: checks.check_bias(evaluation=evaluation, bias=bias, config=chk.bias,
                                                   min_group_size=mgs))
    if drift is not None:
        findings += guarded("drift", "drift", chk.drift.severity,
                             lambda: checks.check_drift(drift=drift, config=chk.drift))
    if explanation is not None:
        findings += guarded("sensitive_feature_importance", "explainability", chk.explainability.severity,
                             lambda: checks.check_explainability(explanation=explanation,
                                                                 sensitive=tuple(cfg.data.sensitive),
                                                                 config=chk.explainability))
    slices_doc, mitigation_doc, mitigated = _slices_and_mitigation(cfg, dataset, model, sample, evaluation.n,
                                                                   findings, say)
    verdict = gate(findings)

    perf_metrics = list(dict.fromkeys([*chk.performance.metrics, *chk.performance.min, *chk.performance.max,
                                       *chk.performance.group_min, *chk.performance.group_max]))
    fair_metrics = list(dict.fromkeys([*chk.fairness.metrics, *chk.fairness.min, *chk.fairness.max,
                                       *(["demographic_parity_ratio"] if chk.fairness.four_fifths_rule else [])]))
    if not probabilistic:
        perf_metrics = [m for m in perf_metrics if m not in ("log_loss", "brier_score_loss")]
    audit_meta = _audit_meta(cfg, dataset, created=created, duration=time.perf_counter() - started,
                             model_sha=model_sha,
                             engine=None if cluster is None else {"name": "dask", "scheduler": cluster.scheduler,
                                                                  "workers": cluster.workers,
                                                                  "partitions": cluster.partitions})
    model_meta = {
        "type": model.type_name, "task": dataset.task, "source": model.source, "features": list(model.features),
        "params": model.params, "positive_label": _plain(dataset.positive_label),
        "negative_label": _plain(dataset.negative_label), "probabilistic": probabilistic,
        "file": "model.skops" if model_bytes is not None else (Path(model.path).name if model.path else None),
        "sha256": model_sha,
    }
    data_meta = {
        "target": dataset.target, "rows": evaluation.n, "positives": evaluation.positives,
        "columns": list(dataset.test.columns), "sensitive": list(cfg.data.sensitive),
        "bins": cfg.data.bins, "intersections": cfg.data.intersections, "min_group_size": mgs,
        "train_rows": None if dataset.train is None or dataset.train.frame is None else len(dataset.train.frame),
        "train_is_split": dataset.train_is_split, "batch_rows": dataset.batch_rows,
        "sample_rows": len(sample.frame),
    }
    selected = [m for m in METRICS if m in perf_metrics]
    regulatory = None
    if cfg.regulatory.enabled:
        ll = cfg.regulatory.ll144
        regulatory = regulatory_views(
            evaluation, sensitive=cfg.data.sensitive, sex=ll.sex, race=ll.race, min_share=ll.min_share,
            report=cfg.report.model_dump(mode="json"),
            bias_done={"representation": chk.bias.representation, "proxies": chk.bias.proxies,
                       "missingness": chk.bias.missingness},
            explained=explanation is not None, drift=drift is not None,
            reference_shares=bool(chk.bias.reference_shares))
    document = build_document(audit=audit_meta, model=model_meta, data=data_meta, evaluation=evaluation,
                              performance_metrics=selected,
                              curves=curves(cells, groups, probabilistic=probabilistic),
                              worst_groups=worst_groups(evaluation, metrics=selected, min_group_size=mgs),
                              fairness_metrics=fair_metrics, bias=bias, drift=drift, explanation=explanation,
                              explanation_note=explanation_note, findings=findings, gate=verdict,
                              regulatory=regulatory, slices=slices_doc, mitigation=mitigation_doc)
    document = apply_policy(document, policy=cfg.gate, baseline=baseline, baseline_source=baseline_source)
    return AuditResult(document=document, model_bytes=model_bytes, model=model, template=_template(cfg),
                       inconclusive=cfg.gate.inconclusive,
                       mitigated_models=mitigated)


def _template(cfg: AuditConfig) -> str | None:
    if cfg.report.template is None:
        return None
    template = str(cfg.resolve(cfg.report.template))
    if not Path(template).is_file():
        raise AuditError(f"`report.template` must name an existing Jinja2 file; got {cfg.report.template!r} "
                         f"(looked for {template}).")
    return template


def _audit_meta(cfg: AuditConfig, dataset: Dataset, *, created: str, duration: float,
                model_sha: str | None, engine: dict[str, Any] | None = None) -> dict[str, Any]:
    """The manifest: name, time, seed, versions, SHA-256 of every data file and of the model, the config."""
    return {
        "name": cfg.name, "title": cfg.report.title or cfg.name, "created": created, "seed": cfg.seed,
        "duration_seconds": round(duration, 3),
        "bootstrap": {"replicates": cfg.bootstrap.replicates, "level": cfg.bootstrap.level},
        "versions": package_versions(),
        "data": {"test": {"name": dataset.test.name, "files": [Path(f).name for f in dataset.test.files],
                          "sha256": list(dataset.test.sha256)},
                 "train": None if dataset.train is None else {
                     "name": dataset.train.name, "files": [Path(f).name for f in dataset.train.files],
                     "sha256": list(dataset.train.sha256)}},
        "model_sha256": model_sha,
        "config": cfg.model_dump(mode="json", exclude={"base_dir"}),
        **({} if engine is None else {"engine": engine}),
        "report": cfg.report.model_dump(mode="json"),
    }

def _slices_and_mitigation(cfg: AuditConfig, dataset: Dataset, model: FittedModel, sample: RowSample, rows: int,
                           findings: list[Finding], say: Callable[[str], None],
                           ) -> tuple[dict[str, Any] | None, dict[str, Any] | None, dict[str, bytes]]:
    """Slice discovery and the mitigation what-if, on the seeded sample of evaluation rows.

    Both run on the sample the run keeps (every evaluation row when there are at most
    ``PROXY_SAMPLE_ROWS``), so their time and memory stay bounded however large the data.
    Appends their findings to ``findings``; returns the two document sections and saved models.
    """
    sc, mc = cfg.checks.slices, cfg.mitigation
    if not sc.enabled and not mc.enabled:
        return None, None, {}
    if mc.enabled and mc.attribute is not None and mc.attribute not in cfg.data.sensitive:
        raise AuditError(f"`mitigation.attribute` must be one of `data.sensitive`; got {mc.attribute!r}. "
                         f"Sensitive: {', '.join(cfg.data.sensitive)}.")
    yhat = predict(model, sample.frame).label
    n = len(sample.frame)
    rows_note = (f"all {n} evaluation rows" if n == rows else
                 f"a seeded uniform sample of {n} of the {rows} evaluation rows")
    slices_doc = mitigation_doc = None
    mitigated: dict[str, bytes] = {}
    if sc.enabled:
        say(f"searching slices of up to {sc.max_order} predicates")
        features = tuple(dict.fromkeys([*model.features, *cfg.data.sensitive])) if sc.features == "all" \
            else tuple(sc.features)
        unknown = [f for f in features if f not in sample.frame.columns or f == dataset.target]
        if unknown:
            raise AuditError(f"`checks.slices.features` must name feature columns of {dataset.test.name} (not the "
                             f"target); got {', '.join(map(repr, unknown))}. Columns: "
                             f"{', '.join(c for c in dataset.test.columns if c != dataset.target)}.")
        holder: list[dict[str, Any]] = []

        def slices_check() -> list[Finding]:
            search = find_slices(sample.frame, y=sample.y, yhat=yhat, features=features, metric=sc.metric,
                                 max_order=sc.max_order, min_size=sc.min_size, bins=sc.bins, alpha=sc.alpha,
                                 top_k=sc.top_k, min_effect=sc.min_effect, score_weight=sc.score_weight,
                                 level=cfg.bootstrap.level, max_seconds=sc.max_seconds)
            holder.append(slices_section(search, rows_note=rows_note))
            return checks.check_slices(search=search, config=sc)

        findings += guarded("slices", "performance", sc.severity, slices_check)
        slices_doc = holder[0] if holder else None
    if mc.enabled:
        attribute = mc.attribute or cfg.data.sensitive[0]
        say(f"mitigation what-if for {attribute}")
        train = None
        if cfg.model.train is not None and dataset.train is not None and dataset.train.frame is not None:
            coder = LeafCoder(sensitive=[attribute], bins=cfg.data.bins, source=dataset.train.name)
            train = (dataset.train.frame, dataset.y_train, coder.encode(dataset.train.frame)[1][attribute])
        try:
            outcome, fitted = mitigate(model, frame=sample.frame, y=sample.y, yhat=yhat,
                                       sensitive=sample.labels[attribute], attribute=attribute,
                                       methods=list(mc.methods), tolerances=list(mc.tolerances), eps=list(mc.eps),
                                       held_out=mc.held_out, seed=cfg.seed, train=train, fit_rows=mc.fit_rows,
                                       max_iter=mc.max_iter, max_seconds=mc.max_seconds)
        except AuditError:
            raise  # bad input: exit code 2, like every other config error
        except Exception as exc:  # noqa: BLE001 - a failed what-if is a finding, the audit goes on
            findings.append(Finding(check="mitigation", category="fairness", status="error", severity="warn",
                                    message=f"The mitigation what-if could not run: {type(exc).__name__}: {exc}"))
        else:
            if mc.save:
                # The strictest setting of each method; ThresholdOptimizer needs `sensitive_features` to predict.
                for method, mitigator in fitted.items():
                    name, data, note = saved_model(method, mitigator)
                    mitigated[name] = data
                    if note:
                        outcome = replace(outcome, notes=(*outcome.notes, note))
            mitigation_doc = mitigation_section(outcome, saved=sorted(mitigated) or None)
    return slices_doc, mitigation_doc, mitigated


def _data_bias(cfg: AuditConfig, sample: RowSample, groups: GroupIndex, features: tuple[str, ...],
               missing_by_leaf: np.ndarray, evaluation: Evaluation) -> DataBias:
    """Everything the data bias section shows beyond the group statistics."""
    chk = cfg.checks.bias
    tests = representation_tests(reference_shares=chk.reference_shares, sensitive=list(cfg.data.sensitive),
                                 counts={gm.grouping: dict(zip(gm.groups, gm.n)) for gm in evaluation.by_grouping})
    proxies = proxy_associations(sample.frame, features=features, groups=groups, seed=cfg.seed) if chk.proxies else ()
    joint = proxy_models(sample.frame, features=features, groups=groups, seed=cfg.seed) if chk.proxies else ()
    return DataBias(
        representation_tests=tuple(tests),
        missingness=(missingness(missing_by_leaf[:, :-1], missing_by_leaf[:, -1], features=features, groups=groups,
                                 min_group_size=cfg.data.min_group_size) if chk.missingness else ()),
        proxies=proxies, proxy_models=joint,
        distributions=(distribution_gaps(sample.frame, features=features, groups=groups,
                                         min_group_size=cfg.data.min_group_size) if chk.distributions else ()))


def _drift(cfg: AuditConfig, model: FittedModel, features: tuple[str, ...], sample: RowSample,
           say: Callable[[str], None], *, score_reference: bool) -> Drift:
    """Drift of the (sampled) evaluation rows against ``data.reference``, features and scores."""
    say("measuring drift")
    assert cfg.data.reference is not None
    reference = read_table(cfg, field="data.reference", spec=cfg.data.reference)
    missing = [c for c in (*features, *cfg.data.sensitive) if c not in reference.columns]
    if missing:
        raise AuditError(f"`data.reference` must hold the features and sensitive columns; {reference.name} lacks "
                         f"{', '.join(map(repr, missing))}.")
    frame = uniform_rows(reference.frame, size=PROXY_SAMPLE_ROWS, seed=cfg.seed)
    coder = LeafCoder(sensitive=list(cfg.data.sensitive), bins=cfg.data.bins, source=reference.name)
    _, labels = coder.encode(frame)
    try:
        # Predictions made elsewhere exist for the evaluation rows only: no score drift then.
        scores = predict(model, frame).score if score_reference else None
    except (ValueError, TypeError, KeyError) as exc:
        raise AuditError(f"The model could not score `data.reference` {reference.name}: "
                         f"{str(exc).splitlines()[0]}.") from None
    return measure_drift(frame, sample.frame, features=features, reference_labels=labels,
                         current_labels=sample.labels, bins=cfg.checks.drift.bins, reference_scores=scores,
                         current_scores=sample.score if scores is not None else None, min_group_size=cfg.data.min_group_size)


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    return value.item() if hasattr(value, "item") else str(value)


