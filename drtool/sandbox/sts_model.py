"""STS role trust as AWS evaluates it, where moto does not.

A trust policy that names the account (`arn:aws:iam::<account>:root`, or the bare account id) lets any
principal of that account assume the role whose own IAM policies allow sts:AssumeRole on it. moto, with
IAM enforced, accepts only a trust policy that names the caller's ARN exactly.
"""

from __future__ import annotations

import json
from typing import Any, Callable, ClassVar, Iterable

from moto.iam.access_control import IAMRequestBase

from drtool.sandbox.faults import Fault
from drtool.sandbox.model import QueuedModel
from drtool.sandbox.patches import Patch, wrap_method


class StsModel(QueuedModel):
    """Trust delegated to an account. Nothing in STS takes time."""

    name = "sts"
    faults: ClassVar[tuple[Fault, ...]] = ()
    clock_modules = ()

    def patches(self) -> Iterable[Patch]:
        return (wrap_method(IAMRequestBase, "_check_role_trust_relationship", _trust_delegated_to_account),)


def trusts_account(trust_policy: Any, account: str) -> bool:
    """An unconditional Allow of sts:AssumeRole to the account itself, and no Deny of it."""
    document = json.loads(trust_policy) if isinstance(trust_policy, str) else trust_policy
    statements = document.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else statements
    names = {f"arn:aws:iam::{account}:root", account}
    allowed = False
    for statement in statements:
        principals = (statement.get("Principal") or {}).get("AWS", []) if statement.get("Principal") != "*" else ["*"]
        principals = [principals] if isinstance(principals, str) else principals
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if not (names & set(principals) or "*" in principals) or not {"sts:AssumeRole", "sts:*", "*"} & set(actions):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or not statement.get("Condition")
    return allowed


def _trust_delegated_to_account(original: Callable[..., bool]) -> Callable[..., bool]:
    def check(request: IAMRequestBase, role_arn: str) -> bool:
        if original(request, role_arn):
            return True
        role = request.backend.get_role_by_arn(role_arn)
        return trusts_account(role.assume_role_policy_document, request._access_key.account_id)

    return check
