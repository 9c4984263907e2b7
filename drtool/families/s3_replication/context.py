"""What every part of the S3 replication drill needs, injected: clients per side, the clock, the journal's emit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from drtool.core.clock import Clock
from drtool.core.events import Event
from drtool.core.teardown import Teardown
from drtool.families.s3_replication.target import S3ReplicationTarget


@dataclass
class S3DrillContext:
    name: str  # the target's name in the drill file
    target: S3ReplicationTarget
    clients: Callable[[str, str], Any]  # (service, region) -> the drill's guarded, counted client
    primary_region: str
    dr_region: str
    clock: Clock
    emit: Callable[[Event], None]  # journals an event as the scenario's and target's (TargetRun.emit)
    teardown: Teardown
    run_id: str
    drill_name: str
    progress: Callable[[str], None] = lambda message: None

    @classmethod
    def for_target(cls, target: Any) -> "S3DrillContext":
        """The context for one scenario's TargetRun (see drtool.core.run)."""
        drill = target.run.drill
        return cls(
            name=target.name, target=target.target, clients=target.client, primary_region=drill.primary_region,
            dr_region=drill.dr_region, clock=target.run.clock, emit=target.emit, teardown=target.teardown,
            run_id=target.run.run_id, drill_name=drill.drill, progress=target.progress,
        )

    # The source bucket is in the primary region and the replica in the DR region; the configuration check proves it.
    @property
    def s3_source(self) -> Any:
        return self.clients("s3", self.primary_region)

    @property
    def s3_replica(self) -> Any:
        return self.clients("s3", self.dr_region)
