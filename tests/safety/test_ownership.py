"""Issue 16 part 1: a drill deletes only what it created, never a drill-named resource that merely looks like its own.

A fixed run id (a CI pipeline id, a retried job) makes this run's names collide with resources that already exist:
an untagged one, or another attempt's (tagged created-by=drtool with another drtool:run-id). The guard refuses the
create ("already exists"), and teardown must then leave the resource: the request log proves nothing was sent to it.
"""

from __future__ import annotations

import sys

import pytest

from drtool.sandbox.seed import BILLING_DB, DR_REGION, DR_SUBNET_GROUP, ORDERS_DB, PRIMARY_REGION
from tests.helpers import client, drill_file, finish_drill, start_drill

RUN_ID = "prod1"
OTHER_RUN = [{"Key": "created-by", "Value": "drtool"}, {"Key": "drtool:run-id", "Value": "other"}]
# An earlier attempt of the same pipeline: tagged exactly as this run tags, so only the refused create tells them apart.
EARLIER_ATTEMPT = [{"Key": "created-by", "Value": "drtool"}, {"Key": "drtool:run-id", "Value": RUN_ID}]


def preexisting_instance(lab, tags) -> str:
    name = f"drtool-{RUN_ID}-{ORDERS_DB}"
    client(lab, "rds", DR_REGION).restore_db_instance_from_db_snapshot(
        DBInstanceIdentifier=name, DBSnapshotIdentifier=lab.seeded.latest_snapshot(ORDERS_DB, DR_REGION),
        DBInstanceClass="db.t3.medium", DBSubnetGroupName=DR_SUBNET_GROUP, Tags=tags)
    return name


def preexisting_copy(lab, tags) -> str:
    name = f"drtool-{RUN_ID}-{BILLING_DB}-copy"
    source = client(lab, "rds", PRIMARY_REGION).describe_db_snapshots(
        DBSnapshotIdentifier=lab.seeded.latest_snapshot(BILLING_DB))["DBSnapshots"][0]
    client(lab, "rds", DR_REGION).copy_db_snapshot(
        SourceDBSnapshotIdentifier=source["DBSnapshotArn"], TargetDBSnapshotIdentifier=name, SourceRegion=PRIMARY_REGION,
        KmsKeyId=lab.seeded.key_arn("rds"), Tags=tags)
    return name


def run_with_fixed_id(lab, tmp_path, target: str):
    command = (sys.executable, "-m", "pytest", "--drill", str(drill_file(tmp_path, target, rto="4h", rpo="48h")),
               "--drill-run-id", RUN_ID, "--drill-junit", str(tmp_path / "junit.xml"), "-p", "no:cacheprovider", "-q")
    return finish_drill(start_drill(lab, tmp_path, command=command), tmp_path)


def mutations_naming(lab, position: int, name: str) -> list[str]:
    return [str(r) for r in lab.requests.since(position) if name in r.targets and not r.operation.startswith(("Describe", "List"))]


@pytest.mark.parametrize("tags", [[], OTHER_RUN, EARLIER_ATTEMPT], ids=["untagged", "another-runs", "an-earlier-attempts"])
@pytest.mark.parametrize("kind", ["instance", "snapshot-copy"])
def test_a_colliding_drill_name_is_an_error_and_the_resource_is_left(lab, tmp_path, kind, tags):
    if kind == "instance":
        name, target, exists = preexisting_instance(lab, tags), ORDERS_DB, "describe_db_instances"
        params = {"DBInstanceIdentifier": name}
    else:
        name, target, exists = preexisting_copy(lab, tags), BILLING_DB, "describe_db_snapshots"
        params = {"DBSnapshotIdentifier": name}
    position = lab.requests.position

    outcome = run_with_fixed_id(lab, tmp_path, target)

    # Could not run: pytest exits 1 for any unsuccessful test, and the scenario is an error, not a failure.
    assert outcome.exit_code != 0, outcome.output
    [case] = [case for suite in outcome.junit for case in suite]
    assert case.result[0]._tag == "error" and "already exists" in case.result[0].message
    assert mutations_naming(lab, position, name) == []
    assert getattr(client(lab, "rds", DR_REGION), exists)(**params)
    left = [r for r in outcome.journal if r["event"] == "resource-deleted" and r.get("identifier") == name]
    assert left and all(r.get("unconfirmed") for r in left)
