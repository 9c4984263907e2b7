"""Drill families: each kind of drill declares itself once, as data, and every command reads the declarations.

Modelled on cloud-custodian's registries. A family is a `Family` value found
through the `drtool.families` entry points (drtool's own, and any installed
package's) and in the modules that `DRTOOL_FAMILIES` names (comma-separated:
a team's own families, or a test's). Adding a family edits nothing here.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any, Callable, Iterable, Iterator, Mapping

from drtool.core.clock import Clock
from drtool.core.grants import GrantRule
from drtool.core.leftovers import Leftover, RemovalPhase

ENTRY_POINT_GROUP = "drtool.families"
FAMILIES_ENV = "DRTOOL_FAMILIES"


def not_estimated(target: Any) -> str:
    return "not estimated"


GuardRule = Callable[[Any, Any], "str | None"]  # (guard, call) -> None to allow, or why it is refused
Finder = Callable[[Any, str, datetime], list[Leftover]]  # (client, region, now) -> drill-named resources found
Remover = Callable[[Any, Leftover, Clock], bool]  # (client, leftover, clock) -> False if it was already gone
# (client lookup (service, region) -> client, a target of the family's kind, a region to ask first, now) -> leftovers:
# for resources found through what a drill file names (an S3 canary lives in the target's own buckets), not by region.
TargetFinder = Callable[[Callable[[str, str], Any], Any, str, datetime], list[Leftover]]


@dataclass(frozen=True)
class ResourceKind:
    """A kind of resource a drill creates: how a plan names and prices it, and how cleanup finds and removes it."""

    name: str  # as the journal, the plan and cleanup name it, e.g. "rds-instance"
    service: str  # the client `find` and `remove` take
    find: Finder | None  # None: found only through the drill's targets (find_for_target)
    remove: Remover
    phase: RemovalPhase
    created_by: str = ""  # the name of the operation that creates it (drtool.core.operations), if a drill step does
    name_suffix: str = ""  # its name is resource_name(run id, target, name_suffix)
    cost: Callable[[Any], str] = not_estimated  # a rough running cost, given the target
    find_for_target: TargetFinder | None = None  # how cleanup finds it given a drill file's target of the family's kind
    # How a plan names it, given the run id placeholder and the target's name; default resource_name(..., name_suffix).
    planned_name: Callable[[str, str], str] | None = None


@dataclass(frozen=True)
class PreflightProbe:
    """One cheap read that proves the family's service is usable in a region (a client method and its arguments)."""

    service: str
    method: str
    params: Mapping[str, Any] = field(default_factory=dict)
    # The IAM actions it needs; empty: `<service>:<API>`, true of most reads but not all (s3 ListBuckets).
    iam: tuple[str, ...] = ()


@dataclass(frozen=True)
class Family:
    """One kind of drill: its target kind in drill files and everything the commands need to know of it."""

    kind: str
    target_model: type  # a pydantic model with `kind: Literal[<kind>]` and `objectives`
    step_module: str  # the module that holds its pytest-bdd steps
    features: tuple[str, ...] = ()  # its bundled feature files, by name
    preflight: tuple[PreflightProbe, ...] = ()
    creates: tuple[ResourceKind, ...] = ()
    grants: Mapping[str, GrantRule] = field(default_factory=dict)  # IAM action -> how to scope it
    # (service, operation) -> the guard's rule for each mutating call the family makes (see drtool.core.guard)
    guard_rules: Mapping[tuple[str, str], GuardRule] = field(default_factory=dict)
    figures: tuple[str, ...] = ()  # the measurements its verdicts carry, e.g. ("RTO", "RPO")
    # AWS error code -> the remedy for it, "{region}" filled in: an unexpected AWS error in a step becomes a finding
    remedies: Mapping[str, str] = field(default_factory=dict)
    events: tuple[type, ...] = ()  # its own journal events (drtool.core.events.Event subclasses)
    # event type -> how it adds to the run's results: (RunResult, event, Stamp) -> None (see drtool.core.results)
    result_handlers: Mapping[type, Callable[..., None]] = field(default_factory=dict)


class UnknownFamily(LookupError):
    pass


class FamilyRegistry:
    def __init__(self, families: Iterator[Family] | list[Family]):
        self._families: dict[str, Family] = {}
        for family in families:
            if family.kind in self._families and self._families[family.kind] is not family:
                raise ValueError(f"two drill families claim the target kind {family.kind!r}")
            self._families[family.kind] = family

    def __iter__(self) -> Iterator[Family]:
        return iter(self._families.values())

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(self._families)

    def get(self, kind: str) -> Family:
        try:
            return self._families[kind]
        except KeyError:
            raise UnknownFamily(f"no drill family for target kind {kind!r}; known kinds: {', '.join(self.kinds)}") from None

    @property
    def resource_kinds(self) -> tuple[ResourceKind, ...]:
        return tuple(kind for family in self for kind in family.creates)

    def target_finders(self, targets: Iterable[Any]) -> list[tuple[ResourceKind, Any]]:
        """(kind, target) for each kind found through a target, and each target of its family's kind."""
        targets = list(targets)
        return [(kind, target) for family in self for kind in family.creates if kind.find_for_target is not None
                for target in targets if getattr(target, "kind", None) == family.kind]

    def resource_kind_created_by(self, operation: str) -> ResourceKind | None:
        return next((kind for kind in self.resource_kinds if kind.created_by == operation), None)

    def guard_rule(self, service: str, operation: str) -> GuardRule | None:
        return next((family.guard_rules[(service, operation)] for family in self if (service, operation) in family.guard_rules), None)

    @property
    def events(self) -> tuple[type, ...]:
        return tuple(event for family in self for event in family.events)

    @property
    def result_handlers(self) -> dict[type, Callable[..., None]]:
        return {event: handler for family in self for event, handler in family.result_handlers.items()}

    @property
    def remedies(self) -> dict[str, str]:
        return {code: remedy for family in self for code, remedy in family.remedies.items()}

    def grant_rules(self, action: str) -> list[GrantRule]:
        return list(dict.fromkeys(family.grants[action] for family in self if action in family.grants))


@lru_cache(maxsize=1)
def families() -> FamilyRegistry:
    """Every installed family, and those DRTOOL_FAMILIES names (read once per process)."""
    found = [point.load() for point in entry_points(group=ENTRY_POINT_GROUP)]
    for name in filter(None, (part.strip() for part in os.environ.get(FAMILIES_ENV, "").split(","))):
        declared = [value for value in vars(importlib.import_module(name)).values() if isinstance(value, Family)]
        if not declared:
            raise LookupError(f"{FAMILIES_ENV} names {name}, which defines no drill Family")
        found.extend(declared)
    bad = [repr(value) for value in found if not isinstance(value, Family)]
    if bad:
        raise TypeError(f"not drill families: {', '.join(bad)}")
    return FamilyRegistry(sorted(found, key=lambda family: family.kind))
