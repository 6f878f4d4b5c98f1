"""Findings grouped by fact: one headline per check, measure and status, listing the subjects it holds for.

An audit of three attributes and their intersections judges demographic parity six times; when five of them
fail, that is one fact (the model selects groups at different rates) seen in five groupings, not five
problems. The card and the pull-request summary show one line per fact, with the findings one click away;
``findings.json`` keeps every finding, each with a stable ``id`` (``check.measure.subject``) that CI
publishers and exceptions can follow from one run to the next.

Plain data in, plain data out: these functions read and return the document's finding mappings.
"""

from __future__ import annotations

from typing import Any

from ..checks._finding import OP_SYMBOLS, fmt, readable

__all__ = ["finding_id", "with_ids", "facts", "measure_of", "subject_of"]

#: Status order of the facts: what blocks first, then what was not shown, then what is fine.
_ORDER = {"error": 0, "fail": 1, "warn": 2, "insufficient_data": 3, "pass": 4}
#: Subjects listed in a headline before "and N more" (the fact's details list them all), and the length
#: the list stops at: a headline is one line of a summary.
_LISTED, _CHARS = 6, 160


def measure_of(finding: dict[str, Any]) -> str | None:
    """What a finding measured: its ``measure``, else its threshold's metric, else None."""
    if finding.get("measure"):
        return finding["measure"]
    threshold = finding.get("threshold")
    return threshold["metric"] if threshold else None


def subject_of(finding: dict[str, Any]) -> str:
    """What a finding is about: its ``subject``, else ``attribute=group``, the attribute, or ``overall``.

    Examples
    --------
    >>> subject_of({"attribute": "sex", "group": "Female"}), subject_of({"attribute": None, "group": None})
    ('sex=Female', 'overall')
    """
    if finding.get("subject"):
        return finding["subject"]
    if finding.get("attribute"):
        return finding["attribute"] + (f"={finding['group']}" if finding.get("group") else "")
    return "overall"


def finding_id(finding: dict[str, Any]) -> str:
    """The finding's stable name, ``check.measure.subject``: the same check of the same subject has the
    same id in every run, whatever its value or status (``-`` for a check without a measure).

    Examples
    --------
    >>> finding_id({"check": "fairness", "threshold": {"metric": "demographic_parity_difference"},
    ...             "attribute": "sex", "group": None})
    'fairness.demographic_parity_difference.sex'
    """
    return f"{finding['check']}.{measure_of(finding) or '-'}.{subject_of(finding)}"


def with_ids(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The findings, each with its ``id``; a name that repeats gets ``#2``, ``#3`` in the order found, so
    ids are unique in a document."""
    seen: dict[str, int] = {}
    out = []
    for f in findings:
        base = finding_id(f)
        seen[base] = seen.get(base, 0) + 1
        out.append({**f, "id": base if seen[base] == 1 else f"{base}#{seen[base]}"})
    return out


def _figure(f: dict[str, Any]) -> str:
    if f.get("value") is None:
        return "undefined"
    if f.get("ci_low") is not None and f.get("ci_high") is not None:
        return f"{fmt(f['value'])} ({fmt(f['ci_low'])} to {fmt(f['ci_high'])})"
    return fmt(f["value"])


def _threshold_text(t: dict[str, Any]) -> str:
    return f"{OP_SYMBOLS.get(t['op'], t['op'])} {fmt(t['value'])}"


def _verb(status: str, shown: set[str], threshold: dict[str, Any] | None) -> str:
    if threshold is None:
        return {"pass": "passed", "fail": "failed", "warn": "warned", "insufficient_data": "could not be judged",
                "error": "could not run"}[status]
    limit = _threshold_text(threshold)
    if status == "pass":
        return f"shown within {limit}"
    if status == "insufficient_data":
        return f"could not be judged against {limit}"
    if status == "error":
        return "could not run"
    if shown == {"neither"}:
        return f"not shown either way against {limit}"
    if status == "warn" and "neither" not in shown:
        return f"beyond {limit} (a warning)"
    return f"shown beyond {limit}" if status == "fail" else f"beyond or not shown against {limit}"


def _headline(members: list[dict[str, Any]], *, total: int) -> str:
    first = members[0]
    if len(members) == 1:
        return first["message"]
    name = readable(first["check"])
    measure = measure_of(first)
    threshold = first.get("threshold")
    same_threshold = all(m.get("threshold") == threshold for m in members)
    verb = _verb(first["status"], {m.get("shown") or "" for m in members}, threshold if same_threshold else None)
    what = f"{name}, {readable(measure)}" if measure and readable(measure) != name else name
    items: list[str] = []
    for m in members[:_LISTED]:
        item = f"{subject_of(m)} {_figure(m)}" if m.get("value") is not None else subject_of(m)
        if items and sum(map(len, items)) + len(item) > _CHARS:
            break
        items.append(item)
    listed = "; ".join(items)
    more = f"; and {len(members) - len(items)} more" if len(members) > len(items) else ""
    return f"{what}: {verb} for {len(members)} of {total}: {listed}{more}."


def facts(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The findings grouped by fact: one entry per check, measure, status and exception, blocking and
    failing first, each with its headline and the ids of its findings (worst value first for the findings
    of a threshold, in the checks' own order otherwise).

    Examples
    --------
    >>> t = {"metric": "demographic_parity_difference", "op": "<=", "value": 0.1, "severity": "block"}
    >>> fs = [{"id": f"fairness.demographic_parity_difference.{a}", "check": "fairness", "category": "fairness",
    ...        "status": "fail", "severity": "block", "message": "...", "value": v, "ci_low": v - 0.01,
    ...        "ci_high": v + 0.01, "threshold": t, "attribute": a, "group": None, "shown": "beyond"}
    ...       for a, v in (("sex", 0.16), ("age", 0.26))]
    >>> [(f["status"], f["count"], f["subjects"]) for f in facts(fs)]
    [('fail', 2, ['age', 'sex'])]
    >>> facts(fs)[0]["headline"]
    'fairness, demographic parity difference: shown beyond ≤ 0.1 for 2 of 2: age 0.26 (0.25 to 0.27); sex 0.16 (0.15 to 0.17).'
    """
    groups: dict[tuple[str, str | None, str, bool], list[dict[str, Any]]] = {}
    totals: dict[tuple[str, str | None], int] = {}
    for f in findings:
        measure = measure_of(f)
        totals[(f["check"], measure)] = totals.get((f["check"], measure), 0) + 1
        groups.setdefault((f["check"], measure, f["status"], "exception" in f), []).append(f)
    out = []
    for (check, measure, status, excepted), members in groups.items():
        threshold = members[0].get("threshold")
        if threshold and all(m.get("value") is not None for m in members):
            # The member furthest on the threshold's wrong side first: the headline leads with the worst.
            sign = -1 if threshold["op"] == "<=" else 1
            members = sorted(members, key=lambda m: sign * m["value"])
        out.append({
            "id": f"{check}.{measure or '-'}.{status}" + (".excepted" if excepted else ""),
            "check": check, "category": members[0]["category"], "measure": measure, "status": status,
            "severity": "block" if any(m["severity"] == "block" for m in members) else "warn",
            "excepted": excepted, "threshold": threshold if all(m.get("threshold") == threshold for m in members)
            else None,
            "count": len(members), "of": totals[(check, measure)],
            "subjects": [subject_of(m) for m in members], "findings": [m["id"] for m in members],
            "headline": _headline(members, total=totals[(check, measure)]),
        })
    out.sort(key=lambda f: (_ORDER[f["status"]], f["excepted"], f["severity"] != "block", -f["count"]))
    return out
