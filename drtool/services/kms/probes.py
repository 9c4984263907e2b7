"""Read-only KMS calls."""

from __future__ import annotations

from typing import Any

from drtool.core.operations import operation

__all__ = ["describe_key"]


@operation("kms", "DescribeKey", iam=("kms:DescribeKey",))
def describe_key(kms: Any, key: str) -> dict[str, Any]:
    """KeyMetadata for a key id, ARN or alias/NAME in the client's region."""
    return kms.describe_key(KeyId=key)["KeyMetadata"]
