"""How the secret family scopes the IAM actions it needs: the named secrets, their keys only through Secrets Manager,
and exactly the roles the drill file lists.

The drill's own identity describes each secret; it reads values only when a target lists `self` among its
principals. The roles under `allowed` and `denied` read the secret and its replica with their own permissions:
the drill needs only to assume them.
"""

from __future__ import annotations

from drtool.core.grants import Condition, Grant, GrantRule, Scope, everywhere
from drtool.core.principals import SELF
from drtool.families.secret.target import SECRET_ARN, SecretTarget

KIND = "secret"
# Secrets Manager ends every secret's ARN with a hyphen and six random characters.
ARN_SUFFIX = "-??????"


def _targets(scope: Scope) -> list[SecretTarget]:
    return [target for target in scope.drill.targets.values() if target.kind == KIND]


def _secret_arn(scope: Scope, target: SecretTarget, region: str) -> str:
    found = SECRET_ARN.match(target.secret)
    if found:  # a replica keeps its primary's name and suffix, in its own region
        return target.secret.replace(f":secretsmanager:{found.group('region')}:", f":secretsmanager:{region}:", 1)
    return scope.arn("secretsmanager", region, f"secret:{target.secret}{ARN_SUFFIX}")


def _read_regions(scope: Scope) -> list[str]:
    """Where the drill's own identity reads values: both regions if it is a listed principal, else nowhere."""
    acts_itself = any(SELF in target.principals for target in _targets(scope))
    return [scope.drill.primary_region, scope.drill.dr_region] if acts_itself else []


def _describe_secrets(scope: Scope) -> list[Grant]:
    arns = {_secret_arn(scope, target, region) for target in _targets(scope) for region in scope.regions}
    return [Grant("DescribeDrilledSecrets", tuple(sorted(arns)))] if arns else []


def _read_secrets(scope: Scope) -> list[Grant]:
    arns = {_secret_arn(scope, target, region) for target in _targets(scope) for region in _read_regions(scope)}
    return [Grant("ReadDrilledSecrets", tuple(sorted(arns)))] if arns else []


def _via_secretsmanager(regions: list[str]) -> Condition:
    return {"StringEquals": {"kms:ViaService": sorted(f"secretsmanager.{region}.amazonaws.com" for region in regions)}}


def _decrypt_through_secretsmanager(scope: Scope) -> list[Grant]:
    # The primary secret's key is not in the drill file (only the replica's): any key, but only as Secrets Manager
    # uses it for the caller, in the regions the drill reads values in.
    regions = _read_regions(scope)
    if not _targets(scope) or not regions:
        return []
    keys = tuple(scope.arn("kms", region, "key/*") for region in regions)
    return [Grant("DecryptSecretsThroughSecretsManager", keys, _via_secretsmanager(regions))]


def _describe_replica_keys(scope: Scope) -> list[Grant]:
    # The replica may be under any key; describing it is how a wrong one is caught.
    return [Grant("ReadSecretReplicaKeys", (scope.arn("kms", scope.drill.dr_region, "key/*"),))] if _targets(scope) else []


def _assume_listed_roles(scope: Scope) -> list[Grant]:
    """sts:AssumeRole on exactly the roles listed under the targets' `allowed` and `denied`, and nothing more."""
    roles = sorted({p for target in _targets(scope) for p in target.principals if p != SELF})
    return [Grant("AssumeListedPrincipals", tuple(roles))] if roles else []


GRANTS: dict[str, GrantRule] = {
    "secretsmanager:ListSecrets": everywhere("ListSecrets"),  # the preflight's probe
    "secretsmanager:DescribeSecret": _describe_secrets,
    "secretsmanager:GetSecretValue": _read_secrets,
    "kms:Decrypt": _decrypt_through_secretsmanager,
    "kms:DescribeKey": _describe_replica_keys,
    "sts:AssumeRole": _assume_listed_roles,
}
