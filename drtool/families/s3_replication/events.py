"""The S3 replication drill's own journal events, and what each adds to the run's results."""

from __future__ import annotations

from dataclasses import dataclass

from drtool.core.events import Event, event
from drtool.core.results import RunResult, Stamp, TimelineEntry


@event("canary-replicated")
@dataclass(frozen=True, kw_only=True)
class CanaryReplicated(Event):
    test: str = ""
    target: str
    key: str
    size: int
    lag_s: float
    source: str  # "LastModified" (AWS's moments on both sides) or "poll"


def _on_timeline(result: RunResult, event: CanaryReplicated, stamp: Stamp) -> None:
    test = result.test_of(event)
    if test is not None:
        test.timeline.append(TimelineEntry(stamp.at, stamp.mono, f"{event.key} ({event.size} B) replicated after "
                                                                 f"{event.lag_s:.1f}s ({event.source})"))


RESULT_HANDLERS = {CanaryReplicated: _on_timeline}
