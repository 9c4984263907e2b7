"""S3 cross-region replication in world time, with the per-object status and the CloudWatch metrics AWS shows.

Routes come from each bucket's own replication configuration, read when an
object is written, so a client's buckets replicate as the lab's seeded ones do.
Pending objects wait in the model's due-time queue: a tick costs what is due,
not what is pending.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, ClassVar, Iterable

from moto.cloudwatch.models import cloudwatch_backends
from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.exceptions import MissingBucket
from moto.s3.models import FakeBucket, FakeKey, S3Backend, s3_backends

from drtool.sandbox.faults import Fault
from drtool.sandbox.model import QueuedModel
from drtool.sandbox.patches import Patch, wrap_method, wrap_property
from drtool.sandbox.s3_listing import ListingIndex

REPLICATION_PAUSED = "replication-paused"

# FakeKey attribute read by the patched `FakeKey.response_dict` to emit x-amz-replication-status.
STATUS_ATTRIBUTE = "_drtool_replication_status"


@dataclass(frozen=True)
class ReplicationRoute:
    """One replication rule: where objects of a source bucket go, and under which KMS key."""

    source_bucket: str
    source_region: str
    destination_bucket: str
    rule_id: str
    destination_kms_key_arn: str | None = None
    metrics: bool = False  # AWS publishes replication metrics only for rules that enable them

    @property
    def dimensions(self) -> list[dict[str, str]]:
        return [
            {"Name": "SourceBucket", "Value": self.source_bucket},
            {"Name": "DestinationBucket", "Value": self.destination_bucket},
            {"Name": "RuleId", "Value": self.rule_id},
        ]


def _rule_prefix(rule: dict[str, Any]) -> str:
    # moto keeps the XML as parsed: an empty prefix is None, and a filter may be an `And`.
    found = rule.get("Filter")
    if isinstance(found, dict):
        found = found.get("Prefix", (found.get("And") or {}).get("Prefix"))
    else:
        found = rule.get("Prefix")
    return found or ""


def bucket_routes(bucket: FakeBucket) -> list[tuple[str, ReplicationRoute]]:
    """The enabled rules of a bucket's replication configuration, highest priority first, as (prefix, route)."""
    config = getattr(bucket, "replication", None) or {}
    rules = config.get("Rule") or []
    rules = [rules] if isinstance(rules, dict) else rules
    routes = []
    for rule in sorted(rules, key=lambda rule: -int(rule.get("Priority") or 0)):
        if rule.get("Status") != "Enabled":
            continue
        destination = rule.get("Destination") or {}
        route = ReplicationRoute(
            source_bucket=bucket.name,
            source_region=bucket.region_name,
            destination_bucket=str(destination.get("Bucket", "")).rsplit(":", 1)[-1],
            rule_id=str(rule.get("ID", "")),
            destination_kms_key_arn=(destination.get("EncryptionConfiguration") or {}).get("ReplicaKmsKeyID"),
            metrics=(destination.get("Metrics") or {}).get("Status") == "Enabled",
        )
        routes.append((_rule_prefix(rule), route))
    return routes


@dataclass
class PendingObject:
    model: "ReplicationModel"
    route: ReplicationRoute
    key: FakeKey
    written_at: datetime
    due: datetime

    def advance(self, now: datetime) -> bool:
        self.model.replicate(self)
        return True


@dataclass
class RouteState:
    """A route's backlog (oldest first) and what happened on it during the current metrics period."""

    backlog: dict[int, PendingObject] = field(default_factory=dict)
    backlog_bytes: int = 0
    latencies: list[float] = field(default_factory=list)
    failed: int = 0


@dataclass
class MetricsPublisher:
    """CloudWatch's per-minute replication metrics, for every route whose rule enables them."""

    model: "ReplicationModel"
    period: timedelta
    due: datetime

    def advance(self, now: datetime) -> bool:
        while self.due <= now:
            self.model.publish_metrics(self.due)
            self.due += self.period
        return False


@dataclass
class ApplicationWrites:
    """An application that keeps writing exports to its buckets, so replication has steady work."""

    model: "ReplicationModel"
    buckets: tuple[str, ...]
    interval: timedelta
    due: datetime

    def advance(self, now: datetime) -> bool:
        while self.due <= now:
            for bucket in self.buckets:
                body = f'{{"exported_at": "{self.due.isoformat()}Z"}}'.encode()
                self.model.s3.put_object(bucket, f"exports/{self.due:%Y%m%dT%H%M%S}.json", body)
            self.due += self.interval
        return False


class ReplicationModel(QueuedModel):
    name = "s3"
    faults: ClassVar[tuple[Fault, ...]] = (
        Fault(REPLICATION_PAUSED, "S3 replication stops: new objects stay PENDING and pending metrics grow."),
    )
    # Replication metrics live in CloudWatch: their timestamps, and any a client writes, are world time too.
    clock_modules = ("moto.s3.models", "moto.s3.notifications", "moto.cloudwatch.models")

    def __init__(self, world, account_id: str = DEFAULT_ACCOUNT_ID):
        super().__init__(world)
        self.account_id = account_id
        self.paused = world.has_fault(REPLICATION_PAUSED)
        self._routes: dict[ReplicationRoute, RouteState] = {}
        self._random = random.Random(world.settings.random_seed)
        self._replicating = False
        period = timedelta(seconds=world.settings.metrics_period_seconds)
        self.queue.push(MetricsPublisher(self, period, world.now() + period))

    @property
    def s3(self) -> S3Backend:
        return s3_backends[self.account_id]["aws"]

    def clock_patches(self) -> Iterable[Patch]:
        yield from super().clock_patches()
        # moto dates a bucket with datetime.now() directly, not through its clock.
        yield wrap_method(S3Backend, "create_bucket", self._create_bucket)

    def patches(self) -> Iterable[Patch]:
        return (
            wrap_method(S3Backend, "put_object", self._put_object),
            wrap_property(FakeKey, "response_dict", _object_headers),
            *ListingIndex().patches(),
        )

    def write_application_exports(self, buckets: Iterable[str]) -> None:
        """Have an application write an export to `buckets` every `app_write_interval_seconds` (0: never)."""
        interval = self.world.settings.app_write_interval_seconds
        if interval > 0:
            every = timedelta(seconds=interval)
            self.schedule(ApplicationWrites(self, tuple(buckets), every, self.world.now() + every))

    # --- patches ---------------------------------------------------------------------------------

    def _create_bucket(self, original: Callable[..., Any]) -> Callable[..., Any]:
        model = self

        def create_bucket(backend: S3Backend, *args: Any, **kwargs: Any) -> Any:
            bucket = original(backend, *args, **kwargs)
            bucket.creation_date = model.world.now().replace(tzinfo=timezone.utc)
            return bucket

        return create_bucket

    def _put_object(self, original: Callable[..., Any]) -> Callable[..., Any]:
        model = self

        def put_object(backend: S3Backend, bucket_name: str, key_name: str, *args: Any, **kwargs: Any) -> Any:
            # Every object write (PutObject, CopyObject, a completed multipart upload) comes through here.
            with model.lock:
                key = original(backend, bucket_name, key_name, *args, **kwargs)
                model.on_put(bucket_name, key)
                return key

        return put_object

    # --- replication ---------------------------------------------------------------------------

    def route_for(self, bucket_name: str, key_name: str) -> ReplicationRoute | None:
        bucket = self.s3.buckets.get(bucket_name)
        if bucket is None:
            return None
        return next((route for prefix, route in bucket_routes(bucket) if key_name.startswith(prefix)), None)

    def on_put(self, bucket_name: str, key: FakeKey) -> None:
        """After every object write: an object written to a replicated bucket starts PENDING. Replicas do not."""
        if self._replicating:
            return
        route = self.route_for(bucket_name, key.name)
        if route is None:
            return
        settings = self.world.settings
        lag = self._random.uniform(settings.replication_lag_min_seconds, settings.replication_lag_max_seconds)
        now = self.world.now()
        setattr(key, STATUS_ATTRIBUTE, "PENDING")
        item = PendingObject(self, route, key, now, now + timedelta(seconds=lag))
        state = self._routes.setdefault(route, RouteState())
        state.backlog[id(item)] = item
        state.backlog_bytes += key.size
        if not self.paused:
            self.schedule(item)

    def replicate(self, item: PendingObject) -> None:
        route, key = item.route, item.key
        state = self._routes[route]
        del state.backlog[id(item)]
        state.backlog_bytes -= key.size
        encryption = {"encryption": "aws:kms", "kms_key_id": route.destination_kms_key_arn} \
            if route.destination_kms_key_arn else {}
        self._replicating = True
        try:
            replica = self.s3.put_object(route.destination_bucket, key.name, key.value,
                                         disable_notification=True, **encryption)
        except MissingBucket:
            setattr(key, STATUS_ATTRIBUTE, "FAILED")
            state.failed += 1
            return
        finally:
            self._replicating = False
        replica.last_modified = item.due
        setattr(replica, STATUS_ATTRIBUTE, "REPLICA")
        setattr(key, STATUS_ATTRIBUTE, "COMPLETED")
        state.latencies.append((item.due - item.written_at).total_seconds())

    # --- metrics -------------------------------------------------------------------------------

    def publish_metrics(self, at: datetime) -> None:
        routes = {route for bucket in list(self.s3.buckets.values()) for _, route in bucket_routes(bucket)}
        for route in sorted(routes | set(self._routes), key=lambda route: (route.source_bucket, route.rule_id)):
            if route.metrics:
                self._publish_route_metrics(route, self._routes.setdefault(route, RouteState()), at)

    def _publish_route_metrics(self, route: ReplicationRoute, state: RouteState, at: datetime) -> None:
        # The backlog is in write order: only the newest few can postdate `at` (a period published late).
        count, size = len(state.backlog), state.backlog_bytes
        for item in reversed(state.backlog.values()):
            if item.written_at <= at:
                break
            count, size = count - 1, size - item.key.size
        oldest = next(iter(state.backlog.values()), None)
        oldest_pending_age = (at - oldest.written_at).total_seconds() if oldest and oldest.written_at <= at else 0.0
        # ReplicationLatency: how far the destination is behind the source.
        latency = max([oldest_pending_age, *state.latencies])
        values = {
            "ReplicationLatency": (latency, "Seconds"),
            "OperationsPendingReplication": (float(count), "Count"),
            "BytesPendingReplication": (float(size), "Bytes"),
            "OperationsFailedReplication": (float(state.failed), "Count"),
        }
        cloudwatch_backends[self.account_id][route.source_region].put_metric_data(
            "AWS/S3",
            [
                {"MetricName": name, "Value": value, "Unit": unit, "Timestamp": at, "Dimensions": route.dimensions}
                for name, (value, unit) in values.items()
            ],
        )
        state.latencies, state.failed = [], 0


def _object_headers(original_getter: Callable[[FakeKey], dict[str, Any]]) -> Callable[[FakeKey], Any]:
    def response_dict(key: FakeKey) -> dict[str, Any]:
        headers = original_getter(key)
        status = getattr(key, STATUS_ATTRIBUTE, None)
        if status is not None:
            headers["x-amz-replication-status"] = status
        return headers

    return response_dict
