"""Steps of the Secrets Manager DR drill: thin glue over replica and rotation. No value is ever noted."""

from __future__ import annotations

from pytest_bdd import then, when

from drtool.core.operations import calls
from drtool.core.run import TargetRun
from drtool.families.secret import replica, rotation
from drtool.families.secret.context import SecretDrillContext
from drtool.families.secret.replica import SecretState


def _context(target: TargetRun) -> SecretDrillContext:
    return SecretDrillContext.for_target(target)


@when("the secret is described in the primary region and its replica key in the DR region", target_fixture="secret_state")
@calls(replica.read_state)
def described(target: TargetRun) -> SecretState:
    return replica.read_state(_context(target))


@then("the replica in the DR region is in sync and encrypted with the target's DR-region key")
@calls()
def replica_in_sync(target: TargetRun, secret_state: SecretState) -> None:
    verdict = replica.replica_verdict(_context(target), secret_state)
    target.note(verdict.sentence)
    verdict.enforce()


@then("each allowed principal reads from the replica the value the primary holds now")
@calls(replica.allowed_reads)
def allowed_read(target: TargetRun, secret_state: SecretState) -> None:
    verdict = replica.allowed_reads(_context(target), secret_state)
    target.note(verdict.sentence)
    verdict.enforce()


@then("each denied principal is refused the replica")
@calls(replica.denied_reads)
def denied_refused(target: TargetRun, secret_state: SecretState) -> None:
    verdict = replica.denied_reads(_context(target), secret_state)
    target.note(verdict.sentence)
    verdict.enforce()


@when("the secret's rotation settings are read", target_fixture="rotation_settings")
@calls(rotation.read_rotation)
def rotation_read(target: TargetRun) -> dict:
    return rotation.read_rotation(_context(target))


@then("rotation is enabled, scheduled within the maximum interval, and last happened within it")
@calls()
def rotation_judged(target: TargetRun, rotation_settings: dict) -> None:
    verdict, notes = rotation.rotation_verdict(_context(target), rotation_settings, target.run.clock.now())
    for line in notes:
        target.note(line)
    for measurement in verdict.measurements:
        target.note(measurement.line, measurement=measurement.as_record())
    target.note(verdict.sentence)
    verdict.enforce()
