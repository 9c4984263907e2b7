"""Service models: the seam by which the world learns a service's timed behaviour.

A service model owns everything the lab adds to one moto service: the faults it
can inject, the moto patches that route calls through it, the moto modules it
puts on world time, a lock, and a queue of pending work ordered by due time.
The world composes whichever models are registered (`model_types()`), so adding
a service edits neither `world.py` nor `patches.py`.
"""

from __future__ import annotations

import heapq
import importlib
import itertools
import os
import threading
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterable, Protocol, runtime_checkable

from moto.core import utils as moto_utils

from drtool.sandbox.faults import Fault
from drtool.sandbox.patches import Patch, replace_attribute

if TYPE_CHECKING:
    from drtool.sandbox.world import World

# drtool's own models, in lock order: a caller needing several locks (`World.lock`) takes them in this order.
BUILTIN_MODELS = (
    "drtool.sandbox.kms_model:KmsModel",
    "drtool.sandbox.rds_model:RdsModel",
    "drtool.sandbox.s3_model:ReplicationModel",
    "drtool.sandbox.secrets_model:SecretsModel",
    "drtool.sandbox.sts_model:StsModel",
)
# More models, as comma-separated `module:Class` (a team's own service, or a test's).
MODELS_ENV = "DRTOOL_SANDBOX_MODELS"


class Job(Protocol):
    """Pending work. `due` is the world time it next needs attention; `advance` returns True once it has finished,
    else it has moved `due` on (a job that is advanced before it is due must leave `due` alone)."""

    due: datetime

    def advance(self, now: datetime) -> bool: ...


@runtime_checkable
class ServiceModel(Protocol):
    """What the world needs of a service model. Subclassing `QueuedModel` gives all but the declarations."""

    name: ClassVar[str]  # the moto service it models, e.g. "rds"
    faults: ClassVar[tuple[Fault, ...]]  # the faults it owns; `drtool sandbox faults` lists them
    lock: threading.RLock  # serialises its patched moto calls with its own advancing

    def __init__(self, world: "World") -> None: ...

    def clock_patches(self) -> Iterable[Patch]:
        """Patches that put its moto backend on world time; installed before the world is seeded."""
        ...

    def patches(self) -> Iterable[Patch]:
        """Patches that route moto calls through the model; installed once the world is seeded."""
        ...

    def next_due(self) -> datetime | None:
        """When its earliest pending work is due, or None if it has none."""
        ...

    def advance(self, now: datetime, is_held: Callable[[object], bool]) -> None:
        """Do the work due by `now`, leaving alone what `is_held` says is held."""
        ...

    def jobs(self) -> list[Job]: ...


def world_time_patches(module: Any, now: Callable[[], datetime]) -> list[Patch]:
    """Point a moto module's time source (`utcnow`, `unix_time`, imported by name) at world time.

    moto stamps what it creates with these, so with them patched a resource a client creates through the API
    carries world time, as the lab's own do.
    """
    found = []
    if hasattr(module, "utcnow"):
        found.append(replace_attribute(module, "utcnow", lambda original: now))
    if hasattr(module, "unix_time"):
        found.append(replace_attribute(
            module, "unix_time", lambda original: lambda dt=None: moto_utils.unix_time(dt or now())))
    return found


@dataclass(order=True)
class _Entry:
    due: datetime
    sequence: int
    job: Any = None


class DueQueue:
    """Pending work in a heap by due time: a tick costs what is due, not what is pending."""

    def __init__(self) -> None:
        self._heap: list[_Entry] = []
        self._sequence = itertools.count()  # ties keep their order, and jobs are never compared

    def push(self, job: Job) -> None:
        heapq.heappush(self._heap, _Entry(job.due, next(self._sequence), job))

    def __len__(self) -> int:
        return len(self._heap)

    def jobs(self) -> list[Job]:
        return [entry.job for entry in self._heap]

    def next_due(self) -> datetime | None:
        return self._heap[0].due if self._heap else None

    def run_due(self, now: datetime, is_held: Callable[[object], bool]) -> None:
        """Advance every job due by `now` that is not held. Jobs a job schedules wait for the next run."""
        batch = []
        while self._heap and self._heap[0].due <= now:
            batch.append(heapq.heappop(self._heap).job)
        again: list[Job] = []
        position = 0
        try:
            for position, job in enumerate(batch):
                if is_held(job) or not job.advance(now):
                    again.append(job)
        except BaseException:
            again.extend(batch[position:])  # the failing job, and those after it, try again next tick
            raise
        finally:
            for job in again:
                self.push(job)


class QueuedModel:
    """A service model's common part: a lock, a due-time queue, and holds by job kind or by the model's own kind."""

    name: ClassVar[str] = ""
    faults: ClassVar[tuple[Fault, ...]] = ()
    clock_modules: ClassVar[tuple[str, ...]] = ()  # moto modules whose time source becomes world time

    def __init__(self, world: "World"):
        self.world = world
        self.lock = threading.RLock()
        self.queue = DueQueue()

    def clock_patches(self) -> Iterable[Patch]:
        for name in self.clock_modules:
            yield from world_time_patches(importlib.import_module(name), self.world.now)

    def patches(self) -> Iterable[Patch]:
        return ()

    def schedule(self, job: Job) -> None:
        with self.lock:
            self.queue.push(job)
        self.world.wake()

    def next_due(self) -> datetime | None:
        with self.lock:
            return self.queue.next_due()

    def advance(self, now: datetime, is_held: Callable[[object], bool]) -> None:
        with self.lock:
            self.queue.run_due(now, is_held)

    def jobs(self) -> list[Job]:
        with self.lock:
            return self.queue.jobs()


@lru_cache(maxsize=1)
def model_types() -> tuple[type[ServiceModel], ...]:
    """drtool's service models and those DRTOOL_SANDBOX_MODELS names (read once per process)."""
    names = [*BUILTIN_MODELS, *filter(None, (part.strip() for part in os.environ.get(MODELS_ENV, "").split(",")))]
    found: list[type[ServiceModel]] = []
    for name in names:
        module, _, attribute = name.partition(":")
        model = getattr(importlib.import_module(module), attribute)
        if not isinstance(model, type) or not getattr(model, "name", ""):
            raise TypeError(f"{name} is not a sandbox service model (a class with a `name`)")
        found.append(model)
    return tuple(found)
