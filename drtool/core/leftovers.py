"""What a killed run can leave behind: drill-named resources found in AWS, by kind, for `drtool cleanup`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum

from drtool.core.tagging import CREATED_AT_KEY


class RemovalPhase(IntEnum):
    """Cleanup removes leftovers phase by phase: each finishes before the next starts."""

    INSTANCES = 0  # compute first: a cluster cannot go while its instances exist
    CLUSTERS = 1
    SNAPSHOTS = 2  # a snapshot may still feed a restore
    GRANTS = 3  # a grant may still serve a restore or a copy
    OBJECTS = 4


@dataclass(frozen=True)
class Leftover:
    """A drill-named resource found in AWS. Only `tagged` ones are ever deleted."""

    kind: str
    identifier: str
    region: str
    arn: str | None
    run_id: str | None
    created_at: datetime | None
    age: timedelta | None
    status: str
    tagged: bool
    parent: str = ""  # the cluster of an instance, the key of a grant, the bucket of an object
    handle: str = ""  # what AWS deletes it by when not the identifier: a grant id, an object version id
    display: str = ""  # how to name it to a person, when the identifier alone does not say enough

    @property
    def label(self) -> str:
        return self.display or self.identifier


def tagged_time(tags: dict[str, str]) -> datetime | None:
    # A resource still `creating` has no create time in AWS yet; the drill tagged it with one.
    try:
        return datetime.fromisoformat(tags[CREATED_AT_KEY])
    except (KeyError, ValueError):
        return None


def age(created_at: datetime | None, now: datetime) -> timedelta | None:
    if created_at is None or created_at.tzinfo is None:
        return None
    return max(timedelta(0), now - created_at)
