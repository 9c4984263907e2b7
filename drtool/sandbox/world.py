"""The world model: timed AWS behaviour that moto lacks, advanced by a thread on the world clock.

moto answers every call instantly. The world turns those answers into processes
that take world time (restores, snapshot copies, deletions, S3 replication) and
advances them from a background thread, so every client of the lab, in this
process or another, sees the same realistic progression.

The world knows no service: it composes the registered service models
(`drtool.sandbox.model`), each with its own lock, patches and due-time queue.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Iterator, Sequence

from drtool.core.clock import ScaledClock
from drtool.sandbox.faults import validate_faults
from drtool.sandbox.model import Job, ServiceModel, model_types
from drtool.sandbox.patches import Patcher

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorldSettings:
    """World-time durations, in seconds, of the processes the world models, and the world's DR region."""

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
    # The longest the world thread sleeps, in real seconds; it wakes sooner when work falls due.
    tick_real_seconds: float = 0.025
    random_seed: int = 20261127
    # Where faults such as no-dr-snapshot apply.
    primary_region: str = "eu-west-1"
    dr_region: str = "eu-central-1"


class _AllLocks:
    """Every model's lock, taken in registry order: for a caller that must see (or change) the whole world at once."""

    def __init__(self, models: Sequence[ServiceModel]):
        self._models = models
        self._stacks = threading.local()

    def __enter__(self) -> None:
        stack = ExitStack()
        for model in self._models:
            stack.enter_context(model.lock)
        self._stacks.__dict__.setdefault("open", []).append(stack)

    def __exit__(self, *exc_info: object) -> None:
        self._stacks.open.pop().close()


class World:
    """State machine of the sandbox: faults, the service models, and the thread that advances them."""

    def __init__(self, clock: ScaledClock, settings: WorldSettings | None = None, faults: Iterable[str] = (),
                 models: Sequence[type[ServiceModel]] | None = None):
        self.clock = clock
        self.settings = settings or WorldSettings()
        model_list = list(models if models is not None else model_types())
        self.faults = frozenset(validate_faults(faults, model_list))
        self._held: Counter[type | None] = Counter()  # None holds every kind
        self._held_lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._patcher = Patcher()
        self.models: dict[str, ServiceModel] = {}
        for model_type in model_list:
            self.models[model_type.name] = model_type(self)
        # Tests and look-ups that need the whole world still: each model's lock, in a fixed order.
        self.lock = _AllLocks(list(self.models.values()))

    def model(self, name: str) -> ServiceModel:
        try:
            return self.models[name]
        except KeyError:
            raise LookupError(f"no sandbox service model {name!r}; models: {', '.join(self.models)}") from None

    def has_fault(self, name: str) -> bool:
        return name in self.faults

    def now(self) -> datetime:
        """World time as moto stores it: naive UTC."""
        return self.clock.now().replace(tzinfo=None)

    # --- patches -------------------------------------------------------------------------------

    def install_clock(self) -> None:
        """Put every model's moto backend on world time (before seeding, so seeded resources carry it too)."""
        for model in self.models.values():
            self._patcher.install(model.clock_patches())

    def install(self) -> None:
        """Route moto calls through the models (once seeding, which must see plain moto, is done)."""
        for model in self.models.values():
            self._patcher.install(model.patches())

    def uninstall(self) -> None:
        self._patcher.remove()

    # --- work ----------------------------------------------------------------------------------

    def jobs(self) -> list[Job]:
        return [job for model in self.models.values() for job in model.jobs()]

    @property
    def jobs_in_flight(self) -> int:
        return len(self.jobs())

    def wake(self) -> None:
        """New work may be due sooner than the world thread planned to wake."""
        self._wake.set()

    @contextmanager
    def hold(self, *kinds: type) -> Iterator[None]:
        """Keep processes of these kinds (a job class, or a model class such as `ReplicationModel` for all of its
        work; every kind if none is named) where they are until the block ends, while the clock runs on.
        Tests use it to hold a state instead of racing it."""
        held = kinds or (None,)
        with self._held_lock:
            self._held.update(held)
        try:
            yield
        finally:
            with self._held_lock:
                self._held.subtract(held)
            self.wake()

    def _holds(self, model: ServiceModel):
        held = self._held

        def is_held(job: object) -> bool:
            return held[None] > 0 or held[type(job)] > 0 or held[type(model)] > 0

        return is_held

    def tick(self) -> None:
        """Advance every process that is not held to the current world time."""
        now = self.now()
        for model in self.models.values():
            model.advance(now, self._holds(model))

    def catch_up(self) -> None:
        """Before a request is served: whatever was due by now is done, however far the world thread lags on a
        busy machine, so no client sees a moment of the world that has already passed."""
        if self._thread is None:
            return
        try:
            self.tick()
        except Exception:  # the request is still served; the world thread retries the job
            log.exception("sandbox world catch-up failed")

    def step_to(self, now: datetime) -> None:
        """Advance every process, held or not, to `now`: with `hold()`, a test sets the world to a chosen moment."""
        for model in self.models.values():
            model.advance(now, lambda job: False)

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the world thread is already running")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="drtool-sandbox-world", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _sleep_seconds(self) -> float:
        """Real seconds until the earliest due work, at most one tick (held work that is due waits a tick)."""
        dues = [due for due in (model.next_due() for model in self.models.values()) if due is not None]
        if not dues:
            return self.settings.tick_real_seconds
        until = (min(dues) - self.now()).total_seconds() / self.clock.scale
        return self.settings.tick_real_seconds if until <= 0 else min(until, self.settings.tick_real_seconds)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()  # before the tick: work scheduled during it must cut the next sleep short
            try:
                self.tick()
            except Exception:  # a broken job must not freeze the whole world; it is logged and retried
                log.exception("sandbox world tick failed")
            self._wake.wait(self._sleep_seconds())
