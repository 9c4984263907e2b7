"""Drill-named RDS resources left in a region, as `drtool cleanup` finds them: by name, then by tag."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from drtool.core.leftovers import Leftover, age, tagged_time
from drtool.core.tagging import (
    RUN_ID_KEY,
    is_drill_name,
    is_drill_tagged,
    run_id_from_name,
    tags_to_dict,
)
from drtool.services.rds import probes


@dataclass(frozen=True)
class RdsShape:
    """How the describe output of one kind of RDS resource names its fields."""

    kind: str
    list_all: Callable[[Any], list[dict[str, Any]]]
    id_field: str
    arn_field: str
    status_field: str
    created_field: str
    parent_field: str = ""


def rds_leftovers(shape: RdsShape, rds: Any, region: str, now: datetime) -> list[Leftover]:
    """Drill-named resources of one RDS shape in a region, tagged or not."""
    found = []
    for raw in shape.list_all(rds):
        identifier = raw[shape.id_field]
        if not is_drill_name(identifier):
            continue
        arn = raw.get(shape.arn_field)
        tag_list = raw["TagList"] if "TagList" in raw else (probes.resource_tags(rds, arn) if arn else [])
        tags = tags_to_dict(tag_list)
        created_at = raw.get(shape.created_field) or tagged_time(tags)
        found.append(
            Leftover(
                kind=shape.kind,
                identifier=identifier,
                region=region,
                arn=arn,
                run_id=tags.get(RUN_ID_KEY) or run_id_from_name(identifier),
                created_at=created_at,
                age=age(created_at, now),
                status=raw.get(shape.status_field, ""),
                tagged=is_drill_tagged(tags),
                parent=raw.get(shape.parent_field, "") if shape.parent_field else "",
            )
        )
    return found


INSTANCES = RdsShape("rds-instance", probes.list_instances, "DBInstanceIdentifier", "DBInstanceArn", "DBInstanceStatus",
                     "InstanceCreateTime", parent_field="DBClusterIdentifier")
CLUSTERS = RdsShape("rds-cluster", probes.list_clusters, "DBClusterIdentifier", "DBClusterArn", "Status", "ClusterCreateTime")
SNAPSHOTS = RdsShape("rds-snapshot", probes.list_snapshots, "DBSnapshotIdentifier", "DBSnapshotArn", "Status", "SnapshotCreateTime")
CLUSTER_SNAPSHOTS = RdsShape("rds-cluster-snapshot", probes.list_cluster_snapshots, "DBClusterSnapshotIdentifier",
                             "DBClusterSnapshotArn", "Status", "SnapshotCreateTime")
