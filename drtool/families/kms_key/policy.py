"""Scenario 4: who the key policy lets use and administer the DR key, against its primary's policy and the drill file.

A policy is reduced to who may do what: for each principal, whether an Allow lets it use the key (encrypt,
decrypt, generate data keys) or administer it (change its policy, disable or delete it), and whether a Deny
takes that away. The account's root ARN stands for "whatever IAM policies allow", as in AWS.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Iterable

from drtool.core.operations import calls, dr, primary
from drtool.services.kms.probes import key_policy

USE = ("kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey",
       "kms:GenerateDataKeyWithoutPlaintext")
ADMINISTER = ("kms:PutKeyPolicy", "kms:DisableKey", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion",
              "kms:EnableKey", "kms:DisableKeyRotation", "kms:CreateGrant", "kms:UpdateAlias", "kms:DeleteAlias")
CAPABILITIES = {"use": USE, "administer": ADMINISTER}


@dataclass(frozen=True)
class Access:
    """Who a policy lets use and administer a key: {capability: principals}, Allows less Denys."""

    allowed: dict[str, frozenset[str]]
    conditional: frozenset[str]  # principals whose Allow carries a condition, so it holds only sometimes

    def who(self, capability: str) -> frozenset[str]:
        return self.allowed.get(capability, frozenset())


def _principals(statement: dict[str, Any]) -> set[str]:
    found = statement.get("Principal")
    if found == "*":
        return {"*"}
    names: set[str] = set()
    for kind in ("AWS", "Service", "Federated"):
        values = (found or {}).get(kind, [])
        for value in [values] if isinstance(values, str) else values:
            # An account id means the account's root: AWS stores it so.
            names.add(f"arn:aws:iam::{value}:root" if kind == "AWS" and value.isdigit() else value)
    return names


def _grants(statement: dict[str, Any], actions: Iterable[str]) -> bool:
    patterns = statement.get("Action", [])
    patterns = [patterns] if isinstance(patterns, str) else patterns
    if "NotAction" in statement:
        excluded = statement["NotAction"]
        excluded = [excluded] if isinstance(excluded, str) else excluded
        return any(not any(fnmatchcase(a.lower(), p.lower()) for p in excluded) for a in actions)
    return any(fnmatchcase(a.lower(), p.lower()) for a in actions for p in patterns)


def access_of(policy: dict[str, Any]) -> Access:
    statements = policy.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else statements
    allowed: dict[str, set[str]] = {c: set() for c in CAPABILITIES}
    denied: dict[str, set[str]] = {c: set() for c in CAPABILITIES}
    conditional: set[str] = set()
    for statement in statements:
        principals = _principals(statement)
        for capability, actions in CAPABILITIES.items():
            if not _grants(statement, actions):
                continue
            if statement.get("Effect") == "Deny":
                if not statement.get("Condition"):  # a conditional Deny takes access away only sometimes
                    denied[capability] |= principals
            else:
                allowed[capability] |= principals
                if statement.get("Condition"):
                    conditional |= principals
    return Access({c: frozenset(allowed[c] - denied[c]) for c in CAPABILITIES}, frozenset(conditional))


def _label(principal: str, access: Access) -> str:
    return principal + (" (under a condition)" if principal in access.conditional else "")


def drift(dr_access: Access, primary_access: Access) -> list[str]:
    """One line per principal whose access differs between the DR key and its primary: `+` gained, `-` lost."""
    lines = []
    for capability in CAPABILITIES:
        gained = dr_access.who(capability) - primary_access.who(capability)
        lost = primary_access.who(capability) - dr_access.who(capability)
        lines += [f"+ {_label(p, dr_access)} may {capability} the DR key, not the primary" for p in sorted(gained)]
        lines += [f"- {_label(p, primary_access)} may {capability} the primary, not the DR key" for p in sorted(lost)]
    return lines


def against_expectations(access: Access, expected: dict[str, list[str] | None]) -> list[str]:
    """One line per principal the drill file does not expect, or expects and the policy leaves out."""
    lines = []
    for capability, who in expected.items():
        if who is None:
            continue
        lines += [f"+ {_label(p, access)} may {capability} the DR key, which the drill file does not expect"
                  for p in sorted(access.who(capability) - set(who))]
        lines += [f"- {p} may not {capability} the DR key, which the drill file expects" for p in sorted(set(who) - access.who(capability))]
    return lines


@calls(dr(key_policy), primary(key_policy))
def read_policies(kms_dr: Any, kms_primary: Any, dr_key_id: str, primary_key_id: str | None) -> tuple[dict, dict | None]:
    return key_policy(kms_dr, dr_key_id), (key_policy(kms_primary, primary_key_id) if primary_key_id else None)
