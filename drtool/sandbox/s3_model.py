"""S3 cross-region replication in world time, with the per-object status and the CloudWatch metrics AWS shows."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from moto.cloudwatch.models import cloudwatch_backends
from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import FakeKey, s3_backends

if TYPE_CHECKING:
    from drtool.sandbox.world import World

# FakeKey attribute read by the patched `FakeKey.response_dict` to emit x-amz-replication-status.
STATUS_ATTRIBUTE = "_drtool_replication_status"


@dataclass(frozen=True)
class ReplicationRoute:
    """One replication rule: where objects of a source bucket go, and under which KMS key."""

    source_bucket: str
    source_region: str
    destination_bucket: str
    rule_id: str
    destination_kms_key_arn: str

    @property
    def dimensions(self) -> list[dict[str, str]]:
        return [
            {"Name": "SourceBucket", "Value": self.source_bucket},
            {"Name": "DestinationBucket", "Value": self.destination_bucket},
            {"Name": "RuleId", "Value": self.rule_id},
        ]


@dataclass
class PendingObject:
    route: ReplicationRoute
    key: FakeKey
    written_at: datetime
    due: datetime


@dataclass
class RouteStats:
    """What happened on a route during the current metrics period."""

    latencies: list[float] = field(default_factory=list)
    failed: int = 0


class ReplicationModel:
    def __init__(self, world: "World", account_id: str = DEFAULT_ACCOUNT_ID):
        self.world = world
        self.account_id = account_id
        self.routes: dict[str, ReplicationRoute] = {}
        self.pending: list[PendingObject] = []
        self.replicated: list[PendingObject] = []
        self._stats: dict[str, RouteStats] = {}
        self._random = random.Random(world.settings.random_seed)
        self._next_metrics: datetime | None = None
        self._next_app_write: datetime | None = None

    def add_route(self, route: ReplicationRoute) -> None:
        self.routes[route.source_bucket] = route
        self._stats[route.source_bucket] = RouteStats()

    @property
    def s3(self):
        return s3_backends[self.account_id]["aws"]

    def on_put(self, bucket_name: str, key: FakeKey) -> None:
        """Called after every PutObject: objects written to a replicated bucket start PENDING."""
        route = self.routes.get(bucket_name)
        if route is None or getattr(key, STATUS_ATTRIBUTE, None) == "REPLICA":
            return
        settings = self.world.settings
        lag = self._random.uniform(settings.replication_lag_min_seconds, settings.replication_lag_max_seconds)
        now = self.world.now()
        setattr(key, STATUS_ATTRIBUTE, "PENDING")
        self.pending.append(PendingObject(route, key, now, now + timedelta(seconds=lag)))

    def advance(self, now: datetime) -> None:
        if not self.world.replication_paused:
            for item in [item for item in self.pending if item.due <= now]:
                self._replicate(item)
        self._write_application_traffic(now)
        self._publish_metrics(now)

    def _replicate(self, item: PendingObject) -> None:
        route, key = item.route, item.key
        replica = self.s3.put_object(
            route.destination_bucket,
            key.name,
            key.value,
            encryption="aws:kms",
            kms_key_id=route.destination_kms_key_arn,
            disable_notification=True,
        )
        replica.last_modified = item.due
        setattr(replica, STATUS_ATTRIBUTE, "REPLICA")
        setattr(key, STATUS_ATTRIBUTE, "COMPLETED")
        self.pending.remove(item)
        self.replicated.append(item)
        self._stats[route.source_bucket].latencies.append((item.due - item.written_at).total_seconds())

    def _write_application_traffic(self, now: datetime) -> None:
        """Production keeps writing order exports, so replication has steady work (and a backlog when paused)."""
        interval = self.world.settings.app_write_interval_seconds
        if interval <= 0 or not self.routes:
            return
        if self._next_app_write is None:
            self._next_app_write = now + timedelta(seconds=interval)
        while self._next_app_write <= now:
            for route in self.routes.values():
                body = f'{{"exported_at": "{self._next_app_write.isoformat()}Z"}}'.encode()
                self.s3.put_object(route.source_bucket, f"exports/{self._next_app_write:%Y%m%dT%H%M%S}.json", body)
            self._next_app_write += timedelta(seconds=interval)

    def _publish_metrics(self, now: datetime) -> None:
        period = timedelta(seconds=self.world.settings.metrics_period_seconds)
        if self._next_metrics is None:
            self._next_metrics = now + period
        while self._next_metrics <= now:
            for route in self.routes.values():
                self._publish_route_metrics(route, self._next_metrics)
            self._next_metrics += period

    def _publish_route_metrics(self, route: ReplicationRoute, at: datetime) -> None:
        stats = self._stats[route.source_bucket]
        backlog = [item for item in self.pending if item.route == route and item.written_at <= at]
        oldest_pending_age = max(((at - item.written_at).total_seconds() for item in backlog), default=0.0)
        # ReplicationLatency: how far the destination is behind the source.
        latency = max([oldest_pending_age, *stats.latencies])
        values = {
            "ReplicationLatency": (latency, "Seconds"),
            "OperationsPendingReplication": (float(len(backlog)), "Count"),
            "BytesPendingReplication": (float(sum(item.key.size for item in backlog)), "Bytes"),
            "OperationsFailedReplication": (float(stats.failed), "Count"),
        }
        cloudwatch_backends[self.account_id][route.source_region].put_metric_data(
            "AWS/S3",
            [
                {"MetricName": name, "Value": value, "Unit": unit, "Timestamp": at, "Dimensions": route.dimensions}
                for name, (value, unit) in values.items()
            ],
        )
        self._stats[route.source_bucket] = RouteStats()
