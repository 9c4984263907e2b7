"""Restores in flight in one region, described together: one DescribeDBInstances per 100 instances per poll.

RDS throttles per request, for the whole account (a burst of 300, then 12 a
second), so a fleet's restores must not each poll alone. Every scenario waiting
on an instance asks the watch; an observation younger than `fresh_for` world
seconds answers them all, and the next one covers every instance still watched.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from drtool.core.clock import Clock
from drtool.core.operations import calls
from drtool.services.rds import probes


class InstanceWatch:
    def __init__(self, rds: Any, clock: Clock, fresh_for: float) -> None:
        self._rds = rds
        self._clock = clock
        self._fresh_for = fresh_for
        self._watched: set[str] = set()
        self._covered: set[str] = set()
        self._seen: dict[str, dict[str, Any]] = {}
        self._observed_mono: float | None = None
        self._observed_at: datetime | None = None

    @calls(probes.describe_instances)
    def describe(self, identifier: str) -> tuple[dict[str, Any] | None, datetime]:
        """The instance as last observed (None: it does not exist), and the world time of that observation.

        No lock: a lock held across the describe would deadlock lanes (drtool.core.turns). Two lanes that find
        the observation stale at once both describe; each keeps a whole answer."""
        self._watched.add(identifier)
        now = self._clock.monotonic()
        stale = self._observed_mono is None or now - self._observed_mono >= self._fresh_for
        if stale or identifier not in self._covered:
            watched = sorted(self._watched)
            seen = probes.describe_instances(self._rds, watched)
            self._seen, self._covered = seen, set(watched)
            self._observed_mono, self._observed_at = now, self._clock.now()
        return self._seen.get(identifier), self._observed_at or self._clock.now()

    def forget(self, identifier: str) -> None:
        self._watched.discard(identifier)
        self._covered.discard(identifier)
