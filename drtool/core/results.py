"""Results of a run, folded from its events by their handlers. Every report renders from these.

The core's handlers build scenarios, steps, outcomes, API-call counts, guard
refusals and resource lifetimes. A family adds handlers for its own events
(see `Family.result_handlers`); an event nobody handles is kept in the journal
and ignored here, so a newer journal still reads.

One fold (`LiveResult`) serves both ways of reading a run: a running drill
applies each event as it is emitted (`DrillRun.result`), and `summarize`
applies the events of a journal read back from disk (`drtool report`).
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any, Callable

from drtool.core import events as ev
from drtool.core.events import SCHEMA_VERSION, Emitted, Event, by_name, read_emitted
from drtool.core.registry import FamilyRegistry, families

PASSED, FAILED, ERROR, SKIPPED, INTERRUPTED = "passed", "failed", "error", "skipped", "interrupted"
_SEVERITY = {PASSED: 0, SKIPPED: 0, FAILED: 2, ERROR: 1, INTERRUPTED: 3}


class ExitCode(IntEnum):
    MET = 0  # every drill met its objectives
    FAILED = 1  # a drill failed or breached an objective
    INVALID_INPUT = 2  # bad drill file or arguments; nothing was run
    COULD_NOT_RUN = 3  # credentials, endpoint or permissions
    INTERRUPTED = 130  # stopped by Ctrl-C or SIGTERM (after teardown)


# What a handler is told of when an event was written: its envelope (seq, at, mono, run_id).
Stamp = Emitted
# Before schema 3 a family's events could leave `test` empty: they are the running scenario's of their target.
NAMED_SCENARIOS_SCHEMA = 3


@dataclass
class StepResult:
    keyword: str
    name: str
    status: str = "running"
    started_mono: float = 0.0
    duration_s: float | None = None
    error: str | None = None
    line: int = 0
    notes: list[str] = field(default_factory=list)  # the report lines written while this step ran


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    mono: float
    text: str


@dataclass
class TimedInterval:
    """An interval a scenario measured (the recovery an RTO judges), or its teardown; run-clock seconds."""

    label: str  # the figure, e.g. "RTO", or "teardown"
    started_mono: float
    stopped_mono: float | None = None  # None: still open when the scenario ended
    objective_s: float | None = None


@dataclass
class ResourceLifetime:
    """One resource a run created: when it was asked for, when it existed, when it went (or why it did not)."""

    kind: str
    identifier: str
    region: str
    scope: str
    target: str = ""
    requested_at: datetime | None = None
    created_at: datetime | None = None
    deleted_at: datetime | None = None
    existed: bool | None = None
    delete_error: str = ""

    @property
    def left_behind(self) -> bool:
        return self.deleted_at is None


@dataclass
class TestResult:
    __test__ = False

    test_id: str
    feature: str = ""
    scenario: str = ""
    target: str = ""
    file: str = ""  # the feature file, as reports name it
    line: int = 0  # the scenario's line in it
    tags: list[str] = field(default_factory=list)
    feature_line: int = 0
    feature_tags: list[str] = field(default_factory=list)
    status: str = "running"
    kind: str = ""  # why it failed or erred: the verdict's kind
    message: str = ""
    traceback: str = ""
    started_mono: float | None = None
    finished_mono: float | None = None
    last_mono: float | None = None  # the last record of this scenario: where an interrupted one stopped
    steps: list[StepResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    measurements: list[dict[str, Any]] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)
    intervals: list[TimedInterval] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        # A scenario cut short (SIGTERM, a killed run) has no test-finished record: it ran until its last record.
        ended = self.finished_mono if self.finished_mono is not None else self.last_mono
        if self.started_mono is None or ended is None:
            return 0.0
        return ended - self.started_mono

    def worsen(self, status: str, message: str, kind: str = "", traceback: str = "") -> None:
        """Keep the worst outcome, but never drop a message: a teardown error after a failure stays visible."""
        if _SEVERITY.get(status, 0) >= _SEVERITY.get(self.status, 0) or self.status in ("running", PASSED):
            self.status = status
            self.kind = kind or self.kind
        if message:
            self.message = f"{self.message}; {message}" if self.message else message
        if traceback:
            self.traceback = f"{self.traceback}\n{traceback}" if self.traceback else traceback


@dataclass
class RunResult:
    run_id: str = ""
    drill: str = ""
    drill_file: str = ""
    primary_region: str = ""
    dr_region: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    schema: int = 1
    started_at: datetime | None = None
    finished_at: datetime | None = None
    time_scale: float = 1.0
    tests: dict[str, TestResult] = field(default_factory=dict)
    run_errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # about the journal itself, not the drill
    interrupted: bool = False
    budget_exceeded: str = ""
    figures: list[str] = field(default_factory=list)  # what the drill's families measure, in column order
    target_kinds: dict[str, str] = field(default_factory=dict)  # target name -> its kind
    api_calls: dict[str, Any] = field(default_factory=dict)
    guard_refusals: list[ev.GuardRefusal] = field(default_factory=list)
    resources: dict[tuple[str, str, str], ResourceLifetime] = field(default_factory=dict)
    publishing: list[ev.ResultsPublished] = field(default_factory=list)  # after the run; a failure is only a warning

    @property
    def leftovers(self) -> list[str]:
        """What the journal says was created and never deleted."""
        return [f"{r.kind} {r.identifier} in {r.region}" for r in self.resources.values() if r.left_behind]

    def counts(self) -> dict[str, int]:
        tally = {PASSED: 0, FAILED: 0, ERROR: 0, SKIPPED: 0, INTERRUPTED: 0}
        for test in self.tests.values():
            tally[test.status if test.status in tally else INTERRUPTED] += 1
        return tally

    @property
    def duration_s(self) -> float:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return 0.0

    def real_seconds(self, world_seconds: float) -> float:
        """Real (wall) seconds for a world interval: the sandbox's world clock runs `time_scale` times faster."""
        return world_seconds / self.time_scale if self.time_scale > 0 else world_seconds

    def exit_code(self) -> ExitCode:
        counts = self.counts()
        if counts[FAILED] or self.budget_exceeded:
            return ExitCode.FAILED
        if self.interrupted or counts[INTERRUPTED]:
            return ExitCode.INTERRUPTED
        # A refused call means the drill tried to change what it does not own: never MET, even if a step caught it.
        if counts[ERROR] or self.run_errors or self.leftovers or self.guard_refusals:
            return ExitCode.COULD_NOT_RUN
        if not self.tests:
            return ExitCode.COULD_NOT_RUN
        return ExitCode.MET

    def test_of(self, event: Event) -> TestResult | None:
        """The scenario an event belongs to: the one its `test` (or `scope`) names."""
        test_id = getattr(event, "test", None) or getattr(event, "scope", None)
        if test_id in self.tests:
            return self.tests[test_id]
        if self.schema >= NAMED_SCENARIOS_SCHEMA:
            return None
        target = getattr(event, "target", None)  # an older journal: the running scenario of its target
        running = [t for t in self.tests.values() if target and t.target == target and t.finished_mono is None]
        return running[-1] if running else None

    def resource(self, event: ev.ResourceEvent) -> ResourceLifetime:
        key = (event.kind, event.identifier, event.region)
        if key not in self.resources:
            self.resources[key] = ResourceLifetime(event.kind, event.identifier, event.region, event.scope, event.target)
        return self.resources[key]


Handler = Callable[[RunResult, Any, Stamp], None]
CORE_HANDLERS: dict[type[Event], Handler] = {}


def handles(event_type: type[Event]) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        CORE_HANDLERS[event_type] = handler
        return handler

    return register


@handles(ev.RunStarted)
def _run_started(result: RunResult, event: ev.RunStarted, stamp: Stamp) -> None:
    result.drill, result.drill_file, result.schema = event.drill, event.drill_file, event.schema
    result.primary_region, result.dr_region, result.versions = event.primary_region, event.dr_region, dict(event.versions)
    result.started_at, result.time_scale, result.figures = stamp.at, event.time_scale, list(event.figures)
    result.target_kinds = dict(event.targets)
    if event.schema > SCHEMA_VERSION:
        result.warnings.append(
            f"this journal has schema {event.schema}, newer than this drtool reads ({SCHEMA_VERSION}): "
            "events it does not know are left out"
        )


@handles(ev.RunFinished)
def _run_finished(result: RunResult, event: ev.RunFinished, stamp: Stamp) -> None:
    result.finished_at, result.interrupted = stamp.at, event.interrupted


@handles(ev.BudgetExceeded)
def _budget_exceeded(result: RunResult, event: ev.BudgetExceeded, stamp: Stamp) -> None:
    result.budget_exceeded = event.message


@handles(ev.RunError)
def _run_error(result: RunResult, event: ev.RunError, stamp: Stamp) -> None:
    result.run_errors.append(event.error)


@handles(ev.ApiCalls)
def _api_calls(result: RunResult, event: ev.ApiCalls, stamp: Stamp) -> None:
    result.api_calls = event.fields()


@handles(ev.GuardRefusal)
def _guard_refused(result: RunResult, event: ev.GuardRefusal, stamp: Stamp) -> None:
    result.guard_refusals.append(event)


@handles(ev.ResultsPublished)
def _published(result: RunResult, event: ev.ResultsPublished, stamp: Stamp) -> None:
    result.publishing.append(event)


@handles(ev.TestStarted)
def _test_started(result: RunResult, event: ev.TestStarted, stamp: Stamp) -> None:
    result.tests[event.test] = TestResult(
        event.test, event.feature, event.scenario, event.target, file=event.file, line=event.line, tags=list(event.tags),
        feature_line=event.feature_line, feature_tags=list(event.feature_tags), started_mono=stamp.mono,
    )


def on_timeline(text: str) -> Handler:
    """A handler that puts an event on its scenario's timeline: `text` is formatted with the event's fields."""

    def handle(result: RunResult, event: Event, stamp: Stamp) -> None:
        test = result.test_of(event)
        if test is not None:
            test.timeline.append(TimelineEntry(stamp.at, stamp.mono, text.format(**event.fields())))

    return handle


def _for_test(handler: Callable[[TestResult, Any, Stamp], None]) -> Handler:
    def handle(result: RunResult, event: Event, stamp: Stamp) -> None:
        test = result.test_of(event)
        if test is not None:
            handler(test, event, stamp)

    return handle


def _target_chosen(test: TestResult, event: ev.TargetChosen, stamp: Stamp) -> None:
    test.target = test.target or event.target


def _step_started(test: TestResult, event: ev.StepStarted, stamp: Stamp) -> None:
    test.steps.append(StepResult(event.keyword, event.step, started_mono=stamp.mono, line=event.line))


def _step_ended(test: TestResult, event: ev.StepPassed | ev.StepFailed, stamp: Stamp) -> None:
    if not test.steps:
        return
    step = test.steps[-1]
    step.status = "failed" if isinstance(event, ev.StepFailed) else "passed"
    step.duration_s = event.duration_s or stamp.mono - step.started_mono
    step.error = getattr(event, "error", None)


def _note(test: TestResult, event: ev.Note, stamp: Stamp) -> None:
    test.notes.append(event.line)
    if test.steps and test.steps[-1].status == "running":
        test.steps[-1].notes.append(event.line)
    if event.measurement is not None:
        test.measurements.append(event.measurement)


def _timing_started(test: TestResult, event: ev.TimingStarted, stamp: Stamp) -> None:
    test.intervals.append(TimedInterval(event.figure, stamp.mono, objective_s=event.objective_s))


def _teardown_started(test: TestResult, event: ev.TeardownStarted, stamp: Stamp) -> None:
    test.intervals.append(TimedInterval("teardown", stamp.mono))


def _interval_stopped(label: Callable[[Any], str]) -> Callable[[TestResult, Any, Stamp], None]:
    def stop(test: TestResult, event: Any, stamp: Stamp) -> None:
        open_ = next((i for i in reversed(test.intervals) if i.label == label(event) and i.stopped_mono is None), None)
        if open_ is not None:
            open_.stopped_mono = stamp.mono

    return stop


def _outcome(test: TestResult, event: ev.TestOutcome, stamp: Stamp) -> None:
    test.worsen(event.status, event.message, event.kind, event.traceback or event.details)


def _test_finished(test: TestResult, event: ev.TestFinished, stamp: Stamp) -> None:
    test.finished_mono = stamp.mono
    if test.status == "running":
        test.status = PASSED


for _type, _handler in (
    (ev.TargetChosen, _target_chosen), (ev.StepStarted, _step_started), (ev.StepPassed, _step_ended),
    (ev.StepFailed, _step_ended), (ev.Note, _note), (ev.TestOutcome, _outcome), (ev.TestFinished, _test_finished),
    (ev.TimingStarted, _timing_started), (ev.TimingStopped, _interval_stopped(lambda event: event.figure)),
    (ev.TeardownStarted, _teardown_started), (ev.TeardownFinished, _interval_stopped(lambda event: "teardown")),
):
    CORE_HANDLERS[_type] = _for_test(_handler)


@handles(ev.ResourceCreating)
def _resource_creating(result: RunResult, event: ev.ResourceCreating, stamp: Stamp) -> None:
    result.resource(event).requested_at = stamp.at


@handles(ev.ResourceCreated)
def _resource_created(result: RunResult, event: ev.ResourceCreated, stamp: Stamp) -> None:
    resource = result.resource(event)
    resource.created_at = stamp.at
    test = result.test_of(event)
    if test is not None:
        test.timeline.append(TimelineEntry(stamp.at, stamp.mono, f"created {event.kind} {event.identifier} in {event.region}"))


@handles(ev.ResourceDeleted)
def _resource_deleted(result: RunResult, event: ev.ResourceDeleted, stamp: Stamp) -> None:
    resource = result.resource(event)
    resource.deleted_at, resource.existed, resource.delete_error = stamp.at, event.existed, ""


@handles(ev.ResourceDeleteFailed)
def _resource_delete_failed(result: RunResult, event: ev.ResourceDeleteFailed, stamp: Stamp) -> None:
    result.resource(event).delete_error = event.error


class LiveResult:
    """The run's result, folded one event at a time: `apply` each as it is written, `result()` for the result so far.

    A drill run registers one as its journal's first listener, so its result is current at every moment and
    the end of the run reads it instead of re-reading the journal. A handler that raises fails the fold for
    good: `result()` then raises too, rather than return a result short of what the journal holds.
    """

    def __init__(self, registry: FamilyRegistry | None = None):
        self.registry = registry or families()
        self.types = by_name((*ev.CORE_EVENTS, *self.registry.events))
        self._handlers = {**CORE_HANDLERS, **self.registry.result_handlers}
        self._result = RunResult()
        self.failure: Exception | None = None
        self._lock = threading.Lock()  # a result read from another thread is never one half-applied

    def __call__(self, emitted: Emitted) -> None:
        self.apply(emitted)

    def apply(self, emitted: Emitted) -> None:
        with self._lock:
            if self.failure is not None:
                return
            try:
                self._apply(emitted)
            except Exception as exc:
                self.failure = exc
                raise

    def _apply(self, emitted: Emitted) -> None:
        result, event = self._result, emitted.event
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(result, event, emitted)
        test = result.test_of(event)
        if test is not None and test.finished_mono is None:
            test.last_mono = emitted.mono
        if isinstance(event, ev.RunStarted):
            result.run_id = emitted.run_id

    def warn(self, warning: str) -> None:
        """Something about the journal itself: a record that could not be read."""
        with self._lock:
            self._result.warnings.append(warning)

    def result(self) -> RunResult:
        """The result so far, as a finished run's: a scenario still running reads as interrupted (the live fold
        goes on unchanged)."""
        with self._lock:
            if self.failure is not None:
                raise RuntimeError(f"the run's results could not take in an event: {self.failure!r}") from self.failure
            result = copy.deepcopy(self._result)
        for test in result.tests.values():
            if test.status == "running":
                running = next((s for s in reversed(test.steps) if s.status == "running"), None)
                where = f" during step '{running.keyword} {running.name}'" if running else ""
                test.worsen(INTERRUPTED, f"interrupted{where}")
            for step in test.steps:
                if step.status == "running":
                    step.status = "interrupted"
        return result


def summarize(records: list[dict[str, Any]], registry: FamilyRegistry | None = None) -> RunResult:
    """The result of a journal read back: the same fold a running drill applies as it goes."""
    live = LiveResult(registry)
    for record in records:
        try:
            emitted = read_emitted(record, live.types)
        except ev.MalformedRecord as exc:
            live.warn(str(exc))
            continue
        if emitted is not None:
            live.apply(emitted)
    return live.result()
