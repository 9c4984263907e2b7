"""Output in CI logs: plain progress lines off a terminal, heartbeats, -q/-v, --format json, GitHub's step summary.

One drill runs for the whole module (`drilled`), as CI runs it: stdout a pipe, `-v`, `$GITHUB_STEP_SUMMARY` set.
Everything else renders from its journal.
"""

from __future__ import annotations

from pathlib import Path

import io
import json
import re
from types import SimpleNamespace

import pytest
from rich.console import Console
from typer.testing import CliRunner

from drtool.cli import app
from drtool.core.clock import format_duration
from drtool.core.events import CORE_EVENTS, Emitted, by_name, read_emitted
from drtool.core.journal import read_journal
from drtool.core.registry import families
from drtool.reports.figures import Verbosity
from drtool.reports.live import LiveProgress
from drtool.reports.log import LogProgress
from tests.reports.drilled import BREACHED_RTO, WIDE_RTO, Drilled, run_once

ANSI = re.compile(r"\x1b\[")
LINE = re.compile(r"^\[\+(?P<elapsed>\w+)\] (?P<target>\S+) \| (?P<scenario>[^|]+) \| (?P<text>.*)$")
RESTORE = "Restore the newest recoverable point of a database in the DR region"


@pytest.fixture(scope="module")
def drilled(lab_server, tmp_path_factory) -> Drilled:
    tmp_path = tmp_path_factory.mktemp("ci-output")
    return run_once(lab_server, tmp_path, "-v", env={"GITHUB_STEP_SUMMARY": str(tmp_path / "step-summary.md")})


@pytest.fixture(scope="module")
def records(drilled: Drilled) -> list[dict]:
    return read_journal(drilled.journal)


def progress_lines(output: str) -> list[re.Match]:
    return [match for line in output.splitlines() if (match := LINE.match(line))]


def seconds_of(duration: str) -> int:
    """The seconds a `format_duration` text such as 1h02m10s stands for."""
    parts = re.fullmatch(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", duration)
    assert parts and duration, duration
    return sum(int(n or 0) * unit for n, unit in zip(parts.groups(), (86400, 3600, 60, 1)))


def test_every_event_of_a_scenario_names_its_scenario_and_target(records: list[dict]) -> None:
    """The live view and the results never guess a scenario from its target: each event says which it is."""
    started = {r["test"]: r for r in records if r["event"] == "test-started"}
    scenarios = [r for r in records if r.get("test") or r.get("scope") in started]
    assert {r["event"] for r in scenarios} >= {"recovery-started", "instance-available", "timing-started", "step-started",
                                               "teardown-started", "resource-created", "note", "progress", "test-finished"}
    assert all((r.get("test") or r.get("scope")) in started for r in scenarios)
    assert all(r["target"] in records[0]["targets"] for r in scenarios if r["event"] != "test-started")
    unnamed = [r for r in records if "test" in r and not r["test"]]
    assert [r["event"] for r in unnamed] == [], "an event of no scenario is the run's own (a guard refusal outside one)"


def test_the_drill_ran_with_a_pass_and_a_breach(drilled: Drilled) -> None:
    assert drilled.exit_code == 1, drilled.stdout + drilled.stderr
    assert f"MET orders-db: {RESTORE}" in drilled.stdout
    assert f"FAILED billing-db: {RESTORE}" in drilled.stdout


def test_off_a_terminal_every_step_start_and_end_is_one_plain_line(drilled: Drilled, records: list[dict]) -> None:
    assert not ANSI.search(drilled.stdout + drilled.stderr), "no colour codes in a CI log"
    lines = progress_lines(drilled.stdout)
    scenario_of = {r["test"]: (r["target"], r["scenario"]) for r in records if r["event"] == "test-started"}
    step_of: dict[str, str] = {}
    expected = []
    for record in records:
        if record["event"] == "step-started":
            step_of[record["test"]] = f"{record['keyword']} {record['step']}"
            expected.append((*scenario_of[record["test"]], f"step started: {step_of[record['test']]}"))
        elif record["event"] in ("step-passed", "step-failed"):
            took = format_duration(record["duration_s"])
            verb = record["event"].removeprefix("step-")
            expected.append((*scenario_of[record["test"]], f"step {verb} in {took}: {step_of[record['test']]}"))
    steps = [(m["target"], m["scenario"], m["text"]) for m in lines if m["text"].startswith("step ")]
    # A failed step's line goes on to say why.
    cut = [(t, s, text[: len(want[2])] if text.startswith(want[2] + ": ") else text) for (t, s, text), want in zip(steps, expected)]
    assert cut == expected, "one line per step start and end, in order"
    assert len(expected) >= 2 * 15


def test_progress_lines_tell_elapsed_world_time_and_the_timed_figure(drilled: Drilled) -> None:
    lines = progress_lines(drilled.stdout)
    seconds = [seconds_of(m["elapsed"]) for m in lines]
    assert seconds == sorted(seconds) and seconds[-1] - seconds[0] > 20 * 60, "the run's elapsed world time, counting up"
    timed = {m["target"]: m["text"] for m in lines if m["text"].startswith("timed RTO")}
    assert re.fullmatch(rf"timed RTO \d+m(?:\d+s)? / {WIDE_RTO}", timed["orders-db"])
    assert re.fullmatch(rf"timed RTO \d+m(?:\d+s)? / {BREACHED_RTO}", timed["billing-db"])
    finished = [m["text"] for m in lines if m["target"] == "billing-db" and re.match(r"(MET|FAILED) in ", m["text"])]
    assert len(finished) == 1 and finished[0].startswith("FAILED in ")


def test_the_summary_starts_on_its_own_line(drilled: Drilled, records: list[dict]) -> None:
    heading = f"drill {records[0]['drill']}, run {records[0]['run_id']}"
    assert [line for line in drilled.stdout.splitlines() if heading in line] == [heading]


def test_verbose_shows_every_note_as_it_is_made_and_in_the_summary(drilled: Drilled, records: list[dict]) -> None:
    notes = [r["line"] for r in records if r["event"] == "note"]
    lines = drilled.stdout.splitlines()
    live = {m["text"].removeprefix("note: ") for m in progress_lines(drilled.stdout) if m["text"].startswith("note: ")}
    assert set(notes) <= live
    assert all(f"  {note}" in lines for note in notes), "-v: the summary shows every note too"
    assert any(note.startswith("teardown: ") for note in notes)


def report(drilled: Drilled, *args: str, journal: Path | None = None):
    result = CliRunner().invoke(app, ["report", str(journal or drilled.journal), *args], env={"COLUMNS": "200"})
    assert result.exit_code == 1, result.output
    return result.output


def test_default_summary_shows_each_verdict_with_its_figures_and_everything_about_what_failed(drilled, records) -> None:
    output = report(drilled).splitlines()
    figures = {(r["target"], r["measurement"]["name"]): r["line"] for r in records if r["event"] == "note" and r["measurement"]}
    assert f"MET orders-db: {RESTORE}" in output
    assert f"  {figures[('orders-db', 'RTO')]}" in output
    billing = [r["line"] for r in records if r["event"] == "note" and r["target"] == "billing-db"]
    assert all(f"  {line}" in output for line in billing), "a failed scenario shows all its notes"
    orders_teardown = [r["line"] for r in records if r["event"] == "note" and r["target"] == "orders-db" and r["line"].startswith("teardown")]
    assert orders_teardown and not any(f"  {line}" in output for line in orders_teardown), "a pass shows its figures, not every note"


def test_quiet_shows_the_tables_and_only_what_did_not_pass(drilled: Drilled) -> None:
    output = report(drilled, "-q")
    assert "┃ RTO" in output and "│ orders-db " in output, "the tables stay"
    assert f"MET orders-db: {RESTORE}" not in output
    assert f"FAILED billing-db: {RESTORE}" in output and f"(RTO {BREACHED_RTO}): BREACHED by" in output


def test_q_and_v_together_are_refused_before_anything_runs() -> None:
    result = CliRunner().invoke(app, ["run", "--sandbox", "-q", "-v"])
    assert result.exit_code == 2
    assert "option -q: and -v ask for less and more at once; give one" in result.output


def test_json_document_has_every_scenario_with_its_figures_and_timings(drilled: Drilled, records: list[dict]) -> None:
    document = json.loads(report(drilled, "--format", "json"))
    assert document["format"] == "drtool-run" and document["version"] == 1
    assert (document["outcome"], document["exit_code"], document["run_id"]) == ("failed", 1, records[0]["run_id"])
    assert document["counts"]["failed"] == 1 and document["counts"]["met"] + document["counts"]["failed"] == 3
    targets = {t["name"]: t for t in document["targets"]}
    assert set(targets) == {"orders-db", "billing-db", "orders-data"}
    rto = {name: next(f for f in targets[name]["figures"] if f["name"] == "RTO") for name in ("orders-db", "billing-db")}
    assert rto["orders-db"]["met"] and rto["orders-db"]["objective_s"] == 4 * 3600
    assert not rto["billing-db"]["met"] and rto["billing-db"]["measured_s"] > rto["billing-db"]["objective_s"] == 900
    assert targets["billing-db"]["outcome"] == "failed" and targets["billing-db"]["kind"] == "rds-instance"
    billing = next(s for s in document["scenarios"] if s["target"] == "billing-db")
    assert billing["kind"] == "objective-breached" and "BREACHED" in billing["message"]
    assert [step["keyword"] for step in billing["steps"]] == ["Given", "When", "And", "And", "Then", "And"]
    assert all(step["duration_s"] > 0 for step in billing["steps"])
    timed = next(i for i in billing["intervals"] if i["label"] == "RTO")
    assert timed["objective_s"] == 900 and timed["duration_s"] > 900
    assert any(i["label"] == "teardown" and i["duration_s"] > 0 for i in billing["intervals"])
    assert document == json.loads((drilled.reports / "summary.json").read_text()), "the report set holds the same document"


def test_github_step_summary_gets_a_markdown_table_per_kind_and_the_failure(drilled: Drilled, records: list[dict]) -> None:
    summary = (drilled.tmp_path / "step-summary.md").read_text()
    assert summary.startswith(f"## drtool: drill `sandbox`, run `{records[0]['run_id']}`: NOT MET")
    assert "### rds-instance\n\n| target | scenario | result | RTO | RPO | took |\n|---|---|---|---|---|---:|" in summary
    assert re.search(rf"^\| billing-db \| {RESTORE} \| ❌ FAILED \| \d+m(?:\d+s)? / {BREACHED_RTO} ❗ \|", summary, re.M)
    assert re.search(rf"^\| orders-db \| {RESTORE} \| ✅ MET \| \d+m(?:\d+s)? / {WIDE_RTO} \|", summary, re.M)
    assert "### s3-replication" in summary
    failure = summary.split("### What did not pass", 1)[1]
    breach = next(r["line"] for r in records if r["event"] == "note" and r["target"] == "billing-db" and "BREACHED" in r["line"])
    assert f"- **FAILED** `billing-db`: {RESTORE}" in failure and f"  - {breach}" in failure
    assert summary.rstrip("\n") == (drilled.reports / "summary.md").read_text().rstrip("\n")


def test_report_dir_holds_the_set_and_report_renders_it_again_from_the_journal(drilled: Drilled, tmp_path) -> None:
    assert sorted(p.name for p in drilled.reports.iterdir()) == [
        "cucumber.json", "journal.jsonl", "junit.xml", "report.html", "summary.json", "summary.md"]
    # The set's journal is the run's as the reports were written; the run's own journal then only adds the history record.
    copied = (drilled.reports / "journal.jsonl").read_bytes()
    assert copied and drilled.journal.read_bytes().startswith(copied)
    again = tmp_path / "again"
    report(drilled, "--report-dir", str(again), journal=drilled.reports / "journal.jsonl")
    for name in ("summary.json", "summary.md", "journal.jsonl", "cucumber.json"):
        assert (again / name).read_bytes() == (drilled.reports / name).read_bytes(), name


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def billing_heartbeats(text: str) -> list[str]:
    return [line for line in text.splitlines()
            if "still running" in line and (match := LINE.match(line)) and match["target"] == "billing-db"]


def test_a_long_wait_prints_a_heartbeat_once_a_real_interval_passes_in_silence(records: list[dict]) -> None:
    """Replays the journal up to billing-db's restore wait into the plain view, on clocks the test moves."""
    real, world = FakeClock(), FakeClock()
    stream = io.StringIO()
    view = LogProgress(stream, run_of=lambda config: None, verbosity=Verbosity.NORMAL, heartbeat_s=30, real_clock=real)
    world.now = records[0]["mono"]
    view.attach(fake_run(records[0], world))
    view.stop()  # no heartbeat thread: the test beats by hand
    billing = next(r["test"] for r in records if r["event"] == "test-started" and r["target"] == "billing-db")
    waiting = next(r for r in records if r["event"] == "progress" and r["test"] == billing and r["message"].endswith(": creating"))
    for record in records[: records.index(waiting) + 1]:
        view.on_event(emitted(record))
    world.now = waiting["mono"] + 300
    written = stream.getvalue()

    real.now += 29
    view.beat()
    assert stream.getvalue() == written, "no heartbeat while lines are recent"
    real.now += 1
    view.beat()
    # A line for each scenario in flight: the restores of both databases, and whatever runs beside them.
    [heartbeat] = billing_heartbeats(stream.getvalue()[len(written):])
    match = LINE.match(heartbeat)
    assert match and match["target"] == "billing-db" and match["scenario"] == RESTORE
    assert re.fullmatch(rf"still running: And the restored instance becomes available \(for \d+m(?:\d+s)?\); "
                        rf"RTO \d+m(?:\d+s)? / {BREACHED_RTO}; drtool-\w+-billing-db: creating", match["text"]), heartbeat
    view.beat()
    assert len(billing_heartbeats(stream.getvalue())) == 1, "the heartbeat restarts the silence"
    real.now += 30
    view.beat()
    assert len(billing_heartbeats(stream.getvalue())) == 2
    assert not ANSI.search(stream.getvalue())


def emitted(record: dict) -> Emitted:
    """A record read back as the typed event the journal tells its listeners of."""
    return read_emitted(record, by_name((*CORE_EVENTS, *families().events)))


def fake_run(start: dict, world: FakeClock) -> SimpleNamespace:
    return SimpleNamespace(journal=SimpleNamespace(listeners=[]), clock=SimpleNamespace(monotonic=world), run_id=start["run_id"],
                           loaded=SimpleNamespace(path="drill.yaml"),
                           drill=SimpleNamespace(drill=start["drill"], primary_region="eu-west-1", dr_region="eu-central-1"))


def test_the_live_table_ends_its_line_before_the_summary_wherever_it_is_drawn(records: list[dict]) -> None:
    """Where rich's Live does not end its last line itself (not a terminal), the table ran into the summary."""
    stream, world = io.StringIO(), FakeClock()
    console = Console(file=stream, width=120)
    assert not console.is_terminal
    view = LiveProgress(console, run_of=lambda config: None)
    view.attach(fake_run(records[0], world))
    for record in records[:40]:
        view.on_event(emitted(record))
    view.stop()
    console.print(f"drill {records[0]['drill']}, run {records[0]['run_id']}")
    assert f"\ndrill {records[0]['drill']}, run {records[0]['run_id']}\n" in stream.getvalue()
