"""Ctrl-C, SIGTERM and the drill budget, for a run whose scenarios may run on worker threads.

Signals reach only the main thread. The first one outside teardown stops the
run: the main thread gets KeyboardInterrupt, as Python's default handler would
give it, and every worker thread gets one at its next wait (`pause`). A
teardown in progress on any thread is shielded: a signal is counted and
reported, and only the third abandons teardown, on every thread at once.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Iterator

from drtool.core.events import SignalDuringTeardown
from drtool.core.turns import process_turns

ABANDON_AFTER_INTERRUPTS = 3
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class TeardownAbandoned(KeyboardInterrupt):
    """The operator insisted on stopping teardown; what is left is in the journal."""


class Interrupts:
    """The process's one view of interrupts: signals are process-wide, so this is too (see `process_interrupts`)."""

    def __init__(self) -> None:
        # Re-entrant: the handler runs on the main thread, perhaps while the main thread holds the lock.
        self._lock = threading.RLock()
        self._teardowns: list[Any] = []  # Teardowns in progress, on any thread
        self._received = 0
        self._installed: dict[int, Any] = {}
        self._stop_signal_pending = False
        self._local = threading.local()
        self.stopping = threading.Event()
        self.abandoned = threading.Event()

    # --- the handler ------------------------------------------------------------------------

    @contextmanager
    def installed(self) -> Iterator[None]:
        """Handle SIGINT and SIGTERM for the run: on the main thread only, as Python requires."""
        if threading.current_thread() is not threading.main_thread() or self._installed:
            yield
            return
        self.stopping.clear()
        self.abandoned.clear()
        self._installed = {sig: signal.signal(sig, self._on_signal) for sig in SIGNALS}
        try:
            yield
        finally:
            for sig, previous in self._installed.items():
                signal.signal(sig, previous)
            self._installed = {}

    def _on_signal(self, signum: int, frame: object) -> None:
        name = signal.Signals(signum).name
        with self._lock:
            if self._stop_signal_pending:  # the run stopping itself is not the operator insisting
                self._stop_signal_pending = False
                if self._in_teardown():
                    return
                raise KeyboardInterrupt("stopped by drtool")
            teardowns = list(self._teardowns)
            if not teardowns and self.stopping.is_set():
                # The run is already stopping and about to tear down: a second KeyboardInterrupt now would cut short
                # the very code that waits for teardown (or starts it). Count it as teardown's shield would.
                self._received += 1
                _tell(f"\ndrtool: {name} received; the run is already stopping and will tear down first.\n")
                return
            if not teardowns:
                self.stopping.set()
                raise KeyboardInterrupt("SIGTERM") if signum == signal.SIGTERM else KeyboardInterrupt()
            self._received += 1
            received = self._received
        left = ", ".join(resource.identifier for teardown in teardowns for resource in teardown.pending)
        journals = {id(teardown.journal): teardown.journal for teardown in teardowns}  # targets tearing down side by side
        for journal in journals.values():
            journal.emit(SignalDuringTeardown(signal=name, count=received, pending=left))
        if received >= ABANDON_AFTER_INTERRUPTS:
            self.abandoned.set()
            run_id = teardowns[0].journal.run_id
            _tell(
                f"\ndrtool: teardown ABANDONED; still present: {left or 'nothing'}.\n"
                f"        Remove them with: drtool cleanup --run-id {run_id}\n"
            )
            if self._in_teardown():
                raise TeardownAbandoned(f"teardown abandoned with {left or 'nothing'} left")
            return
        _tell(
            f"\ndrtool: {name} received; teardown continues so nothing is left behind "
            f"(deleting: {left}). Interrupt {ABANDON_AFTER_INTERRUPTS - received} more time(s) to abandon it.\n"
        )

    def stop_run(self) -> None:
        """Stop the run as Ctrl-C would (the budget ran out): worker threads at once, the main thread by a signal.

        A real signal, not `_thread.interrupt_main`: only a signal wakes a main thread blocked in a join or a wait.
        """
        with self._lock:
            self._stop_signal_pending = True
        self.stopping.set()
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    # --- teardown's shield ------------------------------------------------------------------

    @contextmanager
    def shielding(self, teardown: Any) -> Iterator[None]:
        """While `teardown` runs, on whatever thread, a signal is counted instead of cutting it short."""
        with self.installed():  # a teardown outside a run (a library caller) shields itself
            with self._lock:
                self._teardowns.append(teardown)
            self._local.in_teardown = True
            try:
                yield
            finally:
                self._local.in_teardown = False
                with self._lock:
                    self._teardowns.remove(teardown)
                    if not self._teardowns:
                        self._received = 0
                        self.abandoned.clear()

    def _in_teardown(self) -> bool:
        return getattr(self._local, "in_teardown", False)

    # --- worker threads -----------------------------------------------------------------------

    def checkpoint(self) -> None:
        """On a worker thread, raise what a signal would have raised had it reached this thread."""
        if threading.current_thread() is threading.main_thread():
            return  # the handler raises on the main thread itself
        if self._in_teardown():
            if self.abandoned.is_set():
                raise TeardownAbandoned("teardown abandoned by the operator")
        elif self.stopping.is_set():
            raise KeyboardInterrupt("the run is stopping")

    def pause(self, clock: Any, seconds: float) -> None:
        """Wait `seconds` of `clock`'s time; a worker thread wakes at once when the run stops."""
        if seconds <= 0:
            self.checkpoint()
            return
        if threading.current_thread() is threading.main_thread():
            clock.sleep(seconds)
            return
        wake = self.abandoned if self._in_teardown() else self.stopping
        with process_turns().given_up():  # other targets' scenarios run while this one waits
            wake.wait(seconds / clock.scale)
        self.checkpoint()


@lru_cache(maxsize=1)
def process_interrupts() -> Interrupts:
    return Interrupts()


def _tell(message: str) -> None:
    # Straight to the file descriptor: the handler may have interrupted a print, and Python's buffered
    # streams refuse a reentrant write. The process's own stderr, not sys.stderr: a scenario tearing down on
    # its lane may have pytest capturing sys.stderr into its report, and the operator must see this now.
    stream = sys.__stderr__ or sys.stderr
    try:
        os.write(stream.fileno(), message.encode())
    except (AttributeError, OSError, ValueError):  # a stderr with no descriptor (captured in memory)
        print(message, end="", file=sys.stderr, flush=True)
