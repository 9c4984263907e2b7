"""Key policy evaluation, as KMS does it for a caller (moto enforces no key policy, and no IAM by default).

Simplified but faithful for what drills depend on:
1. An explicit Deny in the key policy that matches the caller and the action wins. A Deny naming the account
   (`arn:aws:iam::<account>:root` or the account id) matches every principal in it.
2. Else a key-policy Allow naming the caller (the user, the role, the assumed-role session, or `*`) allows.
3. Else, if a key-policy Allow names the account for the action, the key delegates to IAM: the caller's identity
   policies (inline and attached) must allow the action on the key's ARN, and none may deny it.
4. Else a grant for the caller that includes the operation allows.
5. Else AccessDeniedException, worded as AWS words it.

The lab's administrator (its default credentials) is allowed whatever the key policy says, except by an explicit
Deny naming it (`*` or the account): the lab's own requests, and a user's quick script, are the account's. Conditions are evaluated for the keys KMS knows here
(kms:ResourceAliases, kms:CallerAccount, aws:RequestedRegion, aws:PrincipalArn, aws:PrincipalAccount); a statement
with any other condition key does not apply.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Iterable

from moto.core.exceptions import JsonRESTError
from moto.kms.models import Key

from drtool.sandbox.principals import Caller

# What a grant's Operations name, by IAM action.
_GRANT_OPERATIONS = {
    "kms:Encrypt": "Encrypt", "kms:Decrypt": "Decrypt", "kms:GenerateDataKey": "GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext": "GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom": "ReEncryptFrom",
    "kms:ReEncryptTo": "ReEncryptTo", "kms:DescribeKey": "DescribeKey",
}


class AccessDeniedException(JsonRESTError):
    """As AWS answers it, with its message (moto's own KMS AccessDeniedException drops the message)."""

    code = 400

    def __init__(self, message: str):
        super().__init__("AccessDeniedException", message)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str  # for a refusal: AWS's "because ..." / "with ..." clause

    def raise_if_denied(self, caller: Caller, action: str, resource: str) -> None:
        if not self.allowed:
            raise AccessDeniedException(
                f"User: {caller.arn} is not authorized to perform: {action} on resource: {resource} {self.reason}")


def authorize(key: Key, action: str, caller: Caller, region: str) -> None:
    """Raise AccessDeniedException unless `caller` may perform `action` (e.g. "kms:Decrypt") on `key`."""
    evaluate(key, action, caller, region).raise_if_denied(caller, action, key.arn)


def evaluate(key: Key, action: str, caller: Caller, region: str) -> Decision:
    context = {
        "kms:resourcealiases": sorted(key.aliases),
        "kms:calleraccount": [caller.account],
        "aws:requestedregion": [region],
        "aws:principalarn": [caller.role_arn or caller.arn],
        "aws:principalaccount": [caller.account],
    }
    statements = _statements(key.policy)
    delegated = False
    allowed = False
    for statement in statements:
        if not (_action_matches(statement, action) and _resource_matches(statement, key.arn)
                and _conditions_hold(statement.get("Condition"), context)):
            continue
        named = _principals(statement)
        deny = str(statement.get("Effect", "")).lower() == "deny"
        account_forms = {caller.root, caller.account}
        if deny:
            if "*" in named or not named.isdisjoint(caller.names | account_forms):
                return Decision(False, "with an explicit deny in a resource-based policy")
            continue
        if "*" in named or not named.isdisjoint(caller.names):
            allowed = True
        elif not named.isdisjoint(account_forms):
            delegated = True
    if allowed or caller.admin:
        return Decision(True, "")
    if delegated:
        identity = _identity_decision(caller, action, key.arn, context)
        if identity is not None:
            return identity
    if _granted(key, action, caller):
        return Decision(True, "")
    if delegated:
        return Decision(False, f"because no identity-based policy allows the {action} action")
    return Decision(False, f"because no resource-based policy allows the {action} action")


def _identity_decision(caller: Caller, action: str, resource: str, context: dict[str, list[str]]) -> Decision | None:
    permitted = False
    for document in caller.identity_policies():
        for statement in _statements(document):
            if not (_action_matches(statement, action) and _resource_matches(statement, resource)
                    and _conditions_hold(statement.get("Condition"), context)):
                continue
            if str(statement.get("Effect", "")).lower() == "deny":
                return Decision(False, "with an explicit deny in an identity-based policy")
            permitted = True
    return Decision(True, "") if permitted else None


def _granted(key: Key, action: str, caller: Caller) -> bool:
    operation = _GRANT_OPERATIONS.get(action)
    if operation is None:
        return False
    for grant in key.grants.values():
        if grant.grantee_principal in caller.names and operation in (grant.operations or []):
            return True
    return False


def _statements(policy: Any) -> list[dict[str, Any]]:
    if isinstance(policy, str):
        try:
            policy = json.loads(policy or "{}")
        except ValueError:
            return []
    if not isinstance(policy, dict):
        return []
    return [statement for statement in _as_list(policy.get("Statement")) if isinstance(statement, dict)]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _matches_any(patterns: Iterable[Any], value: str, *, case_sensitive: bool = False) -> bool:
    if case_sensitive:
        return any(fnmatchcase(value, str(pattern)) for pattern in patterns)
    return any(fnmatchcase(value.lower(), str(pattern).lower()) for pattern in patterns)


def _action_matches(statement: dict[str, Any], action: str) -> bool:
    if "NotAction" in statement:
        return not _matches_any(_as_list(statement["NotAction"]), action)
    return _matches_any(_as_list(statement.get("Action")), action)


def _resource_matches(statement: dict[str, Any], resource: str) -> bool:
    if "NotResource" in statement:
        return not _matches_any(_as_list(statement["NotResource"]), resource, case_sensitive=True)
    if "Resource" not in statement:
        return True  # key policies may leave it out; the resource is the key itself
    return _matches_any(_as_list(statement["Resource"]), resource, case_sensitive=True)


def _principals(statement: dict[str, Any]) -> frozenset[str]:
    principal = statement.get("Principal")
    if principal == "*":
        return frozenset({"*"})
    if isinstance(principal, dict):
        return frozenset(str(name) for name in _as_list(principal.get("AWS")))
    return frozenset()


_OPERATORS = {
    "stringequals": lambda actual, wanted: actual == wanted,
    "stringequalsignorecase": lambda actual, wanted: actual.lower() == wanted.lower(),
    "stringlike": lambda actual, wanted: fnmatchcase(actual, wanted),
    "arnequals": lambda actual, wanted: actual == wanted,
    "arnlike": lambda actual, wanted: fnmatchcase(actual, wanted),
}


def _conditions_hold(conditions: Any, context: dict[str, list[str]]) -> bool:
    if not conditions:
        return True
    if not isinstance(conditions, dict):
        return False
    for operator, pairs in conditions.items():
        qualifier, _, name = str(operator).rpartition(":")
        name = name.lower()
        negated = name.startswith(("stringnot", "arnnot"))
        base = name.replace("not", "", 1) if negated else name
        compare = _OPERATORS.get(base)
        if compare is None or not isinstance(pairs, dict):
            return False
        for condition_key, wanted in pairs.items():
            actual = context.get(str(condition_key).lower())
            if actual is None:
                return False  # a key this lab does not know: the statement does not apply
            wanted_values = [str(value) for value in _as_list(wanted)]

            def one(value: str) -> bool:
                return any(compare(value, expected) for expected in wanted_values)

            if qualifier.lower() == "forallvalues":
                held = all(one(value) for value in actual)
            else:  # ForAnyValue, and single-valued keys
                held = any(one(value) for value in actual)
            if held == negated:
                return False
    return True
