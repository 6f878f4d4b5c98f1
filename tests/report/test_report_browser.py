"""The model card in a real browser: headless Chromium loads it from disk and lays out every section.

The card is rendered from the golden fixture ``tests/golden/findings_small.json`` (a small audit of the Adult
example data; see test_report_render.py). Needs Debian's ``chromium`` at /usr/bin/chromium, else skipped.
"""

from __future__ import annotations

import json
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from audit.report import render_html

CHROMIUM = Path("/usr/bin/chromium")
FIXTURE = Path(__file__).resolve().parents[1] / "golden" / "findings_small.json"
SECTIONS = ["verdict", "model-details", "intended-use", "factors", "metrics", "evaluation-data", "training-data",
            "quantitative-analyses", "fairness", "bias", "explainability", "ethical-considerations", "caveats",
            "findings", "appendix"]
WIDTH, HEIGHT = 1280, 1600

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="no /usr/bin/chromium: install Debian's `chromium` package "
                                       "(apt-get install chromium, or sh tests/setup.sh)")


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.ids += [v for k, v in attrs if k == "id" and v]


def _chromium(profile: Path, *args: str) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}"]
    return subprocess.run([str(CHROMIUM), *flags, *args], capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def document() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def card(tmp_path_factory, document) -> Path:
    path = tmp_path_factory.mktemp("card") / "model_card.html"
    path.write_text(render_html(document), encoding="utf-8")
    return path


def test_every_section_is_in_the_dumped_dom(card, document, tmp_path):
    done = _chromium(tmp_path / "profile", "--dump-dom", card.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    parser = _Ids()
    parser.feed(dom)
    sections = [i for i in parser.ids if i in SECTIONS]
    assert sections == SECTIONS  # each once, in the documented order
    assert f"Gate: {document['gate'].upper()}" in dom
    assert f"Model card: {document['audit']['title']}" in dom
    assert "script" not in parser.tags  # the card is static: no script even after the browser ran it


def test_screenshot_of_the_card(card, tmp_path):
    shot = tmp_path / "card.png"
    done = _chromium(tmp_path / "profile", "--hide-scrollbars", f"--window-size={WIDTH},{HEIGHT}",
                     f"--screenshot={shot}", card.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.exists() and shot.stat().st_size > 10_000
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    assert struct.unpack(">II", data[16:24]) == (WIDTH, HEIGHT)
