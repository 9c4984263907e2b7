"""Secrets Manager calls that change nothing: a secret's metadata, and a digest of its value.

A drill never holds a secret's value longer than it takes to hash it: `value_digest` returns only the SHA-256 of
what Secrets Manager answered, so no value can reach a note, the journal or a report.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from drtool.core.operations import operation

__all__ = ["SecretDigest", "describe_secret", "value_digest"]


@dataclass(frozen=True)
class SecretDigest:
    """What a drill keeps of a secret's value: its SHA-256 and the version it was read from."""

    sha256: str = field(repr=False)  # even a digest is kept out of reprs, tracebacks and reports
    version_id: str = ""


@operation("secretsmanager", "DescribeSecret", iam=("secretsmanager:DescribeSecret",))
def describe_secret(secretsmanager: Any, secret_id: str) -> dict[str, Any]:
    """A secret's metadata (never its value): replication status, KMS key, rotation settings and dates."""
    found = secretsmanager.describe_secret(SecretId=secret_id)
    return {name: value for name, value in found.items() if name != "ResponseMetadata"}


# Secrets Manager decrypts with the secret's KMS key in the caller's region, as the caller: it needs kms:Decrypt too.
@operation("secretsmanager", "GetSecretValue", iam=("secretsmanager:GetSecretValue", "kms:Decrypt"))
def value_digest(secretsmanager: Any, secret_id: str, version_stage: str = "AWSCURRENT") -> SecretDigest:
    """The SHA-256 of a secret's value at `version_stage` (a string or binary secret alike); the value is dropped."""
    found = secretsmanager.get_secret_value(SecretId=secret_id, VersionStage=version_stage)
    if "SecretString" in found:
        digest = hashlib.sha256(b"string:" + found.pop("SecretString").encode("utf-8")).hexdigest()
    else:
        digest = hashlib.sha256(b"binary:" + bytes(found.pop("SecretBinary", b""))).hexdigest()
    return SecretDigest(digest, str(found.get("VersionId", "")))
