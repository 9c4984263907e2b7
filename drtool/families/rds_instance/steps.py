"""Steps of the RDS restore drill. Each one calls drtool.families.rds_instance.recovery and records what it found."""

from __future__ import annotations

from pytest_bdd import then, when

from drtool.core.operations import calls
from drtool.core.run import TargetRun
from drtool.core.verdicts import judge
from drtool.families.rds_instance import recovery as rds_recovery
from drtool.families.rds_instance.recovery import (
    RdsDrillContext,
    Recovery,
    RecoveryPoint,
)


def _context(target: TargetRun) -> RdsDrillContext:
    return RdsDrillContext.for_target(target)


@when("the newest recoverable point of the database is found in the DR region", target_fixture="recovery_point")
@calls(rds_recovery.find_recovery_point)
def find_point(target: TargetRun) -> RecoveryPoint:
    point = rds_recovery.find_recovery_point(_context(target), target.name, target.target)
    target.note(f"{target.name}: recovering from {point.description}")
    return point


@when("it is restored as a new, private instance in the DR region", target_fixture="recovery")
@calls(rds_recovery.start_recovery)
def restore(target: TargetRun, recovery_point: RecoveryPoint) -> Recovery:
    return rds_recovery.start_recovery(_context(target), target.name, target.target, recovery_point)


@when("the restored instance becomes available")
@calls(rds_recovery.wait_until_available)
def wait_available(target: TargetRun, recovery: Recovery) -> None:
    deadline = 2 * target.target.objectives.rto.total_seconds()
    rds_recovery.wait_until_available(_context(target), recovery, deadline)


@then("the restored instance is encrypted with the target's DR-region key")
@calls(rds_recovery.check_encryption)
def encrypted(target: TargetRun, recovery: Recovery) -> None:
    target.note(rds_recovery.check_encryption(_context(target), recovery, target.target))


@then("the recovery meets the RTO and the RPO")
@calls(rds_recovery.measure)
def objectives_met(target: TargetRun, recovery: Recovery) -> None:
    measurements = rds_recovery.measure(_context(target), recovery, target.target)
    for measurement in measurements:
        target.note(measurement.line, measurement=measurement.as_record())
    judge(measurements)
