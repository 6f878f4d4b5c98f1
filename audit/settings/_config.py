"""Settings: the ``audit.yaml`` schema, validated once at the boundary.

Every error names the field path, what was expected and what was found, in
one format: "`data.target` must be a string; got 3 (in audit.yaml)".
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError, ValidationInfo, field_validator, model_validator

from .._errors import AuditError
from ..statistics._metrics import DEFAULT_FAIRNESS_METRICS, DEFAULT_PERFORMANCE_METRICS, FAIRNESS_METRICS, METRICS
from ..statistics._multiclass import MACRO_METRICS, MULTICLASS_FAIRNESS_NAMES
from ..statistics._regression import REGRESSION_FAIRNESS, REGRESSION_METRICS

__all__ = ["AuditConfig", "load_config", "config_from_dict", "choose_champion"]

Scalar = Union[bool, int, float, str]
# Strict numbers and booleans: YAML's `true` is not the number 1, nor `1` or "yes" a boolean, nor "0.5" a
# number. An integer is still a valid float (`max_psi: 1`), as YAML writes whole numbers without a point.
Int = Annotated[int, Strict()]
Float = Annotated[float, Strict()]
Bool = Annotated[bool, Strict()]

# Metric names of the multiclass and regression audits (beyond the binary registry), from their registries.
_TASK_METRICS = tuple(n for n in dict.fromkeys([*REGRESSION_METRICS, *MACRO_METRICS]) if n not in METRICS)
_TASK_FAIRNESS = tuple(n for n in dict.fromkeys([*REGRESSION_FAIRNESS, *MULTICLASS_FAIRNESS_NAMES])
                       if n not in FAIRNESS_METRICS)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _known(names: list[str] | dict[str, float], registry: dict[str, object], what: str) -> None:
    for name in names:
        if name not in registry:
            raise ValueError(f"must name {what}; got {name!r}. Known: {', '.join(registry)}")


class DataConfig(_Strict):
    test: str = Field(description="Evaluation data: CSV (plain or gzip) or Parquet, a path or a glob.")
    train: str | None = Field(default=None, description="Training data, needed only to train.")
    target: str
    positive_label: Scalar | None = None
    features: Literal["all"] | list[str] = "all"
    sensitive: list[str] = Field(min_length=1)
    bins: dict[str, list[Float]] = Field(default_factory=dict)
    intersections: Int = Field(default=2, ge=1)
    min_group_size: Int = Field(default=30, ge=1)
    test_size: Float = Field(default=0.3, gt=0, lt=1)
    batch_rows: Int | None = Field(default=None, ge=1000, description="Read the evaluation data in batches.")
    reference: str | None = Field(default=None, description="Data to measure drift against (often the training data).")
    #: Delimiter of CSV files: "auto" detects it from the first lines (",", ";", tab or "|").
    separator: str = Field(default="auto", description='"auto", or the one character between CSV fields.')
    #: Text encoding of CSV files (Python's codec names: "utf-8", "latin-1", "cp1252", ...).
    encoding: str = "utf-8"
    #: Strings read as missing values in CSV files, beyond pandas' defaults ("", "NA", "NaN", "null", ...).
    na_values: list[str] = Field(default_factory=list)
    #: A column that identifies each evaluation row: keys the rows of ``predictions.parquet`` so that later
    #: audits pair by it (without one, rows are keyed by position and pair only on the same data file).
    id: str | None = Field(default=None, description="Column that identifies each evaluation row.")
    # --- Harm direction and reference groups (binary audits; see audit.settings._boundary.favorable_side) ---
    #: The outcome that is a benefit to the person (a loan granted, "no default", "low risk"). Default: the
    #: positive label. Selection rates of the regulatory views, the four-fifths rule and
    #: `demographic_parity_ratio` are rates of this outcome, so the disadvantaged group is the one that gets it least.
    favorable_label: Scalar | None = Field(
        default=None, description="The target value that is the favourable outcome; default the positive label.")
    #: The group every other group of an attribute is compared with ({race: White}): differences and ratios
    #: of each group's rates against it, beside the largest-minus-smallest gaps.
    reference_groups: dict[str, Scalar] = Field(default_factory=dict)
    #: Legitimate factors a disparity may be conditioned on (income band, credit history length): the
    #: conditional-disparity check compares groups within each stratum of these columns and combined.
    control: list[str] = Field(default_factory=list)

    @field_validator("control")
    @classmethod
    def _control_not_target_or_sensitive(cls, value: list[str], info: ValidationInfo) -> list[str]:
        target, sensitive = info.data.get("target"), info.data.get("sensitive") or []
        wrong = [c for c in value if c == target or c in sensitive]
        if wrong:
            raise ValueError(f"must name columns that are neither the target nor a sensitive attribute (a control "
                             f"is a legitimate factor the groups are compared within); got {', '.join(map(repr, wrong))}")
        if len(set(value)) != len(value):
            raise ValueError(f"must not repeat a column; got {value}")
        return value

    @field_validator("separator")
    @classmethod
    def _one_character(cls, value: str) -> str:
        if value != "auto" and (len(value) != 1 or value in "\"\r\n"):
            raise ValueError(f"must be \"auto\" or one character such as \";\" or \"\\t\"; got {value!r}")
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        import codecs

        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"must name a text encoding such as \"utf-8\", \"latin-1\" or \"cp1252\"; "
                             f"got {value!r}") from None
        return value

    @field_validator("sensitive")
    @classmethod
    def _target_not_sensitive(cls, value: list[str], info: ValidationInfo) -> list[str]:
        # Auditing the outcome as a protected group measures nothing: every group's base rate is 0 or 1.
        target = info.data.get("target")
        if target is not None and target in value:
            raise ValueError(f"must not list the target {target!r} (a sensitive attribute describes the people, "
                             f"not the outcome); got {value}. Remove {target!r} from it")
        return value

    @field_validator("reference_groups")
    @classmethod
    def _reference_attributes(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        sensitive = info.data.get("sensitive") or []
        unknown = [a for a in value if a not in sensitive]
        if unknown:
            raise ValueError(f"must name attributes of `data.sensitive` ({', '.join(sensitive)}); got "
                             f"{', '.join(map(repr, unknown))}")
        return value

    @field_validator("bins")
    @classmethod
    def _bins_increase(cls, bins: dict[str, list[float]]) -> dict[str, list[float]]:
        for column, edges in bins.items():
            if len(edges) < 2 or not all(map(math.isfinite, edges)) or any(b <= a for a, b in zip(edges, edges[1:])):
                raise ValueError(f"edges of {column!r} must be at least two increasing numbers; got {edges}")
        return bins


class TrainConfig(_Strict):
    estimator: str = Field(description="Import path of a scikit-learn style estimator class.")
    params: dict[str, Any] = Field(default_factory=dict)


class PredictionsConfig(_Strict):
    """Predictions made elsewhere (a vendor's scores, a production log), read from the evaluation data."""

    predictions: str = Field(description="Column of predicted labels (classes) or predicted values (regression).")
    scores: str | None = Field(default=None, description="Column of positive-class scores (binary only).")


class ThresholdRateConfig(_Strict):
    """A decision threshold chosen for a target rate of positive predictions on the training rows."""

    selection_rate: Float = Field(gt=0, lt=1, description="Share of training rows to predict positive.")


class ModelConfig(_Strict):
    """Where the model comes from: exactly one of ``load``, ``train`` and ``predictions``.

    ``audit.run(config, model=obj)`` audits a Python object instead; its config then has no ``model``.
    """

    load: str | None = None
    train: TrainConfig | None = None
    predictions: PredictionsConfig | None = None
    trust: Bool = False
    trusted_types: list[str] = Field(default_factory=list)
    #: Tracking (and registry) URI for ``models:/`` and ``runs:/`` MLflow URIs, e.g. a local ``sqlite:///`` file.
    tracking_uri: str | None = None
    # --- The decision rule (binary audits; see audit.settings._boundary.check_threshold) ---
    #: A positive prediction is `score >= threshold`: a fixed cutoff of the positive-class score, or
    #: `{selection_rate: r}`, the cutoff that predicts positive for a share r of the training rows. Unset: the
    #: model's own `predict`.
    threshold: Float | ThresholdRateConfig | None = Field(
        default=None, description="Score cutoff (score >= threshold is positive), or {selection_rate: r} chosen "
                                  "on the training rows.")

    @field_validator("threshold", mode="before")
    @classmethod
    def _threshold_shape(cls, value: Any) -> Any:
        # One message for both shapes, rather than one per member of the union.
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if value is not None and not number and not (isinstance(value, dict) and set(value) == {"selection_rate"}):
            raise ValueError(f"must be a number (a score cutoff) or {{selection_rate: r}}; got {_describe(value)}")
        if number and not math.isfinite(value):
            raise ValueError(f"must be a finite number; got {value!r}")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> "ModelConfig":
        if sum(x is not None for x in (self.load, self.train, self.predictions)) != 1:
            raise ValueError("must set exactly one of `load`, `train` and `predictions`")
        return self


Severity = Literal["block", "warn"]


class PerformanceConfig(_Strict):
    metrics: list[str] = Field(default_factory=lambda: list(DEFAULT_PERFORMANCE_METRICS))
    min: dict[str, Float] = Field(default_factory=dict)
    max: dict[str, Float] = Field(default_factory=dict)
    group_min: dict[str, Float] = Field(default_factory=dict)
    group_max: dict[str, Float] = Field(default_factory=dict)
    severity: Severity = "block"

    @field_validator("metrics", "min", "max", "group_min", "group_max")
    @classmethod
    def _metric_names(cls, value: Any) -> Any:
        # Names of every task are accepted here; the audit checks them against its task.
        _known(value, {**METRICS, **dict.fromkeys(_TASK_METRICS)}, "a performance metric")
        return value


class FairnessConfig(_Strict):
    metrics: list[str] = Field(default_factory=lambda: list(DEFAULT_FAIRNESS_METRICS))
    min: dict[str, Float] = Field(default_factory=dict)
    max: dict[str, Float] = Field(default_factory=dict)
    four_fifths_rule: Bool = True
    severity: Severity = "block"

    @field_validator("metrics", "min", "max")
    @classmethod
    def _metric_names(cls, value: Any) -> Any:
        _known(value, {**FAIRNESS_METRICS, **dict.fromkeys(_TASK_FAIRNESS)}, "a fairness metric")
        return value


#: Metrics ``checks.group_gaps`` compares group by group in a binary audit (other tasks: their defaults).
DEFAULT_GROUP_GAP_METRICS = ["accuracy", "recall", "false_positive_rate", "roc_auc"]


class GroupGapsConfig(_Strict):
    """Groups whose metric is significantly worse than the rest's, after false-discovery-rate control."""

    enabled: Bool = True
    metrics: list[str] = Field(default_factory=lambda: list(DEFAULT_GROUP_GAP_METRICS))
    min_difference: Float = Field(default=0.0, ge=0)
    severity: Severity = "warn"

    @field_validator("metrics")
    @classmethod
    def _metric_names(cls, value: list[str]) -> list[str]:
        # Names of every task are accepted here; the audit checks them against its task's registry.
        _known(value, {**METRICS, **dict.fromkeys(_TASK_METRICS)}, "a performance metric")
        for name in value:
            if name in METRICS and METRICS[name].direction == "none":
                raise ValueError(f"must name metrics where higher or lower is better; got {name!r}")
        return value


class BiasConfig(_Strict):
    representation: Bool = True
    #: Expected share of each group, e.g. census shares: {race: {White: 0.6, Black: 0.13}}.
    reference_shares: dict[str, dict[str, Float]] = Field(default_factory=dict)
    base_rates: Bool = True
    missingness: Bool = True
    proxies: Bool = True
    distributions: Bool = True
    max_base_rate_difference: Float | None = Field(default=None, ge=0, le=1)
    max_missing_rate_difference: Float = Field(default=0.1, gt=0, le=1)
    max_proxy_association: Float = Field(default=0.5, gt=0, le=1)
    max_proxy_balanced_accuracy: Float = Field(default=0.8, gt=0, le=1)
    severity: Severity = "warn"

    @field_validator("reference_shares")
    @classmethod
    def _shares(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for attribute, shares in value.items():
            if any(v < 0 for v in shares.values()) or not 0 < sum(shares.values()) <= 1 + 1e-9:
                raise ValueError(f"shares of {attribute!r} must be non-negative and sum to at most 1; "
                                 f"got {shares}")
        return value


class DriftConfig(_Strict):
    """Drift of the evaluation data against `data.reference` (population stability index, KS, chi-square)."""

    max_psi: Float = Field(default=0.2, gt=0)
    bins: Int = Field(default=10, ge=2, le=100)
    severity: Severity = "warn"


class ExplainabilityConfig(_Strict):
    """SHAP by subgroup. ``permutation`` is SHAP's model-agnostic permutation explainer."""

    method: Literal["auto", "tree", "linear", "permutation", "none"] = "auto"
    sample: Int = Field(default=2000, ge=10)
    max_seconds: Float = Field(default=60.0, gt=0)
    top_k: Int = Field(default=3, ge=1)
    flip_test: Bool = True
    max_flip_rate: Float = Field(default=0.05, ge=0, le=1)
    min_importance_ratio: Float = Field(default=0.5, gt=0, lt=1)
    severity: Severity = "warn"


class SlicesConfig(_Strict):
    """Slice discovery: conjunctions of feature predicates where the model does significantly worse.

    Every metric is a rate of "error" rows: misclassified rows (``error_rate``, binary and multiclass),
    false positives among negatives and false negatives among positives (binary only), or, for regression,
    rows whose absolute error ``|y - yhat|`` exceeds a cut (``absolute_error``).
    """

    #: Slice metrics each task allows; the first is the task's default (when `metric` is not set).
    METRICS_BY_TASK: ClassVar[dict[str, tuple[str, ...]]] = {
        "binary": ("error_rate", "false_positive_rate", "false_negative_rate"),
        "multiclass": ("error_rate",),
        "regression": ("absolute_error",),
    }

    enabled: Bool = False
    metric: Literal["error_rate", "false_positive_rate", "false_negative_rate", "absolute_error"] | None = Field(
        default=None,
        description="The rate a slice is worse on: error_rate (binary, multiclass), false_positive_rate and "
                    "false_negative_rate (binary), absolute_error (regression: the share of rows whose |y - yhat| "
                    "exceeds the cut). Unset (null), the task's first: error_rate, or absolute_error for regression.")
    #: Columns to describe slices with: "all" is the model's features and the sensitive columns.
    features: Literal["all"] | list[str] = "all"
    max_order: Int = Field(default=3, ge=1, le=3)
    min_size: Int = Field(default=100, ge=1)
    bins: Int = Field(default=4, ge=2, le=20)
    alpha: Float = Field(default=0.05, gt=0, lt=1, description="False discovery rate (Benjamini-Hochberg).")
    max_seconds: Float = Field(default=60.0, gt=0)
    top_k: Int = Field(default=10, ge=1, le=100)
    min_effect: Float = Field(default=0.0, ge=0, le=1)
    score_weight: Float = Field(default=0.95, gt=0, le=1, description="SliceLine's weight of error over size.")
    quantile: Float = Field(
        default=0.9, gt=0, lt=1,
        description="absolute_error only: a row is an error when |y - yhat| exceeds this quantile of |y - yhat| "
                    "over the rows searched (0.9: the worst tenth of rows overall). `threshold` wins when set.")
    threshold: Float | None = Field(
        default=None, ge=0,
        description="absolute_error only: a row is an error when |y - yhat| exceeds this value, in the target's "
                    "units; when set it is the cut instead of `quantile`.")
    severity: Severity = "warn"

    @model_validator(mode="after")
    def _cut_needs_absolute_error(self) -> "SlicesConfig":
        # A cut other than the defaults (a saved config holds the defaults too, and means nothing by them).
        defaults = {"quantile": 0.9, "threshold": None}
        cut = [name for name, default in defaults.items() if getattr(self, name) != default]
        if cut and self.metric is not None and self.metric != "absolute_error":
            raise ValueError(f"sets `{cut[0]}`, which applies to metric absolute_error (regression) only; "
                             f"got metric {self.metric!r}")
        return self

    @classmethod
    def check_metric(cls, metric: str, task: str) -> str:
        """Refuse a slice metric the task has no meaning for; return ``metric``.

        Raises AuditError, e.g. "`checks.slices.metric` must be one of error_rate for a multiclass audit
        (false_positive_rate and false_negative_rate need a positive class: binary audits only); got
        'false_positive_rate'."
        """
        allowed = cls.METRICS_BY_TASK.get(task)
        if allowed is None:
            raise AuditError(f"Slice search knows the tasks {', '.join(cls.METRICS_BY_TASK)}; got {task!r}.")
        if metric in allowed:
            return metric
        why = {"false_positive_rate": "needs a positive class: binary audits only",
               "false_negative_rate": "needs a positive class: binary audits only",
               "absolute_error": "needs numeric predictions: regression audits only",
               "error_rate": "counts misclassified rows: classification audits only"}.get(metric, "is not a metric")
        raise AuditError(f"`checks.slices.metric` must be one of {', '.join(allowed)} for a {task} audit "
                         f"({metric} {why}); got {metric!r}.")

    def metric_for(self, task: str) -> str:
        """The slice metric of a ``task`` audit: `metric` when set (checked), else the task's default."""
        if self.metric is None and task in self.METRICS_BY_TASK:
            return self.METRICS_BY_TASK[task][0]
        return self.check_metric(self.metric or "error_rate", task)


class LeakageConfig(_Strict):
    """Signs that the target leaked into the features: a feature that alone predicts it almost perfectly
    (measured on the evaluation rows: binary ROC AUC of the feature alone, multiclass Cramér's V, regression
    R²), or a near-perfect model. Each is a finding naming the column; neither stops the audit."""

    enabled: Bool = True
    #: Highest association of one feature with the target before it is called a likely leak, per task metric.
    max: dict[Literal["single_feature_roc_auc", "single_feature_cramers_v", "single_feature_r2"], Float] = Field(
        default_factory=lambda: {"single_feature_roc_auc": 0.95, "single_feature_cramers_v": 0.9,
                                 "single_feature_r2": 0.9})
    #: A model whose roc_auc (binary), accuracy (multiclass) or r2_score (regression) is shown beyond this.
    max_model_score: Float = Field(default=0.99, gt=0, le=1)
    #: Fewest evaluation rows the associations are measured on (fewer: not judged).
    min_rows: Int = Field(default=100, ge=10)
    severity: Severity = "warn"


class ConditionalConfig(_Strict):
    """Disparity conditioned on the legitimate factors of ``data.control``: each group's rates within each
    stratum of the controls and standardised over them, beside the marginal gap; a finding when the
    conditional gap is shown beyond ``max_difference``, and one when the marginal gap reverses or is no longer
    shown within strata (Simpson's paradox). Runs when ``data.control`` names columns."""

    enabled: Bool = True
    #: Rates compared (default per task: favourable/selection rate, true and false positive rates for binary;
    #: accuracy for multiclass; mean prediction and mean absolute error for regression).
    metrics: list[str] | None = None
    #: Largest conditional gap (absolute, standardised over the strata) before a finding.
    max_difference: Float = Field(default=0.1, ge=0)
    #: Edges of numeric control columns; a numeric control with more than ``max_levels`` values and no edges
    #: here is cut at its ``quantiles`` quantiles of the evaluation rows.
    bins: dict[str, list[Float]] = Field(default_factory=dict)
    quantiles: Int = Field(default=4, ge=2, le=20)
    max_levels: Int = Field(default=10, ge=2)
    severity: Severity = "warn"

    #: Rates each task can compare within strata (the first ones are the default).
    METRICS_BY_TASK: ClassVar[dict[str, tuple[str, ...]]] = {
        "binary": ("selection_rate", "true_positive_rate", "false_positive_rate"),
        "multiclass": ("accuracy",),
        "regression": ("mean_prediction", "mean_absolute_error"),
    }

    def metrics_for(self, task: str) -> list[str]:
        """The rates of a ``task`` audit: ``metrics`` when set (checked), else every rate the task has.

        Raises AuditError naming the rates the task has, e.g. for ``recall`` in a regression audit.
        """
        allowed = self.METRICS_BY_TASK.get(task, ())
        if self.metrics is None:
            return list(allowed)
        wrong = [m for m in self.metrics if m not in allowed]
        if wrong or not self.metrics:
            raise AuditError(f"`checks.conditional.metrics` must name rates of a {task} audit: "
                             f"{', '.join(allowed)}; got {', '.join(map(repr, wrong)) or 'none'}.")
        return list(self.metrics)

    @field_validator("bins")
    @classmethod
    def _edges_increase(cls, bins: dict[str, list[float]]) -> dict[str, list[float]]:
        for column, edges in bins.items():
            if len(edges) < 2 or not all(map(math.isfinite, edges)) or any(b <= a for a, b in zip(edges, edges[1:])):
                raise ValueError(f"edges of {column!r} must be at least two increasing numbers; got {edges}")
        return bins


class LendingConfig(_Strict):
    """Fair-lending measures of the score (binary and regression audits): the adverse impact ratio at each of
    ``cutoffs`` score quantiles, the standardised mean difference of scores, and the marginal effect of each
    group on the decision with ``data.control`` held fixed (logistic regression; linear for regression)."""

    enabled: Bool = False
    cutoffs: Int = Field(default=19, ge=1, le=99)
    #: Largest size of a group's marginal effect (probability points; the target's units for regression).
    max_marginal_effect: Float = Field(default=0.05, ge=0)
    #: Largest size of a group's standardised mean difference of scores (Hedges' g).
    max_smd: Float = Field(default=0.3, ge=0)
    #: Regression only: whether a higher prediction is the favourable outcome (an amount granted); binary
    #: audits take it from ``data.favorable_label``.
    higher_is_favourable: Bool = True
    severity: Severity = "warn"


class ReasonsConfig(_Strict):
    """Reason codes: the principal reasons of each declined row (binary: the decision, or a score on the adverse
    side of ``cutoff``; regression: a prediction on the adverse side of ``cutoff``), from SHAP values on the
    original columns, written to ``reasons.parquet``; by group in the card, with their stability."""

    enabled: Bool = False
    top_k: Int = Field(default=4, ge=1, le=20)
    #: The reason dictionary: a feature's text, ``{low: ..., high: ...}`` for a numeric one, or a text per value.
    text: dict[str, Union[str, dict[str, str]]] = Field(default_factory=dict)
    #: Sensitive attributes that may be given as reasons (by default none is).
    allow: list[str] = Field(default_factory=list)
    #: Other features never given as reasons (proxies of a sensitive attribute, features a person cannot act on).
    withhold: list[str] = Field(default_factory=list)
    #: A row is declined when its score (binary) or prediction (regression) is on the adverse side of this.
    cutoff: Float | None = None
    #: Declined rows explained at most (a seeded sample of them beyond).
    max_rows: Int = Field(default=2000, ge=1)
    #: Least share of rows whose principal reason survives a second explanation before a finding.
    min_stability: Float = Field(default=0.8, ge=0, le=1)
    max_seconds: Float = Field(default=60.0, gt=0)
    severity: Severity = "warn"


class ChecksConfig(_Strict):
    performance: PerformanceConfig = Field(default_factory=PerformanceConfig)
    fairness: FairnessConfig = Field(default_factory=FairnessConfig)
    group_gaps: GroupGapsConfig = Field(default_factory=GroupGapsConfig)
    bias: BiasConfig = Field(default_factory=BiasConfig)
    drift: DriftConfig = Field(default_factory=DriftConfig)
    explainability: ExplainabilityConfig = Field(default_factory=ExplainabilityConfig)
    slices: SlicesConfig = Field(default_factory=SlicesConfig)
    leakage: LeakageConfig = Field(default_factory=LeakageConfig)
    conditional: ConditionalConfig = Field(default_factory=ConditionalConfig)
    lending: LendingConfig = Field(default_factory=LendingConfig)
    reasons: ReasonsConfig = Field(default_factory=ReasonsConfig)


class MitigationConfig(_Strict):
    """What fairlearn's mitigations would cost in accuracy, on held-out evaluation rows (informs only).

    Binary audits run every method. Regression audits run ``exponentiated_gradient`` only, with fairlearn's
    bounded group loss (each group's mean squared error at most a bound, `loss_bounds`); the threshold
    optimizers are classification methods. fairlearn has no mitigation for multiclass models: the card says so.
    """

    #: Methods each task can run (fairlearn's mitigations for it).
    METHODS_BY_TASK: ClassVar[dict[str, tuple[str, ...]]] = {
        "binary": ("threshold_optimizer_dp", "threshold_optimizer_eo", "exponentiated_gradient", "drop_proxies"),
        "regression": ("exponentiated_gradient", "drop_proxies"),
        "multiclass": (),
    }
    #: What runs when ``methods`` is unset: fairlearn's mitigations (dropping proxies retrains the model up to
    #: three times: ask for it).
    DEFAULT_METHODS: ClassVar[dict[str, tuple[str, ...]]] = {
        "binary": ("threshold_optimizer_dp", "threshold_optimizer_eo", "exponentiated_gradient"),
        "regression": ("exponentiated_gradient",),
        "multiclass": (),
    }

    enabled: Bool = False
    methods: list[Literal["threshold_optimizer_dp", "threshold_optimizer_eo", "exponentiated_gradient",
                          "drop_proxies"]] | None = Field(
        default=None, min_length=1,
        description="The mitigations to try; unset (null), every one the task has (see METHODS_BY_TASK).")
    #: The sensitive attribute the constraints are about (default: the first of `data.sensitive`).
    attribute: str | None = None
    #: Relaxations of demographic parity for the threshold optimizer (0 = strict): the trade-off curve.
    tolerances: list[Float] = Field(default_factory=lambda: [0.0, 0.02, 0.05, 0.1], min_length=1)
    #: Constraint bounds of ExponentiatedGradient.
    eps: list[Float] = Field(
        default_factory=lambda: [0.01, 0.05], min_length=1,
        description="Binary: ExponentiatedGradient's demographic-parity bounds, one fit each. Regression: the "
                    "smallest is the slack of every bounded-group-loss fit, in units of the squared target range.")
    loss_bounds: list[Float] | None = Field(
        default=None, min_length=1,
        description="Regression: upper bounds on every group's mean squared error (target units squared), one "
                    "ExponentiatedGradient fit each. Unset: the audited model's overall mean squared error on the "
                    "training rows (no group worse than the average) and the midpoint between it and its worst "
                    "group's.")
    held_out: Float = Field(default=0.5, gt=0, lt=1, description="Share of evaluation rows held out for measuring.")
    fit_rows: Int = Field(default=10000, ge=100, description="Most training rows ExponentiatedGradient uses.")
    max_iter: Int = Field(default=50, ge=1)
    max_seconds: Float = Field(default=300.0, gt=0)
    save: Bool = False
    #: The less discriminatory alternative: of the points that give up at most this much accuracy (binary) or
    #: add at most this much mean squared error relative to the unmitigated model's (regression, a share),
    #: the one with the highest adverse impact ratio (binary) or the smallest group loss gap (regression).
    max_accuracy_loss: Float = Field(default=0.01, ge=0)
    max_loss_increase: Float = Field(default=0.05, ge=0)

    @field_validator("tolerances", "eps")
    @classmethod
    def _unit(cls, value: list[float]) -> list[float]:
        if any(not 0 <= v < 1 for v in value):
            raise ValueError(f"must hold numbers in [0, 1); got {value}")
        return value

    @field_validator("loss_bounds")
    @classmethod
    def _positive(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and any(not (math.isfinite(v) and v > 0) for v in value):
            raise ValueError(f"must hold positive numbers (mean squared errors, in target units squared); got {value}")
        return value

    @classmethod
    def check_methods(cls, methods: list[str] | tuple[str, ...], task: str) -> list[str]:
        """Refuse methods the task cannot run; return them. Multiclass refuses nothing (the card says why).

        Raises AuditError, e.g. "`mitigation.methods` must hold only exponentiated_gradient for a regression
        audit (the threshold optimizers post-process classifier scores); got 'threshold_optimizer_dp'."
        """
        if task not in cls.METHODS_BY_TASK:
            raise AuditError(f"Mitigation knows the tasks {', '.join(cls.METHODS_BY_TASK)}; got {task!r}.")
        allowed = cls.METHODS_BY_TASK[task]
        bad = [m for m in methods if m not in allowed]
        if bad and allowed:  # an empty list (multiclass) refuses nothing: the what-if notes why it has no point
            raise AuditError(f"`mitigation.methods` must hold only {', '.join(allowed)} for a regression audit "
                             f"(the threshold optimizers post-process classifier scores); got "
                             f"{', '.join(map(repr, bad))}.")
        return list(methods)

    def methods_for(self, task: str) -> list[str]:
        """The methods of a ``task`` audit: `methods` when set (checked), else every method the task has."""
        if self.methods is None and task in self.DEFAULT_METHODS:
            return list(self.DEFAULT_METHODS[task])
        return self.check_methods(self.methods or [], task)


class BootstrapConfig(_Strict):
    replicates: Int = Field(default=200, ge=0, le=10000)
    level: Float = Field(default=0.95, gt=0, lt=1)


class ReportConfig(_Strict):
    #: A Jinja2 file that extends "model_card.html.j2" and overrides its blocks (relative to the config).
    template: str | None = None
    title: str | None = None
    description: str | None = None
    version: str | None = None
    owners: list[str] = Field(default_factory=list)
    license: str | None = None
    intended_use: str | None = None
    out_of_scope_use: str | None = None
    limitations: str | None = None
    ethical_considerations: str | None = None
    recommendations: str | None = None
    #: Also write model_card.pdf with headless Chromium (as ``audit run --pdf``); skipped with a notice without it.
    pdf: Bool = False
    #: How people oversee the system's decisions (EU AI Act Art. 14); shown on the card and in its checklist.
    human_oversight: str | None = None
    #: Write predictions.parquet: every evaluation row's key, sensitive labels, target, prediction and score,
    #: so later audits (``audit compare``) can pair rows. It holds row-level sensitive data: switch it off
    #: where the report folder must not.
    predictions: Bool = True


class Ll144Config(_Strict):
    """NYC Local Law 144 style tables: which sensitive attributes are sex and race/ethnicity."""

    sex: str | None = Field(default=None, description="Default: a sensitive attribute named sex or gender.")
    race: str | None = Field(default=None, description="Default: a sensitive attribute named race or ethnicity.")
    #: Categories under this share of the rows are shown apart and left out of impact ratios, as the rule allows.
    min_share: Float = Field(default=0.02, ge=0, lt=1)


class RegulatoryConfig(_Strict):
    """Regulatory views (LL144, EU AI Act checklist, EEOC four-fifths): aids for a compliance file."""

    enabled: Bool = True
    ll144: Ll144Config = Field(default_factory=Ll144Config)


class MlflowConfig(_Strict):
    """Log the audit to MLflow after writing the reports (``audit run --mlflow`` does the same)."""

    enabled: Bool = True
    #: Default: a local file store, ``mlruns`` in the reports folder. Relative paths are relative to the config.
    tracking_uri: str | None = None
    experiment: str | None = Field(default=None, description="Default: the audit's name.")
    run_name: str | None = None


#: Check names a gate policy may name (``gate.severity`` keys, ``gate.exceptions[].check``).
#: Every check an audit can emit is here (``exception_expired`` aside: an expiry is never excepted);
#: ``bias`` and ``drift`` name the findings of those checks when they crash as a whole.
GATE_CHECKS = ("performance", "performance_by_group", "group_gaps", "fairness", "four_fifths_rule", "bias",
               "base_rate", "representation", "representation_vs_reference", "missingness", "proxy", "joint_proxy",
               "drift", "feature_drift", "prediction_drift", "explainability", "counterfactual_flip",
               "importance_by_group", "sensitive_feature_importance", "slices", "mitigation", "baseline_regression",
               "constant_predictions", "challenger", "leakage")


def _gate_check(name: str) -> str:
    if name not in GATE_CHECKS:
        raise ValueError(f"must name a check; got {name!r}. Known: {', '.join(GATE_CHECKS)}")
    return name


class GateException(_Strict):
    """An accepted, time-limited exception: matching findings do not fail the gate until ``expires``."""

    check: str
    attribute: str | None = None
    group: str | None = None
    reason: str = Field(min_length=1)
    expires: date

    @field_validator("check")
    @classmethod
    def _known_check(cls, value: str) -> str:
        return _gate_check(value)


class GateConfig(_Strict):
    """Gate policy: what fails the gate, per-check severity, exceptions (see audit/findings/_policy.py)."""

    fail_on: Literal["any_fail", "significant_regression", "any_fail_or_regression"] = "any_fail"
    alpha: Float = Field(default=0.05, gt=0, lt=1)
    min_change: Float = Field(default=0.0, ge=0)
    severity: dict[str, Severity] = Field(default_factory=dict)
    exceptions: list[GateException] = Field(default_factory=list)
    #: An inconclusive gate (no blocking check shown beyond its threshold, some not shown either way)
    #: exits 1 by default; ``pass`` lets it exit 0 (the card and outputs still name the undecided checks).
    inconclusive: Literal["fail", "pass"] = "fail"

    @field_validator("severity")
    @classmethod
    def _known_checks(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            _gate_check(name)
        return value


class DaskConfig(_Strict):
    """Where the dask engine (``engine: dask``) runs: a running scheduler, or a local cluster."""

    scheduler: str | None = Field(default=None, description="Address of a running scheduler, e.g. tcp://host:8786.")
    workers: Int | None = Field(default=None, ge=1, description="Workers of the local cluster (no scheduler).")
    partition_rows: Int = Field(default=1_000_000, ge=1000, description="Most rows of a Parquet partition.")


def _margins(value: dict[str, float]) -> dict[str, float]:
    for name, m in value.items():
        if m < 0:
            raise ValueError(f"must be >= 0 (how much worse the challenger may be); got {name}: {m}")
    return value


class ChallengerConfig(_Strict):
    """A second model scored on the same evaluation rows and compared with the audit's model (the champion)
    row by row: paired differences of every metric and fairness gap, overall and by group.

    ``margin`` makes the comparison a non-inferiority gate: for each metric (or fairness measure) named,
    the challenger passes only where it is shown to be no worse than the champion by more than the margin,
    overall and in every judged group.
    """

    name: str = Field(default="challenger", min_length=1)
    model: ModelConfig
    #: Non-inferiority margins, in the metric's units (recall: 0.01 is one point); >= 0.
    margin: dict[str, Float] = Field(default_factory=dict)
    severity: Severity = "block"
    #: What the card calls the audit's own model (its key in ``models:``).
    champion: str = Field(default="champion", min_length=1)

    @field_validator("margin")
    @classmethod
    def _nonnegative(cls, value: dict[str, float]) -> dict[str, float]:
        return _margins(value)


class ModelEntry(ModelConfig):
    """One model of ``models:``: the same spec as ``model:``, and its part in the comparison.

    ``champion: true`` marks the model in production (or ``audit run --champion NAME`` names it); the other
    is the challenger, with the non-inferiority ``margin`` and ``severity`` of ``challenger:``.
    """

    champion: Bool = False
    margin: dict[str, Float] = Field(default_factory=dict)
    severity: Severity = "block"

    @field_validator("margin")
    @classmethod
    def _nonnegative(cls, value: dict[str, float]) -> dict[str, float]:
        return _margins(value)

    def spec(self) -> ModelConfig:
        """The model's spec alone, as ``model:`` holds it."""
        return ModelConfig.model_validate(self.model_dump(include=set(ModelConfig.model_fields)))


class AuditConfig(_Strict):
    """The whole audit, as read from ``audit.yaml``.

    Relative paths in ``data`` and ``model.load`` are resolved against
    ``base_dir`` (the config file's folder).

    Examples
    --------
    >>> cfg = config_from_dict({"name": "demo", "data": {"test": "t.csv", "target": "y",
    ...     "sensitive": ["sex"]}, "model": {"train": {"estimator":
    ...     "sklearn.linear_model.LogisticRegression"}}})
    >>> cfg.data.min_group_size, cfg.bootstrap.replicates
    (30, 200)
    """

    name: str = Field(min_length=1)
    task: Literal["binary", "multiclass", "regression"] | None = None
    seed: Int = 0
    data: DataConfig
    #: Required, except when ``audit.run`` is given the model as a Python object.
    model: ModelConfig | None = None
    #: A model to compare with ``model`` on the same rows (champion against challenger).
    challenger: ChallengerConfig | None = None
    #: The other form of a champion-challenger audit: two named models, one marked ``champion: true``
    #: (see :func:`choose_champion`); in place of ``model`` and ``challenger``.
    models: dict[str, ModelEntry] | None = None
    checks: ChecksConfig = Field(default_factory=ChecksConfig)
    bootstrap: BootstrapConfig = Field(default_factory=BootstrapConfig)
    mitigation: MitigationConfig = Field(default_factory=MitigationConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    regulatory: RegulatoryConfig = Field(default_factory=RegulatoryConfig)
    mlflow: MlflowConfig | None = None
    #: ``local`` reads the data in this process; ``dask`` on a dask cluster (the ``dask`` extra).
    engine: Literal["local", "dask"] = "local"
    dask: DaskConfig = Field(default_factory=DaskConfig)
    gate: GateConfig = Field(default_factory=GateConfig)
    base_dir: str = "."

    @model_validator(mode="after")
    def _one_form(self) -> "AuditConfig":
        if self.models is None:
            return self
        if self.model is not None or self.challenger is not None:
            raise ValueError("`models` names the champion and the challenger; drop `model` and `challenger` "
                             "(one form or the other)")
        if len(self.models) != 2:
            raise ValueError(f"`models` must hold two models, the champion and one challenger (one challenger "
                             f"per run: run once per challenger); got {len(self.models)}: {', '.join(self.models)}")
        marked = [name for name, entry in self.models.items() if entry.champion]
        if len(marked) > 1:
            raise ValueError(f"`models` must mark one model `champion: true`; got {', '.join(marked)}")
        return self

    def resolve(self, path: str) -> Path:
        """Return ``path`` resolved against the config file's folder."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else Path(self.base_dir) / p


def choose_champion(cfg: AuditConfig, *, champion: str | None = None) -> AuditConfig:
    """The config with ``models:`` turned into ``model:`` (the champion) and ``challenger:`` (the other).

    Parameters
    ----------
    cfg : AuditConfig
        A validated config; returned as it is when it has no ``models`` section.
    champion : str, optional
        The champion's name (``audit run --champion``); default the model marked ``champion: true``.

    Raises
    ------
    AuditError
        No champion marked nor named, a name that is not a key of ``models``, a ``margin`` on the champion,
        or ``champion`` given for a config without ``models``.

    Examples
    --------
    >>> cfg = config_from_dict({"name": "cc", "data": {"test": "t.csv", "target": "y", "sensitive": ["sex"]},
    ...     "models": {"tree": {"champion": True, "train": {"estimator": "sklearn.tree.DecisionTreeClassifier"}},
    ...                "boosting": {"train": {"estimator": "sklearn.ensemble.HistGradientBoostingClassifier"},
    ...                             "margin": {"recall": 0.01}}}})
    >>> chosen = choose_champion(cfg)
    >>> chosen.model.train.estimator, chosen.challenger.name, chosen.challenger.champion, chosen.challenger.margin
    ('sklearn.tree.DecisionTreeClassifier', 'boosting', 'tree', {'recall': 0.01})
    """
    if cfg.models is None:
        if champion is not None:
            raise AuditError(f"`--champion` names one of the config's `models`; got {champion!r}, and the config "
                             "has no `models` section (its model is `model`).")
        return cfg
    names = ", ".join(cfg.models)
    if champion is not None and champion not in cfg.models:
        raise AuditError(f"`--champion` must name one of `models`; got {champion!r}. Models: {names}.")
    chosen = champion or next((n for n, entry in cfg.models.items() if entry.champion), None)
    if chosen is None:
        raise AuditError(f"`models` must mark the model in production `champion: true`, or `audit run --champion "
                         f"NAME` name it; got neither. Models: {names}.")
    if cfg.models[chosen].margin:
        raise AuditError(f"`models.{chosen}.margin` is the challenger's non-inferiority margin; {chosen!r} is the "
                         "champion: move it to the other model.")
    other = next(n for n in cfg.models if n != chosen)
    entry = cfg.models[other]
    return cfg.model_copy(update={"models": None, "model": cfg.models[chosen].spec(), "challenger": ChallengerConfig(
        name=other, model=entry.spec(), margin=entry.margin, severity=entry.severity, champion=chosen)})


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _message(error: dict[str, Any], source: str) -> str:
    loc = ".".join(str(part) for part in error["loc"] if not str(part).startswith("function-after"))
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"`{loc}` is not a known field (in {source}); remove it or check its spelling."
    if kind == "missing":
        return f"`{loc}` is required (in {source})."
    msg = error["msg"].removeprefix("Value error, ").replace("Input should be", "must be")
    if not loc:  # a check of the whole config: its message names the fields
        return f"{msg} (in {source})."
    if "; got " in msg:  # our own validators already say what they got
        return f"`{loc}` {msg} (in {source})."
    return f"`{loc}` {msg[0].lower() + msg[1:]}; got {_describe(error.get('input'))} (in {source})."


def config_from_dict(raw: Any, *, source: str = "config", base_dir: str = ".") -> AuditConfig:
    """Validate a config mapping; raise :class:`AuditError` naming every bad field.

    Parameters
    ----------
    raw : mapping
        The parsed YAML.
    source : str
        What to call the config in messages (its file name).
    base_dir : str
        Folder against which relative paths resolve.
    """
    if not isinstance(raw, dict):
        raise AuditError(f"{source} must hold a mapping of settings (name, data, model, checks); "
                         f"got {type(raw).__name__}.")
    if "base_dir" in raw:
        raise AuditError(f"`base_dir` is not a known field (in {source}); remove it.")
    try:
        return AuditConfig.model_validate({**raw, "base_dir": str(base_dir)})
    except ValidationError as exc:
        lines = [_message(err, source) for err in exc.errors()]
        raise AuditError(" ".join(lines) + " See the config reference in the README.") from None


def load_config(path: str | Path) -> AuditConfig:
    """Read and validate ``audit.yaml``.

    Examples
    --------
    >>> load_config("examples/adult/audit.yaml").name  # doctest: +SKIP
    'adult-income'
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AuditError(f"Cannot read config {path}: {exc.strerror}. Pass the path of an audit.yaml "
                         "(examples/adult/audit.yaml is a commented example).") from None
    except UnicodeDecodeError:
        raise AuditError(f"{path} is not a UTF-8 text file; pass the path of an audit.yaml, not a data "
                         "or model file.") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise AuditError(f"{path} is not valid YAML: {exc}".replace("\n", " ")) from None
    return config_from_dict(raw, source=path.name, base_dir=str(path.parent.resolve()))
