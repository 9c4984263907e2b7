"""Find and remove what drill runs left behind, including runs killed with SIGKILL.

AWS is the source of truth: a resource is deleted only if it is found in AWS
with the drill name prefix *and* the `created-by=drtool` tag with the run id its
name names (the guard reads the tags back before each delete). Drill-named
resources without the tag are reported and never touched. Run journals are
read only to mention what they say was created and never deleted.

Plain Python over an injected client factory and clock: the CLI prints, this
module decides.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterable, Sequence

from drtool.core.clock import Clock
from drtool.core.errors import describe_error, is_infrastructure_error
from drtool.core.events import ResourceDeleted, ResourceDeleteFailed
from drtool.core.journal import (
    ANY_JOURNAL_STARTS,
    Journal,
    LeftoverResource,
    iter_journals,
    leftover_resources,
    resource_events,
    read_journal_checked,
)
from drtool.core.model import DrillFileError
from drtool.core.leftovers import Leftover, RemovalPhase
from drtool.core.registry import ResourceKind, families
from drtool.core.session import ClientFactory

# Deletions within a phase run side by side; each polls once per REMOVAL_POLL_INTERVAL, far under RDS's 12 req/s.
PARALLEL_REMOVALS = 8

REMOVED = "removed"
ALREADY_GONE = "already gone"
FAILED = "failed"
NOT_TOUCHED = "not touched"


@dataclass(frozen=True)
class Removal:
    leftover: Leftover
    outcome: str  # REMOVED, ALREADY_GONE, FAILED or NOT_TOUCHED
    error: str = ""
    infrastructure: bool = False  # the failure was credentials, permissions, throttling or the endpoint


@dataclass(frozen=True)
class JournalMention:
    """A resource a run journal says was created and never deleted, and what AWS shows of it now."""

    resource: LeftoverResource
    found: Leftover | None
    region_searched: bool


# --- finding ---------------------------------------------------------------------------------------


def find_leftovers(
    clients: ClientFactory,
    regions: Sequence[str],
    *,
    now: datetime,
    older_than: timedelta | None = None,
    run_id: str | None = None,
    targets: Iterable[Any] = (),
) -> list[Leftover]:
    """Every drill-named resource of every kind in `regions`, and what the families find through a drill's `targets`
    (S3 canaries in the targets' own buckets, wherever they are).

    Untagged drill-named resources are included with `tagged=False` so callers can report them.
    """
    found: list[Leftover] = []
    for region in dict.fromkeys(regions):
        for kind in resource_kinds():
            if kind.find is not None:
                found += kind.find(clients.client(kind.service, region), region, now)
    for kind, target in families().target_finders(targets):
        found += kind.find_for_target(clients.client, target, regions[0], now)
    return [leftover for leftover in found if _selected(leftover, older_than, run_id)]


def _selected(leftover: Leftover, older_than: timedelta | None, run_id: str | None) -> bool:
    if run_id is not None and leftover.run_id != run_id:
        return False
    # An unknown age cannot prove a resource old enough, so --older-than leaves it alone.
    return older_than is None or (leftover.age is not None and leftover.age >= older_than)


# --- removing --------------------------------------------------------------------------------------


def remove_leftovers(
    clients: ClientFactory, leftovers: Sequence[Leftover], clock: Clock, journal: Journal | None = None
) -> list[Removal]:
    """Delete every tagged leftover in a safe order; one result each, failures included, never raising."""
    results = [Removal(leftover, NOT_TOUCHED, "not tagged created-by=drtool") for leftover in leftovers if not leftover.tagged]
    kinds = {kind.name: kind for kind in resource_kinds()}
    for phase in RemovalPhase:
        batch = [leftover for leftover in leftovers if leftover.tagged and kinds[leftover.kind].phase == phase]
        if not batch:
            continue
        with ThreadPoolExecutor(max_workers=PARALLEL_REMOVALS, thread_name_prefix="drtool-cleanup") as pool:
            results += pool.map(lambda leftover: _remove_one(clients, kinds[leftover.kind], leftover, clock, journal), batch)
    return results


def _remove_one(clients: ClientFactory, kind: ResourceKind, leftover: Leftover, clock: Clock, journal: Journal | None) -> Removal:
    record = {"scope": "cleanup", "kind": leftover.kind, "identifier": leftover.identifier, "region": leftover.region,
              "arn": leftover.arn, "resource_run_id": leftover.run_id}
    try:
        existed = kind.remove(clients.client(kind.service, leftover.region), leftover, clock)
    except Exception as exc:  # every failure becomes a result; one stuck resource must not stop the rest
        removal = Removal(leftover, FAILED, describe_error(exc), is_infrastructure_error(exc))
        if journal is not None:
            journal.emit(ResourceDeleteFailed(error=removal.error, **record))
        return removal
    if journal is not None:
        journal.emit(ResourceDeleted(existed=existed, **record))
    return Removal(leftover, REMOVED if existed else ALREADY_GONE)


# No kinds of cleanup's own: each family brings the kinds it creates, with tag-based ownership.
CLEANUP_KINDS: tuple[ResourceKind, ...] = ()


def resource_kinds() -> tuple[ResourceKind, ...]:
    """Every kind cleanup looks for: each family's, then its own."""
    return (*families().resource_kinds, *CLEANUP_KINDS)


# --- journals --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveRun:
    """A run whose lock is held by a process that may still be running: cleanup leaves its resources alone."""

    run_id: str
    holder: str  # who holds the lock, for a person
    lock: str  # where the lock is


def live_runs(drills: Iterable[tuple[str, Any, str | None, Any]], now: datetime) -> list[LiveRun]:
    """The live runs among the run locks of `drills`: (drill name, its `history:` block, primary region, AWS access).

    A lock that cannot be read says nothing either way; cleanup then goes by tags alone, as before.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from drtool.core.errors import InfrastructureError
    from drtool.reports.history.lock import live_holder
    from drtool.reports.history.store import open_history

    found = []
    for name, configured, region, access in dict.fromkeys(drills):
        try:
            lock = open_history(name, configured=configured, region=region, access=access).lock()
            holder = live_holder(lock, now)
        except (OSError, ClientError, BotoCoreError, InfrastructureError):
            continue
        if holder is not None:
            found.append(LiveRun(holder.run_id, holder.describe(), lock.location))
    return found


def unfinished_drills(records: Iterable[dict[str, Any]]) -> list[str]:
    """The drills of journaled runs that have no run-finished record: killed, or still running."""
    started = {r.get("run_id"): r.get("drill") for r in records if r.get("event") == "run-started" and isinstance(r.get("drill"), str)}
    finished = {r.get("run_id") for r in records if r.get("event") == "run-finished"}
    return sorted({drill for run, drill in started.items() if run not in finished})


def read_journals(journal_dir: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Every sound record of every journal in `journal_dir`, and one warning per file that could not be read whole.

    The same bounded reader as `drtool report`: regular files only, a size limit, no hang. A damaged file is
    skipped (or its damaged lines are), never fatal: AWS's tags, not the journals, decide what is deleted.
    """
    records: list[dict[str, Any]] = []
    warnings: list[str] = []
    for path in iter_journals(journal_dir):
        try:
            good, problems = read_journal_checked(path, starts=ANY_JOURNAL_STARTS)
        except DrillFileError as exc:
            warnings.append(f"skipped {path}: {exc.problems[0].message}")
            continue
        if problems:
            lines = ", ".join(str(problem.line) for problem in problems[:5])
            warnings.append(f"{path}: skipped {len(problems)} damaged line(s) ({lines}{', ...' if len(problems) > 5 else ''})")
        records += good
    return records, warnings


def journal_mentions(
    journal_dir: Path, found: Sequence[Leftover], regions: Sequence[str], run_id: str | None = None,
    records: list[dict[str, Any]] | None = None,
) -> list[JournalMention]:
    """What run journals say was created and never deleted, matched against what AWS shows.

    All journals are read as one history, so a deletion recorded by a later cleanup settles
    what a killed run left open.
    """
    if records is None:
        records, _ = read_journals(journal_dir)
    by_key = {(leftover.kind, leftover.identifier, leftover.region): leftover for leftover in found}
    return [
        JournalMention(resource, by_key.get((resource.kind, resource.identifier, resource.region)), resource.region in regions)
        for resource in leftover_resources(resource_events(records))
        if run_id is None or resource.run_id == run_id
    ]
