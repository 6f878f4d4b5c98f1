"""Regulatory views of an audit: NYC Local Law 144, the EU AI Act documentation checklist, the EEOC four-fifths rule.

"Selection" is the favourable outcome (``data.favorable_label``, by default the positive label): for a risk
score, where the positive prediction is the harm, the rates are of the negative prediction, so the group named
disadvantaged is the one that receives the benefit least. Every number here is read from the :class:`~audit.statistics._evaluate.Evaluation` the audit already computed (selection
rates and row counts by group, the demographic parity ratio); nothing goes back to the rows. Impact ratios of
every view come from one function, :func:`impact_ratios`. These views are aids for a compliance file, not legal
advice: the owner and their counsel decide what a rule requires of their system.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .._errors import AuditError
from ..statistics._evaluate import Evaluation, GroupingMetrics
from ..statistics._metrics import favorable_rate_metric
from ..inputs._groups import MISSING, split_key

__all__ = ["documented", "DISCLAIMER", "FOUR_FIFTHS", "ImpactRatios", "impact_ratios", "Ll144Row", "Ll144Table", "Ll144",
           "FourFifthsVerdict", "ChecklistItem", "Regulatory", "regulatory_views", "ll144_attributes"]

DISCLAIMER = ("An aid for a compliance file, computed from this audit's statistics; not legal advice. Whether and "
              "how a rule applies to a system is for its owner and their counsel to decide.")
#: The EEOC Uniform Guidelines' threshold: a group's selection rate under four fifths of the highest group's
#: rate is generally regarded as evidence of adverse impact (29 CFR 1607.4(D)).
FOUR_FIFTHS = 0.8
_SEX_NAMES = ("sex", "gender")
_RACE_NAMES = ("race", "ethnicity", "race_ethnicity", "race/ethnicity")


@dataclass(frozen=True)
class ImpactRatios:
    """Each group's selection rate over the highest rate among the included groups.

    ``ratios[i]`` is None for a group that is not included or whose rate is undefined, and for every group
    when no included group has a positive rate.
    """

    highest_group: str | None
    highest_rate: float | None
    ratios: tuple[float | None, ...]


def impact_ratios(*, groups: Sequence[str], rates: Sequence[float | None],
                  included: Sequence[bool]) -> ImpactRatios:
    """Impact ratios: selection rate of each included group divided by the highest included rate.

    The one implementation behind every regulatory view (NYC LL144 tables, EEOC four-fifths groups).

    Parameters
    ----------
    groups : sequence of str
        Group labels.
    rates : sequence of float or None
        Selection rate of each group (None when undefined, e.g. an empty group).
    included : sequence of bool
        Which groups take part: only they can be the highest, and only they get a ratio.

    Returns
    -------
    ImpactRatios

    Examples
    --------
    >>> r = impact_ratios(groups=["a", "b", "c"], rates=[0.5, 0.25, 0.9], included=[True, True, False])
    >>> r.highest_group, r.ratios
    ('a', (1.0, 0.5, None))
    """
    if not len(groups) == len(rates) == len(included):
        raise ValueError("groups, rates and included must have the same length")
    candidates = [(rate, i) for i, (rate, ok) in enumerate(zip(rates, included)) if ok and rate is not None]
    if not candidates:
        return ImpactRatios(highest_group=None, highest_rate=None, ratios=tuple(None for _ in groups))
    # Ties go to the first group in order, so the choice is deterministic.
    top_rate, top = max(candidates, key=lambda c: (c[0], -c[1]))
    if top_rate <= 0:
        return ImpactRatios(highest_group=groups[top], highest_rate=top_rate, ratios=tuple(None for _ in groups))
    ratios = tuple(rate / top_rate if ok and rate is not None else None for rate, ok in zip(rates, included))
    return ImpactRatios(highest_group=groups[top], highest_rate=top_rate, ratios=ratios)


@dataclass(frozen=True)
class Ll144Row:
    """One category of an LL144 table; ``status`` is ``included``, ``excluded`` (under the share) or ``unknown``."""

    category: str
    n: int
    share: float
    selection_rate: float | None
    ci_low: float | None
    ci_high: float | None
    impact_ratio: float | None
    status: str


@dataclass(frozen=True)
class Ll144Table:
    """Selection rates and impact ratios of one category type: ``sex``, ``race`` or ``sex&race``."""

    category_type: str
    grouping: str
    highest_category: str | None
    highest_rate: float | None
    rows: tuple[Ll144Row, ...]


@dataclass(frozen=True)
class Ll144:
    sex: str | None
    race: str | None
    min_share: float
    rows: int
    tables: tuple[Ll144Table, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class FourFifthsVerdict:
    """The four-fifths rule on one attribute or intersection, from its demographic parity ratio.

    ``verdict`` is ``pass`` (ratio at least 0.8), ``fail`` (under 0.8: adverse impact indicated) or
    ``insufficient_data``; ``below`` lists the groups whose own impact ratio is under 0.8.
    """

    grouping: str
    intersection: bool
    impact_ratio: float | None
    ci_low: float | None
    ci_high: float | None
    groups: tuple[str, str] | None
    verdict: str
    below: tuple[str, ...]
    excluded_groups: tuple[str, ...]


@dataclass(frozen=True)
class ChecklistItem:
    """One item of the EU AI Act technical documentation; ``status``: covered, partial or owner (to fill)."""

    id: str
    reference: str
    requirement: str
    status: str
    evidence: str


@dataclass(frozen=True)
class Regulatory:
    ll144: Ll144
    four_fifths: tuple[FourFifthsVerdict, ...]
    eu_ai_act: tuple[ChecklistItem, ...]
    #: The favourable outcome whose rate every view compares, and whether it is the positive label.
    favorable_label: object = None
    favorable_is_positive: bool = True


def ll144_attributes(*, sensitive: Sequence[str], sex: str | None, race: str | None) -> tuple[str | None, str | None]:
    """The sensitive attributes that stand for sex and race/ethnicity: as configured, else found by name.

    Examples
    --------
    >>> ll144_attributes(sensitive=["age", "Gender", "race"], sex=None, race=None)
    ('Gender', 'race')
    """
    for field, value in (("sex", sex), ("race", race)):
        if value is not None and value not in sensitive:
            raise AuditError(f"`regulatory.ll144.{field}` must name one of the sensitive attributes "
                             f"({', '.join(sensitive)}); got {value!r}.")

    def by_name(names: tuple[str, ...]) -> str | None:
        return next((s for s in sensitive if s.lower() in names), None)

    return sex or by_name(_SEX_NAMES), race or by_name(_RACE_NAMES)


def _ll144_table(gm: GroupingMetrics, category_type: str, total: int, min_share: float,
                 rate_metric: str) -> Ll144Table:
    rates = gm.metrics[rate_metric]
    unknown = [any(part == MISSING for part in split_key(g)) if len(gm.attributes) > 1 else g == MISSING
               for g in gm.groups]
    shares = [n / total if total else 0.0 for n in gm.n]
    # LL144's rule lets an auditor leave categories under 2% of the data out of the impact ratio
    # computation; they are still reported with their counts and selection rates.
    included = [not u and s >= min_share for u, s in zip(unknown, shares)]
    ir = impact_ratios(groups=gm.groups, rates=[e.value for e in rates], included=included)
    rows = tuple(Ll144Row(category=g, n=n, share=s, selection_rate=e.value, ci_low=e.ci_low, ci_high=e.ci_high,
                          impact_ratio=r, status="unknown" if u else ("included" if inc else "excluded"))
                 for g, n, s, e, r, u, inc in zip(gm.groups, gm.n, shares, rates, ir.ratios, unknown, included))
    return Ll144Table(category_type=category_type, grouping=gm.grouping, highest_category=ir.highest_group,
                      highest_rate=ir.highest_rate, rows=rows)


def _ll144(evaluation: Evaluation, *, sensitive: Sequence[str], sex: str | None, race: str | None,
           min_share: float) -> Ll144:
    sex, race = ll144_attributes(sensitive=sensitive, sex=sex, race=race)
    by_attrs = {frozenset(gm.attributes): gm for gm in evaluation.by_grouping}
    rate = favorable_rate_metric(evaluation.registry)
    tables, notes = [], []
    for kind, attribute in (("sex", sex), ("race", race)):
        if attribute is None:
            notes.append(f"No sensitive attribute stands for {kind}: name it with `regulatory.ll144.{kind}`.")
        else:
            tables.append(_ll144_table(by_attrs[frozenset([attribute])], kind, evaluation.n, min_share, rate))
    if sex is not None and race is not None:
        both = by_attrs.get(frozenset([sex, race]))
        if both is None:
            notes.append("Intersectional categories (sex and race/ethnicity) need `data.intersections` of 2 or more.")
        else:
            tables.append(_ll144_table(both, "sex&race", evaluation.n, min_share, rate))
    return Ll144(sex=sex, race=race, min_share=min_share, rows=evaluation.n, tables=tuple(tables),
                 notes=tuple(notes))


def _four_fifths(evaluation: Evaluation) -> tuple[FourFifthsVerdict, ...]:
    by_name = {gm.grouping: gm for gm in evaluation.by_grouping}
    rate = favorable_rate_metric(evaluation.registry)
    out = []
    for fv in evaluation.fairness:
        if fv.metric != "demographic_parity_ratio":
            continue
        gm = by_name[fv.grouping]
        # The same groups as the demographic parity ratio: enough rows, not named in its exclusions.
        included = [ok and g not in fv.excluded_groups for g, ok in zip(gm.groups, gm.eligible)]
        ir = impact_ratios(groups=gm.groups, rates=[e.value for e in gm.metrics[rate]], included=included)
        below = tuple(g for g, r in zip(gm.groups, ir.ratios) if r is not None and r < FOUR_FIFTHS)
        verdict = "insufficient_data" if fv.value is None else ("pass" if fv.value >= FOUR_FIFTHS else "fail")
        out.append(FourFifthsVerdict(grouping=fv.grouping, intersection=len(gm.attributes) > 1, impact_ratio=fv.value,
                                     ci_low=fv.ci_low, ci_high=fv.ci_high, groups=fv.groups, verdict=verdict,
                                     below=below, excluded_groups=fv.excluded_groups))
    return tuple(out)


#: Texts that say nothing: what a YAML ``None``, a form's placeholder or a to-do leaves in a report field.
_PLACEHOLDERS = frozenset({"none", "null", "n/a", "na", "-", "—", "tbd", "todo", "to do", "unknown", "?"})


def documented(value: object) -> bool:
    """Whether a report field documents something: a non-empty value that is not a placeholder.

    YAML reads ``human_oversight: None`` as the text "None", which documents nothing; so do "", blanks,
    "TBD" and "n/a". A list (``owners``) is documented when one of its items is.

    Examples
    --------
    >>> documented("Decisions are reviewed by a loan officer."), documented(None), documented("None")
    (True, False, False)
    >>> documented("   "), documented(" n/a "), documented([]), documented(["", "Risk team"])
    (False, False, False, True)
    """
    if value is None:
        return False
    if isinstance(value, str):
        text = value.strip()
        return bool(text) and text.lower().rstrip(".") not in _PLACEHOLDERS
    if isinstance(value, (list, tuple)):
        return any(documented(v) for v in value)
    return bool(value)


def _eu_ai_act(*, report: dict[str, object], bias_done: dict[str, bool], explained: bool, drift: bool,
               reference_shares: bool, unexplained: str = "explainability was switched off"
               ) -> tuple[ChecklistItem, ...]:
    def have(key: str) -> bool:
        return documented(report.get(key))

    def item(id_: str, reference: str, requirement: str, status: str, evidence: str) -> ChecklistItem:
        return ChecklistItem(id=id_, reference=reference, requirement=requirement, status=status, evidence=evidence)

    oversight = have("human_oversight")
    return (
        item("intended_purpose", "Annex IV(1)(a); Art. 13(3)(a)", "Intended purpose, provider, version",
             "covered" if have("intended_use") and have("owners") else "partial" if have("intended_use") else "owner",
             "report.intended_use and report.owners, on the card" if have("intended_use") and have("owners")
             else "set report.intended_use and report.owners"),
        item("system_design", "Annex IV(2)(b)", "Design specifications: model type, features, parameters", "covered",
             "model type, parameters and features, with the model's SHA-256"),
        item("data_provenance", "Art. 10(2)(a)-(c); Annex IV(2)(d)",
             "Data origin, collection, preparation (labelling, cleaning)", "partial",
             "file names, row counts and SHA-256 of the data; origin and preparation are the owner's to describe"),
        item("data_representativeness", "Art. 10(3)", "Data relevant and sufficiently representative",
             "covered" if bias_done["representation"] and reference_shares else
             "partial" if bias_done["representation"] else "owner",
             "group counts and shares" + (", chi-square test against reference shares" if reference_shares else
                                          "; set checks.bias.reference_shares to compare with the population")),
        item("data_bias_examination", "Art. 10(2)(f)-(g)", "Examination of possible biases and measures against them",
             "covered" if bias_done["proxies"] else "partial",
             "base rates by group, proxy features and models, fairness gaps with intervals"
             if bias_done["proxies"] else "base rates and fairness gaps; proxy checks were switched off"),
        item("data_gaps", "Art. 10(2)(h)", "Data gaps and shortcomings (missing values by group)",
             "covered" if bias_done["missingness"] else "owner",
             "missing rates of every feature by group" if bias_done["missingness"]
             else "missingness checks were switched off"),
        item("accuracy_metrics", "Art. 15(1)-(3); Art. 13(3)(b)(ii)", "Levels of accuracy and the metrics declared",
             "covered", "performance metrics with bootstrap intervals and their thresholds"),
        item("group_performance", "Art. 13(3)(b)(v)", "Performance on the persons or groups it is meant for",
             "covered", "every metric by group and intersection, each group against the rest"),
        item("robustness", "Art. 15(4)", "Robustness: resilience to errors and changes in the data",
             "partial" if drift else "owner",
             "drift of features and scores against the reference data" if drift
             else "set data.reference to measure drift; stress tests are the owner's"),
        item("interpretability", "Art. 13(1), 13(3)(b)(iv)", "Information to interpret the system's output",
             "covered" if explained else "owner",
             "SHAP importances overall and by group, flip test" if explained else unexplained),
        item("human_oversight", "Art. 14; Annex IV(2)(e)", "Human oversight measures",
             "covered" if oversight else "owner",
             "report.human_oversight, on the card" if oversight
             else "not documented: describe them in report.human_oversight"),
        item("limitations", "Art. 13(3)(b)(iii); Annex IV(3)", "Known limitations and foreseeable misuse",
             "covered" if have("limitations") else "owner",
             "report.limitations, on the card" if have("limitations")
             else "not documented: set report.limitations"),
        item("risk_management", "Art. 9; Annex IV(5)", "Risk management system", "owner",
             "outside an audit's reach; this report is one input to it"),
        item("logging", "Art. 12; Annex IV(2)(g)", "Record-keeping and logs during operation", "owner",
             "the audit records its own run (seed, versions, hashes) only"),
        item("cybersecurity", "Art. 15(5)", "Cybersecurity measures", "owner", "not assessed by this audit"),
        item("post_market_monitoring", "Art. 72; Annex IV(9)", "Post-market monitoring plan", "owner",
             "rerun this audit on production data, e.g. from CI"),
    )


def regulatory_views(evaluation: Evaluation, *, sensitive: Sequence[str], sex: str | None, race: str | None,
                     min_share: float, report: dict[str, object], bias_done: dict[str, bool], explained: bool,
                     drift: bool, reference_shares: bool, favorable_label: object = None,
                     favorable_is_positive: bool = True,
                     unexplained: str = "explainability was switched off") -> Regulatory:
    """All three views from the audit's statistics.

    Parameters
    ----------
    evaluation : Evaluation
        The audit's metrics by group; the selection rates and counts come from here.
    sensitive : sequence of str
        The sensitive attributes, to find which stand for sex and race.
    sex, race : str or None
        Configured attributes for LL144 (``regulatory.ll144``); None finds them by name.
    min_share : float
        Categories under this share of the rows are shown apart and left out of impact ratios (LL144).
    report : mapping
        The ``report`` settings (intended use, owners, limitations, human oversight).
    bias_done : mapping of str to bool
        Which data bias analyses ran (``representation``, ``proxies``, ``missingness``).
    explained, drift, reference_shares : bool
        Whether explanations, drift and a representation test against reference shares are in the audit.
    unexplained : str
        Why there are no explanations, when ``explained`` is false (the checklist's evidence): switched off,
        or a predictions-only audit, which has no model to explain.
    favorable_label : object
        The favourable outcome (``data.favorable_label``, else the positive label), for the document.
    favorable_is_positive : bool
        Whether it is the positive label. The rates compared are those of ``evaluation``'s registry
        (:func:`~audit.statistics._metrics.with_favorable` gave it the favourable rate).
    """
    return Regulatory(
        ll144=_ll144(evaluation, sensitive=sensitive, sex=sex, race=race, min_share=min_share),
        four_fifths=_four_fifths(evaluation),
        eu_ai_act=_eu_ai_act(report=report, bias_done=bias_done, explained=explained, drift=drift,
                             reference_shares=reference_shares, unexplained=unexplained),
        favorable_label=favorable_label, favorable_is_positive=favorable_is_positive)
