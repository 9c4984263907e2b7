"""Steps of the S3 replication drill: thin glue over config, canary, metrics and the completeness audit."""

from __future__ import annotations

from pytest_bdd import then, when

from drtool.core.operations import calls, primary
from drtool.core.run import TargetRun
from drtool.core.verdicts import Verdict, judge
from drtool.families.s3_replication import canary as canary_logic
from drtool.families.s3_replication import config, metrics
from drtool.families.s3_replication.audit import Sample, audit_replication
from drtool.families.s3_replication.canary import Canary
from drtool.families.s3_replication.completeness import audit_verdict
from drtool.families.s3_replication.context import S3DrillContext
from drtool.families.s3_replication.metrics import WindowMetrics


def _context(target: TargetRun) -> S3DrillContext:
    return S3DrillContext.for_target(target)


# --- configuration --------------------------------------------------------------------------------


@when("the replication set-up of both buckets is read", target_fixture="deviations")
@calls(config.configuration_deviations)
def read_configuration(target: TargetRun) -> tuple[list[str], str]:
    return config.configuration_deviations(_context(target))


@then("versioning, the rule, its keys, its options and its role are as the target expects")
@calls()
def configuration_as_expected(target: TargetRun, deviations: tuple[list[str], str]) -> None:
    found, rule = deviations
    t = target.target
    if found:
        Verdict.failed(f"{target.name}: {len(found)} deviation(s) of {t.source_bucket} -> {t.replica_bucket}: "
                       + "; ".join(found)).enforce()
    target.note(f"{target.name}: {t.source_bucket} replicates to {t.replica_bucket} by {rule}, as expected")


# --- canaries -------------------------------------------------------------------------------------


@when("canary objects are written to the source bucket as production writes its data", target_fixture="canaries")
@calls(canary_logic.write_canaries)
def write_canary_objects(target: TargetRun) -> list[Canary]:
    return canary_logic.write_canaries(_context(target))


@when("each canary arrives in the replica bucket")
@calls(canary_logic.wait_for_replicas)
def canaries_arrive(target: TargetRun, canaries: list[Canary]) -> None:
    canary_logic.wait_for_replicas(_context(target), canaries)


@then("each replica is marked a replica, encrypted with the replica key and identical to its canary")
@calls(canary_logic.replica_problems)
def replicas_intact(target: TargetRun, canaries: list[Canary]) -> None:
    ctx = _context(target)
    problems, compared = canary_logic.replica_problems(ctx, canaries)
    canary_logic.integrity_finding(ctx, problems)
    target.note(f"{target.name}: {len(canaries)} replicas COMPLETED/REPLICA, encrypted with {target.target.replica_kms_key}, "
                f"identical by {compared}")


@then("the replication lag meets the objective")
@calls(canary_logic.lag_measurements, canary_logic.aws_latency_note)
def lag_met(target: TargetRun, canaries: list[Canary]) -> None:
    ctx = _context(target)
    measurements = canary_logic.lag_measurements(ctx, canaries)
    for measurement in measurements:
        target.note(measurement.line, measurement=measurement.as_record())
    aws = canary_logic.aws_latency_note(ctx, canaries)
    if aws:
        target.note(aws)
    judge(measurements)


# --- metrics --------------------------------------------------------------------------------------


@when("the replication metrics over the window are read", target_fixture="window_metrics")
@calls(metrics.read_metrics)
def read_window_metrics(target: TargetRun) -> WindowMetrics:
    if not target.target.expect.metrics:
        Verdict.skipped(f"{target.name}: replication metrics are not expected for this target (expect.metrics is false)").enforce()
    return metrics.read_metrics(_context(target))


@then("replication latency, pending and failed operations meet the objectives")
@calls(metrics.judge_metrics)
def metrics_met(target: TargetRun, window_metrics: WindowMetrics) -> None:
    verdict = metrics.judge_metrics(_context(target), window_metrics)
    for measurement in verdict.measurements:
        target.note(measurement.line, measurement=measurement.as_record())
    target.note(verdict.sentence)


# --- completeness audit ---------------------------------------------------------------------------


@when("the replica is audited against the source", target_fixture="audit_report")
@calls(audit_replication, primary(config.replicated_prefixes))
def audit(target: TargetRun):
    t, run = target.target, target.run
    sample = None
    if t.audit.sample_percent is not None or t.audit.sample_keys is not None:
        sample = Sample(percent=t.audit.sample_percent, keys=t.audit.sample_keys)
    source_s3 = target.client("s3", run.drill.primary_region)
    return audit_replication(
        source_s3, target.client("s3", run.drill.dr_region),
        t.source_bucket, t.replica_bucket, prefix=t.audit.prefix, sample=sample, now=run.clock.now(),
        in_flight_s=t.objectives.max_lag.total_seconds(),
        replicated_prefixes=config.replicated_prefixes(source_s3, t.source_bucket, t.replica_bucket),
    )


@then("no object is missing, different, stuck or unreplicated for longer than the objective")
@calls()
def audit_met(target: TargetRun, audit_report) -> None:
    verdict = audit_verdict(target.name, target.target, audit_report)
    for measurement in verdict.measurements:
        target.note(measurement.line, measurement=measurement.as_record())
    target.note(verdict.sentence)
    verdict.enforce()

