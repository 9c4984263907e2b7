"""One drill run: its id, journal, clock and AWS access, shared by every scenario in it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from drtool.core.api_budget import ApiBudget
from drtool.core.clock import Clock, clock_from_environment
from drtool.core.errors import remember_call_region
from drtool.core.events import SCHEMA_VERSION, Emitted, Event, GuardRefusal, ListenerFailed, Note, Progress, RunStarted, in_scenario
from drtool.core.guard import Guard
from drtool.core.reach import ProcessHooks
from drtool.core.redact import LogRedaction
from drtool.core.journal import Journal, new_run_id, runtime_versions
from drtool.core.registry import families
from drtool.core.results import LiveResult, RunResult
from drtool.core.session import SessionFactory
from drtool.core.stats import ApiCallStats
from drtool.core.ownership import Ownership
from drtool.core.teardown import Teardown

if TYPE_CHECKING:  # the drill file model composes every family's targets, so it sits above the core
    from drtool.drill.file import LoadedDrill, Target

Listener = Callable[[Emitted], None]


class ListenedJournal(Journal):
    """A journal that also tells listeners (the run's result, the live display) about each event, typed.

    A broken listener is dropped with a note in the journal; it never breaks the run.
    """

    def __init__(self, path: Path, run_id: str, clock: Clock):
        super().__init__(path, run_id, clock)
        self.listeners: list[Listener] = []

    def _written(self, emitted: Emitted) -> None:
        for listener in list(self.listeners):
            try:
                listener(emitted)
            except Exception as exc:  # a reporter must not crash a drill
                self.listeners.remove(listener)
                self._append(ListenerFailed.event_name, ListenerFailed(listener=repr(listener), error=repr(exc)).fields(),
                             ListenerFailed)


@dataclass
class DrillRun:
    loaded: LoadedDrill
    journal: ListenedJournal
    clock: Clock
    aws: SessionFactory
    run_id: str
    api_stats: ApiCallStats = field(default_factory=ApiCallStats)
    api_budget: ApiBudget = field(default_factory=ApiBudget)
    # What this run's create calls confirmed they made: the guard's proof for teardown's deletes.
    ownership: Ownership = field(default_factory=Ownership)
    process_hooks: ProcessHooks | None = None
    log_redaction: LogRedaction | None = None
    live: LiveResult = field(default_factory=LiveResult)  # every event folded in as it is written
    _shared: dict[Any, Any] = field(default_factory=dict)

    @classmethod
    def start(
        cls,
        loaded: LoadedDrill,
        journal_dir: Path,
        *,
        run_id: str | None = None,
        clock: Clock | None = None,
        aws: SessionFactory | None = None,
    ) -> "DrillRun":
        run_id = run_id or new_run_id()
        clock = clock or clock_from_environment()
        stamp_path = journal_dir / f"{clock.now().strftime('%Y%m%dT%H%M%SZ')}-{run_id}.jsonl"
        journal = ListenedJournal(stamp_path, run_id, clock)
        run = cls(loaded, journal, clock, aws or SessionFactory(loaded.drill.aws), run_id,
                  api_budget=ApiBudget(share=loaded.drill.concurrency.api_share))
        journal.listeners.append(run.live)  # first, so that the result has each event before any view shows it
        run.aws.add_client_hook(run.api_stats.attach)
        run.aws.add_client_hook(run.api_budget.attach)
        run.aws.add_client_hook(remember_call_region)
        guard = Guard(
            run_id=run_id,
            dr_region=loaded.drill.dr_region,
            lookup=run.aws.client,
            ownership=run.ownership,
            on_refusal=lambda call, message: journal.emit(GuardRefusal(service=call.service, operation=call.operation, region=call.region, reason=message)),
        )
        run.aws.add_client_hook(guard.attach)
        drill = loaded.drill
        journal.emit(RunStarted(
            drill=drill.drill,
            drill_file=str(loaded.path),
            drill_sha256=loaded.sha256,
            primary_region=drill.primary_region,
            dr_region=drill.dr_region,
            targets={name: target.kind for name, target in drill.targets.items()},
            # The figures the drill's families measure: the reports' columns, even for a run that measured nothing.
            figures=list(dict.fromkeys(f for t in drill.targets.values() for f in families().get(t.kind).figures)),
            time_scale=clock.scale,
            versions=runtime_versions(),
            schema=SCHEMA_VERSION,
        ))
        return run

    @property
    def drill(self):
        return self.loaded.drill

    def shared(self, key: Any, make: Callable[[], Any]) -> Any:
        """One object per run for `key`: what scenarios of different targets share, such as a batched poller."""
        found = self._shared.get(key)
        if found is None:
            found = self._shared[key] = make()
        return found

    @property
    def result(self) -> RunResult:
        """The run's result as of its latest event, read as a finished run's (see LiveResult.result)."""
        return self.live.result()

    def guard_process(self) -> None:
        """For the drill's duration: any other botocore client in the process (a step's own `boto3.client`, ...)
        goes through this run's hooks, and botocore's and urllib3's log records are scrubbed of secrets.

        The plugin calls it once the run starts; a test that drives a DrillRun in its own process does not."""
        if self.process_hooks is None:
            self.process_hooks = ProcessHooks(self.aws.client_hooks).install()
            self.log_redaction = LogRedaction().install()

    def end_process_hooks(self) -> None:
        """The drill is over: clients made from now on (publishing, history, evidence) keep only their own guards."""
        if self.process_hooks is not None:
            self.process_hooks.remove()

    def end(self) -> None:
        """After everything the run writes: stop guarding the process and scrubbing botocore's logs."""
        self.end_process_hooks()
        if self.log_redaction is not None:
            self.log_redaction.remove()


@dataclass
class TargetRun:
    """One scenario's view of one target: its name, settings and teardown stack."""

    run: DrillRun
    name: str
    target: Target
    test_id: str
    teardown: Teardown
    notes: list[str] = field(default_factory=list)

    def client(self, service: str, region: str) -> Any:
        return self.run.aws.client(service, region)

    def as_role(self, role_arn: str, *, external_id: str | None = None, session_name: str | None = None) -> SessionFactory:
        """Guarded, counted clients acting as another principal: `target.as_role(arn).client("kms", region)`."""
        return self.run.aws.as_role(role_arn, external_id=external_id, session_name=session_name)

    def emit(self, event: Event) -> None:
        """Journal a family's event as this scenario's and this target's (a scenario may drill more than one)."""
        self.run.journal.emit(in_scenario(event, self.test_id, self.name))

    def note(self, line: str, measurement: dict[str, Any] | None = None) -> None:
        """A line for the reports (verdicts, what was restored), kept in the journal."""
        self.notes.append(line)
        self.emit(Note(line=line, measurement=measurement))

    def progress(self, message: str) -> None:
        self.emit(Progress(message=message))
