"""Renderers of a comparison (the ``comparison`` key of a findings document): terminal text, Markdown, HTML."""

from __future__ import annotations

from typing import Any

from ._templates import environment, fmt_p

__all__ = ["render_comparison_text", "render_comparison_markdown", "render_comparison_html"]


def _num(v: float | None, spec: str = ".4f") -> str:
    return "—" if v is None else format(v, spec)


def _verdict(c: dict[str, Any]) -> str:
    if c["significant"] is None:
        return "not tested" + (f" ({c['note']})" if c.get("note") else "")
    if c["regression"]:
        return "REGRESSION"
    if c["improvement"]:
        return "improvement"
    if c["significant"]:
        return "significant change"
    return "not significant"


def _rows(changes: list[dict[str, Any]], *, subject: bool) -> list[str]:
    head = (f"{'subject':<28} " if subject else "") + f"{'metric':<32} {'baseline':>9} {'current':>9} " \
           f"{'change':>9} {'adj. p':>8}  verdict"
    lines = [head, "-" * len(head)]
    for c in changes:
        who = (c["attribute"] or "overall") + ("" if c["group"] is None else f"={c['group']}")
        lines.append((f"{who[:28]:<28} " if subject else "")
                     + f"{c['metric'][:32]:<32} {_num(c['old']):>9} {_num(c['new']):>9} {_num(c['change'], '+.4f'):>9} "
                       f"{fmt_p(c['p_adjusted'], name=''):>8}  {_verdict(c)}")
    return lines


def render_comparison_text(comparison: dict[str, Any], *, sensitive: list[str], limit: int = 20) -> str:
    """A plain-text report for the terminal: overall metrics, gaps, significant group changes, flips, drift."""
    c = comparison
    s, m = c["summary"], c["method"]
    out = [f"Comparison: {c['baseline']['name']} of {c['baseline']['created']} (gate {c['baseline']['gate']}) -> "
           f"{c['current']['name']} of {c['current']['created']} (gate {c['current']['gate']})",
           f"{'Same' if m['same_test_data'] else 'Different'} evaluation data, "
           f"{'same' if m['same_model'] else 'different'} model. Significant: Benjamini-Hochberg adjusted p < "
           f"{m['alpha']} ({m['test']})." + (f" Rows {m['pairing']}." if m.get("pairing") else ""),
           f"{s['significant_regressions']} significant regressions, {s['significant_improvements']} significant "
           f"improvements ({s['tested']} of {s['compared']} changes tested); {s['flipped_checks']} checks changed "
           f"status; {s['new_groups']} new and {s['vanished_groups']} vanished groups.", "", "Overall metrics"]
    out += _rows([x for x in c["metrics"] if x["attribute"] is None], subject=False)
    gaps = [x for x in c["fairness"] if x["attribute"] in sensitive]
    if gaps:
        out += ["", "Fairness gaps by sensitive attribute"] + _rows(gaps, subject=True)
    moved = [x for x in c["metrics"] if x["attribute"] is not None and x["significant"]] + \
            [x for x in c["fairness"] if x["attribute"] not in sensitive and x["significant"]]
    moved.sort(key=lambda x: (not x["regression"], x["p_adjusted"]))
    out += ["", f"Significant changes by group and intersection: {len(moved)}"
                + (f" (the {limit} smallest p first)" if len(moved) > limit else "")]
    if moved:
        out += _rows(moved[:limit], subject=True)
    if c["flipped_checks"]:
        out += ["", "Checks that changed status"]
        for f in c["flipped_checks"][:limit]:
            who = (f["attribute"] or "overall") + (f"={f['group']}" if f["group"] else "")
            out.append(f"  {f['check']} {who}{' ' + f['metric'] if f['metric'] else ''}: "
                       f"{f['old_status']} -> {f['new_status']}")
        if len(c["flipped_checks"]) > limit:
            out.append(f"  ... and {len(c['flipped_checks']) - limit} more")
    for label, key in (("New groups", "new"), ("Vanished groups", "vanished")):
        for attribute, names in c["groups"][key].items():
            out.append(f"{label} in {attribute}: {', '.join(names)}")
    d = c["drift"]
    base = [("—" if v is None else f"{100 * v:.1f}%") for v in (d["old_base_rate"], d["new_base_rate"])]
    out += ["", f"Data: {d['old_rows']:,} -> {d['new_rows']:,} evaluation rows; base rate {base[0]} -> {base[1]}."]
    for sh in d["group_shares"]:
        out.append(f"  {sh['attribute']}: total variation of group shares {sh['total_variation']:.4f} "
                   f"(largest: {sh['largest_change_group']} {100 * sh['old_share']:.1f}% -> "
                   f"{100 * sh['new_share']:.1f}%)")
    return "\n".join(out) + "\n"


def _page_doc(comparison: dict[str, Any], sensitive: list[str]) -> dict[str, Any]:
    # The section partials read doc.comparison and doc.data.sensitive, as they do inside a findings document.
    return {"comparison": comparison, "data": {"sensitive": sensitive}}


def render_comparison_markdown(comparison: dict[str, Any], *, sensitive: list[str]) -> str:
    """The comparison as Markdown (the section summary.md shows, under its own heading)."""
    return environment().get_template("comparison.md.j2").render(doc=_page_doc(comparison, sensitive))


def render_comparison_html(comparison: dict[str, Any], *, sensitive: list[str]) -> str:
    """The comparison as a self-contained HTML page (the model card's section on its own)."""
    return environment().get_template("comparison.html.j2").render(doc=_page_doc(comparison, sensitive))
