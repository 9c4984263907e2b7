"""What every part of the secret drill needs, injected: clients per side and per principal, the clock, the notes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from drtool.core.clock import Clock
from drtool.families.secret.target import SecretTarget


@dataclass
class SecretDrillContext:
    name: str  # the target's name in the drill file
    target: SecretTarget
    aws: Any  # the drill's own access: `client(service, region)` and `as_role(arn)` (a TargetRun)
    primary_region: str
    dr_region: str
    clock: Clock
    note: Callable[[str], None] = lambda line: None

    @classmethod
    def for_target(cls, target: Any) -> "SecretDrillContext":
        """The context for one scenario's TargetRun (see drtool.core.run)."""
        drill = target.run.drill
        return cls(name=target.name, target=target.target, aws=target, primary_region=drill.primary_region,
                   dr_region=drill.dr_region, clock=target.run.clock, note=target.note)

    def client(self, service: str, region: str) -> Any:
        return self.aws.client(service, region)
