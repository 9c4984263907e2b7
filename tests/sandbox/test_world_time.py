"""One clock: every timestamp the lab returns is world time, for what a client creates through the API too."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from drtool.core.clock import CLOCK_ENV, ScaledClock
from tests.helpers import wait_for

# S3 and CloudWatch keep whole seconds: a timestamp may read up to a second before the moment it was taken.
RESOLUTION = timedelta(seconds=1)
AHEAD = timedelta(hours=2)


@pytest.mark.lab(time_scale=3600)
def test_api_created_resources_carry_world_time(lab, aws):
    # The clock a client reads from the environment, as `drtool sandbox serve` announces it.
    world = ScaledClock.from_env(lab.environment()[CLOCK_ENV])
    # Let the world run well ahead of wall time, so that no wall-clock stamp can pass for a world one.
    wait_for(lambda: world.now() - datetime.now(timezone.utc), lambda gap: gap > AHEAD, what="world time 2h ahead")
    primary = lab.settings.primary_region
    rds, s3, kms, cloudwatch = aws("rds", primary), aws("s3", primary), aws("kms", primary), aws("cloudwatch", primary)
    wrong: dict[str, str] = {}

    def check(what: str, stamp: datetime, before: datetime, after: datetime) -> None:
        # Bracketed by world time read before and after the call: how long the call took does not matter.
        if not before - RESOLUTION <= stamp <= after + RESOLUTION:
            wrong[what] = f"{stamp} not in [{before}, {after}]"

    started = world.now()
    instance = rds.create_db_instance(
        DBInstanceIdentifier="clock-db", DBInstanceClass="db.t3.micro", Engine="postgres", AllocatedStorage=20,
        MasterUsername="admin_user", MasterUserPassword="not-a-real-password-3")["DBInstance"]
    snapshot = rds.create_db_snapshot(DBInstanceIdentifier="clock-db", DBSnapshotIdentifier="clock-db-snap")["DBSnapshot"]
    described = rds.describe_db_instances(DBInstanceIdentifier="clock-db")["DBInstances"][0]
    events = rds.describe_events(SourceIdentifier="clock-db", SourceType="db-instance")["Events"]
    key = kms.create_key(Description="clock key")["KeyMetadata"]
    s3.create_bucket(Bucket="clock-bucket", CreateBucketConfiguration={"LocationConstraint": primary})
    bucket = next(b for b in s3.list_buckets()["Buckets"] if b["Name"] == "clock-bucket")
    s3.put_bucket_versioning(Bucket="clock-bucket", VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket="clock-bucket", Key="a.txt", Body=b"a")
    head = s3.head_object(Bucket="clock-bucket", Key="a.txt")
    s3.delete_object(Bucket="clock-bucket", Key="a.txt")
    versions = s3.list_object_versions(Bucket="clock-bucket")
    cloudwatch.put_metric_data(Namespace="Clock", MetricData=[{"MetricName": "Ticks", "Value": 1.0}])
    finished = world.now()

    assert events, "moto records events for a new instance"
    stamps = {
        "InstanceCreateTime": instance["InstanceCreateTime"],
        "SnapshotCreateTime": snapshot["SnapshotCreateTime"],
        "OriginalSnapshotCreateTime": snapshot["OriginalSnapshotCreateTime"],
        "LatestRestorableTime": described["LatestRestorableTime"],
        **{f"event {event['Message']!r}": event["Date"] for event in events},
        "KMS CreationDate": key["CreationDate"],
        "bucket CreationDate": bucket["CreationDate"],
        "object LastModified": head["LastModified"],
        "version LastModified": versions["Versions"][0]["LastModified"],
        "delete marker LastModified": versions["DeleteMarkers"][0]["LastModified"],
    }
    for what, stamp in stamps.items():
        check(what, stamp, started, finished)
    assert wrong == {}, "timestamps not in world time"
    # The calls ran in order, and their stamps follow that order in world time.
    assert instance["InstanceCreateTime"] <= snapshot["SnapshotCreateTime"] <= described["LatestRestorableTime"]

    # A metric a client puts without a timestamp is dated in world time: a window around the calls finds it.
    points = cloudwatch.get_metric_statistics(Namespace="Clock", MetricName="Ticks", StartTime=started - RESOLUTION,
                                              EndTime=finished + RESOLUTION, Period=60, Statistics=["Sum"])["Datapoints"]
    assert sum(point["Sum"] for point in points) == 1.0
