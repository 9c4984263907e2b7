"""The seeded world and the world model, seen through plain boto3 clients."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest
from botocore.exceptions import ClientError

from drtool.sandbox import seed as world_seed
from drtool.sandbox.rds_model import CopyJob, DeleteJob, RestoreJob
from drtool.sandbox.s3_model import ReplicationModel
from drtool.sandbox.seed import (
    BILLING_DB,
    DR_REGION,
    DR_SECURITY_GROUP_NAME,
    DR_SUBNET_GROUP,
    ORDERS_DB,
    PRIMARY_REGION,
    REPLICA_BUCKET,
    REPLICATION_RULE_ID,
    SECRET_NAME,
    SOURCE_BUCKET,
)
from tests.helpers import wait_for


def instance(rds, identifier):
    return rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]


def restore_orders_db(lab, rds, identifier="orders-db-dr"):
    return rds.restore_db_instance_from_db_snapshot(
        DBInstanceIdentifier=identifier,
        DBSnapshotIdentifier=lab.seeded.latest_snapshot(ORDERS_DB, DR_REGION),
        DBSubnetGroupName=DR_SUBNET_GROUP,
        VpcSecurityGroupIds=[lab.seeded.security_group_ids[DR_REGION]],
    )["DBInstance"]


def test_kms_keys_per_data_class_in_both_regions(lab, aws):
    for region in (PRIMARY_REGION, DR_REGION):
        kms = aws("kms", region)
        aliases = {a["AliasName"]: a["TargetKeyId"] for a in kms.list_aliases()["Aliases"]}
        for data_class in ("rds", "s3", "secrets", "logs"):
            key_id = aliases[f"alias/dr-{data_class}"]
            tags = {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=key_id)["Tags"]}
            assert tags["DataClass"] == data_class and tags["Component"]
            assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"]
            assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"] == lab.seeded.key_arn(data_class, region)


def test_rds_world_in_primary_and_dr(lab, aws):
    primary, dr = aws("rds", PRIMARY_REGION), aws("rds", DR_REGION)
    orders, billing = instance(primary, ORDERS_DB), instance(primary, BILLING_DB)
    assert (orders["Engine"], billing["Engine"]) == ("postgres", "mysql")
    assert billing["EngineVersion"].startswith("8.0")
    for db in (orders, billing):
        assert db["StorageEncrypted"] and db["BackupRetentionPeriod"] == 7
        assert db["KmsKeyId"] == lab.seeded.key_arn("rds", PRIMARY_REGION)
    automated = primary.describe_db_snapshots(DBInstanceIdentifier=ORDERS_DB, SnapshotType="automated")["DBSnapshots"]
    assert automated and all(s["DBSnapshotIdentifier"].startswith("rds:orders-db-20") for s in automated)
    world_now = lab.clock.now()
    assert all(world_now - s["SnapshotCreateTime"] > timedelta(hours=1) for s in automated)
    assert primary.describe_db_snapshots(DBInstanceIdentifier=BILLING_DB, SnapshotType="manual")["DBSnapshots"]

    dr_snapshots = dr.describe_db_snapshots()["DBSnapshots"]
    assert [s["DBInstanceIdentifier"] for s in dr_snapshots] == [ORDERS_DB]
    dr_copy = dr_snapshots[0]
    assert dr_copy["KmsKeyId"] == lab.seeded.key_arn("rds", DR_REGION)
    assert dr_copy["SourceDBSnapshotIdentifier"].startswith(f"arn:aws:rds:{PRIMARY_REGION}:")
    seeded_at = lab.seeded.seeded_at.replace(tzinfo=timezone.utc)
    # The newest backup is 6 hours old at seeding, whatever the time of day; the copy job ran an hour after it.
    assert timedelta(hours=5) <= seeded_at - dr_copy["SnapshotCreateTime"] < timedelta(hours=5, minutes=1)
    assert dr_copy["OriginalSnapshotCreateTime"] == dr_copy["SnapshotCreateTime"] - timedelta(hours=1)
    assert dr.describe_db_subnet_groups(DBSubnetGroupName=DR_SUBNET_GROUP)["DBSubnetGroups"]
    groups = aws("ec2", DR_REGION).describe_security_groups(GroupNames=[DR_SECURITY_GROUP_NAME])["SecurityGroups"]
    assert groups[0]["GroupId"] == lab.seeded.security_group_ids[DR_REGION] == world_seed.security_group_id()


def test_s3_replication_configuration_and_secret_replica(lab, aws):
    s3 = aws("s3", PRIMARY_REGION)
    rule = s3.get_bucket_replication(Bucket=SOURCE_BUCKET)["ReplicationConfiguration"]["Rules"][0]
    assert rule["ID"] == REPLICATION_RULE_ID
    assert rule["Destination"]["Bucket"] == f"arn:aws:s3:::{REPLICA_BUCKET}"
    assert rule["Destination"]["ReplicationTime"] == {"Status": "Enabled", "Time": {"Minutes": 15}}
    assert rule["Destination"]["Metrics"]["EventThreshold"] == {"Minutes": 15}
    assert s3.get_bucket_versioning(Bucket=SOURCE_BUCKET)["Status"] == "Enabled"
    secret = aws("secretsmanager", PRIMARY_REGION).describe_secret(SecretId=SECRET_NAME)
    assert secret["ReplicationStatus"][0]["Region"] == DR_REGION
    assert secret["ReplicationStatus"][0]["KmsKeyId"] == lab.seeded.key_arn("secrets", DR_REGION)


def test_restore_goes_creating_to_available_at_world_time(lab, aws):
    rds = aws("rds", DR_REGION)
    with lab.world.hold(RestoreJob):
        before = lab.clock.now()
        restored = restore_orders_db(lab, rds)
        after = lab.clock.now()
        assert restored["DBInstanceStatus"] == "creating"
        assert restored["AvailabilityZone"].startswith(DR_REGION)
        assert before <= restored["InstanceCreateTime"] <= after
        with pytest.raises(ClientError) as refused:
            rds.delete_db_instance(DBInstanceIdentifier="orders-db-dr", SkipFinalSnapshot=True)
        assert refused.value.response["Error"]["Code"] == "InvalidDBInstanceState"

    wait_for(lambda: instance(rds, "orders-db-dr")["DBInstanceStatus"], lambda status: status == "available")
    events = rds.describe_events(SourceIdentifier="orders-db-dr", SourceType="db-instance")["Events"]
    messages = {e["Message"]: e["Date"] for e in events}
    restored_at = messages[f"Restored from snapshot {lab.seeded.latest_snapshot(ORDERS_DB, DR_REGION)}"]
    assert "DB instance created" in messages
    # The restore took the configured 12 world minutes, whatever the real time was.
    assert restored_at - restored["InstanceCreateTime"] == timedelta(seconds=lab.settings.restore_seconds)


def test_delete_passes_through_deleting(lab, aws):
    rds = aws("rds", PRIMARY_REGION)
    with lab.world.hold(DeleteJob):
        deleted = rds.delete_db_instance(DBInstanceIdentifier=BILLING_DB, SkipFinalSnapshot=True)["DBInstance"]
        assert deleted["DBInstanceStatus"] == "deleting"
        assert instance(rds, BILLING_DB)["DBInstanceStatus"] == "deleting"
        asked_at = lab.clock.now()

    def gone():
        try:
            instance(rds, BILLING_DB)
            return False
        except ClientError as error:
            return error.response["Error"]["Code"] == "DBInstanceNotFound"

    wait_for(gone, bool)
    events = rds.describe_events(SourceIdentifier=BILLING_DB, SourceType="db-instance")["Events"]
    assert [e["Message"] for e in events] == ["DB instance deleted"]
    assert events[0]["Date"] - asked_at <= timedelta(seconds=lab.settings.instance_delete_seconds)


def test_cross_region_snapshot_copy_reports_progress(lab, aws):
    primary, dr = aws("rds", PRIMARY_REGION), aws("rds", DR_REGION)
    source = primary.describe_db_snapshots(DBInstanceIdentifier=ORDERS_DB, SnapshotType="automated")["DBSnapshots"][0]

    def progress():
        return dr.describe_db_snapshots(DBSnapshotIdentifier="orders-db-drill-copy")["DBSnapshots"][0]

    with lab.world.hold(CopyJob):
        copy = dr.copy_db_snapshot(
            SourceDBSnapshotIdentifier=source["DBSnapshotArn"],
            TargetDBSnapshotIdentifier="orders-db-drill-copy",
            KmsKeyId=lab.seeded.key_arn("rds", DR_REGION),
            SourceRegion=PRIMARY_REGION,
        )["DBSnapshot"]
        assert (copy["Status"], copy["PercentProgress"]) == ("creating", 0)
    # Step the held world to the copy's half-way mark: progress is a function of world time, not of when we look.
    with lab.world.hold():
        lab.world.step_to(copy["SnapshotCreateTime"].replace(tzinfo=None) + timedelta(seconds=lab.settings.snapshot_copy_seconds / 2))
        halfway = progress()
    assert halfway["Status"] == "creating" and halfway["PercentProgress"] in (49, 50)  # the API rounds the start time

    final = wait_for(progress, lambda s: s["Status"] == "available")
    assert final["PercentProgress"] == 100
    assert final["OriginalSnapshotCreateTime"] == source["OriginalSnapshotCreateTime"]
    messages = [e["Message"] for e in dr.describe_events(SourceType="db-snapshot")["Events"]]
    assert any(m.startswith("Finished copy of snapshot") for m in messages)


def test_new_object_replicates_with_statuses_and_metrics(lab, aws):
    s3, replica_s3 = aws("s3", PRIMARY_REGION), aws("s3", DR_REGION)
    written_at = lab.clock.now()
    with lab.world.hold(ReplicationModel):
        s3.put_object(Bucket=SOURCE_BUCKET, Key="drill/canary.txt", Body=b"canary")
        assert s3.head_object(Bucket=SOURCE_BUCKET, Key="drill/canary.txt")["ReplicationStatus"] == "PENDING"
    wait_for(lambda: s3.head_object(Bucket=SOURCE_BUCKET, Key="drill/canary.txt")["ReplicationStatus"],
             lambda status: status == "COMPLETED")
    replica = replica_s3.head_object(Bucket=REPLICA_BUCKET, Key="drill/canary.txt")
    assert replica["ReplicationStatus"] == "REPLICA"
    assert replica["SSEKMSKeyId"] == lab.seeded.key_arn("s3", DR_REGION)
    assert replica_s3.get_object(Bucket=REPLICA_BUCKET, Key="drill/canary.txt")["Body"].read() == b"canary"

    cloudwatch = aws("cloudwatch", PRIMARY_REGION)
    dimensions = [{"Name": "SourceBucket", "Value": SOURCE_BUCKET}, {"Name": "DestinationBucket", "Value": REPLICA_BUCKET},
                  {"Name": "RuleId", "Value": REPLICATION_RULE_ID}]
    lag = lab.settings

    def latency_datapoints():
        return cloudwatch.get_metric_statistics(
            Namespace="AWS/S3", MetricName="ReplicationLatency", Dimensions=dimensions,
            StartTime=written_at - timedelta(hours=1), EndTime=written_at + timedelta(hours=1), Period=60, Statistics=["Maximum"],
        )["Datapoints"]

    # The period in which the canary replicated publishes its lag, at least the world's minimum.
    latency = wait_for(latency_datapoints, lambda points: any(p["Maximum"] >= lag.replication_lag_min_seconds for p in points),
                       what="a ReplicationLatency datapoint with the canary's lag")
    assert max(p["Maximum"] for p in latency) <= lag.replication_lag_max_seconds
    names = {m["MetricName"] for m in cloudwatch.list_metrics(Namespace="AWS/S3")["Metrics"]}
    assert names >= {"ReplicationLatency", "OperationsPendingReplication",
                     "BytesPendingReplication", "OperationsFailedReplication"}


def test_disabled_and_pending_deletion_keys_are_refused(lab, aws):
    kms = aws("kms", PRIMARY_REGION)
    logs_key = lab.seeded.key_arn("logs", PRIMARY_REGION).split("/")[-1]
    blob = kms.encrypt(KeyId=logs_key, Plaintext=b"secret")["CiphertextBlob"]
    kms.disable_key(KeyId=logs_key)
    for call in (lambda: kms.encrypt(KeyId=logs_key, Plaintext=b"x"),
                 lambda: kms.decrypt(CiphertextBlob=blob),
                 lambda: kms.generate_data_key(KeyId=logs_key, KeySpec="AES_256")):
        with pytest.raises(ClientError) as refused:
            call()
        assert refused.value.response["Error"]["Code"] == "DisabledException"
    kms.enable_key(KeyId=logs_key)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"secret"
    kms.schedule_key_deletion(KeyId=logs_key, PendingWindowInDays=7)
    with pytest.raises(ClientError) as refused:
        kms.decrypt(CiphertextBlob=blob)
    assert refused.value.response["Error"]["Code"] == "KMSInvalidStateException"


def test_nightly_backups_keep_the_world_current(lab, aws):
    from drtool.sandbox.backups import DR_COPY_LAG, automated_snapshot_name, dr_copy_name

    taken = lab.world.now() - timedelta(minutes=1)
    job = world_seed.nightly_backups(lab.seeded, next_backup=taken)
    with lab.world.lock:
        job.advance(lab.world.now())
        job.advance(taken + DR_COPY_LAG)
    primary, dr = aws("rds", PRIMARY_REGION), aws("rds", DR_REGION)
    for instance in (ORDERS_DB, BILLING_DB):
        snapshot = primary.describe_db_snapshots(DBSnapshotIdentifier=automated_snapshot_name(instance, taken))["DBSnapshots"][0]
        assert snapshot["SnapshotType"] == "automated" and snapshot["Status"] == "available"
    copy = dr.describe_db_snapshots(DBSnapshotIdentifier=dr_copy_name(ORDERS_DB, taken))["DBSnapshots"][0]
    assert copy["KmsKeyId"] == lab.seeded.key_arn("rds", DR_REGION)
    assert job.next_backup == taken + timedelta(days=1)
    assert not dr.describe_db_snapshots(DBInstanceIdentifier=BILLING_DB)["DBSnapshots"], "billing-db has no copy job"
