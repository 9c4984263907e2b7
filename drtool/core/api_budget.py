"""drtool's share of an account's API rate: one token bucket per service and region, for every client of a run.

AWS throttles some services per account and region, for every caller at once:
RDS documents a burst of 300 requests, then 12 a second (the "RDS API
throttling" page). A drill shares that bucket with production's own
automation, so it takes only a share of it (half, unless the drill file says
otherwise) and waits for a token before each request, retries included, rather
than spend AWS's and be throttled. AWS counts in real seconds, so this does too.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from drtool.core.interrupts import process_interrupts


@dataclass(frozen=True)
class Rate:
    burst: float
    per_second: float

    def share(self, fraction: float) -> "Rate":
        return Rate(max(1.0, self.burst * fraction), self.per_second * fraction)


# Documented per-account, per-region request rates of the services drtool polls.
DOCUMENTED_RATES = {"rds": Rate(burst=300, per_second=12.0)}
DEFAULT_SHARE = 0.5


class _Bucket:
    def __init__(self, rate: Rate, now: float) -> None:
        self.rate = rate
        self.tokens = rate.burst
        self.updated = now

    def wait_needed(self, now: float) -> float:
        """Take a token if there is one (0.0), else how many seconds until there will be."""
        self.tokens = min(self.rate.burst, self.tokens + (now - self.updated) * self.rate.per_second)
        self.updated = now
        if self.tokens >= 1 - 1e-9:  # a token refilled over exactly the wait asked for counts, whatever the rounding
            self.tokens = max(0.0, self.tokens - 1)
            return 0.0
        return (1 - self.tokens) / self.rate.per_second


class ApiBudget:
    """Before each request to a rate-limited service, wait until drtool's share of the rate allows it."""

    def __init__(self, share: float = DEFAULT_SHARE, rates: dict[str, Rate] | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] | None = None) -> None:
        self.rates = {service: rate.share(share) for service, rate in (rates or DOCUMENTED_RATES).items()}
        self._clock = clock
        self._sleep = sleep or _real_sleep
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._lock = threading.Lock()
        self.waits = 0
        self.waited_s = 0.0

    def attach(self, client: Any, service: str, region: str) -> None:
        """A SessionFactory client hook: every attempt of a rate-limited service's client takes a token first."""
        if service in self.rates:
            client.meta.events.register(f"before-send.{client.meta.service_model.service_id.hyphenize()}",
                                        lambda **kwargs: self.take(service, region))

    def take(self, service: str, region: str) -> None:
        while True:
            with self._lock:
                now = self._clock()
                bucket = self._buckets.get((service, region))
                if bucket is None:
                    bucket = self._buckets[(service, region)] = _Bucket(self.rates[service], now)
                wait = bucket.wait_needed(now)
                if wait == 0.0:
                    return None
                self.waits += 1
                self.waited_s += wait
            self._sleep(wait)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"budget_waits": self.waits, "budget_waited_s": round(self.waited_s, 3),
                    "budget": {service: {"burst": rate.burst, "per_second": rate.per_second}
                               for service, rate in self.rates.items()}}


def _real_sleep(seconds: float) -> None:
    # Real seconds, as AWS counts them; the turn is kept (botocore may hold locks here), and a stopping run wakes it.
    process_interrupts().checkpoint()
    time.sleep(seconds)
    process_interrupts().checkpoint()
