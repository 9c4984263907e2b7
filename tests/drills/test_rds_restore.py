"""The RDS restore drill end to end, as a user runs it: `drtool run` against the sandbox."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from drtool.core.events import SCHEMA_VERSION
from drtool.core.journal import read_journal
from drtool.core.results import summarize
from drtool.core.run import DrillRun, TargetRun
from drtool.core.tagging import tags_to_dict
from drtool.core.teardown import Teardown
from drtool.drill.validate import check_drill_file
from drtool.families.rds_instance import recovery
from drtool.families.rds_instance.recovery import RdsDrillContext
from drtool.sandbox.lab import Lab
from drtool.sandbox.rds_model import RestoreJob
from drtool.sandbox.seed import BILLING_DB, DR_REGION, ORDERS_DB
from drtool.sandbox.world import WorldSettings
from tests.helpers import (
    SANDBOX_DRILL,
    WIDE,
    drill_file,
    drill_resources,
    finish_drill,
    lab_env,
    production_untouched,
    run_drill,
    start_drill,
)

TARGETS = (ORDERS_DB, BILLING_DB)


# The bundled drill, as a new user runs it: at the default x120, its 10-minute RTO margin is 5 real seconds.
@pytest.mark.lab(time_scale=120)
def test_sandbox_drill_restores_both_databases_and_meets_objectives(lab, tmp_path):
    with production_untouched(lab):
        outcome = run_drill(lab, tmp_path)

    assert outcome.exit_code == 0, outcome.output
    measurements = outcome.measurements()
    settings = WorldSettings()
    for target in TARGETS:
        rto, rpo = measurements[(target, "RTO")], measurements[(target, "RPO")]
        assert rto["met"] and rpo["met"]
        assert rto["measured_s"] >= settings.restore_seconds * 0.95, "RTO must cover the whole restore"
        assert rpo["measured_s"] > 3600, "the seeded snapshots are hours old"
        assert rto["source"].startswith("aws-event"), "AWS's own restore event should time the restore"
    # billing-db has nothing in the DR region, so the copy counts towards its RTO.
    assert measurements[(BILLING_DB, "RTO")]["measured_s"] >= settings.restore_seconds + settings.snapshot_copy_seconds * 0.95
    assert any("orders-db: restored in eu-central-1 in" in line and "(RTO 30m): met" in line for line in outcome.verdicts())
    # Not a terminal: progress is plain lines, one of them the recovery timed against its RTO.
    assert re.search(r"^\[\+\S+\] orders-db \| .* \| timed RTO \d+m(?:\d+s)? / 30m$", outcome.output, re.M), outcome.output

    every_case = {case.name: case for suite in outcome.junit for case in suite}
    assert all(case.is_passed for case in every_case.values()), "the bundled drill's S3 scenarios pass too"
    cases = {name: case for name, case in every_case.items() if name.startswith("sandbox / Restore")}
    assert set(cases) == {f"sandbox / Restore the newest recoverable point of a database in the DR region / {t}" for t in TARGETS}
    assert all("(RTO 30m): met" in case.system_out for case in cases.values())
    for target in TARGETS:
        case = cases[f"sandbox / Restore the newest recoverable point of a database in the DR region / {target}"]
        properties = {p.get("name"): p.get("value") for p in case._elem.iter("property")}
        assert float(properties["RTO.measured_s"]) == measurements[(target, "RTO")]["measured_s"]
        assert properties["RTO.objective_s"] == "1800.0" and properties["RPO.met"] == "True"

    # The journal's events rebuild everything the reports need: calls made, every resource's life, each timeline.
    result = summarize(outcome.journal)
    assert result.schema == SCHEMA_VERSION and not result.warnings
    assert result.api_calls["attempts"] >= result.api_calls["by_operation"]["rds.RestoreDBInstanceFromDBSnapshot"] == 2
    assert {r.kind for r in result.resources.values()} == {"rds-instance", "rds-snapshot", "s3-canary"}
    assert all(r.created_at <= r.deleted_at and r.existed for r in result.resources.values()) and result.leftovers == []
    for test in (test for test in result.tests.values() if test.target in TARGETS):
        timeline = [entry.text for entry in test.timeline]
        assert timeline[0].startswith("recovery started from"), timeline
        assert any(text.endswith(f"({test.measurements[0]['source']})") for text in timeline), "AWS's moment of availability"
    assert drill_resources(lab) == []


def test_restore_is_private_tagged_drill_named_and_uses_a_managed_password(lab, tmp_path, monkeypatch):
    for name, value in lab.environment().items():
        monkeypatch.setenv(name, value)
    loaded = check_drill_file(SANDBOX_DRILL)
    run = DrillRun.start(loaded, tmp_path / "journal")
    target = TargetRun(run, BILLING_DB, loaded.drill.targets[BILLING_DB], "test", Teardown(run.journal, run.clock, "test"))
    ctx = RdsDrillContext.for_target(target)

    point = recovery.find_recovery_point(ctx, BILLING_DB, target.target)
    assert point.needs_copy, "billing-db has no snapshot in the DR region"
    with lab.world.hold(RestoreJob):
        started = recovery.start_recovery(ctx, BILLING_DB, target.target, point)
        instance = ctx.rds_dr.describe_db_instances(DBInstanceIdentifier=started.instance_id)["DBInstances"][0]

    assert started.instance_id == f"drtool-{run.run_id}-{BILLING_DB}"
    assert instance["DBInstanceStatus"] == "creating"
    assert not instance.get("PubliclyAccessible"), "moto omits the field when it is false"
    assert "MasterUserSecret" in instance, "RDS must manage the master password"
    assert instance["DBSubnetGroup"]["DBSubnetGroupName"] == "dr-restore-subnets"
    tags = tags_to_dict(instance["TagList"])
    assert tags["created-by"] == "drtool" and tags["drtool:run-id"] == run.run_id
    assert [r.kind for r in target.teardown.pending] == ["rds-snapshot", "rds-instance"]

    target.teardown.run()
    assert drill_resources(lab) == []
    deleted = [r["kind"] for r in read_journal(run.journal.path) if r["event"] == "resource-deleted"]
    assert deleted == ["rds-instance", "rds-snapshot"], "teardown deletes in reverse order of creation"


@pytest.mark.lab(faults=["slow-restore"])
def test_slow_restore_breaches_rto_for_each_database(lab, tmp_path):
    outcome = run_drill(lab, tmp_path, drill=drill_file(tmp_path, *TARGETS))

    assert outcome.exit_code == 1, outcome.output
    for target in TARGETS:
        rto = outcome.measurements().get((target, "RTO"))
        assert rto is not None, outcome.output
        assert not rto["met"] and rto["measured_s"] > rto["objective_s"]
        assert f"{target}: restored in eu-central-1 in" in rto["line"] and "BREACHED by" in rto["line"]
        assert target in outcome.output and "BREACHED" in outcome.output
    failures = [case for suite in outcome.junit for case in suite if not case.is_passed]
    assert len(failures) == 2
    for case in failures:
        assert case.result[0]._tag == "failure"
        assert "BREACHED" in case.result[0].message and "(RTO 30m)" in case.result[0].message
    assert drill_resources(lab) == [], "teardown must run after a failed drill"


@pytest.mark.lab(faults=["dr-key-disabled"])
def test_disabled_dr_key_is_a_drill_failure_not_an_error(lab, tmp_path):
    outcome = run_drill(lab, tmp_path, drill=drill_file(tmp_path, *TARGETS))
    assert outcome.exit_code == 1, outcome.output
    for case in (case for suite in outcome.junit for case in suite):
        assert case.result[0]._tag == "failure"
        assert "Disabled" in case.result[0].message
    assert drill_resources(lab) == []


@pytest.mark.lab(faults=["no-dr-snapshot"])
def test_denied_copy_with_nothing_in_dr_is_an_error_and_leaves_nothing(lab, tmp_path):
    outcome = run_drill(lab, tmp_path, drill=drill_file(tmp_path, *TARGETS))
    assert outcome.exit_code == 3, outcome.output
    for case in (case for suite in outcome.junit for case in suite):
        assert case.result[0]._tag == "error"
        assert "AccessDenied" in case.result[0].message
    assert drill_resources(lab) == []


def test_pytest_and_drtool_run_give_the_same_results(lab, tmp_path):
    drill = drill_file(tmp_path, *TARGETS, **WIDE)
    command = (sys.executable, "-m", "pytest", "--drill", str(drill), "--drill-junit", str(tmp_path / "junit.xml"),
               "-p", "no:cacheprovider", "-q")
    via_pytest = finish_drill(start_drill(lab, tmp_path, command=command), tmp_path)
    assert via_pytest.exit_code == 0, via_pytest.output
    names = sorted(case.name for suite in via_pytest.junit for case in suite)
    assert names == sorted(f"sandbox / Restore the newest recoverable point of a database in the DR region / {t}" for t in TARGETS)
    assert "2 passed" in via_pytest.output
    assert {k for k, m in via_pytest.measurements().items() if m["met"]} == {(t, n) for t in TARGETS for n in ("RTO", "RPO")}


# Rich redraws 8 times a real second: at x120 the restore lasts long enough for many redraws, however busy the machine.
@pytest.mark.lab(time_scale=120)
def test_live_progress_refreshes_on_a_terminal(lab, tmp_path):
    drill = drill_file(tmp_path, ORDERS_DB, **WIDE)
    controller, terminal = pty.openpty()
    env = {**lab_env(lab, tmp_path), "TERM": "xterm", "COLUMNS": "120", "LINES": "40"}
    proc = subprocess.Popen([sys.executable, "-m", "drtool.cli", "run", str(drill)], stdin=terminal, stdout=terminal, stderr=terminal, env=env)
    os.close(terminal)
    screen = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:
            break
        if not chunk:
            break
        screen += chunk
    assert proc.wait(timeout=120) == 0, screen.decode(errors="replace")[-3000:]
    before_summary = screen.split(b"drill sandbox, run")[0]
    # Rich redraws the live table in place; several redraws before the summary prove it reached the terminal live.
    assert before_summary.count(b"timed / objective") >= 3
    assert b"drtool-" in before_summary, "the live view names the instance being restored"


def test_report_renders_the_same_results_from_the_journal_alone(lab, tmp_path):
    outcome = run_drill(lab, tmp_path, drill=drill_file(tmp_path, **WIDE))
    assert outcome.exit_code == 0, outcome.output
    [journal] = (tmp_path / "journal").glob("*.jsonl")
    again = subprocess.run(
        [sys.executable, "-m", "drtool.cli", "report", str(journal), "-v", "--junit-xml", str(tmp_path / "again.xml")],
        capture_output=True, text=True, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"}, timeout=60,
    )
    assert again.returncode == 0, again.stderr
    first = (tmp_path / "junit.xml").read_text()
    assert (tmp_path / "again.xml").read_text() == first
    assert all(line in again.stdout for line in outcome.verdicts()), "-v shows every note"


NAMED_TARGET_FEATURE = """\
@rds
Feature: Restore one named database
  Scenario: Restore the orders database
    Given the rds-instance target "orders-db"
    When the newest recoverable point of the database is found in the DR region
    And it is restored as a new, private instance in the DR region
    And the restored instance becomes available
    Then the recovery meets the RTO and the RPO
"""


def test_a_scenario_that_names_its_target_keeps_the_name_in_every_report(lab, tmp_path):
    import yaml

    feature = tmp_path / "named.feature"
    feature.write_text(NAMED_TARGET_FEATURE)
    drill = drill_file(tmp_path, ORDERS_DB, **WIDE)
    settings = yaml.safe_load(drill.read_text())
    drill.write_text(yaml.safe_dump({**settings, "features": [str(feature)]}, sort_keys=False))

    outcome = run_drill(lab, tmp_path, drill=drill)

    assert outcome.exit_code == 0, outcome.output
    assert [case.name for suite in outcome.junit for case in suite] == ["sandbox / Restore the orders database / orders-db"]
    assert "MET orders-db: Restore the orders database" in outcome.output
    assert any(line.startswith("│ orders-db ") for line in outcome.output.splitlines()), "the summary row names the target"


def test_a_missing_dr_subnet_group_is_a_finding_stated_in_one_sentence(lab: Lab, tmp_path: Path):
    drill = yaml.safe_load(drill_file(tmp_path, "orders-db", **WIDE).read_text())
    drill["targets"]["orders-db"]["restore"]["subnet_group"] = "dr-subnets-never-created"
    path = tmp_path / "drill.yaml"
    path.write_text(yaml.safe_dump(drill))

    outcome = finish_drill(start_drill(lab, tmp_path, drill=path), tmp_path)

    assert outcome.exit_code == 1, outcome.output
    [case] = [case for suite in outcome.junit for case in suite]
    [failure] = case.result
    assert failure.type == "aws-error"
    assert failure.message.startswith(f"RestoreDBInstanceFromDBSnapshot in {DR_REGION} failed with DBSubnetGroupNotFoundFault"), failure.message
    assert "Remedy: create the DB subnet group in eu-central-1" in failure.message
    assert "Traceback" not in (failure.text or "") and "Traceback" not in case.system_out
    [recorded] = [r for r in outcome.journal if r["event"] == "test-outcome" and r["status"] == "failed"]
    assert "Traceback (most recent call last)" in recorded["traceback"], "whoever debugs drtool still finds the traceback"
