"""Read-only S3 operations: bucket settings, object heads and bodies, canary versions."""

from __future__ import annotations

import hashlib
from typing import Any, Iterator

from drtool.core.operations import operation

__all__ = [
    "bucket_region", "bucket_versioning", "bucket_encryption", "replication_configuration",
    "head_object", "object_tags", "object_sha256", "key_versions", "incomplete_uploads", "list_keys", "read_object",
]


@operation("s3", "GetBucketLocation", iam=("s3:GetBucketLocation",))
def bucket_region(s3: Any, bucket: str) -> str:
    """The region a bucket lives in (us-east-1 reports no location)."""
    return s3.get_bucket_location(Bucket=bucket).get("LocationConstraint") or "us-east-1"


@operation("s3", "GetBucketVersioning", iam=("s3:GetBucketVersioning",))
def bucket_versioning(s3: Any, bucket: str) -> str:
    """A bucket's versioning status: Enabled, Suspended, or "never enabled"."""
    return s3.get_bucket_versioning(Bucket=bucket).get("Status") or "never enabled"


@operation("s3", "GetBucketEncryption", iam=("s3:GetEncryptionConfiguration",))
def bucket_encryption(s3: Any, bucket: str) -> dict[str, Any]:
    """A bucket's default encryption (ApplyServerSideEncryptionByDefault and BucketKeyEnabled), {} if none."""
    try:
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    except s3.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ServerSideEncryptionConfigurationNotFoundError":
            return {}
        raise
    return rules[0] if rules else {}


@operation("s3", "GetBucketReplication", iam=("s3:GetReplicationConfiguration",))
def replication_configuration(s3: Any, bucket: str) -> dict[str, Any] | None:
    """A bucket's replication configuration (Role, Rules), or None if it has none."""
    try:
        return s3.get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"]
    except s3.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ReplicationConfigurationNotFoundError":
            return None
        raise


@operation("s3", "HeadObject", iam=("s3:GetObject",))
def head_object(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    """An object's metadata with its stored checksum, or None while it does not exist."""
    try:
        return s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    except s3.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


@operation("s3", "GetObjectTagging", iam=("s3:GetObjectTagging",))
def object_tags(s3: Any, bucket: str, key: str) -> list[dict[str, str]] | None:
    """The tags of a key's current version, or None while the key does not exist."""
    try:
        return s3.get_object_tagging(Bucket=bucket, Key=key).get("TagSet", [])
    except s3.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound", "MethodNotAllowed"):
            return None
        raise


@operation("s3", "GetObject", iam=("s3:GetObject", "kms:Decrypt"))
def object_sha256(s3: Any, bucket: str, key: str) -> str:
    """The SHA-256 of an object's content, read in chunks (an SSE-KMS object needs kms:Decrypt)."""
    digest = hashlib.sha256()
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    for chunk in iter(lambda: body.read(1024 * 1024), b""):
        digest.update(chunk)
    return digest.hexdigest()


@operation("s3", "ListObjectVersions", iam=("s3:ListBucketVersions",))
def key_versions(s3: Any, bucket: str, prefix: str) -> Iterator[dict[str, Any]]:
    """Every version and delete marker under `prefix`, each with "DeleteMarker": True or False."""
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        for version in page.get("Versions", []):
            yield {**version, "DeleteMarker": False}
        for marker in page.get("DeleteMarkers", []):
            yield {**marker, "DeleteMarker": True}


@operation("s3", "ListMultipartUploads", iam=("s3:ListBucketMultipartUploads",))
def incomplete_uploads(s3: Any, bucket: str, prefix: str) -> list[dict[str, Any]]:
    """Multipart uploads started under `prefix` and never completed or aborted (they cost storage)."""
    return [upload for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket, Prefix=prefix)
            for upload in page.get("Uploads", [])]


@operation("s3", "ListObjectsV2", iam=("s3:ListBucket",))
def list_keys(s3: Any, bucket: str, prefix: str) -> Iterator[str]:
    """Every key under `prefix`, in key order."""
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            yield item["Key"]


@operation("s3", "GetObject", iam=("s3:GetObject", "kms:Decrypt"))
def read_object(s3: Any, bucket: str, key: str) -> tuple[bytes, str] | None:
    """An object's content and ETag, or None if there is no such key (an SSE-KMS object needs kms:Decrypt)."""
    try:
        found = s3.get_object(Bucket=bucket, Key=key)
    except s3.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    return found["Body"].read(), found["ETag"]
