"""Teardown reports every failure and still deletes the rest, newest first."""

from __future__ import annotations

import pytest

from drtool.core.clock import SystemClock
from drtool.core.events import TeardownStarted
from drtool.core.journal import Journal, read_journal
from drtool.core.teardown import Teardown, TeardownError, TrackedResource


def test_a_failed_deletion_is_reported_and_the_rest_still_deleted(tmp_path):
    journal = Journal(tmp_path / "run.jsonl", "abcd1234", SystemClock())
    teardown = Teardown(journal, SystemClock(), scope="test")
    order: list[str] = []

    def remover(name: str, fail: bool = False):
        def remove() -> bool:
            order.append(name)
            if fail:
                raise RuntimeError(f"{name} is stuck")
            return True

        return remove

    for name, fail in (("first", False), ("second", True), ("third", False)):
        teardown.created(teardown.announce(TrackedResource("rds-instance", name, "eu-central-1", "t", remover(name, fail))))

    with pytest.raises(TeardownError, match="second is stuck"):
        teardown.run()

    assert order == ["third", "second", "first"]
    events = [(r["event"], r.get("identifier")) for r in read_journal(journal.path)]
    assert ("resource-delete-failed", "second") in events
    assert ("resource-deleted", "first") in events and ("resource-deleted", "third") in events
    assert any(line.startswith("teardown FAILED: could not delete rds-instance second") for line in teardown.summary_lines())


def test_teardown_is_shielded_from_ctrl_c_before_it_announces_itself(tmp_path):
    """Whoever reads "teardown-started" in the journal and presses Ctrl-C must not cut teardown short."""
    import signal

    handlers_when_announced = []

    class WatchingJournal(Journal):
        def emit(self, event):
            if isinstance(event, TeardownStarted):
                handlers_when_announced.append(signal.getsignal(signal.SIGINT))
            return super().emit(event)

    journal = WatchingJournal(tmp_path / "run.jsonl", "abcd1234", SystemClock())
    teardown = Teardown(journal, SystemClock(), scope="test")
    teardown.created(teardown.announce(TrackedResource("rds-instance", "only", "eu-central-1", "t", lambda: True)))
    default = signal.getsignal(signal.SIGINT)

    teardown.run()

    assert handlers_when_announced and handlers_when_announced[0] is not default
    assert signal.getsignal(signal.SIGINT) is default, "the shield is lifted once teardown is done"


JOURNAL_INTERRUPTED_MID_WRITE = """
import signal, sys
from pathlib import Path
from drtool.core.journal import Journal, read_journal
from drtool.core.clock import SystemClock

class InterruptingClock(SystemClock):
    armed = False
    def now(self):
        if self.armed:  # Ctrl-C lands while the journal is in the middle of a write
            self.armed = False
            signal.raise_signal(signal.SIGINT)
        return super().now()

clock = InterruptingClock()
journal = Journal(Path(sys.argv[1]), "abcd1234", clock)
signal.signal(signal.SIGINT, lambda *_: journal.write("signal-during-teardown", signal="SIGINT"))
clock.armed = True
journal.write("teardown-started")
journal.write("teardown-finished")
print([(r["seq"], r["event"]) for r in read_journal(journal.path)])
"""


def test_a_signal_that_writes_to_the_journal_mid_write_is_recorded_next_not_deadlocked(tmp_path):
    import subprocess
    import sys

    # In a process of its own, bounded: the regression is a hang on the journal's lock.
    result = subprocess.run([sys.executable, "-c", JOURNAL_INTERRUPTED_MID_WRITE, str(tmp_path / "run.jsonl")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str([(1, "teardown-started"), (2, "signal-during-teardown"), (3, "teardown-finished")])


def test_an_announced_but_unconfirmed_resource_is_never_deleted_unless_its_tags_prove_it(tmp_path):
    """A refused or failed create (or "already exists") may name someone else's resource: teardown leaves it."""
    journal = Journal(tmp_path / "run.jsonl", "abcd1234", SystemClock())
    teardown = Teardown(journal, SystemClock(), scope="test")
    deleted: list[str] = []
    teardown.announce(TrackedResource("rds-instance", "refused", "eu-central-1", "t", lambda: deleted.append("refused") or True))
    teardown.announce(TrackedResource("rds-instance", "lost-response", "eu-central-1", "t",
                                      lambda: deleted.append("lost-response") or True, verify=lambda: True))
    teardown.announce(TrackedResource("rds-instance", "someone-elses", "eu-central-1", "t",
                                      lambda: deleted.append("someone-elses") or True, verify=lambda: False))

    teardown.run()

    assert deleted == ["lost-response"]
    unconfirmed = [r["identifier"] for r in read_journal(journal.path) if r["event"] == "resource-deleted" and r.get("unconfirmed")]
    assert sorted(unconfirmed) == ["refused", "someone-elses"]
    assert any("refused" in line and "never confirmed" in line for line in teardown.summary_lines())
