"""Issue 16 part 1: a drill deletes only what it created, never a drill-named resource that merely looks like its own.

A fixed run id (a CI pipeline id, a retried job) makes this run's names collide with resources that already exist:
an untagged one, or another attempt's (tagged created-by=drtool with another drtool:run-id). The guard refuses the
create ("already exists"), and teardown must then leave the resource: the request log proves nothing was sent to it.
"""

from __future__ import annotations

import sys

import pytest

from drtool.sandbox.seed import BILLING_DB, DR_REGION, DR_SUBNET_GROUP, ORDERS_DB, PRIMARY_REGION, SOURCE_BUCKET
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


class AnswerLost(KeyboardInterrupt):
    """Ctrl-C or the budget, arriving after S3 made the object and before the run read the answer."""


@pytest.mark.parametrize("size", [1024, 8 * 1024 * 1024], ids=["put-object", "multipart"])
def test_a_canary_whose_write_answer_was_lost_is_still_torn_down_on_both_sides(lab, tmp_path, monkeypatch, size):
    from drtool.core.clock import clock_from_environment
    from drtool.core.guard import Guard
    from drtool.core.journal import Journal
    from drtool.core.ownership import Ownership
    from drtool.core.session import SessionFactory
    from drtool.core.teardown import Teardown
    from drtool.families.s3_replication.canary import CANARY, write_canaries
    from drtool.families.s3_replication.context import S3DrillContext
    from tests.families.test_s3_replication import canaries, sandbox_target

    for name, value in lab.environment().items():
        monkeypatch.setenv(name, value)
    factory, ownership = SessionFactory(), Ownership()
    factory.add_client_hook(Guard(run_id=RUN_ID, dr_region=DR_REGION, lookup=factory.client, ownership=ownership).attach)
    committing_call = "PutObject" if size < 8 * 1024 * 1024 else "CompleteMultipartUpload"

    def lose_the_answer(**kwargs):
        raise AnswerLost()

    factory.add_client_hook(lambda client, service, region: client.meta.events.register(f"after-call.s3.{committing_call}", lose_the_answer))
    clock = clock_from_environment()
    journal = Journal(tmp_path / "journal.jsonl", RUN_ID, clock)
    teardown = Teardown(journal, clock, "canary", ownership)
    target = sandbox_target()
    target = target.model_copy(update={"canary": target.canary.model_copy(update={"count": 1, "sizes": [size]})})
    ctx = S3DrillContext(name="orders-data", target=target, clients=factory.client, primary_region=PRIMARY_REGION,
                         dr_region=DR_REGION, clock=clock, emit=journal.emit, teardown=teardown, run_id=RUN_ID, drill_name="sandbox")

    with pytest.raises(AnswerLost):
        write_canaries(ctx)
    written = canaries(lab)
    assert f"{SOURCE_BUCKET}/drtool-canary/{RUN_ID}/" in written[0], written
    assert not teardown.pending[0].confirmed

    teardown.run()

    assert canaries(lab) == []
    deleted = [r for r in journal.records if r["event"] == "resource-deleted" and r["kind"] == CANARY]
    assert deleted and deleted[0]["existed"] and not deleted[0].get("unconfirmed")
