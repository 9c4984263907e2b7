"""Counts of the AWS calls a run made, and how many AWS throttled.

RDS allows a burst of 300 and 12 requests a second per account and region,
shared with everything else in the account; these counts show how much of
that a drill used and how often it was pushed back.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

THROTTLING_CODES = frozenset({"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException", "SlowDown"})


class ApiCallStats:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self._lock = threading.Lock()

    def attach(self, client: Any, service: str, region: str) -> None:
        """A SessionFactory client hook: count every attempt and every throttled answer."""
        client.meta.events.register("needs-retry", self._on_attempt)

    def _on_attempt(self, response: Any = None, event_name: str = "", **kwargs: Any) -> None:
        # event_name is needs-retry.<service>.<Operation>; returning None leaves retry decisions to botocore.
        operation = event_name.split(".", 1)[-1]
        code = None
        if response is not None and isinstance(response[1], dict):
            code = response[1].get("Error", {}).get("Code")
        with self._lock:
            self.calls[operation] += 1
            if code in THROTTLING_CODES:
                self.throttled[operation] += 1
        return None

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "attempts": sum(self.calls.values()),
                "throttled": sum(self.throttled.values()),
                "by_operation": dict(self.calls),
                "throttled_by_operation": dict(self.throttled),
            }
