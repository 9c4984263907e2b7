"""KMS calls that change nothing: a key's metadata, policy, rotation and tags, and cryptographic use of it."""

from __future__ import annotations

import json
from typing import Any

from drtool.core.operations import operation

__all__ = ["describe_key", "key_policy", "rotation_status", "last_rotation", "resource_tags",
           "generate_data_key", "decrypt", "encrypt"]


@operation("kms", "DescribeKey", iam=("kms:DescribeKey",))
def describe_key(kms: Any, key: str) -> dict[str, Any]:
    """KeyMetadata for a key id, ARN or alias/NAME in the client's region."""
    return kms.describe_key(KeyId=key)["KeyMetadata"]


@operation("kms", "GetKeyPolicy", iam=("kms:GetKeyPolicy",))
def key_policy(kms: Any, key_id: str) -> dict[str, Any]:
    """The key policy as a document (a key has exactly one, named `default`)."""
    return json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])


@operation("kms", "GetKeyRotationStatus", iam=("kms:GetKeyRotationStatus",))
def rotation_status(kms: Any, key_id: str) -> dict[str, Any]:
    """KeyRotationEnabled, and where AWS reports them RotationPeriodInDays and NextRotationDate."""
    found = kms.get_key_rotation_status(KeyId=key_id)
    return {name: found[name] for name in ("KeyRotationEnabled", "RotationPeriodInDays", "NextRotationDate") if name in found}


@operation("kms", "ListKeyRotations", iam=("kms:ListKeyRotations",))
def last_rotation(kms: Any, key_id: str) -> dict[str, Any] | None:
    """The key's most recent rotation (RotationDate, RotationType), or None if it never rotated."""
    newest = None
    for page in kms.get_paginator("list_key_rotations").paginate(KeyId=key_id):
        for rotation in page.get("Rotations", ()):
            if newest is None or rotation["RotationDate"] > newest["RotationDate"]:
                newest = rotation
    return newest


@operation("kms", "ListResourceTags", iam=("kms:ListResourceTags",))
def resource_tags(kms: Any, key_id: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for page in kms.get_paginator("list_resource_tags").paginate(KeyId=key_id):
        tags.update({tag["TagKey"]: tag["TagValue"] for tag in page.get("Tags", ())})
    return tags


@operation("kms", "GenerateDataKey", iam=("kms:GenerateDataKey",))
def generate_data_key(kms: Any, key: str) -> tuple[bytes, bytes]:
    """(plaintext, ciphertext) of a fresh 256-bit data key under `key`."""
    found = kms.generate_data_key(KeyId=key, KeySpec="AES_256")
    return found["Plaintext"], found["CiphertextBlob"]


@operation("kms", "Decrypt", iam=("kms:Decrypt",))
def decrypt(kms: Any, key: str, ciphertext: bytes) -> bytes:
    """The plaintext, decrypted only by `key` (naming it stops a ciphertext of another key from passing)."""
    return kms.decrypt(KeyId=key, CiphertextBlob=ciphertext)["Plaintext"]


@operation("kms", "Encrypt", iam=("kms:Encrypt",))
def encrypt(kms: Any, key: str, plaintext: bytes) -> bytes:
    return kms.encrypt(KeyId=key, Plaintext=plaintext)["CiphertextBlob"]
