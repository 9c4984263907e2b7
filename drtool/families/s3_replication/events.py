"""The S3 replication drill's own journal events, and what each adds to the run's results."""

from __future__ import annotations

from dataclasses import dataclass

from drtool.core.events import ScenarioEvent, event
from drtool.core.results import on_timeline


@event("canary-replicated")
@dataclass(frozen=True, kw_only=True)
class CanaryReplicated(ScenarioEvent):
    key: str
    size: int
    lag_s: float
    source: str  # what bounded the lag: "LastModified and polls", "LastModified" or "polls"
    uncertainty_s: float = 0.0  # the lag lies within this of lag_s


RESULT_HANDLERS = {CanaryReplicated: on_timeline("{key} ({size} B) replicated after {lag_s:.1f}s ±{uncertainty_s:.1f}s ({source})")}
