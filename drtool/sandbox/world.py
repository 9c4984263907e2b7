"""The world model: timed AWS behaviour that moto lacks, advanced by a thread on the world clock.

moto answers every call instantly. The world turns those answers into processes
that take world time (restores, snapshot copies, deletions, S3 replication) and
advances them from a background thread, so every client of the lab, in this
process or another, sees the same realistic progression.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Iterator, Protocol

from drtool.core.clock import ScaledClock
from drtool.sandbox.faults import (
    REPLICATION_PAUSED,
    SLOW_RESTORE,
    THROTTLING,
    validate_faults,
)
from drtool.sandbox.kms_model import KeyGuard
from drtool.sandbox.rds_model import RdsModel
from drtool.sandbox.s3_model import ReplicationModel
from drtool.sandbox.throttle import RdsThrottle

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorldSettings:
    """World-time durations, in seconds, of the processes the world models."""

    restore_seconds: float = 12 * 60
    slow_restore_seconds: float = 45 * 60
    snapshot_copy_seconds: float = 8 * 60
    instance_delete_seconds: float = 3 * 60
    replication_lag_min_seconds: float = 20
    replication_lag_max_seconds: float = 90
    # CloudWatch publishes S3 replication metrics per minute.
    metrics_period_seconds: float = 60
    # The production application writes an order export this often (0 turns it off).
    app_write_interval_seconds: float = 5 * 60
    # How often the world thread wakes, in real seconds: often enough for smooth progress.
    tick_real_seconds: float = 0.025
    random_seed: int = 20261127


class Job(Protocol):
    """A process in flight; `advance` returns True once it has finished."""

    def advance(self, now: datetime) -> bool: ...


class World:
    """State machine of the sandbox: faults, in-flight jobs and the thread that advances them."""

    def __init__(self, clock: ScaledClock, settings: WorldSettings | None = None, faults: Iterable[str] = ()):
        self.clock = clock
        self.settings = settings or WorldSettings()
        self.faults = frozenset(validate_faults(faults))
        # One lock serialises the world thread with patched moto calls from server threads.
        self.lock = threading.RLock()
        self._jobs: list[Job] = []
        self._held: Counter[type | None] = Counter()  # None holds every kind
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.keys = KeyGuard()
        self.rds = RdsModel(self)
        self.replication = ReplicationModel(self)
        self.throttle = RdsThrottle() if THROTTLING in self.faults else None

    def has_fault(self, name: str) -> bool:
        return name in self.faults

    @property
    def restore_seconds(self) -> float:
        if self.has_fault(SLOW_RESTORE):
            return self.settings.slow_restore_seconds
        return self.settings.restore_seconds

    @property
    def replication_paused(self) -> bool:
        return self.has_fault(REPLICATION_PAUSED)

    def now(self) -> datetime:
        """World time as moto stores it: naive UTC."""
        return self.clock.now().replace(tzinfo=None)

    def schedule(self, job: Job) -> None:
        with self.lock:
            self._jobs.append(job)

    @property
    def jobs_in_flight(self) -> int:
        with self.lock:
            return len(self._jobs)

    @contextmanager
    def hold(self, *kinds: type) -> Iterator[None]:
        """Keep processes of these kinds (a job class, or `ReplicationModel`; every kind if none is named) where they
        are until the block ends, while the clock runs on. Tests use it to hold a state instead of racing it."""
        held = kinds or (None,)
        with self.lock:
            self._held.update(held)
        try:
            yield
        finally:
            with self.lock:
                self._held.subtract(held)

    def _is_held(self, process: object) -> bool:
        return self._held[None] > 0 or self._held[type(process)] > 0

    def tick(self) -> None:
        """Advance every process that is not held to the current world time."""
        self._advance(self.now(), respect_holds=True)

    def step_to(self, now: datetime) -> None:
        """Advance every process, held or not, to `now`: with `hold()`, a test sets the world to a chosen moment."""
        self._advance(now, respect_holds=False)

    def _advance(self, now: datetime, *, respect_holds: bool) -> None:
        with self.lock:
            # Jobs may schedule jobs (a backup job starts copies): keep those apart from the ones advanced now.
            current, self._jobs = self._jobs, []
            unfinished: list[Job] = []
            position = 0
            try:
                for position, job in enumerate(current):
                    if (respect_holds and self._is_held(job)) or not job.advance(now):
                        unfinished.append(job)
            except BaseException:
                unfinished.extend(current[position:])  # the failing job, and those after it, try again next tick
                raise
            finally:
                self._jobs = unfinished + self._jobs
            if not (respect_holds and self._is_held(self.replication)):
                self.replication.advance(now)

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the world thread is already running")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="drtool-sandbox-world", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.settings.tick_real_seconds):
            try:
                self.tick()
            except Exception:  # a broken job must not freeze the whole world; it is logged and retried
                log.exception("sandbox world tick failed")
