"""The HTML report, rendered in headless Chromium (Debian's `chromium`, which scripts/test installs where missing).

One drill runs for the whole module, as a script runs it: `-q --format json --report-dir`. The report must
be self-contained, show on screen, carry the figures and each scenario's timeline against its budget, and
come out the same from `drtool report` on the journal alone.
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from drtool.cli import app
from drtool.core.clock import format_duration
from drtool.core.journal import read_journal
from drtool.core.results import RunResult, summarize
from drtool.reports import html
from tests.helpers import installed_tool
from tests.reports.drilled import BREACHED_RTO, WIDE_RTO, Drilled, run_once

WINDOW = (1100, 2400)


@pytest.fixture(scope="module")
def drilled(lab_server, tmp_path_factory) -> Drilled:
    return run_once(lab_server, tmp_path_factory.mktemp("html-report"), "-q", "--format", "json")


@pytest.fixture(scope="module")
def document(drilled: Drilled) -> dict:
    return json.loads(drilled.stdout)


def chromium(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    binary = installed_tool("chromium", package="chromium")
    return subprocess.run([binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           f"--user-data-dir={tmp_path / 'chromium-profile'}", *args],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def figure_text(document: dict, target: str, name: str) -> str:
    found = next(f for t in document["targets"] if t["name"] == target for f in t["figures"] if f["name"] == name)
    return f"{format_duration(found['measured_s'])} / {format_duration(found['objective_s'])}"


def test_run_prints_only_the_json_document_on_stdout_and_quiet_progress_on_stderr(drilled: Drilled, document: dict) -> None:
    assert drilled.exit_code == 1 and document["exit_code"] == 1, drilled.stderr
    assert document == json.loads((drilled.reports / "summary.json").read_text())
    assert "| step started:" not in drilled.stderr, "-q: no progress lines"
    assert {t["name"]: t["outcome"] for t in document["targets"]}["billing-db"] == "failed"


def test_the_report_is_self_contained(drilled: Drilled) -> None:
    page = (drilled.reports / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    for fetching in ("http://", "https://", "<script", "<link", "src=", "url(", "@import"):
        assert fetching not in page, f"the report would fetch something: {fetching}"


def test_report_renders_the_same_set_from_the_journal_alone(drilled: Drilled, tmp_path: Path) -> None:
    again = tmp_path / "again"
    # From the set's own copy of the journal: the run's journal goes on to record the run in the history.
    result = CliRunner().invoke(app, ["report", str(drilled.reports / "journal.jsonl"), "-q", "--report-dir", str(again)])
    assert result.exit_code == 1, result.output
    for name in ("report.html", "summary.json", "summary.md", "journal.jsonl"):
        assert (again / name).read_bytes() == (drilled.reports / name).read_bytes(), name


def test_headless_chromium_shows_the_report_with_its_figures_and_timelines(drilled: Drilled, document: dict, tmp_path: Path) -> None:
    page = (drilled.reports / "report.html").resolve().as_uri()
    shot = tmp_path / "report.png"
    taken = chromium(f"--screenshot={shot}", f"--window-size={WINDOW[0]},{WINDOW[1]}", page, tmp_path=tmp_path)
    assert shot.exists(), taken.stderr[-2000:]
    image = Image.open(shot).convert("RGB")
    assert image.size == WINDOW
    colours = image.getcolors(maxcolors=WINDOW[0] * WINDOW[1])
    assert len(colours) > 50, "a blank or nearly blank page"
    present = {colour for _, colour in colours}
    assert (0xcf, 0x22, 0x2e) in present, "billing-db's FAILED badge is on screen"
    assert (0x1a, 0x7f, 0x37) in present, "the MET badges are on screen"

    dumped = chromium("--dump-dom", page, tmp_path=tmp_path)
    dom = dumped.stdout
    assert "<h1>Drill sandbox" in dom, dumped.stderr[-2000:]
    # The figures, measured against objective, in the summary and each scenario's table.
    assert figure_text(document, "orders-db", "RTO").endswith(f" / {WIDE_RTO}")
    for target, figure in (("orders-db", "RTO"), ("billing-db", "RTO"), ("orders-db", "RPO"), ("orders-data", "lag max")):
        assert figure_text(document, target, figure) in dom, (target, figure)
    assert re.search(r"BREACHED by \d+m(?:\d+s)?", dom)
    # One timeline per scenario and one for the run, each step a bar, the RTO against its budget.
    assert dom.count('<svg class="timeline"') == len(document["scenarios"])
    assert dom.count('<svg class="timeline run"') == 1
    billing = next(s for s in document["scenarios"] if s["target"] == "billing-db")
    for step in billing["steps"]:
        assert f"{step['keyword']} {step['name']}"[:50] in dom
    assert f"RTO budget {BREACHED_RTO}" in dom and f"RTO budget {WIDE_RTO}" in dom
    assert "RTO (timed)" in dom and ">teardown<" in dom
    assert re.search(r'class="bar failed"><title>over budget by \d+m(?:\d+s)?</title>', dom), "the overrun is drawn in red"


def test_the_evidence_names_the_snapshot_the_canaries_and_what_was_created(drilled: Drilled) -> None:
    page = (drilled.reports / "report.html").read_text()
    records = read_journal(drilled.journal)
    started = [r for r in records if r["event"] == "recovery-started"]
    assert len(started) == 2 and all(r["point"] in page for r in started), "which snapshot each restore came from"
    canaries = [r for r in records if r["event"] == "canary-replicated"]
    assert canaries and all(r["key"] in page for r in canaries), "which canaries, and their lag"
    created = [r["identifier"] for r in records if r["event"] == "resource-created"]
    assert created and all(identifier in page for identifier in created)
    assert "Measured against objective" in page and "aws-event" in page, "where each figure came from"


def earlier(result: RunResult, days: int, factor: float) -> RunResult:
    """The same run, `days` before, with every figure `factor` times what it measured."""
    past = dataclasses.replace(result, run_id=f"past{days:04d}", started_at=result.started_at - timedelta(days=days), tests={})
    for test_id, test in result.tests.items():
        measurements = [{**m, "measured_s": m["measured_s"] * factor, "met": m["measured_s"] * factor <= m["objective_s"]}
                        for m in test.measurements]
        past.tests[test_id] = dataclasses.replace(test, measurements=measurements)
    return past


def test_trends_chart_each_target_figure_over_the_history_given(drilled: Drilled) -> None:
    result = summarize(read_journal(drilled.journal))
    history = [earlier(result, 60, 0.5), earlier(result, 30, 0.8)]
    page = html.render(result, history)
    figures = {(t.target, m["name"]) for t in result.tests.values() for m in t.measurements}
    assert page.count('<svg class="trend"') == len(figures)
    assert "<figcaption>billing-db: RTO</figcaption>" in page
    chart = page.split("<figcaption>billing-db: RTO</figcaption>", 1)[1].split("</figure>", 1)[0]
    assert len(re.search(r'<polyline points="([^"]+)"', chart)[1].split()) == 3, "two earlier runs and this one"
    assert "run past0060" in chart and f"run {result.run_id}" in chart
    assert f"objective {BREACHED_RTO}" in chart
    # Oldest first, so a figure that grew climbs to the right: SVG's y grows downwards.
    heights = [float(point.split(",")[1]) for point in re.search(r'<polyline points="([^"]+)"', chart)[1].split()]
    assert heights == sorted(heights, reverse=True)


def test_without_history_the_report_says_there_is_no_trend_yet(drilled: Drilled) -> None:
    page = (drilled.reports / "report.html").read_text()
    assert "No history was given for this report, so there is no trend yet" in page
    assert '<svg class="trend"' not in page
