"""The seeded S3 pair is what a healthy S3 replication drill expects, and each S3 fault breaks it in one way.

Seen through plain boto3 only. New objects are written with the replication model held and the world stepped
past the longest lag (`settle`), so no test races the world.
"""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest
from botocore.exceptions import ClientError

from drtool.sandbox.s3_model import ReplicationModel
from drtool.sandbox.seed import (
    ARCHIVE_KEY_ALIAS,
    ARCHIVE_PREFIX,
    CANARY,
    DR_REGION,
    EXPORTS_PREFIX,
    METRICS_HISTORY,
    PRIMARY_REGION,
    REPLICA_BUCKET,
    REPLICATION_ROLE,
    REPLICATION_RULE_ID,
    S3_DR_KEY_ALIAS,
    SOURCE_BUCKET,
)

DIMENSIONS = [{"Name": "SourceBucket", "Value": SOURCE_BUCKET}, {"Name": "DestinationBucket", "Value": REPLICA_BUCKET},
              {"Name": "RuleId", "Value": REPLICATION_RULE_ID}]


def settle(lab):
    lab.world.step_to(lab.world.now() + timedelta(seconds=lab.world.settings.replication_lag_max_seconds + 1))


def listing(s3, bucket, lab):
    """Every current object of the seeded world: key -> (ETag, size). The application keeps writing meanwhile, so
    only the keys the source bucket held before the lab began count."""
    seeded_at = lab.seeded.seeded_at.replace(tzinfo=timezone.utc)
    if bucket == SOURCE_BUCKET:
        keep = lambda item: item["LastModified"] < seeded_at  # noqa: E731
    else:
        seeded = listing(s3_of(lab, SOURCE_BUCKET), SOURCE_BUCKET, lab)
        keep = lambda item: item["Key"] in seeded  # noqa: E731
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            if keep(item):
                found[item["Key"]] = (item["ETag"], item["Size"])
    return found


def s3_of(lab, bucket):
    from tests.helpers import client

    return client(lab, "s3", PRIMARY_REGION if bucket == SOURCE_BUCKET else DR_REGION)


def head(s3, bucket, key):
    try:
        return s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    except ClientError as missing:
        assert missing.response["Error"]["Code"] == "404"
        return None


def statuses(s3, keys):
    return {key: s3.head_object(Bucket=SOURCE_BUCKET, Key=key).get("ReplicationStatus") for key in keys}


def write_canary(lab, s3, name="drill/canary.txt", **kwargs):
    """A canary under the canary prefix, encrypted as production data is (the bucket default), replicated or not."""
    key = f"{CANARY}{name}"
    with lab.world.hold(ReplicationModel):
        s3.put_object(Bucket=SOURCE_BUCKET, Key=key, Body=b"canary", **kwargs)
        settle(lab)
    return key


def metric_total(aws, lab, name, statistic="Sum"):
    points = aws("cloudwatch", PRIMARY_REGION).get_metric_statistics(
        Namespace="AWS/S3", MetricName=name, Dimensions=DIMENSIONS, StartTime=lab.clock.now() - METRICS_HISTORY,
        EndTime=lab.clock.now(), Period=3600, Statistics=[statistic])["Datapoints"]
    return len(points), sum(point[statistic] for point in points)


def test_the_seeded_pair_is_what_a_healthy_drill_expects(lab, aws):
    s3, dr_s3 = aws("s3", PRIMARY_REGION), aws("s3", DR_REGION)
    for client, bucket in ((s3, SOURCE_BUCKET), (dr_s3, REPLICA_BUCKET)):
        assert client.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert dr_s3.get_bucket_location(Bucket=REPLICA_BUCKET)["LocationConstraint"] == DR_REGION
    config = s3.get_bucket_replication(Bucket=SOURCE_BUCKET)["ReplicationConfiguration"]
    (rule,) = config["Rules"]
    dr_key = aws("kms", DR_REGION).describe_key(KeyId=S3_DR_KEY_ALIAS)["KeyMetadata"]
    assert (rule["ID"], rule["Status"], rule["Filter"].get("Prefix", "")) == (REPLICATION_RULE_ID, "Enabled", "")
    assert CANARY.startswith(rule["Filter"].get("Prefix", ""))
    assert rule["DeleteMarkerReplication"]["Status"] == "Enabled"
    assert rule["SourceSelectionCriteria"]["SseKmsEncryptedObjects"]["Status"] == "Enabled"
    destination = rule["Destination"]
    assert destination["Bucket"] == f"arn:aws:s3:::{REPLICA_BUCKET}"
    assert destination["EncryptionConfiguration"]["ReplicaKmsKeyID"] == dr_key["Arn"] and dr_key["KeyState"] == "Enabled"
    assert destination["ReplicationTime"]["Status"] == destination["Metrics"]["Status"] == "Enabled"
    role = aws("iam", PRIMARY_REGION).get_role(RoleName=REPLICATION_ROLE)["Role"]
    assert config["Role"] == role["Arn"] == lab.seeded.replication_role_arn

    # A few hundred objects, all replicated: the same keys, ETags and sizes on both sides, COMPLETED and REPLICA.
    source, replica = listing(s3, SOURCE_BUCKET, lab), listing(dr_s3, REPLICA_BUCKET, lab)
    assert len(source) >= 250 and source == replica
    assert set(statuses(s3, source).values()) == {"COMPLETED"}
    export = next(key for key in source if key.startswith(EXPORTS_PREFIX))
    archive = next(key for key in source if key.startswith(ARCHIVE_PREFIX))
    exported, copied = head(s3, SOURCE_BUCKET, export), head(dr_s3, REPLICA_BUCKET, export)
    assert exported["ChecksumSHA256"] == copied["ChecksumSHA256"] and copied["ReplicationStatus"] == "REPLICA"
    assert (exported["SSEKMSKeyId"], copied["SSEKMSKeyId"]) == (lab.seeded.key_arn("s3", PRIMARY_REGION), dr_key["Arn"])
    archive_key = aws("kms", PRIMARY_REGION).describe_key(KeyId=ARCHIVE_KEY_ALIAS)["KeyMetadata"]["Arn"]
    assert head(s3, SOURCE_BUCKET, archive)["SSEKMSKeyId"] == archive_key == lab.seeded.archive_key_arn
    assert head(dr_s3, REPLICA_BUCKET, archive)["StorageClass"] == "STANDARD_IA"

    # CloudWatch already holds the last day's replication metrics, with no failures.
    points, _ = metric_total(aws, lab, "ReplicationLatency", "Maximum")
    assert points >= 23
    assert metric_total(aws, lab, "OperationsFailedReplication")[1] == 0

    canary = write_canary(lab, s3)
    assert statuses(s3, [canary]) == {canary: "COMPLETED"}
    assert head(dr_s3, REPLICA_BUCKET, canary)["SSEKMSKeyId"] == dr_key["Arn"]


@pytest.mark.lab(faults=["replica-missing-objects"])
def test_replica_missing_objects(lab, aws):
    s3, dr_s3 = aws("s3", PRIMARY_REGION), aws("s3", DR_REGION)
    missing, older = lab.seeded.missing_replicas, lab.seeded.pre_rule_objects
    assert len(missing) == 3 and len(older) == 2
    source, replica = listing(s3, SOURCE_BUCKET, lab), listing(dr_s3, REPLICA_BUCKET, lab)
    assert set(source) - set(replica) == {*missing, *older} and set(replica) <= set(source)
    # Lost after replicating: COMPLETED on the source. Older than the rule: no status at all.
    assert statuses(s3, missing) == dict.fromkeys(missing, "COMPLETED")
    assert statuses(s3, older) == dict.fromkeys(older, None)
    oldest_replicated = min(head(s3, SOURCE_BUCKET, key)["LastModified"] for key in list(replica)[:5])
    assert all(head(s3, SOURCE_BUCKET, key)["LastModified"] < oldest_replicated for key in older)
    # Replication itself works.
    canary = write_canary(lab, s3)
    assert statuses(s3, [canary]) == {canary: "COMPLETED"}


@pytest.mark.lab(faults=["replica-corrupted-object"])
def test_replica_corrupted_object(lab, aws):
    s3, dr_s3 = aws("s3", PRIMARY_REGION), aws("s3", DR_REGION)
    (corrupted,) = lab.seeded.corrupted_replicas
    source, replica = listing(s3, SOURCE_BUCKET, lab), listing(dr_s3, REPLICA_BUCKET, lab)
    assert set(source) == set(replica)
    assert [key for key in source if source[key] != replica[key]] == [corrupted]
    original, copy = head(s3, SOURCE_BUCKET, corrupted), head(dr_s3, REPLICA_BUCKET, corrupted)
    assert original["ContentLength"] == copy["ContentLength"], "same size: only the ETag and checksum tell"
    assert original["ETag"] != copy["ETag"] and original["ChecksumSHA256"] != copy["ChecksumSHA256"]
    assert (original["ReplicationStatus"], copy["ReplicationStatus"]) == ("COMPLETED", "REPLICA")


@pytest.mark.lab(faults=["replication-failed-for-key"])
def test_replication_failed_for_the_archive_key(lab, aws):
    s3, dr_s3 = aws("s3", PRIMARY_REGION), aws("s3", DR_REGION)
    source, replica = listing(s3, SOURCE_BUCKET, lab), listing(dr_s3, REPLICA_BUCKET, lab)
    archives = [key for key in source if key.startswith(ARCHIVE_PREFIX)]
    exports = [key for key in source if key.startswith(EXPORTS_PREFIX)]
    assert archives and set(statuses(s3, archives).values()) == {"FAILED"}
    assert set(statuses(s3, exports).values()) == {"COMPLETED"}
    assert set(replica) == set(exports)
    assert metric_total(aws, lab, "OperationsFailedReplication")[1] > 0
    # The drill's canary, under the production key, replicates; a new object under the archive key fails.
    canary = write_canary(lab, s3)
    archived = write_canary(lab, s3, "archived.txt", ServerSideEncryption="aws:kms", SSEKMSKeyId=ARCHIVE_KEY_ALIAS)
    assert statuses(s3, [canary, archived]) == {canary: "COMPLETED", archived: "FAILED"}


@pytest.mark.lab(faults=["replication-rule-disabled"])
def test_replication_rule_disabled(lab, aws):
    s3, dr_s3 = aws("s3", PRIMARY_REGION), aws("s3", DR_REGION)
    (rule,) = s3.get_bucket_replication(Bucket=SOURCE_BUCKET)["ReplicationConfiguration"]["Rules"]
    assert (rule["ID"], rule["Status"]) == (REPLICATION_RULE_ID, "Disabled")
    assert listing(s3, SOURCE_BUCKET, lab) == listing(dr_s3, REPLICA_BUCKET, lab), "what was replicated before stays"
    canary = write_canary(lab, s3)
    assert statuses(s3, [canary]) == {canary: None} and head(dr_s3, REPLICA_BUCKET, canary) is None


@pytest.mark.lab(faults=["replica-versioning-suspended"])
def test_replica_versioning_suspended(lab, aws):
    s3, dr_s3 = aws("s3", PRIMARY_REGION), aws("s3", DR_REGION)
    assert dr_s3.get_bucket_versioning(Bucket=REPLICA_BUCKET)["Status"] == "Suspended"
    assert listing(s3, SOURCE_BUCKET, lab) == listing(dr_s3, REPLICA_BUCKET, lab)
    canary = write_canary(lab, s3)
    assert statuses(s3, [canary]) == {canary: "FAILED"} and head(dr_s3, REPLICA_BUCKET, canary) is None


@pytest.mark.lab(faults=["dr-key-disabled"])
def test_dr_key_disabled_fails_s3_replication(lab, aws):
    s3, dr_s3 = aws("s3", PRIMARY_REGION), aws("s3", DR_REGION)
    assert aws("kms", DR_REGION).describe_key(KeyId=S3_DR_KEY_ALIAS)["KeyMetadata"]["KeyState"] == "Disabled"
    canary = write_canary(lab, s3)
    assert statuses(s3, [canary]) == {canary: "FAILED"} and head(dr_s3, REPLICA_BUCKET, canary) is None
