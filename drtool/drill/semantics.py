"""What a drill file must mean, beyond its schema: checks across fields, and each family's own.

Each check yields `(location, message)`; the location is a path into the file
(`("targets", "orders-db", "dr_kms_key")`), which the loader turns into a line.

A family's target model adds its own checks by defining, optionally:
- `drill_problems(self, drill)`: `(location within the target, message)` pairs, e.g. a key in the wrong region;
- `time_needed(self)`: the least time a drill of the target may take (its RTO), so a shorter `budget` is refused.
- `read_locations(self)`: `(bucket, prefix, what)` for the production keys the drill reads, where no history or
  evidence may go (drtool.drill.outputs).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, Iterator

from drtool.core.clock import format_duration
from drtool.core.registry import UnknownFamily, families
from drtool.core.tagging import resource_name
from drtool.drill.outputs import store_problems
from drtool.drill.tags import tag_expression_problem

if TYPE_CHECKING:
    from drtool.drill.file import Drill

Located = tuple[tuple[Any, ...], str]
# Any run id has this shape; a collision for one is a collision for all (the names are truncated the same way).
_SAMPLE_RUN_ID = "0a1b2c3d"


def semantic_problems(drill: Drill) -> list[Located]:
    found: list[Located] = []
    if drill.primary_region == drill.dr_region:
        found.append((("dr_region",), f"dr_region must differ from primary_region (both are {drill.dr_region})"))
    if drill.tags is not None:
        problem = tag_expression_problem(drill.tags)
        if problem:
            found.append((("tags",), problem))
    found.extend(_budget_problems(drill))
    found.extend(_name_collisions(drill))
    found.extend(store_problems(drill))
    for name, target in drill.targets.items():
        check = getattr(target, "drill_problems", None)
        if check is not None:
            found.extend((("targets", name, *loc), message) for loc, message in check(drill))
    return found


def _budget_problems(drill: Drill) -> Iterator[Located]:
    if drill.budget is None:
        return
    needs = [(needed, name) for name, target in drill.targets.items()
             if isinstance(needed := getattr(target, "time_needed", lambda: None)(), timedelta)]
    if not needs:
        return
    longest, name = max(needs)
    if drill.budget < longest:
        yield (("budget",), f"budget {format_duration(drill.budget)} is shorter than target {name!r}'s "
                            f"{format_duration(longest)} objective; the drill would be stopped before it could meet it")


def _name_collisions(drill: Drill) -> Iterator[Located]:
    """Two targets must never share a resource name: `a-b` and `a--b` both become drtool-<run>-a-b."""
    registry = families()
    claimed: dict[tuple[str, str], str] = {}
    for name, target in drill.targets.items():
        try:
            kinds = registry.get(target.kind).creates
        except UnknownFamily:
            continue
        for kind in kinds:
            if kind.planned_name is not None:
                continue  # named by the family itself (an S3 canary prefix per target): unique by construction
            resource = resource_name(_SAMPLE_RUN_ID, name, kind.name_suffix)
            other = claimed.setdefault((kind.name, resource), name)
            if other != name:
                shown = resource.replace(_SAMPLE_RUN_ID, "<run>", 1)
                yield (("targets", name), f"targets {other!r} and {name!r} would both name their {kind.name} {shown}; "
                                          "rename one (names are lowercased, '--' becomes '-', and cut at 63 characters)")
