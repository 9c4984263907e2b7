"""`drtool plan` and `drtool permissions`: derived from declared calls, offline, and proven in the lab with IAM enforced.

What moto 5.2.5 can and cannot check (moto/iam/access_control.py, moto/core/responses.py):
- It evaluates identity policies only for the action of the request itself: `rds:RestoreDBInstanceFromDBSnapshot`
  is checked, but not the permissions AWS also demands of the caller behind it (rds:AddTagsToResource,
  kms:CreateGrant, secretsmanager:CreateSecret/TagResource).
- RDS, KMS and EC2 requests are authorized against the resource "*" (only IAM, STS AssumeRole, SQS and S3 name a
  resource), so a statement narrowed to ARNs never matches and denies. The proof therefore widens every Resource
  to "*"; the narrowing itself is checked here by unit tests only.
- Conditions are evaluated with no request context, which moto treats as satisfied: they neither help nor hurt.
- sts:GetCallerIdentity is always allowed (as in AWS, where it needs no permission).
- Its AccessDenied is an XML body even for JSON-protocol services (KMS): botocore then reports the code "403",
  not "AccessDenied"; drtool classifies any HTTP 403 as "could not run", so it is still an error (exit 3).
So the lab proves the action list is sufficient, and that each statement granting an action moto checks is needed.
"""

from __future__ import annotations

import ast
import copy
import inspect
import json
import types
from pathlib import Path
from typing import Any, Iterator

import boto3
import botocore.endpoint
import pytest
from typer.testing import CliRunner

from drtool.cli import app
from drtool.commands.permissions import (
    NEEDS_NO_GRANT,
    drill_policy,
    required_actions,
)
from drtool.commands.plan import build_plan
from drtool.core.operations import calls, dr, is_declared, reachable_operations
from drtool.core.registry import families
from drtool.drill.validate import check_drill_file
from drtool.families.rds_instance import recovery
from drtool.families.rds_instance import steps as rds_steps
from drtool.families.secret import replica as secret_replica
from drtool.families.secret import rotation as secret_rotation
from drtool.families.secret import steps as secret_steps
from drtool.sandbox.lab import Lab
from drtool.sandbox.seed import ACCOUNT_ID, DR_REGION, PRIMARY_REGION
from tests.helpers import (
    REPO,
    SANDBOX_DRILL,
    WIDE,
    DrillRunOutcome,
    drill_file,
    finish_drill,
    start_drill,
)

# 1 real second is 20 world minutes: one sandbox drill run takes a few seconds.
TIME_SCALE = 1200
ALWAYS_ALLOWED_BY_MOTO = {"sts:GetCallerIdentity"}

SANDBOX_PLAN = build_plan(check_drill_file(SANDBOX_DRILL))
SANDBOX_POLICY = drill_policy(check_drill_file(SANDBOX_DRILL), ACCOUNT_ID)
# The requests the drill really sends, so the only actions moto authorizes.
MOTO_CHECKED = {f"{call.service}:{call.api}" for call in SANDBOX_PLAN.calls()} - ALWAYS_ALLOWED_BY_MOTO


# Tests that take the `lab` fixture get one with IAM enforced.
pytestmark = pytest.mark.lab(time_scale=TIME_SCALE, enforce_iam=True)


def admin_client(lab: Lab, service: str, region: str = DR_REGION):
    env = lab.environment()
    return boto3.client(service, region_name=region, endpoint_url=lab.endpoint,
                        aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])


def for_moto(policy: dict[str, Any]) -> dict[str, Any]:
    """The policy as moto can evaluate it: every Resource widened to "*" (see the module docstring), and CloudWatch's
    actions also under "monitoring:", the name moto checks them by (the API's signing name, not IAM's prefix)."""
    widened = copy.deepcopy(policy)
    for statement in widened["Statement"]:
        statement["Resource"] = "*"
        statement["Action"] = [*statement["Action"], *(f"monitoring:{a.split(':', 1)[1]}" for a in statement["Action"] if a.startswith("cloudwatch:"))]
    return widened


def user_with_policy(lab: Lab, name: str, policy: dict[str, Any]) -> dict[str, str]:
    iam = admin_client(lab, "iam", PRIMARY_REGION)
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="drtool-drill", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


def run_drill_as(lab: Lab, tmp_path: Path, credentials: dict[str, str], *targets: str) -> DrillRunOutcome:
    """The sandbox drill (narrowed to `targets` if given) as a user with `credentials`, with objectives no load can
    breach at x1200: this proves permissions, not the RTO."""
    drill = drill_file(tmp_path, *targets, **WIDE)
    if not targets:
        assert drill_policy(check_drill_file(drill), ACCOUNT_ID) == SANDBOX_POLICY
    return finish_drill(start_drill(lab, tmp_path, drill=drill, env=credentials), tmp_path, timeout=120)


def targets_reaching(actions: set[str], per_kind: int = 2) -> list[str]:
    """Targets whose scenarios can reach `actions`, at most `per_kind` of each kind: the rest drill the same calls."""
    kinds = {name: target.kind for name, target in check_drill_file(SANDBOX_DRILL).drill.targets.items()}
    reaching = dict.fromkeys(s.target for s in SANDBOX_PLAN.scenarios if actions & {a for c in s.calls() for a in c.iam_actions})
    chosen: list[str] = []
    for name in reaching:
        if sum(kinds[other] == kinds[name] for other in chosen) < per_kind:
            chosen.append(name)
    return chosen


def junit_outcomes(outcome: DrillRunOutcome) -> dict[str, list[tuple[str, str]]]:
    """testcase name -> [(outcome tag, message)]."""
    assert outcome.junit is not None, outcome.output
    return {case.name: [(type(r).__name__.lower(), r.message or "") for r in case.result] for suite in outcome.junit for case in suite}


def leftovers_of(lab: Lab, outcome: DrillRunOutcome) -> list[str]:
    run_id = outcome.journal[0]["run_id"]
    rds = admin_client(lab, "rds")
    names = [i["DBInstanceIdentifier"] for i in rds.describe_db_instances()["DBInstances"]]
    names += [s["DBSnapshotIdentifier"] for s in rds.describe_db_snapshots()["DBSnapshots"]]
    return [name for name in names if name.startswith(f"drtool-{run_id}-")]


# --- the proof in the lab ------------------------------------------------------------------------


def test_the_lab_enforces_iam(lab):
    nobody = user_with_policy(lab, "drtool-test-nobody", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]})
    rds = boto3.client("rds", region_name=DR_REGION, endpoint_url=lab.endpoint,
                       aws_access_key_id=nobody["AWS_ACCESS_KEY_ID"], aws_secret_access_key=nobody["AWS_SECRET_ACCESS_KEY"])
    with pytest.raises(rds.exceptions.ClientError, match="AccessDenied"):
        rds.describe_db_instances()


def test_a_user_with_exactly_the_generated_policy_runs_the_sandbox_drill(lab, tmp_path):
    credentials = user_with_policy(lab, "drtool-drill-full", for_moto(SANDBOX_POLICY))
    outcome = run_drill_as(lab, tmp_path, credentials)
    assert outcome.exit_code == 0, outcome.output
    assert all(results == [] for results in junit_outcomes(outcome).values()), outcome.output
    assert leftovers_of(lab, outcome) == []


def _needed_by_moto(sid: str) -> set[str]:
    """Actions the drill sends that only this statement grants: removing it must deny them."""
    removed = next(s for s in SANDBOX_POLICY["Statement"] if s["Sid"] == sid)
    kept = {a for s in SANDBOX_POLICY["Statement"] if s["Sid"] != sid for a in s["Action"]}
    return (set(removed["Action"]) & MOTO_CHECKED) - kept


@pytest.mark.parametrize("sid", [statement["Sid"] for statement in SANDBOX_POLICY["Statement"]])
def test_without_any_one_statement_the_affected_scenarios_error_with_access_denied(lab, tmp_path, sid):
    denied = _needed_by_moto(sid)
    if not denied:
        pytest.skip(f"moto cannot show {sid} is needed: each of its actions is checked only behind an API call, "
                    "under another name (S3 maps APIs to actions its own way), or granted by another statement too")
    policy = for_moto(SANDBOX_POLICY)
    policy["Statement"] = [s for s in policy["Statement"] if s["Sid"] != sid]
    preflight_denied = denied & {a for c in SANDBOX_PLAN.preflight for a in c.iam_actions}
    # Only the targets the statement matters to: the full drill's run with every statement is the test above.
    targets = () if preflight_denied else targets_reaching(denied)
    outcome = run_drill_as(lab, tmp_path, user_with_policy(lab, f"drtool-drill-without-{sid.lower()}", policy), *targets)

    assert outcome.exit_code == 3, outcome.output
    cases = junit_outcomes(outcome)
    errors = {name: message for name, results in cases.items() for kind, message in results if kind == "error"}
    assert errors, outcome.output
    # S3 says only "Access Denied", so a message names the denied action, or an API that needs an action of the statement.
    removed = set(next(s for s in SANDBOX_POLICY["Statement"] if s["Sid"] == sid)["Action"])
    apis_needing = {c.api for c in SANDBOX_PLAN.calls() if removed & set(c.iam_actions)}
    for name, message in errors.items():
        named = any(action in message for action in denied) or any(f"{api}: " in message for api in apis_needing)
        assert ("AccessDenied" in message or "403" in message) and named, (name, message)
    # Only scenarios whose plan can reach a denied action may be affected.
    reaching = {s.target for s in SANDBOX_PLAN.scenarios if denied & {a for c in s.calls() for a in c.iam_actions}}
    assert all(preflight_denied or name.rsplit(" / ", 1)[-1] in reaching for name in errors), errors


# --- the policy itself ---------------------------------------------------------------------------


def test_the_sandbox_policy_covers_every_reachable_action_and_narrows_creates_and_deletes():
    granted = {action for s in SANDBOX_POLICY["Statement"] for action in s["Action"]}
    assert granted == required_actions(SANDBOX_PLAN) - NEEDS_NO_GRANT
    by_sid = {s["Sid"]: s for s in SANDBOX_POLICY["Statement"]}
    dr_arn = f"arn:aws:rds:{DR_REGION}:{ACCOUNT_ID}"
    assert by_sid["RestoreDrillInstance"]["Resource"] == [
        f"{dr_arn}:db:drtool-*", f"{dr_arn}:snapshot:*", f"{dr_arn}:subgrp:dr-restore-subnets"]
    assert by_sid["RestoreDrillInstance"]["Condition"] == {"StringEquals": {"aws:RequestTag/created-by": "drtool"}}
    assert by_sid["CopySnapshotToDrRegion"]["Resource"] == [
        f"{dr_arn}:snapshot:drtool-*", f"arn:aws:rds:{PRIMARY_REGION}:{ACCOUNT_ID}:snapshot:*"]
    assert by_sid["DeleteDrillInstances"] == {
        "Sid": "DeleteDrillInstances", "Effect": "Allow", "Action": ["rds:DeleteDBInstance"],
        "Resource": [f"{dr_arn}:db:drtool-*"], "Condition": {"StringEquals": {"aws:ResourceTag/created-by": "drtool"}}}
    assert by_sid["ReadDrKeysByAlias"]["Condition"] == {"ForAnyValue:StringEquals": {"kms:ResourceAliases": ["alias/dr-rds"]}}
    assert by_sid["ReadRdsState"]["Resource"] == "*"
    mutating = {a for c in SANDBOX_PLAN.calls() if c.mutating for a in c.iam_actions}
    assert all(s["Resource"] != "*" for s in SANDBOX_POLICY["Statement"] if set(s["Action"]) & mutating)


def test_a_key_named_by_arn_and_named_restore_groups_narrow_the_policy():
    policy = drill_policy(check_drill_file(REPO / "drills" / "example-production.yaml"), "123456789012")
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    key = "arn:aws:kms:us-west-2:123456789012:key/mrk-0123456789abcdef0123456789abcdef"
    assert by_sid["ReadDrKeys"]["Resource"] == [key] and "Condition" not in by_sid["ReadDrKeys"]
    assert by_sid["LetRdsUseDrKeys"]["Condition"]["StringEquals"] == {"kms:ViaService": "rds.us-west-2.amazonaws.com"}
    assert "arn:aws:rds:us-west-2:123456789012:pg:orders-pg16" in by_sid["RestoreDrillInstance"]["Resource"]
    assert "arn:aws:rds:us-west-2:123456789012:subgrp:customers-dr-subnets" in by_sid["RestoreDrillInstance"]["Resource"]


def test_every_action_an_operation_declares_for_the_step_library_is_scoped():
    reached = {a for step in (rds_steps.find_point, rds_steps.restore, rds_steps.wait_available,
                              rds_steps.encrypted, rds_steps.objectives_met)
               for op in reachable_operations(step) for a in op.spec.iam_actions}
    assert reached - NEEDS_NO_GRANT <= set(families().get("rds-instance").grants)
    reached = {a for step in (secret_steps.described, secret_steps.replica_in_sync, secret_steps.allowed_read,
                              secret_steps.denied_refused, secret_steps.rotation_read, secret_steps.rotation_judged)
               for op in reachable_operations(step) for a in op.spec.iam_actions}
    assert reached - NEEDS_NO_GRANT <= set(families().get("secret").grants)


# --- the CLI, offline ----------------------------------------------------------------------------


@pytest.fixture
def no_aws_calls(monkeypatch):
    sent = []
    monkeypatch.setattr(botocore.endpoint.Endpoint, "make_request", lambda self, *a, **k: sent.append(a) or pytest.fail("AWS was called"))
    return sent


def test_plan_lists_each_steps_calls_marks_mutating_ones_and_calls_no_aws(no_aws_calls):
    result = CliRunner().invoke(app, ["plan", str(SANDBOX_DRILL)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "MUTATING  rds:RestoreDBInstanceFromDBSnapshot" in out
    assert "MUTATING  rds:DeleteDBInstance" in out
    copy_line = next(line for line in out.splitlines() if "rds:CopyDBSnapshot" in line)
    assert copy_line.split()[0] == "MUTATING" and "only if no snapshot of the source instance is in the DR region" in copy_line
    assert "read      sts:GetCallerIdentity" in out and f"rds:DescribeDBInstances                {PRIMARY_REGION}" in out
    assert "rds-instance drtool-<run-id>-orders-db in eu-central-1" in out
    assert "rds-snapshot drtool-<run-id>-billing-db-copy in eu-central-1, only if" in out
    assert "db.t3.medium: about $0.068/h mysql, $0.072/h postgres" in out and "estimate" in out
    assert out.count("Scenario: ") == 28  # two databases, a bucket pair in four scenarios, four keys in five, a secret in two
    assert "kms:GenerateDataKey                    eu-central-1  as each allowed principal" in out
    assert no_aws_calls == []


def test_permissions_prints_the_same_policy_as_json_and_calls_no_aws(no_aws_calls):
    first = CliRunner().invoke(app, ["permissions", str(SANDBOX_DRILL), "--account-id", ACCOUNT_ID])
    second = CliRunner().invoke(app, ["permissions", str(SANDBOX_DRILL), "--account-id", ACCOUNT_ID])
    assert first.exit_code == 0, first.output
    assert first.output == second.output
    assert json.loads(first.output) == SANDBOX_POLICY
    wildcard_account = json.loads(CliRunner().invoke(app, ["permissions", str(SANDBOX_DRILL)]).output)
    assert "arn:aws:rds:eu-central-1:*:db:drtool-*" in json.dumps(wildcard_account)
    assert no_aws_calls == []


@pytest.mark.parametrize("command", ["plan", "permissions"])
def test_a_bad_drill_file_exits_2(tmp_path, command, no_aws_calls):
    bad = tmp_path / "bad.yaml"
    bad.write_text("drill: x\nprimary_region: eu-west-1\n")
    result = CliRunner().invoke(app, [command, str(bad)])
    assert result.exit_code == 2
    assert no_aws_calls == []


# --- declarations match the code -----------------------------------------------------------------


def undeclared_calls(module: types.ModuleType, source: str | None = None) -> list[str]:
    """Every declared operation or function a module's functions use without declaring it in @calls."""
    problems = []
    for node in ast.parse(source or inspect.getsource(module)).body:
        if not isinstance(node, ast.FunctionDef):
            continue
        func = getattr(module, node.name)
        used = {id(callee): name for name, callee in _declared_callees(node, module)}
        if not used:
            continue
        sites = getattr(func, "declared_calls", None)
        if sites is None:
            problems.append(f"{node.name} uses {', '.join(sorted(used.values()))} but has no @calls")
            continue
        declared = {id(func.__globals__[s.callee] if isinstance(s.callee, str) else s.callee) for s in sites}
        problems += [f"{node.name} uses {name} without declaring it" for key, name in used.items() if key not in declared]
    return problems


def _declared_callees(function: ast.FunctionDef, module: types.ModuleType) -> Iterator[tuple[str, Any]]:
    for node in ast.walk(function):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            owner = getattr(module, node.value.id, None)
            callee = getattr(owner, node.attr, None) if isinstance(owner, types.ModuleType) else None
            name = f"{node.value.id}.{node.attr}"
        elif isinstance(node, ast.Name) and node.id != function.name:
            callee, name = getattr(module, node.id, None), node.id
        else:
            continue
        if callable(callee) and not isinstance(callee, type) and is_declared(callee):
            yield name, callee


def test_every_operation_the_drill_logic_and_steps_use_is_declared():
    assert undeclared_calls(recovery) == []
    assert undeclared_calls(rds_steps) == []
    for module in (secret_replica, secret_rotation, secret_steps):
        assert undeclared_calls(module) == [], module.__name__


UNDECLARED_EXAMPLE = """
@calls(dr(probes.describe_instance))
def restore_and_check(rds):
    actions.delete_instance(rds, "x")
    return probes.describe_instance(rds, "x")

def forgot_to_declare(rds):
    return probes.describe_snapshot(rds, "x", "")
"""


def test_the_declaration_check_catches_an_undeclared_operation():
    module = types.ModuleType("drill_logic_under_test")
    module.__dict__.update(calls=calls, dr=dr, probes=recovery.probes, actions=recovery.actions)
    exec(compile(UNDECLARED_EXAMPLE, "drill_logic_under_test.py", "exec"), module.__dict__)
    assert undeclared_calls(module, UNDECLARED_EXAMPLE) == [
        "restore_and_check uses actions.delete_instance without declaring it",
        "forgot_to_declare uses probes.describe_snapshot but has no @calls",
    ]
