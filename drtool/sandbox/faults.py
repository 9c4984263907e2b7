"""Named faults a lab can inject, so a drill can be shown to catch each failure mode."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class Fault:
    name: str
    description: str


SLOW_RESTORE = "slow-restore"
REPLICATION_PAUSED = "replication-paused"
DR_KEY_DISABLED = "dr-key-disabled"
NO_DR_SNAPSHOT = "no-dr-snapshot"
THROTTLING = "throttling"
TEARDOWN_DENIED = "teardown-denied"

FAULTS: dict[str, Fault] = {
    fault.name: fault
    for fault in (
        Fault(SLOW_RESTORE, "RDS restores take 45 world minutes, longer than a 30-minute RTO."),
        Fault(REPLICATION_PAUSED, "S3 replication stops: new objects stay PENDING and pending metrics grow."),
        Fault(DR_KEY_DISABLED, "The DR-region alias/dr-rds KMS key is disabled, so DR restores and copies fail."),
        Fault(NO_DR_SNAPSHOT, "No snapshot exists in the DR region and copying one into it is denied."),
        Fault(THROTTLING, "The RDS API is throttled (300 burst, 12/s, bucket empty, a neighbour uses 11/s)."),
        Fault(TEARDOWN_DENIED, "Deleting DB instances is denied, so teardown fails and leaves them for `drtool cleanup`."),
    )
}


def validate_faults(names: Iterable[str]) -> tuple[str, ...]:
    """Return the fault names unchanged (deduplicated, in order); raise ValueError for unknown ones."""
    chosen = tuple(dict.fromkeys(names))
    unknown = [name for name in chosen if name not in FAULTS]
    if unknown:
        raise ValueError(f"unknown fault(s) {', '.join(unknown)}; valid faults: {', '.join(sorted(FAULTS))}")
    return chosen
