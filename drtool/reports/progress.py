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
    """Keeps `scenarios` up to date from the journal; a view shows them, told of each record by `shown`."""

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
        run.journal.listeners.append(self.on_record)
        self.start()

    def start(self) -> None:
        """The run has begun: say which, and start showing."""

    def stop(self) -> None:
        """The run is over: the summary comes next, on a line of its own."""

    def shown(self, record: dict[str, Any], scenario: Scenario | None) -> None:
        """Show what `record` changed (called with the state already updated)."""

    def world_now(self) -> float:
        return self.run.clock.monotonic() if self.run is not None else 0.0

    def on_record(self, record: dict[str, Any]) -> None:
        # The journal calls its listeners one record at a time. Showing happens outside the lock, because
        # rich's Live takes its own lock and then ours to redraw; holding ours while printing could deadlock.
        with self._lock:
            scenario = self._update(record)
        self.shown(record, scenario)

    def _update(self, record: dict[str, Any]) -> Scenario | None:
        event, test = record["event"], record.get("test")
        if event == "test-started":
            self.scenarios[test] = Scenario(record.get("target") or "-", record.get("scenario", ""), record["mono"])
            return self.scenarios[test]
        scenario = self.scenarios.get(test) if test else self._running_for(record.get("target"), record.get("scope"))
        if scenario is None:
            return None
        if event == "target-chosen" and scenario.target == "-":
            scenario.target = record["target"]
        elif event == "step-started":
            scenario.step, scenario.step_started_mono, scenario.detail = f"{record['keyword']} {record['step']}", record["mono"], ""
        elif event == "timing-started":
            scenario.figure, scenario.objective_s = record["figure"], record.get("objective_s")
            scenario.timing_started_mono, scenario.timing_stopped_mono = record["mono"], None
        elif event == "timing-stopped":
            scenario.timing_stopped_mono = record["mono"]
        elif event == "progress":
            scenario.detail = record["message"]
        elif event == "teardown-started":
            scenario.step, scenario.step_started_mono = "teardown", record["mono"]
            scenario.detail = ", ".join(r["identifier"] for r in record["resources"])
        elif event == "resource-deleted":
            scenario.detail = f"deleted {record['identifier']}"
        elif event == "test-outcome" and record["status"] != "passed":
            scenario.done = record["status"]
        elif event == "test-finished":
            scenario.finished_mono = record["mono"]
            if scenario.timing_started_mono is not None and scenario.timing_stopped_mono is None:
                scenario.timing_stopped_mono = record["mono"]
            scenario.done = scenario.done or "passed"
            scenario.step, scenario.detail = "finished", ""
        return scenario

    def _running_for(self, target: str | None, scope: str | None) -> Scenario | None:
        """Drill logic records by target (teardown by scope); the scenario drilling it is the unfinished one."""
        if scope in self.scenarios:
            return self.scenarios[scope]
        running = [s for s in self.scenarios.values() if s.target == target and s.finished_mono is None]
        return running[-1] if running else None

    def running(self) -> list[Scenario]:
        with self._lock:
            return [s for s in self.scenarios.values() if s.finished_mono is None]


def run_heading(run: Any) -> str:
    drill = run.drill
    return f"drtool: drill {drill.drill} from {run.loaded.path} ({drill.primary_region} -> {drill.dr_region}), run {run.run_id}"
