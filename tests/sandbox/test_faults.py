"""Each fault has the effect a drill must catch."""

from __future__ import annotations

from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from drtool.sandbox.faults import registered_faults, validate_faults
from drtool.sandbox.lab import Lab
from drtool.sandbox.seed import (
    BILLING_DB,
    DR_REGION,
    DR_SUBNET_GROUP,
    ORDERS_DB,
    PRIMARY_REGION,
    REPLICA_BUCKET,
    SOURCE_BUCKET,
)
from tests.helpers import wait_for


def error_code(call) -> str:
    with pytest.raises(ClientError) as refused:
        call()
    return refused.value.response["Error"]["Code"]


def test_unknown_fault_is_rejected_with_valid_names():
    with pytest.raises(ValueError, match="slow-restore"):
        validate_faults(["no-such-fault"])
    with pytest.raises(ValueError):
        Lab(faults=["no-such-fault"])
    assert all(fault.description and "\n" not in fault.description for fault in registered_faults().values())


@pytest.mark.lab(faults=["slow-restore"])
def test_slow_restore_outlasts_a_30_minute_rto(lab, aws):
    rds = aws("rds", DR_REGION)
    created = rds.restore_db_instance_from_db_snapshot(
        DBInstanceIdentifier="orders-db-dr", DBSnapshotIdentifier=lab.seeded.latest_snapshot(ORDERS_DB, DR_REGION),
        DBSubnetGroupName=DR_SUBNET_GROUP,
    )["DBInstance"]["InstanceCreateTime"]
    wait_for(lambda: rds.describe_db_instances(DBInstanceIdentifier="orders-db-dr")["DBInstances"][0]["DBInstanceStatus"],
             lambda status: status == "available")
    events = rds.describe_events(SourceIdentifier="orders-db-dr", SourceType="db-instance")["Events"]
    available_at = next(e["Date"] for e in events if e["Message"] == "DB instance created")
    # Judged on the world's own moments, so it holds however slowly this machine ran.
    assert available_at - created == timedelta(minutes=45)


@pytest.mark.lab(faults=["replication-paused"])
def test_replication_paused_leaves_objects_pending(lab, aws):
    s3 = aws("s3", PRIMARY_REGION)
    written_at = lab.clock.now()
    s3.put_object(Bucket=SOURCE_BUCKET, Key="drill/canary.txt", Body=b"canary")
    s3.put_object(Bucket=SOURCE_BUCKET, Key="drill/canary-2.txt", Body=b"canary")
    cloudwatch = aws("cloudwatch", PRIMARY_REGION)

    def pending_after_the_worst_lag():
        return cloudwatch.get_metric_data(
            MetricDataQueries=[{
                "Id": "pending",
                "MetricStat": {"Metric": {"Namespace": "AWS/S3", "MetricName": "OperationsPendingReplication",
                                          "Dimensions": [{"Name": "SourceBucket", "Value": SOURCE_BUCKET},
                                                         {"Name": "DestinationBucket", "Value": REPLICA_BUCKET},
                                                         {"Name": "RuleId", "Value": "orders-data-to-dr"}]},
                               "Period": 60, "Stat": "Maximum"},
            }],
            StartTime=written_at + timedelta(seconds=lab.settings.replication_lag_max_seconds),
            EndTime=written_at + timedelta(hours=1),
        )["MetricDataResults"][0]["Values"]

    # A datapoint from past the 90 s worst-case lag that still counts both canaries (and any of the app's own exports).
    wait_for(pending_after_the_worst_lag, lambda values: bool(values) and max(values) >= 2)
    assert s3.head_object(Bucket=SOURCE_BUCKET, Key="drill/canary.txt")["ReplicationStatus"] == "PENDING"
    assert error_code(lambda: aws("s3", DR_REGION).head_object(Bucket=REPLICA_BUCKET, Key="drill/canary.txt")) == "404"


@pytest.mark.lab(faults=["dr-key-disabled"])
def test_dr_key_disabled_breaks_restore_and_copy(lab, aws):
    dr_key = lab.seeded.key_arn("rds", DR_REGION)
    assert aws("kms", DR_REGION).describe_key(KeyId="alias/dr-rds")["KeyMetadata"]["KeyState"] == "Disabled"
    rds = aws("rds", DR_REGION)
    assert error_code(lambda: rds.restore_db_instance_from_db_snapshot(
        DBInstanceIdentifier="orders-db-dr", DBSnapshotIdentifier=lab.seeded.latest_snapshot(ORDERS_DB, DR_REGION),
        DBSubnetGroupName=DR_SUBNET_GROUP,
    )) == "KMSKeyNotAccessibleFault"
    source_arn = f"arn:aws:rds:{PRIMARY_REGION}:123456789012:snapshot:{lab.seeded.latest_snapshot(BILLING_DB)}"
    assert error_code(lambda: rds.copy_db_snapshot(
        SourceDBSnapshotIdentifier=source_arn, TargetDBSnapshotIdentifier="billing-copy", KmsKeyId=dr_key,
        SourceRegion=PRIMARY_REGION,
    )) == "KMSKeyNotAccessibleFault"


@pytest.mark.lab(faults=["no-dr-snapshot"])
def test_no_dr_snapshot_and_copy_denied(lab, aws):
    rds = aws("rds", DR_REGION)
    assert rds.describe_db_snapshots()["DBSnapshots"] == []
    source_arn = f"arn:aws:rds:{PRIMARY_REGION}:123456789012:snapshot:{lab.seeded.latest_snapshot(ORDERS_DB)}"
    assert error_code(lambda: rds.copy_db_snapshot(
        SourceDBSnapshotIdentifier=source_arn, TargetDBSnapshotIdentifier="orders-copy",
        KmsKeyId=lab.seeded.key_arn("rds", DR_REGION), SourceRegion=PRIMARY_REGION,
    )) == "AccessDenied"


@pytest.mark.lab(faults=["throttling"])
def test_throttling_hits_polling_and_retries_recover(lab, aws):
    no_retries = aws("rds", PRIMARY_REGION, retries={"max_attempts": 1})
    with pytest.raises(ClientError) as throttled:
        for _ in range(20):
            no_retries.describe_db_instances(DBInstanceIdentifier=ORDERS_DB)
    assert throttled.value.response["Error"]["Code"] == "Throttling"
    assert throttled.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # Other regions have their own bucket; botocore's standard retries get through in time.
    patient = aws("rds", PRIMARY_REGION, retries={"mode": "standard", "max_attempts": 10})
    assert patient.describe_db_instances(DBInstanceIdentifier=ORDERS_DB)["DBInstances"]
