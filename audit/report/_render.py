"""Renderers: findings document in, text out. They read the document; what the card draws is laid out in
:mod:`audit.report._views`, and the templates only place it."""

from __future__ import annotations

import base64
import hashlib
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from ._templates import environment, template_dir
from ..findings._facts import finding_id
from ._views import card_view

__all__ = ["render_html", "render_markdown", "render_junit"]


def _card_script() -> dict[str, str]:
    # The card's one script (sorting, filtering, pickers) and its hash for the Content-Security-Policy,
    # which then refuses every other script: an escaping slip could not make data run.
    text = (template_dir() / "card.js").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return {"text": text, "sha256": digest}


def render_html(document: dict[str, Any], *, template: str | Path | None = None) -> str:
    """The model card as one self-contained HTML page.

    ``template`` may name a user's Jinja2 file that extends ``model_card.html.j2``. Templates receive the
    document as ``doc`` and its charts laid out as ``view`` (:func:`audit.report._views.card_view`).
    """
    if template is None:
        env, name = environment(), "model_card.html.j2"
    else:
        path = Path(template)
        env, name = environment(str(path.parent.resolve())), path.name
    return env.get_template(name).render(doc=document, view=card_view(document), card_script=_card_script())


def render_markdown(document: dict[str, Any]) -> str:
    """``summary.md``: a pull-request comment with the verdict, problems and key numbers."""
    return environment().get_template("summary.md.j2").render(doc=document)


_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(value: str) -> str:
    # XML 1.0 cannot carry most control characters, even escaped: data values may hold them.
    return _XML_INVALID.sub("\ufffd", value)


def render_junit(document: dict[str, Any]) -> str:
    """``junit.xml``: one test case per finding, named by the finding's stable id (``check.measure.subject``)
    so CI history follows a check from run to run.

    ``fail`` and ``error`` are failures and errors; a warning is ``skipped`` with ``type="warn"`` and an
    insufficient-data finding ``skipped`` with ``type="insufficient_data"``, so publishers list both with
    their message instead of hiding them as passes; a pass carries its message as output. The suite's
    properties hold the gate and the counts by status.
    """
    findings = document["findings"]
    skipped = sum(f["status"] in ("warn", "insufficient_data") for f in findings)
    suite = ET.Element("testsuite", name=f"audit.{document['audit']['name']}", tests=str(len(findings)),
                       failures=str(sum(f["status"] == "fail" for f in findings)),
                       errors=str(sum(f["status"] == "error" for f in findings)),
                       skipped=str(skipped), timestamp=document["audit"]["created"])
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", name="gate", value=document["gate"])
    for status, count in document["summary"].items():
        ET.SubElement(properties, "property", name=f"findings.{status}", value=str(count))
    for f in findings:
        case = ET.SubElement(suite, "testcase", classname=f"audit.{f['category']}.{f['check']}",
                             name=f.get("id") or finding_id(f))
        figures = f"value={f['value']} ci=[{f['ci_low']}, {f['ci_high']}] threshold={f['threshold']}"
        if f["status"] == "fail":
            ET.SubElement(case, "failure", message=f["message"], type=f["severity"]).text = figures
        elif f["status"] == "error":
            ET.SubElement(case, "error", message=f["message"], type="error").text = figures
        elif f["status"] in ("warn", "insufficient_data"):
            label = "warning" if f["status"] == "warn" else "insufficient data"
            ET.SubElement(case, "skipped", type=f["status"], message=f"{label}: {f['message']}").text = figures
        else:
            ET.SubElement(case, "system-out").text = f"{f['status']}: {f['message']}"
    suites = ET.Element("testsuites")
    suites.append(suite)
    ET.indent(suites)
    for element in suites.iter():
        element.text = None if element.text is None else _xml_text(element.text)
        for key, value in element.attrib.items():
            element.attrib[key] = _xml_text(value)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
