"""The journal's events: one typed record per thing a run did, under a versioned schema.

Each event is a frozen dataclass named once, here or in its family's folder.
Writers emit instances; readers parse records back into them, so a field
renamed in one place and not the other fails loudly rather than reading as
nothing. A journal's `run-started` record carries the schema version.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Generic, Iterable, TypeVar

# 1: journals written before events were typed (no version recorded). 2: typed events.
# 3: every event of a scenario names its scenario and target (before, a family's events could leave `test` empty).
SCHEMA_VERSION = 3

E = TypeVar("E", bound="Event")
# Every record has these, whatever its event.
ENVELOPE = frozenset({"seq", "event", "run_id", "at", "mono"})


@dataclass(frozen=True, kw_only=True)
class Event:
    event_name: ClassVar[str]
    __test__ = False  # "TestStarted" and friends are not pytest test classes

    def fields(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


def event(name: str):
    """Names an event class as the journal writes it."""

    def named(cls: type[E]) -> type[E]:
        clashes = ENVELOPE & {f.name for f in dataclasses.fields(cls)}
        if clashes:
            raise TypeError(f"{cls.__name__}: {', '.join(sorted(clashes))} belong to every journal record; name the field otherwise")
        cls.event_name = name
        return cls

    return named


class MalformedRecord(ValueError):
    pass


def parse(record: dict[str, Any], types: dict[str, type[Event]]) -> Event | None:
    """The typed event a journal record holds; None for an event this reader does not know."""
    cls = types.get(record.get("event", ""))
    if cls is None:
        return None
    known = {f.name for f in dataclasses.fields(cls)}
    try:
        return cls(**{key: value for key, value in record.items() if key in known})
    except TypeError as exc:
        raise MalformedRecord(f"journal record {record.get('seq', '?')} ({cls.event_name}): {exc}") from None


def by_name(classes: Iterable[type[Event]]) -> dict[str, type[Event]]:
    return {cls.event_name: cls for cls in classes}


@dataclass(frozen=True)
class Emitted(Generic[E]):
    """An event as the journal recorded it: the event, and the envelope every record has."""

    event: E
    seq: int
    at: datetime
    mono: float
    run_id: str = ""

    @property
    def test(self) -> str:
        """The scenario it belongs to (a resource's or teardown's `scope`); empty for the run's own events."""
        return getattr(self.event, "test", "") or getattr(self.event, "scope", "")

    @property
    def target(self) -> str:
        return getattr(self.event, "target", "")


def read_emitted(record: dict[str, Any], types: dict[str, type[Event]]) -> Emitted | None:
    """The event a journal record holds, with its envelope; None for an event this reader does not know."""
    event = parse(record, types)
    if event is None:
        return None
    return Emitted(event, record.get("seq", 0), datetime.fromisoformat(record["at"]), record.get("mono", 0.0),
                   record.get("run_id", ""))


def in_scenario(event: E, test: str, target: str) -> E:
    """`event`, its empty scenario fields filled: `test` (a resource's `scope`), and `target` if it is that scenario's."""
    if not test:
        return event
    names = {f.name for f in dataclasses.fields(event)}
    fill = {name: test for name in ("test", "scope") if name in names and not getattr(event, name)}
    # An event that names another scenario keeps its own target too.
    ours = fill or test in (getattr(event, "test", None), getattr(event, "scope", None))
    if ours and target and "target" in names and not getattr(event, "target"):
        fill["target"] = target
    return dataclasses.replace(event, **fill) if fill else event


@dataclass(frozen=True, kw_only=True)
class ScenarioEvent(Event):
    """An event of one scenario. Emitted inside a scenario, the journal fills both fields (see Journal.scenario);
    the defaults are for journals of schema 2 and before, whose family events could leave them empty."""

    test: str = ""
    target: str = ""


# --- the run -----------------------------------------------------------------------


@event("run-started")
@dataclass(frozen=True, kw_only=True)
class RunStarted(Event):
    drill: str
    drill_file: str
    drill_sha256: str = ""
    primary_region: str = ""
    dr_region: str = ""
    targets: dict[str, str] = field(default_factory=dict)
    figures: list[str] = field(default_factory=list)  # what the drill's families measure: the reports' columns
    time_scale: float = 1.0
    versions: dict[str, str] = field(default_factory=dict)
    schema: int = 1


@event("run-finished")
@dataclass(frozen=True, kw_only=True)
class RunFinished(Event):
    pytest_exit: int = 0
    interrupted: bool = False


@event("run-error")
@dataclass(frozen=True, kw_only=True)
class RunError(Event):
    error: str


@event("budget-exceeded")
@dataclass(frozen=True, kw_only=True)
class BudgetExceeded(Event):
    budget_s: float
    message: str


@event("preflight-passed")
@dataclass(frozen=True, kw_only=True)
class PreflightPassed(Event):
    account: str
    arn: str


@event("api-calls")
@dataclass(frozen=True, kw_only=True)
class ApiCalls(Event):
    attempts: int
    throttled: int
    by_operation: dict[str, int] = field(default_factory=dict)
    throttled_by_operation: dict[str, int] = field(default_factory=dict)
    # drtool's share of each rate-limited service (drtool.core.api_budget), and how often a request waited for it
    budget: dict[str, dict[str, float]] = field(default_factory=dict)
    budget_waits: int = 0
    budget_waited_s: float = 0.0


@event("guard-refused")
@dataclass(frozen=True, kw_only=True)
class GuardRefusal(ScenarioEvent):
    """A call the guard refused; made inside a scenario, it names the scenario (a run-level call names none)."""

    service: str
    operation: str
    region: str
    reason: str


@event("run-lock-taken")
@dataclass(frozen=True, kw_only=True)
class RunLockTaken(Event):
    """The run holds its drill's lock in the history store; `took_over` names a stale holder it replaced, and why."""

    location: str
    took_over: str = ""


@event("run-warning")
@dataclass(frozen=True, kw_only=True)
class RunWarning(Event):
    """Something around the drill went wrong without changing its verdict (its history record was not written)."""

    message: str


@event("history-recorded")
@dataclass(frozen=True, kw_only=True)
class HistoryRecorded(Event):
    location: str


@event("evidence-written")
@dataclass(frozen=True, kw_only=True)
class EvidenceWritten(Event):
    directory: str
    manifest_sha256: str
    uploaded_to: str = ""


@event("listener-failed")
@dataclass(frozen=True, kw_only=True)
class ListenerFailed(Event):
    listener: str
    error: str


# --- scenarios and steps --------------------------------------------------------------


@event("test-started")
@dataclass(frozen=True, kw_only=True)
class TestStarted(ScenarioEvent):
    test: str = field()  # required: field() overrides the default a plain annotation would inherit
    feature: str = ""
    scenario: str = ""
    # Where the scenario is written, for annotations and Cucumber JSON: the feature file as reports name it
    # (relative to its repository's root, else absolute), the scenario's and the feature's lines, their tags.
    file: str = ""
    line: int = 0
    tags: list[str] = field(default_factory=list)
    feature_line: int = 0
    feature_tags: list[str] = field(default_factory=list)


@event("target-chosen")
@dataclass(frozen=True, kw_only=True)
class TargetChosen(ScenarioEvent):
    target: str = field()


@event("step-started")
@dataclass(frozen=True, kw_only=True)
class StepStarted(ScenarioEvent):
    keyword: str
    step: str
    line: int = 0  # in the feature file


@event("step-passed")
@dataclass(frozen=True, kw_only=True)
class StepPassed(ScenarioEvent):
    step: str
    duration_s: float | None = None


@event("step-failed")
@dataclass(frozen=True, kw_only=True)
class StepFailed(ScenarioEvent):
    step: str
    duration_s: float | None = None
    error: str = ""


@event("note")
@dataclass(frozen=True, kw_only=True)
class Note(ScenarioEvent):
    """A line for the reports: a verdict, what was restored. A measurement rides along when it is one."""

    line: str
    measurement: dict[str, Any] | None = None


@event("progress")
@dataclass(frozen=True, kw_only=True)
class Progress(ScenarioEvent):
    message: str


@event("timing-started")
@dataclass(frozen=True, kw_only=True)
class TimingStarted(ScenarioEvent):
    """A measured interval began, e.g. the recovery an RTO judges; the live view counts it against its objective."""

    figure: str
    objective_s: float | None = None


@event("timing-stopped")
@dataclass(frozen=True, kw_only=True)
class TimingStopped(ScenarioEvent):
    figure: str


@event("test-outcome")
@dataclass(frozen=True, kw_only=True)
class TestOutcome(ScenarioEvent):
    phase: str  # setup, call or teardown
    status: str  # passed, failed, error or skipped
    message: str = ""
    kind: str = ""  # why: objective-breached, drill-failure, aws-error, could-not-run, ...
    traceback: str = ""  # for whoever debugs drtool; reports show the message
    details: str = ""  # schema 1 only: what the traceback was called then


@event("test-finished")
@dataclass(frozen=True, kw_only=True)
class TestFinished(ScenarioEvent):
    """The scenario is over, teardown included."""


# --- resources and teardown --------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ResourceEvent(Event):
    scope: str  # the scenario (test id) that owns it, or "cleanup"
    kind: str
    identifier: str
    region: str
    target: str = ""
    arn: str | None = None


@event("resource-creating")
@dataclass(frozen=True, kw_only=True)
class ResourceCreating(ResourceEvent):
    """Written before the create call leaves the process, so even SIGKILL leaves the resource named."""


@event("resource-created")
@dataclass(frozen=True, kw_only=True)
class ResourceCreated(ResourceEvent):
    details: dict[str, Any] = field(default_factory=dict)


@event("resource-deleted")
@dataclass(frozen=True, kw_only=True)
class ResourceDeleted(ResourceEvent):
    existed: bool = True
    duration_s: float | None = None
    resource_run_id: str = ""  # cleanup: the run that created it
    unconfirmed: bool = False  # teardown left it: its create was never confirmed and its tags do not prove it this run's


@event("resource-delete-failed")
@dataclass(frozen=True, kw_only=True)
class ResourceDeleteFailed(ResourceEvent):
    error: str
    resource_run_id: str = ""


@event("teardown-started")
@dataclass(frozen=True, kw_only=True)
class TeardownStarted(Event):
    scope: str
    target: str = ""
    resources: list[dict[str, Any]] = field(default_factory=list)


@event("teardown-finished")
@dataclass(frozen=True, kw_only=True)
class TeardownFinished(Event):
    scope: str
    target: str = ""
    failures: list[str] = field(default_factory=list)


@event("signal-during-teardown")
@dataclass(frozen=True, kw_only=True)
class SignalDuringTeardown(Event):
    signal: str
    count: int
    pending: str


@event("cleanup-started")
@dataclass(frozen=True, kw_only=True)
class CleanupStarted(Event):
    resources: list[str] = field(default_factory=list)


@event("cleanup-finished")
@dataclass(frozen=True, kw_only=True)
class CleanupFinished(Event):
    failures: list[str] = field(default_factory=list)


@event("results-published")
@dataclass(frozen=True, kw_only=True)
class ResultsPublished(Event):
    """After the run: its results sent to a sink (CloudWatch, a Pushgateway, SNS), or why they could not be."""

    sink: str
    destination: str
    detail: str = ""  # what was sent: "17 datapoints", "message 1f0c..."
    error: str = ""  # empty when delivered


CORE_EVENTS: tuple[type[Event], ...] = (
    RunStarted, RunFinished, RunError, BudgetExceeded, PreflightPassed, ApiCalls, GuardRefusal, ListenerFailed,
    RunLockTaken, RunWarning, HistoryRecorded, EvidenceWritten,
    TestStarted, TargetChosen, StepStarted, StepPassed, StepFailed, Note, Progress, TimingStarted, TimingStopped,
    TestOutcome, TestFinished, ResourceCreating, ResourceCreated, ResourceDeleted, ResourceDeleteFailed,
    TeardownStarted, TeardownFinished, SignalDuringTeardown, CleanupStarted, CleanupFinished, ResultsPublished,
)
