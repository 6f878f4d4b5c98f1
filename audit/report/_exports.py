"""Exports of the findings document to other tools' formats: Model Card Toolkit JSON and a Hugging Face card.

Like every renderer they only read the findings document: each number they hold is one of its numbers.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from ._templates import environment

__all__ = ["MCT_SCHEMA_VERSION", "to_mct", "render_mct", "hf_metadata", "render_hf_card"]

MCT_SCHEMA_VERSION = "0.0.2"


def _text(value: Any) -> str:
    # MCT v0.0.2 carries metric values and bounds as strings; repr keeps every digit of a float.
    return repr(value) if isinstance(value, float) else str(value)


def _metric(name: str, entry: dict[str, Any], slice_: str | None) -> dict[str, Any] | None:
    if entry.get("value") is None:
        return None
    out: dict[str, Any] = {"type": name, "value": _text(entry["value"])}
    if entry.get("ci_low") is not None and entry.get("ci_high") is not None:
        out["confidence_interval"] = {"lower_bound": _text(entry["ci_low"]), "upper_bound": _text(entry["ci_high"])}
    if slice_ is not None:
        out["slice"] = slice_
    return out


def _drop_empty(mapping: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if v not in (None, "", [], {})}


def to_mct(document: dict[str, Any]) -> dict[str, Any]:
    """The document as a Model Card Toolkit model card (schema v0.0.2), as a mapping.

    Performance metrics hold every metric overall (no slice), by group (slice ``"sex=Female"``,
    ``"sex&race=Female&Black"``) and every fairness gap by attribute (slice ``"sex"``), each with its
    bootstrap interval; undefined values are left out.
    """
    a, r, m, d = document["audit"], document["audit"]["report"], document["model"], document["data"]
    metrics = [_metric(name, e, None) for name, e in document["metrics"]["overall"].items()]
    for attribute, groups in document["metrics"]["by_group"].items():
        for group, values in groups.items():
            metrics += [_metric(name, e, f"{attribute}={group}") for name, e in values.items()]
    for attribute, values in document["fairness"]["by_attribute"].items():
        metrics += [_metric(name, e, attribute) for name, e in values.items()]
    datasets = [_drop_empty({"name": a["data"]["test"]["name"], "sensitive": {"sensitive_data": d["sensitive"]},
                             "description": f"Evaluation data: {d['rows']} rows, SHA-256 "
                                            + ", ".join(a["data"]["test"]["sha256"]) + "."})]
    if a["data"]["train"] is not None:
        datasets.append(_drop_empty({"name": a["data"]["train"]["name"],
                                     "sensitive": {"sensitive_data": d["sensitive"]},
                                     "description": "Training data"
                                                    + (f": {d['train_rows']} rows" if d.get("train_rows") else "")
                                                    + ", SHA-256 " + ", ".join(a["data"]["train"]["sha256"]) + "."}))
    risks = [{"name": r["ethical_considerations"], "mitigation_strategy": r.get("recommendations") or ""}
             ] if r.get("ethical_considerations") else []
    risks += [{"name": f["message"], "mitigation_strategy": ""} for f in document["findings"]
              if f["status"] == "fail" and f["category"] in ("fairness", "bias")]
    card = {
        "schema_version": MCT_SCHEMA_VERSION,
        "model_details": _drop_empty({
            "name": a["title"], "overview": r.get("description") or "",
            "documentation": r.get("intended_use") or "",
            "owners": [{"name": o} for o in r.get("owners") or []],
            "version": {"name": r["version"]} if r.get("version") else None,
            "licenses": [{"identifier": r["license"]}] if r.get("license") else [],
            "path": m.get("file") or "",
        }),
        "model_parameters": _drop_empty({
            "model_architecture": m["type"], "data": datasets,
            "input_format": "Tabular rows with columns " + ", ".join(m["features"]),
            "output_format": f"Probability of {m['positive_label']!s} and a label "
                             f"({m['positive_label']!s} or {m['negative_label']!s})",
        }),
        "quantitative_analysis": {"performance_metrics": [x for x in metrics if x is not None]},
        "considerations": _drop_empty({
            "use_cases": [{"description": r["intended_use"]}] if r.get("intended_use") else [],
            "limitations": [{"description": text} for text in (r.get("limitations"), r.get("out_of_scope_use"))
                            if text],
            "ethical_considerations": risks,
        }),
    }
    return card


def render_mct(document: dict[str, Any]) -> str:
    """``model_card_toolkit.json``: :func:`to_mct` as JSON text."""
    return json.dumps(to_mct(document), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _hf_license(value: str | None) -> str:
    # The Hub's license field takes lower-case identifiers (apache-2.0, mit, ...); "unknown" when not stated.
    return value.strip().lower() if value else "unknown"


def hf_metadata(document: dict[str, Any]) -> dict[str, Any]:
    """YAML front matter of the Hugging Face card: license, tags and a ``model-index`` of the evaluation results.

    The results hold every overall metric and, for each sensitive attribute and intersection, the fairness
    gaps (metric ``type`` is the metric's name, ``name`` says which attribute).
    """
    a, m = document["audit"], document["model"]
    dataset = {"type": a["data"]["test"]["name"], "name": a["data"]["test"]["name"], "split": "test"}
    metrics = [{"type": name, "value": e["value"], "name": f"{name} (overall)"}
               for name, e in document["metrics"]["overall"].items() if e["value"] is not None]
    for attribute, values in document["fairness"]["by_attribute"].items():
        metrics += [{"type": name, "value": e["value"], "name": f"{name} ({attribute})"}
                    for name, e in values.items() if e["value"] is not None]
    tags = ["tabular-classification", "fairness", "model-card", "rai-audit", f"audit-gate-{document['gate']}"]
    meta: dict[str, Any] = {"license": _hf_license(a["report"].get("license")), "tags": tags,
                            "pipeline_tag": "tabular-classification"}
    if m["type"].startswith("sklearn."):
        meta["library_name"] = "sklearn"
    meta["model-index"] = [{"name": a["name"], "results": [{
        "task": {"type": "tabular-classification", "name": "Binary classification"},
        "dataset": dataset, "metrics": metrics}]}]
    return meta


def render_hf_card(document: dict[str, Any]) -> str:
    """``README.md``: a Hugging Face model card (YAML front matter, then Markdown sections)."""
    front = yaml.safe_dump(hf_metadata(document), sort_keys=False, allow_unicode=True, width=1000)
    body = environment().get_template("huggingface_card.md.j2").render(doc=document)
    return f"---\n{front}---\n\n{body}"
