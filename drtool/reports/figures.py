"""What every report (terminal, Markdown, HTML, JSON, JUnit) shows the same way: targets by kind, figures as columns
and as lines, labels.

A measurement is the journal's record of one figure (`Measurement.as_record`): name, measured_s and objective_s in
world seconds, met, source and the verdict line.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, Iterable

from drtool.core.clock import format_duration
from drtool.core.results import ERROR, FAILED, INTERRUPTED, PASSED, SKIPPED, RunResult, TestResult

LABEL = {PASSED: "MET", FAILED: "FAILED", ERROR: "ERROR", SKIPPED: "skipped", INTERRUPTED: "INTERRUPTED"}
# Worst first when a target's scenarios disagree.
SEVERITY = {INTERRUPTED: 4, FAILED: 3, ERROR: 2, PASSED: 1, SKIPPED: 0}


class Verbosity(IntEnum):
    QUIET = 0  # the summary tables and what did not pass
    NORMAL = 1  # also each verdict with its figures, and progress while it runs
    VERBOSE = 2  # every note, as it happens and in the summary


def label(status: str) -> str:
    return LABEL.get(status, status)


def tests_by_kind(result: RunResult) -> dict[str, list[TestResult]]:
    """One group per kind of target: each family has its own figures."""
    groups: dict[str, list[TestResult]] = {}
    for test in result.tests.values():
        groups.setdefault(result.target_kinds.get(test.target, ""), []).append(test)
    return groups


def figure_columns(result: RunResult, tests: list[TestResult]) -> list[str]:
    """The figures these scenarios measured, in the drill's column order; a column nobody measured says nothing."""
    measured = {m["name"] for test in tests for m in test.measurements}
    ordered = dict.fromkeys([*result.figures, *(m["name"] for test in tests for m in test.measurements)])
    return [figure for figure in ordered if figure in measured]


def measurement(test: TestResult, name: str) -> dict[str, Any] | None:
    return next((m for m in test.measurements if m["name"] == name), None)


def measured_text(test: TestResult, name: str, *, breach_mark: str = " !") -> str:
    """A cell that reads "measured / objective", marked when the objective was breached."""
    found = measurement(test, name)
    if found is None:
        return "-"
    objective = f" / {format_duration(found['objective_s'])}" if found.get("objective_s") is not None else ""
    mark = "" if found.get("met", True) else breach_mark
    return f"{format_duration(found['measured_s'])}{objective}{mark}"


def shown_notes(test: TestResult, verbosity: Verbosity) -> list[str]:
    """The notes a summary shows under a verdict: all for what did not pass (or with -v), else the figures' lines."""
    if verbosity >= Verbosity.VERBOSE or test.status != PASSED:
        return list(test.notes)
    if verbosity <= Verbosity.QUIET:
        return []
    figure_lines = {m.get("line") for m in test.measurements}
    return [line for line in test.notes if line in figure_lines]


def figure_line(measurement: dict[str, Any]) -> str:
    """`RTO 45m20s against objective 30m: BREACHED by 15m20s (aws-event: DB instance created)`."""
    measured, objective = measurement["measured_s"], measurement["objective_s"]
    verdict = "met" if measurement["met"] else f"BREACHED by {format_duration(measured - objective)}"
    source = f" ({measurement['source']})" if measurement.get("source") else ""
    return f"{measurement['name']} {format_duration(measured)} against objective {format_duration(objective)}: {verdict}{source}"


def figures_in_brief(measurements: Iterable[dict[str, Any]]) -> str:
    """`RTO 12m04s/30m met, RPO 6h11m49s/24h met`: short enough for a test name."""
    return ", ".join(
        f"{m['name']} {format_duration(m['measured_s'])}/{format_duration(m['objective_s'])} {'met' if m['met'] else 'BREACHED'}"
        for m in measurements
    )


def time_line(world_seconds: float, time_scale: float) -> str:
    """How long something took; under the sandbox, in world time and in real time."""
    if time_scale == 1:
        return f"took {format_duration(world_seconds)}"
    return f"took {format_duration(world_seconds)} world time (x{time_scale:g}), {world_seconds / time_scale:.1f}s real"
