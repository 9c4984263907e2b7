"""Any world: a client that builds its own resources through the API, with no seed helpers, sees the world model.

A user who seeds their own world into `drtool sandbox serve` gets timed restores and copies, replication with
the world's lag, and events at world moments, as the lab's seeded world does.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from drtool.sandbox.rds_model import CopyJob, RestoreJob
from drtool.sandbox.s3_model import ReplicationModel
from tests.helpers import wait_for

# S3 keeps whole seconds, so a lag read from two LastModified stamps is off by up to a second.
S3_RESOLUTION = 1


def test_own_buckets_replicate_with_the_worlds_lag(lab, aws):
    primary, dr = lab.settings.primary_region, lab.settings.dr_region
    source, replica = aws("s3", primary), aws("s3", dr)
    for s3, bucket, region in ((source, "my-app-source", primary), (replica, "my-app-replica", dr)):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    source.put_bucket_replication(Bucket="my-app-source", ReplicationConfiguration={
        "Role": "arn:aws:iam::123456789012:role/my-app-replication",
        "Rules": [{"ID": "to-dr", "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": "data/"},
                   "DeleteMarkerReplication": {"Status": "Disabled"},
                   "Destination": {"Bucket": "arn:aws:s3:::my-app-replica"}}],
    })

    with lab.world.hold(ReplicationModel):
        source.put_object(Bucket="my-app-source", Key="data/report.csv", Body=b"a,b\n1,2\n")
        source.put_object(Bucket="my-app-source", Key="scratch/tmp.txt", Body=b"not replicated")
        assert source.head_object(Bucket="my-app-source", Key="data/report.csv")["ReplicationStatus"] == "PENDING"
        # Outside the rule's prefix: no replication status at all, as in AWS.
        assert "ReplicationStatus" not in source.head_object(Bucket="my-app-source", Key="scratch/tmp.txt")
        with pytest.raises(ClientError):
            replica.head_object(Bucket="my-app-replica", Key="data/report.csv")

    written = wait_for(lambda: source.head_object(Bucket="my-app-source", Key="data/report.csv"),
                       lambda head: head["ReplicationStatus"] == "COMPLETED", what="the source object COMPLETED")
    copied = replica.head_object(Bucket="my-app-replica", Key="data/report.csv")
    assert copied["ReplicationStatus"] == "REPLICA"
    assert replica.get_object(Bucket="my-app-replica", Key="data/report.csv")["Body"].read() == b"a,b\n1,2\n"
    # The replica is dated when it landed: the world's lag after the write, in world time.
    lag = (copied["LastModified"] - written["LastModified"]).total_seconds()
    settings = lab.settings
    assert settings.replication_lag_min_seconds - S3_RESOLUTION <= lag <= settings.replication_lag_max_seconds + S3_RESOLUTION
    assert replica.list_objects_v2(Bucket="my-app-replica")["KeyCount"] == 1


def test_own_database_snapshot_copies_and_restores_in_world_time(lab, aws):
    primary_region, dr_region = lab.settings.primary_region, lab.settings.dr_region
    primary, dr = aws("rds", primary_region), aws("rds", dr_region)
    primary.create_db_instance(
        DBInstanceIdentifier="my-app-db", DBInstanceClass="db.t3.micro", Engine="postgres", AllocatedStorage=20,
        MasterUsername="app_admin", MasterUserPassword="not-a-real-password-4")
    snapshot = primary.create_db_snapshot(DBInstanceIdentifier="my-app-db", DBSnapshotIdentifier="my-app-db-snap")["DBSnapshot"]

    def snapshot_status():
        return dr.describe_db_snapshots(DBSnapshotIdentifier="my-app-db-dr")["DBSnapshots"][0]["Status"]

    def instance_status():
        return dr.describe_db_instances(DBInstanceIdentifier="my-app-db-restored")["DBInstances"][0]["DBInstanceStatus"]

    def restore():
        return dr.restore_db_instance_from_db_snapshot(
            DBInstanceIdentifier="my-app-db-restored", DBSnapshotIdentifier="my-app-db-dr")["DBInstance"]

    with lab.world.hold(CopyJob):
        copy = dr.copy_db_snapshot(SourceDBSnapshotIdentifier=snapshot["DBSnapshotArn"],
                                   TargetDBSnapshotIdentifier="my-app-db-dr", SourceRegion=primary_region)["DBSnapshot"]
        assert copy["Status"] == snapshot_status() == "creating"
        with pytest.raises(ClientError) as refused:
            restore()
        assert refused.value.response["Error"]["Code"] == "InvalidDBSnapshotState"
    wait_for(snapshot_status, lambda status: status == "available", what="the copy available")
    copied = dr.describe_db_snapshots(DBSnapshotIdentifier="my-app-db-dr")["DBSnapshots"][0]
    assert copied["OriginalSnapshotCreateTime"] == snapshot["OriginalSnapshotCreateTime"]
    finished = next(event["Date"] for event in dr.describe_events(SourceType="db-snapshot")["Events"]
                    if event["Message"] == f"Finished copy of snapshot my-app-db-snap from {primary_region}")
    assert finished - copy["SnapshotCreateTime"] == timedelta(seconds=lab.settings.snapshot_copy_seconds)

    with lab.world.hold(RestoreJob):
        restored = restore()
        assert restored["DBInstanceStatus"] == instance_status() == "creating"
        assert restored["AvailabilityZone"].startswith(dr_region)
        # Stepped past its due moment, the held restore finishes: a chosen world moment, not a raced one.
        lab.world.step_to(restored["InstanceCreateTime"].replace(tzinfo=None) + timedelta(seconds=lab.settings.restore_seconds))
        assert instance_status() == "available"
    events = dr.describe_events(SourceIdentifier="my-app-db-restored", SourceType="db-instance")["Events"]
    dates = {event["Message"]: event["Date"] for event in events}
    assert dates["Restored from snapshot my-app-db-dr"] - restored["InstanceCreateTime"] == timedelta(
        seconds=lab.settings.restore_seconds)
    assert "DB instance created" in dates
