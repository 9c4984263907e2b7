"""`drtool permissions`: the least-privilege IAM policy a drill needs, derived from its plan.

The actions are the union of what every operation its scenarios can reach
declares (`@operation(...)`), so they follow the code. This module adds what
the code cannot say: which resources each action may touch and under which
condition. `GRANTS` maps every IAM action to the statement(s) that allow it;
a reachable action without an entry is an error, never a silent `*`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

from drtool.commands.plan import DrillPlan, build_plan
from drtool.core.tagging import CREATED_BY_KEY, CREATED_BY_VALUE, NAME_PREFIX
from drtool.drill.file import Drill, LoadedDrill

POLICY_VERSION = "2012-10-17"
# AWS answers GetCallerIdentity for every caller, even under an explicit Deny: it needs no grant.
NEEDS_NO_GRANT = frozenset({"sts:GetCallerIdentity"})

Condition = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Scope:
    """What resource ARNs are built from: the drill's regions and names, and the account."""

    drill: Drill
    account: str

    def partition(self, region: str) -> str:
        if region.startswith("cn-"):
            return "aws-cn"
        if region.startswith("us-gov-"):
            return "aws-us-gov"
        return "aws"

    def arn(self, service: str, region: str, resource: str) -> str:
        return f"arn:{self.partition(region)}:{service}:{region}:{self.account}:{resource}"

    def rds_in_dr(self, kind: str, name: str) -> str:
        return self.arn("rds", self.drill.dr_region, f"{kind}:{name}")

    def restore_settings(self, field: str) -> list[str]:
        values = (getattr(target.restore, field, None) for target in self.drill.targets.values())
        return sorted({value for value in values if value})

    def dr_keys(self) -> tuple[list[str], list[str]]:
        """(key ARNs, alias names) of the targets' DR keys, as the drill file names them."""
        arns, aliases = set(), set()
        for target in self.drill.targets.values():
            key = getattr(target, "dr_kms_key", None)
            if not key:
                continue
            if key.startswith("alias/"):
                aliases.add(key)
            elif key.startswith("arn:") and ":alias/" in key:
                aliases.add("alias/" + key.split(":alias/", 1)[1])
            elif key.startswith("arn:"):
                arns.add(key)
            else:
                arns.add(self.arn("kms", self.drill.dr_region, f"key/{key}"))
        return sorted(arns), sorted(aliases)


@dataclass(frozen=True)
class Grant:
    sid: str
    resources: tuple[str, ...]
    condition: Condition | None = None


GrantRule = Callable[[Scope], list[Grant]]

REQUEST_TAGGED: Condition = {"StringEquals": {f"aws:RequestTag/{CREATED_BY_KEY}": CREATED_BY_VALUE}}
RESOURCE_TAGGED: Condition = {"StringEquals": {f"aws:ResourceTag/{CREATED_BY_KEY}": CREATED_BY_VALUE}}
DRILL_NAMES = f"{NAME_PREFIX}*"


def _everywhere(sid: str) -> GrantRule:
    # Listing and filtered describes cannot be narrowed to a resource.
    return lambda scope: [Grant(sid, ("*",))]


def _dr_keys(sid: str, condition: Callable[[Scope], Condition] | None = None) -> GrantRule:
    """The DR keys; a key named by alias can only be matched through the kms:ResourceAliases condition."""

    def rule(scope: Scope) -> list[Grant]:
        extra = condition(scope) if condition else {}
        arns, aliases = scope.dr_keys()
        grants = []
        if arns:
            grants.append(Grant(sid, tuple(arns), extra or None))
        if aliases:
            by_alias = {"ForAnyValue:StringEquals": {"kms:ResourceAliases": aliases}, **extra}
            grants.append(Grant(f"{sid}ByAlias", (scope.arn("kms", scope.drill.dr_region, "key/*"),), by_alias))
        return grants

    return rule


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
    return [Grant("CopySnapshotToDrRegion", (source, scope.rds_in_dr("snapshot", DRILL_NAMES)), REQUEST_TAGGED)]


def _restore_instance(scope: Scope) -> list[Grant]:
    resources = [
        scope.rds_in_dr("db", DRILL_NAMES),
        scope.rds_in_dr("snapshot", "*"),  # the recovery point: any snapshot of the source in the DR region
        *(scope.rds_in_dr("subgrp", name) for name in scope.restore_settings("subnet_group")),
        *(scope.rds_in_dr("pg", name) for name in scope.restore_settings("parameter_group")),
        *(scope.rds_in_dr("og", name) for name in scope.restore_settings("option_group")),
    ]
    return [Grant("RestoreDrillInstance", tuple(resources), REQUEST_TAGGED)]


def _tag_drill_resources(scope: Scope) -> list[Grant]:
    resources = (scope.rds_in_dr("db", DRILL_NAMES), scope.rds_in_dr("snapshot", DRILL_NAMES))
    return [Grant("TagDrillResources", resources, REQUEST_TAGGED)]


def _managed_master_password(scope: Scope) -> list[Grant]:
    # RDS creates the master password secret as the caller; RDS names these secrets rds!<id>.
    return [Grant("StoreManagedMasterPassword", (scope.arn("secretsmanager", scope.drill.dr_region, "secret:rds!*"),))]


def _delete(sid: str, kind: str) -> GrantRule:
    return lambda scope: [Grant(sid, (scope.rds_in_dr(kind, DRILL_NAMES),), RESOURCE_TAGGED)]


GRANTS: dict[str, GrantRule] = {
    "rds:DescribeDBInstances": _everywhere("ReadRdsState"),
    "rds:DescribeDBSnapshots": _everywhere("ReadRdsState"),
    "rds:DescribeEvents": _everywhere("ReadRdsState"),
    "ec2:DescribeSecurityGroups": _everywhere("ResolveRestoreSecurityGroups"),
    "kms:DescribeKey": _dr_keys("ReadDrKeys"),
    "kms:CreateGrant": _dr_keys("LetRdsUseDrKeys", _rds_uses_key),
    "rds:CopyDBSnapshot": _copy_snapshot,
    "rds:RestoreDBInstanceFromDBSnapshot": _restore_instance,
    "rds:AddTagsToResource": _tag_drill_resources,
    "secretsmanager:CreateSecret": _managed_master_password,
    "secretsmanager:TagResource": _managed_master_password,
    "rds:DeleteDBInstance": _delete("DeleteDrillInstances", "db"),
    "rds:DeleteDBSnapshot": _delete("DeleteDrillSnapshotCopies", "snapshot"),
}


class UnscopedAction(LookupError):
    """A reachable IAM action has no entry in GRANTS."""


def required_actions(plan: DrillPlan) -> set[str]:
    return {action for call in plan.calls() for action in call.iam_actions}


def policy_for_plan(plan: DrillPlan, account: str = "*") -> dict[str, Any]:
    scope = Scope(plan.drill, account)
    statements: dict[str, dict[str, Any]] = {}
    for action in sorted(required_actions(plan) - NEEDS_NO_GRANT):
        rule = GRANTS.get(action)
        if rule is None:
            raise UnscopedAction(f"{action} is reachable by the drill but drtool.commands.permissions.GRANTS does not scope it")
        for grant in rule(scope):
            statement = statements.setdefault(
                grant.sid, {"Sid": grant.sid, "Effect": "Allow", "Action": set(), "Resource": set(), "Condition": grant.condition}
            )
            if statement["Condition"] != grant.condition:
                raise ValueError(f"statement {grant.sid} is given two different conditions")
            statement["Action"].add(action)
            statement["Resource"].update(grant.resources)
    return {"Version": POLICY_VERSION, "Statement": [_finished(statements[sid]) for sid in sorted(statements)]}


def _finished(statement: dict[str, Any]) -> dict[str, Any]:
    resources = sorted(statement["Resource"])
    finished = {
        "Sid": statement["Sid"],
        "Effect": "Allow",
        "Action": sorted(statement["Action"]),
        "Resource": resources[0] if resources == ["*"] else resources,
    }
    if statement["Condition"]:
        finished["Condition"] = statement["Condition"]
    return finished


def drill_policy(loaded: LoadedDrill, account: str = "*") -> dict[str, Any]:
    """The policy for a drill file already checked by `check_drill_file`."""
    return policy_for_plan(build_plan(loaded), account)


def render(policy: dict[str, Any]) -> str:
    return json.dumps(policy, indent=2, sort_keys=False)
