"""drtool's JUnit XML rendered by junit2html and shown in headless Chromium, as a person would open it.

One sandbox run in which orders-db breaches its RTO (the slow-restore fault) and billing-db meets
its wide one: the page must show both databases' figures, measured against objective, and the
screenshot must hold a rendered page, not a blank one.
"""

from __future__ import annotations

import re
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from drtool.sandbox.seed import BILLING_DB, ORDERS_DB
from tests.conftest import TIME_SCALE
from tests.helpers import installed_tool
from tests.reports.runs import SANDBOX_RTO, Run, databases_drill, drtool_run

DURATION = r"\d[\dhms]*"


@pytest.fixture(scope="module")
def run(lab_server, tmp_path_factory) -> Run:
    folder = tmp_path_factory.mktemp("html")
    done = drtool_run(lab_server, folder, databases_drill(folder, rto={ORDERS_DB: SANDBOX_RTO}), faults=("slow-restore",))
    assert done.exit_code == 1, done.output
    return done


@pytest.fixture(scope="module")
def page(run: Run) -> Path:
    html = run.folder / "junit.html"
    done = subprocess.run(["junit2html", str(run.junit), str(html)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return html


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    binary = installed_tool("chromium", package="chromium")
    return subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120,
    )


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        self._hidden += tag in ("style", "script")

    def handle_endtag(self, tag: str) -> None:
        self._hidden -= tag in ("style", "script")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def text_of(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return "".join(parser.parts)


def test_the_page_chromium_renders_shows_each_database_measured_against_its_objective(page, tmp_path):
    done = chromium("--dump-dom", page.as_uri(), profile=tmp_path / "profile")
    assert done.returncode == 0, done.stderr[-2000:]
    text = text_of(done.stdout)
    # The breach: the reason, then the figures, in the failure's message and body.
    assert f"{ORDERS_DB}: restored in eu-central-1 in" in text and "BREACHED by" in text
    assert re.search(rf"RTO {DURATION} against objective 30m: BREACHED by {DURATION}", text)
    # The pass: its figures in the output junit2html shows as Stdout, and as properties.
    assert re.search(rf"RTO {DURATION} against objective 4h: met", text) and "Stdout" in text
    assert re.search(rf"RPO {DURATION} against objective 2d: met", text)
    assert f"/ {BILLING_DB}" in text and "RTO.measured_s" in text
    # Durations are real seconds; the world time is named beside them.
    assert re.search(rf"world time \(x{TIME_SCALE}\), \d+\.\ds real", text)


def test_the_screenshot_is_a_rendered_report(page, tmp_path):
    shot = tmp_path / "junit.png"
    done = chromium("--window-size=1280,1600", f"--screenshot={shot}", page.as_uri(), profile=tmp_path / "profile")
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    width, height, rows = png_rows(shot.read_bytes())
    assert (width, height) == (1280, 1600)
    # A blank page is one row over and over; a report of headings, tables and text has hundreds of distinct rows.
    assert len(set(rows)) > 300, f"only {len(set(rows))} distinct rows: the page looks blank"


def png_rows(png: bytes) -> tuple[int, int, list[bytes]]:
    """A PNG's width, height and raw (filtered) scanlines, read with the standard library alone."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, chunks = 8, {}
    while position < len(png):
        length, kind = struct.unpack(">I4s", png[position:position + 8])
        chunks.setdefault(kind, []).append(png[position + 8:position + 8 + length])
        position += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][0][:10])
    channels = {2: 3, 6: 4, 0: 1, 4: 2}[colour]
    stride = 1 + width * channels * depth // 8
    data = zlib.decompress(b"".join(chunks[b"IDAT"]))
    return width, height, [data[i:i + stride] for i in range(0, len(data), stride)]
