"""The rds-instance family: restore an RDS database's newest recoverable point in the DR region, and judge RTO and RPO."""

from __future__ import annotations

from functools import partial

from drtool.core.guard import (
    RDS_INSTANCE_EXISTS,
    RDS_INSTANCE_TAGS,
    RDS_SNAPSHOT_EXISTS,
    RDS_SNAPSHOT_TAGS,
    create_in_dr,
    delete_drill_resource,
)
from drtool.core.leftovers import RemovalPhase
from drtool.core.registry import Family, PreflightProbe, ResourceKind
from drtool.families.rds_instance.events import RESULT_HANDLERS, InstanceAvailable, RecoveryStarted, SnapshotCopied
from drtool.families.rds_instance.grants import GRANTS
from drtool.families.rds_instance.recovery import remove_instance, remove_snapshot
from drtool.families.rds_instance.target import RdsInstanceTarget
from drtool.services.rds import actions
from drtool.services.rds.leftovers import INSTANCES, SNAPSHOTS, rds_leftovers

# Rough on-demand, single-AZ prices in USD per hour, us-east-1, as listed on
# aws.amazon.com/rds/mysql/pricing and /rds/postgresql/pricing (recalled in
# 2026-11, not fetched by drtool). An estimate only: other regions cost more
# (often 10-25%), and Oracle and SQL Server are not listed ("unknown").
PRICE_SOURCE = "estimate: us-east-1 on-demand single-AZ list price, 2026-11"
HOURLY_USD: dict[str, dict[str, float]] = {
    # class:          MySQL/MariaDB, PostgreSQL
    "db.t3.micro": {"mysql": 0.017, "postgres": 0.018},
    "db.t3.small": {"mysql": 0.034, "postgres": 0.036},
    "db.t3.medium": {"mysql": 0.068, "postgres": 0.072},
    "db.t3.large": {"mysql": 0.136, "postgres": 0.145},
    "db.t4g.micro": {"mysql": 0.016, "postgres": 0.016},
    "db.t4g.small": {"mysql": 0.032, "postgres": 0.032},
    "db.t4g.medium": {"mysql": 0.065, "postgres": 0.065},
    "db.m5.large": {"mysql": 0.171, "postgres": 0.178},
    "db.m6g.large": {"mysql": 0.152, "postgres": 0.159},
    "db.r5.large": {"mysql": 0.240, "postgres": 0.250},
    "db.r6g.large": {"mysql": 0.215, "postgres": 0.225},
}


def hourly_cost(instance_class: str) -> str:
    """The engine is the source instance's, unknown offline, so give the range over engine families."""
    prices = HOURLY_USD.get(instance_class)
    if prices is None:
        return f"{instance_class}: hourly cost unknown"
    parts = ", ".join(f"${price:.3f}/h {family}" for family, price in prices.items())
    return f"{instance_class}: about {parts}; other engines unknown ({PRICE_SOURCE})"


def instance_cost(target: RdsInstanceTarget) -> str:
    return hourly_cost(target.restore.instance_class)


def snapshot_cost(target: RdsInstanceTarget) -> str:
    return "snapshot storage, billed per GB-month: not estimated"


FAMILY = Family(
    kind="rds-instance",
    target_model=RdsInstanceTarget,
    step_module="drtool.families.rds_instance.steps",
    features=("rds_restore.feature",),
    preflight=(PreflightProbe("rds", "describe_db_instances", {"MaxRecords": 20}),),
    creates=(
        ResourceKind(
            "rds-instance", "rds", phase=RemovalPhase.INSTANCES, created_by=actions.restore_instance.operation.name, cost=instance_cost,
            find=partial(rds_leftovers, INSTANCES),
            remove=lambda rds, leftover, clock: remove_instance(rds, leftover.identifier, clock),
        ),
        ResourceKind(
            "rds-snapshot", "rds", phase=RemovalPhase.SNAPSHOTS, created_by=actions.copy_snapshot.operation.name, name_suffix="copy",
            cost=snapshot_cost, find=partial(rds_leftovers, SNAPSHOTS),
            remove=lambda rds, leftover, clock: remove_snapshot(rds, leftover.identifier, clock),
        ),
    ),
    grants=GRANTS,
    guard_rules={
        ("rds", "RestoreDBInstanceFromDBSnapshot"): create_in_dr("DBInstanceIdentifier", RDS_INSTANCE_EXISTS),
        ("rds", "CopyDBSnapshot"): create_in_dr("TargetDBSnapshotIdentifier", RDS_SNAPSHOT_EXISTS),
        ("rds", "DeleteDBInstance"): delete_drill_resource("DBInstanceIdentifier", RDS_INSTANCE_TAGS),
        ("rds", "DeleteDBSnapshot"): delete_drill_resource("DBSnapshotIdentifier", RDS_SNAPSHOT_TAGS),
    },
    figures=("RTO", "RPO"),
    events=(RecoveryStarted, SnapshotCopied, InstanceAvailable),
    result_handlers=RESULT_HANDLERS,
    remedies={
        "DBSubnetGroupNotFoundFault": "create the DB subnet group in {region}, or name an existing one in the target's restore.subnet_group",
        "DBParameterGroupNotFound": "create the DB parameter group in {region}, or correct the target's restore.parameter_group",
        "OptionGroupNotFoundFault": "copy the snapshot's option group to {region}, and name it in the target's restore.option_group",
        "InvalidVPCNetworkStateFault": "give the DR subnet group subnets in at least two availability zones of {region}",
        "InsufficientDBInstanceCapacity": "choose an instance class that {region} has capacity for in restore.instance_class, or retry later",
        "KMSKeyNotAccessibleFault": "enable the DR key in {region} and let RDS and the drill's role use it",
        "InstanceQuotaExceeded": "raise the DB instance quota in {region}, or remove unused instances",
        "StorageQuotaExceeded": "raise the RDS storage quota in {region}, or remove unused storage",
        "SnapshotQuotaExceeded": "raise the manual snapshot quota in {region}, or delete old manual snapshots",
    },
)
