"""Guaranteed teardown of what a drill created.

A resource is announced *before* the call that creates it leaves the process,
so that whatever happens next (an exception, Ctrl-C, SIGTERM, SIGKILL) the
journal already names it. An announced resource becomes *owned* only when the
create call returns (`created`): a refused or failed create, or "already exists",
may name someone else's resource, so teardown deletes an unconfirmed one only if
its tags, read back from AWS (`verify`), prove it is this run's (a create whose
response was lost). Teardown deletes in reverse order of creation and
reports every failure; it never hides one.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from botocore.exceptions import ClientError

from drtool.core.clock import Clock, Stopwatch, format_duration, poll_until
from drtool.core.errors import describe_error
from drtool.core.guard import GuardRefused
from drtool.core.events import (
    ResourceCreated,
    ResourceCreating,
    ResourceDeleted,
    ResourceDeleteFailed,
    TeardownFinished,
    TeardownStarted,
)
from drtool.core.interrupts import process_interrupts
from drtool.core.journal import Journal
from drtool.core.ownership import Ownership

# World seconds: a resource still being created may take this long to become deletable, and as long to go.
REMOVAL_DEADLINE = 3600.0
# One describe per poll keeps far under AWS's request limits (RDS: 12 a second per account and region).
REMOVAL_POLL_INTERVAL = 30.0


class TeardownError(Exception):
    """Teardown could not delete everything the drill created."""


@dataclass
class TrackedResource:
    kind: str
    identifier: str
    region: str
    target: str
    remove: Callable[[], bool]  # deletes and waits until gone; False if there was nothing to delete
    arn: str | None = None
    details: dict[str, object] = field(default_factory=dict)
    service: str = ""  # the AWS service, for the run's ownership ledger (the guard's proof for deletes)
    # For an unconfirmed resource: True only if its tags in AWS prove it is this run's.
    verify: Callable[[], bool] | None = None
    confirmed: bool = False
    # AWS (or the guard) answered the create with a refusal: it made nothing, so a resource of this name is
    # someone else's, even one tagged with this run id (a retried CI job that reuses its pipeline's id).
    refused: bool = False

    def record(self) -> dict[str, object]:
        return {"kind": self.kind, "identifier": self.identifier, "region": self.region, "target": self.target, "arn": self.arn}


class Teardown:
    """A stack of resources one scenario created, torn down last-in, first-out."""

    def __init__(self, journal: Journal, clock: Clock, scope: str, ownership: Ownership | None = None, target: str = ""):
        self.journal = journal
        self.clock = clock
        self.scope = scope
        self.target = target  # the target whose resources these are, for the teardown's own events
        self.ownership = ownership
        self._stack: list[TrackedResource] = []
        self.results: list[dict[str, object]] = []

    def announce(self, resource: TrackedResource) -> TrackedResource:
        self.journal.emit(ResourceCreating(scope=self.scope, **resource.record()))
        self._stack.append(resource)
        return resource

    def created(self, resource: TrackedResource, arn: str | None = None, **details: object) -> None:
        resource.arn = arn or resource.arn
        resource.details.update(details)
        resource.confirmed = True
        if self.ownership is not None:
            self.ownership.confirm(resource.service, resource.region, resource.identifier)
        self.journal.emit(ResourceCreated(scope=self.scope, **resource.record(), details=details))

    @contextmanager
    def creating(self, resource: TrackedResource) -> Iterator[TrackedResource]:
        """Around the create call: a refusal marks the resource as never this run's, so teardown leaves it.

        Only an answer that says nothing was made counts (the guard's refusal, an AWS error below HTTP 500); a
        lost response or a server error leaves the outcome unknown, and then only the tags can prove it ours.
        """
        try:
            yield resource
        except GuardRefused:
            resource.refused = True
            raise
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500) < 500:
                resource.refused = True
            raise

    @property
    def pending(self) -> list[TrackedResource]:
        return list(self._stack)

    def run(self) -> list[dict[str, object]]:
        """Delete everything, newest first. Raises TeardownError naming each failure."""
        failures: list[str] = []
        if not self._stack:
            return self.results
        interrupts = process_interrupts()
        # Shield first: a Ctrl-C that follows the journal's "teardown-started" must find teardown already shielded.
        with interrupts.shielding(self):
            self.journal.emit(TeardownStarted(scope=self.scope, target=self.target, resources=[r.record() for r in reversed(self._stack)]))
            while self._stack:
                interrupts.checkpoint()  # abandoned by the operator while this thread was between deletions
                resource = self._stack[-1]
                watch = Stopwatch.start(self.clock)
                try:
                    if not resource.confirmed and (resource.refused or resource.verify is None or not resource.verify()):
                        self._stack.pop()
                        self.journal.emit(ResourceDeleted(scope=self.scope, existed=False, duration_s=0.0, unconfirmed=True, **resource.record()))
                        self.results.append({**resource.record(), "deleted": False, "unconfirmed": True})
                        continue
                    existed = resource.remove()
                except Exception as exc:  # every failure is reported below, none is hidden
                    self._stack.pop()
                    message = f"could not delete {resource.kind} {resource.identifier} in {resource.region}: {describe_error(exc)}"
                    failures.append(message)
                    self.journal.emit(ResourceDeleteFailed(scope=self.scope, error=message, **resource.record()))
                    self.results.append({**resource.record(), "deleted": False, "error": message})
                    continue
                self._stack.pop()
                took = watch.stop()
                if resource.confirmed and not existed:
                    # AWS said this run created it, and now it is gone: someone else deleted what the drill was using.
                    failures.append(f"{resource.kind} {resource.identifier} in {resource.region} was deleted by something "
                                    "else while the run used it; its figures are not a drill's")
                self.journal.emit(ResourceDeleted(scope=self.scope, existed=existed, duration_s=round(took, 3), **resource.record()))
                self.results.append({**resource.record(), "deleted": True, "existed": existed, "duration_s": took})
        self.journal.emit(TeardownFinished(scope=self.scope, target=self.target, failures=failures))
        if failures:
            raise TeardownError("; ".join(failures))
        return self.results

    def summary_lines(self) -> list[str]:
        lines = []
        for result in self.results:
            what = f"{result['kind']} {result['identifier']} in {result['region']}"
            if result.get("unconfirmed"):
                lines.append(f"teardown: {what} was never confirmed created by this run; left alone")
            elif result.get("deleted") and result.get("existed"):
                lines.append(f"teardown: {what} deleted in {format_duration(float(result['duration_s']))}")
            elif result.get("deleted"):
                lines.append(f"teardown: {what} was never created; nothing to delete")
            else:
                lines.append(f"teardown FAILED: {result['error']}")
        return lines


def settle_then_delete(
    describe: Callable[[], dict[str, Any] | None],
    status: Callable[[dict[str, Any]], str],
    delete: Callable[[], object],
    *,
    clock: Clock,
    what: str,
    busy_states: frozenset[str],
    wait_until_gone: bool,
) -> bool:
    """Wait until a resource may be deleted, delete it, and optionally wait until it is gone.

    Returns False if there was nothing to delete. AWS refuses to delete a resource
    that is still being created, so teardown waits for it rather than leaving it.
    """
    found = poll_until(
        describe,
        lambda current: current is None or status(current) not in busy_states,
        clock=clock,
        deadline=REMOVAL_DEADLINE,
        interval=REMOVAL_POLL_INTERVAL,
        what=f"{what} to become deletable",
    )
    if found is None:
        return False
    if status(found) != "deleting":
        delete()
    if wait_until_gone:
        poll_until(describe, lambda current: current is None, clock=clock, deadline=REMOVAL_DEADLINE, interval=REMOVAL_POLL_INTERVAL, what=f"{what} to be deleted")
    return True
