"""How the rds-instance family scopes the IAM actions it needs: drill-named instances and copies in the DR region."""

from __future__ import annotations

from drtool.core.grants import (
    DRILL_NAMES,
    REQUEST_TAGGED,
    RESOURCE_TAGGED,
    Condition,
    Grant,
    GrantRule,
    Scope,
    dr_keys,
    everywhere,
)


def rds_in_dr(scope: Scope, kind: str, name: str) -> str:
    return scope.arn("rds", scope.drill.dr_region, f"{kind}:{name}")


def restore_settings(scope: Scope, field: str) -> list[str]:
    values = (getattr(getattr(target, "restore", None), field, None) for target in scope.drill.targets.values())
    return sorted({value for value in values if value})


def _rds_uses_key(scope: Scope) -> Condition:
    # Grants only for RDS acting for the caller in the DR region (the restore and the copy).
    return {
        "StringEquals": {"kms:ViaService": f"rds.{scope.drill.dr_region}.amazonaws.com"},
        "Bool": {"kms:GrantIsForAWSResource": "true"},
    }


def _copy_snapshot(scope: Scope) -> list[Grant]:
    # RDS snapshot ARNs carry the snapshot's name, not its instance's, so the source cannot be
    # narrowed to the named source instances. botocore presigns the source-region request from
    # the same parameters, tags included, so the request-tag condition holds on both sides.
    source = scope.arn("rds", scope.drill.primary_region, "snapshot:*")
    return [Grant("CopySnapshotToDrRegion", (source, rds_in_dr(scope, "snapshot", DRILL_NAMES)), REQUEST_TAGGED)]


def _restore_instance(scope: Scope) -> list[Grant]:
    resources = [
        rds_in_dr(scope, "db", DRILL_NAMES),
        rds_in_dr(scope, "snapshot", "*"),  # the recovery point: any snapshot of the source in the DR region
        *(rds_in_dr(scope, "subgrp", name) for name in restore_settings(scope, "subnet_group")),
        *(rds_in_dr(scope, "pg", name) for name in restore_settings(scope, "parameter_group")),
        *(rds_in_dr(scope, "og", name) for name in restore_settings(scope, "option_group")),
    ]
    return [Grant("RestoreDrillInstance", tuple(resources), REQUEST_TAGGED)]


def _tag_drill_resources(scope: Scope) -> list[Grant]:
    resources = (rds_in_dr(scope, "db", DRILL_NAMES), rds_in_dr(scope, "snapshot", DRILL_NAMES))
    return [Grant("TagDrillResources", resources, REQUEST_TAGGED)]


def _managed_master_password(scope: Scope) -> list[Grant]:
    # RDS creates the master password secret as the caller; RDS names these secrets rds!<id>.
    return [Grant("StoreManagedMasterPassword", (scope.arn("secretsmanager", scope.drill.dr_region, "secret:rds!*"),))]


def _delete(sid: str, kind: str) -> GrantRule:
    return lambda scope: [Grant(sid, (rds_in_dr(scope, kind, DRILL_NAMES),), RESOURCE_TAGGED)]


GRANTS: dict[str, GrantRule] = {
    "rds:DescribeDBInstances": everywhere("ReadRdsState"),
    "rds:DescribeDBSnapshots": everywhere("ReadRdsState"),
    "rds:DescribeEvents": everywhere("ReadRdsState"),
    "ec2:DescribeSecurityGroups": everywhere("ResolveRestoreSecurityGroups"),
    "kms:DescribeKey": dr_keys("ReadDrKeys"),
    "kms:CreateGrant": dr_keys("LetRdsUseDrKeys", _rds_uses_key),
    "rds:CopyDBSnapshot": _copy_snapshot,
    "rds:RestoreDBInstanceFromDBSnapshot": _restore_instance,
    "rds:AddTagsToResource": _tag_drill_resources,
    "secretsmanager:CreateSecret": _managed_master_password,
    "secretsmanager:TagResource": _managed_master_password,
    "rds:DeleteDBInstance": _delete("DeleteDrillInstances", "db"),
    "rds:DeleteDBSnapshot": _delete("DeleteDrillSnapshotCopies", "snapshot"),
}
