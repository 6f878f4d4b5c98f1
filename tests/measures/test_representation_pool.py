"""Reference shares against the data: a group the reference does not name keeps its own name ("Other" is
a race in the Adult data, not a remainder); only two or more such groups are pooled as "(other)", and the
card says which groups that row holds. Counts are the Adult test rows'; statistics are checked against
scipy's chi-square on the same table written out by hand."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chisquare

from audit.measures._bias import OTHER, representation_test
from audit.report import render_html

ROOT = Path(__file__).resolve().parents[2]
ADULT_TEST = ROOT / "examples" / "adult" / "data" / "adult_test.csv.gz"
#: The Adult example's census shares (examples/adult/audit.yaml): every race but "Other".
CENSUS = {"White": 0.80, "Black": 0.12, "Asian-Pac-Islander": 0.03, "Amer-Indian-Eskimo": 0.008}


@pytest.fixture(scope="module")
def race_counts() -> dict[str, int]:
    race = pd.read_csv(ADULT_TEST, usecols=["race"])["race"].astype(str).str.strip()
    return {str(k): int(v) for k, v in race.value_counts().sort_index().items()}


def test_a_group_named_other_keeps_its_name(race_counts):
    assert "Other" in race_counts
    t = representation_test(attribute="race", counts=race_counts, reference=CENSUS)
    assert t.groups == ("White", "Black", "Asian-Pac-Islander", "Amer-Indian-Eskimo", "Other")
    assert OTHER not in t.groups and t.pooled == ()
    assert t.reference_share[-1] == pytest.approx(1 - sum(CENSUS.values()))
    total = sum(race_counts.values())
    observed = [race_counts[g] for g in t.groups]
    expected = np.array([*CENSUS.values(), 1 - sum(CENSUS.values())]) * total
    assert t.observed == tuple(observed)
    assert t.statistic == pytest.approx(chisquare(observed, expected).statistic, rel=1e-12)
    assert t.p_value == pytest.approx(chisquare(observed, expected).pvalue, rel=1e-9, abs=1e-300)


def test_two_unnamed_groups_are_pooled_and_named(race_counts):
    reference = {"White": 0.80, "Black": 0.12}
    t = representation_test(attribute="race", counts=race_counts, reference=reference)
    assert t.groups == ("White", "Black", OTHER)
    assert t.pooled == ("Amer-Indian-Eskimo", "Asian-Pac-Islander", "Other")
    assert t.observed[-1] == race_counts["Amer-Indian-Eskimo"] + race_counts["Asian-Pac-Islander"] + race_counts["Other"]
    # A group of the data that is literally called "(other)" is not mistaken for the pool.
    odd = {**race_counts, OTHER: 12}
    u = representation_test(attribute="race", counts=odd, reference=reference)
    assert OTHER in u.pooled and u.groups[-1] not in odd and u.groups[-1].endswith(")")


def _document_with(test, counts: dict[str, int]) -> dict:
    document = json.loads((ROOT / "tests" / "golden" / "findings_small.json").read_text(encoding="utf-8"))
    total = sum(counts.values())
    document["bias"]["representation"]["race"] = {g: {"n": n, "share": n / total, "eligible": n >= 30}
                                                  for g, n in counts.items()}
    document["bias"]["representation_tests"] = [{
        "attribute": test.attribute, "statistic": test.statistic, "p_value": test.p_value,
        "most_under_represented": test.most_under_represented,
        "groups": {g: {"n": o, "share": s, "reference_share": r}
                   for g, o, s, r in zip(test.groups, test.observed, test.observed_share, test.reference_share)}}]
    return document


def test_the_card_says_what_the_pooled_row_holds(race_counts):
    pooled = representation_test(attribute="race", counts=race_counts, reference={"White": 0.80, "Black": 0.12})
    html = render_html(_document_with(pooled, race_counts))
    assert ("(other) is not a group of the data: it pools Amer-Indian-Eskimo, Asian-Pac-Islander, Other, the "
            "groups the reference shares do not name.") in html
    single = representation_test(attribute="race", counts=race_counts, reference=CENSUS)
    html = render_html(_document_with(single, race_counts))
    section = html[html.index("race against reference shares"):]
    section = section[:section.index("</table>")]
    assert "<td>Other</td>" in section and "(other)" not in section and 'class="small pooled"' not in section


@pytest.mark.slow
def test_the_adult_card_shows_the_race_other_as_other(bundled_adult):
    document = json.loads((bundled_adult.folder / "findings.json").read_text(encoding="utf-8"))
    [test] = document["bias"]["representation_tests"]
    assert "Other" in test["groups"] and OTHER not in test["groups"]
    assert all(OTHER not in f["message"] for f in document["findings"] if f["check"] == "representation_vs_reference")
