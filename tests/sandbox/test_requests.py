"""The lab's request log: what any client changed, by name, so tests can prove production untouched."""

from __future__ import annotations

from datetime import timedelta

import pytest
from moto.rds.models import rds_backends

from drtool.core.tagging import CANARY_PREFIX
from drtool.sandbox.seed import (
    ACCOUNT_ID,
    BILLING_DB,
    DR_REGION,
    DR_SUBNET_GROUP,
    ORDERS_DB,
    PRIMARY_REGION,
    SOURCE_BUCKET,
)
from tests.helpers import production_untouched


def test_every_mutating_request_is_recorded_with_its_targets_caller_and_world_time(lab, aws):
    rds, s3, kms = aws("rds", DR_REGION), aws("s3", PRIMARY_REGION), aws("kms", DR_REGION)
    start = lab.requests.position
    before = lab.clock.now()
    rds.describe_db_instances()  # reads are not kept
    rds.restore_db_instance_from_db_snapshot(
        DBInstanceIdentifier="drtool-0badc0de-orders-db", DBSnapshotIdentifier=lab.seeded.latest_snapshot(ORDERS_DB, DR_REGION),
        DBSubnetGroupName=DR_SUBNET_GROUP,
    )
    s3.put_object(Bucket=SOURCE_BUCKET, Key=f"{CANARY_PREFIX}probe", Body=b"1")
    s3.delete_objects(Bucket=SOURCE_BUCKET, Delete={"Objects": [{"Key": f"{CANARY_PREFIX}probe"}, {"Key": "exports/a.json"}]})
    kms.create_grant(KeyId="alias/dr-rds", GranteePrincipal="arn:aws:iam::123456789012:role/x", Operations=["Decrypt"],
                     Name="drtool-0badc0de-grant")
    kms.encrypt(KeyId="alias/dr-rds", Plaintext=b"not recorded: using a key does not change it")

    recorded = lab.requests.since(start)
    assert [(r.service, r.region, r.operation, r.targets, r.status) for r in recorded] == [
        ("rds", DR_REGION, "RestoreDBInstanceFromDBSnapshot", ("drtool-0badc0de-orders-db",), 200),
        ("s3", PRIMARY_REGION, "PutObject", (f"{SOURCE_BUCKET}/{CANARY_PREFIX}probe",), 200),
        ("s3", PRIMARY_REGION, "DeleteObjects", (f"{SOURCE_BUCKET}/{CANARY_PREFIX}probe", f"{SOURCE_BUCKET}/exports/a.json"), 200),
        ("kms", DR_REGION, "CreateGrant", ("drtool-0badc0de-grant",), 200),
    ]
    assert {r.caller for r in recorded} == {"testing"}
    assert all(before <= r.at <= lab.clock.now() for r in recorded)


@pytest.mark.parametrize("change", ["delete-instance", "copy-onto-production-name", "overwrite-object", "disable-key"])
def test_the_proof_names_a_request_that_touched_production(lab, aws, change):
    rds, s3, kms = aws("rds", PRIMARY_REGION), aws("s3", PRIMARY_REGION), aws("kms", DR_REGION)
    touch = {
        "delete-instance": lambda: rds.delete_db_instance(DBInstanceIdentifier=BILLING_DB, SkipFinalSnapshot=True),
        "copy-onto-production-name": lambda: rds.copy_db_snapshot(
            SourceDBSnapshotIdentifier=lab.seeded.latest_snapshot(BILLING_DB), TargetDBSnapshotIdentifier=BILLING_DB),
        "overwrite-object": lambda: s3.put_object(Bucket=SOURCE_BUCKET, Key="exports/orders.csv", Body=b"x"),
        "disable-key": lambda: kms.disable_key(KeyId=lab.seeded.key_arn("logs").split("/")[-1]),
    }[change]
    with pytest.raises(AssertionError, match="mutating requests named production resources") as failed:
        with production_untouched(lab):
            touch()
    named = {"delete-instance": BILLING_DB, "copy-onto-production-name": BILLING_DB,
             "overwrite-object": f"{SOURCE_BUCKET}/exports/orders.csv", "disable-key": lab.seeded.key_arn("logs").split("/")[-1]}
    assert named[change] in str(failed.value)


def test_the_proof_allows_drill_resources_and_the_worlds_own_backups(lab, aws):
    with production_untouched(lab):
        aws("s3", PRIMARY_REGION).put_object(Bucket=SOURCE_BUCKET, Key=f"{CANARY_PREFIX}probe", Body=b"1")
        aws("rds", DR_REGION).restore_db_instance_from_db_snapshot(
            DBInstanceIdentifier="drtool-0badc0de-orders-db", DBSnapshotIdentifier=lab.seeded.latest_snapshot(ORDERS_DB, DR_REGION),
            DBSubnetGroupName=DR_SUBNET_GROUP,
        )
        # A nightly backup window passes: new production snapshots are production working, not a change.
        lab.world.step_to(lab.world.now() + timedelta(days=1))


def test_the_proof_catches_a_change_that_no_request_names(lab):
    with pytest.raises(AssertionError, match="production resources changed") as failed:
        with production_untouched(lab):
            with lab.world.lock:  # a side effect inside the world, as a cascade would be
                rds_backends[ACCOUNT_ID][PRIMARY_REGION].databases[ORDERS_DB].status = "stopped"
    assert f"{PRIMARY_REGION} instance {ORDERS_DB}" in str(failed.value) and "available -> stopped" in str(failed.value)
