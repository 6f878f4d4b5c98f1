"""The printed model card keeps what the HTML card shows: the Quickstart's Adult card (the session fixture
``bundled_adult``) printed by headless Chromium with ``html_to_pdf`` (what ``audit run --pdf`` calls), then
read back with poppler's ``pdftotext -layout``.

The expected texts come from the card's HTML (read with :mod:`html.parser`) and from ``findings.json``, never
from a hand-written list, so a new metric column or grouping is checked too. Needs ``chromium`` and
``pdftotext`` (``sh tests/setup.sh`` installs both), else skipped.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest

from audit.report._pdf import find_chromium, html_to_pdf

pytestmark = [pytest.mark.skipif(find_chromium() is None or shutil.which("pdftotext") is None,
                                 reason="needs chromium and pdftotext (sh tests/setup.sh installs both)"),
              pytest.mark.slow]  # runs the Adult audit and prints it


class _CardTables(HTMLParser):
    """The header cells of every group table (``div.group-table``) and the keys of the config appendix
    (``details.config``), in page order."""

    def __init__(self) -> None:
        super().__init__()
        self.group_headers: list[list[str]] = []
        self.config_keys: list[str] = []
        self._where: str | None = None   # "group" or "config" while inside such a block
        self._depth = 0                  # open elements of the same tag as the block's, to find its end
        self._tag = ""
        self._cell: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if self._where is None:
            if tag == "div" and "group-table" in classes:
                self._where, self._tag, self._depth = "group", "div", 1
                self.group_headers.append([])
            elif tag == "details" and "config" in classes:
                self._where, self._tag, self._depth = "config", "details", 1
            return
        if tag == self._tag:
            self._depth += 1
        if tag == "th":
            self._cell = ""

    def handle_endtag(self, tag: str) -> None:
        if self._where is None:
            return
        if tag == "th" and self._cell is not None:
            text = " ".join(self._cell.split())
            (self.group_headers[-1] if self._where == "group" else self.config_keys).append(text)
            self._cell = None
        if tag == self._tag:
            self._depth -= 1
            if self._depth == 0:
                self._where = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell += data


@dataclass(frozen=True)
class Printed:
    text: str
    pages: tuple[str, ...]
    page_count: int
    tables: _CardTables
    document: dict


@pytest.fixture(scope="module")
def printed(bundled_adult, tmp_path_factory) -> Printed:
    assert bundled_adult.returncode in (0, 1), bundled_adult.stderr
    card = bundled_adult.folder / "model_card.html"
    pdf = html_to_pdf(card, tmp_path_factory.mktemp("pdf") / "model_card.pdf", chromium=find_chromium())
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True,
                          timeout=120).stdout
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, timeout=60).stdout
    count = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1)) if "Pages:" in info else text.count("\f") + 1
    tables = _CardTables()
    tables.feed(card.read_text(encoding="utf-8"))
    document = json.loads((bundled_adult.folder / "findings.json").read_text(encoding="utf-8"))
    return Printed(text=text, pages=tuple(text.split("\f")), page_count=count, tables=tables, document=document)


def _group_tables_text(text: str) -> str:
    # From the heading of the group tables to the next section's heading, so a header found elsewhere
    # (the heat map's column labels, say) does not count.
    start = text.index("Tables by group")
    end = text.find("\nFairness\n", start)
    return text[start:] if end < 0 else text[start:end]


def _count_words(needle: str, haystack: str) -> int:
    return len(re.findall(r"(?<![\w&-])" + re.escape(needle) + r"(?![\w&-])", haystack))


def test_every_column_of_every_group_table_is_printed(printed):
    headers = printed.tables.group_headers
    assert len(headers) == len(printed.document["metrics"]["by_group"])  # one table per attribute and intersection
    expected = Counter(h for table in headers for h in table)
    assert {"Group", "Rows"} <= set(expected) and len(expected) > 10
    region = _group_tables_text(printed.text)
    # Each header once per table that has it: a column clipped at the page's edge is missing from its table.
    short = {h: (_count_words(h, region), n) for h, n in expected.items() if _count_words(h, region) < n}
    assert short == {}, f"headers printed fewer times than the tables that have them: {short}"


def test_every_group_and_intersection_label_is_printed_whole(printed):
    region = _group_tables_text(printed.text)
    groups = printed.document["metrics"]["by_group"]
    intersections = [a for a in groups if a not in printed.document["data"]["sensitive"]]
    assert intersections, "the Adult example audits intersections"
    cut = [g for a in groups for g in groups[a] if _count_words(g, region) < 1]
    assert cut == [], f"group labels not printed whole in the group tables: {cut}"


def test_no_page_is_a_raw_json_dump(printed):
    for number, page in enumerate(printed.pages, start=1):
        assert not any(line.strip().startswith('{"') for line in page.splitlines()), f"page {number} is JSON"
        assert "\\u00" not in page, f"page {number} shows JSON escapes"


def test_the_config_appendix_prints_open(printed):
    keys = printed.tables.config_keys
    assert len(keys) > 20 and "data.target" in keys
    appendix = printed.text[printed.text.index("Config as run"):]
    missing = [k for k in keys if k not in appendix]
    assert missing == [], f"config settings collapsed away in print: {missing[:10]}"
    # The values print too: the positive label as written, not as a JSON escape.
    assert re.search(r"data\.positive_label\s+>50K", appendix)


def test_the_card_prints_on_a_bounded_number_of_pages(printed):
    # The page count is recorded in the test's output; a dump of raw data would double it.
    print(f"model_card.pdf: {printed.page_count} pages")
    assert 10 <= printed.page_count <= 60
