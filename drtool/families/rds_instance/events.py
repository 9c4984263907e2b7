"""The RDS restore drill's own journal events, and what each adds to the run's results."""

from __future__ import annotations

from dataclasses import dataclass

from drtool.core.events import ScenarioEvent, event
from drtool.core.results import on_timeline


@event("recovery-started")
@dataclass(frozen=True, kw_only=True)
class RecoveryStarted(ScenarioEvent):
    point: str  # the recovery point, as the reports describe it
    snapshot_arn: str | None = None


@event("snapshot-copied")
@dataclass(frozen=True, kw_only=True)
class SnapshotCopied(ScenarioEvent):
    identifier: str
    arn: str | None = None


@event("instance-available")
@dataclass(frozen=True, kw_only=True)
class InstanceAvailable(ScenarioEvent):
    identifier: str
    available_at: str  # AWS's moment when it recorded one, else the poll's
    source: str  # "aws-event: <message>" or "poll"
    polled_at: str


RESULT_HANDLERS = {
    RecoveryStarted: on_timeline("recovery started from {point}"),
    SnapshotCopied: on_timeline("snapshot copied to the DR region as {identifier}"),
    InstanceAvailable: on_timeline("{identifier} available at {available_at} ({source})"),
}
