"""Read-only RDS calls. Nothing here changes the world."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from drtool.core.operations import operation

__all__ = [
    "Snapshot",
    "describe_instance",
    "describe_instances",
    "list_instance_snapshots",
    "describe_snapshot",
    "instance_events",
    "resolve_security_groups",
    "list_instances",
    "list_snapshots",
    "list_clusters",
    "describe_cluster",
    "list_cluster_snapshots",
    "describe_cluster_snapshot",
    "resource_tags",
]

# AWS Backup snapshots are only listed when asked for by type.
SNAPSHOT_TYPES = (None, "awsbackup")


@dataclass(frozen=True)
class Snapshot:
    identifier: str
    arn: str
    region: str
    instance: str
    snapshot_type: str
    status: str
    created: datetime | None
    original_created: datetime | None
    encrypted: bool
    kms_key_id: str | None
    percent_progress: int | None

    @property
    def point_in_time(self) -> datetime | None:
        """When the data in this snapshot was taken, for a copy too."""
        return self.original_created or self.created

    @classmethod
    def from_api(cls, raw: dict[str, Any], region: str) -> "Snapshot":
        return cls(
            identifier=raw["DBSnapshotIdentifier"],
            arn=raw.get("DBSnapshotArn", ""),
            region=region,
            instance=raw.get("DBInstanceIdentifier", ""),
            snapshot_type=raw.get("SnapshotType", ""),
            status=raw.get("Status", ""),
            created=raw.get("SnapshotCreateTime"),
            original_created=raw.get("OriginalSnapshotCreateTime"),
            encrypted=bool(raw.get("Encrypted")),
            kms_key_id=raw.get("KmsKeyId"),
            percent_progress=raw.get("PercentProgress"),
        )


@operation("rds", "DescribeDBInstances", iam=("rds:DescribeDBInstances",))
def describe_instance(rds: Any, identifier: str) -> dict[str, Any] | None:
    """Describe one DB instance; None if it does not exist."""
    try:
        return rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
    except rds.exceptions.DBInstanceNotFoundFault:
        return None


@operation("rds", "DescribeDBInstances", iam=("rds:DescribeDBInstances",))
def describe_instances(rds: Any, identifiers: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Describe many DB instances in one call per 100 (RDS throttles per call, not per instance)."""
    wanted = list(dict.fromkeys(identifiers))
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(wanted), 100):
        chunk = wanted[start : start + 100]
        paginator = rds.get_paginator("describe_db_instances")
        for page in paginator.paginate(Filters=[{"Name": "db-instance-id", "Values": chunk}]):
            for instance in page["DBInstances"]:
                found[instance["DBInstanceIdentifier"]] = instance
    return found


@operation("rds", "DescribeDBSnapshots", iam=("rds:DescribeDBSnapshots",))
def list_instance_snapshots(rds: Any, instance: str, region: str) -> list[Snapshot]:
    """Every automated, manual and AWS Backup snapshot of `instance` in the client's region."""
    snapshots: dict[str, Snapshot] = {}
    paginator = rds.get_paginator("describe_db_snapshots")
    for snapshot_type in SNAPSHOT_TYPES:
        params: dict[str, Any] = {"DBInstanceIdentifier": instance}
        if snapshot_type:
            params["SnapshotType"] = snapshot_type
        for page in paginator.paginate(**params):
            for raw in page["DBSnapshots"]:
                snapshot = Snapshot.from_api(raw, region)
                snapshots[snapshot.arn or snapshot.identifier] = snapshot
    return list(snapshots.values())


@operation("rds", "DescribeDBSnapshots", iam=("rds:DescribeDBSnapshots",))
def describe_snapshot(rds: Any, identifier: str, region: str) -> Snapshot | None:
    """Describe one snapshot; None if it does not exist."""
    try:
        raw = rds.describe_db_snapshots(DBSnapshotIdentifier=identifier)["DBSnapshots"][0]
    except rds.exceptions.DBSnapshotNotFoundFault:
        return None
    return Snapshot.from_api(raw, region)


@operation("rds", "DescribeEvents", iam=("rds:DescribeEvents",))
def instance_events(rds: Any, identifier: str, since: datetime) -> list[dict[str, Any]]:
    """RDS events recorded for a DB instance since `since`, oldest first."""
    events: list[dict[str, Any]] = []
    paginator = rds.get_paginator("describe_events")
    for page in paginator.paginate(SourceType="db-instance", SourceIdentifier=identifier, StartTime=since):
        events.extend(page["Events"])
    return sorted(events, key=lambda event: event["Date"])


@operation("ec2", "DescribeSecurityGroups", iam=("ec2:DescribeSecurityGroups",))
def resolve_security_groups(ec2: Any, names_or_ids: Iterable[str]) -> list[str]:
    """Security group ids for a mix of ids (sg-...) and names."""
    wanted = list(names_or_ids)
    names = [item for item in wanted if not item.startswith("sg-")]
    ids = [item for item in wanted if item.startswith("sg-")]
    if names:
        groups = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": names}])["SecurityGroups"]
        by_name = {group["GroupName"]: group["GroupId"] for group in groups}
        missing = [name for name in names if name not in by_name]
        if missing:
            raise LookupError(f"no security group named {', '.join(missing)} in this region")
        ids.extend(by_name[name] for name in names)
    return ids


def _paginate_all(rds: Any, method: str, key: str, **params: Any) -> list[dict[str, Any]]:
    return [item for page in rds.get_paginator(method).paginate(**params) for item in page[key]]


@operation("rds", "DescribeDBInstances", iam=("rds:DescribeDBInstances",))
def list_instances(rds: Any) -> list[dict[str, Any]]:
    """Every DB instance in the client's region, as described by the API (TagList included)."""
    return _paginate_all(rds, "describe_db_instances", "DBInstances")


@operation("rds", "DescribeDBSnapshots", iam=("rds:DescribeDBSnapshots",))
def list_snapshots(rds: Any) -> list[dict[str, Any]]:
    """Every DB snapshot the account owns in the client's region, as described by the API."""
    return _paginate_all(rds, "describe_db_snapshots", "DBSnapshots")


@operation("rds", "DescribeDBClusters", iam=("rds:DescribeDBClusters",))
def list_clusters(rds: Any) -> list[dict[str, Any]]:
    """Every DB cluster in the client's region, as described by the API."""
    return _paginate_all(rds, "describe_db_clusters", "DBClusters")


@operation("rds", "DescribeDBClusters", iam=("rds:DescribeDBClusters",))
def describe_cluster(rds: Any, identifier: str) -> dict[str, Any] | None:
    """Describe one DB cluster; None if it does not exist."""
    try:
        return rds.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"][0]
    except rds.exceptions.DBClusterNotFoundFault:
        return None


@operation("rds", "DescribeDBClusterSnapshots", iam=("rds:DescribeDBClusterSnapshots",))
def list_cluster_snapshots(rds: Any) -> list[dict[str, Any]]:
    """Every DB cluster snapshot the account owns in the client's region, as described by the API."""
    return _paginate_all(rds, "describe_db_cluster_snapshots", "DBClusterSnapshots")


@operation("rds", "DescribeDBClusterSnapshots", iam=("rds:DescribeDBClusterSnapshots",))
def describe_cluster_snapshot(rds: Any, identifier: str) -> dict[str, Any] | None:
    """Describe one DB cluster snapshot; None if it does not exist."""
    try:
        return rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=identifier)["DBClusterSnapshots"][0]
    except rds.exceptions.DBClusterSnapshotNotFoundFault:
        return None


@operation("rds", "ListTagsForResource", iam=("rds:ListTagsForResource",))
def resource_tags(rds: Any, arn: str) -> list[dict[str, str]]:
    """The tags of an RDS resource, for describe output that carries no TagList."""
    return rds.list_tags_for_resource(ResourceName=arn)["TagList"]
