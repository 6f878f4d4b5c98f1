"""Templates place what Python laid out: they judge nothing, and the card follows findings.json.

1. Every bundled template is parsed with Jinja2 (``Environment.parse``) and its AST searched for a comparison
   that judges: a ``Compare`` node one of whose operands touches the config, a threshold or a value of the
   document (a metric, an interval end, a p-value, a support ...), or compares a number with anything but a
   count. Nor may a template name jitter, colour ranks or randomness: those are laid out in
   ``audit/report/_views.py``.
2. A card follows the findings, not the config copied into the document: contradict one with the other and
   the card shows what the findings say.
3. The same document renders the same HTML, and findings.json holds no layout (jitter, rank).
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import jinja2
import pytest
from jinja2 import nodes

from audit.findings._document import load_schema
from audit.report import render_html
from audit.report._templates import environment, template_dir
from audit.report._views import WORSE, card_view, colour_ranks, jitter

GOLDEN = Path(__file__).resolve().parents[1] / "golden"

#: Names whose comparison is a judgement: the config, thresholds, sizes that decide what is judged.
JUDGED = {"config", "checks", "threshold", "thresholds", "limit", "min", "max", "min_group_size", "min_support",
          "alpha", "four_fifths_rule", "severity_threshold"}
#: Fields of the document that hold numbers to judge.
VALUES = {"value", "values", "ci_low", "ci_high", "p_value", "p_adjusted", "difference", "support", "psi",
          "impact_ratio", "selection_rate", "ratio", "change", "statistic", "share", "rate", "score", "gap",
          "overall", "accuracy", "old", "new", "z", "effect_size", "cramers_v", "balanced_accuracy"}
#: What a number may be compared with: counts.
COUNTS = {"length", "count", "index", "index0", "intersections", "revindex", "revindex0", "gating_findings"}
#: Names of presentation that must be laid out in Python, never in a template.
LAYOUT = {"jitter", "rank", "ranks", "random", "shuffle"}


def _templates() -> list[Path]:
    return sorted(p for p in template_dir().rglob("*.j2"))


def _names(node: nodes.Node) -> set[str]:
    """Every variable, attribute and constant item key an expression reads."""
    out: set[str] = set()
    for n in [node, *node.find_all((nodes.Name, nodes.Getattr, nodes.Getitem, nodes.Filter))]:
        if isinstance(n, nodes.Name):
            out.add(n.name)
        elif isinstance(n, nodes.Getattr):
            out.add(n.attr)
        elif isinstance(n, nodes.Getitem) and isinstance(n.arg, nodes.Const) and isinstance(n.arg.value, str):
            out.add(n.arg.value)
        elif isinstance(n, nodes.Filter):
            out.add(n.name)
    return out


def _is_count(node: nodes.Node) -> bool:
    if isinstance(node, nodes.Filter) and node.name in ("length", "count"):
        return True
    return isinstance(node, nodes.Getattr) and node.attr in COUNTS


def _is_number(node: nodes.Node) -> bool:
    return isinstance(node, nodes.Const) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool)


def judging_comparisons(source: str, env: jinja2.Environment) -> list[str]:
    """The comparisons of a template that judge a value, as ``line N: names`` (empty when it judges nothing)."""
    found = []
    for cmp in env.parse(source).find_all(nodes.Compare):
        operands = [cmp.expr, *(op.expr for op in cmp.ops)]
        touched = set().union(*(_names(o) for o in operands))
        bad = touched & (JUDGED | VALUES)
        if any(_is_number(o) for o in operands) and not all(_is_number(o) or _is_count(o) for o in operands):
            bad |= {"a number compared with something other than a count"}
        if bad:
            found.append(f"line {cmp.lineno}: {', '.join(sorted(bad))}")
    return found


@pytest.mark.parametrize("path", _templates(), ids=lambda p: str(p.relative_to(template_dir())))
def test_no_template_judges_a_value(path):
    env = environment()
    found = judging_comparisons(path.read_text(encoding="utf-8"), env)
    assert not found, f"{path.name} judges values itself (decide it in Python, e.g. audit/report/_views.py): {found}"


@pytest.mark.parametrize("path", _templates(), ids=lambda p: str(p.relative_to(template_dir())))
def test_no_template_lays_out_jitter_ranks_or_randomness(path):
    ast = environment().parse(path.read_text(encoding="utf-8"))
    used = set().union(set(), *(_names(n) for n in ast.find_all((nodes.Name, nodes.Getattr, nodes.Getitem))))
    assert not used & LAYOUT, f"{path.name} reads {sorted(used & LAYOUT)}; lay it out in audit/report/_views.py"


@pytest.mark.parametrize("source, expected", [
    ("{% if m.value > limit %}x{% endif %}", True),
    ("{% if doc.audit.config.checks.fairness.max.get('x') %}{% endif %}{% if a.config.x == 1 %}{% endif %}", True),
    ("{% if e.support < min_support %}x{% endif %}", True),
    ("{% if x.p_adjusted < 0.0001 %}x{% endif %}", True),
    ("{% if d >= 0 %}x{% endif %}", True),
    ("{% if f.status == 'fail' %}x{% endif %}{% if items | length > 5 %}y{% endif %}", False),
    ("{% if loop.index <= 3 %}x{% endif %}{% if doc.data.intersections > 1 %}y{% endif %}", False),
])
def test_the_checker_sees_a_judgement(source, expected):
    assert bool(judging_comparisons(source, environment())) is expected


# ------------------------------------------------------------------------------ the card follows findings


@pytest.fixture()
def document():
    return json.loads((GOLDEN / "findings_small.json").read_text(encoding="utf-8"))


def _fairness_chart(html: str, metric: str) -> str:
    start = html.index(f">{metric} by attribute</title>")
    return html[start:html.index("</svg>", start)]


def _dot_fill(chart: str, attribute: str) -> str:
    found = re.search(r'<circle [^>]*fill="([^"]+)"[^>]*><title>' + re.escape(attribute) + ":", chart)
    assert found, f"no dot for {attribute}"
    return found.group(1)


def test_a_passing_finding_is_never_shown_failing_whatever_the_config_says(document):
    # The finding of equalized_odds_difference for sex says pass; the config copied into the document says a
    # threshold of 0.01, which the value (0.16) misses: the card must follow the finding.
    finding = next(f for f in document["findings"] if f["check"] == "fairness" and f["attribute"] == "sex"
                   and f["threshold"]["metric"] == "equalized_odds_difference")
    finding.update(status="pass", shown="within")
    document["audit"]["config"]["checks"]["fairness"]["max"]["equalized_odds_difference"] = 0.01
    document["audit"]["config"]["checks"]["fairness"]["min"]["equalized_odds_difference"] = 0.99
    document["audit"]["config"]["checks"]["fairness"]["four_fifths_rule"] = False
    html = render_html(document)
    chart = _fairness_chart(html, "equalized_odds_difference")
    assert finding["value"] > 0.01
    assert _dot_fill(chart, "sex") != WORSE
    assert "significantly worse" not in chart
    # The threshold drawn is the finding's (0.2), not the edited config's.
    assert "solid line: threshold 0.200" in chart and "threshold 0.010" not in chart
    # The four-fifths findings still fail, so their rows stay vermillion although the config no longer asks.
    assert _dot_fill(_fairness_chart(html, "demographic_parity_ratio"), "sex") == WORSE


def test_a_pass_is_never_drawn_failing_even_beside_a_beyond(document):
    # Status decides: a finding that passed is not drawn as missing its threshold.
    for f in document["findings"]:
        if f["check"] == "four_fifths_rule":
            f["status"] = "pass"
    assert _dot_fill(_fairness_chart(render_html(document), "demographic_parity_ratio"), "sex") != WORSE


def test_a_failing_finding_is_shown_failing_whatever_the_config_says(document):
    finding = next(f for f in document["findings"] if f["check"] == "fairness" and f["attribute"] == "sex")
    finding.update(status="fail", shown="beyond")
    document["audit"]["config"]["checks"]["fairness"]["max"]["equalized_odds_difference"] = 0.99
    chart = _fairness_chart(render_html(document), "equalized_odds_difference")
    assert _dot_fill(chart, "sex") == WORSE


def test_the_card_has_no_failing_style_the_findings_do_not_give(document):
    # Every group marked significantly worse on the card is one the document marks so.
    for groups in document["metrics"]["by_group"].values():
        for metrics in groups.values():
            for m in metrics.values():
                m["versus_rest"]["significantly_worse"] = False
    for w in document["highlights"]["worst_groups"]:
        w["versus_rest"]["significantly_worse"] = False
    for f in document["findings"]:
        if f["category"] == "fairness":
            f.update(status="pass", shown="within")
    html = render_html(document)
    assert 'class="num worse"' not in html and 'class="cell worse"' not in html
    assert 'aria-label="significantly worse than the rest"' not in html
    assert ", significantly worse than the rest</title>" not in html
    for metric in ("equalized_odds_difference", "demographic_parity_ratio"):
        assert f'fill="{WORSE}" stroke="#000"' not in _fairness_chart(html, metric)


# ------------------------------------------------------------------------ determinism, no layout in data


def test_the_same_document_renders_byte_identical_html(document):
    first = render_html(document).encode("utf-8")
    second = render_html(json.loads(json.dumps(document))).encode("utf-8")
    assert first == second


def test_findings_json_holds_no_jitter_or_rank(document):
    def keys(value):
        if isinstance(value, dict):
            for k, v in value.items():
                yield k
                yield from keys(v)
        elif isinstance(value, list):
            for v in value:
                yield from keys(v)

    assert document["explainability"]["points"], "the golden document should have chart points"
    assert not {"jitter", "rank"} & set(keys(document))
    schema_text = json.dumps(load_schema())
    assert '"jitter"' not in schema_text and '"rank"' not in schema_text


def test_the_schema_refuses_layout_in_the_points(document):
    import jsonschema

    bad = copy.deepcopy(document)
    first = next(iter(bad["explainability"]["points"].values()))
    first["jitter"] = [0.0] * len(first["shap"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, load_schema())
    jsonschema.validate(document, load_schema())


def test_jitter_and_colour_ranks_are_laid_out_from_the_document_alone(document):
    points = document["explainability"]["points"]
    view = card_view(document)
    assert view == card_view(copy.deepcopy(document))
    row = view.shap_summary.rows[0]
    p = points[row.feature]
    # Vertical position: the row's band, offset by the seeded jitter of the point's index.
    assert [d.cy for d in row.dots] == [26 + 12 * jitter(document["audit"]["seed"], i) for i in range(len(p["shap"]))]
    assert all(-1 <= jitter(document["audit"]["seed"], i) < 1 for i in range(len(p["shap"])))
    ranks = colour_ranks(p["value"], p["numeric"])
    assert all(0 <= r <= 1 for r in ranks)
