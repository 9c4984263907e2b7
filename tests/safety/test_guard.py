"""The guard refuses every class of forbidden call before it leaves the process."""

from __future__ import annotations

import pytest

from drtool.core.guard import Guard, GuardRefused
from drtool.core.session import SessionFactory
from drtool.core.tagging import CANARY_PREFIX, drill_tags, resource_name
from drtool.sandbox.seed import (
    DR_REGION,
    ORDERS_DB,
    PRIMARY_REGION,
    REPLICA_BUCKET,
    SOURCE_BUCKET,
)
from tests.helpers import production_untouched

RUN_ID = "0badc0de"


@pytest.fixture
def guarded(lab, monkeypatch):
    """A guarded client factory against a fresh lab, and the list of requests that actually went out."""
    for name, value in lab.environment().items():
        monkeypatch.setenv(name, value)
    sent: list[str] = []
    factory = SessionFactory()
    guard = Guard(run_id=RUN_ID, dr_region=DR_REGION, lookup=factory.client)
    factory.add_client_hook(guard.attach)
    factory.add_client_hook(lambda client, service, region: client.meta.events.register("before-send", lambda request, **kw: sent.append(request.url)))
    return factory, sent


def refused(call, *args, **kwargs) -> str:
    with pytest.raises(GuardRefused) as caught:
        call(*args, **kwargs)
    return str(caught.value)


def snapshot_of_orders_db(factory) -> str:
    return factory.client("rds", DR_REGION).describe_db_snapshots(DBInstanceIdentifier=ORDERS_DB)["DBSnapshots"][0]["DBSnapshotIdentifier"]


def test_reads_pass(guarded):
    factory, sent = guarded
    assert factory.client("rds", PRIMARY_REGION).describe_db_instances()["DBInstances"]
    assert sent


def test_delete_aimed_at_production_never_leaves_the_process(lab, guarded):
    factory, sent = guarded
    dr_snapshot = snapshot_of_orders_db(factory)
    sent.clear()
    with production_untouched(lab):
        for region in (PRIMARY_REGION, DR_REGION):
            rds = factory.client("rds", region)
            assert "not a drill resource" in refused(rds.delete_db_instance, DBInstanceIdentifier=ORDERS_DB, SkipFinalSnapshot=True)
        assert "not a drill resource" in refused(
            factory.client("rds", DR_REGION).delete_db_snapshot, DBSnapshotIdentifier=dr_snapshot
        )
        assert "never changes" in refused(factory.client("rds", PRIMARY_REGION).modify_db_instance, DBInstanceIdentifier=ORDERS_DB, BackupRetentionPeriod=0)
    assert sent == []


def test_restore_must_be_new_tagged_and_named_for_this_run(lab, guarded):
    factory, sent = guarded
    rds = factory.client("rds", DR_REGION)
    snapshot = snapshot_of_orders_db(factory)
    name = resource_name(RUN_ID, ORDERS_DB)
    tags = drill_tags(RUN_ID, "test", ORDERS_DB, lab.clock.now())
    common = dict(DBSnapshotIdentifier=snapshot, DBInstanceClass="db.t3.medium", DBSubnetGroupName="dr-restore-subnets")

    assert "not named for this run" in refused(rds.restore_db_instance_from_db_snapshot, DBInstanceIdentifier=ORDERS_DB, Tags=tags, **common)
    assert "not named for this run" in refused(rds.restore_db_instance_from_db_snapshot, DBInstanceIdentifier=resource_name("feedface", ORDERS_DB), Tags=tags, **common)
    assert "without the tags" in refused(rds.restore_db_instance_from_db_snapshot, DBInstanceIdentifier=name, **common)
    primary = factory.client("rds", PRIMARY_REGION)
    assert "only in the DR region" in refused(primary.restore_db_instance_from_db_snapshot, DBInstanceIdentifier=name, Tags=tags, **common)
    restores_sent = len(sent)
    assert restores_sent == 1, "only the describe that found the snapshot went out"

    rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier=name, Tags=tags, **common)
    # The same name again collides with the instance that now exists.
    assert "already exists" in refused(rds.restore_db_instance_from_db_snapshot, DBInstanceIdentifier=name, Tags=tags, **common)
    instances = [i["DBInstanceIdentifier"] for i in rds.describe_db_instances()["DBInstances"]]
    assert instances.count(name) == 1


def test_s3_writes_only_under_the_canary_prefix(lab, guarded):
    factory, sent = guarded
    s3 = factory.client("s3", PRIMARY_REGION)
    before = {o["Key"] for o in s3.list_objects_v2(Bucket=SOURCE_BUCKET).get("Contents", [])}
    sent.clear()
    assert "only under" in refused(s3.put_object, Bucket=SOURCE_BUCKET, Key="exports/orders.csv", Body=b"x")
    assert "only under" in refused(s3.delete_objects, Bucket=SOURCE_BUCKET, Delete={"Objects": [{"Key": f"{CANARY_PREFIX}a"}, {"Key": "orders.csv"}]})
    assert "never changes" in refused(s3.put_bucket_policy, Bucket=SOURCE_BUCKET, Policy="{}")
    assert "never changes" in refused(s3.delete_bucket, Bucket=REPLICA_BUCKET)
    assert sent == []
    s3.put_object(Bucket=SOURCE_BUCKET, Key=f"{CANARY_PREFIX}{RUN_ID}/probe", Body=b"canary")
    after = {o["Key"] for o in s3.list_objects_v2(Bucket=SOURCE_BUCKET).get("Contents", [])}
    # The world's own application writes its exports meanwhile; of what the guarded client sent, only the canary landed.
    assert "exports/orders.csv" not in after
    assert {key for key in after - before if key.startswith(CANARY_PREFIX)} == {f"{CANARY_PREFIX}{RUN_ID}/probe"}


def test_changes_to_keys_and_policies_are_refused(lab, guarded):
    factory, sent = guarded
    kms = factory.client("kms", DR_REGION)
    key = kms.describe_key(KeyId="alias/dr-rds")["KeyMetadata"]["KeyId"]
    policy = kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"]
    sent.clear()
    with production_untouched(lab):
        assert "never changes" in refused(kms.put_key_policy, KeyId=key, PolicyName="default", Policy="{}")
        assert "never changes" in refused(kms.disable_key, KeyId=key)
        assert "never changes" in refused(kms.schedule_key_deletion, KeyId=key, PendingWindowInDays=7)
        assert "never changes" in refused(kms.update_alias, AliasName="alias/dr-rds", TargetKeyId=key)
        assert "never changes" in refused(kms.create_grant, KeyId=key, GranteePrincipal="arn:aws:iam::123456789012:role/x", Operations=["Decrypt"], Name="ops-grant")
        assert "never changes" in refused(factory.client("iam", PRIMARY_REGION).put_role_policy, RoleName="r", PolicyName="p", PolicyDocument="{}")
    assert sent == []
    assert kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"] == policy


def test_drill_runs_record_refusals_in_the_journal(lab, guarded, tmp_path):
    from drtool.core.journal import read_journal
    from drtool.core.results import summarize
    from drtool.core.run import DrillRun
    from drtool.drill.validate import check_drill_file
    from tests.helpers import SANDBOX_DRILL

    run = DrillRun.start(check_drill_file(SANDBOX_DRILL), tmp_path)
    with pytest.raises(GuardRefused):
        run.aws.client("rds", PRIMARY_REGION).delete_db_instance(DBInstanceIdentifier=ORDERS_DB, SkipFinalSnapshot=True)
    refusals = [r for r in read_journal(run.journal.path) if r["event"] == "guard-refused"]
    assert refusals and refusals[0]["operation"] == "DeleteDBInstance"
    [refusal] = summarize(read_journal(run.journal.path)).guard_refusals
    assert (refusal.service, refusal.region) == ("rds", PRIMARY_REGION) and ORDERS_DB in refusal.reason


def test_a_grant_named_for_this_run_on_a_production_key_is_refused(lab, guarded):
    """Issue 16 part 2: drtool creates no grants, so no name makes CreateGrant pass."""
    factory, sent = guarded
    kms = factory.client("kms", DR_REGION)
    key = kms.describe_key(KeyId="alias/dr-rds")["KeyMetadata"]["KeyId"]
    position = lab.requests.position
    with production_untouched(lab):
        assert "never changes" in refused(kms.create_grant, KeyId=key, Name=f"drtool-{RUN_ID}-x",
                                          GranteePrincipal="arn:aws:iam::123456789012:role/analytics-readonly",
                                          Operations=["Decrypt", "CreateGrant"])
    assert [r for r in lab.requests.since(position) if "CreateGrant" in str(r)] == []
    assert kms.list_grants(KeyId=key)["Grants"] == [] or all(g.get("Name") != f"drtool-{RUN_ID}-x" for g in kms.list_grants(KeyId=key)["Grants"])


@pytest.mark.parametrize("tags", [[], [{"Key": "created-by", "Value": "drtool"}, {"Key": "drtool:run-id", "Value": "other"}]],
                         ids=["untagged", "other-run"])
def test_a_drill_named_instance_this_run_did_not_create_is_never_deleted(lab, guarded, tags):
    """Issue 16 part 1: a name prefix alone never proves ownership; the tags read back from AWS must name this run."""
    from tests.helpers import client

    factory, sent = guarded
    name = f"drtool-{RUN_ID}-orders-db"
    client(lab, "rds", DR_REGION).create_db_instance(DBInstanceIdentifier=name, DBInstanceClass="db.t3.micro", Engine="postgres",
                                                     MasterUsername="u", MasterUserPassword="password1", Tags=tags)
    position = lab.requests.position
    reason = refused(factory.client("rds", DR_REGION).delete_db_instance, DBInstanceIdentifier=name, SkipFinalSnapshot=True)
    assert "is not tagged created-by=drtool" in reason or "belongs to run 'other'" in reason
    assert [str(r) for r in lab.requests.since(position) if "DeleteDBInstance" in str(r)] == []
    assert client(lab, "rds", DR_REGION).describe_db_instances(DBInstanceIdentifier=name)["DBInstances"]
