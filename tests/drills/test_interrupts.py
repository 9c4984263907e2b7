"""Ctrl-C and SIGTERM mid-drill: teardown still runs, and the reports say what happened."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from drtool.sandbox.seed import BILLING_DB, ORDERS_DB

from tests.helpers import (
    REPO,
    WIDE,
    drill_file,
    drill_resources,
    finish_drill,
    lab_env,
    production_untouched,
    start_drill,
    wait_for_journal_event,
)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupt_while_restoring_tears_down_and_reports(lab, tmp_path, sig):
    with production_untouched(lab):
        # Wide objectives: the other targets' scenarios run beside the restores, and only the interrupt may end them.
        proc = start_drill(lab, tmp_path, drill=drill_file(tmp_path, **WIDE))
        wait_for_journal_event(tmp_path, "resource-created", kind="rds-instance")
        proc.send_signal(sig)
        outcome = finish_drill(proc, tmp_path)

    assert outcome.exit_code == 130, outcome.output
    deleted = [r for r in outcome.journal if r["event"] == "resource-deleted" and r["existed"]]
    assert any(r["kind"] == "rds-instance" for r in deleted)
    cases = [case for suite in outcome.junit for case in suite]
    interrupted = [case for case in cases if case.result and case.result[0]._tag == "error" and "interrupted" in case.result[0].message]
    assert interrupted
    # Its time is what ran: from its test-started record to its last record (its teardown), in real seconds.
    scale = outcome.journal[0]["time_scale"]
    finished = {r["test"] for r in outcome.journal if r["event"] == "test-finished"}
    started = [r for r in outcome.journal if r["event"] == "test-started" and r["test"] not in finished]
    assert started, "the interrupted scenario has no test-finished record"
    spans = []
    for start in started:
        own = [r for r in outcome.journal if start["test"] in (r.get("test"), r.get("scope"))]
        spans.append(round((own[-1]["mono"] - start["mono"]) / scale, 3))
    times = sorted(case.time for case in interrupted)
    assert times[-1] > 0, times
    assert max(spans) == pytest.approx(times[-1], abs=0.002), (spans, times)
    assert drill_resources(lab) == []


# A held teardown waits up to its deadline of one world hour: 30 real seconds at x120.
@pytest.mark.lab(time_scale=120)
def test_second_ctrl_c_does_not_skip_teardown(lab, tmp_path):
    # The databases only: the first teardown the journal shows must be the one the second Ctrl-C falls into.
    proc = start_drill(lab, tmp_path, drill=drill_file(tmp_path, ORDERS_DB, BILLING_DB))
    wait_for_journal_event(tmp_path, "resource-created", kind="rds-instance")
    # Held, the restore (or, if it finished, the deletion) cannot end, so teardown is surely running when Ctrl-C comes again.
    with lab.world.hold():
        proc.send_signal(signal.SIGINT)
        wait_for_journal_event(tmp_path, "teardown-started")
        proc.send_signal(signal.SIGINT)
        wait_for_journal_event(tmp_path, "signal-during-teardown")
    outcome = finish_drill(proc, tmp_path)

    assert [r["count"] for r in outcome.journal if r["event"] == "signal-during-teardown"] == [1]
    assert "teardown continues" in outcome.output
    assert outcome.exit_code == 130, outcome.output
    assert [r["event"] for r in outcome.journal].count("resource-deleted") >= 1
    assert drill_resources(lab) == []


def test_budget_stops_the_drill_and_tears_down(lab, tmp_path):
    drill = tmp_path / "budgeted.yaml"
    # The budget must cover the objectives (a shorter one is refused as bad input); the restore takes longer.
    drill.write_text(drill_file(tmp_path, rto="10m").read_text() + "budget: 10m\n")

    outcome = finish_drill(start_drill(lab, tmp_path, drill=drill), tmp_path)

    assert outcome.exit_code == 1, outcome.output
    assert "BUDGET EXCEEDED" in outcome.output and "10m" in outcome.output
    assert any(r["event"] == "budget-exceeded" for r in outcome.journal)
    cases = [case for suite in outcome.junit for case in suite]
    assert any(case.name == "sandbox / run" and case.result[0]._tag == "failure" for case in cases)
    assert drill_resources(lab) == []


def test_sigkill_leaves_a_journal_that_cleanup_acts_on(lab, tmp_path):
    with production_untouched(lab):
        proc = start_drill(lab, tmp_path)
        created = wait_for_journal_event(tmp_path, "resource-created", kind="rds-instance")
        proc.kill()
        proc.wait(timeout=30)
        assert any(created["identifier"] in line for line in drill_resources(lab)), "the killed run left its instance"

        cleanup = subprocess.run(
            [sys.executable, "-m", "drtool.cli", "cleanup", str(REPO / "drills" / "sandbox.yaml"), "--yes"],
            env=lab_env(lab, tmp_path), capture_output=True, text=True, timeout=120,
        )
    assert cleanup.returncode == 0, cleanup.stdout + cleanup.stderr
    assert f"journal of run {created['run_id']}: rds-instance {created['identifier']}" in cleanup.stdout
    assert drill_resources(lab) == []


@pytest.mark.lab(faults=["teardown-denied"])
def test_failed_teardown_is_an_error_that_names_what_is_left(lab, tmp_path):
    outcome = finish_drill(start_drill(lab, tmp_path, drill=drill_file(tmp_path, ORDERS_DB, BILLING_DB)), tmp_path)

    assert outcome.exit_code == 3, outcome.output
    cases = [case for suite in outcome.junit for case in suite]
    assert len(cases) == 2, "one testcase per target, even when teardown fails too"
    for case in cases:
        assert case.result[0]._tag == "error"
        assert "teardown" in case.result[0].message and "AccessDenied" in case.result[0].message
    assert "teardown FAILED: could not delete rds-instance drtool-" in outcome.output
    left = drill_resources(lab)
    assert len([line for line in left if "instance" in line]) == 2

    lab.world.faults = lab.world.faults - {"teardown-denied"}  # the denial is lifted; cleanup removes what is left
    cleanup = subprocess.run(
        [sys.executable, "-m", "drtool.cli", "cleanup", str(REPO / "drills" / "sandbox.yaml"), "--yes"],
        env=lab_env(lab, tmp_path), capture_output=True, text=True, timeout=120,
    )
    assert cleanup.returncode == 0, cleanup.stdout + cleanup.stderr
    assert "was created and never deleted" in cleanup.stdout
    assert drill_resources(lab) == []
