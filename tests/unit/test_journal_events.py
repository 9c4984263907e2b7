"""The journal's typed events: written and read back through one definition, under a versioned schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drtool.core import events as ev
from drtool.core.clock import SystemClock
from drtool.core.events import SCHEMA_VERSION, by_name, parse
from drtool.core.journal import Journal, read_journal
from drtool.core.results import ERROR, FAILED, summarize


def _journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "run.jsonl", "c0ffee00", SystemClock())


def _started(**fields) -> ev.RunStarted:
    return ev.RunStarted(drill="monthly", drill_file="drills/monthly.yaml", schema=SCHEMA_VERSION, **fields)


def test_every_event_reads_back_as_the_event_written(tmp_path):
    journal = _journal(tmp_path)
    written = [
        _started(targets={"orders-db": "rds-instance"}, figures=["RTO"]),
        ev.TestStarted(test="t1", scenario="Restore", target="orders-db"),
        ev.ResourceCreated(scope="t1", kind="rds-instance", identifier="drtool-c0ffee00-orders-db", region="eu-central-1",
                           details={"status": "creating"}),
        ev.Note(test="t1", target="orders-db", line="orders-db: restored in 12m04s (RTO 30m): met"),
        ev.TestOutcome(test="t1", phase="call", status="failed", kind="drill-failure", message="DR key disabled"),
    ]
    for event in written:
        journal.emit(event)
    journal.close()
    types = by_name(ev.CORE_EVENTS)
    assert [parse(record, types) for record in read_journal(journal.path)] == written


def test_results_come_from_the_handlers_of_the_events(tmp_path):
    journal = _journal(tmp_path)
    journal.emit(_started())
    journal.emit(ev.TestStarted(test="t1", scenario="Restore", target="orders-db"))
    journal.emit(ev.ResourceCreating(scope="t1", kind="rds-instance", identifier="drtool-c0ffee00-orders-db", region="eu-central-1"))
    journal.emit(ev.ResourceCreated(scope="t1", kind="rds-instance", identifier="drtool-c0ffee00-orders-db", region="eu-central-1"))
    journal.emit(ev.GuardRefusal(service="rds", operation="DeleteDBInstance", region="eu-west-1", reason="production"))
    journal.emit(ev.TestOutcome(test="t1", phase="call", status=FAILED, kind="objective-breached", message="RTO BREACHED"))
    journal.emit(ev.TestOutcome(test="t1", phase="teardown", status=ERROR, kind="could-not-run", message="teardown: AccessDenied"))
    journal.emit(ev.TestFinished(test="t1"))
    journal.emit(ev.ApiCalls(attempts=7, throttled=1, by_operation={"RestoreDBInstanceFromDBSnapshot": 1}))
    journal.emit(ev.RunFinished())
    journal.close()

    result = summarize(read_journal(journal.path))
    test = result.tests["t1"]
    assert (test.status, test.kind) == (FAILED, "objective-breached"), "a teardown error after a breach keeps the breach"
    assert test.message == "RTO BREACHED; teardown: AccessDenied"
    assert result.api_calls["attempts"] == 7 and result.guard_refusals[0].operation == "DeleteDBInstance"
    assert result.leftovers == ["rds-instance drtool-c0ffee00-orders-db in eu-central-1"], "created, never deleted"
    assert test.timeline[0].text == "created rds-instance drtool-c0ffee00-orders-db in eu-central-1"


def test_a_newer_schema_reads_with_a_warning_and_unknown_events_are_skipped(tmp_path):
    journal = _journal(tmp_path)
    journal.write("run-started", drill="monthly", drill_file="m.yaml", schema=SCHEMA_VERSION + 1, a_field_from_the_future=1)
    journal.write("quantum-entangled", test="t1")
    journal.close()
    result = summarize(read_journal(journal.path))
    assert result.drill == "monthly" and result.schema == SCHEMA_VERSION + 1
    assert result.warnings == [
        f"this journal has schema {SCHEMA_VERSION + 1}, newer than this drtool reads ({SCHEMA_VERSION}): events it does not know are left out"
    ]


def test_a_record_missing_a_field_is_named_not_a_crash(tmp_path):
    path = tmp_path / "run.jsonl"
    lines = [
        {"seq": 1, "event": "run-started", "run_id": "x", "at": "2026-11-28T00:00:00+00:00", "mono": 0, "drill": "d", "drill_file": "f"},
        {"seq": 2, "event": "test-started", "run_id": "x", "at": "2026-11-28T00:00:01+00:00", "mono": 1},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = summarize(read_journal(path))
    assert result.schema == 1, "a journal that records no schema is from before typed events"
    [warning] = result.warnings
    assert warning.startswith("journal record 2 (test-started): ") and "test" in warning


def test_events_refuse_fields_they_do_not_declare():
    with pytest.raises(TypeError):
        ev.TestFinished(test="t1", stauts="passed")  # type: ignore[call-arg]


def test_an_event_cannot_shadow_the_record_envelope():
    from dataclasses import dataclass

    with pytest.raises(TypeError, match="at belong to every journal record"):
        @ev.event("clock-read")
        @dataclass(frozen=True, kw_only=True)
        class ClockRead(ev.Event):
            at: str


def test_an_event_emitted_inside_a_scenario_names_its_scenario_and_target(tmp_path):
    """Family code need not say which scenario it is in: the journal fills what the event leaves empty."""
    journal = _journal(tmp_path)
    journal.emit(_started())
    with journal.scenario("t1", "orders-db") as scenario:
        journal.emit(ev.TestStarted(test="t1", scenario="Restore", target="orders-db"))
        journal.emit(ev.StepStarted(keyword="When", step="the drill restores it"))
        journal.emit(ev.TimingStarted(figure="RTO", objective_s=60.0))
        journal.emit(ev.ResourceCreating(scope="t1", kind="rds-instance", identifier="i", region="eu-central-1"))
        journal.emit(ev.Note(test="t0", line="another scenario's note keeps its own"))
        assert scenario.target == "orders-db"
    journal.emit(ev.Note(line="outside any scenario"))
    journal.close()
    records = read_journal(journal.path)
    assert [(r.get("test", r.get("scope")), r.get("target")) for r in records[1:]] == [
        ("t1", "orders-db"), ("t1", "orders-db"), ("t1", "orders-db"), ("t1", "orders-db"), ("t0", ""), ("", "")]


def test_listeners_get_typed_events_with_their_envelope_and_the_live_result_is_the_journal_summarized(tmp_path):
    from drtool.core.results import LiveResult
    from drtool.core.run import ListenedJournal

    journal = ListenedJournal(tmp_path / "run.jsonl", "c0ffee00", SystemClock())
    live, heard = LiveResult(), []
    journal.listeners += [live, heard.append]
    journal.emit(_started(targets={"orders-db": "rds-instance"}))
    with journal.scenario("t1", "orders-db"):
        journal.emit(ev.TestStarted(test="t1", scenario="Restore", target="orders-db"))
        journal.emit(ev.StepStarted(keyword="When", step="it restores"))
        journal.emit(ev.Note(line="orders-db: restored", measurement={"name": "RTO", "measured_s": 1.0}))
    so_far = live.result()
    assert so_far.tests["t1"].status == "interrupted", "read mid-run, a running scenario reads as cut short"
    with journal.scenario("t1", "orders-db"):
        journal.emit(ev.StepPassed(step="it restores", duration_s=1.0))
        journal.emit(ev.TestFinished(test="t1"))
    journal.emit(ev.RunFinished())
    journal.close()

    assert [type(e.event) for e in heard] == [ev.RunStarted, ev.TestStarted, ev.StepStarted, ev.Note, ev.StepPassed,
                                              ev.TestFinished, ev.RunFinished]
    assert [e.seq for e in heard] == list(range(1, 8)) and {e.run_id for e in heard} == {"c0ffee00"}
    assert heard[3].test == "t1" and heard[3].target == "orders-db"
    assert so_far.tests["t1"].steps[0].status == "interrupted" and live.result().tests["t1"].steps[0].status == "passed"
    assert live.result() == summarize(read_journal(journal.path)), "one fold, live or read back"


def test_a_schema_2_journal_still_finds_the_scenario_of_a_family_event_by_its_target(tmp_path):
    path = tmp_path / "run.jsonl"
    envelope = {"run_id": "x", "at": "2026-11-28T00:00:00+00:00", "mono": 0}
    lines = [
        {"seq": 1, "event": "run-started", **envelope, "drill": "d", "drill_file": "f", "schema": 2},
        {"seq": 2, "event": "test-started", **envelope, "test": "t1", "target": "orders-db"},
        {"seq": 3, "event": "timing-started", **envelope, "test": "", "target": "orders-db", "figure": "RTO"},
        {"seq": 4, "event": "test-finished", **envelope, "test": "t1"},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    [test] = summarize(read_journal(path)).tests.values()
    assert [interval.label for interval in test.intervals] == ["RTO"]
