"""The RDS restore drill: find the newest recoverable point, restore it in the DR region, time it.

Plain Python over injected clients, a clock and a teardown stack: the same
code runs against AWS and the sandbox, and the pytest-bdd steps only call it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable

from drtool.core.clock import (
    Clock,
    DeadlineExceeded,
    Stopwatch,
    format_duration,
    poll_until,
)
from drtool.core.errors import ResourceVanished
from drtool.core.events import Event, TimingStarted, TimingStopped
from drtool.core.operations import calls, dr, primary
from drtool.core.tagging import drill_tags, is_drill_name, resource_name
from drtool.core.in_flight import InFlight
from drtool.core.ownership import tag_map, tags_prove
from drtool.core.teardown import Teardown, TrackedResource, settle_then_delete
from drtool.core.verdicts import DrillFinding, Measurement, ObjectiveBreached
from drtool.families.rds_instance.events import InstanceAvailable, RecoveryStarted, SnapshotCopied
from drtool.families.rds_instance.target import RdsInstanceTarget
from drtool.services.kms.probes import describe_key
from drtool.services.rds.limits import SNAPSHOT_COPIES_IN_PROGRESS
from drtool.services.rds.watch import InstanceWatch
from drtool.services.rds import actions, probes
from drtool.services.rds.probes import Snapshot

# RDS states from which an instance can go on to `available` without help.
TRANSITIONAL_STATES = frozenset(
    {"creating", "backing-up", "modifying", "configuring-enhanced-monitoring", "configuring-log-exports",
     "upgrading", "rebooting", "resetting-master-credentials", "renaming", "starting", "storage-optimization",
     "configuring-iam-database-auth", "maintenance"}
)
DELETABLE_WAIT_STATES = TRANSITIONAL_STATES
SNAPSHOT_BUSY_STATES = frozenset({"creating", "pending", "copying"})
# Events AWS records when a restored instance is ready; the last one before `available` marks the moment.
READY_EVENT = re.compile(r"restored from (db )?snapshot|db instance (created|restored)|finished applying modification", re.I)

POLL_INTERVAL = 30.0  # world seconds; one describe per poll keeps far under RDS's 12 req/s


@dataclass(frozen=True)
class RecoveryPoint:
    target: str
    snapshot: Snapshot
    needs_copy: bool

    @property
    def description(self) -> str:
        where = "copied from the primary region" if self.needs_copy else "already in the DR region"
        taken = self.snapshot.point_in_time.isoformat(timespec="seconds") if self.snapshot.point_in_time else "unknown time"
        return f"{self.snapshot.snapshot_type} snapshot {self.snapshot.identifier} taken {taken}, {where}"


@dataclass
class Recovery:
    """What one restore did and how long each part took, in world time."""

    target: str
    point: RecoveryPoint
    started_at: datetime
    watch: Stopwatch
    instance_id: str
    restore_snapshot: str = ""
    copy_seconds: float | None = None
    restore_requested_at: datetime | None = None
    available_at: datetime | None = None
    available_source: str = ""
    instance: dict[str, Any] = field(default_factory=dict)

    @property
    def rto_seconds(self) -> float:
        if self.available_at is None:
            return self.watch.elapsed
        return (self.available_at - self.started_at).total_seconds()

    @property
    def rpo_seconds(self) -> float:
        taken = self.point.snapshot.point_in_time
        if taken is None:
            raise DrillFinding(f"{self.target}: snapshot {self.point.snapshot.identifier} has no creation time")
        return max(0.0, (self.started_at - taken).total_seconds())


@dataclass
class RdsDrillContext:
    """Everything the RDS drill needs, injected."""

    rds_primary: Any
    rds_dr: Any
    ec2_dr: Any
    kms_dr: Any
    primary_region: str
    dr_region: str
    clock: Clock
    emit: Callable[[Event], None]  # journals an event as the scenario's and target's (TargetRun.emit)
    teardown: Teardown
    run_id: str
    drill_name: str
    progress: Callable[[str], None] = lambda message: None
    watch: InstanceWatch | None = None  # the run's restores in this DR region, polled together
    copies: InFlight | None = None  # the run's snapshot copies in progress into this DR region

    @classmethod
    def for_target(cls, target: Any) -> "RdsDrillContext":
        """The context for one scenario's TargetRun (see drtool.core.run)."""
        drill = target.run.drill
        return cls(
            rds_primary=target.client("rds", drill.primary_region),
            rds_dr=target.client("rds", drill.dr_region),
            ec2_dr=target.client("ec2", drill.dr_region),
            kms_dr=target.client("kms", drill.dr_region),
            primary_region=drill.primary_region,
            dr_region=drill.dr_region,
            clock=target.run.clock,
            emit=target.emit,
            teardown=target.teardown,
            run_id=target.run.run_id,
            drill_name=drill.drill,
            progress=target.progress,
            watch=target.run.shared(("rds-instance-watch", drill.dr_region), lambda: InstanceWatch(
                target.client("rds", drill.dr_region), target.run.clock, fresh_for=POLL_INTERVAL / 2)),
            copies=target.run.shared(("rds-snapshot-copies", drill.dr_region), lambda: InFlight(
                drill.concurrency.rds_snapshot_copies, target.run.clock)),
        )


@calls(
    primary(probes.describe_instance),
    dr(probes.list_instance_snapshots),
    primary(probes.list_instance_snapshots, only_if="no snapshot of the source instance is in the DR region"),
)
def find_recovery_point(ctx: RdsDrillContext, name: str, target: RdsInstanceTarget) -> RecoveryPoint:
    """The newest available snapshot of the source already in the DR region, else the newest in the primary."""
    if probes.describe_instance(ctx.rds_primary, target.source_instance) is None:
        raise DrillFinding(f"{name}: source instance {target.source_instance} does not exist in {ctx.primary_region}")

    def newest(snapshots: list[Snapshot]) -> Snapshot | None:
        usable = [s for s in snapshots if s.status == "available" and s.point_in_time and not is_drill_name(s.identifier)]
        return max(usable, key=lambda s: s.point_in_time, default=None)

    in_dr = newest(probes.list_instance_snapshots(ctx.rds_dr, target.source_instance, ctx.dr_region))
    if in_dr is not None:
        return RecoveryPoint(name, in_dr, needs_copy=False)
    in_primary = newest(probes.list_instance_snapshots(ctx.rds_primary, target.source_instance, ctx.primary_region))
    if in_primary is None:
        raise DrillFinding(
            f"{name}: no available snapshot of {target.source_instance} in {ctx.dr_region} or {ctx.primary_region}"
        )
    return RecoveryPoint(name, in_primary, needs_copy=True)


@calls(
    "_resolve_dr_key",
    dr(probes.resolve_security_groups),
    dr("_copy_across", only_if="no snapshot of the source instance is in the DR region"),
    dr(actions.restore_instance),
    dr(probes.describe_instance, teardown=True),  # an unconfirmed restore's tags, before teardown may delete it
    dr("remove_instance", teardown=True),
)
def start_recovery(ctx: RdsDrillContext, name: str, target: RdsInstanceTarget, point: RecoveryPoint) -> Recovery:
    """Start the recovery clock, copy the snapshot across if needed, and request the restore."""
    dr_key = _resolve_dr_key(ctx, name, target)
    security_groups = probes.resolve_security_groups(ctx.ec2_dr, target.restore.security_groups)
    recovery = Recovery(
        target=name,
        point=point,
        started_at=ctx.clock.now(),
        watch=Stopwatch.start(ctx.clock),
        instance_id=resource_name(ctx.run_id, name),
    )
    ctx.emit(RecoveryStarted(point=point.description, snapshot_arn=point.snapshot.arn))
    ctx.emit(TimingStarted(figure="RTO", objective_s=target.objectives.rto.total_seconds()))
    tags = drill_tags(ctx.run_id, ctx.drill_name, name, recovery.started_at)
    recovery.restore_snapshot = point.snapshot.arn or point.snapshot.identifier
    if point.needs_copy:
        recovery.restore_snapshot = _copy_across(ctx, name, target, point, dr_key, tags, deadline=2 * target.objectives.rto.total_seconds())
        recovery.copy_seconds = recovery.watch.elapsed

    instance = ctx.teardown.announce(
        TrackedResource(
            kind="rds-instance",
            identifier=recovery.instance_id,
            region=ctx.dr_region,
            target=name,
            remove=lambda: remove_instance(ctx.rds_dr, recovery.instance_id, ctx.clock, watch=ctx.watch),
            service="rds",
            verify=lambda: tagged_for_run(probes.describe_instance(ctx.rds_dr, recovery.instance_id), ctx.run_id, recovery.instance_id),
        )
    )
    recovery.restore_requested_at = ctx.clock.now()
    with ctx.teardown.creating(instance):
        created = actions.restore_instance(
            ctx.rds_dr,
            identifier=recovery.instance_id,
            snapshot=recovery.restore_snapshot,
            instance_class=target.restore.instance_class,
            subnet_group=target.restore.subnet_group,
            security_group_ids=security_groups,
            tags=tags,
            parameter_group=target.restore.parameter_group,
            option_group=target.restore.option_group,
        )
    ctx.teardown.created(instance, arn=created.get("DBInstanceArn"), status=created.get("DBInstanceStatus"))
    ctx.progress(f"restoring {recovery.instance_id} from {point.snapshot.identifier}")
    return recovery


@calls("_describe_dr_key")
def _resolve_dr_key(ctx: RdsDrillContext, name: str, target: RdsInstanceTarget) -> dict[str, Any]:
    key = _describe_dr_key(ctx, target)
    if key.get("KeyState") != "Enabled":
        raise DrillFinding(
            f"{name}: DR-region key {target.dr_kms_key} in {ctx.dr_region} is {key.get('KeyState')}, so nothing can be restored with it"
        )
    return key


@calls(dr(describe_key))
def _describe_dr_key(ctx: RdsDrillContext, target: RdsInstanceTarget) -> dict[str, Any]:
    from drtool.services.kms.probes import describe_key

    try:
        return describe_key(ctx.kms_dr, target.dr_kms_key)
    except ctx.kms_dr.exceptions.NotFoundException:
        raise DrillFinding(f"DR-region key {target.dr_kms_key} does not exist in {ctx.dr_region}") from None


@calls(dr(actions.copy_snapshot), dr(probes.describe_snapshot), dr("remove_snapshot", teardown=True))
def _copy_across(
    ctx: RdsDrillContext,
    name: str,
    target: RdsInstanceTarget,
    point: RecoveryPoint,
    dr_key: dict[str, Any],
    tags: list[dict[str, str]],
    deadline: float,
) -> str:
    copy_id = resource_name(ctx.run_id, name, "copy")
    copies = ctx.copies or InFlight(SNAPSHOT_COPIES_IN_PROGRESS, ctx.clock)
    with copies.slot() as waited:  # RDS allows only so many copies in progress into one Region, for the account
        if waited >= 1:  # world seconds; an instant free slot is no wait
            ctx.progress(f"waited {format_duration(waited)} for one of {copies.limit} snapshot copies into {ctx.dr_region}")
        copy = ctx.teardown.announce(
            TrackedResource(
                kind="rds-snapshot",
                identifier=copy_id,
                region=ctx.dr_region,
                target=name,
                remove=lambda: remove_snapshot(ctx.rds_dr, copy_id, ctx.clock),
                service="rds",
                verify=lambda: tagged_for_run(_describe_raw_snapshot(ctx.rds_dr, copy_id), ctx.run_id, copy_id),
            )
        )
        with ctx.teardown.creating(copy):
            created = actions.copy_snapshot(
                ctx.rds_dr,
                source_arn=point.snapshot.arn,
                source_region=ctx.primary_region,
                target_identifier=copy_id,
                kms_key_id=dr_key["Arn"],
                tags=tags,
                option_group=target.restore.option_group,
            )
        ctx.teardown.created(copy, arn=created.get("DBSnapshotArn"))
        ctx.progress(f"copying {point.snapshot.identifier} to {ctx.dr_region}")
        finished = poll_until(
            lambda: probes.describe_snapshot(ctx.rds_dr, copy_id, ctx.dr_region),
            lambda snap: snap is not None and snap.status not in SNAPSHOT_BUSY_STATES,
            clock=ctx.clock,
            deadline=deadline,
            interval=POLL_INTERVAL,
            what=f"snapshot copy {copy_id}",
            on_poll=lambda snap: ctx.progress(
                f"copying {point.snapshot.identifier} to {ctx.dr_region}: {snap.percent_progress if snap else 0}%"
            ),
        )
    if finished is None or finished.status != "available":
        raise DrillFinding(f"{name}: snapshot copy {copy_id} ended {finished.status if finished else 'missing'}, not available")
    ctx.emit(SnapshotCopied(identifier=copy_id, arn=finished.arn))
    return finished.arn or copy_id


@calls(dr(probes.describe_instances), "_moment_available")
def wait_until_available(ctx: RdsDrillContext, recovery: Recovery, deadline: float) -> Recovery:
    """Wait, bounded by `deadline` world seconds from the start of recovery, until the instance is available."""

    def status_of(instance: dict[str, Any] | None) -> str:
        return instance.get("DBInstanceStatus", "unknown") if instance else "missing"

    watch = ctx.watch or InstanceWatch(ctx.rds_dr, ctx.clock, fresh_for=0.0)
    remaining = max(0.0, deadline - recovery.watch.elapsed)
    try:
        instance, polled_at = poll_until(
            lambda: watch.describe(recovery.instance_id),
            lambda seen: status_of(seen[0]) not in TRANSITIONAL_STATES,
            clock=ctx.clock,
            deadline=remaining,
            interval=POLL_INTERVAL,
            what=f"{recovery.instance_id} to become available",
            on_poll=lambda seen: ctx.progress(f"{recovery.instance_id}: {status_of(seen[0])}"),
        )
    except DeadlineExceeded as exc:
        raise ObjectiveBreached(
            f"{recovery.target}: still {status_of(exc.last[0] if exc.last else None)} in {ctx.dr_region} after "
            f"{format_duration(recovery.watch.elapsed)}; gave up at the deadline of {format_duration(deadline)}"
        ) from None
    finally:
        watch.forget(recovery.instance_id)
    if status_of(instance) in ("missing", "deleting"):
        raise ResourceVanished(f"{recovery.target}: restored instance {recovery.instance_id} is {status_of(instance)} in "
                               f"{ctx.dr_region}: something deleted it while the drill was restoring it")
    if status_of(instance) != "available":
        raise DrillFinding(f"{recovery.target}: restored instance {recovery.instance_id} ended {status_of(instance)}, not available")
    recovery.instance = instance
    recovery.available_at, recovery.available_source = _moment_available(ctx, recovery, polled_at)
    ctx.emit(TimingStopped(figure="RTO"))
    ctx.emit(InstanceAvailable(
        identifier=recovery.instance_id,
        available_at=recovery.available_at.isoformat(),
        source=recovery.available_source,
        polled_at=polled_at.isoformat(),
    ))
    return recovery


@calls(dr(probes.instance_events))
def _moment_available(ctx: RdsDrillContext, recovery: Recovery, polled_at: datetime) -> tuple[datetime, str]:
    """Prefer AWS's own record of when the restore finished to the moment our poll noticed."""
    since = (recovery.restore_requested_at or recovery.started_at) - timedelta(minutes=1)
    events = probes.instance_events(ctx.rds_dr, recovery.instance_id, since)
    ready = [e for e in events if READY_EVENT.search(e.get("Message", "")) and recovery.started_at <= e["Date"] <= polled_at]
    if ready:
        event = ready[-1]
        return event["Date"], f"aws-event: {event['Message']}"
    return polled_at, "poll"


@calls()
def measure(ctx: RdsDrillContext, recovery: Recovery, target: RdsInstanceTarget) -> list[Measurement]:
    rto = Measurement(
        target=recovery.target,
        name="RTO",
        measured=recovery.rto_seconds,
        objective=target.objectives.rto.total_seconds(),
        source=recovery.available_source or "poll",
        text=f"restored in {ctx.dr_region} in {format_duration(recovery.rto_seconds)}"
        + (f" (copy {format_duration(recovery.copy_seconds)})" if recovery.copy_seconds is not None else ""),
    )
    snapshot = recovery.point.snapshot
    rpo = Measurement(
        target=recovery.target,
        name="RPO",
        measured=recovery.rpo_seconds,
        objective=target.objectives.rpo.total_seconds(),
        source="OriginalSnapshotCreateTime" if snapshot.original_created else "SnapshotCreateTime",
        text=f"recovered point {snapshot.identifier} was {format_duration(recovery.rpo_seconds)} old",
    )
    return [rto, rpo]


@calls("_describe_dr_key", dr(probes.describe_instance))
def check_encryption(ctx: RdsDrillContext, recovery: Recovery, target: RdsInstanceTarget) -> str:
    """The restored instance must be encrypted with the target's DR-region key."""
    key = _describe_dr_key(ctx, target)
    instance = recovery.instance or probes.describe_instance(ctx.rds_dr, recovery.instance_id) or {}
    if not instance.get("StorageEncrypted"):
        raise DrillFinding(f"{recovery.target}: restored instance {recovery.instance_id} is NOT encrypted")
    used = instance.get("KmsKeyId", "")
    if used not in (key["Arn"], key["KeyId"]) and not used.endswith(f"key/{key['KeyId']}"):
        raise DrillFinding(
            f"{recovery.target}: restored instance is encrypted with {used}, not the DR-region key {key['Arn']}"
        )
    return f"{recovery.target}: restored instance encrypted with the DR-region key {key['Arn']}: met"


@calls(probes.describe_instance, probes.describe_instances, actions.delete_instance)
def remove_instance(rds: Any, identifier: str, clock: Clock, watch: InstanceWatch | None = None) -> bool:
    """Delete a drill instance (no final snapshot) once it can be, and wait until it is gone: polled with the
    run's other instances in the region when a `watch` is given (a fleet tears down side by side too)."""
    try:
        return settle_then_delete(
            (lambda: watch.describe(identifier)[0]) if watch else (lambda: probes.describe_instance(rds, identifier)),
            lambda instance: instance.get("DBInstanceStatus", ""),
            lambda: actions.delete_instance(rds, identifier),
            clock=clock,
            what=f"instance {identifier}",
            busy_states=DELETABLE_WAIT_STATES,
            wait_until_gone=True,
        )
    finally:
        if watch is not None:
            watch.forget(identifier)


@calls(probes.describe_snapshot, actions.delete_snapshot)
def remove_snapshot(rds: Any, identifier: str, clock: Clock) -> bool:
    """Delete a drill snapshot copy once any copy in progress has settled."""
    return settle_then_delete(
        lambda: _as_dict(probes.describe_snapshot(rds, identifier, "")),
        lambda snapshot: snapshot["Status"],
        lambda: actions.delete_snapshot(rds, identifier),
        clock=clock,
        what=f"snapshot {identifier}",
        busy_states=SNAPSHOT_BUSY_STATES,
        wait_until_gone=False,
    )


def _as_dict(snapshot: Snapshot | None) -> dict[str, Any] | None:
    return None if snapshot is None else {"Status": snapshot.status}


def tagged_for_run(described: dict[str, Any] | None, run_id: str, identifier: str) -> bool:
    """Whether a resource whose create was never confirmed (a lost response) is, by its tags in AWS, this run's."""
    return described is not None and tags_prove(tag_map(described.get("TagList")), run_id, identifier) is None


def _describe_raw_snapshot(rds: Any, identifier: str) -> dict[str, Any] | None:
    try:
        found = rds.describe_db_snapshots(DBSnapshotIdentifier=identifier)["DBSnapshots"]
    except rds.exceptions.DBSnapshotNotFoundFault:
        return None
    return found[0] if found else None
