"""Scenario 1: the DR key is usable, rotates, and is the replica of its primary. Read-only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from drtool.core.clock import format_duration
from drtool.core.errors import error_code
from drtool.core.operations import calls, dr, primary
from drtool.families.kms_key.target import KmsKeyTarget
from drtool.services.kms.probes import describe_key, last_rotation, resource_tags, rotation_status

STATE_REMEDIES = {
    "Disabled": "enable it (kms:EnableKey); nothing encrypted under it can be read in the DR region until then",
    "PendingDeletion": "cancel its deletion (kms:CancelKeyDeletion) before the waiting period ends, then enable it",
    "PendingReplicaDeletion": "cancel its deletion (kms:CancelKeyDeletion) before the waiting period ends",
    "PendingImport": "import its key material, or use a key whose material is in place",
    "Unavailable": "reconnect its custom key store",
}


@dataclass
class KeyState:
    metadata: dict[str, Any]
    primary: dict[str, Any] | None = None
    rotation: dict[str, Any] = field(default_factory=dict)
    rotated: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@calls(dr(describe_key), primary(describe_key, only_if="the target names a primary_key"))
def resolve(kms_dr: Any, kms_primary: Any, target: KmsKeyTarget) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """KeyMetadata of the DR key, and of its primary if the target names one."""
    return describe_key(kms_dr, target.key), (describe_key(kms_primary, target.primary_key) if target.primary_key else None)


@calls(dr(describe_key), primary(describe_key, only_if="the target names a primary_key"), dr(rotation_status), dr(last_rotation))
def read_state(kms_dr: Any, kms_primary: Any, target: KmsKeyTarget, now: datetime) -> KeyState:
    """Every deviation of the DR key's state from what the target expects, each with its remedy."""
    state = KeyState(describe_key(kms_dr, target.key))
    meta, name = state.metadata, target.key
    key_state = meta.get("KeyState")
    if key_state != "Enabled":
        state.problems.append(f"{name} is {key_state}: " + STATE_REMEDIES.get(key_state, "enable it"))
    _check_replica(state, kms_primary, target)
    _check_rotation(state, kms_dr, target, now)
    return state


def _check_replica(state: KeyState, kms_primary: Any, target: KmsKeyTarget) -> None:
    meta, name = state.metadata, target.key
    config = meta.get("MultiRegionConfiguration") or {}
    if target.primary_key is None:
        if config.get("MultiRegionKeyType") == "REPLICA":
            state.notes.append(f"{name} is a replica of {config.get('PrimaryKey', {}).get('Arn')}")
        return
    state.primary = describe_key(kms_primary, target.primary_key)
    if not meta.get("MultiRegion") or config.get("MultiRegionKeyType") != "REPLICA":
        kind = "a multi-Region primary" if config.get("MultiRegionKeyType") == "PRIMARY" else "a single-Region key"
        state.problems.append(
            f"{name} is {kind}, not a replica of {target.primary_key}: replicate the primary into the DR region "
            "(kms:ReplicateKey) and point the DR alias at the replica")
        return
    replica_of = (config.get("PrimaryKey") or {}).get("Arn")
    if replica_of != state.primary["Arn"]:
        state.problems.append(f"{name} is a replica of {replica_of}, not of {target.primary_key} ({state.primary['Arn']}): "
                              "correct the target's primary_key, or point the DR alias at the right replica")
    else:
        state.notes.append(f"{name} is the DR replica of {target.primary_key} ({replica_of})")


def _check_rotation(state: KeyState, kms_dr: Any, target: KmsKeyTarget, now: datetime) -> None:
    meta, name, longest = state.metadata, target.key, target.expect.max_rotation_period
    if not target.expect.rotation or meta.get("KeyManager") != "CUSTOMER" or meta.get("KeySpec", "SYMMETRIC_DEFAULT") != "SYMMETRIC_DEFAULT":
        return
    state.rotation = rotation_status(kms_dr, meta["KeyId"])
    if not state.rotation.get("KeyRotationEnabled"):
        state.problems.append(f"automatic rotation of {name} is off: enable it (kms:EnableKeyRotation"
                              + (" on the primary, whose setting its replicas share)" if state.primary else ")"))
        return
    period = state.rotation.get("RotationPeriodInDays", 365)
    if period * 86400 > longest.total_seconds():
        state.problems.append(f"{name} rotates every {period} days, longer than the {format_duration(longest)} expected: "
                              f"set its rotation period to at most {int(longest.total_seconds() // 86400)} days")
    state.rotated = _newest_rotation(kms_dr, meta["KeyId"])
    since = state.rotated["RotationDate"] if state.rotated else meta.get("CreationDate")
    age = (now - since).total_seconds() if since else None
    what = "last rotated" if state.rotated else "never rotated, created"
    if age is not None and age > longest.total_seconds():
        state.problems.append(f"{name} was {what} {format_duration(age)} ago, longer than the {format_duration(longest)} "
                              "expected: find out why rotation did not happen (kms:RotateKeyOnDemand rotates it now)")
    state.notes.append(f"{name} rotates every {period} days; {what} "
                       + (f"{format_duration(age)} ago" if age is not None else "at an unknown time")
                       + (f", next {state.rotation['NextRotationDate']:%Y-%m-%d}" if state.rotation.get("NextRotationDate") else ""))


def _newest_rotation(kms_dr: Any, key_id: str) -> dict[str, Any] | None:
    try:
        return last_rotation(kms_dr, key_id)
    except ClientError as exc:
        if error_code(exc) == "UnsupportedOperationException":
            return None  # keys whose rotations KMS does not list (imported material): judged by their age alone
        raise


@calls(dr(resource_tags))
def tag_problems(kms_dr: Any, target: KmsKeyTarget, key_id: str) -> tuple[list[str], dict[str, str]]:
    tags = resource_tags(kms_dr, key_id)
    problems = [
        f"{target.key} has {name}={tags[name]!r}, not {value!r}" if name in tags else f"{target.key} has no {name} tag (expected {value!r})"
        for name, value in sorted(target.expect.tags.items()) if tags.get(name) != value
    ]
    if problems:
        problems[-1] += ": tag the key (kms:TagResource) as its data class requires"
    return problems, tags
