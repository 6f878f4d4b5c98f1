"""The model card in a real browser: headless Chromium loads it from disk, every section is there."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from audit.report import render_html

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
SECTIONS = ["verdict", "model-details", "intended-use", "factors", "metrics", "evaluation-data", "training-data",
            "quantitative-analyses", "fairness", "bias", "explainability", "ethical-considerations", "caveats",
            "findings", "appendix"]
pytestmark = pytest.mark.skipif(BROWSER is None, reason="needs Debian's chromium (tests/setup.sh installs it)")


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    return subprocess.run([BROWSER, *flags, *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def card(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("card") / "model_card.html"
    path.write_text(render_html(json.loads((GOLDEN / "findings_small.json").read_text())))
    return path


def test_every_section_renders_in_chromium(card, tmp_path):
    dom = _chromium(tmp_path, "--dump-dom", card.as_uri()).stdout
    assert "Gate: FAIL" in dom or "Gate: PASS" in dom
    for section in SECTIONS:
        assert f'id="{section}"' in dom, section


def test_screenshot_of_the_card(card, tmp_path):
    shot = tmp_path / "card.png"
    _chromium(tmp_path, "--window-size=1280,1600", f"--screenshot={shot}", card.as_uri())
    assert shot.exists() and shot.stat().st_size > 10_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
