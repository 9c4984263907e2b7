"""S3 replication in world time, following each bucket's replication configuration as AWS does.

Which objects replicate, where, and how, comes from the source bucket's own
replication configuration, read when an object is written, so a client's buckets
replicate as the lab's seeded ones do:

- the rule's status (a Disabled rule replicates nothing), its prefix or filter
  (Prefix, Tag, And) and its priority (per destination bucket, the
  highest-priority Enabled rule that selects the object);
- SSE-KMS objects only under a rule whose SourceSelectionCriteria selects them,
  into the rule's ReplicaKmsKeyID; other objects get no status at all, as do
  objects written before a rule existed;
- the destination bucket at the moment of replication: a missing one, one whose
  versioning is not Enabled, an unusable source or replica key (missing,
  disabled, in another region than the destination, or denied to the
  replication role by its key policy) turn the source FAILED;
- the replica keeps the source's content, ETag, checksum, metadata, tags, version
  id and storage class (or the rule's), with status REPLICA; the source turns
  COMPLETED;
- delete markers replicate under rules with DeleteMarkerReplication Enabled;
- RTC keeps each lag within its 15-minute threshold; CloudWatch replication
  metrics are published for rules that enable Metrics or RTC.

Pending work waits in the model's due-time queue: a tick costs what is due, not
what is pending.
"""

from __future__ import annotations

import json
import math
import random
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from fnmatch import fnmatchcase
from typing import Any, Callable, ClassVar, Iterable

from moto.cloudwatch.models import cloudwatch_backends
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.responses import ActionResult
from moto.kms.models import Key
from moto.s3.models import FakeBucket, FakeDeleteMarker, FakeKey, S3Backend, s3_backends
from moto.s3.responses import S3Response

from drtool.sandbox.faults import Fault
from drtool.sandbox.kms_model import find_key, region_of
from drtool.sandbox.model import QueuedModel
from drtool.sandbox.patches import Patch, wrap_method, wrap_property
from drtool.sandbox.s3_listing import ListingIndex

REPLICATION_PAUSED = "replication-paused"
REPLICA_MISSING_OBJECTS = "replica-missing-objects"
REPLICA_CORRUPTED_OBJECT = "replica-corrupted-object"
REPLICATION_FAILED_FOR_KEY = "replication-failed-for-key"
REPLICATION_RULE_DISABLED = "replication-rule-disabled"
REPLICA_VERSIONING_SUSPENDED = "replica-versioning-suspended"

# FakeKey attribute read by the patched `FakeKey.response_dict` to emit x-amz-replication-status.
STATUS_ATTRIBUTE = "_drtool_replication_status"
# FakeKey attribute: each destination bucket's status; STATUS_ATTRIBUTE is their sum, as AWS reports it.
DESTINATIONS_ATTRIBUTE = "_drtool_replication_destinations"

# S3 Replication Time Control: 99.99% of objects within 15 minutes; the only threshold AWS accepts.
RTC_THRESHOLD = timedelta(minutes=15)

def _as_list(value: Any) -> list[Any]:
    """moto keeps replication XML as xmltodict parsed it: one element is a dict, several a list, none None."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _enabled(section: Any) -> bool:
    return isinstance(section, dict) and section.get("Status") == "Enabled"


@dataclass(frozen=True)
class ReplicationRule:
    """One rule of a bucket's replication configuration, as S3 applies it."""

    rule_id: str
    priority: int
    enabled: bool
    destination_bucket: str
    prefix: str = ""
    tags: tuple[tuple[str, str], ...] = ()
    storage_class: str | None = None
    replica_kms_key_id: str | None = None
    sse_kms_objects: bool = False
    delete_markers: bool = False
    rtc: bool = False
    metrics: bool = False

    @classmethod
    def parse(cls, rule: dict[str, Any]) -> "ReplicationRule":
        found = rule.get("Filter")
        if isinstance(found, dict):
            conjunction = found.get("And") or {}
            prefix = found.get("Prefix", conjunction.get("Prefix"))
            tags = [*_as_list(found.get("Tag")), *_as_list(conjunction.get("Tag"))]
        else:
            prefix, tags = rule.get("Prefix"), []
        destination = rule.get("Destination") or {}
        criteria = rule.get("SourceSelectionCriteria") or {}
        return cls(
            rule_id=str(rule.get("ID") or ""),
            priority=int(rule.get("Priority") or 0),
            enabled=rule.get("Status") == "Enabled",
            destination_bucket=str(destination.get("Bucket") or "").rsplit(":", 1)[-1],
            prefix=prefix or "",
            tags=tuple((str(tag.get("Key")), str(tag.get("Value") or "")) for tag in tags if isinstance(tag, dict)),
            storage_class=destination.get("StorageClass") or None,
            replica_kms_key_id=(destination.get("EncryptionConfiguration") or {}).get("ReplicaKmsKeyID") or None,
            sse_kms_objects=_enabled(criteria.get("SseKmsEncryptedObjects")),
            # A V1 rule (a bare Prefix, no Filter) never replicates delete markers.
            delete_markers=_enabled(rule.get("DeleteMarkerReplication")) and "Filter" in rule,
            rtc=_enabled(destination.get("ReplicationTime")),
            metrics=_enabled(destination.get("Metrics")),
        )

    def selects(self, key_name: str, tags: dict[str, str], kms_encrypted: bool) -> bool:
        """Whether S3 replicates this object under this rule (its status aside)."""
        if not key_name.startswith(self.prefix):
            return False
        if any(tags.get(name) != value for name, value in self.tags):
            return False
        return self.sse_kms_objects or not kms_encrypted

    def selects_delete_marker(self, key_name: str) -> bool:
        # S3 does not replicate delete markers under tag-based rules.
        return self.delete_markers and not self.tags and key_name.startswith(self.prefix)


@dataclass(frozen=True)
class ReplicationRoute:
    """An Enabled rule of one source bucket: where its objects go, under which role."""

    source_bucket: str
    source_region: str
    rule: ReplicationRule
    role: str | None = None

    @property
    def destination_bucket(self) -> str:
        return self.rule.destination_bucket

    @property
    def rule_id(self) -> str:
        return self.rule.rule_id

    @property
    def metrics(self) -> bool:
        # AWS publishes replication metrics for rules that enable them; RTC requires them.
        return self.rule.metrics or self.rule.rtc

    @property
    def ident(self) -> tuple[str, str, str]:
        """What CloudWatch names the route by: its metrics continue when the rule's other settings change."""
        return self.source_bucket, self.destination_bucket, self.rule_id

    @property
    def dimensions(self) -> list[dict[str, str]]:
        return [
            {"Name": "SourceBucket", "Value": self.source_bucket},
            {"Name": "DestinationBucket", "Value": self.destination_bucket},
            {"Name": "RuleId", "Value": self.rule_id},
        ]


def bucket_rules(bucket: FakeBucket) -> list[ReplicationRule]:
    """Every rule of a bucket's replication configuration, highest priority first."""
    config = getattr(bucket, "replication", None) or {}
    rules = [ReplicationRule.parse(rule) for rule in _as_list(config.get("Rule")) if isinstance(rule, dict)]
    return sorted(rules, key=lambda rule: -rule.priority)


def bucket_routes(bucket: FakeBucket) -> list[ReplicationRoute]:
    """The Enabled rules of a bucket's replication configuration, highest priority first."""
    config = getattr(bucket, "replication", None) or {}
    role = config.get("Role") or None
    return [ReplicationRoute(bucket.name, bucket.region_name, rule, role) for rule in bucket_rules(bucket) if rule.enabled]


def _per_destination(routes: Iterable[ReplicationRoute], selects: Callable[[ReplicationRule], bool]) -> list[ReplicationRoute]:
    """For each destination bucket, the highest-priority route whose rule selects the object."""
    chosen: dict[str, ReplicationRoute] = {}
    for route in routes:
        if route.destination_bucket not in chosen and selects(route.rule):
            chosen[route.destination_bucket] = route
    return list(chosen.values())


def key_policy_denies(key: Key, principal: str | None, action: str) -> bool:
    """Whether the key's policy explicitly denies `action` to `principal` (moto enforces no key policy itself)."""
    try:
        policy = json.loads(key.policy or "{}")
    except ValueError:
        return False
    for statement in _as_list(policy.get("Statement")):
        if not isinstance(statement, dict) or statement.get("Effect") != "Deny":
            continue
        if not any(fnmatchcase(action.lower(), str(pattern).lower()) for pattern in _as_list(statement.get("Action"))):
            continue
        named = statement.get("Principal")
        principals = _as_list(named.get("AWS")) if isinstance(named, dict) else _as_list(named)
        if "*" in principals or (principal is not None and principal in principals):
            return True
    return False


def _set_status(key: FakeKey | FakeDeleteMarker, destination: str, status: str) -> None:
    statuses: dict[str, str] = key.__dict__.setdefault(DESTINATIONS_ATTRIBUTE, {})
    statuses[destination] = status
    found = set(statuses.values())
    overall = "FAILED" if "FAILED" in found else "PENDING" if "PENDING" in found else "COMPLETED"
    setattr(key, STATUS_ATTRIBUTE, overall)


@dataclass
class PendingObject:
    """An object version waiting to be replicated along one route."""

    model: "ReplicationModel"
    route: ReplicationRoute
    key: FakeKey
    written_at: datetime
    due: datetime

    @property
    def size(self) -> int:
        return self.key.size

    def advance(self, now: datetime) -> bool:
        self.model.replicate(self)
        return True


@dataclass
class PendingDeleteMarker:
    """A delete marker waiting to be replicated along one route."""

    model: "ReplicationModel"
    route: ReplicationRoute
    key_name: str
    written_at: datetime
    due: datetime
    size: int = 0

    def advance(self, now: datetime) -> bool:
        self.model.replicate_delete_marker(self)
        return True


@dataclass
class RouteState:
    """A route's backlog (oldest first) and what happened on it during the current metrics period."""

    backlog: dict[int, PendingObject | PendingDeleteMarker] = field(default_factory=dict)
    backlog_bytes: int = 0
    # (when, lag) of each replication finished, and when each failed, not yet published: a period publishes those
    # up to its end, so a world stepped far ahead (`World.step_to`) still files each in its own period.
    latencies: list[tuple[datetime, float]] = field(default_factory=list)
    failures: list[datetime] = field(default_factory=list)

    def take(self, until: datetime) -> tuple[list[float], int]:
        """The lags of replications finished by `until`, and how many failed by then, for one period."""
        lags = [lag for when, lag in self.latencies if when <= until]
        failed = sum(1 for when in self.failures if when <= until)
        self.latencies = [(when, lag) for when, lag in self.latencies if when > until]
        self.failures = [when for when in self.failures if when > until]
        return lags, failed


@dataclass(frozen=True)
class PastOperation:
    """A replication that happened before the lab began, for the metrics history: finished (or failed) at `done_at`."""

    written_at: datetime
    done_at: datetime
    size: int
    failed: bool = False


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


@dataclass(frozen=True)
class AppWrite:
    """What an application writes each time: an object under `prefix`, under `kms_key_id` (else the bucket default)."""

    bucket: str
    prefix: str
    kms_key_id: str | None = None


@dataclass
class ApplicationWrites:
    """An application that keeps writing objects to its buckets, so replication has steady work."""

    model: "ReplicationModel"
    writes: tuple[AppWrite, ...]
    interval: timedelta
    due: datetime

    def advance(self, now: datetime) -> bool:
        while self.due <= now:
            for write in self.writes:
                body = f'{{"exported_at": "{self.due.isoformat()}Z"}}'.encode()
                encryption = {"encryption": "aws:kms", "kms_key_id": write.kms_key_id} if write.kms_key_id else {}
                self.model.s3.put_object(write.bucket, f"{write.prefix}{self.due:%Y%m%dT%H%M%S}.json", body,
                                         **encryption)
            self.due += self.interval
        return False


# Object writes made while a client's S3 request is being served: replication is decided once the request has set
# the object's tags and checksum, as S3 decides after the write completes.
_request = threading.local()


class ReplicationModel(QueuedModel):
    name = "s3"
    # The seed applies all but replication-paused: they are states of the seeded world (see drtool.sandbox.seed).
    faults: ClassVar[tuple[Fault, ...]] = (
        Fault(REPLICATION_PAUSED, "S3 replication stops: new objects stay PENDING and pending metrics grow."),
        Fault(REPLICA_MISSING_OBJECTS,
              "Some seeded objects are COMPLETED (or older than the rule) on the source but absent from the replica."),
        Fault(REPLICA_CORRUPTED_OBJECT, "One seeded replica object differs from its source in content, ETag and checksum."),
        Fault(REPLICATION_FAILED_FOR_KEY,
              "The archive KMS key's policy denies the replication role: objects under that key replicate FAILED."),
        Fault(REPLICATION_RULE_DISABLED, "The seeded replication rule is Disabled: new objects are not replicated."),
        Fault(REPLICA_VERSIONING_SUSPENDED,
              "The replica bucket's versioning is Suspended: new objects replicate FAILED."),
    )
    # Replication metrics live in CloudWatch: their timestamps, and any a client writes, are world time too.
    clock_modules = ("moto.s3.models", "moto.s3.notifications", "moto.cloudwatch.models")

    def __init__(self, world, account_id: str = DEFAULT_ACCOUNT_ID):
        super().__init__(world)
        self.account_id = account_id
        self.paused = world.has_fault(REPLICATION_PAUSED)
        self._routes: dict[tuple[str, str, str], RouteState] = {}
        self._random = random.Random(world.settings.random_seed)
        self._replicating = False
        self.period = timedelta(seconds=world.settings.metrics_period_seconds)
        # Not in the queue: it runs after the replications due by the same moment, so each is filed in its period.
        self._publisher = MetricsPublisher(self, self.period, world.now() + self.period)

    @property
    def s3(self) -> S3Backend:
        return s3_backends[self.account_id]["aws"]

    def clock_patches(self) -> Iterable[Patch]:
        yield from super().clock_patches()
        # moto dates a bucket with datetime.now() directly, not through its clock.
        yield wrap_method(S3Backend, "create_bucket", self._create_bucket)

    def patches(self) -> Iterable[Patch]:
        return (
            wrap_method(S3Response, "_key_response", self._key_request),
            wrap_method(S3Backend, "put_object", self._put_object),
            wrap_method(S3Backend, "delete_object", self._delete_object),
            wrap_property(FakeKey, "response_dict", _object_headers),
            # moto answers GetBucketReplication with a fixed Filter and DeleteMarkerReplication, and drops the rest.
            wrap_method(S3Response, "get_bucket_replication", _get_bucket_replication),
            *ListingIndex().patches(),
        )

    def next_due(self) -> datetime | None:
        with self.lock:
            due = self.queue.next_due()
            return self._publisher.due if due is None else min(due, self._publisher.due)

    def advance(self, now: datetime, is_held: Callable[[object], bool]) -> None:
        with self.lock:
            self.queue.run_due(now, is_held)
            if self._publisher.due <= now and not is_held(self._publisher):
                self._publisher.advance(now)

    def jobs(self) -> list[Any]:
        with self.lock:
            return [*self.queue.jobs(), self._publisher]

    def write_application_objects(self, writes: Iterable[AppWrite]) -> None:
        """Have an application make `writes` every `app_write_interval_seconds` (0: never)."""
        interval = self.world.settings.app_write_interval_seconds
        if interval > 0:
            every = timedelta(seconds=interval)
            self.schedule(ApplicationWrites(self, tuple(writes), every, self.world.now() + every))

    # --- patches ---------------------------------------------------------------------------------

    def _create_bucket(self, original: Callable[..., Any]) -> Callable[..., Any]:
        model = self

        def create_bucket(backend: S3Backend, *args: Any, **kwargs: Any) -> Any:
            bucket = original(backend, *args, **kwargs)
            bucket.creation_date = model.world.now().replace(tzinfo=timezone.utc)
            return bucket

        return create_bucket

    def _key_request(self, original: Callable[..., Any]) -> Callable[..., Any]:
        model = self

        def key_request(response: S3Response, *args: Any, **kwargs: Any) -> Any:
            outer = getattr(_request, "writes", None)
            _request.writes = writes = []
            try:
                return original(response, *args, **kwargs)
            finally:
                _request.writes = outer
                for bucket_name, key in writes:
                    model.on_put(bucket_name, key)

        return key_request

    def _put_object(self, original: Callable[..., Any]) -> Callable[..., Any]:
        model = self

        def put_object(backend: S3Backend, bucket_name: str, key_name: str, *args: Any, **kwargs: Any) -> Any:
            # Every object write (PutObject, CopyObject, a completed multipart upload) comes through here.
            with model.lock:
                key = original(backend, bucket_name, key_name, *args, **kwargs)
                writes = getattr(_request, "writes", None)
                if writes is not None and not model._replicating:
                    writes.append((bucket_name, key))
                else:
                    model.on_put(bucket_name, key)
                return key

        return put_object

    def _delete_object(self, original: Callable[..., Any]) -> Callable[..., Any]:
        model = self

        def delete_object(backend: S3Backend, bucket_name: str, key_name: str, version_id: str | None = None,
                          *args: Any, **kwargs: Any) -> Any:
            # DeleteObject and DeleteObjects both come through here.
            with model.lock:
                result = original(backend, bucket_name, key_name, version_id, *args, **kwargs)
                _, meta = result
                if version_id is None and meta.get("delete-marker") == "true":
                    model.on_delete_marker(bucket_name, key_name)
                return result

        return delete_object

    # --- replication ---------------------------------------------------------------------------

    def routes_for(self, bucket_name: str, key: FakeKey) -> list[ReplicationRoute]:
        """Where S3 replicates this object version: one route per destination bucket, or none."""
        bucket = self.s3.buckets.get(bucket_name)
        if bucket is None or not getattr(bucket, "replication", None):
            return []
        tags = self.s3.tagger.get_tag_dict_for_resource(key.arn)
        kms_encrypted = key.encryption in ("aws:kms", "aws:kms:dsse")
        return _per_destination(bucket_routes(bucket), lambda rule: rule.selects(key.name, tags, kms_encrypted))

    def _lag(self, route: ReplicationRoute) -> timedelta:
        settings = self.world.settings
        lag = timedelta(seconds=self._random.uniform(settings.replication_lag_min_seconds,
                                                     settings.replication_lag_max_seconds))
        return min(lag, RTC_THRESHOLD) if route.rule.rtc else lag

    def _state(self, route: ReplicationRoute) -> RouteState:
        return self._routes.setdefault(route.ident, RouteState())

    def _enqueue(self, item: PendingObject | PendingDeleteMarker) -> None:
        state = self._state(item.route)
        state.backlog[id(item)] = item
        state.backlog_bytes += item.size
        if not self.paused:
            self.schedule(item)

    def on_put(self, bucket_name: str, key: FakeKey) -> None:
        """After every object write: an object a rule selects starts PENDING. Replicas never replicate again."""
        if self._replicating:
            return
        with self.lock:
            # The lag runs from the write S3 recorded, not from this callback: world time moves between the two.
            written_at = key.last_modified or self.world.now()
            for route in self.routes_for(bucket_name, key):
                _set_status(key, route.destination_bucket, "PENDING")
                self._enqueue(PendingObject(self, route, key, written_at, written_at + self._lag(route)))

    def on_delete_marker(self, bucket_name: str, key_name: str) -> None:
        """After a DELETE without a version id made a delete marker: rules that replicate delete markers send it on."""
        if self._replicating:
            return
        bucket = self.s3.buckets.get(bucket_name)
        if bucket is None:
            return
        now = self.world.now()
        for route in _per_destination(bucket_routes(bucket), lambda rule: rule.selects_delete_marker(key_name)):
            self._enqueue(PendingDeleteMarker(self, route, key_name, now, now + self._lag(route)))

    def _take(self, item: PendingObject | PendingDeleteMarker) -> RouteState:
        state = self._state(item.route)
        if state.backlog.pop(id(item), None) is not None:
            state.backlog_bytes -= item.size
        return state

    def replication_failure(self, route: ReplicationRoute, key: FakeKey | None) -> str | None:
        """Why S3 cannot replicate `key` (None: a delete marker) along `route` now, or None if it can."""
        destination = self.s3.buckets.get(route.destination_bucket)
        if destination is None:
            return f"destination bucket {route.destination_bucket} does not exist"
        if destination.versioning_status != "Enabled":
            return f"destination bucket {route.destination_bucket} versioning is {destination.versioning_status or 'off'}"
        if key is None or key.encryption not in ("aws:kms", "aws:kms:dsse"):
            return None
        if key.kms_key_id:
            source_key = find_key(key.kms_key_id, route.source_region, self.account_id)
            problem = _key_problem(source_key, key.kms_key_id, route.role, "kms:Decrypt")
            if problem:
                return f"source {problem}"
        replica_key_id = route.rule.replica_kms_key_id
        if not replica_key_id:
            return "the rule names no ReplicaKmsKeyID"
        if region_of(replica_key_id, destination.region_name) != destination.region_name:
            return f"replica key {replica_key_id} is not in the destination's region {destination.region_name}"
        replica_key = find_key(replica_key_id, destination.region_name, self.account_id)
        problem = _key_problem(replica_key, replica_key_id, route.role, "kms:Encrypt")
        return f"replica {problem}" if problem else None

    def replicate(self, item: PendingObject) -> None:
        route, key = item.route, item.key
        state = self._take(item)
        if key.disposed:  # the version was deleted for good before it could replicate
            return
        if self.replication_failure(route, key):
            _set_status(key, route.destination_bucket, "FAILED")
            state.failures.append(item.due)
            return
        encryption: dict[str, Any] = {"encryption": key.encryption, "bucket_key_enabled": key.bucket_key_enabled}
        if key.encryption in ("aws:kms", "aws:kms:dsse"):
            replica_key = find_key(route.rule.replica_kms_key_id or "", self.s3.buckets[route.destination_bucket].region_name,
                                   self.account_id)
            encryption["kms_key_id"] = replica_key.arn if replica_key else route.rule.replica_kms_key_id
        self._replicating = True
        try:
            replica = self.s3.put_object(
                route.destination_bucket, key.name, key.value,
                storage=route.rule.storage_class or key.storage_class,
                etag=key.etag.strip('"'), checksum_value=key.checksum_value, disable_notification=True,
                **encryption,
            )
        finally:
            self._replicating = False
        # A replica is the same version: same version id, metadata, tags and checksum.
        replica._version_id = key._version_id
        replica.set_metadata(dict(key.metadata))
        replica.checksum_algorithm, replica.checksum_type = key.checksum_algorithm, key.checksum_type
        replica.checksum_parts = key.checksum_parts
        replica.website_redirect_location = key.website_redirect_location
        self.s3.tagger.copy_tags(key.arn, replica.arn)
        replica.last_modified = item.due
        setattr(replica, STATUS_ATTRIBUTE, "REPLICA")
        _set_status(key, route.destination_bucket, "COMPLETED")
        state.latencies.append((item.due, (item.due - item.written_at).total_seconds()))

    def replicate_delete_marker(self, item: PendingDeleteMarker) -> None:
        route = item.route
        state = self._take(item)
        if self.replication_failure(route, None):
            state.failures.append(item.due)
            return
        self._replicating = True
        try:
            _, meta = self.s3.delete_object(route.destination_bucket, item.key_name)
        finally:
            self._replicating = False
        if meta.get("delete-marker") == "true":
            for version in self.s3.buckets[route.destination_bucket].keys.getlist(item.key_name, []):
                if version.version_id == meta.get("version-id"):
                    version.last_modified = item.due
        state.latencies.append((item.due, (item.due - item.written_at).total_seconds()))

    # --- metrics -------------------------------------------------------------------------------

    def publish_metrics(self, at: datetime) -> None:
        routes = {route.ident: route for bucket in list(self.s3.buckets.values())
                  for route in bucket_routes(bucket) if route.metrics}
        for ident in sorted(routes):
            self._publish_route_metrics(routes[ident], self._routes.setdefault(ident, RouteState()), at)

    def _publish_route_metrics(self, route: ReplicationRoute, state: RouteState, at: datetime) -> None:
        # The backlog is in write order: only the newest few can postdate `at` (a period published late).
        count, size = len(state.backlog), state.backlog_bytes
        for item in reversed(state.backlog.values()):
            if item.written_at <= at:
                break
            count, size = count - 1, size - item.size
        oldest = next(iter(state.backlog.values()), None)
        oldest_pending_age = (at - oldest.written_at).total_seconds() if oldest and oldest.written_at <= at else 0.0
        # ReplicationLatency: how far the destination is behind the source.
        lags, failed = state.take(at)
        latency = max([oldest_pending_age, *lags])
        self._put_metrics(route, at, latency, count, size, failed)

    def _put_metrics(self, route: ReplicationRoute, at: datetime, latency: float, pending: int, pending_bytes: int,
                     failed: int) -> None:
        cloudwatch_backends[self.account_id][route.source_region].put_metric_data(
            "AWS/S3", _datapoints(route, at, latency, pending, pending_bytes, failed))

    # --- the seeded world's past ----------------------------------------------------------------

    def replicate_past(self, bucket_name: str, key: FakeKey, lag: timedelta) -> list[tuple[ReplicationRoute, PastOperation]]:
        """Replicate an object written before the lab began (at its `last_modified`) as its bucket's configuration
        says now, `lag` after it was written; what happened, for `record_history`. For seeding: no metrics now."""
        done = []
        with self.lock:
            for route in self.routes_for(bucket_name, key):
                item = PendingObject(self, route, key, key.last_modified, key.last_modified + lag)
                _set_status(key, route.destination_bucket, "PENDING")
                self.replicate(item)
                state = self._state(route)
                state.latencies, state.failures = [], []
                failed = getattr(key, STATUS_ATTRIBUTE) == "FAILED"
                done.append((route, PastOperation(item.written_at, item.due, key.size, failed)))
        return done

    def record_history(self, route: ReplicationRoute, operations: Iterable[PastOperation], since: datetime) -> None:
        """Publish the metrics CloudWatch would hold for `route` from `since` until the publisher's next period, had
        these replications happened then: a seeded world's past, so a drill reading a window of metrics finds it."""
        if not route.metrics:
            return
        end = self._publisher.due - self.period
        periods = max(0, math.floor((end - since) / self.period))
        start = end - periods * self.period
        latency = [0.0] * (periods + 1)
        pending = [0] * (periods + 1)
        pending_bytes = [0] * (periods + 1)
        failed = [0] * (periods + 1)

        def index(moment: datetime) -> int:  # the first period end at or after `moment`
            return math.ceil((moment - start) / self.period)

        for op in operations:
            first, done = max(index(op.written_at), 0), index(op.done_at)
            for position in range(first, min(done, periods + 1)):  # pending at these period ends
                pending[position] += 1
                pending_bytes[position] += op.size
                age = (start + position * self.period - op.written_at).total_seconds()
                latency[position] = max(latency[position], age)
            if 0 <= done <= periods:
                if op.failed:
                    failed[done] += 1
                else:
                    latency[done] = max(latency[done], (op.done_at - op.written_at).total_seconds())
        data = [
            datum
            for position in range(periods + 1)
            for datum in _datapoints(route, start + position * self.period, latency[position], pending[position],
                                     pending_bytes[position], failed[position])
        ]
        cloudwatch_backends[self.account_id][route.source_region].put_metric_data("AWS/S3", data)


def _datapoints(route: ReplicationRoute, at: datetime, latency: float, pending: int, pending_bytes: int,
                failed: int) -> list[dict[str, Any]]:
    values = {
        "ReplicationLatency": (latency, "Seconds"),
        "OperationsPendingReplication": (float(pending), "Count"),
        "BytesPendingReplication": (float(pending_bytes), "Bytes"),
        "OperationsFailedReplication": (float(failed), "Count"),
    }
    return [{"MetricName": name, "Value": value, "Unit": unit, "Timestamp": at, "Dimensions": route.dimensions}
            for name, (value, unit) in values.items()]


def _key_problem(key: Key | None, key_id: str, role: str | None, action: str) -> str | None:
    if key is None:
        return f"KMS key {key_id} does not exist"
    if key.key_state != "Enabled":
        return f"KMS key {key.arn} is {key.key_state}"
    if key_policy_denies(key, role, action):
        return f"KMS key {key.arn} policy denies {action} to {role}"
    return None


def _object_headers(original_getter: Callable[[FakeKey], dict[str, Any]]) -> Callable[[FakeKey], Any]:
    def response_dict(key: FakeKey) -> dict[str, Any]:
        headers = original_getter(key)
        status = getattr(key, STATUS_ATTRIBUTE, None)
        if status is not None:
            headers["x-amz-replication-status"] = status
        return headers

    return response_dict


def _tags(found: Any) -> list[dict[str, str]]:
    return [{"Key": str(tag.get("Key")), "Value": str(tag.get("Value") or "")}
            for tag in _as_list(found) if isinstance(tag, dict)]


def api_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A stored rule (as moto parsed its XML) in GetBucketReplication's shape: as the client put it."""
    shown: dict[str, Any] = {"ID": rule.get("ID"), "Priority": rule.get("Priority"), "Status": rule.get("Status")}
    if "Filter" in rule:
        found = rule.get("Filter") or {}
        if "And" in found:
            conjunction = found.get("And") or {}
            shown["Filter"] = {"And": {"Prefix": conjunction.get("Prefix") or "", "Tags": _tags(conjunction.get("Tag"))}}
        elif "Tag" in found:
            shown["Filter"] = {"Tag": _tags(found.get("Tag"))[0]}
        else:
            shown["Filter"] = {"Prefix": found.get("Prefix") or ""}
    else:
        shown["Prefix"] = rule.get("Prefix") or ""
    for name in ("SourceSelectionCriteria", "ExistingObjectReplication", "DeleteMarkerReplication", "Destination"):
        if rule.get(name) is not None:
            shown[name] = rule[name]
    return shown


def _get_bucket_replication(original: Callable[..., Any]) -> Callable[..., Any]:
    def get_bucket_replication(response: S3Response) -> Any:
        replication = response.backend.get_bucket_replication(response.bucket_name)
        if not replication:
            return original(response)  # moto's ReplicationConfigurationNotFoundError
        response.data["Action"] = "GetBucketReplication"
        rules = [api_rule(rule) for rule in _as_list(replication.get("Rule")) if isinstance(rule, dict)]
        return response.serialized(ActionResult(
            {"ReplicationConfiguration": {"Role": replication.get("Role"), "Rules": rules}}))

    return get_bucket_replication
