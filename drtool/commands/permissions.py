"""`drtool permissions`: the least-privilege IAM policy a drill needs, derived from its plan.

The actions are the union of what every operation its scenarios can reach
declares (`@operation(...)`), so they follow the code. This module adds what
the code cannot say: which resources each action may touch and under which
condition: each drill family maps the IAM actions it needs to the statement(s)
that allow them (`Family.grants`), and publishing scopes its own to the
namespace and topic the drill file names; a reachable action nothing scopes is
an error, never a silent `*`.
"""

from __future__ import annotations

import json
from typing import Any

from drtool.commands.plan import DrillPlan, build_plan
from drtool.commands.publish import PUBLISH_GRANTS
from drtool.core.grants import Grant, Scope
from drtool.core.registry import FamilyRegistry, families
from drtool.drill.file import LoadedDrill
from drtool.reports.grants import own_records_grants

POLICY_VERSION = "2012-10-17"
# AWS answers GetCallerIdentity for every caller, even under an explicit Deny: it needs no grant.
NEEDS_NO_GRANT = frozenset({"sts:GetCallerIdentity"})

class UnscopedAction(LookupError):
    """A reachable IAM action that no drill family scopes."""


def required_actions(plan: DrillPlan) -> set[str]:
    return {action for call in plan.calls() for action in call.iam_actions}


def actions_as_others(plan: DrillPlan) -> set[str]:
    """Actions made as another principal (a role the drill assumes). The drill's identity needs them only where a
    target names `self` among those principals, which the family's grant rule knows."""
    return {action for call in plan.all_calls() if call.acting_as for action in call.iam_actions} - required_actions(plan)


def regions_by_action(plan: DrillPlan) -> dict[str, tuple[str, ...]]:
    """Each reachable IAM action and the regions the plan calls it in (a teardown in the primary region included)."""
    found: dict[str, set[str]] = {}
    for call in plan.all_calls():
        for action in call.iam_actions:
            found.setdefault(action, set()).add(call.region)
    return {action: tuple(sorted(regions)) for action, regions in found.items()}


def policy_for_plan(plan: DrillPlan, account: str = "*", registry: FamilyRegistry | None = None) -> dict[str, Any]:
    registry = registry or families()
    statements: dict[str, dict[str, Any]] = {}
    regions = regions_by_action(plan)
    own = required_actions(plan) - NEEDS_NO_GRANT
    for action in sorted(own | actions_as_others(plan)):
        rules = [*registry.grant_rules(action), *([PUBLISH_GRANTS[action]] if action in PUBLISH_GRANTS else [])]
        if not rules and action in own:
            raise UnscopedAction(f"{action} is reachable by the drill but no drill family's grants scope it")
        scope = Scope(plan.drill, account, regions[action])
        for grant in (grant for rule in rules for grant in rule(scope)):
            _add(statements, action, grant)
    # The run history and evidence the drill file keeps in S3: their own keys, beside the drill's resources.
    for action, grant in own_records_grants(plan.drill, account):
        _add(statements, action, grant)
    return {"Version": POLICY_VERSION, "Statement": [_finished(statements[sid]) for sid in sorted(statements)]}


def _add(statements: dict[str, dict[str, Any]], action: str, grant: Grant) -> None:
    statement = statements.setdefault(
        grant.sid, {"Sid": grant.sid, "Effect": "Allow", "Action": set(), "Resource": set(), "Condition": grant.condition}
    )
    if statement["Condition"] != grant.condition:
        raise ValueError(f"statement {grant.sid} is given two different conditions")
    statement["Action"].add(action)
    statement["Resource"].update(grant.resources)


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


def caller_policy(plan: DrillPlan) -> dict[str, Any] | None:
    """What the identity that starts the drill needs when the drill file names a role: to assume it, and no more
    (the role's trust policy must name that identity too). None when the drill runs as the identity it starts with."""
    role = plan.drill.aws.role_arn
    if not role:
        return None
    return {"Version": POLICY_VERSION, "Statement": [
        {"Sid": "AssumeTheDrillRole", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role}]}


def drill_policy(loaded: LoadedDrill, account: str = "*") -> dict[str, Any]:
    """The policy for a drill file already checked by `check_drill_file`."""
    return policy_for_plan(build_plan(loaded), account)


def render(policy: dict[str, Any]) -> str:
    return json.dumps(policy, indent=2, sort_keys=False)
