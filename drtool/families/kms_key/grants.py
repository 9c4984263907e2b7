"""How the kms-key family scopes the IAM actions it needs: the regions' keys, and exactly the principals it acts as."""

from __future__ import annotations

from drtool.core.grants import Grant, GrantRule, Scope, everywhere
from drtool.core.principals import SELF

KIND = "kms-key"


def _targets(scope: Scope) -> list:
    return [target for target in scope.drill.targets.values() if target.kind == KIND]


def _key_arns(scope: Scope) -> tuple[str, ...]:
    """The keys the targets name: a key ARN as given; an alias or id, any key of its region (the id is not known)."""
    arns = set()
    for target in _targets(scope):
        for key, region in ((target.key, scope.drill.dr_region), (target.primary_key, scope.drill.primary_region)):
            if key is None:
                continue
            arns.add(key if key.startswith("arn:") and ":key/" in key else scope.arn("kms", region, "key/*"))
    return tuple(sorted(arns))


def _keys(sid: str) -> GrantRule:
    return lambda scope: [Grant(sid, _key_arns(scope))] if _targets(scope) else []


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
    "kms:DescribeKey": _keys("ReadKmsKeyTargets"),
    "kms:GetKeyPolicy": _keys("ReadKmsKeyTargets"),
    "kms:GetKeyRotationStatus": _keys("ReadKmsKeyTargets"),
    "kms:ListKeyRotations": _keys("ReadKmsKeyTargets"),
    "kms:ListResourceTags": _keys("ReadKmsKeyTargets"),
    "kms:GenerateDataKey": _own_use,
    "kms:Decrypt": _own_use,
    "sts:AssumeRole": _principals,
}
