"""What changed between two audits: metric and gap deltas with significance, flipped checks, groups, drift.

Reads two findings documents (plain JSON data) and returns frozen data; it renders nothing.

Significance rule
-----------------
Each run's bootstrap interval gives a standard error, ``se = (ci_high - ci_low) / (2 z)`` with
``z`` the normal quantile of the run's interval level. A change is tested with a two-sided z-test,
``z = (new - old) / sqrt(se_old² + se_new²)``, and the p-values of every tested change (overall,
by group, fairness gaps) are adjusted together with Benjamini-Hochberg. A change is *significant*
when its adjusted p-value is below ``alpha``.

The test treats the two runs as independent samples, which is right when they evaluate different
data (this quarter's rows against last quarter's). When both evaluate the same test file (equal
SHA-256) with different models, the two estimates share their rows and are positively correlated,
so the variance of the difference is smaller than the sum used here: the test is conservative
(it can miss a real change, it does not invent one). When both audits wrote their row-level outputs
(``predictions.parquet``) for the same rows, the caller pairs them (``paired=``) and each change is
tested on the paired rows instead: McNemar, DeLong or the paired bootstrap. Changes without intervals (no
bootstrap replicates), undefined values, and groups under ``min_group_size`` in either run are
reported with ``significant: null`` and never count as significant; so are changes whose intervals have zero
width in both runs.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

from .._errors import AuditError
from ..statistics._evaluate import benjamini_hochberg
from ..statistics._paired import PairedComparison
from ._significance import significantly_better, significantly_worse

__all__ = ["Change", "StatusFlip", "Comparison", "compare", "METHOD", "ASSUMPTION", "PAIRED_METHOD", "task_of",
           "check_same_task"]

METHOD = ("two-sided z-test on the difference, standard errors from each run's bootstrap interval, "
          "Benjamini-Hochberg adjusted across every tested change")
ASSUMPTION = ("The runs are treated as independent samples. When both evaluate the same test data, the "
              "estimates are positively correlated and the test is conservative; a paired test would need "
              "both models' row-level predictions, which findings documents do not hold.")

PAIRED_METHOD = ("paired on the same evaluation rows (both audits' predictions.parquet): McNemar's exact test for "
                 "rates whose denominator does not depend on the model, DeLong's test for ROC AUC, a bootstrap with "
                 "shared row weights otherwise; Benjamini-Hochberg adjusted across every tested change")
PAIRED_ASSUMPTION = ("Both audits scored the same rows, so each change is tested on the rows' paired outputs; a "
                     "change the paired comparison could not test falls back to the independent z-test (its "
                     "`test` says which).")


@dataclass(frozen=True)
class Change:
    """The change of one metric (overall or for one group) or one fairness gap between two runs.

    ``direction`` is the metric's: ``higher`` or ``lower`` is better, ``none`` when neither.
    ``effect`` is ``better``, ``worse``, ``same`` or ``none`` (no direction, or a value undefined).
    ``significant`` is None when the change could not be tested (no intervals, undefined values,
    or a group under ``min_group_size`` in either run).
    """

    kind: str
    metric: str
    attribute: str | None
    group: str | None
    direction: str
    old: float | None
    new: float | None
    change: float | None
    old_ci_low: float | None
    old_ci_high: float | None
    new_ci_low: float | None
    new_ci_high: float | None
    p_value: float | None
    p_adjusted: float | None
    significant: bool | None
    effect: str
    note: str | None
    #: "independent z-test", or the paired test (``mcnemar``, ``delong``, ``paired bootstrap``).
    test: str = "independent z-test"
    #: The paired interval of the change (None when the rows were not paired).
    change_ci_low: float | None = None
    change_ci_high: float | None = None

    @property
    def regression(self) -> bool:
        """A significant change for the worse (:func:`~audit.measures._significance.significantly_worse`)."""
        return significantly_worse(significant=self.significant, difference=self.change, direction=self.direction)

    @property
    def improvement(self) -> bool:
        """A significant change for the better (:func:`~audit.measures._significance.significantly_better`)."""
        return significantly_better(significant=self.significant, difference=self.change, direction=self.direction)

    @property
    def subject(self) -> str:
        """``overall``, ``sex`` or ``sex=Female``, for messages."""
        if self.attribute is None:
            return "overall"
        return self.attribute if self.group is None else f"{self.attribute}={self.group}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "regression": self.regression, "improvement": self.improvement}


@dataclass(frozen=True)
class StatusFlip:
    """A check whose status differs between the runs."""

    check: str
    category: str
    attribute: str | None
    group: str | None
    metric: str | None
    old_status: str
    new_status: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Comparison:
    """Everything :func:`compare` found; ``to_dict`` is the ``comparison`` key of a findings document."""

    baseline: dict[str, Any]
    current: dict[str, Any]
    alpha: float
    same_test_data: bool
    same_model: bool
    metrics: tuple[Change, ...]
    fairness: tuple[Change, ...]
    flipped_checks: tuple[StatusFlip, ...]
    new_groups: dict[str, list[str]]
    vanished_groups: dict[str, list[str]]
    drift: dict[str, Any]
    #: How the rows were paired, or why they were not (None: pairing was not tried).
    pairing: str | None = None
    paired: bool = False

    @property
    def regressions(self) -> tuple[Change, ...]:
        """Significant changes for the worse, metrics first, then fairness gaps."""
        return tuple(c for c in (*self.metrics, *self.fairness) if c.regression)

    def summary(self) -> dict[str, int]:
        changes = (*self.metrics, *self.fairness)
        return {
            "compared": len(changes),
            "tested": sum(c.significant is not None for c in changes),
            "significant_regressions": sum(c.regression for c in changes),
            "significant_improvements": sum(c.improvement for c in changes),
            "flipped_checks": len(self.flipped_checks),
            "new_groups": sum(map(len, self.new_groups.values())),
            "vanished_groups": sum(map(len, self.vanished_groups.values())),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline, "current": self.current,
            "method": {"test": PAIRED_METHOD if self.paired else METHOD, "alpha": self.alpha,
                       "assumption": PAIRED_ASSUMPTION if self.paired else ASSUMPTION,
                       "same_test_data": self.same_test_data, "same_model": self.same_model,
                       "paired": self.paired,
                       **({} if self.pairing is None else {"pairing": self.pairing})},
            "summary": self.summary(),
            "metrics": [c.to_dict() for c in self.metrics],
            "fairness": [c.to_dict() for c in self.fairness],
            "flipped_checks": [f.to_dict() for f in self.flipped_checks],
            "groups": {"new": self.new_groups, "vanished": self.vanished_groups},
            "drift": self.drift,
        }


def _require(doc: Any, source: str) -> dict[str, Any]:
    keys = ("schema_version", "audit", "data", "metrics", "fairness", "findings")
    if not isinstance(doc, dict) or any(k not in doc for k in keys):
        raise AuditError(f"{source} is not a findings document (it needs the keys {', '.join(keys)}); pass the "
                         "findings.json that `audit run` wrote.")
    return doc


def task_of(doc: dict[str, Any]) -> str:
    """The task of a findings document (``model.task``; documents from before tasks were binary)."""
    return str((doc.get("model") or {}).get("task") or "binary")


def check_same_task(old: dict[str, Any], new_task: str, *, old_source: str, new_source: str) -> None:
    """Refuse to compare audits of different tasks: they share no metric, no fairness gap and no group counts
    with the same meaning. Raises AuditError naming both files and tasks."""
    old_task = task_of(old)
    if old_task != new_task:
        raise AuditError(f"{old_source} holds the findings of a {old_task} audit and {new_source} of a {new_task} "
                         f"audit; audits of different tasks measure different things and cannot be compared. Pass "
                         f"the findings.json of an earlier {new_task} audit of this model.")


def _se(ci_low: float | None, ci_high: float | None, z: float) -> float | None:
    if ci_low is None or ci_high is None:
        return None
    return (ci_high - ci_low) / (2 * z)


def _effect(direction: str, change: float | None) -> str:
    if change is None or direction == "none":
        return "none"
    if change == 0:
        return "same"
    return "better" if (change > 0) == (direction == "higher") else "worse"


def _raw_change(*, kind: str, metric: str, attribute: str | None, group: str | None, direction: str,
                old: dict[str, Any], new: dict[str, Any], z_old: float, z_new: float,
                eligible: bool) -> tuple[dict[str, Any], float]:
    """The fields of a :class:`Change` but its adjusted p-value, and its raw p-value (NaN if untested)."""
    a, b = old.get("value"), new.get("value")
    change = None if a is None or b is None else b - a
    se_a, se_b = _se(old.get("ci_low"), old.get("ci_high"), z_old), _se(new.get("ci_low"), new.get("ci_high"), z_new)
    p, note = math.nan, None
    if change is None:
        note = "undefined in " + ("both runs" if a is None and b is None else "the baseline" if a is None
                                  else "this run")
    elif not eligible:
        note = "group under min_group_size in a run: not tested"
    elif se_a is None or se_b is None:
        note = "no bootstrap interval in a run: not tested"
    elif se_a + se_b == 0:
        # Zero-width intervals (a bootstrap that never varied, e.g. a ratio stuck at 0) claim a certainty the
        # data cannot have: such a change is reported, not tested.
        note = "zero-width intervals in both runs: not tested"
    else:
        p = float(2 * stats.norm.sf(abs(change) / math.hypot(se_a, se_b)))
    fields = dict(kind=kind, metric=metric, attribute=attribute, group=group, direction=direction, old=a, new=b,
                  change=change, old_ci_low=old.get("ci_low"), old_ci_high=old.get("ci_high"),
                  new_ci_low=new.get("ci_low"), new_ci_high=new.get("ci_high"), note=note)
    return fields, p


def _z(doc: dict[str, Any]) -> float:
    level = doc["audit"].get("bootstrap", {}).get("level", 0.95)
    return float(stats.norm.ppf((1 + level) / 2))


def _eligible(entry: dict[str, Any], min_group_size: int) -> bool:
    support = entry.get("support")
    return entry.get("n", 0) >= min_group_size and (support is None or support >= min_group_size)


def _finding_key(f: dict[str, Any]) -> tuple[Any, ...]:
    t = f.get("threshold") or {}
    return (f["check"], f.get("attribute"), f.get("group"), t.get("metric"), t.get("op"))


def _shares(groups: dict[str, int]) -> dict[str, float]:
    total = sum(groups.values())
    return {g: n / total for g, n in groups.items()} if total else {}


def _drift_summary(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """How the evaluation data moved between the runs: rows, base rate, group shares, drift vs reference."""
    od, nd = old["data"], new["data"]
    shares = []
    for attribute in [a for a in nd.get("sensitive", []) if a in od.get("groups", {}) and a in nd.get("groups", {})]:
        so, sn = _shares(od["groups"][attribute]), _shares(nd["groups"][attribute])
        names = list(dict.fromkeys([*so, *sn]))
        deltas = {g: sn.get(g, 0.0) - so.get(g, 0.0) for g in names}
        top = max(names, key=lambda g: abs(deltas[g]))
        shares.append({"attribute": attribute, "total_variation": 0.5 * sum(abs(d) for d in deltas.values()),
                       "largest_change_group": top, "old_share": so.get(top, 0.0), "new_share": sn.get(top, 0.0)})
    reference = []
    if old.get("drift") and new.get("drift"):
        before = {d["feature"]: d["psi"] for d in old["drift"]["features"]}
        for d in new["drift"]["features"]:
            if d["feature"] in before:
                reference.append({"feature": d["feature"], "old_psi": before[d["feature"]], "new_psi": d["psi"],
                                  "change": d["psi"] - before[d["feature"]]})
        reference.sort(key=lambda r: -abs(r["change"]))
    base = [None if d["rows"] == 0 else d["positives"] / d["rows"] for d in (od, nd)]
    return {"old_rows": od["rows"], "new_rows": nd["rows"], "old_base_rate": base[0], "new_base_rate": base[1],
            "group_shares": shares, "reference_psi": reference[:10]}


def _identity(doc: dict[str, Any]) -> dict[str, Any]:
    a = doc["audit"]
    return {"name": a["name"], "created": a["created"], "gate": doc.get("gate"),
            "model_sha256": a.get("model_sha256"), "test_sha256": a.get("data", {}).get("test", {}).get("sha256")}


def _use_paired(raw: list[tuple[dict[str, Any], float]],
                paired: PairedComparison) -> list[tuple[dict[str, Any], float]]:
    """Each change the paired comparison tested gets its paired p-value, test and interval."""
    found = {(d.metric, d.grouping, d.group): d for d in paired.differences if d.p_value is not None}
    out = []
    for fields, p in raw:
        d = found.get((fields["metric"], fields["attribute"], fields["group"]))
        if d is None or fields["change"] is None:
            out.append((fields, p))
            continue
        out.append(({**fields, "test": d.test, "change_ci_low": d.ci_low, "change_ci_high": d.ci_high,
                     "note": None}, float(d.p_value)))
    return out


def compare(old: dict[str, Any], new: dict[str, Any], *, alpha: float = 0.05, old_source: str = "baseline",
            new_source: str = "current", paired: PairedComparison | None = None,
            pairing: str | None = None) -> Comparison:
    """Compare two findings documents.

    Parameters
    ----------
    old, new : dict
        Findings documents (``findings.json``) of the baseline and of the current run.
    alpha : float
        Significance level for the Benjamini-Hochberg adjusted p-values (see the module docstring).
    old_source, new_source : str
        What to call the documents in error messages (their file names).
    paired : PairedComparison, optional
        Both audits' outputs compared on the same rows (:func:`audit.statistics._paired.paired_outputs`):
        the changes it tested take its p-values (McNemar, DeLong or the paired bootstrap) and intervals.
    pairing : str, optional
        How the rows were matched, or why they could not be; shown in ``method.pairing``.

    Returns
    -------
    Comparison

    Raises
    ------
    AuditError
        A document is not a findings document, or ``alpha`` is not in (0, 1).

    Examples
    --------
    >>> import json, pathlib
    >>> doc = json.loads(pathlib.Path("tests/golden/findings_small.json").read_text(encoding="utf-8"))
    >>> c = compare(doc, doc)
    >>> c.summary()["significant_regressions"], all(ch.change in (0, None) for ch in c.metrics)
    (0, True)
    """
    old, new = _require(old, old_source), _require(new, new_source)
    check_same_task(old, task_of(new), old_source=old_source, new_source=new_source)
    if not 0 < alpha < 1:
        raise AuditError(f"alpha must lie between 0 and 1; got {alpha}.")
    z_old, z_new = _z(old), _z(new)
    mgs = max(old["data"].get("min_group_size", 1), new["data"].get("min_group_size", 1))
    definitions = {**old["metrics"].get("definitions", {}), **new["metrics"].get("definitions", {})}
    raw: list[tuple[dict[str, Any], float]] = []
    for metric, entry in new["metrics"]["overall"].items():
        if metric in old["metrics"]["overall"]:
            raw.append(_raw_change(kind="metric", metric=metric, attribute=None, group=None,
                                   direction=definitions.get(metric, {}).get("direction", "none"),
                                   old=old["metrics"]["overall"][metric], new=entry, z_old=z_old, z_new=z_new,
                                   eligible=True))
    for attribute, groups in new["metrics"]["by_group"].items():
        for group, metrics in groups.items():
            before = old["metrics"]["by_group"].get(attribute, {}).get(group)
            if before is None:
                continue
            for metric, entry in metrics.items():
                if metric in before:
                    raw.append(_raw_change(kind="metric", metric=metric, attribute=attribute, group=group,
                                           direction=definitions.get(metric, {}).get("direction", "none"),
                                           old=before[metric], new=entry, z_old=z_old, z_new=z_new,
                                           eligible=_eligible(before[metric], mgs) and _eligible(entry, mgs)))
    n_metrics = len(raw)
    fair_defs = {**old["fairness"].get("definitions", {}), **new["fairness"].get("definitions", {})}
    for attribute, metrics in new["fairness"]["by_attribute"].items():
        for metric, entry in metrics.items():
            before = old["fairness"]["by_attribute"].get(attribute, {}).get(metric)
            if before is not None:
                kind = fair_defs.get(metric, {}).get("kind", "difference" if metric.endswith("difference") else "ratio")
                raw.append(_raw_change(kind="fairness", metric=metric, attribute=attribute, group=None,
                                       direction="lower" if kind == "difference" else "higher", old=before,
                                       new=entry, z_old=z_old, z_new=z_new, eligible=True))
    if paired is not None:
        raw = _use_paired(raw, paired)
    adjusted = benjamini_hochberg(np.array([p for _, p in raw], dtype=float))
    changes = []
    for (fields, p), q in zip(raw, adjusted):
        tested = math.isfinite(p)
        changes.append(Change(**fields, p_value=p if tested else None, p_adjusted=float(q) if tested else None,
                              significant=bool(q < alpha) if tested else None,
                              effect=_effect(fields["direction"], fields["change"])))

    before = {_finding_key(f): f for f in old["findings"]}
    flips = []
    for f in new["findings"]:
        o = before.get(_finding_key(f))
        if o is not None and o["status"] != f["status"]:
            flips.append(StatusFlip(check=f["check"], category=f["category"], attribute=f.get("attribute"),
                                    group=f.get("group"), metric=(f.get("threshold") or {}).get("metric"),
                                    old_status=o["status"], new_status=f["status"], message=f["message"]))

    og, ng = old["data"].get("groups", {}), new["data"].get("groups", {})
    new_groups = {a: [g for g in ng[a] if g not in og.get(a, {})] for a in ng}
    vanished = {a: [g for g in og[a] if g not in ng.get(a, {})] for a in og}
    old_id, new_id = _identity(old), _identity(new)
    return Comparison(
        baseline=old_id, current=new_id, alpha=alpha,
        same_test_data=bool(old_id["test_sha256"]) and old_id["test_sha256"] == new_id["test_sha256"],
        same_model=bool(old_id["model_sha256"]) and old_id["model_sha256"] == new_id["model_sha256"],
        metrics=tuple(changes[:n_metrics]), fairness=tuple(changes[n_metrics:]), flipped_checks=tuple(flips),
        new_groups={a: gs for a, gs in new_groups.items() if gs},
        vanished_groups={a: gs for a, gs in vanished.items() if gs},
        drift=_drift_summary(old, new), pairing=pairing, paired=paired is not None)
