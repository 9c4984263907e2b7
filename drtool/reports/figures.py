"""What every summary (terminal, Markdown, HTML, JSON) shows the same way: targets by kind, figures as columns, labels."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

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
