"""Progress as plain lines, for CI logs and anything else that is not a terminal.

One line when a scenario or step starts and ends, with the target, the scenario and the run's elapsed
(world) time; a heartbeat when nothing was printed for HEARTBEAT_S real seconds, so an hour-long restore is
never a silent log (and CI's no-output timeouts do not fire). No ANSI codes, no redraws.
"""

from __future__ import annotations

import threading
import time
from typing import IO, Any, Callable

import pytest

from drtool.core import events as ev
from drtool.core.clock import format_duration
from drtool.core.events import Emitted
from drtool.reports.figures import Verbosity, label
from drtool.reports.progress import ProgressView, Scenario, run_heading

HEARTBEAT_S = 30.0  # real seconds of silence before a heartbeat: well inside "a line at least every minute"


class LogProgress(ProgressView):
    def __init__(self, stream: IO[str], run_of: Callable[[pytest.Config], Any], verbosity: Verbosity = Verbosity.NORMAL,
                 *, heartbeat_s: float = HEARTBEAT_S, real_clock: Callable[[], float] = time.monotonic):
        super().__init__(run_of, verbosity)
        self.stream = stream
        self.heartbeat_s = heartbeat_s
        self._real_clock = real_clock  # heartbeats keep to real time, whatever the world clock does
        self._last_line = real_clock()
        self._origin = 0.0
        self._stopping = threading.Event()
        self._beater: threading.Thread | None = None

    def start(self) -> None:
        self._origin = self.world_now()
        self._write(run_heading(self.run))
        self._beater = threading.Thread(target=self._beat_until_stopped, name="drtool-heartbeat", daemon=True)
        self._beater.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._beater is not None:
            self._beater.join(timeout=5)

    def _beat_until_stopped(self) -> None:
        while not self._stopping.wait(min(5.0, self.heartbeat_s)):
            self.beat()

    def beat(self) -> None:
        """A heartbeat line for each running scenario, if nothing was printed for `heartbeat_s` real seconds."""
        with self._lock:
            if self._real_clock() - self._last_line < self.heartbeat_s:
                return
            now = self.world_now()
            running = self.running()
            if not running:
                self._write(f"[+{format_duration(now - self._origin)}] still running")
            for scenario in running:
                self._write(self._line(now, scenario, self._waiting(now, scenario)))

    def _waiting(self, now: float, scenario: Scenario) -> str:
        text = f"still running: {scenario.step}"
        if scenario.step_started_mono is not None:
            text += f" (for {format_duration(now - scenario.step_started_mono)})"
        timed = scenario.timed(now)
        if timed is not None:
            text += f"; {scenario.figure} {format_duration(timed)}"
            text += f" / {format_duration(scenario.objective_s)}" if scenario.objective_s else ""
        return text + (f"; {scenario.detail}" if scenario.detail else "")

    def shown(self, emitted: Emitted, scenario: Scenario | None) -> None:
        if scenario is None:
            return
        text = self._say(emitted, scenario)
        if text:
            self._write(self._line(emitted.mono, scenario, text))

    def _say(self, emitted: Emitted, scenario: Scenario) -> str | None:
        match emitted.event:
            case ev.TestStarted():
                return "scenario started"
            case ev.StepStarted():
                return f"step started: {scenario.step}"
            case ev.StepPassed() | ev.StepFailed() as step:
                took = f" in {format_duration(step.duration_s)}" if step.duration_s is not None else ""
                error = f": {step.error}" if isinstance(step, ev.StepFailed) and step.error else ""
                return f"step {'failed' if isinstance(step, ev.StepFailed) else 'passed'}{took}: {scenario.step}{error}"
            case ev.TimingStopped() if scenario.timing_started_mono is not None:
                budget = f" / {format_duration(scenario.objective_s)}" if scenario.objective_s else ""
                return f"timed {scenario.figure} {format_duration(emitted.mono - scenario.timing_started_mono)}{budget}"
            case ev.TeardownStarted():
                return f"teardown started: {scenario.detail}"
            case ev.ResourceDeleted(kind=kind, identifier=identifier, region=region):
                return f"deleted {kind} {identifier} in {region}"
            case ev.ResourceDeleteFailed(error=error):
                return f"teardown FAILED: {error}"
            case ev.TestOutcome(status=status, phase=phase, message=message) if status != "passed":
                return f"{label(status)} ({phase}): {message}"
            case ev.TestFinished():
                return f"{label(scenario.done)} in {format_duration(emitted.mono - scenario.started_mono)}"
            case ev.Note(line=line) if self.verbosity >= Verbosity.VERBOSE:
                return f"note: {line}"
            case ev.Progress(message=message) if self.verbosity >= Verbosity.VERBOSE:
                return f"progress: {message}"
        return None

    def _line(self, mono: float, scenario: Scenario, text: str) -> str:
        # One event, one line: a multi-line message would read as several events in a log.
        return f"[+{format_duration(mono - self._origin)}] {scenario.target} | {scenario.scenario} | {' '.join(text.split())}"

    def _write(self, line: str) -> None:
        with self._lock:
            self.stream.write(line + "\n")
            self.stream.flush()
            self._last_line = self._real_clock()
