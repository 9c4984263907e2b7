"""RDS API throttling as AWS documents it: a token bucket per account and region, in real seconds."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from moto.rds.exceptions import RDSClientError


class ThrottlingError(RDSClientError):
    def __init__(self) -> None:
        super().__init__("Throttling", "Rate exceeded")


@dataclass
class TokenBucket:
    capacity: float
    refill_per_second: float
    tokens: float = 0.0
    updated: float = field(default_factory=time.monotonic)

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.refill_per_second)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class RdsThrottle:
    """300-request burst, 12 requests/s sustained. The bucket starts empty and a noisy
    neighbour in the same account uses most of the refill, so polling really gets throttled."""

    def __init__(self, burst: int = 300, rate_per_second: float = 12.0, neighbour_rate_per_second: float = 11.0,
                 start_full: bool = False):
        self._available_rate = max(rate_per_second - neighbour_rate_per_second, 0.0)
        self._burst = burst
        self._start = float(burst) if start_full else 0.0
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._lock = threading.Lock()

    def admit(self, account_id: str, region: str) -> None:
        """Consume one request's token or raise ThrottlingError."""
        with self._lock:
            bucket = self._buckets.setdefault(
                (account_id, region), TokenBucket(capacity=self._burst, refill_per_second=self._available_rate, tokens=self._start)
            )
            if not bucket.take():
                raise ThrottlingError()
