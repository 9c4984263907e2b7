"""Operation metadata: each operation names its API and its IAM actions apart, and which region side it runs on.

The call graph below is test-local: an S3-canary-like drill that writes a canary in the primary region, removes it
there at teardown, and reads the replica in the DR region. The plan and the policy must follow it side by side.
"""

from __future__ import annotations

import importlib
from typing import Any

import botocore.session
import pytest

from drtool.commands.permissions import policy_for_plan
from drtool.commands.plan import DrillPlan, plan_scenario
from drtool.core.grants import Grant, Scope
from drtool.core.guard import coverage_problem
from drtool.core.leftovers import RemovalPhase
from drtool.core.operations import (
    DR,
    OPERATIONS,
    PRIMARY,
    calls,
    dr,
    operation,
    primary,
    reachable_operations,
)
from drtool.core.registry import FAMILIES_ENV, Family, FamilyRegistry, ResourceKind, families
from drtool.drill.file import drill_model
from drtool.drill.validate import check_drill_file
from drtool.sandbox.seed import ACCOUNT_ID, DR_REGION, PRIMARY_REGION
from tests.helpers import SANDBOX_DRILL, TOY_FAMILIES_ENV

# --- a small declared call graph -------------------------------------------------------------------


@operation("s3", "PutObject", iam=("s3:PutObject",), mutating=True)
def put_canary(s3: Any, bucket: str, key: str) -> None:
    """Write a canary object."""


@operation("s3", "DeleteObject", iam=("s3:DeleteObjectVersion",), mutating=True)
def delete_canary_version(s3: Any, bucket: str, key: str, version: str) -> None:
    """Delete one version of a canary for good."""


@operation("s3", "HeadObject", iam=("s3:GetObject",))
def head_replica(s3: Any, bucket: str, key: str) -> dict:
    """The replica's headers."""
    return {}


@calls(delete_canary_version)  # a bare callee runs in its caller's region: the teardown site says which
def remove_canary(s3: Any) -> None:
    pass


@calls(primary(put_canary), primary("remove_canary", teardown=True))
def write_canary(s3: Any) -> None:
    pass


@calls(dr(head_replica, only_if="the canary was written"))
def read_replica(s3: Any) -> None:
    pass


def canary_grants(sid: str):
    # S3 ARNs carry no region, so the region the action is used in becomes a condition.
    return lambda scope: [Grant(sid, ("arn:aws:s3:::orders-data/drtool-canary/*",),
                                {"StringEquals": {"aws:RequestedRegion": list(scope.regions)}})]


CANARY_FAMILY = FamilyRegistry([Family(
    kind="s3-canary",
    target_model=object,
    step_module=__name__,
    creates=(ResourceKind("s3-canary", "s3", find=None, remove=lambda *a: True, phase=RemovalPhase.OBJECTS,
                          created_by=put_canary.operation.name, cost=lambda target: "free"),),
    grants={"s3:PutObject": canary_grants("WriteCanaries"), "s3:DeleteObjectVersion": canary_grants("RemoveCanaries"),
            "s3:GetObject": canary_grants("ReadReplicas")},
)])


def test_reachable_operations_carry_the_region_side_and_teardown_of_their_call_site():
    reached = [(r.spec.api, r.region, r.teardown, r.path) for r in reachable_operations(write_canary)]
    assert reached == [
        ("PutObject", PRIMARY, False, ("write_canary", "put_canary")),
        ("DeleteObject", PRIMARY, True, ("write_canary", "remove_canary", "delete_canary_version")),
    ]
    [read] = reachable_operations(read_replica)
    assert (read.region, read.teardown, read.conditions) == (DR, False, ("the canary was written",))


def canary_plan() -> DrillPlan:
    drill = check_drill_file(SANDBOX_DRILL).drill
    scenario = plan_scenario(drill, "canary.feature", "Canary replicates", "orders-db", [
        ("Given", "each s3-canary target of the drill", None),
        ("When", "a canary is written", write_canary),
        ("Then", "it replicates", read_replica),
    ], registry=CANARY_FAMILY)
    return DrillPlan(drill, (), (scenario,))


def test_the_plan_shows_a_primary_region_teardown_in_the_primary_region():
    rendered = canary_plan().render()
    steps, teardown = rendered.split("Teardown, whatever the outcome", 1)
    teardown, creates = teardown.split("Creates", 1)
    calls = [line.split() for line in steps.splitlines() if line.startswith("    ") and "s3:" in line]
    assert calls == [["MUTATING", "s3:PutObject", PRIMARY_REGION],
                     ["read", "s3:HeadObject", DR_REGION, "only", "if", "the", "canary", "was", "written"]]
    assert "DeleteObject" not in steps, "a teardown call is listed under the teardown, not under its step"
    assert [line.split() for line in teardown.splitlines()[1:] if line.strip()] == [["MUTATING", "s3:DeleteObject", PRIMARY_REGION]]
    assert f"s3-canary drtool-<run-id>-orders-db in {PRIMARY_REGION}; free" in creates


def test_the_policy_grants_each_action_in_the_regions_the_plan_uses_it():
    policy = policy_for_plan(canary_plan(), ACCOUNT_ID, registry=CANARY_FAMILY)
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["RemoveCanaries"]["Action"] == ["s3:DeleteObjectVersion"], "IAM actions, not the API name DeleteObject"
    assert by_sid["RemoveCanaries"]["Condition"] == {"StringEquals": {"aws:RequestedRegion": [PRIMARY_REGION]}}
    assert by_sid["WriteCanaries"]["Condition"] == {"StringEquals": {"aws:RequestedRegion": [PRIMARY_REGION]}}
    assert by_sid["ReadReplicas"]["Condition"] == {"StringEquals": {"aws:RequestedRegion": [DR_REGION]}}


def test_scope_arns_follow_the_regions_an_action_is_used_in():
    scope = Scope(check_drill_file(SANDBOX_DRILL).drill, ACCOUNT_ID, (DR_REGION, PRIMARY_REGION))
    assert scope.arns("ssm", "parameter/drtool-*") == (
        f"arn:aws:ssm:{DR_REGION}:{ACCOUNT_ID}:parameter/drtool-*", f"arn:aws:ssm:{PRIMARY_REGION}:{ACCOUNT_ID}:parameter/drtool-*")


def test_an_operation_names_its_api_apart_from_its_iam_actions():
    with pytest.raises(ValueError, match="not an API name"):
        operation("rds", "rds:CopyDBSnapshot", iam=("rds:CopyDBSnapshot",))
    with pytest.raises(ValueError, match="non-empty tuple"):
        operation("rds", "CopyDBSnapshot", iam="rds:CopyDBSnapshot")


# --- every declared operation against botocore and the guard ---------------------------------------

DECLARING_MODULES = ("drtool.core.preflight", "drtool.services.rds.actions", "drtool.services.rds.probes",
                     "drtool.services.kms.probes", "drtool.services.s3.probes", "drtool.services.s3.actions",
                     "drtool.services.cloudwatch.probes", "drtool.services.iam.probes",
                     "drtool.services.secretsmanager.probes", "drtool.commands.cleanup",
                     "drtool.services.cloudwatch.publish", "drtool.services.sns.publish",
                     "tests.families.toy_ssm.family")


@pytest.fixture
def declared(monkeypatch) -> list:
    """Every operation drtool and the toy family declare (not this module's), with the toy family registered."""
    monkeypatch.setenv(FAMILIES_ENV, TOY_FAMILIES_ENV[FAMILIES_ENV])
    families.cache_clear()
    drill_model.cache_clear()
    modules = {importlib.import_module(name).__name__ for name in DECLARING_MODULES}
    yield [spec for spec in OPERATIONS.values() if spec.name.rsplit(".", 1)[0] in modules]
    families.cache_clear()
    drill_model.cache_clear()


def test_every_declared_api_is_an_api_of_its_service(declared):
    session = botocore.session.get_session()
    unknown = [f"{spec.name}: {spec.service}:{spec.api}" for spec in declared
               if spec.api not in session.get_service_model(spec.service).operation_names]
    assert unknown == []
    assert {spec.api for spec in declared if spec.name.endswith("s3.probes.key_versions")} == {"ListObjectVersions"}


def test_the_guard_agrees_with_every_declared_operation(declared):
    assert len(declared) > 20
    assert [problem for spec in declared if (problem := coverage_problem(spec))] == []


def test_the_guard_coverage_check_catches_a_misdeclared_operation():
    @operation("rds", "ModifyDBInstance", iam=("rds:ModifyDBInstance",), mutating=True)
    def modify(rds: Any) -> None:
        """Not something a drill does."""

    @operation("rds", "DeleteDBInstance", iam=("rds:DeleteDBInstance",))
    def sneaky_read(rds: Any) -> None:
        """A change declared as a read."""

    assert "no guard rule" in coverage_problem(modify.operation)
    assert "declared a read" in coverage_problem(sneaky_read.operation)


def test_every_guard_allow_rule_is_used_by_a_registered_familys_operations(declared) -> None:
    """No widening rule for something drtool does not do: each rule a family (or core) adds serves a declared operation."""
    from drtool.core.guard import RULES
    from drtool.core.registry import families

    rules = set(RULES) | {pair for family in families() for pair in family.guard_rules}
    used = {(spec.service, spec.api) for spec in declared if spec.mutating}
    assert sorted(rules - used) == []
