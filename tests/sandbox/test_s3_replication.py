"""S3 replication follows each bucket's own replication configuration, as AWS does, for buckets any client makes.

Every test builds its own buckets through plain boto3 and holds the replication model, then steps the held world
past the longest lag (`settle`): a chosen world moment, never a raced one.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from drtool.sandbox.s3_model import ReplicationModel

ROLE = "arn:aws:iam::123456789012:role/my-replication"


def error_code(call) -> str:
    with pytest.raises(ClientError) as refused:
        call()
    return refused.value.response["Error"]["Code"]


def rule(rule_id, destination, *, priority=1, status="Enabled", prefix="", tags=None, delete_markers="Disabled",
         sse_kms=False, replica_key=None, storage_class=None, metrics=False, rtc=False):
    """A V2 replication rule, as a client writes one."""
    if tags:
        tag_list = [{"Key": key, "Value": value} for key, value in tags.items()]
        found = {"And": {"Prefix": prefix, "Tags": tag_list}} if prefix or len(tag_list) > 1 else {"Tag": tag_list[0]}
    else:
        found = {"Prefix": prefix}
    target = {"Bucket": f"arn:aws:s3:::{destination}"}
    if replica_key:
        target["EncryptionConfiguration"] = {"ReplicaKmsKeyID": replica_key}
    if storage_class:
        target["StorageClass"] = storage_class
    if rtc:
        target["ReplicationTime"] = {"Status": "Enabled", "Time": {"Minutes": 15}}
    if metrics or rtc:
        target["Metrics"] = {"Status": "Enabled", **({"EventThreshold": {"Minutes": 15}} if rtc else {})}
    made = {"ID": rule_id, "Priority": priority, "Status": status, "Filter": found,
            "DeleteMarkerReplication": {"Status": delete_markers}, "Destination": target}
    if sse_kms:
        made["SourceSelectionCriteria"] = {"SseKmsEncryptedObjects": {"Status": "Enabled"}}
    return made


class Pair:
    """A client's source bucket in the primary region and its buckets in the DR region."""

    def __init__(self, lab, aws, source="my-source", destinations=("my-replica",)):
        self.lab = lab
        self.primary, self.dr = lab.settings.primary_region, lab.settings.dr_region
        self.s3, self.dr_s3 = aws("s3", self.primary), aws("s3", self.dr)
        self.source = source
        self.make_bucket(self.s3, source, self.primary)
        for destination in destinations:
            self.make_bucket(self.dr_s3, destination, self.dr)

    @staticmethod
    def make_bucket(s3, bucket, region, versioning="Enabled"):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
        if versioning:
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": versioning})

    def configure(self, *rules):
        self.s3.put_bucket_replication(Bucket=self.source, ReplicationConfiguration={"Role": ROLE, "Rules": list(rules)})

    def put(self, key, body=b"payload", **kwargs):
        return self.s3.put_object(Bucket=self.source, Key=key, Body=body, **kwargs)

    def status(self, key):
        return self.s3.head_object(Bucket=self.source, Key=key).get("ReplicationStatus")

    def replica(self, key, bucket="my-replica"):
        """The replica's HEAD (checksums included), or None if there is none."""
        try:
            return self.dr_s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        except ClientError as missing:
            assert missing.response["Error"]["Code"] == "404"
            return None


def settle(lab, extra=timedelta(0)):
    """Step the held world past the longest replication lag (and `extra`): all written so far has replicated."""
    lab.world.step_to(lab.world.now() + timedelta(seconds=lab.world.settings.replication_lag_max_seconds + 1) + extra)


def test_replication_needs_a_versioned_source(lab, aws):
    pair = Pair(lab, aws)
    Pair.make_bucket(pair.s3, "unversioned", pair.primary, versioning=None)
    assert error_code(lambda: pair.s3.put_bucket_replication(Bucket="unversioned", ReplicationConfiguration={
        "Role": ROLE, "Rules": [rule("r", "my-replica")]})) == "InvalidRequest"


def test_a_disabled_rule_replicates_nothing_and_publishes_no_metrics(lab, aws):
    pair = Pair(lab, aws)
    pair.configure(rule("off", "my-replica", status="Disabled", metrics=True))
    cloudwatch = aws("cloudwatch", pair.primary)
    with lab.world.hold(ReplicationModel):
        pair.put("data/a.csv")
        settle(lab, extra=timedelta(minutes=2))
    assert pair.status("data/a.csv") is None
    assert pair.replica("data/a.csv") is None
    rules = {dimension["Value"] for metric in cloudwatch.list_metrics(Namespace="AWS/S3")["Metrics"]
             for dimension in metric["Dimensions"] if dimension["Name"] == "RuleId"}
    assert "off" not in rules


def test_prefix_tag_filters_and_priority_choose_the_rule(lab, aws):
    pair = Pair(lab, aws, destinations=("my-replica", "my-archive"))
    pair.configure(
        # The gold objects under data/ replicate by the higher-priority rule (source storage class); others under
        # data/ by the lower one (its storage class). A tag-only rule sends gold objects anywhere to a second bucket.
        rule("gold", "my-replica", priority=3, prefix="data/", tags={"class": "gold"}),
        rule("data", "my-replica", priority=2, prefix="data/", storage_class="STANDARD_IA"),
        rule("any-gold", "my-archive", priority=1, tags={"class": "gold"}),
        rule("logs-off", "my-replica", priority=4, prefix="logs/", status="Disabled"),
    )
    with lab.world.hold(ReplicationModel):
        pair.put("data/gold.csv", Tagging="class=gold")
        pair.put("data/plain.csv")
        pair.put("logs/app.log")
        pair.put("other/gold.csv", Tagging="class=gold")
        assert pair.status("data/gold.csv") == pair.status("data/plain.csv") == "PENDING"
        settle(lab)
    assert pair.status("data/gold.csv") == pair.status("data/plain.csv") == pair.status("other/gold.csv") == "COMPLETED"
    assert pair.replica("data/gold.csv").get("StorageClass") is None  # STANDARD, as written
    assert pair.replica("data/plain.csv")["StorageClass"] == "STANDARD_IA"
    # Two destinations: each gets the object under its own highest-priority rule.
    assert pair.replica("data/gold.csv", bucket="my-archive")["ReplicationStatus"] == "REPLICA"
    assert pair.replica("other/gold.csv", bucket="my-archive") is not None
    assert pair.replica("other/gold.csv") is None and pair.replica("data/plain.csv", bucket="my-archive") is None
    # No Enabled rule selects it: no status at all.
    assert pair.status("logs/app.log") is None and pair.replica("logs/app.log") is None


def test_a_missing_or_unversioned_destination_fails_replication(lab, aws):
    pair = Pair(lab, aws, destinations=("my-replica", "suspended-replica"))
    pair.configure(
        rule("to-suspended", "suspended-replica", priority=3, prefix="s/", metrics=True),
        rule("to-nowhere", "no-such-bucket", priority=2, prefix="n/"),
        rule("ok", "my-replica", priority=1, prefix="ok/"),
    )
    pair.dr_s3.put_bucket_versioning(Bucket="suspended-replica", VersioningConfiguration={"Status": "Suspended"})
    cloudwatch = aws("cloudwatch", pair.primary)
    written_at = lab.world.now()
    with lab.world.hold(ReplicationModel):
        for key in ("s/a", "n/a", "ok/a"):
            pair.put(key)
        settle(lab, extra=timedelta(minutes=2))
    assert (pair.status("s/a"), pair.status("n/a"), pair.status("ok/a")) == ("FAILED", "FAILED", "COMPLETED")
    assert pair.replica("s/a", bucket="suspended-replica") is None
    failed = cloudwatch.get_metric_statistics(
        Namespace="AWS/S3", MetricName="OperationsFailedReplication",
        Dimensions=[{"Name": "SourceBucket", "Value": "my-source"},
                    {"Name": "DestinationBucket", "Value": "suspended-replica"}, {"Name": "RuleId", "Value": "to-suspended"}],
        StartTime=written_at - timedelta(minutes=1), EndTime=written_at + timedelta(hours=1), Period=3600,
        Statistics=["Sum"])["Datapoints"]
    assert sum(point["Sum"] for point in failed) == 1


def test_sse_kms_objects_replicate_only_when_selected_and_into_the_replica_key(lab, aws):
    pair = Pair(lab, aws)
    source_key = aws("kms", pair.primary).create_key()["KeyMetadata"]["Arn"]
    replica_key = aws("kms", pair.dr).create_key()["KeyMetadata"]["Arn"]
    pair.configure(
        rule("selected", "my-replica", priority=2, prefix="sel/", sse_kms=True, replica_key=replica_key),
        rule("unselected", "my-replica", priority=1, prefix="plain/"),
    )
    kms = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": source_key}
    with lab.world.hold(ReplicationModel):
        pair.put("sel/a", **kms)
        pair.put("plain/kms", **kms)
        pair.put("plain/s3", ServerSideEncryption="AES256")
        settle(lab)
    assert pair.status("sel/a") == "COMPLETED"
    replica = pair.replica("sel/a")
    assert (replica["ServerSideEncryption"], replica["SSEKMSKeyId"]) == ("aws:kms", replica_key)
    # SSE-KMS objects under a rule that does not select them: left unreplicated, with no status.
    assert pair.status("plain/kms") is None and pair.replica("plain/kms") is None
    assert pair.status("plain/s3") == "COMPLETED" and pair.replica("plain/s3")["ServerSideEncryption"] == "AES256"


def test_an_unusable_replica_key_fails_replication(lab, aws):
    pair = Pair(lab, aws)
    dr_kms = aws("kms", pair.dr)
    disabled = dr_kms.create_key()["KeyMetadata"]
    dr_kms.disable_key(KeyId=disabled["KeyId"])
    wrong_region = aws("kms", pair.primary).create_key()["KeyMetadata"]["Arn"]
    pair.configure(
        rule("disabled-key", "my-replica", priority=2, prefix="d/", sse_kms=True, replica_key=disabled["Arn"]),
        rule("primary-key", "my-replica", priority=1, prefix="w/", sse_kms=True, replica_key=wrong_region),
    )
    with lab.world.hold(ReplicationModel):
        pair.put("d/a", ServerSideEncryption="aws:kms", SSEKMSKeyId=wrong_region)
        pair.put("w/a", ServerSideEncryption="aws:kms", SSEKMSKeyId=wrong_region)
        settle(lab)
    assert pair.status("d/a") == pair.status("w/a") == "FAILED"
    assert pair.replica("d/a") is None and pair.replica("w/a") is None


def test_delete_markers_replicate_only_where_the_rule_says(lab, aws):
    pair = Pair(lab, aws)
    pair.configure(rule("markers", "my-replica", priority=2, prefix="on/", delete_markers="Enabled"),
                   rule("no-markers", "my-replica", priority=1, prefix="off/"))
    with lab.world.hold(ReplicationModel):
        for key in ("on/a", "off/a", "on/b"):
            pair.put(key)
        settle(lab)
        pair.s3.delete_object(Bucket=pair.source, Key="on/a")
        pair.s3.delete_object(Bucket=pair.source, Key="off/a")
        # Deleting a version is never replicated.
        version = pair.s3.head_object(Bucket=pair.source, Key="on/b")["VersionId"]
        pair.s3.delete_object(Bucket=pair.source, Key="on/b", VersionId=version)
        assert pair.replica("on/a") is not None, "not before the lag"
        settle(lab)
    assert pair.replica("on/a") is None
    markers = pair.dr_s3.list_object_versions(Bucket="my-replica", Prefix="on/a")["DeleteMarkers"]
    assert [marker["Key"] for marker in markers] == ["on/a"]
    assert pair.replica("off/a") is not None and pair.replica("on/b") is not None


def test_metrics_only_for_rules_that_enable_metrics_or_rtc(lab, aws):
    pair = Pair(lab, aws, destinations=("my-replica", "second", "third"))
    pair.configure(rule("with-metrics", "my-replica", priority=3, prefix="m/", metrics=True),
                   rule("with-rtc", "second", priority=2, prefix="r/", rtc=True),
                   rule("without", "third", priority=1, prefix="x/"))
    with lab.world.hold(ReplicationModel):
        for key in ("m/a", "r/a", "x/a"):
            pair.put(key)
        settle(lab, extra=timedelta(minutes=2))
    metrics = aws("cloudwatch", pair.primary).list_metrics(
        Namespace="AWS/S3", Dimensions=[{"Name": "SourceBucket", "Value": pair.source}])["Metrics"]
    published = {(metric["MetricName"], next(d["Value"] for d in metric["Dimensions"] if d["Name"] == "RuleId"))
                 for metric in metrics}
    names = {"ReplicationLatency", "OperationsPendingReplication", "BytesPendingReplication", "OperationsFailedReplication"}
    assert published == {(name, rule_id) for name in names for rule_id in ("with-metrics", "with-rtc")}


def test_rtc_keeps_the_lag_within_15_minutes(lab, aws):
    # A slow world: every lag an hour or more, unless RTC bounds it.
    lab.world.settings = replace(lab.world.settings, replication_lag_min_seconds=3600, replication_lag_max_seconds=7200)
    pair = Pair(lab, aws, destinations=("my-replica", "second"))
    pair.configure(rule("rtc", "my-replica", priority=2, prefix="rtc/", rtc=True),
                   rule("plain", "second", priority=1, prefix="plain/"))
    with lab.world.hold(ReplicationModel):
        written = {key: pair.put(key) and pair.s3.head_object(Bucket=pair.source, Key=key)["LastModified"]
                   for key in ("rtc/a", "plain/a")}
        settle(lab)
    rtc_lag = pair.replica("rtc/a")["LastModified"] - written["rtc/a"]
    plain_lag = pair.replica("plain/a", bucket="second")["LastModified"] - written["plain/a"]
    assert rtc_lag <= timedelta(minutes=15, seconds=1) and plain_lag >= timedelta(hours=1)


def test_objects_written_before_the_rule_stay_unreplicated(lab, aws):
    pair = Pair(lab, aws)
    pair.put("data/old.csv")
    pair.configure(rule("late", "my-replica"))
    with lab.world.hold(ReplicationModel):
        pair.put("data/new.csv")
        settle(lab)
    assert pair.status("data/old.csv") is None and pair.replica("data/old.csv") is None
    assert pair.status("data/new.csv") == "COMPLETED"


def test_the_replica_is_the_same_version_with_etag_checksums_metadata_and_tags(lab, aws):
    pair = Pair(lab, aws)
    pair.configure(rule("all", "my-replica"))
    with lab.world.hold(ReplicationModel):
        pair.put("single.json", body=b'{"a": 1}', ChecksumAlgorithm="SHA256", Metadata={"owner": "orders"},
                 ContentType="application/json", StorageClass="STANDARD_IA", Tagging="team=orders")
        upload = pair.s3.create_multipart_upload(Bucket=pair.source, Key="big.bin", ChecksumAlgorithm="SHA256",
                                                 Metadata={"owner": "orders"})["UploadId"]
        parts = []
        for number, body in enumerate((b"a" * (5 * 1024 * 1024), b"tail"), start=1):
            part = pair.s3.upload_part(Bucket=pair.source, Key="big.bin", UploadId=upload, PartNumber=number,
                                       Body=body, ChecksumAlgorithm="SHA256")
            parts.append({"PartNumber": number, "ETag": part["ETag"], "ChecksumSHA256": part["ChecksumSHA256"]})
        pair.s3.complete_multipart_upload(Bucket=pair.source, Key="big.bin", UploadId=upload,
                                          MultipartUpload={"Parts": parts})
        assert pair.status("big.bin") == "PENDING"
        settle(lab)
    for key in ("single.json", "big.bin"):
        source = pair.s3.head_object(Bucket=pair.source, Key=key, ChecksumMode="ENABLED")
        replica = pair.replica(key)
        assert (source["ReplicationStatus"], replica["ReplicationStatus"]) == ("COMPLETED", "REPLICA")
        same = ("ETag", "ChecksumSHA256", "ContentLength", "ContentType", "Metadata", "StorageClass", "VersionId")
        assert {name: replica.get(name) for name in same} == {name: source.get(name) for name in same}
        assert source["ChecksumSHA256"]
    assert pair.s3.head_object(Bucket=pair.source, Key="big.bin")["ETag"].endswith('-2"')
    assert pair.dr_s3.get_object_tagging(Bucket="my-replica", Key="single.json")["TagSet"] == [
        {"Key": "team", "Value": "orders"}]
    assert pair.dr_s3.get_object(Bucket="my-replica", Key="single.json")["Body"].read() == b'{"a": 1}'


def test_get_bucket_replication_returns_the_configuration_as_put(lab, aws):
    pair = Pair(lab, aws)
    rules = [
        rule("both", "my-replica", priority=3, prefix="data/", tags={"class": "gold"}, delete_markers="Enabled",
             sse_kms=True, replica_key="arn:aws:kms:eu-central-1:123456789012:key/replica", rtc=True,
             storage_class="STANDARD_IA"),
        rule("tag", "my-replica", priority=2, tags={"class": "silver"}),
        rule("prefix", "my-replica", priority=1, prefix="logs/", status="Disabled"),
    ]
    pair.configure(*rules)
    shown = pair.s3.get_bucket_replication(Bucket=pair.source)["ReplicationConfiguration"]
    assert shown == {"Role": ROLE, "Rules": rules}
