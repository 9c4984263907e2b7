"""The completeness and integrity audit against buckets a test builds in the lab through plain boto3.

Every class it reports is produced the way it happens in AWS: an object written before the rule, one still
PENDING while replication is held, one FAILED for a destination that does not exist, a replica deleted after
it landed, a replica overwritten with other bytes.
"""

from __future__ import annotations

import hashlib

from drtool.families.s3_replication.audit import AuditReport, Sample, audit_replication
from drtool.sandbox.s3_model import ReplicationModel
from tests.helpers import wait_for

SOURCE, REPLICA = "audit-source", "audit-replica"
HEALTHY = [f"data/{n:03}.csv" for n in range(40)]


def _buckets(lab, aws):
    primary, dr = lab.settings.primary_region, lab.settings.dr_region
    source, replica = aws("s3", primary), aws("s3", dr)
    for s3, bucket, region in ((source, SOURCE, primary), (replica, REPLICA, dr)):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return source, replica


def _replicate(source, rules):
    source.put_bucket_replication(Bucket=SOURCE, ReplicationConfiguration={
        "Role": "arn:aws:iam::123456789012:role/audit-replication", "Rules": rules})


def _rule(rule_id, prefix, bucket, priority):
    return {"ID": rule_id, "Priority": priority, "Status": "Enabled", "Filter": {"Prefix": prefix},
            "DeleteMarkerReplication": {"Status": "Disabled"}, "Destination": {"Bucket": f"arn:aws:s3:::{bucket}"}}


def _put(source, key, body):
    source.put_object(Bucket=SOURCE, Key=key, Body=body, ChecksumAlgorithm="SHA256")


def _audit(lab, source, replica, **options) -> AuditReport:
    return audit_replication(source, replica, SOURCE, REPLICA, now=lab.clock.now(), **options)


def test_a_healthy_replica_is_clean_and_says_what_it_covered(lab, aws):
    source, replica = _buckets(lab, aws)
    _replicate(source, [_rule("all", "", REPLICA, 1)])
    for key in HEALTHY:
        _put(source, key, key.encode() * 10)
    wait_for(lambda: replica.list_objects_v2(Bucket=REPLICA)["KeyCount"], lambda n: n == len(HEALTHY), what="every replica")

    report = _audit(lab, source, replica)

    assert report.clean, report
    assert (report.source_objects, report.replica_objects, report.checksums_compared) == (40, 40, 40)
    assert report.covered == "the whole bucket: 40 source objects listed against 40 in the replica; checksums compared for every object in both (40)"
    sampled = _audit(lab, source, replica, sample=Sample(keys=7))
    assert sampled.clean and sampled.checksums_compared == 7
    assert "checksums compared for a sample of up to 7 objects in both (7)" in sampled.covered
    share = _audit(lab, source, replica, prefix="data/0", sample=Sample(percent=50))
    assert share.source_objects == 40 and 0 < share.checksums_compared < 40 and share.covered.startswith("prefix data/0: ")


def test_every_way_a_replica_falls_short_is_reported_with_the_oldest_unreplicated_age(lab, aws):
    source, replica = _buckets(lab, aws)
    _put(source, "before/legacy.csv", b"written before any rule")  # no replication status, ever
    legacy_written = source.head_object(Bucket=SOURCE, Key="before/legacy.csv")["LastModified"]
    _replicate(source, [_rule("data", "data/", REPLICA, 2), _rule("lost", "lost/", "no-such-dr-bucket", 1)])
    for key in HEALTHY:
        _put(source, key, key.encode() * 10)
    _put(source, "lost/orphan.csv", b"its destination does not exist")
    wait_for(lambda: replica.list_objects_v2(Bucket=REPLICA)["KeyCount"], lambda n: n == len(HEALTHY), what="every replica")
    wait_for(lambda: source.head_object(Bucket=SOURCE, Key="lost/orphan.csv").get("ReplicationStatus"),
             lambda status: status == "FAILED", what="replication to a missing bucket to fail")

    gone, changed = HEALTHY[3], HEALTHY[5]
    for version in replica.list_object_versions(Bucket=REPLICA, Prefix=gone)["Versions"]:
        replica.delete_object(Bucket=REPLICA, Key=gone, VersionId=version["VersionId"])
    same_size = bytes(reversed(changed.encode() * 10))
    replica.put_object(Bucket=REPLICA, Key=changed, Body=same_size, ChecksumAlgorithm="SHA256")
    with lab.world.hold(ReplicationModel):
        _put(source, "data/late.csv", b"still on its way")
        before = lab.clock.now()
        report = _audit(lab, source, replica, sample=Sample(keys=5))
        after = lab.clock.now()
        patient = _audit(lab, source, replica, in_flight_s=3600)
    assert (patient.pending.count, patient.in_flight) == (0, 1), "PENDING for less than replication takes is on its way"

    assert not report.clean
    assert report.missing.examples == [f"{gone}: COMPLETED at the source but absent from the replica"]
    [mismatch] = report.mismatched.examples
    assert mismatch.startswith(f"{changed}: ChecksumSHA256 ") and mismatch.endswith("in the replica")
    assert report.pending.count == 1 and report.pending.examples[0].startswith("data/late.csv: PENDING, written ")
    assert report.failed.count == 1 and report.failed.examples[0].startswith("lost/orphan.csv: FAILED, written ")
    assert report.unreplicated.count == 1 and report.unreplicated.examples[0].startswith("before/legacy.csv: no replication status")
    # Its age at the moment the audit read the world's time, between `before` and `after` (S3 keeps whole seconds).
    age_bounds = ((before - legacy_written).total_seconds() - 1, (after - legacy_written).total_seconds() + 1)
    assert age_bounds[0] <= report.oldest_unreplicated_age_s <= age_bounds[1], (report.oldest_unreplicated_age_s, age_bounds)
    assert report.source_objects == len(HEALTHY) + 3 and report.replica_objects == len(HEALTHY) - 1


def test_only_the_checksum_decides_when_etags_differ(lab, aws):
    """An SSE-KMS replica's ETag may differ from its source's: equal checksums are not a mismatch."""
    source, replica = _buckets(lab, aws)
    body = b"same bytes, other ETag"
    source.put_object(Bucket=SOURCE, Key="k", Body=body, ChecksumAlgorithm="SHA256")
    replica.put_object(Bucket=REPLICA, Key="k", Body=body, ChecksumAlgorithm="SHA256")
    moto_etags_are_md5 = replica.head_object(Bucket=REPLICA, Key="k")["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    assert moto_etags_are_md5, "the lab's ETags follow the content; this test makes them differ by other means"
    report = _audit(lab, source, replica)
    assert report.clean and report.checksums_compared == 1
