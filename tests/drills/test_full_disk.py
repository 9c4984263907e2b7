"""A full disk under the journal: teardown still deletes everything, from memory, and the run says so (exit 3)."""

from __future__ import annotations

import errno
import subprocess

import pytest

from drtool.sandbox.seed import BILLING_DB

from drtool.sandbox.seed import DR_REGION
from tests.helpers import drill_file, drill_resources, finish_drill, production_untouched, start_drill, wait_for_journal_event


@pytest.fixture
def small_disk(tmp_path):
    """tmp_path/journal on a tmpfs of its own, 256 KiB: a real filesystem the test can fill."""
    mount = tmp_path / "journal"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(directory) -> None:
    with open(directory / "filler", "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    with open(directory / "filler-tail", "wb", buffering=0) as handle:  # the last few bytes too
        try:
            while True:
                handle.write(b"\0")
        except OSError:
            pass


def test_teardown_survives_a_full_journal_disk(lab, tmp_path, small_disk):
    # billing-db copies its snapshot to the DR region, then restores an instance from it: two resources to delete.
    drill = drill_file(tmp_path, BILLING_DB, rto="4h")
    junit = tmp_path / "elsewhere" / "junit.xml"
    junit.parent.mkdir()
    with production_untouched(lab):
        proc = start_drill(lab, tmp_path, "--junit-xml", str(junit), drill=drill)
        wait_for_journal_event(tmp_path, "resource-created", kind="rds-instance")
        with lab.world.hold():  # the restore cannot end before the disk is full
            fill(small_disk)
        outcome = finish_drill(proc, tmp_path)

    assert outcome.exit_code == 3, outcome.output
    assert "cannot write the journal" in outcome.output
    assert outcome.output.count("cannot write the journal") == 1  # once, not per record
    run_id = outcome.journal[0]["run_id"]
    assert f"drtool cleanup --run-id {run_id} --region {DR_REGION} --yes" in outcome.output, outcome.output
    assert "INTERNALERROR" not in outcome.output
    # The file stops at a complete record, and nothing was deleted before the disk filled: the rest ran from memory.
    assert not [r for r in outcome.journal if r["event"] == "resource-deleted"]
    assert (small_disk / next(p.name for p in small_disk.glob("*.jsonl"))).read_bytes().endswith(b"\n")
    assert drill_resources(lab) == []
    assert junit.exists(), outcome.output
    assert "<testcase" in junit.read_text()
