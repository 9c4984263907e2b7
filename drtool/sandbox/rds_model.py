"""RDS in world time: restores and snapshot copies take minutes, deletions linger, events carry world dates.

It works on whatever instances and snapshots moto holds, the lab's seeded ones
or a client's own: the patches sit on moto's backend methods, and moto's clock
in `moto.rds.models` is world time, so API-created resources carry world time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, ClassVar, Iterable

from moto.core.responses import ActionResult
from moto.rds.exceptions import RDSClientError
from moto.rds.models import DBInstance, DBSnapshot, RDSBackend
from moto.rds.responses import RDSResponse

from drtool.sandbox.faults import Fault
from drtool.sandbox.kms_model import require_usable_by_rds
from drtool.sandbox.model import QueuedModel
from drtool.sandbox.patches import Patch, wrap_method
from drtool.sandbox.throttle import RdsThrottle, ThrottlingError

SLOW_RESTORE = "slow-restore"
NO_DR_SNAPSHOT = "no-dr-snapshot"
THROTTLING = "throttling"
RATE_LIMITED = "rate-limited"
TEARDOWN_DENIED = "teardown-denied"

# (event id, category, message) as in the RDS user guide's event tables. The event id is not part
# of the DescribeEvents shape; the world keeps it in its own record (`RdsModel.recorded`).
INSTANCE_CREATED = ("RDS-EVENT-0005", "creation", "DB instance created")
INSTANCE_RESTORED = ("RDS-EVENT-0043", "notification", "Restored from snapshot {snapshot}")
INSTANCE_DELETED = ("RDS-EVENT-0003", "deletion", "DB instance deleted")
SNAPSHOT_COPY_STARTED = ("RDS-EVENT-0059", "notification", "Started copy of snapshot {source} from {region}")
SNAPSHOT_COPY_FINISHED = ("RDS-EVENT-0060", "notification", "Finished copy of snapshot {source} from {region}")


@dataclass
class RdsEvent:
    """Quacks like moto's rds Event so DescribeEvents serialises it, with a world-time date."""

    event_id: str
    source_identifier: str
    source_type: str
    message: str
    event_categories: list[str]
    source_arn: str
    date: datetime


def invalid_state(message: str) -> RDSClientError:
    return RDSClientError("InvalidDBInstanceState", message)


def snapshot_region(identifier: str, default_region: str) -> str:
    return identifier.split(":")[3] if identifier.startswith("arn:") else default_region


class RdsModel(QueuedModel):
    name = "rds"
    faults: ClassVar[tuple[Fault, ...]] = (
        Fault(SLOW_RESTORE, "RDS restores take 45 world minutes, longer than a 30-minute RTO."),
        Fault(NO_DR_SNAPSHOT, "No snapshot exists in the DR region and copying one into it is denied."),
        Fault(THROTTLING, "The RDS API is throttled (300 burst, 12/s, bucket empty, a neighbour uses 11/s)."),
        Fault(RATE_LIMITED, "The RDS API admits its documented rate and no more: a full 300-request burst, then 12/s."),
        Fault(TEARDOWN_DENIED, "Deleting DB instances is denied, so teardown fails and leaves them for `drtool cleanup`."),
    )
    clock_modules = ("moto.rds.models",)

    def __init__(self, world):
        super().__init__(world)
        self.recorded: list[RdsEvent] = []
        # Tests swap in a storm of their own; None admits every call.
        self.throttle: Any = None
        if world.has_fault(THROTTLING):
            self.throttle = RdsThrottle()
        elif world.has_fault(RATE_LIMITED):
            self.throttle = RdsThrottle(neighbour_rate_per_second=0.0, start_full=True)

    @property
    def restore_seconds(self) -> float:
        if self.world.has_fault(SLOW_RESTORE):
            return self.world.settings.slow_restore_seconds
        return self.world.settings.restore_seconds

    def patches(self) -> Iterable[Patch]:
        return (
            wrap_method(RDSResponse, "call_action", self._dispatch),
            wrap_method(RDSBackend, "restore_db_instance_from_db_snapshot", self._restore),
            wrap_method(RDSBackend, "copy_db_snapshot", self._copy_snapshot),
            wrap_method(RDSBackend, "delete_db_instance", self._delete_instance),
        )

    def record(self, backend: RDSBackend, resource: DBInstance | DBSnapshot, kind: tuple[str, str, str],
               at: datetime, **details: str) -> None:
        event_id, category, message = kind
        event = RdsEvent(
            event_id=event_id,
            source_identifier=resource.resource_id,
            source_type=resource.event_source_type,
            message=message.format(**details),
            event_categories=[category],
            source_arn=resource.arn,
            date=at,
        )
        backend.events.append(event)
        self.recorded.append(event)

    # --- patches ---------------------------------------------------------------------------------

    def _dispatch(self, original: Callable[..., Any]) -> Callable[..., Any]:
        model = self

        def call_action(response: RDSResponse) -> Any:
            if model.throttle is not None:
                try:
                    model.throttle.admit(response.current_account, response.region)
                except ThrottlingError as error:
                    status, headers, body = response.serialized(ActionResult(error))
                    headers["status"] = status
                    return status, *response._enrich_response(headers, body)
            # Serialise RDS API calls with this model's advancing, which mutates the same backends.
            with model.lock:
                return original(response)

        return call_action

    def _restore(self, original: Callable[..., Any]) -> Callable[..., Any]:
        model = self

        def restore(backend: RDSBackend, from_snapshot_id: str, overrides: dict[str, Any]) -> Any:
            snapshot = model.check_restore(backend, from_snapshot_id, overrides)
            events_before = len(backend.events)
            instance = original(backend, from_snapshot_id, overrides)
            model.start_restore(backend, instance, snapshot, events_before)
            return instance

        return restore

    def _copy_snapshot(self, original: Callable[..., Any]) -> Callable[..., Any]:
        model = self

        def copy(backend: RDSBackend, source_db_snapshot_identifier: str, target_db_snapshot_identifier: str,
                 kms_key_id: str | None = None, **kwargs: Any) -> Any:
            source = model.check_copy(backend, source_db_snapshot_identifier, kms_key_id)
            copied = original(backend, source_db_snapshot_identifier, target_db_snapshot_identifier,
                              kms_key_id=kms_key_id, **kwargs)
            model.start_copy(backend, copied, source, source_db_snapshot_identifier)
            return copied

        return copy

    def _delete_instance(self, original: Callable[..., Any]) -> Callable[..., Any]:
        model = self

        def delete(backend: RDSBackend, db_instance_identifier: str, *args: Any, **kwargs: Any) -> Any:
            model.check_delete(backend, db_instance_identifier)
            instance = original(backend, db_instance_identifier, *args, **kwargs)
            model.start_delete(backend, instance)
            return instance

        return delete

    # --- restore -------------------------------------------------------------------------------

    def check_restore(self, backend: RDSBackend, snapshot_id: str, overrides: dict[str, Any]) -> DBSnapshot:
        snapshot = backend.get_db_snapshot(snapshot_id)
        if snapshot.status != "available":
            raise RDSClientError("InvalidDBSnapshotState", f"Snapshot {snapshot_id} is not in available state.")
        key = overrides.get("kms_key_id") or snapshot.kms_key_id
        require_usable_by_rds(key, backend.region_name, backend.account_id)
        return snapshot

    def start_restore(self, backend: RDSBackend, instance: DBInstance, snapshot: DBSnapshot,
                      events_before: int) -> None:
        now = self.world.now()
        # moto announces creation and takes a backup at once; AWS does so only when the instance exists.
        del backend.events[events_before:]
        for auto in backend.describe_db_snapshots(instance.db_instance_identifier, snapshot_type="automated"):
            backend.database_snapshots.pop(auto.db_snapshot_identifier, None)
        instance.status = "creating"
        instance.created = instance.instance_create_time = now
        # moto copies the source's availability zone, which for a cross-region restore is in the wrong region.
        if not instance.availability_zone.startswith(backend.region_name):
            instance.availability_zone = f"{backend.region_name}a"
        due = now + timedelta(seconds=self.restore_seconds)
        self.schedule(RestoreJob(self, backend, instance, snapshot.db_snapshot_identifier, due))

    # --- copy ----------------------------------------------------------------------------------

    def check_copy(self, backend: RDSBackend, source_id: str, kms_key_id: str | None) -> DBSnapshot:
        source = backend.get_db_snapshot(source_id)
        source_region = snapshot_region(source_id, backend.region_name)
        dr_region = self.world.settings.dr_region
        if self.world.has_fault(NO_DR_SNAPSHOT) and backend.region_name == dr_region and source_region != dr_region:
            raise RDSClientError(
                "AccessDenied",
                f"User is not authorized to perform: rds:CopyDBSnapshot on resource {source_id} into {dr_region} "
                "with an explicit deny in a service control policy",
            )
        if source.status != "available":
            raise RDSClientError("InvalidDBSnapshotState", f"Snapshot {source_id} is not in available state.")
        key = kms_key_id or (source.kms_key_id if source_region == backend.region_name else None)
        require_usable_by_rds(key, backend.region_name, backend.account_id)
        return source

    def start_copy(self, backend: RDSBackend, copy: DBSnapshot, source: DBSnapshot, source_id: str) -> None:
        now = self.world.now()
        source_region = snapshot_region(source_id, backend.region_name)
        copy.status = "creating"
        copy.percent_progress = 0
        copy.created = now
        copy.snapshot_type = "manual"
        copy.source_db_snapshot_identifier = source.arn
        if source_region != backend.region_name:
            copy.source_region = source_region
        details = {"source": source.db_snapshot_identifier, "region": source_region}
        self.record(backend, copy, SNAPSHOT_COPY_STARTED, now, **details)
        finish = now + timedelta(seconds=self.world.settings.snapshot_copy_seconds)
        self.schedule(CopyJob(self, backend, copy, now, finish, details))

    # --- delete --------------------------------------------------------------------------------

    def check_delete(self, backend: RDSBackend, instance_id: str) -> None:
        instance = backend.databases.get(instance_id)
        if instance is None:
            return  # moto raises DBInstanceNotFound
        if self.world.has_fault(TEARDOWN_DENIED):
            raise RDSClientError(
                "AccessDenied", f"User is not authorized to perform: rds:DeleteDBInstance on resource {instance.arn}"
            )
        if instance.status == "creating":
            raise invalid_state(f"Instance {instance_id} is currently creating - it cannot be deleted yet.")
        if instance.status == "deleting":
            raise invalid_state(f"Instance {instance_id} is already being deleted.")

    def start_delete(self, backend: RDSBackend, instance: DBInstance) -> None:
        # moto removes the instance at once; AWS keeps it visible as `deleting` for a while.
        backend.databases[instance.db_instance_identifier] = instance
        instance.status = "deleting"
        due = self.world.now() + timedelta(seconds=self.world.settings.instance_delete_seconds)
        self.schedule(DeleteJob(self, backend, instance, due))


@dataclass
class RestoreJob:
    model: RdsModel
    backend: RDSBackend
    instance: DBInstance
    snapshot_id: str
    due: datetime

    def advance(self, now: datetime) -> bool:
        if self.backend.databases.get(self.instance.db_instance_identifier) is not self.instance:
            return True
        if now < self.due:
            return False
        self.instance.status = "available"
        self.model.record(self.backend, self.instance, INSTANCE_RESTORED, self.due, snapshot=self.snapshot_id)
        self.model.record(self.backend, self.instance, INSTANCE_CREATED, self.due)
        return True


@dataclass
class CopyJob:
    model: RdsModel
    backend: RDSBackend
    snapshot: DBSnapshot
    started: datetime
    finish: datetime
    details: dict[str, str]
    due: datetime = field(init=False)

    def __post_init__(self) -> None:
        self.due = self.started

    def advance(self, now: datetime) -> bool:
        if self.backend.database_snapshots.get(self.snapshot.db_snapshot_identifier) is not self.snapshot:
            return True
        if now < self.finish:
            percent = min(99, int((now - self.started) / (self.finish - self.started) * 100))
            self.snapshot.percent_progress = percent
            # Wake again at the next whole percent: progress is a function of world time, not of how often we look.
            self.due = max(self.due, self.started + (self.finish - self.started) * ((percent + 1) / 100))
            return False
        self.snapshot.status = "available"
        self.snapshot.percent_progress = 100
        self.model.record(self.backend, self.snapshot, SNAPSHOT_COPY_FINISHED, self.finish, **self.details)
        return True


@dataclass
class DeleteJob:
    model: RdsModel
    backend: RDSBackend
    instance: DBInstance
    due: datetime

    def advance(self, now: datetime) -> bool:
        if now < self.due:
            return False
        instance_id = self.instance.db_instance_identifier
        if self.backend.databases.get(instance_id) is self.instance:
            del self.backend.databases[instance_id]
            self.model.record(self.backend, self.instance, INSTANCE_DELETED, self.due)
        return True
