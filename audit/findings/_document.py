"""The findings document (design §4): every number the reports show, as plain JSON data."""

from __future__ import annotations

import json
import math
from importlib import resources
from typing import Any, Mapping

import numpy as np

from ._facts import facts, with_ids
from ..measures._bias import DataBias
from ..measures._conditional import ConditionalDisparity
from ..measures._lending import Lending
from ..measures._reasons import Reasons
from ..measures._curves import Curves, GroupCurves
from ..measures._drift import Drift, FeatureDrift
from ..statistics._evaluate import Estimate, Evaluation, RestComparison
from ..measures._explain import Explanation
from ..checks._finding import Finding, Threshold, shown
from ..measures._highlights import WorstGroup
from ..measures._mitigation import Mitigation, frontier, less_discriminatory
from ..statistics._metrics import MetricSpec
from ..statistics._paired import PairedComparison
from ..measures._regulatory import DISCLAIMER, FOUR_FIFTHS, Regulatory
from ..measures._significance import significantly_worse
from ..measures._slices import SliceSearch

__all__ = ["SCHEMA_VERSION", "build_document", "dumps", "load_schema"]

SCHEMA_VERSION = "1.0"


def _clean(value: Any) -> Any:
    # JSON has no NaN or infinity: undefined numbers are null. NumPy scalars become Python ones.
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def _estimate(e: Estimate) -> dict[str, Any]:
    return {"value": e.value, "ci_low": e.ci_low, "ci_high": e.ci_high, "n": e.n, "support": e.support,
            "reason": e.reason}


def _rest(r: RestComparison, direction: str) -> dict[str, Any]:
    worse = significantly_worse(significant=r.significant, difference=r.difference, direction=direction)
    return {"difference": r.difference, "ci_low": r.ci_low, "ci_high": r.ci_high, "p_value": r.p_value,
            "p_adjusted": r.p_adjusted, "significant": r.significant, "significantly_worse": worse}


#: The value of each kind of fairness measure at parity (a group loss has none).
_PARITY = {"difference": 0.0, "ratio": 1.0, "max": None}


def metrics_section(evaluation: Evaluation, selected: list[str]) -> dict[str, Any]:
    """The ``metrics`` key: definitions, overall estimates, and every group's with its comparison to the rest."""
    registry = evaluation.registry.metrics
    return {
        "definitions": {m: {"direction": registry[m].direction, "description": registry[m].description}
                        for m in selected},
        "overall": {m: _estimate(evaluation.overall[m]) for m in selected},
        "by_group": {gm.grouping: {g: {m: {**_estimate(gm.metrics[m][i]),
                                          "versus_rest": _rest(gm.versus_rest[m][i], registry[m].direction)}
                                       for m in selected}
                                   for i, g in enumerate(gm.groups)} for gm in evaluation.by_grouping},
    }


def fairness_section(evaluation: Evaluation, selected: list[str]) -> dict[str, Any]:
    """The ``fairness`` key: each selected measure for every attribute and intersection, with its groups."""
    registry = evaluation.registry.fairness
    out: dict[str, Any] = {"definitions": {m: {"kind": registry[m].kind, "parity": _PARITY[registry[m].kind],
                                               "description": registry[m].description}
                                           for m in selected}, "by_attribute": {}}
    for fv in evaluation.fairness:
        if fv.metric not in selected:
            continue
        entry = {"value": fv.value, "ci_low": fv.ci_low, "ci_high": fv.ci_high,
                 "groups": list(fv.groups) if fv.groups else None, "base_metric": fv.base_metric,
                 "n_groups": fv.n_groups, "excluded_groups": list(fv.excluded_groups), "reason": fv.reason,
                 "parity_p_value": getattr(fv, "parity_p_value", None)}
        out["by_attribute"].setdefault(fv.grouping, {})[fv.metric] = entry
    references = {gm.grouping: {"reference": gm.reference_group, "by_group": {
        g: {m: vars(rows[i]) for m, rows in gm.versus_reference.items()} for i, g in enumerate(gm.groups)}}
        for gm in evaluation.by_grouping if gm.versus_reference is not None}
    if references:  # `data.reference_groups`: every group against the chosen one, beside the max-min gaps
        out["reference_groups"] = references
    return out


def _highlights(worst: tuple[WorstGroup, ...], registry: Mapping[str, MetricSpec]) -> dict[str, Any]:
    return {"worst_groups": [{"metric": w.metric, "attribute": w.grouping, "group": w.group,
                              **_estimate(w.estimate), "overall": w.overall.value,
                              "versus_rest": _rest(w.versus_rest, registry[w.metric].direction),
                              "candidates": w.candidates}
                             for w in worst]}


def _group_curves(c: GroupCurves) -> dict[str, Any]:
    return {
        "n": c.n,
        "confusion": {"tn": c.confusion.tn, "fp": c.confusion.fp, "fn": c.confusion.fn, "tp": c.confusion.tp},
        "roc": None if c.roc is None else {"fpr": list(c.roc.fpr), "tpr": list(c.roc.tpr),
                                           "threshold": list(c.roc.threshold)},
        "calibration": None if c.calibration is None else {
            "mean_score": list(c.calibration.mean_score), "positive_rate": list(c.calibration.positive_rate),
            "n": list(c.calibration.n)},
    }


def _curves(curves: Curves) -> dict[str, Any]:
    return {"roc_points": curves.roc_points, "calibration_bins": curves.calibration_bins,
            "overall": _group_curves(curves.overall),
            "by_group": {attribute: {c.group: _group_curves(c) for c in groups}
                         for attribute, groups in curves.by_attribute.items()}}


def bias_section(evaluation: Evaluation, bias: DataBias) -> dict[str, Any]:
    """The ``bias`` key of the findings document, for the evaluation of any task.

    Base rates are the task's outcome metric by group: the share of the positive label of a binary target,
    the mean of a regression target. A multiclass target has none (its class shares are in the confusion
    matrices), so its tables are empty.
    """
    total = evaluation.n
    binary = evaluation.registry.outcome is not None
    return {
        "representation": {gm.grouping: {g: {"n": n, "share": n / total, "eligible": ok}
                                         for g, n, ok in zip(gm.groups, gm.n, gm.eligible)}
                           for gm in evaluation.by_grouping},
        "representation_tests": [
            {"attribute": t.attribute, "statistic": t.statistic, "p_value": t.p_value,
             "most_under_represented": t.most_under_represented,
             "groups": {g: {"n": o, "share": s, "reference_share": r}
                        for g, o, s, r in zip(t.groups, t.observed, t.observed_share, t.reference_share)}}
            for t in bias.representation_tests],
        "base_rates": {gm.grouping: {g: _estimate(e) for g, e in zip(gm.groups, gm.base_rate)}
                       for gm in evaluation.by_grouping} if binary else {},
        "base_rate_difference": {gm.grouping: {**_estimate(gm.base_rate_difference),
                                               "groups": list(gm.base_rate_groups) if gm.base_rate_groups else None}
                                 for gm in evaluation.by_grouping} if binary else {},
        "missingness": [{"feature": m.feature, "attribute": m.attribute, "rates": m.rates,
                         "difference": m.difference, "groups": list(m.groups)} for m in bias.missingness],
        "proxies": [{"feature": p.feature, "attribute": p.attribute, "cramers_v": p.cramers_v,
                     "mutual_information": p.mutual_information, "balanced_accuracy": p.balanced_accuracy,
                     "chance": p.chance} for p in bias.proxies],
        "proxy_models": [{"attribute": m.attribute, "features": list(m.features),
                          "balanced_accuracy": m.balanced_accuracy, "chance": m.chance} for m in bias.proxy_models],
        "distributions": [{"feature": d.feature, "attribute": d.attribute, "group": d.group, "measure": d.measure,
                           "value": d.value} for d in bias.distributions],
    }


def _drift(drift: Drift | None) -> dict[str, Any] | None:
    if drift is None:
        return None

    def one(d: FeatureDrift) -> dict[str, Any]:
        return {"feature": d.feature, "kind": d.kind, "psi": d.psi, "test": d.test, "statistic": d.statistic,
                "p_value": d.p_value, "p_adjusted": d.p_adjusted, "worst_group": d.worst_group,
                "worst_group_psi": d.worst_group_psi}

    return {"reference_rows": drift.reference_rows, "current_rows": drift.current_rows,
            "features": [one(d) for d in sorted(drift.features, key=lambda d: -d.psi)],
            "predictions": one(drift.predictions) if drift.predictions else None}


#: Keys of the explainer's chart points that are presentation, not data (a point's vertical jitter, its colour
#: rank): the report lays them out at render time (audit/report/_views.py), so the document keeps data only.
_PRESENTATION_KEYS = ("jitter", "rank")


def _points(points: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {feature: {k: v for k, v in p.items() if k not in _PRESENTATION_KEYS} for feature, p in points.items()}


def _explainability(explanation: Explanation | None, skipped: str | None) -> dict[str, Any]:
    if explanation is None:
        return {"status": "skipped", "note": skipped or "not run"}
    return {
        "status": "done", "method": explanation.method, "measure": explanation.measure,
        "sample_size": explanation.sample_size, "requested_rows": explanation.requested_rows,
        "seconds": round(explanation.seconds, 3), "note": explanation.note,
        "importances": [{"feature": i.feature, "value": i.value, "ci_low": i.ci_low, "ci_high": i.ci_high}
                        for i in explanation.importances],
        "by_group": explanation.by_group,
        "group_sizes": explanation.group_sizes,
        "importance_gaps": [{"feature": g.feature, "attribute": g.attribute, "groups": list(g.groups),
                             "difference": g.difference, "ci_low": g.ci_low, "ci_high": g.ci_high, "ratio": g.ratio,
                             "ratio_low": g.ratio_low, "ratio_high": g.ratio_high}
                            for g in explanation.gaps],
        "points": _points(explanation.points),
        "flip_test": [{"attribute": f.attribute, "used_by_model": f.used_by_model, "rows": f.rows,
                       "flip_rate": f.flip_rate, "mean_score_shift": f.mean_shift,
                       "overall_flip_rate": f.overall_flip_rate, "overall_mean_score_shift": f.overall_mean_shift}
                      for f in explanation.flips],
    }


def slices_section(search: SliceSearch, *, rows_note: str) -> dict[str, Any]:
    """The ``slices`` key: how the search went and the slices it reports."""
    return {
        "metric": search.metric, "task": search.task, "cut": search.cut, "cut_source": search.cut_source,
        "cut_text": search.cut_text, "rows": search.rows, "support": search.support,
        "overall_value": search.overall_value, "rows_note": rows_note, "features": list(search.features),
        "max_order": search.max_order, "order_reached": search.order_reached, "complete": search.complete,
        "seconds": round(search.seconds, 3), "max_seconds": search.max_seconds, "min_size": search.min_size,
        "alpha": search.alpha, "level": search.level, "evaluated": search.evaluated, "family": search.family,
        "significant": search.significant,
        "slices": [{"text": s.text,
                    "predicates": [{"feature": p.feature, "kind": p.kind, "text": p.text, "value": p.value,
                                    "low": p.low, "high": p.high} for p in s.predicates],
                    "rows": s.rows, "support": s.support, "errors": s.errors, "value": s.value, "ci_low": s.ci_low,
                    "ci_high": s.ci_high, "rest_value": s.rest_value, "difference": s.effect, "z": s.z,
                    "p_value": s.p_value, "p_adjusted": s.p_adjusted, "score": s.score} for s in search.slices],
    }


def challenger_section(comparison: PairedComparison, *, champion: dict[str, Any], challenger: dict[str, Any],
                       margin: dict[str, float], thresholds: dict[str, dict[str, Any]],
                       directions: dict[str, str]) -> dict[str, Any]:
    """The ``champion_challenger`` key: both models, and every paired difference (challenger minus
    champion) overall, by group and for each fairness measure by grouping, with its test.

    ``better`` names the model shown better (the interval excludes 0, in the metric's ``directions``
    entry: "higher" or "lower" is better), None when neither is shown or the metric has no direction.
    """
    def row(d: Any) -> dict[str, Any]:
        better = None
        direction = directions.get(d.metric, "none")
        if d.ci_low is not None and d.ci_high is not None and direction != "none":
            up = "challenger" if direction == "higher" else "champion"
            down = "champion" if direction == "higher" else "challenger"
            better = up if d.ci_low > 0 else down if d.ci_high < 0 else None
        return {"champion": d.champion, "challenger": d.challenger, "difference": d.difference, "ci_low": d.ci_low,
                "ci_high": d.ci_high, "p_value": d.p_value, "p_adjusted": d.p_adjusted, "test": d.test or None,
                "n": d.n, "support": d.support, "reason": d.reason, "better": better}

    overall = {d.metric: row(d) for d in comparison.differences if d.grouping is None}
    by_group: dict[str, dict[str, dict[str, Any]]] = {}
    fairness: dict[str, dict[str, Any]] = {}
    for d in comparison.differences:
        if d.grouping is None:
            continue
        if d.group is None:  # a fairness measure of the whole grouping
            fairness.setdefault(d.grouping, {})[d.metric] = row(d)
        else:
            by_group.setdefault(d.grouping, {}).setdefault(str(d.group), {})[d.metric] = row(d)
    return {"champion": champion, "challenger": challenger, "rows": comparison.rows,
            "replicates": comparison.replicates, "level": comparison.level,
            "min_group_size": comparison.min_group_size, "margin": dict(margin), "thresholds": thresholds,
            "overall": overall, "by_group": by_group, "fairness": fairness}


def conditional_section(cd: ConditionalDisparity, *, rows_note: str) -> dict[str, Any]:
    """The ``conditional`` key: marginal and within-strata differences by attribute and rate, and the CDD."""
    return {
        "controls": list(cd.controls), "edges": {c: None if e is None else list(e) for c, e in cd.edges.items()},
        "strata": list(cd.strata), "rows": cd.rows, "rows_note": rows_note, "level": cd.level,
        "replicates": cd.replicates,
        "by_attribute": {a.attribute: {
            "metrics": {m.metric: {
                "groups": None if m.groups is None else list(m.groups), "marginal": m.marginal,
                "marginal_ci_low": m.marginal_ci_low, "marginal_ci_high": m.marginal_ci_high,
                "conditional": m.conditional, "ci_low": m.ci_low, "ci_high": m.ci_high,
                "strata_used": m.strata_used, "strata_total": m.strata_total, "support_covered": m.support_covered,
                "pattern": m.pattern, "reason": m.reason,
                "by_stratum": [vars(r) for r in m.by_stratum]} for m in a.metrics},
            "cdd": None if a.cdd_group is None else {"group": a.cdd_group, "value": a.cdd, "ci_low": a.cdd_ci_low,
                                                     "ci_high": a.cdd_ci_high}}
            for a in cd.attributes},
    }


def lending_section(lending: Lending, *, rows_note: str) -> dict[str, Any]:
    """The ``lending`` key: AIR by cutoff (each point marked by what its interval shows against four-fifths),
    SMD and marginal effects, by attribute."""
    four_fifths = Threshold(metric="adverse_impact_ratio", op=">=", value=FOUR_FIFTHS, severity="warn")

    def air(p: Any) -> dict[str, Any]:
        return {**vars(p), "four_fifths": None if p.ratio is None else shown(p.ratio, p.ci_low, p.ci_high,
                                                                              four_fifths)}

    return {
        "cutoffs": list(lending.cutoffs), "higher_is_favourable": lending.higher_is_favourable,
        "level": lending.level, "rows": lending.rows, "rows_note": rows_note,
        "by_attribute": {a.attribute: {
            "reference": a.reference, "controls": list(a.controls), "effect_model": a.effect_model,
            "air": [air(p) for p in a.air], "smd": [vars(s) for s in a.smd],
            "marginal_effects": [vars(s) for s in a.marginal_effects], "marginal_note": a.marginal_note}
            for a in lending.attributes},
    }


def reasons_section(reasons: Reasons, *, rows_note: str, file: str | None) -> dict[str, Any]:
    """The ``reasons`` key: principal reasons overall and by group, the withheld features, the stability."""
    def shares(items: Any) -> list[dict[str, Any]]:
        return [vars(s) for s in items]

    low, high = reasons.stability_ci
    return {
        "declined": reasons.declined, "explained": reasons.explained, "top_k": reasons.top_k,
        "explainer": reasons.explainer, "key": reasons.key, "rows_note": rows_note, "file": file,
        "overall": shares(reasons.overall),
        "by_group": {a: {g: {"rows": reasons.group_sizes[a][g], "reasons": shares(items)} for g, items in groups.items()}
                     for a, groups in reasons.by_group.items()},
        "withheld": dict(reasons.withheld),
        "stability": {"value": reasons.stability, "ci_low": low, "ci_high": high, "method": reasons.stability_method},
    }


def mitigation_section(mitigation: Mitigation, *, saved: list[str] | None, max_cost: float = 0.01) -> dict[str, Any]:
    """The ``mitigation`` key: each method's accuracy and fairness (a classifier) or group losses (a
    regression) on the rows it was measured on; no points, and a note, where fairlearn has no mitigator.

    ``on_frontier`` marks the points no other beats on both cost and disparity; ``alternative`` is the index
    of the less discriminatory alternative within ``max_cost`` (None when no point qualifies)."""
    edge = frontier(mitigation.points, task=mitigation.task)
    points = [{"method": p.method, "constraint": p.constraint, "tolerance": p.tolerance, "accuracy": p.accuracy,
               "accuracy_loss": p.accuracy_loss, "demographic_parity_difference": p.demographic_parity_difference,
               "equalized_odds_difference": p.equalized_odds_difference, "selection_rate": p.selection_rate,
               "seconds": p.seconds, "mean_squared_error": p.mean_squared_error,
               "mean_absolute_error": p.mean_absolute_error, "worst_group_loss": p.worst_group_loss,
               "group_loss_gap": p.group_loss_gap, "loss_increase": p.loss_increase, "eps": p.eps,
               "favourable_ratio": p.favourable_ratio, "dropped": None if p.dropped is None else list(p.dropped),
               "on_frontier": on}
              for p, on in zip(mitigation.points, edge)]
    return {
        "task": mitigation.task, "attribute": mitigation.attribute, "groups": list(mitigation.groups),
        "fit_rows": mitigation.fit_rows, "held_out_rows": mitigation.held_out_rows,
        "train_rows": mitigation.train_rows, "seed": mitigation.seed, "complete": mitigation.complete,
        "notes": list(mitigation.notes), "saved": saved, "points": points,
        "target_range": None if mitigation.target_range is None else list(mitigation.target_range),
        "min_group_size": mitigation.min_group_size,
        "left_out": [{"group": g.group, "rows": g.rows} for g in mitigation.left_out],
        "alternative": less_discriminatory(mitigation.points, task=mitigation.task, max_cost=max_cost),
        "max_cost": max_cost,
    }


def _plain_label(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    return value.item() if hasattr(value, "item") else str(value)


def _regulatory(reg: Regulatory | None) -> dict[str, Any] | None:
    if reg is None:
        return None
    ll = reg.ll144
    return {
        "disclaimer": DISCLAIMER,
        "favorable": {"label": _plain_label(reg.favorable_label), "is_positive_label": reg.favorable_is_positive},
        "nyc_ll144": {
            "sex": ll.sex, "race": ll.race, "min_share": ll.min_share, "rows": ll.rows,
            "selection": ("predicted positive label" if reg.favorable_is_positive
                          else "predicted negative label (the favourable outcome)"),
            "tables": [{"category_type": t.category_type, "grouping": t.grouping,
                        "highest_category": t.highest_category, "highest_rate": t.highest_rate,
                        "rows": [{"category": r.category, "n": r.n, "share": r.share,
                                  "selection_rate": r.selection_rate, "ci_low": r.ci_low, "ci_high": r.ci_high,
                                  "impact_ratio": r.impact_ratio, "status": r.status} for r in t.rows]}
                       for t in ll.tables],
            "notes": list(ll.notes),
        },
        "eu_ai_act": {
            "checklist": [{"id": i.id, "reference": i.reference, "requirement": i.requirement, "status": i.status,
                       "evidence": i.evidence} for i in reg.eu_ai_act],
            "counts": {s: sum(i.status == s for i in reg.eu_ai_act) for s in ("covered", "partial", "owner")},
        },
        "eeoc_four_fifths": {
            "threshold": FOUR_FIFTHS,
            "by_attribute": {v.grouping: {"intersection": v.intersection, "impact_ratio": v.impact_ratio,
                                          "ci_low": v.ci_low, "ci_high": v.ci_high,
                                          "groups": list(v.groups) if v.groups else None, "verdict": v.verdict,
                                          "below": list(v.below), "excluded_groups": list(v.excluded_groups)}
                             for v in reg.four_fifths},
        },
    }


def build_document(*, audit: dict[str, Any], model: dict[str, Any], data: dict[str, Any], evaluation: Evaluation,
                   performance_metrics: list[str], fairness_metrics: list[str], curves: Curves | None,
                   worst_groups: tuple[WorstGroup, ...],
                   bias: DataBias, drift: Drift | None, explanation: Explanation | None,
                   explanation_note: str | None, findings: list[Finding], gate: str,
                   regulatory: Regulatory | None = None, slices: dict[str, Any] | None = None,
                   mitigation: dict[str, Any] | None = None, extras: dict[str, Any] | None = None,
                   steps: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """Assemble the findings document in its stable key order; numbers only, no NaN.

    ``extras`` holds the sections of one task (``multiclass``, ``regression``); ``steps`` the notes of the
    pipeline's steps that did not run, and why.
    """
    counts = {s: sum(f.status == s for f in findings) for s in ("pass", "fail", "warn", "insufficient_data", "error")}
    doc = {
        "schema_version": SCHEMA_VERSION,
        "audit": audit,
        "model": model,
        "data": {**data, "groups": {gm.grouping: {g: n for g, n in zip(gm.groups, gm.n)}
                                    for gm in evaluation.by_grouping}},
        "metrics": metrics_section(evaluation, performance_metrics),
        "highlights": _highlights(worst_groups, evaluation.registry.metrics),
        "curves": None if curves is None else _curves(curves),
        "fairness": fairness_section(evaluation, fairness_metrics),
        "bias": bias_section(evaluation, bias),
        "drift": _drift(drift),
        "explainability": _explainability(explanation, explanation_note),
        "regulatory": _regulatory(regulatory),
        **({"slices": slices} if slices is not None else {}),
        **({"mitigation": mitigation} if mitigation is not None else {}),
        **(extras or {}),
        **({"steps": steps} if steps else {}),
        "findings": (listed := with_ids([f.to_dict() for f in findings])),
        "facts": facts(listed),
        "summary": counts,
        "gate": gate,
    }
    return _clean(doc)


def dumps(document: dict[str, Any]) -> str:
    """The document as JSON text; refuses NaN."""
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def load_schema() -> dict[str, Any]:
    """The JSON Schema of the findings document, shipped in the package."""
    return json.loads(resources.files("audit").joinpath("schema/findings.schema.json").read_text(encoding="utf-8"))


def multiclass_section(table: Any, evaluation: Evaluation, groups: Any) -> dict[str, Any]:
    """The ``multiclass`` key: classes, confusion matrices and per-class metrics, overall and by group."""
    from ..statistics._cells import to_groups
    from ..statistics._multiclass import PER_CLASS_METRICS, class_key

    classes = list(evaluation.registry.classes)
    k = len(classes)
    counts = table.counts  # (leaves, K x K)

    def per_class(estimates: dict[str, Any], i: int | None) -> dict[str, Any]:
        pick = (lambda e: e) if i is None else (lambda e: e[i])
        return {c: {m: _estimate(pick(estimates[class_key(m, c)])) for m in PER_CLASS_METRICS} for c in classes}

    def matrix(sums: np.ndarray) -> list[list[int]]:
        return np.rint(sums.reshape(k, k)).astype(int).tolist()

    by_group_cm: dict[str, Any] = {}
    by_group_pc: dict[str, Any] = {}
    for g, gm in zip(groups.groupings, evaluation.by_grouping):
        sums = to_groups(counts, g.leaf_group, len(g.groups), axis=0)
        by_group_cm[g.name] = {name: matrix(sums[i]) for i, name in enumerate(g.groups)}
        by_group_pc[g.name] = {name: per_class(gm.metrics, i) for i, name in enumerate(g.groups)}
    return {"classes": classes,
            "confusion": {"overall": matrix(counts.sum(axis=0)), "by_group": by_group_cm},
            "per_class": {"overall": per_class(evaluation.overall, None), "by_group": by_group_pc}}
