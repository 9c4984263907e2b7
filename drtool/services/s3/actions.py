"""Mutating S3 operations: canary objects (the guard allows them only under the canary prefix), and drtool's own
records: run history, the run lock and evidence bundles (a records guard allows them only under their prefixes)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from drtool.core.operations import operation

__all__ = ["put_object", "start_multipart_upload", "upload_part", "complete_multipart_upload",
           "abort_multipart_upload", "delete_versions", "create_object", "replace_object", "delete_object_if",
           "put_encrypted_object"]

# PutObject under SSE-KMS makes S3 ask KMS for a data key as the caller; a tagged write needs PutObjectTagging too.
_WRITE = ("s3:PutObject", "s3:PutObjectTagging", "kms:GenerateDataKey")


@operation("s3", "PutObject", iam=_WRITE, mutating=True)
def put_object(s3: Any, bucket: str, key: str, body: bytes, **settings: Any) -> dict[str, Any]:
    """Write one object in a single request, with a SHA-256 checksum S3 verifies and stores."""
    return s3.put_object(Bucket=bucket, Key=key, Body=body, ChecksumAlgorithm="SHA256", **settings)


@operation("s3", "CreateMultipartUpload", iam=_WRITE, mutating=True)
def start_multipart_upload(s3: Any, bucket: str, key: str, **settings: Any) -> str:
    """Start a multipart upload with SHA-256 part checksums; returns its upload id."""
    return s3.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm="SHA256", **settings)["UploadId"]


@operation("s3", "UploadPart", iam=("s3:PutObject", "kms:GenerateDataKey"), mutating=True)
def upload_part(s3: Any, bucket: str, key: str, upload_id: str, number: int, body: bytes) -> dict[str, Any]:
    """Upload one part; returns what CompleteMultipartUpload needs of it."""
    part = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body, ChecksumAlgorithm="SHA256")
    return {"PartNumber": number, "ETag": part["ETag"], **({"ChecksumSHA256": part["ChecksumSHA256"]} if part.get("ChecksumSHA256") else {})}


@operation("s3", "CompleteMultipartUpload", iam=("s3:PutObject", "kms:Decrypt"), mutating=True)
def complete_multipart_upload(s3: Any, bucket: str, key: str, upload_id: str, parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Assemble the parts into one object (S3 decrypts the parts' data keys as the caller)."""
    return s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts})


@operation("s3", "AbortMultipartUpload", iam=("s3:AbortMultipartUpload",), mutating=True)
def abort_multipart_upload(s3: Any, bucket: str, key: str, upload_id: str) -> None:
    """Abort an incomplete upload, so its parts stop costing storage."""
    try:
        s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    except s3.exceptions.NoSuchUpload:
        pass


@operation("s3", "DeleteObjects", iam=("s3:DeleteObject", "s3:DeleteObjectVersion"), mutating=True)
def delete_versions(s3: Any, bucket: str, versions: list[tuple[str, str]]) -> None:
    """Delete object versions and delete markers for good, given as (key, version id), up to 1000 a request."""
    for start in range(0, len(versions), 1000):
        batch = [{"Key": key, "VersionId": version} for key, version in versions[start:start + 1000]]
        errors = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True}).get("Errors", [])
        if errors:
            first = errors[0]
            # A refusal inside a 200 answer, made the error it would have been alone, so it is classified like one.
            raise ClientError({"Error": {"Code": first.get("Code", "Error"), "Message": (
                f"S3 refused to delete {len(errors)} version(s) in {bucket}, e.g. {first.get('Key')}: {first.get('Message')}")}},
                "DeleteObjects")


# A write lost to another writer: the condition failed (412), or a concurrent conditional write won (409).
_CONDITION_LOST = ("PreconditionFailed", "ConditionalRequestConflict", "412", "409")
# drtool's records take the bucket's default encryption: when that is SSE-KMS, S3 asks KMS for a data key as the caller.
_RECORD_WRITE = ("s3:PutObject", "kms:GenerateDataKey")


def _condition_lost(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in _CONDITION_LOST


@operation("s3", "PutObject", iam=_RECORD_WRITE, mutating=True)
def create_object(s3: Any, bucket: str, key: str, body: bytes) -> str | None:
    """Write an object only if the key is free (If-None-Match: *); its ETag, or None when the key exists."""
    try:
        return s3.put_object(Bucket=bucket, Key=key, Body=body, IfNoneMatch="*", ChecksumAlgorithm="SHA256")["ETag"]
    except ClientError as exc:
        if _condition_lost(exc):
            return None
        raise


@operation("s3", "PutObject", iam=_RECORD_WRITE, mutating=True)
def replace_object(s3: Any, bucket: str, key: str, body: bytes, etag: str) -> str | None:
    """Overwrite an object only if it is still the version read (If-Match); the new ETag, or None if it changed."""
    try:
        return s3.put_object(Bucket=bucket, Key=key, Body=body, IfMatch=etag, ChecksumAlgorithm="SHA256")["ETag"]
    except ClientError as exc:
        if _condition_lost(exc) or exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise


@operation("s3", "DeleteObject", iam=("s3:DeleteObject",), mutating=True)
def delete_object_if(s3: Any, bucket: str, key: str, etag: str) -> bool:
    """Delete an object only if it is still the version written (If-Match); False if it changed or is gone."""
    try:
        s3.delete_object(Bucket=bucket, Key=key, IfMatch=etag)
    except ClientError as exc:
        if _condition_lost(exc) or exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return False
        raise
    return True


@operation("s3", "PutObject", iam=("s3:PutObject", "kms:GenerateDataKey"), mutating=True)
def put_encrypted_object(s3: Any, bucket: str, key: str, body: bytes, kms_key: str, sha256_b64: str) -> dict[str, Any]:
    """Write an object encrypted with a named KMS key (SSE-KMS); S3 refuses it unless it hashes to `sha256_b64`."""
    return s3.put_object(Bucket=bucket, Key=key, Body=body, ServerSideEncryption="aws:kms", SSEKMSKeyId=kms_key,
                         ChecksumSHA256=sha256_b64)
