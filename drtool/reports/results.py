"""Results of a run, rebuilt from its journal. Every report renders from these."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any

PASSED, FAILED, ERROR, SKIPPED, INTERRUPTED = "passed", "failed", "error", "skipped", "interrupted"
_SEVERITY = {PASSED: 0, SKIPPED: 0, FAILED: 2, ERROR: 1, INTERRUPTED: 3}


class ExitCode(IntEnum):
    MET = 0  # every drill met its objectives
    FAILED = 1  # a drill failed or breached an objective
    INVALID_INPUT = 2  # bad drill file or arguments; nothing was run
    COULD_NOT_RUN = 3  # credentials, endpoint or permissions
    INTERRUPTED = 130  # stopped by Ctrl-C or SIGTERM (after teardown)


@dataclass
class StepResult:
    keyword: str
    name: str
    status: str = "running"
    started_mono: float = 0.0
    duration_s: float | None = None
    error: str | None = None


@dataclass
class TestResult:
    test_id: str
    feature: str = ""
    scenario: str = ""
    target: str = ""
    status: str = "running"
    message: str = ""
    details: str = ""
    started_mono: float | None = None
    finished_mono: float | None = None
    steps: list[StepResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    measurements: list[dict[str, Any]] = field(default_factory=list)
    resources: list[str] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        if self.started_mono is None or self.finished_mono is None:
            return 0.0
        return self.finished_mono - self.started_mono

    def worsen(self, status: str, message: str, details: str = "") -> None:
        """Keep the worst outcome, but never drop a message: a teardown error after a failure stays visible."""
        if _SEVERITY.get(status, 0) >= _SEVERITY.get(self.status, 0) or self.status in ("running", PASSED):
            self.status = status
        if message:
            self.message = f"{self.message}; {message}" if self.message else message
        if details:
            self.details = f"{self.details}\n{details}" if self.details else details


@dataclass
class RunResult:
    run_id: str = ""
    drill: str = ""
    drill_file: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    time_scale: float = 1.0
    tests: dict[str, TestResult] = field(default_factory=dict)
    run_errors: list[str] = field(default_factory=list)
    interrupted: bool = False
    budget_exceeded: str = ""
    leftovers: list[str] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)  # what the drill's families measure, in column order

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

    def exit_code(self) -> ExitCode:
        counts = self.counts()
        if counts[FAILED] or self.budget_exceeded:
            return ExitCode.FAILED
        if self.interrupted or counts[INTERRUPTED]:
            return ExitCode.INTERRUPTED
        if counts[ERROR] or self.run_errors or self.leftovers:
            return ExitCode.COULD_NOT_RUN
        if not self.tests:
            return ExitCode.COULD_NOT_RUN
        return ExitCode.MET


def summarize(records: list[dict[str, Any]]) -> RunResult:
    result = RunResult()
    for record in records:
        event = record["event"]
        test_id = record.get("test")
        test = result.tests.get(test_id) if test_id else None
        if event == "run-started":
            result.run_id = record["run_id"]
            result.drill = record["drill"]
            result.drill_file = record["drill_file"]
            result.started_at = datetime.fromisoformat(record["at"])
            result.time_scale = record.get("time_scale", 1.0)
            result.figures = list(record.get("figures", []))
        elif event == "run-finished":
            result.finished_at = datetime.fromisoformat(record["at"])
            result.interrupted = record.get("interrupted", False)
        elif event == "budget-exceeded":
            result.budget_exceeded = record["message"]
        elif event == "run-error":
            result.run_errors.append(record["error"])
        elif event == "test-started":
            result.tests[test_id] = TestResult(
                test_id=test_id,
                feature=record.get("feature", ""),
                scenario=record.get("scenario", ""),
                target=record.get("target", ""),
                started_mono=record["mono"],
            )
        elif test is None:
            continue
        elif event == "target-chosen":
            test.target = test.target or record["target"]
        elif event == "step-started":
            test.steps.append(StepResult(record["keyword"], record["step"], started_mono=record["mono"]))
        elif event in ("step-passed", "step-failed") and test.steps:
            step = test.steps[-1]
            step.status = "passed" if event == "step-passed" else "failed"
            step.duration_s = record.get("duration_s") or record["mono"] - step.started_mono
            step.error = record.get("error")
        elif event == "note":
            test.notes.append(record["line"])
            if "measurement" in record:
                test.measurements.append(record["measurement"])
        elif event == "resource-created":
            test.resources.append(f"{record['kind']} {record['identifier']} in {record['region']}")
        elif event == "test-outcome":
            test.worsen(record["status"], record.get("message", ""), record.get("details", ""))
        elif event == "test-finished":
            test.finished_mono = record["mono"]
            if test.status == "running":
                test.status = PASSED
    for test in result.tests.values():
        if test.status == "running":
            running = next((s for s in reversed(test.steps) if s.status == "running"), None)
            where = f" during step '{running.keyword} {running.name}'" if running else ""
            test.worsen(INTERRUPTED, f"interrupted{where}")
        for step in test.steps:
            if step.status == "running":
                step.status = "interrupted"
    return result
