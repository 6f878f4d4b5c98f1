"""The audit, end to end: config → data → model → statistics → measures → checks → findings document.

One pipeline serves every task: :data:`STEPS` is the audit, step by step, each step declaring the tasks it
applies to; what differs by task lives in the task's adapter (:mod:`audit.statistics._tasks`) and registry.
"""

from __future__ import annotations

import hashlib
import platform
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np
import pandas as pd

from . import checks
from .measures._bias import (DataBias, distribution_gaps, missingness, proxy_associations, proxy_models,
                    representation_tests)
from .settings._config import AuditConfig, choose_champion, config_from_dict, load_config
from .measures._curves import Curves, curves
from .inputs._data import Dataset, evaluation_batches, frame_table, load_dataset, read_table
from .settings._boundary import check_reference_groups, check_run, check_task, check_threshold, favorable_side
from .statistics._metrics import with_favorable
from .measures._threshold import DecisionRule, threshold_for_rate
from .settings._selection import Selection, selected_metrics
from .statistics._regression import calibration_bins
from .statistics._tasks import adapter
from .measures._drift import Drift, measure_drift
from .findings._document import (build_document, challenger_section, conditional_section, lending_section,
                                 reasons_section, mitigation_section, multiclass_section,
                                 slices_section)
from ._errors import AuditError
from .statistics._evaluate import Evaluation, evaluate
from .measures._explain import Explanation, explain
from .checks._finding import Finding, gate, guarded
from .inputs._groups import GroupIndex, LeafCoder
from .measures._highlights import worst_groups
from .statistics.engines import DaskRun, EvaluationPass, PassSettings, dask_pass, import_dask, local_pass
from .measures._mitigation import mitigate, saved_model
from .inputs._model import FittedModel, Predictions, obtain_model
from .inputs._predictions import PREDICTIONS_NAME, RowOutputs, row_outputs_bytes
from .inputs._validate import check_before_model
from .findings._policy import paired_documents, apply_policy, load_findings
from .measures._compare import check_same_task
from .measures._regulatory import Regulatory, regulatory_views
from ._names import CHALLENGERS_FOLDER, report_folder_name
from ._result import AuditResult
from .report._mlflow import MlflowSettings
from .inputs._sample import PROXY_SAMPLE_ROWS, RowSample, uniform_rows
from .measures._slices import find_slices
from .measures._conditional import FAVOURABLE, conditional_disparity, strata
from .measures._lending import lending_measures
from .measures._reasons import REASONS_NAME, reason_codes, reasons_bytes
from .measures._leakage import feature_associations
from .statistics._paired import PairedRows, paired_compare

__all__ = ["run", "audit", "package_versions", "planned_steps", "PROXY_SAMPLE_ROWS", "STEPS", "Step"]


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


def run(config: AuditConfig | str | Path | dict[str, Any], *, model: Any = None, data: Any = None,
        train: Any = None, seed: int | None = None,
        progress: Callable[[str], None] | None = None, engine: Literal["local", "dask"] | None = None,
        scheduler: str | None = None, baseline: dict[str, Any] | str | Path | None = None,
        champion: str | None = None) -> AuditResult:
    """Run a whole audit and return its result; nothing is written.

    Parameters
    ----------
    config : AuditConfig, path or mapping
        The audit config, or the path of an ``audit.yaml``.
    model : object, optional
        A fitted model with ``predict`` (and ``predict_proba`` for classifier scores), audited as it is;
        the config then has no ``model`` section.
    data : pandas.DataFrame, optional
        The evaluation rows, in place of ``data.test`` (which a mapping config may then leave out).
    train : pandas.DataFrame, optional
        Training rows, in place of ``data.train``.
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
    champion : str, optional
        The name of the model in production among the config's ``models`` (``audit run --champion``);
        default the one marked ``champion: true``.

    Returns
    -------
    AuditResult
        Holds the findings document; ``to_html``, ``to_json`` and ``write`` render it. With a challenger
        (``challenger:`` or ``models:``), the challenger's own full audit is in ``challengers``; it is
        audited first, and the champion's audit pairs its rows with the challenger's.

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
    baseline_path = None if baseline is None or isinstance(baseline, dict) else Path(baseline)
    if baseline is not None and not isinstance(baseline, dict):
        baseline = load_findings(baseline)  # read first: a bad baseline fails before the long run
    created = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    frames = {field: frame_table(frame, name=f"the DataFrame passed as `{arg}`")
              for field, arg, frame in (("data.test", "data", data), ("data.train", "train", train))
              if frame is not None}
    if frames and isinstance(config, dict):  # the DataFrame stands for the file a config would name
        config = {**config, "data": {**{k: "<DataFrame>" for k in ("test",) if "data.test" in frames},
                                     **({"train": "<DataFrame>"} if "data.train" in frames else {}),
                                     **config.get("data", {})}}
    cfg = choose_champion(_as_config(config), champion=champion)
    if seed is not None:
        cfg = cfg.model_copy(update={"seed": seed})
    settings = check_run(cfg, model_given=model is not None, engine=engine, scheduler=scheduler)
    engine, scheduler = settings.engine, settings.scheduler
    if engine == "dask":
        import_dask()  # before any work: a missing extra is reported at once
    say = progress or (lambda _text: None)
    given = model

    say("loading data")
    dataset = load_dataset(cfg, lazy=engine == "dask" and "data.test" not in frames, frames=frames)
    check_before_model(cfg, dataset)  # what `audit validate` checks: a bad config fails before any training
    if baseline is not None:  # a baseline of another task is refused before the long run
        check_same_task(baseline, dataset.task, old_source=baseline_source, new_source=f"this audit ({cfg.name})")
    favorable_is_positive = favorable_side(cfg, task=dataset.task, source=dataset.test.name,
                                           positive_label=dataset.positive_label,
                                           negative_label=dataset.negative_label)
    check_threshold(cfg, task=dataset.task, trained_rows=dataset.train is not None or cfg.data.train is not None)
    shared = _Shared(dataset=dataset, say=say, engine=engine, scheduler=scheduler,
                     favorable_is_positive=favorable_is_positive, created=created, started=started)
    challengers: tuple[AuditResult, ...] = ()
    rival = None
    if cfg.challenger is not None and engine == "local":
        # The challenger's own full audit first, its row outputs kept: the champion's pairs them with its own.
        spec = cfg.challenger
        say(f"auditing the challenger {spec.name!r}")
        challenger_cfg = cfg.model_copy(update={
            "name": spec.name, "model": spec.model, "challenger": None,
            "report": cfg.report.model_copy(update={"title": f"{cfg.report.title or cfg.name}: challenger {spec.name}"})})
        check_threshold(challenger_cfg, task=dataset.task,
                        trained_rows=dataset.train is not None or cfg.data.train is not None)
        audited = _audit_model(challenger_cfg, shared=shared, given=None, keep_rows=True, rival=None)
        document = apply_policy(audited.document, policy=cfg.gate, baseline=None, baseline_source="baseline")
        challengers = (audited.result(document, challenger_cfg),)
        assert audited.ctx.done is not None and audited.ctx.done.rows is not None
        rival = Rival(name=spec.name, model=audited.ctx.model, sha256=audited.model_sha, rows=audited.ctx.done.rows,
                      gate=document["gate"], summary=dict(document["summary"]),
                      folder=f"{CHALLENGERS_FOLDER}/{report_folder_name(spec.name)}")
    audited = _audit_model(cfg, shared=shared, given=given,
                           keep_rows=cfg.report.predictions or cfg.challenger is not None, rival=rival)
    document, ctx = audited.document, audited.ctx
    paired = pairing = None
    if baseline is not None and baseline_path is not None:  # the baseline's rows pair with this audit's
        paired, pairing = paired_documents(baseline, document, old_path=baseline_path,
                                           new_rows=ctx.done.rows if ctx.done is not None else None)
    document = apply_policy(document, policy=cfg.gate, baseline=baseline, baseline_source=baseline_source,
                            paired=paired, pairing=pairing)
    return replace(audited.result(document, cfg), challengers=challengers)


@dataclass(frozen=True)
class Rival:
    """The challenger, audited: its model, its outputs on every evaluation row, and its own verdict."""

    name: str
    model: FittedModel
    sha256: str | None
    rows: RowOutputs
    gate: str
    summary: dict[str, int]
    #: Where its report set goes, relative to the champion's report folder.
    folder: str


@dataclass(frozen=True)
class _Shared:
    """What the audits of one run share, whichever model they audit."""

    dataset: Dataset
    say: Callable[[str], None]
    engine: str
    scheduler: str | None
    favorable_is_positive: bool
    created: str
    started: float


@dataclass(frozen=True)
class _Audited:
    """One model's audit, before the gate policy: its steps' context, its document, its files' bytes."""

    ctx: "_Context"
    document: dict[str, Any]
    model_bytes: bytes | None
    model_sha: str | None
    predictions_bytes: bytes | None

    def result(self, document: dict[str, Any], cfg: AuditConfig) -> AuditResult:
        return AuditResult(document=document, model_bytes=self.model_bytes, predictions_bytes=self.predictions_bytes,
                           model=self.ctx.model, template=_template(cfg), inconclusive=cfg.gate.inconclusive,
                           mitigated_models=self.ctx.mitigated, row_files=self.ctx.files, name=cfg.name, pdf=cfg.report.pdf,
                           mlflow=MlflowSettings.from_config(cfg.mlflow, base_dir=cfg.base_dir))


def _audit_model(cfg: AuditConfig, *, shared: _Shared, given: Any, keep_rows: bool,
                 rival: Rival | None) -> _Audited:
    """The audit of one model, step by step (:data:`STEPS`), into its findings document."""
    dataset, say = shared.dataset, shared.say
    model, model_bytes, model_sha = obtain_model(cfg, dataset, given=given, say=say)
    model, rule = _decision_rule(cfg, dataset, model)
    ctx = _Context(cfg=cfg, dataset=dataset, model=model, say=say, engine=shared.engine, scheduler=shared.scheduler,
                   favorable_is_positive=shared.favorable_is_positive, rule=rule, keep_rows=keep_rows, rival=rival)
    notes = []
    for step in STEPS:
        if dataset.task in step.tasks:
            step.run(ctx)
        elif step.wanted(cfg) or not step.optional:
            notes.append({"step": step.name, "status": "not_applicable", "note": step.not_applicable(dataset.task)})
            if step.finding is not None and step.wanted(cfg):
                ctx.findings.append(Finding(check=step.finding, category=step.category, status="insufficient_data",
                                            severity=step.severity(cfg), message=step.not_applicable(dataset.task)))
    notes.extend(ctx.notes)
    notes.extend(_uncomputed_metrics(ctx))
    predictions_bytes = _predictions(ctx, notes)
    document = _document(ctx, created=shared.created, duration=time.perf_counter() - shared.started,
                         model_bytes=model_bytes, model_sha=model_sha, steps=notes, predictions=predictions_bytes)
    return _Audited(ctx=ctx, document=document, model_bytes=model_bytes, model_sha=model_sha,
                    predictions_bytes=predictions_bytes)


def audit(model: Any, X: Any, y: Any, *, sensitive_features: Any, config: dict[str, Any] | None = None,
          name: str = "audit", positive_label: Any = None, seed: int | None = None) -> AuditResult:
    """Audit a fitted model on the rows a scikit-learn or fairlearn user holds: ``X``, ``y`` and the
    sensitive features, with the config optional.

    Parameters
    ----------
    model : object
        A fitted model with ``predict`` (and ``predict_proba`` for scores).
    X : pandas.DataFrame
        The evaluation features, named as the model was fitted.
    y : pandas.Series or array
        The true labels (or values) of the rows of ``X``.
    sensitive_features : pandas.Series or DataFrame
        One column per sensitive attribute, row for row with ``X`` (as fairlearn's ``sensitive_features``);
        they are audited, never given to the model unless they are columns of ``X``.
    config : mapping, optional
        Any part of an ``audit.yaml`` (``checks``, ``bootstrap``, ``data.min_group_size``, ...); the data
        section's ``test``, ``target`` and ``sensitive`` are filled in. Default: every default.
    name : str
        The audit's name (report folder).
    positive_label : optional
        The positive label of a binary target (needed unless it is 0/1 or boolean).
    seed : int, optional
        Overrides ``seed``.

    Returns
    -------
    AuditResult

    Examples
    --------
    >>> result = audit.audit(clf, X_test, y_test, sensitive_features=A_test)  # doctest: +SKIP
    """
    import pandas as pd

    if not isinstance(X, pd.DataFrame):
        raise AuditError(f"`X` must be a pandas DataFrame with named columns; got {type(X).__name__}.")
    sensitive = sensitive_features.to_frame() if isinstance(sensitive_features, pd.Series) else \
        pd.DataFrame(sensitive_features)
    if len(sensitive) != len(X) or len(y) != len(X):
        raise AuditError(f"`X`, `y` and `sensitive_features` must hold the same rows; got {len(X)}, {len(y)} and "
                         f"{len(sensitive)}.")
    sensitive.columns = [str(c) if c is not None else "sensitive" for c in sensitive.columns]
    target = next(t for t in ("y", "target", "_y") if t not in X.columns and t not in sensitive.columns)
    extra = sensitive[[c for c in sensitive.columns if c not in X.columns]].reset_index(drop=True)
    frame = pd.concat([X.reset_index(drop=True), extra], axis=1)
    frame[target] = np.asarray(y)
    raw = dict(config or {})
    raw.setdefault("name", name)
    section = dict(raw.get("data", {}))
    section.update(target=target, sensitive=list(sensitive.columns))
    section.setdefault("features", [str(c) for c in X.columns])
    if positive_label is not None:
        section["positive_label"] = positive_label
    raw["data"] = section
    return run(raw, model=model, data=frame, seed=seed)


@dataclass
class _Context:
    """What the steps of one audit share: its inputs, and what each step adds for the later ones.

    Steps fill it in order; every value they add is frozen data computed by the layers below.
    """

    cfg: AuditConfig
    dataset: Dataset
    model: FittedModel
    say: Callable[[str], None]
    engine: str
    scheduler: str | None
    cluster: DaskRun | None = None
    done: EvaluationPass | None = None
    groups: GroupIndex | None = None
    evaluation: Evaluation | None = None
    selection: Selection | None = None
    table: Any = None
    bias: DataBias | None = None
    drift: Drift | None = None
    explanation: Explanation | None = None
    explanation_note: str | None = None
    findings: list[Finding] = field(default_factory=list)
    slices: dict[str, Any] | None = None
    mitigation: dict[str, Any] | None = None
    mitigated: dict[str, bytes] = field(default_factory=dict)
    #: Other row-level files of the audit by name (``reasons.parquet``), written beside the reports.
    files: dict[str, bytes] = field(default_factory=dict)
    curves: Curves | None = None
    regulatory: Regulatory | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    notes: list[dict[str, str]] = field(default_factory=list)
    #: Whether the positive label is the favourable outcome (`data.favorable_label`).
    favorable_is_positive: bool = True
    #: The decision rule (`model.threshold`), before the selection rate on the evaluation rows is known.
    rule: DecisionRule | None = None
    #: Keep every evaluation row's outputs (predictions.parquet, or one side of a champion-challenger pair).
    keep_rows: bool = False
    #: The challenger, already audited, whose rows the champion's pair with its own.
    rival: Rival | None = None

    @property
    def predictions_only(self) -> bool:
        return self.model.source == "predictions"


@dataclass(frozen=True)
class Step:
    """A named step of the audit and the tasks it applies to.

    A step that does not apply to the audit's task leaves a note in the document (``steps``) and, when the
    config asked for what it does, an ``insufficient_data`` finding that says why; never silence.
    """

    name: str
    tasks: frozenset[str]
    run: Callable[[_Context], None]
    why_not: str = ""
    #: The finding a not-applicable step leaves when ``wanted(cfg)``; None for none.
    finding: str | None = None
    category: str = ""
    wanted: Callable[[AuditConfig], bool] = lambda _cfg: False
    severity: Callable[[AuditConfig], str] = lambda _cfg: "warn"
    #: An opt-in step (off unless the config asks for it) notes that it does not apply only when asked.
    optional: bool = False

    def not_applicable(self, task: str) -> str:
        return f"{self.why_not} It was not run for this {task} audit."


def _pass(ctx: _Context) -> None:
    """One pass over the evaluation rows (whole, in batches, or by partition on a cluster): the task's
    additive table, and a seeded sample of rows kept for explanations, proxies, drift and slices."""
    cfg, dataset, model = ctx.cfg, ctx.dataset, ctx.model
    chk = cfg.checks
    task = adapter(dataset.task)
    settings = PassSettings(task=dataset.task, sensitive=tuple(cfg.data.sensitive), bins=cfg.data.bins,
                            source=dataset.test.name, target=dataset.target, positive_label=dataset.positive_label,
                            negative_label=dataset.negative_label, seed=cfg.seed,
                            sample_size=max(chk.explainability.sample, PROXY_SAMPLE_ROWS),
                            replicates=cfg.bootstrap.replicates,
                            # Row outputs: for predictions.parquet and the champion's side of a challenger's pairs.
                            keep_rows=ctx.engine == "local" and ctx.keep_rows,
                            id_column=cfg.data.id)
    # Predictions made elsewhere are read from their columns, beside the features; slices may name other columns.
    outputs = [] if not ctx.predictions_only else [c for c in (model.estimator.predictions, model.estimator.scores)
                                                   if c]
    slice_columns = chk.slices.features if chk.slices.enabled and chk.slices.features != "all" else []
    ids = [cfg.data.id] if cfg.data.id else []
    needed = list(dict.fromkeys([*model.features, *cfg.data.sensitive, dataset.target, *outputs, *slice_columns,
                                 *ids, *cfg.data.control]))
    if ctx.engine == "dask":
        ctx.done, ctx.cluster = dask_pass(dataset=dataset, model=model, columns=needed, settings=settings,
                                          scheduler=ctx.scheduler, workers=cfg.dask.workers,
                                          partition_rows=cfg.dask.partition_rows, progress=ctx.say)
    else:
        rows = f" {len(dataset.test.frame):,} rows" if dataset.test.frame is not None else " in batches"
        ctx.say(f"predicting and counting{rows}")
        labelling = settings.labelling()
        ctx.done = local_pass(batches=evaluation_batches(dataset, columns=needed,
                                                         labels=lambda column: task.labels(column, labelling)),
                              model=model, settings=settings)
    done = ctx.done
    # Intersections with no group of min_group_size rows are counted, not evaluated group by group.
    ctx.groups = done.coder.index(intersections=cfg.data.intersections, row_leaf=done.sample.leaf,
                                  labels=done.sample.labels).judged(done.missing_by_leaf[:, -1],
                                                                    min_group_size=cfg.data.min_group_size)
    _check_evaluated(ctx)
    table, registry = task.table(done.part)
    if dataset.task == "binary":
        registry = with_favorable(registry, favorable_is_positive=ctx.favorable_is_positive)
    ctx.table = table
    ctx.say(f"group statistics ({cfg.bootstrap.replicates} bootstrap replicates)")
    ctx.selection = selected_metrics(cfg, registry)
    # The group-gap check is one Benjamini-Hochberg family across its metrics.
    ctx.evaluation = evaluate(table, ctx.groups, registry=registry, replicates=cfg.bootstrap.replicates,
                              level=cfg.bootstrap.level, seed=cfg.seed, min_group_size=cfg.data.min_group_size,
                              family=tuple(ctx.selection.group_gaps),
                              reference_groups=check_reference_groups(
                                  cfg, {g.name: g.groups for g in ctx.groups.groupings if len(g.attributes) == 1},
                                  source=dataset.test.name))


#: Metrics of probabilities: undefined for scores that are not probabilities.
_PROBABILITY_METRICS = ("log_loss", "brier_score_loss")


def _uncomputed_metrics(ctx: _Context) -> list[dict[str, str]]:
    """Say which requested metrics could not be computed and why (log loss and Brier score need probabilities);
    a metric named in `checks.performance.metrics` also gets an ``insufficient_data`` finding."""
    done, selection, model = ctx.done, ctx.selection, ctx.model
    if done is None or selection is None or done.probabilistic or ctx.dataset.task != "binary":
        return []
    dropped = [m for m in selection.performance if m in _PROBABILITY_METRICS]
    if not dropped:
        return []
    if model.source == "predictions" and getattr(model.estimator, "scores", None) is None:
        why = "the audit has predicted labels only (`model.predictions.scores` is not set)"
    elif model.source == "predictions":
        why = (f"the scores in `model.predictions.scores` column {model.estimator.scores!r} are not probabilities "
               "(some fall outside [0, 1])")
    else:
        why = f"the model ({model.described}) has no `predict_proba`: its decision-function scores are not probabilities"
    note = f"{' and '.join(dropped)} {'were' if len(dropped) > 1 else 'was'} not computed: {why}."
    asked = "metrics" in ctx.cfg.checks.performance.model_fields_set
    for metric in dropped:
        if asked:
            ctx.findings.append(Finding(check="performance", category="performance", status="insufficient_data",
                                        severity="warn", message=f"{metric} was not computed: {why}."))
    return [{"step": "statistics", "status": "skipped", "note": note}]


#: Fewest evaluation rows an audit runs on (and never fewer than `data.min_group_size`): below it no group,
#: and not the whole either, can be judged.
MIN_EVALUATION_ROWS = 20


def _check_evaluated(ctx: _Context) -> None:
    """What the evaluation rows and the model's predictions must be for an audit to mean anything, checked
    on the pass's additive part (so also for data read in batches or on a cluster).

    Too few rows or a target of one class is bad input (AuditError); a predictions-only multiclass audit whose
    predicted classes are not the target's is too. A model that predicts the same for every row gets a
    blocking ``constant_predictions`` finding (the audit still reports what it measured).
    """
    cfg, dataset, model, done = ctx.cfg, ctx.dataset, ctx.model, ctx.done
    assert done is not None
    task, part, source, target = dataset.task, done.part, dataset.test.name, dataset.target
    rows = adapter(task).rows(part)
    least = max(MIN_EVALUATION_ROWS, cfg.data.min_group_size)
    if rows < least:
        raise AuditError(f"`data.test` {source} has {rows} evaluation rows; an audit needs at least {least} (the "
                         f"larger of {MIN_EVALUATION_ROWS} and `data.min_group_size`) for any verdict to mean "
                         "something. Audit on more data.")
    same: str | None = None
    if task == "binary":
        counted = part.count > 0
        positives = int(part.count[counted & (part.y == 1)].sum())
        if positives in (0, rows):
            only = dataset.positive_label if positives else dataset.negative_label
            shown = "the positive label" if only is None else repr(_plain(only))
            raise AuditError(f"`data.target` column {target!r} of {source} holds one class only ({shown} in all "
                             f"{rows} evaluation rows); a binary audit needs rows of both classes. Audit on data "
                             "that holds both outcomes.")
        labels = np.unique(part.yhat[counted])
        if len(labels) == 1:
            value = dataset.positive_label if labels[0] == 1 else dataset.negative_label
            shown = repr(_plain(value)) if value is not None else ("positive" if labels[0] == 1 else "negative")
            scores = np.unique(part.score[counted])
            same = f"the label {shown}" + (f" and the score {scores[0]:.4g}" if len(scores) == 1 else "")
    elif task == "multiclass":
        true = [c for c, t in zip(part.classes, part.in_target) if t]
        predicted = [c for i, c in enumerate(part.classes) if part.counts[:, :, i].sum() > 0]
        if len(true) < 2:
            raise AuditError(f"`data.target` column {target!r} of {source} holds one class only ({true[0]!r} in "
                             f"all {rows} evaluation rows); a multiclass audit needs rows of two classes or more.")
        foreign = [c for c in predicted if c not in true]
        if model.source == "predictions" and foreign:
            raise AuditError(f"`model.predictions` column {model.estimator.predictions!r} of {source} holds "
                             f"classes that are not among the target's: predicted {', '.join(map(repr, foreign[:8]))}"
                             f"; the target {target!r} holds {', '.join(map(repr, true[:20]))}. Predicted classes "
                             "must be written as the target's are.")
        if len(predicted) == 1:
            same = f"the class {predicted[0]!r}"
    else:
        sums = part.sums.sum(axis=0)
        n, mean, square = sums[0], sums[6] / max(sums[0], 1), sums[7] / max(sums[0], 1)
        if n and square - mean * mean <= 1e-12 * max(1.0, mean * mean):
            same = f"the value {mean:.6g}"
    if same is not None:
        ctx.findings.append(Finding(
            check="constant_predictions", category="performance", status="fail", severity="block",
            message=f"The model ({model.described}) predicts {same} for every one of the {rows} evaluation rows: "
                    "its metrics and fairness gaps describe a constant, not a model. Check the model and its inputs "
                    "(a constant model is what a broken file or a mismatched feature encoding often gives); to "
                    "accept it, set `gate.severity.constant_predictions: warn`."))


def _bias_step(ctx: _Context) -> None:
    ctx.say("data bias")
    assert ctx.done is not None and ctx.groups is not None and ctx.evaluation is not None
    ctx.bias = _data_bias(ctx.cfg, ctx.done.sample, ctx.groups, ctx.model.features, ctx.done.missing_by_leaf,
                          ctx.evaluation)


def _drift_step(ctx: _Context) -> None:
    if ctx.cfg.data.reference is None:  # the document's `drift: null` says so
        return
    assert ctx.done is not None
    ctx.drift = _drift(ctx.cfg, ctx.model, ctx.model.features, ctx.done.sample, ctx.say,
                       score_reference=not ctx.predictions_only, task=ctx.dataset.task)


def _explain_step(ctx: _Context) -> None:
    cfg, chk = ctx.cfg, ctx.cfg.checks
    assert ctx.done is not None and ctx.groups is not None
    sample = ctx.done.sample
    if ctx.predictions_only:
        # Plain words, no Markdown backticks: this note is printed as is on the card and in findings.json.
        ctx.explanation_note = ("No explanations: this audit was given the model's predictions (model.predictions), "
                                "not the model, and explanations (SHAP values, the flip test) need the model itself.")
        ctx.findings.append(Finding(check="explainability", category="explainability", status="insufficient_data",
                                    severity=chk.explainability.severity, message=ctx.explanation_note))
        return
    if chk.explainability.method == "none":
        ctx.explanation_note = "Explainability was switched off in the config (checks.explainability.method: none)."
        return
    ctx.say(f"explaining {min(chk.explainability.sample, len(sample.frame))} rows")
    try:
        xc = chk.explainability
        ctx.explanation = explain(ctx.model, sample.frame, sample.y, ctx.groups, method=xc.method, sample=xc.sample,
                                  seed=cfg.seed, replicates=cfg.bootstrap.replicates, level=cfg.bootstrap.level,
                                  max_seconds=xc.max_seconds, min_group_size=cfg.data.min_group_size,
                                  bins=cfg.data.bins, flip_test_rows=1000 if xc.flip_test else 0,
                                  progress=lambda done, total: ctx.say(f"explained {done} of {total} rows"),
                                  task=ctx.dataset.task)
    except Exception as exc:  # noqa: BLE001 - a failed explainer is a finding, the audit goes on
        ctx.explanation_note = f"The explainer failed: {type(exc).__name__}: {exc}"
        ctx.findings.append(Finding(check="sensitive_feature_importance", category="explainability",
                                    status="error", severity=chk.explainability.severity,
                                    message=ctx.explanation_note))


def _checks_step(ctx: _Context) -> None:
    ctx.say("checks")
    cfg, chk = ctx.cfg, ctx.cfg.checks
    evaluation, bias, metrics, mgs = ctx.evaluation, ctx.bias, ctx.selection, cfg.data.min_group_size
    assert evaluation is not None and bias is not None and metrics is not None
    ctx.findings += guarded("performance", "performance", chk.performance.severity,
                            lambda: checks.check_performance(evaluation=evaluation, config=chk.performance,
                                                             min_group_size=mgs))
    if chk.group_gaps.enabled:
        ctx.findings += guarded("group_gaps", "performance", chk.group_gaps.severity,
                                lambda: checks.check_group_gaps(evaluation=evaluation,
                                                                config=metrics.group_gaps_config))
    ctx.findings += guarded("fairness", "fairness", chk.fairness.severity,
                            lambda: checks.check_fairness(evaluation=evaluation, config=metrics.fairness_config))
    ctx.findings += guarded("bias", "bias", chk.bias.severity,
                            lambda: checks.check_bias(evaluation=evaluation, bias=bias, config=metrics.bias_config,
                                                      min_group_size=mgs))
    if chk.leakage.enabled:
        ctx.findings += guarded("leakage", "bias", chk.leakage.severity, lambda: _leakage(ctx))
    if ctx.drift is not None:
        drift = ctx.drift
        ctx.findings += guarded("drift", "drift", chk.drift.severity,
                                lambda: checks.check_drift(drift=drift, config=chk.drift))
    if ctx.explanation is not None:
        explanation = ctx.explanation
        ctx.findings += guarded("sensitive_feature_importance", "explainability", chk.explainability.severity,
                                lambda: checks.check_explainability(explanation=explanation,
                                                                    sensitive=tuple(cfg.data.sensitive),
                                                                    config=chk.explainability))


def _leakage(ctx: _Context) -> list[Finding]:
    """The leakage check, on the seeded sample of evaluation rows (all of them up to PROXY_SAMPLE_ROWS)."""
    assert ctx.done is not None and ctx.evaluation is not None
    sample, cfg = ctx.done.sample, ctx.cfg
    associations = feature_associations(sample.frame, sample.y, features=ctx.model.features, task=ctx.dataset.task,
                                        min_category_rows=cfg.data.min_group_size)
    return checks.check_leakage(associations=associations, overall=ctx.evaluation.overall, task=ctx.dataset.task,
                                config=cfg.checks.leakage, rows=len(sample.frame))


def _challenger_step(ctx: _Context) -> None:
    """Champion against challenger: the challenger scores the same evaluation rows, and every metric and
    fairness gap is compared pair by pair (:mod:`audit.statistics._paired`)."""
    cfg, dataset = ctx.cfg, ctx.dataset
    if cfg.challenger is None:
        return
    assert ctx.done is not None and ctx.groups is not None and ctx.selection is not None
    if ctx.engine == "dask":
        ctx.notes.append({"step": "challenger", "status": "not_applicable",
                          "note": "The paired comparison keeps both models' outputs for every evaluation row in one "
                                  "process; run it with the local engine (`engine: local`)."})
        ctx.findings.append(Finding(check="challenger", category="performance", status="insufficient_data",
                                    severity=cfg.challenger.severity,
                                    message="The challenger was not compared: the paired comparison runs on the "
                                            "local engine only."))
        return
    spec, rival = cfg.challenger, ctx.rival
    assert rival is not None, "run() audits the challenger before the champion"
    task = adapter(dataset.task)
    registry = ctx.evaluation.registry
    # Both models' outputs were kept by their passes over the same rows, in the data's order.
    kept = ctx.done.rows
    assert kept is not None and ctx.done.row_leaf is not None
    if len(rival.rows) != len(kept) or not np.array_equal(rival.rows.key, kept.key) \
            or not np.array_equal(rival.rows.y, kept.y):
        raise AuditError(f"{dataset.test.name} changed between the challenger's pass and the champion's "
                         f"({len(rival.rows)} rows, then {len(kept)}); run the audit again on data that stays put.")
    champion = Predictions(score=kept.score, label=kept.prediction, probabilistic=kept.probabilistic)
    other = Predictions(score=rival.rows.score, label=rival.rows.prediction, probabilistic=rival.rows.probabilistic)
    binary = dataset.task == "binary"
    rows = PairedRows(leaf=ctx.done.row_leaf, champion=task.row_values(y=kept.y, predictions=champion,
                                                                       registry=registry),
                      challenger=task.row_values(y=kept.y, predictions=other, registry=registry),
                      unpack=task.row_unpack(registry), n_leaves=ctx.done.coder.n_leaves,
                      y=np.asarray(kept.y).astype(int) if binary else None,
                      scores=(np.asarray(kept.score, dtype=float), np.asarray(rival.rows.score, dtype=float))
                      if binary else None)
    metrics = list(dict.fromkeys([*ctx.selection.performance, *(m for m in spec.margin if m in registry.metrics)]))
    fairness = list(dict.fromkeys([*ctx.selection.fairness, *(m for m in spec.margin if m in registry.fairness)]))
    ctx.say("comparing champion and challenger row by row")
    comparison = paired_compare(rows, ctx.groups, registry=registry, metrics=metrics, fairness=fairness,
                                replicates=cfg.bootstrap.replicates, level=cfg.bootstrap.level, seed=cfg.seed,
                                min_group_size=cfg.data.min_group_size)
    champion_name = spec.champion
    ctx.findings += guarded("challenger", "performance", spec.severity,
                            lambda: checks.check_challenger(comparison=comparison, config=spec, registry=registry,
                                                            champion=champion_name))
    thresholds = {m: checks.margin_threshold(metric=m, margin=v, registry=registry,
                                             severity=spec.severity).__dict__ for m, v in spec.margin.items()}
    ctx.extras["champion_challenger"] = challenger_section(
        comparison,
        champion={"name": champion_name, "type": ctx.model.type_name, "source": ctx.model.source},
        challenger={"name": spec.name, "type": rival.model.type_name, "source": rival.model.source,
                    "sha256": rival.sha256, "features": list(rival.model.features),
                    # Its own audit: verdict, counts, and where its report set is written.
                    "audit": {"gate": rival.gate, "summary": rival.summary, "folder": rival.folder}},
        margin=spec.margin, thresholds=thresholds,
        directions={**{m: registry.metrics[m].direction for m in metrics},
                    **{f: "higher" if registry.fairness[f].kind == "ratio" else "lower" for f in fairness}})


def _slices_step(ctx: _Context) -> None:
    assert ctx.done is not None and ctx.evaluation is not None
    ctx.slices = _slices(ctx.cfg, ctx.dataset, ctx.model, ctx.done.sample, ctx.evaluation.n, ctx.findings, ctx.say)


def _conditional_step(ctx: _Context) -> None:
    """Disparity within strata of ``data.control``, on the seeded sample of evaluation rows."""
    cfg, cc = ctx.cfg, ctx.cfg.checks.conditional
    if not cfg.data.control or not cc.enabled:
        return  # nothing asked: no legitimate factors to compare the groups within
    assert ctx.done is not None and ctx.evaluation is not None
    sample = ctx.done.sample
    ctx.say(f"conditional disparity within strata of {', '.join(cfg.data.control)}")

    def conditional_check() -> list[Finding]:
        stratum, edges = strata(sample.frame, controls=list(cfg.data.control), bins=cc.bins, quantiles=cc.quantiles,
                                max_levels=cc.max_levels)
        favourable = FAVOURABLE.get(ctx.dataset.task)
        disparity = conditional_disparity(
            y=np.asarray(sample.y), prediction=np.asarray(sample.prediction),
            sensitive=sample.labels[list(cfg.data.sensitive)], stratum=stratum, edges=edges,
            metrics=cc.metrics_for(ctx.dataset.task),
            favourable=None if favourable is None else favourable(np.asarray(sample.prediction),
                                                                  ctx.favorable_is_positive),
            min_group_size=cfg.data.min_group_size, replicates=cfg.bootstrap.replicates, level=cfg.bootstrap.level,
            seed=cfg.seed)
        ctx.extras["conditional"] = conditional_section(disparity, rows_note=_rows_note(sample, ctx.evaluation.n))
        return checks.check_conditional(disparity=disparity, config=cc)

    ctx.findings += guarded("conditional_disparity", "fairness", cc.severity, conditional_check)


#: The score, side and decision the fair-lending measures read, by task: (score, higher is favourable,
#: decision, decision is binary) from the sample, the favourable side and the config.
_LENDING_INPUTS: dict[str, Callable[[RowSample, bool, bool], tuple[np.ndarray, bool, np.ndarray, bool]]] = {
    "binary": lambda s, positive, _higher: (np.asarray(s.score, float), positive,
                                            FAVOURABLE["binary"](np.asarray(s.prediction), positive), True),
    "regression": lambda s, _positive, higher: (np.asarray(s.prediction, float), higher,
                                                np.asarray(s.prediction, float), False),
}


def _lending_step(ctx: _Context) -> None:
    """Fair-lending measures of the score, on the seeded sample of evaluation rows."""
    cfg, lc = ctx.cfg, ctx.cfg.checks.lending
    if not lc.enabled:
        return
    assert ctx.done is not None and ctx.evaluation is not None and ctx.groups is not None
    sample = ctx.done.sample
    ctx.say("fair-lending measures")
    references = check_reference_groups(cfg, {g.name: g.groups for g in ctx.groups.groupings
                                              if len(g.attributes) == 1}, source=ctx.dataset.test.name)

    def lending_check() -> list[Finding]:
        score, higher, decision, binary = _LENDING_INPUTS[ctx.dataset.task](sample, ctx.favorable_is_positive,
                                                                            lc.higher_is_favourable)
        lending = lending_measures(score=score, sensitive=sample.labels[list(cfg.data.sensitive)],
                                   controls=sample.frame[list(cfg.data.control)], decision=decision,
                                   decision_is_binary=binary, references=references, higher_is_favourable=higher,
                                   cutoffs=lc.cutoffs, level=cfg.bootstrap.level,
                                   min_group_size=cfg.data.min_group_size,
                                   decision_cutoff=ctx.rule.threshold if ctx.rule is not None and binary else None)
        ctx.extras["lending"] = lending_section(lending, rows_note=_rows_note(sample, ctx.evaluation.n))
        return checks.check_lending(lending=lending, config=lc)

    ctx.findings += guarded("fair_lending", "fairness", lc.severity, lending_check)


#: Which sampled rows are declined, and the sign that makes an explained contribution adverse, by task: from
#: the sample, whether the favourable outcome is the positive label, and ``checks.reasons.cutoff``. A
#: regression needs the cutoff (a higher prediction is taken as the favourable side).
_DECLINED: dict[str, Callable[[RowSample, bool, float | None], tuple[np.ndarray, float] | None]] = {
    "binary": lambda s, positive, cutoff: (
        (FAVOURABLE["binary"](np.asarray(s.prediction), positive) == 0) if cutoff is None
        else (np.asarray(s.score) < cutoff if positive else np.asarray(s.score) >= cutoff),
        -1.0 if positive else 1.0),
    "regression": lambda s, _positive, cutoff: None if cutoff is None else (
        np.asarray(s.prediction, float) < cutoff, -1.0),
}


def _reasons_step(ctx: _Context) -> None:
    """Reason codes of the declined rows of the seeded sample, into ``reasons.parquet``."""
    cfg, rc = ctx.cfg, ctx.cfg.checks.reasons
    if not rc.enabled:
        return
    assert ctx.done is not None and ctx.evaluation is not None
    if ctx.predictions_only:
        note = "No reason codes: this audit was given the model's predictions (model.predictions); reasons need the model."
        ctx.notes.append({"step": "reasons", "status": "skipped", "note": note})
        ctx.findings.append(Finding(check="reasons", category="explainability", status="insufficient_data",
                                    severity=rc.severity, message=note))
        return
    sample, features = ctx.done.sample, ctx.model.features
    unknown = [f for f in [*rc.withhold, *rc.text] if f not in features]
    if unknown:
        raise AuditError(f"`checks.reasons.withhold` and `checks.reasons.text` must name features of the model; got "
                         f"{', '.join(map(repr, unknown))}. Features: {', '.join(features)}.")
    declined = _DECLINED[ctx.dataset.task](sample, ctx.favorable_is_positive, rc.cutoff)
    if declined is None:
        note = "No reason codes: a regression has no declined rows without a cutoff (checks.reasons.cutoff)."
        ctx.notes.append({"step": "reasons", "status": "skipped", "note": note})
        ctx.findings.append(Finding(check="reasons", category="explainability", status="insufficient_data",
                                    severity=rc.severity, message=note))
        return
    mask, sign = declined
    rows = np.flatnonzero(mask)
    if len(rows) > rc.max_rows:
        rows = np.sort(np.random.default_rng(cfg.seed).choice(rows, size=rc.max_rows, replace=False))
    ctx.say(f"reason codes of {len(rows)} declined rows")
    keys = (sample.frame[cfg.data.id].iloc[rows] if cfg.data.id else pd.Series(rows, name="sample_row"))
    keys = keys.reset_index(drop=True)
    withheld = [f for f in cfg.data.sensitive if f in features and f not in rc.allow] + list(rc.withhold)

    def reasons_check() -> list[Finding]:
        reasons = reason_codes(ctx.model, sample.frame.iloc[rows].reset_index(drop=True), reference=sample.frame,
                               keys=keys,
                               labels=sample.labels.iloc[rows].reset_index(drop=True), adverse_sign=sign,
                               withheld=withheld, texts=dict(rc.text), top_k=rc.top_k,
                               # Reasons need an explainer even when the explainability section is off.
                               method="auto" if cfg.checks.explainability.method == "none"
                               else cfg.checks.explainability.method, seed=cfg.seed,
                               deadline=time.perf_counter() + rc.max_seconds, level=cfg.bootstrap.level,
                               task=ctx.dataset.task)
        ctx.files[REASONS_NAME] = reasons_bytes(reasons)
        note = (f"{_rows_note(sample, ctx.evaluation.n)}: {int(mask.sum())} declined"
                + (f", {len(rows)} of them explained (a seeded sample)" if len(rows) < mask.sum() else ""))
        ctx.extras["reasons"] = reasons_section(reasons, rows_note=note, file=REASONS_NAME)
        return checks.check_reasons(reasons=reasons, config=rc, level=cfg.bootstrap.level)

    ctx.findings += guarded("reasons", "explainability", rc.severity, reasons_check)


def _mitigation_step(ctx: _Context) -> None:
    assert ctx.done is not None and ctx.evaluation is not None
    attribute = ctx.cfg.mitigation.attribute or ctx.cfg.data.sensitive[0]
    # The attribute's strongest proxies among the model's features, for the alternatives that drop them.
    proxies = tuple(p.feature for p in sorted((p for p in (ctx.bias.proxies if ctx.bias else ())
                                               if p.attribute == attribute and p.feature in ctx.model.features),
                                              key=lambda p: -p.cramers_v))
    ctx.mitigation, ctx.mitigated = _mitigation(ctx.cfg, ctx.dataset, ctx.model, ctx.done.sample, ctx.evaluation.n,
                                                ctx.findings, ctx.say, proxies=proxies,
                                                favourable_positive=ctx.favorable_is_positive)


def _curves_step(ctx: _Context) -> None:
    """What the task draws beside its metrics: ROC and calibration curves with confusion counts (binary),
    confusion matrices by class (multiclass), binned residuals (regression)."""
    _CURVES[ctx.dataset.task](ctx)


def _binary_curves(ctx: _Context) -> None:
    """ROC and calibration curves and confusion counts, overall and by group (binary)."""
    assert ctx.done is not None and ctx.groups is not None
    ctx.curves = curves(ctx.done.part, ctx.groups, probabilistic=ctx.done.probabilistic)


def _confusion_step(ctx: _Context) -> None:
    """Confusion matrices and per-class metrics by group (multiclass)."""
    assert ctx.evaluation is not None and ctx.groups is not None
    ctx.extras["multiclass"] = multiclass_section(ctx.table, ctx.evaluation, ctx.groups)


def _calibration_step(ctx: _Context) -> None:
    """Mean residual by bin of the prediction, overall and by group, on the row sample (regression)."""
    assert ctx.done is not None and ctx.groups is not None
    sample = ctx.done.sample
    masks = {g.name: {name: g.leaf_group[ctx.groups.row_leaf] == i for i, name in enumerate(g.groups)}
             for g in ctx.groups.groupings}
    rows = len(sample.frame)
    ctx.extras["regression"] = {
        "residual": "y - prediction",
        "calibration": {**calibration_bins(y=np.asarray(sample.y, dtype=np.float64),
                                           pred=np.asarray(sample.prediction, dtype=np.float64), group_of_row=masks),
                        "rows": rows},
        "intervals": "percentile bootstrap, Poisson(1) weights per row"}


def _regulatory_step(ctx: _Context) -> None:
    cfg, chk = ctx.cfg, ctx.cfg.checks
    if not cfg.regulatory.enabled:
        return
    assert ctx.evaluation is not None
    ll = cfg.regulatory.ll144
    ctx.regulatory = regulatory_views(
        ctx.evaluation, sensitive=cfg.data.sensitive, sex=ll.sex, race=ll.race, min_share=ll.min_share,
        report=cfg.report.model_dump(mode="json"),
        bias_done={"representation": chk.bias.representation, "proxies": chk.bias.proxies,
                   "missingness": chk.bias.missingness},
        explained=ctx.explanation is not None, drift=ctx.drift is not None,
        unexplained=("explanations need the model; this audit was given its predictions only"
                     if ctx.predictions_only else "explainability was switched off"),
        reference_shares=bool(chk.bias.reference_shares), favorable_label=_plain(_favorable_label(ctx)),
        favorable_is_positive=ctx.favorable_is_positive)


def _favorable_label(ctx: _Context) -> Any:
    return ctx.dataset.positive_label if ctx.favorable_is_positive else (
        ctx.dataset.negative_label if ctx.dataset.negative_label is not None else ctx.cfg.data.favorable_label)


def _decision_rule(cfg: AuditConfig, dataset: Dataset, model: FittedModel) -> tuple[FittedModel, DecisionRule | None]:
    """The model with its decision rule applied (``model.threshold``), and the rule; a rate-based cutoff is
    chosen on the training rows (never the evaluation rows)."""
    if dataset.task != "binary":
        return model, None
    threshold = None if cfg.model is None else cfg.model.threshold
    if threshold is None:
        return model, DecisionRule(threshold=None, source="predict", target_rate=None, train_rate=None,
                                   train_rows=None, selection_rate=None)
    if isinstance(threshold, (int, float)):
        return replace(model, threshold=float(threshold)), DecisionRule(
            threshold=float(threshold), source="model.threshold", target_rate=None, train_rate=None,
            train_rows=None, selection_rate=None)
    if dataset.train is not None and dataset.train.frame is not None:
        train = dataset.train
    else:
        train = read_table(cfg, field="data.train", spec=cfg.data.train)
    missing = [f for f in model.features if f not in train.columns]
    if missing:
        raise AuditError(f"`model.threshold.selection_rate` is chosen on `data.train` {train.name}, which lacks "
                         f"the model's column(s) {', '.join(map(repr, missing))}.")
    scores = np.asarray(adapter("binary").predict(model, train.frame, f"`data.train` {train.name}").score,
                        dtype=np.float64)
    cutoff = threshold_for_rate(scores, selection_rate=threshold.selection_rate)
    return replace(model, threshold=cutoff), DecisionRule(
        threshold=cutoff, source="model.threshold.selection_rate", target_rate=threshold.selection_rate,
        train_rate=float(np.mean(scores >= cutoff)), train_rows=len(scores), selection_rate=None)


_CURVES: dict[str, Callable[[_Context], None]] = {"binary": _binary_curves, "multiclass": _confusion_step,
                                                  "regression": _calibration_step}
_ALL = frozenset(_CURVES)


def planned_steps(cfg: AuditConfig, *, model_given: bool = False) -> int:
    """How many step texts :func:`run` passes to ``progress`` for ``cfg`` (the explainer's "explained i of n
    rows" are progress within one step, not steps): the length of a progress bar over the run.

    Examples
    --------
    >>> planned_steps(config_from_dict({"name": "d", "data": {"test": "t.csv", "target": "y", "sensitive": ["g"]},
    ...     "model": {"load": "m.skops"}}))
    7
    """
    cfg = choose_champion(cfg)
    chk = cfg.checks

    def one(model: Any, *, given: bool) -> int:
        if given or (model is not None and model.predictions is not None):
            source, explained = 0, model is None or model.predictions is None
        else:
            source, explained = (2 if model is not None and model.train is not None else 1), True
        # The credit steps say what they do when asked (a task they do not apply to makes the bar end early).
        credit = (int(bool(cfg.data.control) and chk.conditional.enabled) + int(chk.lending.enabled)
                  + int(chk.reasons.enabled and (model is None or model.predictions is None)))
        return (source + 4 + int(cfg.data.reference is not None)  # predicting, statistics, data bias, checks
                + int(explained and chk.explainability.method != "none") + int(chk.slices.enabled)
                + int(cfg.mitigation.enabled) + credit)

    total = 1 + one(cfg.model, given=model_given)  # loading data
    if cfg.challenger is not None:  # its own audit, announced, then the row-by-row comparison
        total += 1 + one(cfg.challenger.model, given=False) + 1
    return total


#: The audit, step by step. Each step reads what earlier ones added to the context.
STEPS: tuple[Step, ...] = (
    Step("statistics", _ALL, _pass),
    Step("data_bias", _ALL, _bias_step),
    Step("drift", _ALL, _drift_step),
    Step("explainability", _ALL, _explain_step),
    Step("checks", _ALL, _checks_step),
    Step("challenger", _ALL, _challenger_step),
    Step("slices", _ALL, _slices_step),
    Step("conditional", _ALL, _conditional_step),
    Step("reasons", frozenset(_DECLINED), _reasons_step,
         why_not="Reason codes explain a decline: a binary decision, or a regression's prediction below a cutoff; "
                 "a multiclass model has no declined rows.", finding="reasons", category="explainability",
         wanted=lambda cfg: cfg.checks.reasons.enabled, severity=lambda cfg: cfg.checks.reasons.severity,
         optional=True),
    Step("lending", frozenset(_LENDING_INPUTS), _lending_step,
         why_not="The fair-lending measures need one score per row (a binary model's, or a regression's "
                 "prediction); a multiclass model has one per class.", finding="fair_lending", category="fairness",
         wanted=lambda cfg: cfg.checks.lending.enabled, severity=lambda cfg: cfg.checks.lending.severity,
         optional=True),
    Step("mitigation", _ALL, _mitigation_step),
    Step("curves", _ALL, _curves_step),
    Step("regulatory", frozenset({"binary"}), _regulatory_step,
         why_not="The LL144 impact ratios, the four-fifths rule and the EU checklist are built on the selection "
                 "rates of a binary decision.", finding="regulatory", category="fairness",
         wanted=lambda cfg: cfg.regulatory.enabled and "enabled" in cfg.regulatory.model_fields_set),
)


def _predictions(ctx: _Context, notes: list[dict[str, str]]) -> bytes | None:
    """``predictions.parquet`` of the audit (``report.predictions``), or None with a note saying why not."""
    if not ctx.cfg.report.predictions:
        return None
    if ctx.done is None or ctx.done.rows is None:
        notes.append({"step": "predictions", "status": "skipped",
                      "note": f"{PREDICTIONS_NAME} was not written: the dask engine does not gather row-level "
                              "outputs; later audits compare with this one as independent samples."})
        return None
    return row_outputs_bytes(ctx.done.rows)


def _document(ctx: _Context, *, created: str, duration: float, model_bytes: bytes | None, model_sha: str | None,
              steps: list[dict[str, str]], predictions: bytes | None = None) -> dict[str, Any]:
    """The findings document of the audit: manifest, model, data, every section the steps filled."""
    cfg, dataset, model, evaluation, done = ctx.cfg, ctx.dataset, ctx.model, ctx.evaluation, ctx.done
    assert evaluation is not None and done is not None and ctx.bias is not None
    mgs = cfg.data.min_group_size
    metrics = ctx.selection
    assert metrics is not None
    perf = metrics.performance
    if not done.probabilistic:
        perf = [m for m in perf if m not in ("log_loss", "brier_score_loss")]
    cluster = ctx.cluster
    audit_meta = _audit_meta(cfg, dataset, created=created, duration=duration, model_sha=model_sha,
                             engine=None if cluster is None else {"name": "dask", "scheduler": cluster.scheduler,
                                                                  "workers": cluster.workers,
                                                                  "partitions": cluster.partitions})
    if predictions is not None:  # the row-level outputs, so later audits can pair rows with this one
        audit_meta["predictions"] = {
            "file": PREDICTIONS_NAME, "sha256": hashlib.sha256(predictions).hexdigest(), "rows": len(done.rows),
            "key": cfg.data.id, "columns": done.rows.columns}
    model_meta = {
        "type": model.type_name, "task": dataset.task, "source": model.source, "features": list(model.features),
        "params": model.params, "positive_label": _plain(dataset.positive_label),
        "negative_label": _plain(dataset.negative_label), "task_note": dataset.task_note,
        "probabilistic": done.probabilistic,
        "file": "model.skops" if model_bytes is not None else (Path(model.path).name if model.path else None),
        "sha256": model_sha,
        "favorable_label": _plain(_favorable_label(ctx)) if dataset.task == "binary" else None,
        "decision": _decision(ctx.rule, evaluation),
    }
    data_meta = {
        "target": dataset.target, "rows": evaluation.n, "positives": evaluation.positives,
        "columns": list(dataset.test.columns), "sensitive": list(cfg.data.sensitive),
        "bins": cfg.data.bins, "intersections": cfg.data.intersections, "min_group_size": mgs,
        "train_rows": None if dataset.train is None or dataset.train.frame is None else len(dataset.train.frame),
        "train_is_split": dataset.train_is_split, "batch_rows": dataset.batch_rows,
        "sample_rows": len(done.sample.frame),
    }
    assert ctx.groups is not None
    small = ctx.groups.small_intersections
    if small:  # intersections with no group of min_group_size rows: summarised, with their counts
        data_meta["small_intersections"] = {
            "groups": sum(s.groups for s in small), "rows": sum(s.rows for s in small),
            "groupings": [{"grouping": s.grouping, "attributes": list(s.attributes), "groups": s.groups,
                           "rows": s.rows, "largest": s.largest, "counts": s.counts} for s in small]}
    return build_document(audit=audit_meta, model=model_meta, data=data_meta, evaluation=evaluation,
                          performance_metrics=perf, curves=ctx.curves,
                          worst_groups=worst_groups(evaluation, metrics=perf, min_group_size=mgs),
                          fairness_metrics=metrics.fairness, bias=ctx.bias, drift=ctx.drift,
                          explanation=ctx.explanation,
                          explanation_note=ctx.explanation_note or next(
                              (n["note"] for n in steps if n["step"] == "explainability"), None),
                          findings=ctx.findings, gate=gate(ctx.findings), regulatory=ctx.regulatory,
                          slices=ctx.slices, mitigation=ctx.mitigation, extras=ctx.extras, steps=steps)


def _decision(rule: DecisionRule | None, evaluation: Evaluation) -> dict[str, Any] | None:
    """The decision rule and the share of evaluation rows it selects (binary audits; None otherwise)."""
    if rule is None:
        return None
    rate = evaluation.overall["selection_rate"]
    return {"threshold": rule.threshold, "source": rule.source, "target_rate": rule.target_rate,
            "train_rate": rule.train_rate, "train_rows": rule.train_rows,
            "selection_rate": {"value": rate.value, "ci_low": rate.ci_low, "ci_high": rate.ci_high},
            "positive_predictions": None if rate.value is None else int(round(rate.value * evaluation.n))}


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

def _rows_note(sample: RowSample, rows: int) -> str:
    n = len(sample.frame)
    return f"all {n} evaluation rows" if n == rows else f"a seeded uniform sample of {n} of the {rows} evaluation rows"


def _slices(cfg: AuditConfig, dataset: Dataset, model: FittedModel, sample: RowSample, rows: int,
            findings: list[Finding], say: Callable[[str], None]) -> dict[str, Any] | None:
    """Slice discovery on the seeded sample of evaluation rows (every row when there are at most
    ``PROXY_SAMPLE_ROWS``), so its time and memory stay bounded however large the data. Appends its findings."""
    sc = cfg.checks.slices
    if not sc.enabled:
        return None
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
        search = find_slices(sample.frame, y=sample.y, yhat=sample.prediction, features=features,
                             metric=sc.metric_for(dataset.task), max_order=sc.max_order, min_size=sc.min_size,
                             bins=sc.bins, alpha=sc.alpha, top_k=sc.top_k, min_effect=sc.min_effect,
                             score_weight=sc.score_weight, level=cfg.bootstrap.level, max_seconds=sc.max_seconds,
                             task=dataset.task, quantile=sc.quantile, threshold=sc.threshold)
        holder.append(slices_section(search, rows_note=_rows_note(sample, rows)))
        return checks.check_slices(search=search, config=sc)

    findings += guarded("slices", "performance", sc.severity, slices_check)
    return holder[0] if holder else None


def _mitigation(cfg: AuditConfig, dataset: Dataset, model: FittedModel, sample: RowSample, rows: int,
                findings: list[Finding], say: Callable[[str], None], *, proxies: tuple[str, ...] = (),
                favourable_positive: bool = True) -> tuple[dict[str, Any] | None, dict[str, bytes]]:
    """The mitigation what-if on the seeded sample; returns its document section and the saved models."""
    mc = cfg.mitigation
    if not mc.enabled:
        return None, {}
    attribute = mc.attribute or cfg.data.sensitive[0]
    say(f"mitigation what-if for {attribute}")
    train = None
    if cfg.model is not None and cfg.model.train is not None and dataset.train is not None \
            and dataset.train.frame is not None:
        coder = LeafCoder(sensitive=[attribute], bins=cfg.data.bins, source=dataset.train.name)
        train = (dataset.train.frame, dataset.y_train, coder.encode(dataset.train.frame)[1][attribute])
    mitigated: dict[str, bytes] = {}
    try:
        outcome, fitted = mitigate(model, frame=sample.frame, y=sample.y, yhat=sample.prediction,
                                   sensitive=sample.labels[attribute], attribute=attribute,
                                   methods=mc.methods_for(dataset.task), tolerances=list(mc.tolerances),
                                   eps=list(mc.eps), held_out=mc.held_out, seed=cfg.seed, train=train,
                                   fit_rows=mc.fit_rows, max_iter=mc.max_iter, max_seconds=mc.max_seconds,
                                   task=dataset.task, loss_bounds=None if mc.loss_bounds is None
                                   else list(mc.loss_bounds),
                                   scores=sample.score if dataset.task == "binary" else None,
                                   min_group_size=cfg.data.min_group_size, proxies=proxies,
                                   favourable_positive=favourable_positive)
    except AuditError:
        raise  # bad input: exit code 2, like every other config error
    except Exception as exc:  # noqa: BLE001 - a failed what-if is a finding, the audit goes on
        findings.append(Finding(check="mitigation", category="fairness", status="error", severity="warn",
                                message=f"The mitigation what-if could not run: {type(exc).__name__}: {exc}"))
        return None, {}
    if mc.save:
        # The strictest setting of each method; ThresholdOptimizer needs `sensitive_features` to predict.
        for method, mitigator in fitted.items():
            name, data, note = saved_model(method, mitigator)
            mitigated[name] = data
            if note:
                outcome = replace(outcome, notes=(*outcome.notes, note))
    cost = mc.max_loss_increase if dataset.task == "regression" else mc.max_accuracy_loss
    return mitigation_section(outcome, saved=sorted(mitigated) or None, max_cost=cost), mitigated


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
           say: Callable[[str], None], *, score_reference: bool, task: str) -> Drift:
    """Drift of the (sampled) evaluation rows against ``data.reference``, features and predictions."""
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
    # Predictions made elsewhere exist for the evaluation rows only: no prediction drift then. The drift of
    # a binary score, a regression's prediction, a multiclass model's predicted class (its class shares).
    task_adapter = adapter(task)
    reference_predictions = task_adapter.predict(model, frame, f"`data.reference` {reference.name}") \
        if score_reference else None
    scores = None if reference_predictions is None else task_adapter.drifted(
        score=reference_predictions.score, label=reference_predictions.label)
    return measure_drift(frame, sample.frame, features=features, reference_labels=labels,
                         current_labels=sample.labels, bins=cfg.checks.drift.bins, reference_scores=scores,
                         current_scores=(None if scores is None else
                                         task_adapter.drifted(score=sample.score, label=sample.prediction)),
                         min_group_size=cfg.data.min_group_size, task=task)


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    return value.item() if hasattr(value, "item") else str(value)


