"""Limits on how many long-running AWS requests of one kind may be in progress at once, as AWS documents them.

Some quotas count requests in progress, not requests per second: RDS allows up
to 20 snapshot copy requests in progress to a single destination Region per
account (RDS User Guide, "Copying a DB snapshot", Limitations). A fleet that
copies more must queue its copies itself; AWS would refuse the 21st.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from drtool.core.clock import Clock
from drtool.core.interrupts import process_interrupts

# World seconds between looks for a free slot: a copy takes minutes, and a look costs no AWS call.
SLOT_POLL_INTERVAL = 10.0


class InFlight:
    def __init__(self, limit: int, clock: Clock) -> None:
        self.limit = limit
        self.clock = clock
        self.in_progress = 0

    @contextmanager
    def slot(self) -> Iterator[float]:
        """Hold one of the `limit` slots for the block; yields the world seconds waited for it."""
        started = self.clock.monotonic()
        # No lock: lanes change the count only on their turn (drtool.core.turns), and waiting gives the turn up.
        while self.in_progress >= self.limit:
            process_interrupts().pause(self.clock, SLOT_POLL_INTERVAL)
        self.in_progress += 1
        try:
            yield self.clock.monotonic() - started
        finally:
            self.in_progress -= 1
