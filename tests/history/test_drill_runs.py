"""Real drill runs against the lab: `drtool run` holds the drill's lock and appends to its history (and writes its
evidence bundle); a second start while it runs is refused at once with exit 3; `pytest --drill` records the same."""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

from drtool.reports.evidence import verify_bundle
from drtool.reports.history.store import LocalHistory
from drtool.sandbox.rds_model import RestoreJob
from drtool.sandbox.seed import ORDERS_DB

from tests.helpers import drill_file, finish_drill, start_drill, wait_for_journal_event

WIDE = {"rto": "4h", "rpo": "48h"}  # this proves the lock and the history, not the objectives


def test_a_run_records_its_history_and_a_second_start_meanwhile_is_refused(lab, tmp_path):
    history = Path(os.environ["DRTOOL_HISTORY_DIR"])  # the test's own (tests/conftest.py), which the drills inherit
    for other in ("second", "pytest"):
        (tmp_path / other).mkdir()
    drill = drill_file(tmp_path, ORDERS_DB, **WIDE)
    first = start_drill(lab, tmp_path, "--evidence", str(tmp_path / "evidence"), drill=drill)
    started = wait_for_journal_event(tmp_path, "run-lock-taken")
    lock = json.loads((history / "sandbox" / "lock.json").read_text())
    assert (lock["run_id"], lock["pid"], lock["host"]) == (started["run_id"], first.pid, socket.gethostname())

    with lab.world.hold(RestoreJob):  # the first run cannot finish while the second starts
        wait_for_journal_event(tmp_path, "resource-created", kind="rds-instance")
        second = finish_drill(start_drill(lab, tmp_path / "second", drill=drill), tmp_path / "second")
    assert second.exit_code == 3, second.output
    assert "drtool: drill 'sandbox' is already running: its run lock" in second.output
    assert (f"held by run {started['run_id']} on host {socket.gethostname()} (pid {first.pid}), "
            f"started {lock['started_at']}. This start is refused.") in second.output
    assert second.journal == [] and not list((tmp_path / "second").glob("journal/*.jsonl"))

    outcome = finish_drill(first, tmp_path)
    assert outcome.exit_code == 0, outcome.output
    events = [r["event"] for r in outcome.journal]
    assert events[:2] == ["run-started", "run-lock-taken"] and "history-recorded" in events
    assert not (history / "sandbox" / "lock.json").exists()
    (record,) = LocalHistory(history, "sandbox").read().records
    assert record["run_id"] == started["run_id"] and record["exit_code"] == 0
    figures = {f["name"]: f for f in record["targets"][ORDERS_DB]["scenarios"][0]["figures"]}
    measured = outcome.measurements()
    assert {name: f["measured_s"] for name, f in figures.items()} == {
        name: measured[(ORDERS_DB, name)]["measured_s"] for name in ("RTO", "RPO")}
    assert f"History: {history / 'sandbox' / 'runs'}/" in outcome.output

    bundle = tmp_path / "evidence"
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert sorted(f["path"] for f in manifest["files"]) == sorted([Path(outcome_journal(tmp_path)).name, "junit.xml"])
    assert verify_bundle(bundle) == [] and manifest["run_id"] == started["run_id"]
    assert f"Evidence: {bundle}" in outcome.output

    # The same drill under plain pytest takes the lock and records the same shape of record.
    command = (sys.executable, "-m", "pytest", "--drill", str(drill), "-p", "no:cacheprovider", "-q")
    via_pytest = finish_drill(start_drill(lab, tmp_path / "pytest", command=command), tmp_path / "pytest")
    assert via_pytest.exit_code == 0, via_pytest.output
    records = LocalHistory(history, "sandbox").read().records
    assert [r["run_id"] for r in records] == [started["run_id"], via_pytest.journal[0]["run_id"]]
    assert _shape(records[0]) == _shape(records[1])


def outcome_journal(tmp_path: Path) -> str:
    return str(sorted((tmp_path / "journal").glob("*.jsonl"))[-1])


def _shape(record: dict) -> dict:
    """What must not depend on how the drill was started: the keys, targets, scenarios, statuses and figure names."""
    return {"keys": sorted(record), "exit_code": record["exit_code"], "targets": {
        name: [(s["scenario"], s["status"], [f["name"] for f in s["figures"]]) for s in target["scenarios"]]
        for name, target in record["targets"].items()}}
