"""RDS calls that change the world. Each one creates or deletes only drill resources.

Callers own the names: these functions take the identifier to create, so the
caller can record its intent in the journal before the call leaves the process.
"""

from __future__ import annotations

from typing import Any

from drtool.core.operations import operation

__all__ = [
    "copy_snapshot",
    "restore_instance",
    "delete_instance",
    "delete_snapshot",
]


@operation(
    "rds", "CopyDBSnapshot", iam=("rds:CopyDBSnapshot", "rds:AddTagsToResource", "kms:CreateGrant", "kms:DescribeKey"), mutating=True
)
def copy_snapshot(
    rds: Any,
    *,
    source_arn: str,
    source_region: str,
    target_identifier: str,
    kms_key_id: str,
    tags: list[dict[str, str]],
    option_group: str | None = None,
) -> dict[str, Any]:
    """Copy a snapshot from another region into the client's region, encrypted with a key there."""
    params: dict[str, Any] = {
        "SourceDBSnapshotIdentifier": source_arn,
        "TargetDBSnapshotIdentifier": target_identifier,
        "KmsKeyId": kms_key_id,
        "SourceRegion": source_region,  # boto3 presigns the cross-region request from this
        "CopyTags": False,
        "Tags": tags,
    }
    if option_group:
        params["OptionGroupName"] = option_group
    return rds.copy_db_snapshot(**params)["DBSnapshot"]


@operation(
    "rds",
    "RestoreDBInstanceFromDBSnapshot",
    iam=(
        "rds:RestoreDBInstanceFromDBSnapshot",
        "rds:AddTagsToResource",
        "kms:CreateGrant",
        "kms:DescribeKey",
        "secretsmanager:CreateSecret",
        "secretsmanager:TagResource",
    ),
    mutating=True,
)
def restore_instance(
    rds: Any,
    *,
    identifier: str,
    snapshot: str,
    instance_class: str,
    subnet_group: str,
    security_group_ids: list[str],
    tags: list[dict[str, str]],
    parameter_group: str | None = None,
    option_group: str | None = None,
) -> dict[str, Any]:
    """Restore a snapshot as a new, private DB instance with an RDS-managed master password."""
    params: dict[str, Any] = {
        "DBInstanceIdentifier": identifier,
        "DBSnapshotIdentifier": snapshot,
        "DBInstanceClass": instance_class,
        "DBSubnetGroupName": subnet_group,
        "PubliclyAccessible": False,
        "MultiAZ": False,
        "AutoMinorVersionUpgrade": False,
        "DeletionProtection": False,
        "CopyTagsToSnapshot": False,
        "ManageMasterUserPassword": True,
        "Tags": tags,
    }
    if security_group_ids:
        params["VpcSecurityGroupIds"] = security_group_ids
    if parameter_group:
        params["DBParameterGroupName"] = parameter_group
    if option_group:
        params["OptionGroupName"] = option_group
    return rds.restore_db_instance_from_db_snapshot(**params)["DBInstance"]


def _delete_unless_gone(call: Any, missing: type[Exception], **params: Any) -> bool:
    """Make a delete call; False if AWS says the resource was already gone."""
    try:
        call(**params)
    except missing:
        return False
    return True


@operation("rds", "DeleteDBInstance", iam=("rds:DeleteDBInstance",), mutating=True)
def delete_instance(rds: Any, identifier: str) -> bool:
    """Delete a drill instance with no final snapshot; False if it was already gone."""
    return _delete_unless_gone(
        rds.delete_db_instance, rds.exceptions.DBInstanceNotFoundFault,
        DBInstanceIdentifier=identifier, SkipFinalSnapshot=True, DeleteAutomatedBackups=True,
    )


@operation("rds", "DeleteDBSnapshot", iam=("rds:DeleteDBSnapshot",), mutating=True)
def delete_snapshot(rds: Any, identifier: str) -> bool:
    """Delete a drill snapshot copy; False if it was already gone."""
    return _delete_unless_gone(rds.delete_db_snapshot, rds.exceptions.DBSnapshotNotFoundFault, DBSnapshotIdentifier=identifier)
