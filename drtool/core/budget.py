"""The drill budget: the longest a whole drill may take before it is stopped and torn down."""

from __future__ import annotations

import threading

from drtool.core.clock import Clock, format_duration
from drtool.core.events import BudgetExceeded
from drtool.core.interrupts import process_interrupts
from drtool.core.journal import Journal


class BudgetWatch:
    """Stops the run, as Ctrl-C would, once the budget has run out.

    Stopping reuses the one path that is proven to tear down: KeyboardInterrupt
    handling on the main thread and on every worker thread, teardown shield included.
    """

    def __init__(self, budget_seconds: float, clock: Clock, journal: Journal):
        self.budget_seconds = budget_seconds
        self.clock = clock
        self.journal = journal
        self.exceeded = False
        self._cancelled = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="drtool-budget", daemon=True)

    def start(self) -> "BudgetWatch":
        self._thread.start()
        return self

    def cancel(self) -> None:
        self._cancelled.set()

    def _watch(self) -> None:
        if self._cancelled.wait(self.budget_seconds / self.clock.scale):
            return
        self.exceeded = True
        self.journal.emit(BudgetExceeded(
            budget_s=self.budget_seconds,
            message=f"the drill budget of {format_duration(self.budget_seconds)} ran out; the run was stopped and torn down",
        ))
        process_interrupts().stop_run()
