"""Scenario 1: read the replication set-up of a bucket pair and name every deviation from what the target expects.

Read-only. Each deviation is one sentence: the setting, what it is, and the remedy.
"""

from __future__ import annotations

from typing import Any

from drtool.core.operations import calls, dr, primary
from drtool.core.tagging import CANARY_PREFIX
from drtool.families.s3_replication.context import S3DrillContext
from drtool.services.iam.probes import get_role
from drtool.services.kms.probes import describe_key
from drtool.services.s3 import probes


def rule_prefix(rule: dict[str, Any]) -> str:
    """The key prefix a rule selects ("" for every key), from its Filter or the older top-level Prefix."""
    found = rule.get("Filter")
    if isinstance(found, dict):
        return found.get("Prefix") or (found.get("And") or {}).get("Prefix") or ""
    return rule.get("Prefix") or ""


def rule_tags(rule: dict[str, Any]) -> list[dict[str, str]]:
    found = rule.get("Filter") or {}
    return ([found["Tag"]] if found.get("Tag") else []) + list((found.get("And") or {}).get("Tags") or [])


def covers_canaries(rule: dict[str, Any]) -> bool:
    # A tag filter selects only objects with production's tags, which a canary must not carry.
    return CANARY_PREFIX.startswith(rule_prefix(rule)) and not rule_tags(rule)


@calls(probes.replication_configuration)
def replicated_prefixes(s3: Any, source: str, replica: str) -> tuple[str, ...]:
    """The prefixes under which enabled rules replicate every object from `source` to `replica`.

    A rule with a tag filter is left out: an object without those tags is rightly not replicated.
    """
    rules = (probes.replication_configuration(s3, source) or {}).get("Rules") or []
    return tuple(rule_prefix(rule) for rule in rules
                 if rule.get("Status") == "Enabled" and destination_bucket(rule) == replica and not rule_tags(rule))


def destination_bucket(rule: dict[str, Any]) -> str:
    return str((rule.get("Destination") or {}).get("Bucket", "")).rsplit(":", 1)[-1]


def _status(value: Any) -> str:
    return (value or {}).get("Status") or "not set"


def select_rule(config: dict[str, Any], source: str, replica: str, rule_id: str | None) -> tuple[dict[str, Any] | None, str]:
    """The rule the drill judges, or None and the deviation that says why there is none."""
    rules = config.get("Rules") or []
    if rule_id is not None:
        rule = next((rule for rule in rules if rule.get("ID") == rule_id), None)
        if rule is None:
            known = ", ".join(repr(rule.get("ID")) for rule in rules) or "none"
            return None, (f"replication rule {rule_id!r} does not exist on {source} (its rules: {known}): "
                          f"add it, or name an existing rule in the target's rule_id")
        return rule, ""
    # As S3 chooses among overlapping rules: the highest priority wins.
    candidates = sorted((rule for rule in rules if covers_canaries(rule) and destination_bucket(rule) == replica),
                        key=lambda rule: -int(rule.get("Priority") or 0))
    if not candidates:
        return None, (f"no replication rule of {source} replicates {CANARY_PREFIX} to {replica}: add a rule whose filter "
                      f"covers every key (or the prefix {CANARY_PREFIX}) with {replica} as its destination")
    enabled = [rule for rule in candidates if rule.get("Status") == "Enabled"]
    return (enabled or candidates)[0], ""


@calls(primary(probes.bucket_versioning), dr(probes.bucket_versioning), primary(probes.replication_configuration),
       primary(probes.bucket_region), "_rule_deviations")
def configuration_deviations(ctx: S3DrillContext) -> tuple[list[str], str]:
    """Every deviation of the bucket pair's replication from the target, and a description of the rule judged."""
    target = ctx.target
    deviations = []
    for bucket, s3, side in ((target.source_bucket, ctx.s3_source, "source"), (target.replica_bucket, ctx.s3_replica, "replica")):
        status = probes.bucket_versioning(s3, bucket)
        if status != "Enabled":
            deviations.append(f"versioning of the {side} bucket {bucket} is {status}: enable versioning on {bucket}, "
                              "which replication needs on both buckets")
    config = probes.replication_configuration(ctx.s3_source, target.source_bucket)
    if config is None:
        deviations.append(f"{target.source_bucket} has no replication configuration: add a rule that replicates it to "
                          f"{target.replica_bucket}")
        return deviations, "no rule"
    rule, missing = select_rule(config, target.source_bucket, target.replica_bucket, target.rule_id)
    if rule is None:
        return [*deviations, missing], "no rule"
    deviations += _rule_deviations(ctx, config, rule)
    return deviations, f"rule {rule.get('ID')!r} to {destination_bucket(rule)}"


@calls(dr(probes.bucket_region), "_key_deviations", primary(get_role))
def _rule_deviations(ctx: S3DrillContext, config: dict[str, Any], rule: dict[str, Any]) -> list[str]:
    target, found = ctx.target, []
    rule_name = f"replication rule {rule.get('ID')!r} of {target.source_bucket}"
    if rule.get("Status") != "Enabled":
        found.append(f"{rule_name} is {rule.get('Status')}: enable it")
    if not covers_canaries(rule):
        tags = " and tag filter" if rule_tags(rule) else ""
        found.append(f"{rule_name} filters on prefix {rule_prefix(rule)!r}{tags}, so it does not cover {CANARY_PREFIX}: "
                     f"widen its filter, or the drill cannot prove it replicates")
    destination = destination_bucket(rule)
    if destination != target.replica_bucket:
        found.append(f"{rule_name} replicates to {destination}, not {target.replica_bucket}: "
                     f"set its destination to arn:aws:s3:::{target.replica_bucket}")
    else:
        region = probes.bucket_region(ctx.s3_replica, target.replica_bucket)
        if region != ctx.dr_region:
            found.append(f"replica bucket {target.replica_bucket} is in {region}, not the DR region {ctx.dr_region}: "
                         f"replicate to a bucket in {ctx.dr_region}")
    selection = (rule.get("SourceSelectionCriteria") or {}).get("SseKmsEncryptedObjects")
    if _status(selection) != "Enabled":
        found.append(f"{rule_name} does not select SSE-KMS encrypted objects (SseKmsEncryptedObjects {_status(selection)}), "
                     f"so KMS-encrypted data is never replicated: enable SourceSelectionCriteria.SseKmsEncryptedObjects")
    found += _key_deviations(ctx, rule_name, rule)
    destination_settings = rule.get("Destination") or {}
    for setting, value, expected, remedy in (
        ("delete-marker replication", _status(rule.get("DeleteMarkerReplication")), target.expect.delete_marker_replication,
         "DeleteMarkerReplication"),
        ("Replication Time Control", _status(destination_settings.get("ReplicationTime")), target.expect.rtc,
         "Destination.ReplicationTime (15 minutes)"),
        ("replication metrics", _status(destination_settings.get("Metrics")), target.expect.metrics,
         "Destination.Metrics"),
    ):
        if (value == "Enabled") != expected:
            wanted = "Enabled" if expected else "Disabled"
            found.append(f"{setting} of {rule_name} is {value}, expected {wanted}: set {remedy} to {wanted}, "
                         f"or change the target's expect")
    role = str(config.get("Role", ""))
    if not role or get_role(ctx.clients("iam", ctx.primary_region), role.rsplit("/", 1)[-1]) is None:
        found.append(f"replication role {role or '(none)'} of {target.source_bucket} does not exist: create it, "
                     f"with permission to replicate to {target.replica_bucket}")
    return found


@calls(dr("_describe"))
def _key_deviations(ctx: S3DrillContext, rule_name: str, rule: dict[str, Any]) -> list[str]:
    """The replicas' key must be the named one, enabled, and in the DR region (keys are regional)."""
    target = ctx.target
    kms = ctx.clients("kms", ctx.dr_region)
    expected = _describe(kms, target.replica_kms_key)
    if expected is None:
        return [f"replica key {target.replica_kms_key} does not exist in the DR region {ctx.dr_region}: create it there, "
                "or name the DR-region key in the target's replica_kms_key"]
    found = []
    if expected["Arn"].split(":")[3] != ctx.dr_region:
        found.append(f"replica key {target.replica_kms_key} is in {expected['Arn'].split(':')[3]}, not the DR region "
                     f"{ctx.dr_region}: use a key in {ctx.dr_region}")
    if expected.get("KeyState") != "Enabled":
        found.append(f"replica key {target.replica_kms_key} in {ctx.dr_region} is {expected.get('KeyState')}: enable it, "
                     "or nothing can be replicated or read in the DR region")
    used = (rule.get("Destination") or {}).get("EncryptionConfiguration", {}).get("ReplicaKmsKeyID")
    if not used:
        found.append(f"{rule_name} names no replica key (ReplicaKmsKeyID), so SSE-KMS objects cannot replicate: "
                     f"set it to {expected['Arn']}")
    elif used not in (expected["Arn"], expected["KeyId"]):
        actual = _describe(kms, used) if not used.startswith("arn:") else None
        if actual is None or actual["Arn"] != expected["Arn"]:
            found.append(f"{rule_name} encrypts replicas with {used}, not the replica key {target.replica_kms_key} "
                         f"({expected['Arn']}): set ReplicaKmsKeyID to {expected['Arn']}, or correct the target")
    return found


@calls(describe_key)
def _describe(kms: Any, key: str) -> dict[str, Any] | None:
    try:
        return describe_key(kms, key)
    except kms.exceptions.NotFoundException:
        return None
