"""How the s3-replication family scopes the IAM actions it needs: the named buckets, canary keys, the regions' keys."""

from __future__ import annotations

from typing import Iterable

from drtool.core.grants import Condition, Grant, GrantRule, Scope, everywhere
from drtool.core.tagging import CANARY_PREFIX

KIND = "s3-replication"


def _targets(scope: Scope) -> list:
    return [target for target in scope.drill.targets.values() if target.kind == KIND]


def _bucket_arns(scope: Scope, sides: Iterable[str] = ("source_bucket", "replica_bucket")) -> list[str]:
    return sorted({f"arn:aws:s3:::{getattr(target, side)}" for target in _targets(scope) for side in sides})


def _buckets(sid: str) -> GrantRule:
    return lambda scope: [Grant(sid, tuple(_bucket_arns(scope)))] if _targets(scope) else []


def _canaries(sid: str, sides: Iterable[str] = ("source_bucket", "replica_bucket")) -> GrantRule:
    sides = tuple(sides)
    return lambda scope: [Grant(sid, tuple(f"{arn}/{CANARY_PREFIX}*" for arn in _bucket_arns(scope, sides)))] \
        if _targets(scope) else []


def _read_objects(scope: Scope) -> list[Grant]:
    # Canaries, and the keys the completeness audit reads (its prefix; "" is every key).
    prefixes = {CANARY_PREFIX} | {target.audit.prefix for target in _targets(scope)}
    prefixes = {p for p in prefixes if not any(p != other and p.startswith(other) for other in prefixes)}
    arns = {f"{bucket}/{prefix}*" for bucket in _bucket_arns(scope) for prefix in prefixes}
    return [Grant("ReadReplicatedObjects", tuple(sorted(arns)))] if arns else []


def _via_s3(scope: Scope) -> Condition:
    return {"StringEquals": {"kms:ViaService": sorted(f"s3.{region}.amazonaws.com" for region in scope.regions)}}


def _keys_via_s3(sid: str) -> GrantRule:
    """S3 uses the buckets' keys as the caller: to encrypt a canary as production data (the source bucket's default key,
    which the drill file does not name), and to decrypt a replica read back. Only through S3, in the regions it is used."""
    return lambda scope: [Grant(sid, scope.arns("kms", "key/*"), _via_s3(scope))] if _targets(scope) else []


def _describe_replica_keys(scope: Scope) -> list[Grant]:
    # The rule may name any key; learning which one it is (a read of its metadata) is how a wrong key is caught.
    return [Grant("ReadReplicaKeys", (scope.arn("kms", scope.drill.dr_region, "key/*"),))] if _targets(scope) else []


def _replication_role(scope: Scope) -> list[Grant]:
    # The role's name is in the bucket's replication configuration, not the drill file.
    return [Grant("ReadReplicationRole", (f"arn:aws:iam::{scope.account}:role/*",))] if _targets(scope) else []


GRANTS: dict[str, GrantRule] = {
    "s3:ListAllMyBuckets": everywhere("ListBuckets"),  # the preflight's probe
    "s3:GetBucketLocation": _buckets("ReadReplicationSetUp"),
    "s3:GetBucketVersioning": _buckets("ReadReplicationSetUp"),
    "s3:GetReplicationConfiguration": _buckets("ReadReplicationSetUp"),
    "s3:GetEncryptionConfiguration": _buckets("ReadReplicationSetUp"),
    "s3:ListBucket": _buckets("ListReplicatedBuckets"),
    "s3:ListBucketVersions": _buckets("ListReplicatedBuckets"),
    "s3:ListBucketMultipartUploads": _buckets("ListReplicatedBuckets"),
    "s3:GetObject": _read_objects,
    "s3:GetObjectVersion": _read_objects,
    "s3:PutObject": _canaries("WriteCanaries", ("source_bucket",)),
    "s3:PutObjectTagging": _canaries("WriteCanaries", ("source_bucket",)),
    "s3:GetObjectTagging": _canaries("RemoveCanaries", ("source_bucket",)),  # a canary whose write answer was lost
    "s3:AbortMultipartUpload": _canaries("RemoveCanaries"),
    "s3:DeleteObject": _canaries("RemoveCanaries"),
    "s3:DeleteObjectVersion": _canaries("RemoveCanaries"),
    "kms:GenerateDataKey": _keys_via_s3("EncryptCanariesThroughS3"),
    "kms:Decrypt": _keys_via_s3("DecryptThroughS3"),
    "kms:DescribeKey": _describe_replica_keys,
    "iam:GetRole": _replication_role,
    "cloudwatch:GetMetricStatistics": everywhere("ReadReplicationMetrics"),
}
