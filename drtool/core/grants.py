"""IAM grants: how a family scopes each action it needs to the drill's own resources.

A family maps every IAM action its operations declare to a `GrantRule`, which
returns the statement(s) that allow it for one drill (`Scope`). `drtool
permissions` merges the rules of every family a drill uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from drtool.core.tagging import CREATED_BY_KEY, CREATED_BY_VALUE, NAME_PREFIX

if TYPE_CHECKING:
    from drtool.drill.file import Drill

Condition = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Scope:
    """What resource ARNs are built from: the drill's regions and names, the account, and where the action is used."""

    drill: Drill
    account: str
    # The regions in which the drill's plan reaches the action being scoped (a teardown may be in the primary).
    regions: tuple[str, ...] = ()

    def arns(self, service: str, resource: str) -> tuple[str, ...]:
        """`resource` in each region the action is used in."""
        return tuple(self.arn(service, region, resource) for region in self.regions)

    def partition(self, region: str) -> str:
        if region.startswith("cn-"):
            return "aws-cn"
        if region.startswith("us-gov-"):
            return "aws-us-gov"
        return "aws"

    def arn(self, service: str, region: str, resource: str) -> str:
        return f"arn:{self.partition(region)}:{service}:{region}:{self.account}:{resource}"

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


def everywhere(sid: str) -> GrantRule:
    # Listing and filtered describes cannot be narrowed to a resource.
    return lambda scope: [Grant(sid, ("*",))]


def dr_keys(sid: str, condition: Callable[[Scope], Condition] | None = None) -> GrantRule:
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
