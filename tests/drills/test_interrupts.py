"""Ctrl-C and SIGTERM mid-drill: teardown still runs, and the reports say what happened."""

from __future__ import annotations

import signal

import pytest

from tests.helpers import drill_resources, finish_drill, production_state, start_drill, wait_for_journal_event


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupt_while_restoring_tears_down_and_reports(clean_lab, tmp_path, sig):
    before = production_state(clean_lab)
    proc = start_drill(clean_lab, tmp_path)
    wait_for_journal_event(tmp_path, "resource-created", kind="rds-instance")
    proc.send_signal(sig)
    outcome = finish_drill(proc, tmp_path)

    assert outcome.exit_code == 130, outcome.output
    deleted = [r for r in outcome.journal if r["event"] == "resource-deleted" and r["existed"]]
    assert any(r["kind"] == "rds-instance" for r in deleted)
    cases = [case for suite in outcome.junit for case in suite]
    assert cases and any(case.result and case.result[0]._tag == "error" and "interrupted" in case.result[0].message for case in cases)
    assert drill_resources(clean_lab) == []
    assert production_state(clean_lab) == before


def test_second_ctrl_c_does_not_skip_teardown(clean_lab, tmp_path):
    proc = start_drill(clean_lab, tmp_path)
    wait_for_journal_event(tmp_path, "resource-created", kind="rds-instance")
    proc.send_signal(signal.SIGINT)
    wait_for_journal_event(tmp_path, "teardown-started")
    proc.send_signal(signal.SIGINT)
    outcome = finish_drill(proc, tmp_path)

    assert any(r["event"] == "signal-during-teardown" for r in outcome.journal)
    assert "teardown continues" in outcome.output
    assert outcome.exit_code == 130
    assert drill_resources(clean_lab) == []


def test_budget_stops_the_drill_and_tears_down(clean_lab, tmp_path):
    from tests.helpers import SANDBOX_DRILL

    drill = tmp_path / "budgeted.yaml"
    text = SANDBOX_DRILL.read_text().replace("features:\n  - ../features/", f"budget: 10m\nfeatures:\n  - {SANDBOX_DRILL.parent.parent}/features/")
    drill.write_text(text)
    import sys

    proc = start_drill(clean_lab, tmp_path, command=(sys.executable, "-m", "drtool.cli", "run", str(drill), "--junit-xml", str(tmp_path / "junit.xml")))
    outcome = finish_drill(proc, tmp_path)

    assert outcome.exit_code == 1, outcome.output
    assert "BUDGET EXCEEDED" in outcome.output and "10m" in outcome.output
    assert any(r["event"] == "budget-exceeded" for r in outcome.journal)
    cases = [case for suite in outcome.junit for case in suite]
    assert any(case.name == "sandbox / run" and case.result[0]._tag == "failure" for case in cases)
    assert drill_resources(clean_lab) == []


def test_sigkill_leaves_a_journal_that_cleanup_acts_on(clean_lab, tmp_path):
    import subprocess
    import sys

    from tests.helpers import REPO, lab_env

    proc = start_drill(clean_lab, tmp_path)
    created = wait_for_journal_event(tmp_path, "resource-created", kind="rds-instance")
    proc.kill()
    proc.wait(timeout=30)
    assert any(created["identifier"] in line for line in drill_resources(clean_lab)), "the killed run left its instance"

    cleanup = subprocess.run(
        [sys.executable, "-m", "drtool.cli", "cleanup", str(REPO / "drills" / "sandbox.yaml"), "--yes"],
        env=lab_env(clean_lab, tmp_path), capture_output=True, text=True, timeout=120,
    )
    assert cleanup.returncode == 0, cleanup.stdout + cleanup.stderr
    assert f"journal of run {created['run_id']}: rds-instance {created['identifier']}" in cleanup.stdout
    assert drill_resources(clean_lab) == []


def test_failed_teardown_is_an_error_that_names_what_is_left(lab, tmp_path):
    import subprocess
    import sys

    from tests.helpers import REPO, lab_env

    lab.reset(faults=["teardown-denied"])
    outcome = finish_drill(start_drill(lab, tmp_path), tmp_path)

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
