"""Gate policy: per-check severity, comparison with a baseline, exceptions with an expiry, the verdict.

Applied to a finished findings document (plain data in, plain data out), after the checks ran.

- ``gate.severity`` sets the severity of every finding of a check. Lowering it to ``warn`` turns a
  ``fail`` into ``warn``; raising it to ``block`` turns a ``warn`` into ``fail`` only where the finding
  has a threshold that the value clearly misses (a "too close to call" warning stays a warning, and
  so do advisory warnings without a threshold).
- With a baseline, the ``comparison`` key is added (see :mod:`audit.measures._compare`) and every significant
  regression is named in a ``baseline_regression`` finding, one per grouping (``overall``, ``sex``,
  ``sex&race``, ...; its value is the number of regressions): blocking when ``fail_on`` counts
  regressions, a warning otherwise. ``min_change`` ignores significant changes smaller than it.
- An active exception (``expires`` today or later) keeps the matching findings' status, marks them with
  ``"exception": {"reason", "expires", "index"}``, and they no longer fail the gate. An expired
  exception adds a blocking ``exception_expired`` finding that names it, so the gate fails until the
  exception is renewed or removed.
- ``fail_on``: ``any_fail`` (a blocking finding failed or erred), ``significant_regression`` (only
  significant regressions against the baseline, expired exceptions and crashed blocking checks fail
  the gate; without a baseline the policy falls back to ``any_fail`` and says so), or
  ``any_fail_or_regression`` (both).
"""

from __future__ import annotations

import copy
import json
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from ..inputs._predictions import RowOutputs, pair_documents
from ..measures._compare import Comparison, compare, task_of
from ..statistics._paired import PairedComparison, paired_outputs
from ..settings._config import GateConfig
from .._errors import AuditError
from ._facts import facts, with_ids
from ..checks._finding import Finding, Threshold, fmt, fmt_p, judge, undecided

__all__ = ["apply_policy", "load_findings", "paired_documents"]

_STATUSES = ("pass", "fail", "warn", "insufficient_data", "error")


def load_findings(path: str | Path) -> dict[str, Any]:
    """Read a ``findings.json``; a clear :class:`AuditError` when it is missing or not one."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AuditError(f"Cannot read findings {path}: {exc.strerror}. Pass the findings.json of an earlier "
                         "`audit run`.") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AuditError(f"{path} is not JSON ({exc}); pass the findings.json of an earlier `audit run`.") from None
    if not isinstance(doc, dict) or "metrics" not in doc or "findings" not in doc or "audit" not in doc:
        raise AuditError(f"{path} is not a findings document (no audit, metrics and findings keys); pass the "
                         "findings.json of an earlier `audit run`.")
    return doc


def _override(f: dict[str, Any], severity: str) -> dict[str, Any]:
    if f["severity"] == severity:
        return f
    f = {**f, "severity": severity}
    t = f.get("threshold")
    if t is not None:
        f["threshold"] = {**t, "severity": severity}
    if severity == "warn" and f["status"] == "fail":
        f["status"] = "warn"
    elif severity == "block" and f["status"] == "warn" and t is not None and f.get("value") is not None:
        f["status"] = judge(f["value"], f.get("ci_low"), f.get("ci_high"),
                            Threshold(metric=t["metric"], op=t["op"], value=t["value"], severity="block"))
    f["message"] = f"{f['message']} Severity set to {severity} by gate.severity."
    return f


def _regression_findings(comparison: Comparison, *, blocking: bool, min_change: float) -> list[dict[str, Any]]:
    """One finding per grouping (``overall`` first) that has significant regressions, naming each of them."""
    by_grouping: dict[str | None, list[Any]] = {}
    for c in comparison.regressions:
        if abs(c.change or 0.0) >= min_change:
            by_grouping.setdefault(c.attribute, []).append(c)
    out = []
    for attribute, changes in sorted(by_grouping.items(), key=lambda kv: kv[0] is not None):
        shown = "; ".join(f"{c.subject if c.group is not None else ''}{' ' if c.group is not None else ''}"
                          f"{c.metric} {fmt(c.old)} → {fmt(c.new)} ({c.change:+.3g}, {fmt_p(c.p_adjusted, name='adjusted p')})"
                          for c in changes[:5])
        more = f"; and {len(changes) - 5} more" if len(changes) > 5 else ""
        out.append(Finding(
            check="baseline_regression", category="comparison", status="fail" if blocking else "warn",
            severity="block" if blocking else "warn", value=float(len(changes)), attribute=attribute,
            message=f"{attribute or 'overall'}: {len(changes)} significant regression(s) against the baseline of "
                    f"{comparison.baseline['created']} (adjusted p < alpha {fmt(comparison.alpha)}): {shown}{more}."
        ).to_dict())
    return out


def _matches(f: dict[str, Any], exc: Any) -> bool:
    return (f["check"] == exc.check and (exc.attribute is None or f.get("attribute") == exc.attribute)
            and (exc.group is None or f.get("group") == exc.group))


def _describe(i: int, exc: Any) -> str:
    scope = "".join(f", {k} {v!r}" for k, v in (("attribute", exc.attribute), ("group", exc.group)) if v is not None)
    return f"gate.exceptions[{i}] (check {exc.check!r}{scope})"


def apply_policy(document: dict[str, Any], *, policy: GateConfig, baseline: dict[str, Any] | None = None,
                 today: date | None = None, baseline_source: str = "baseline",
                 paired: PairedComparison | None = None, pairing: str | None = None) -> dict[str, Any]:
    """The document with the gate policy applied: severities, comparison, exceptions, verdict.

    A document with the default policy and no baseline is returned unchanged (no ``policy`` key).

    Parameters
    ----------
    document : dict
        A findings document as :func:`audit.findings._document.build_document` makes it.
    policy : GateConfig
        The config's ``gate`` section.
    baseline : dict, optional
        The findings document of an earlier audit to compare with.
    today : date, optional
        The date exceptions expire against (default: today in UTC).
    baseline_source : str
        The baseline's file name, for messages.
    paired, pairing : optional
        The baseline's and this audit's outputs compared on their shared rows, and how the rows were
        matched (:func:`paired_documents`); passed to :func:`~audit.measures._compare.compare`.

    Examples
    --------
    >>> doc = json.loads(Path("tests/golden/findings_small.json").read_text(encoding="utf-8"))
    >>> apply_policy(doc, policy=GateConfig()) is doc
    True
    >>> out = apply_policy(doc, policy=GateConfig(fail_on="significant_regression"), baseline=doc)
    >>> out["gate"], out["comparison"]["summary"]["significant_regressions"], out["policy"]["effective"]
    ('pass', 0, 'significant_regression')
    """
    if baseline is None and policy == GateConfig():
        return document
    today = today or datetime.now(timezone.utc).date()
    doc = copy.deepcopy(document)
    findings = [_override(f, policy.severity[f["check"]]) if f["check"] in policy.severity else f
                for f in doc["findings"]]

    effective = policy.fail_on
    note = None
    comparison = None
    if baseline is not None:
        doc["findings"] = findings  # flips are judged on the statuses after severity overrides
        comparison = compare(baseline, doc, alpha=policy.alpha, old_source=baseline_source, paired=paired,
                             pairing=pairing)
        counted = policy.fail_on != "any_fail"
        findings += [_override(f, policy.severity["baseline_regression"])
                     if "baseline_regression" in policy.severity else f
                     for f in _regression_findings(comparison, blocking=counted, min_change=policy.min_change)]
    elif policy.fail_on != "any_fail":
        effective = "any_fail"
        note = (f"gate.fail_on is {policy.fail_on} but no baseline was given (`audit run --baseline "
                "FINDINGS.json`): the gate falls back to any_fail.")

    exceptions = []
    for i, exc in enumerate(policy.exceptions):
        expired = exc.expires < today
        matched = 0
        if not expired:
            for j, f in enumerate(findings):
                if f["status"] in ("fail", "warn", "error") and "exception" not in f and _matches(f, exc):
                    findings[j] = {**f, "exception": {"index": i, "reason": exc.reason,
                                                      "expires": exc.expires.isoformat()}}
                    matched += 1
        else:
            findings.append(Finding(
                check="exception_expired", category="policy", status="fail", severity="block",
                message=f"{_describe(i, exc)} expired on {exc.expires.isoformat()} (reason: {exc.reason}). "
                        "Renew it with a new expiry date and reason, or remove it and fix what it covered.",
            ).to_dict())
        exceptions.append({"index": i, "check": exc.check, "attribute": exc.attribute, "group": exc.group,
                           "reason": exc.reason, "expires": exc.expires.isoformat(),
                           "status": "expired" if expired else "active", "matched": matched})

    def gating(f: dict[str, Any]) -> bool:
        if f["severity"] != "block" or f["status"] not in ("fail", "error") or "exception" in f:
            return False
        if effective == "significant_regression":
            return f["check"] in ("baseline_regression", "exception_expired") or f["status"] == "error"
        return True

    blocking = [f for f in findings if gating(f)]
    # Blocking checks not shown either way hold the gate up as inconclusive (not under
    # significant_regression, which judges only regressions against the baseline).
    held_up = [f for f in findings
               if effective != "significant_regression" and "exception" not in f
               and undecided(status=f["status"], severity=f["severity"], has_threshold=bool(f.get("threshold")),
                             attribute=f.get("attribute"))]
    doc.pop("findings"), doc.pop("facts", None), doc.pop("summary"), doc.pop("gate")
    if comparison is not None:
        doc["comparison"] = comparison.to_dict()
    doc["policy"] = {
        "fail_on": policy.fail_on, "effective": effective, "alpha": policy.alpha, "min_change": policy.min_change,
        "severity": dict(policy.severity), "exceptions": exceptions, "note": note,
        "baseline": None if baseline is None else baseline_source,
        "gating_findings": len(blocking),
    }
    doc["findings"] = with_ids(findings)
    doc["facts"] = facts(doc["findings"])
    doc["summary"] = {s: sum(f["status"] == s for f in findings) for s in _STATUSES}
    doc["gate"] = "fail" if blocking else "inconclusive" if held_up else "pass"
    return doc


def paired_documents(old: dict[str, Any], new: dict[str, Any], *, old_path: str | Path, new_path: str | Path | None = None,
                     new_rows: RowOutputs | None = None) -> tuple[PairedComparison | None, str]:
    """Both audits' row-level outputs compared on their shared rows, or None, and how the rows were matched
    (or why they could not be)."""
    pairing = pair_documents(old, new, old_path=old_path, new_path=new_path, new_rows=new_rows)
    if not pairing.paired:
        return None, f"not paired: {pairing.how}; each change is tested as between independent samples"
    assert pairing.old is not None and pairing.new is not None
    data, boot = new["data"], new["audit"].get("bootstrap", {})
    metrics = [m for m in new["metrics"]["overall"] if m in old["metrics"]["overall"]]
    fairness = list(dict.fromkeys(m for a in new["fairness"]["by_attribute"].values() for m in a))
    paired = paired_outputs(pairing.old, pairing.new, task=task_of(new), intersections=data.get("intersections", 2),
                            min_group_size=max(data.get("min_group_size", 30),
                                               old["data"].get("min_group_size", 30)),
                            metrics=metrics, fairness=fairness, replicates=boot.get("replicates", 200) or 200,
                            level=boot.get("level", 0.95), seed=new["audit"].get("seed", 0))
    return paired, f"paired: {pairing.how}"
