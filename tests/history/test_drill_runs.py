"""Real drill runs against the lab: `drtool run` holds the drill's lock and appends to its history (and writes its
evidence bundle); a second start while it runs is refused at once with exit 3; `pytest --drill` records the same."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sys
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from drtool.reports.evidence import verify_bundle
from drtool.reports.history.lock import LockHolder
from drtool.reports.history.store import LocalHistory
from drtool.sandbox.rds_model import RestoreJob
from drtool.sandbox.seed import ORDERS_DB, PRIMARY_REGION

from tests.helpers import WIDE, drill_file, finish_drill, run_drill, start_drill, wait_for_journal_event
from tests.history.synthetic import dead_pid, drill_with_outputs



def test_a_run_records_its_history_and_a_second_start_meanwhile_is_refused(lab, tmp_path):
    history = Path(os.environ["DRTOOL_HISTORY_DIR"])  # the test's own (tests/conftest.py), which the drills inherit
    for other in ("second", "pytest"):
        (tmp_path / other).mkdir()
    drill = drill_file(tmp_path, ORDERS_DB, **WIDE)
    with lab.world.hold(RestoreJob):  # the first run cannot finish while the second starts
        first = start_drill(lab, tmp_path, "--evidence", str(tmp_path / "evidence"), drill=drill)
        started = wait_for_journal_event(tmp_path, "run-lock-taken")
        lock = json.loads((history / "sandbox" / "lock.json").read_text())
        assert (lock["run_id"], lock["pid"], lock["host"]) == (started["run_id"], first.pid, socket.gethostname())
        second = finish_drill(start_drill(lab, tmp_path / "second", drill=drill), tmp_path / "second")
        plain = (sys.executable, "-m", "pytest", "--drill", str(drill), "-p", "no:cacheprovider", "-q")
        under_pytest = finish_drill(start_drill(lab, tmp_path / "pytest", command=plain), tmp_path / "pytest")
    assert second.exit_code == 3, second.output
    assert "drtool: drill 'sandbox' is already running: its run lock" in second.output
    assert (f"held by run {started['run_id']} on host {socket.gethostname()} (pid {first.pid}), "
            f"started {lock['started_at']}. This start is refused.") in second.output
    assert second.journal == [] and not list((tmp_path / "second").glob("journal/*.jsonl"))
    assert under_pytest.exit_code == 3 and under_pytest.journal == [], under_pytest.output
    assert "drill 'sandbox' is already running: its run lock" in under_pytest.output

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


def test_a_drill_file_with_s3_history_and_evidence_keeps_both_in_s3(lab, tmp_path, aws):
    s3 = aws("s3", PRIMARY_REGION)
    for bucket in ("dr-history", "dr-audit-evidence"):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": PRIMARY_REGION})
    drill = drill_with_outputs(tmp_path, WIDE, history={"s3": "s3://dr-history/drills/"},
                                evidence={"bucket": "dr-audit-evidence", "prefix": "audits/", "kms_key": "alias/dr-logs"})
    outcome = run_drill(lab, tmp_path, drill=drill)
    assert outcome.exit_code == 0, outcome.output
    run_id = outcome.journal[0]["run_id"]

    assert next(r for r in outcome.journal if r["event"] == "run-lock-taken")["location"] == \
        "s3://dr-history/drills/sandbox/lock.json"
    (key,) = [o["Key"] for o in s3.list_objects_v2(Bucket="dr-history")["Contents"]]  # the record; the lock is gone
    assert key.startswith("drills/sandbox/runs/") and key.endswith(f"-{run_id}.json")
    assert json.loads(s3.get_object(Bucket="dr-history", Key=key)["Body"].read())["run_id"] == run_id

    prefix = f"audits/drtool-evidence/sandbox/{run_id}/"
    uploaded = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="dr-audit-evidence")["Contents"])
    assert uploaded == sorted(f"{prefix}{name}" for name in (Path(outcome_journal(tmp_path)).name, "junit.xml", "manifest.json"))
    manifest = json.loads(s3.get_object(Bucket="dr-audit-evidence", Key=f"{prefix}manifest.json")["Body"].read())
    for entry in manifest["files"]:
        body = s3.get_object(Bucket="dr-audit-evidence", Key=f"{prefix}{entry['path']}")["Body"].read()
        assert hashlib.sha256(body).hexdigest() == entry["sha256"]
    assert f"Evidence: s3://dr-audit-evidence/{prefix}" in outcome.output


def test_evidence_that_cannot_be_uploaded_is_a_run_error(lab, tmp_path):
    drill = drill_with_outputs(tmp_path, WIDE, evidence={"bucket": "no-such-evidence-bucket", "kms_key": "alias/dr-logs"})
    outcome = run_drill(lab, tmp_path, drill=drill)
    assert outcome.exit_code == 3, outcome.output
    error = next(r["error"] for r in outcome.journal if r["event"] == "run-error")
    assert error.startswith("the evidence bundle was not uploaded to s3://no-such-evidence-bucket: PutObject: NoSuchBucket")
    assert "run error: the evidence bundle was not uploaded" in outcome.output
    # The history still records the run, with the error that made it exit 3.
    (record,) = LocalHistory(Path(os.environ["DRTOOL_HISTORY_DIR"]), "sandbox").read().records
    assert record["exit_code"] == 3 and record["run_errors"] == [error]


def test_a_run_takes_over_the_lock_a_killed_run_left_and_says_so(lab, tmp_path):
    lock = Path(os.environ["DRTOOL_HISTORY_DIR"]) / "sandbox" / "lock.json"
    lock.parent.mkdir(parents=True)
    killed = replace(LockHolder.me("0dead000", "sandbox", datetime.now(timezone.utc), None), pid=dead_pid())
    lock.write_bytes(killed.to_json())

    outcome = run_drill(lab, tmp_path, drill=drill_file(tmp_path, ORDERS_DB, **WIDE))
    assert outcome.exit_code == 0, outcome.output
    took_over = next(r for r in outcome.journal if r["event"] == "run-lock-taken")["took_over"]
    assert took_over.startswith(f"run 0dead000 on host {socket.gethostname()} (pid {killed.pid})")
    assert took_over.endswith(f"its process {killed.pid} on {socket.gethostname()} is gone")
    assert f"warning: took over the stale run lock {lock} of run 0dead000" in outcome.output
    assert not lock.exists()
