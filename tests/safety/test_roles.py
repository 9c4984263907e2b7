"""Clients per role: a step acting as another principal gets guarded, counted clients, with IAM enforced by the lab."""

from __future__ import annotations

import json

import boto3
import pytest

from drtool.core.guard import GuardRefused
from drtool.core.journal import read_journal
from drtool.core.run import DrillRun, TargetRun
from drtool.core.teardown import Teardown
from drtool.drill.validate import check_drill_file
from drtool.sandbox.lab import ADMIN_USER, Lab
from drtool.sandbox.seed import ACCOUNT_ID, DR_REGION, ORDERS_DB, PRIMARY_REGION
from tests.helpers import SANDBOX_DRILL

pytestmark = pytest.mark.lab(enforce_iam=True)

READER = "drtool-test-rds-reader"


def role_that_can_only_read_rds(lab: Lab) -> str:
    env = lab.environment()
    iam = boto3.client("iam", region_name=PRIMARY_REGION, endpoint_url=lab.endpoint,
                       aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
    # moto's trust check wants the caller's ARN exactly: the lab's admin user, as whom the drill runs here.
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:user/{ADMIN_USER}"}}]}
    role = iam.create_role(RoleName=READER, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=READER, PolicyName="read", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "rds:DescribeDBInstances", "Resource": "*"}]}))
    return role


@pytest.fixture
def target(lab, tmp_path, monkeypatch) -> TargetRun:
    """A scenario's view of the orders-db target in a real drill run (guard, call counts, journal) against the lab."""
    for name, value in lab.environment().items():
        monkeypatch.setenv(name, value)
    run = DrillRun.start(check_drill_file(SANDBOX_DRILL), tmp_path / "journal")
    yield TargetRun(run, "orders-db", run.drill.targets["orders-db"], "test", Teardown(run.journal, run.clock, scope="test"))
    run.journal.close()


def test_a_role_with_only_a_read_can_read_and_is_denied_a_write(lab, target):
    role = role_that_can_only_read_rds(lab)
    as_reader = target.as_role(role)
    assert as_reader is target.as_role(role), "one factory, one set of credentials, per role"

    production = as_reader.client("rds", PRIMARY_REGION).describe_db_instances()["DBInstances"]
    assert ORDERS_DB in {i["DBInstanceIdentifier"] for i in production}
    rds = as_reader.client("rds", DR_REGION)
    # A delete of what this run created passes the guard, so the refusal is IAM's: the drill's own principal gets NotFound.
    drill_named = f"drtool-{target.run.run_id}-orders-db"
    target.run.ownership.confirm("rds", DR_REGION, drill_named)
    with pytest.raises(rds.exceptions.ClientError) as denied:
        rds.delete_db_instance(DBInstanceIdentifier=drill_named, SkipFinalSnapshot=True)
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    own = target.client("rds", DR_REGION)
    with pytest.raises(own.exceptions.DBInstanceNotFoundFault):
        own.delete_db_instance(DBInstanceIdentifier=drill_named, SkipFinalSnapshot=True)

    identity = as_reader.client("sts", PRIMARY_REGION).get_caller_identity()
    assert identity["Arn"].startswith(f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{READER}/")


def test_the_guard_refuses_a_change_to_production_made_through_a_roles_client(lab, target):
    rds = target.as_role(role_that_can_only_read_rds(lab)).client("rds", PRIMARY_REGION)
    sent: list[str] = []
    rds.meta.events.register("before-send", lambda request, **kwargs: sent.append(request.url))

    with pytest.raises(GuardRefused, match="not a drill resource"):
        rds.delete_db_instance(DBInstanceIdentifier=ORDERS_DB, SkipFinalSnapshot=True)

    # production_untouched() reads with the lab's default keys, which IAM enforcement refuses: check directly.
    assert sent == [], "a refused call never leaves the process"
    [kept] = target.client("rds", PRIMARY_REGION).describe_db_instances(DBInstanceIdentifier=ORDERS_DB)["DBInstances"]
    assert kept["DBInstanceStatus"] == "available"
    refusals = [r for r in read_journal(target.run.journal.path) if r["event"] == "guard-refused"]
    assert [(r["operation"], r["region"]) for r in refusals] == [("DeleteDBInstance", PRIMARY_REGION)]


def test_api_call_counts_include_the_roles_calls(lab, target):
    role = role_that_can_only_read_rds(lab)
    before = target.run.api_stats.snapshot()["by_operation"]
    rds = target.as_role(role).client("rds", DR_REGION)
    rds.describe_db_instances()
    rds.describe_db_instances()
    target.as_role(role).client("rds", PRIMARY_REGION).describe_db_instances()

    after = target.run.api_stats.snapshot()["by_operation"]
    assert after.get("rds.DescribeDBInstances", 0) - before.get("rds.DescribeDBInstances", 0) == 3
    assert after.get("sts.AssumeRole", 0) - before.get("sts.AssumeRole", 0) == 1, "assumed once, through the drill's own counted client"
