"""One definition of "significantly worse": audit.measures._significance, asked by every layer that decides it.

The document's ``versus_rest.significantly_worse`` (group against the rest, worst groups included), the
group-gap check, and the comparison's ``regression`` and ``improvement`` (against the baseline) are that
function's answers; the renderers read those fields and decide nothing themselves.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from audit.checks._group_gaps import check_group_gaps
from audit.findings._document import _rest
from audit.measures._compare import compare
from audit.measures._significance import significantly_better, significantly_worse
from audit.report._comparison import render_comparison_text
from audit.report._templates import environment
from audit.settings._config import GroupGapsConfig
from audit.statistics._metrics import BINARY
from audit.statistics._evaluate import Estimate, Evaluation, GroupingMetrics, RestComparison

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"


def _estimate(v):
    return Estimate(value=v, ci_low=None, ci_high=None, n=100, support=100)


CASES = [  # (significant, difference, direction, margin)
    (True, -0.10, "higher", 0.0), (True, 0.10, "higher", 0.0), (True, 0.10, "lower", 0.0), (True, -0.10, "lower", 0.0),
    (False, -0.10, "higher", 0.0), (None, -0.10, "higher", 0.0), (True, None, "higher", 0.0),
    (True, -0.10, "none", 0.0), (True, -0.05, "higher", 0.08), (True, -0.10, "higher", 0.08), (True, 0.0, "higher", 0.0),
]


@pytest.mark.parametrize("significant, difference, direction, margin", CASES)
def test_worse_and_better_are_mirror_images(significant, difference, direction, margin):
    worse = significantly_worse(significant=significant, difference=difference, direction=direction, margin=margin)
    better = significantly_better(significant=significant, difference=None if difference is None else -difference,
                                  direction=direction, margin=margin)
    assert worse is better
    assert not (worse and significantly_better(significant=significant, difference=difference, direction=direction,
                                               margin=margin))


def test_the_document_group_gap_check_and_definition_agree():
    rests = [RestComparison(d, None, None, 0.01, 0.01, s) for d, s in
             [(-0.2, True), (-0.02, True), (0.2, True), (-0.2, False), (None, True)]]
    groups = tuple(f"g{i}" for i in range(len(rests)))
    gm = GroupingMetrics(grouping="a", attributes=("a",), groups=groups, n=(100,) * len(rests),
                         positives=(50,) * len(rests), eligible=(True,) * len(rests),
                         metrics={"accuracy": tuple(_estimate(0.8) for _ in rests)},
                         versus_rest={"accuracy": tuple(rests)},
                         base_rate=tuple(_estimate(0.5) for _ in rests), base_rate_difference=_estimate(0.0),
                         base_rate_groups=None)
    ev = Evaluation(overall={"accuracy": _estimate(0.8)}, n=500, positives=250, by_grouping=(gm,), fairness=(),
                    replicates=0, level=0.95, registry=BINARY)
    for r in rests:
        assert _rest(r, "higher")["significantly_worse"] is significantly_worse(
            significant=r.significant, difference=r.difference, direction="higher")
    for margin in (0.0, 0.05):
        [finding] = check_group_gaps(evaluation=ev, config=GroupGapsConfig(metrics=["accuracy"], min_difference=margin))
        named = set(re.findall(r"a=(g\d)", finding.message))
        expected = {g for g, r in zip(groups, rests)
                    if significantly_worse(significant=r.significant, difference=r.difference, direction="higher",
                                           margin=margin)}
        assert named == expected
    assert named == {"g0"}


def test_the_golden_document_marks_exactly_what_the_definition_says():
    doc = json.loads((GOLDEN / "findings_small.json").read_text(encoding="utf-8"))
    defs = doc["metrics"]["definitions"]
    entries = [(name, m["versus_rest"]) for groups in doc["metrics"]["by_group"].values()
               for metrics in groups.values() for name, m in metrics.items()]
    entries += [(w["metric"], w["versus_rest"]) for w in doc["highlights"]["worst_groups"]]
    for name, r in entries:
        assert r["significantly_worse"] is significantly_worse(significant=r["significant"], difference=r["difference"],
                                                               direction=defs[name]["direction"])


@pytest.fixture(scope="module")
def comparison():
    old = json.loads((GOLDEN / "findings_small.json").read_text(encoding="utf-8"))
    new = json.loads(json.dumps(old))
    new["metrics"]["overall"]["recall"].update(value=old["metrics"]["overall"]["recall"]["value"] - 0.3)
    new["metrics"]["overall"]["accuracy"].update(value=old["metrics"]["overall"]["accuracy"]["value"] + 0.1)
    return compare(old, new)


def test_regressions_and_improvements_against_the_baseline_follow_the_definition(comparison):
    changes = (*comparison.metrics, *comparison.fairness)
    for c in changes:
        d = c.to_dict()
        assert d["regression"] is significantly_worse(significant=c.significant, difference=c.change,
                                                      direction=c.direction)
        assert d["improvement"] is significantly_better(significant=c.significant, difference=c.change,
                                                        direction=c.direction)
    assert any(c.regression for c in changes) and any(c.improvement for c in changes)
    assert comparison.summary()["significant_improvements"] == sum(c.improvement for c in changes)


def test_renderers_read_the_fields_and_decide_nothing(comparison):
    # A change whose fields say "not a regression, not an improvement" is shown as a plain significant change,
    # whatever its effect says: the renderers read regression/improvement, they do not re-derive them.
    cmp = comparison.to_dict()
    fake = dict(cmp["metrics"][0], significant=True, effect="better", regression=False, improvement=False)
    cmp["metrics"] = [fake]
    cmp["fairness"] = []
    row = environment().get_template("sections/_change_row.html.j2").render(c=fake, show_subject=False)
    assert "significant change" in row and "improvement" not in row
    text = render_comparison_text(cmp, sensitive=[])
    assert "significant change" in text and "improvement\n" not in text.split("verdict", 1)[1]


def test_no_other_module_decides_significantly_worse_itself():
    pattern = re.compile(r"sign \* \w+\.difference|effect\s*==\s*[\"']worse[\"']|effect\s*==\s*[\"']better[\"']")
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "audit").rglob("*.py")
                 if p.name != "_significance.py" and pattern.search(p.read_text(encoding="utf-8"))]
    offenders += [str(p.relative_to(ROOT)) for p in (ROOT / "templates").rglob("*.j2")
                  if pattern.search(p.read_text(encoding="utf-8")) or "significant and" in p.read_text(encoding="utf-8")]
    assert not offenders, f"these decide 'significantly worse/better' themselves: {offenders}"
