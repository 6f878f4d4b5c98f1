"""The history page's trend lines can be told apart without telling red from green: colours from the card's
Okabe-Ito palette, checked under simulated deuteranopia and protanopia (Machado, Oliveira & Fernandes 2009,
severity 1), and a second cue (dash pattern and marker shape) unique to each series."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import numpy as np

from audit.findings._history import HistoryIndex, HistoryRun
from audit.report._history_page import render_index

ROOT = Path(__file__).resolve().parents[2]
#: Machado et al. (2009) matrices for full dichromacy, applied to linear RGB.
DEUTERANOPIA = np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                         [-0.011820, 0.042940, 0.968881]])
PROTANOPIA = np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                       [-0.003882, -0.048116, 1.051998]])
#: Smallest distance (0-255 sRGB, Euclidean) between two series' simulated colours. The page's old palette
#: had red #d1242f beside green #1a7f37: 31 apart for a deuteranope.
MIN_DISTANCE = 45.0


def _simulate(colour: str, matrix: np.ndarray) -> np.ndarray:
    c = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)]) / 255
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    out = np.clip(matrix @ linear, 0, 1)
    return np.where(out <= 0.0031308, 12.92 * out, 1.055 * out ** (1 / 2.4) - 0.055) * 255


def _closest(colours: list[str], matrix: np.ndarray) -> float:
    return min(float(np.linalg.norm(_simulate(a, matrix) - _simulate(b, matrix)))
               for a, b in itertools.combinations(colours, 2))


def test_the_simulation_sees_the_old_red_green_pair():
    assert _closest(["#1f6feb", "#d1242f", "#1a7f37"], DEUTERANOPIA) < MIN_DISTANCE


def _history() -> HistoryIndex:
    # Three runs whose metrics are the golden audit's, drifting a little from run to run.
    document = json.loads((ROOT / "tests" / "golden" / "findings_small.json").read_text(encoding="utf-8"))
    overall = {m: v["value"] for m, v in document["metrics"]["overall"].items()}
    gaps = {f"{g} {a}": 0.1 + 0.01 * i for i, (g, a) in enumerate(itertools.product(
        ("demographic_parity_difference", "equalized_odds_difference"), ("sex", "race", "age")))}
    runs = tuple(HistoryRun(folder=f"2026010{k}T000000Z", created=f"2026-01-0{k}T00:00:00+00:00", gate="pass",
                            summary={"pass": 3}, model_sha256="ab" * 32,
                            metrics={m: v - 0.01 * k for m, v in overall.items()},
                            gaps={g: v + 0.005 * k for g, v in gaps.items()}, files=("findings.json",),
                            regressions=0) for k in (1, 2, 3))
    return HistoryIndex(name="small", title="Small", runs=runs, metric_names=tuple(overall),
                        gap_names=tuple(gaps))


def test_every_chart_of_the_history_page_has_distinguishable_series():
    html = render_index(_history())
    charts = re.findall(r"<svg xmlns=.*?</svg>", html, re.S)
    assert len(charts) == 2
    for chart in charts:
        groups = re.findall(r'<g class="series" data-name="[^"]*">(.*?)</g>', chart, re.S)
        assert len(groups) >= 3
        colours = [re.search(r'stroke="(#[0-9A-Fa-f]{6})"', g).group(1) for g in groups]
        dashes = [(re.search(r'stroke-dasharray="([^"]+)"', g) or [None, ""])[1] for g in groups]
        markers = [re.search(r'class="marker ([a-z-]+)"', g).group(1) for g in groups]
        assert len(set(colours)) == len(colours)
        assert _closest(colours, DEUTERANOPIA) >= MIN_DISTANCE and _closest(colours, PROTANOPIA) >= MIN_DISTANCE
        # Without colour at all (grey print): each series has its own dash and its own marker.
        assert len(set(dashes)) == len(dashes) and len(set(markers)) == len(markers)
        # Every point is a marker, with its value in a tooltip.
        assert all(g.count("<path") == g.count("<title>") == 3 for g in groups)
        # The legend repeats both cues, and names each series.
        keys = re.findall(r'<g class="key">(.*?)</g>', chart, re.S)
        assert len(keys) == len(groups)
        assert [(re.search(r'stroke-dasharray="([^"]+)"', k) or [None, ""])[1] for k in keys] == dashes
        assert all("<path" in k for k in keys)
