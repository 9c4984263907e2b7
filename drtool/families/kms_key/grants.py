"""How the kms-key family scopes the IAM actions it needs: the regions' keys, and exactly the principals it acts as."""

from __future__ import annotations

from drtool.core.grants import Grant, GrantRule, Scope, everywhere
from drtool.core.principals import SELF

KIND = "kms-key"


def _targets(scope: Scope) -> list:
    return [target for target in scope.drill.targets.values() if target.kind == KIND]


def _keys(sid: str) -> GrantRule:
    # Aliases name keys whose ids the drill file does not know: any key in the regions it reads, read-only.
    return lambda scope: [Grant(sid, scope.arns("kms", "key/*"))] if _targets(scope) else []


def _own_use(scope: Scope) -> list[Grant]:
    # Only a target that lists `self` as allowed makes the drill's own identity encrypt or decrypt.
    if not any(SELF in target.allowed for target in _targets(scope)):
        return []
    return [Grant("UseDrKeysAsSelf", (scope.arn("kms", scope.drill.dr_region, "key/*"),))]


def _principals(scope: Scope) -> list[Grant]:
    roles = sorted({p for target in _targets(scope) for p in (*target.allowed, *target.denied) if p != SELF})
    return [Grant("AssumeListedPrincipals", tuple(roles))] if roles else []


GRANTS: dict[str, GrantRule] = {
    "kms:ListAliases": everywhere("ListKeyAliases"),  # the preflight's probe
    "kms:DescribeKey": _keys("ReadDrKeys"),
    "kms:GetKeyPolicy": _keys("ReadDrKeys"),
    "kms:GetKeyRotationStatus": _keys("ReadDrKeys"),
    "kms:ListKeyRotations": _keys("ReadDrKeys"),
    "kms:ListResourceTags": _keys("ReadDrKeys"),
    "kms:GenerateDataKey": _own_use,
    "kms:Decrypt": _own_use,
    "sts:AssumeRole": _principals,
}
