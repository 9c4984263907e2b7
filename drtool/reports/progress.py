"""What `drtool run` shows while a drill runs: each scenario, its current step, and the interval it is timing.

A pytest plugin object that listens to the run journal; it never touches AWS, and a failure in it cannot
break a drill (the journal drops broken listeners). Two views share this state: a live table on a terminal
(live.py) and plain lines for CI logs (log.py).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable

import pytest

from drtool.core import events as ev
from drtool.core.events import Emitted
from drtool.reports.figures import Verbosity


@dataclass
class Scenario:
    """One running or finished scenario, as the journal has told of it so far."""

    target: str
    scenario: str
    started_mono: float
    step: str = "starting"
    step_started_mono: float | None = None
    detail: str = ""  # the latest progress message, or what teardown deletes
    figure: str = ""  # what the timed interval measures, e.g. "RTO"
    objective_s: float | None = None
    timing_started_mono: float | None = None
    timing_stopped_mono: float | None = None
    done: str = ""
    finished_mono: float | None = None

    def timed(self, now: float) -> float | None:
        """How long the family's measured interval has run (for RDS: the recovery its RTO judges)."""
        if self.timing_started_mono is None:
            return None
        end = self.timing_stopped_mono if self.timing_stopped_mono is not None else now
        return max(0.0, end - self.timing_started_mono)


class ProgressView:
    """Keeps `scenarios` up to date from the journal's events; a view shows them, told of each event by `shown`."""

    def __init__(self, run_of: Callable[[pytest.Config], Any], verbosity: Verbosity = Verbosity.NORMAL):
        # How to find the drill run in a pytest session; the runner knows, reports sit below it.
        self._run_of = run_of
        self.verbosity = verbosity
        self.scenarios: dict[str, Scenario] = {}
        self._lock = threading.RLock()
        self.run: Any = None

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        # The run starts once collection found scenarios (the drtool plugin's own pytest_collection_finish).
        run = self._run_of(session.config)
        if run is not None:
            self.attach(run)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.run is not None:
            self.stop()

    def attach(self, run: Any) -> None:
        self.run = run
        run.journal.listeners.append(self.on_event)
        self.start()

    def start(self) -> None:
        """The run has begun: say which, and start showing."""

    def stop(self) -> None:
        """The run is over: the summary comes next, on a line of its own."""

    def shown(self, emitted: Emitted, scenario: Scenario | None) -> None:
        """Show what the event changed (called with the state already updated)."""

    def world_now(self) -> float:
        return self.run.clock.monotonic() if self.run is not None else 0.0

    def on_event(self, emitted: Emitted) -> None:
        # The journal calls its listeners one event at a time. Showing happens outside the lock, because
        # rich's Live takes its own lock and then ours to redraw; holding ours while printing could deadlock.
        with self._lock:
            scenario = self._update(emitted)
        self.shown(emitted, scenario)

    def _update(self, emitted: Emitted) -> Scenario | None:
        event, mono = emitted.event, emitted.mono
        if isinstance(event, ev.TestStarted):
            self.scenarios[event.test] = Scenario(event.target or "-", event.scenario, mono)
            return self.scenarios[event.test]
        # Every event of a scenario names it (the journal sees to that): no guessing from its target.
        scenario = self.scenarios.get(emitted.test)
        if scenario is None:
            return None
        match event:
            case ev.TargetChosen(target=target) if scenario.target == "-":
                scenario.target = target
            case ev.StepStarted(keyword=keyword, step=step):
                scenario.step, scenario.step_started_mono, scenario.detail = f"{keyword} {step}", mono, ""
            case ev.TimingStarted(figure=figure, objective_s=objective_s):
                scenario.figure, scenario.objective_s = figure, objective_s
                scenario.timing_started_mono, scenario.timing_stopped_mono = mono, None
            case ev.TimingStopped():
                scenario.timing_stopped_mono = mono
            case ev.Progress(message=message):
                scenario.detail = message
            case ev.TeardownStarted(resources=resources):
                scenario.step, scenario.step_started_mono = "teardown", mono
                scenario.detail = ", ".join(r["identifier"] for r in resources)
            case ev.ResourceDeleted(identifier=identifier):
                scenario.detail = f"deleted {identifier}"
            case ev.TestOutcome(status=status) if status != "passed":
                scenario.done = status
            case ev.TestFinished():
                scenario.finished_mono = mono
                if scenario.timing_started_mono is not None and scenario.timing_stopped_mono is None:
                    scenario.timing_stopped_mono = mono
                scenario.done = scenario.done or "passed"
                scenario.step, scenario.detail = "finished", ""
        return scenario

    def running(self) -> list[Scenario]:
        with self._lock:
            return [s for s in self.scenarios.values() if s.finished_mono is None]


def run_heading(run: Any) -> str:
    drill = run.drill
    return f"drtool: drill {drill.drill} from {run.loaded.path} ({drill.primary_region} -> {drill.dr_region}), run {run.run_id}"
