"""JUnit XML from a run's results, for GitLab, Jenkins and GitHub Actions.

One testcase per scenario and target, named "drill / scenario / target".
Measured figures go where every consumer shows them: the failure message and
system-out. They also go in per-testcase properties for tools that read them
(Jenkins with keepProperties); GitLab and the GitHub Actions reporters ignore
those, and Jenkins' junit-10.xsd does not allow them, which is why nothing
relies on them alone. No ANSI codes.
"""

from __future__ import annotations

import re
from pathlib import Path

from junitparser import (
    Error,
    Failure,
    JUnitXml,
    Properties,
    Property,
    Skipped,
    TestCase,
    TestSuite,
)

from drtool.core.clock import format_duration
from drtool.core.verdicts import COULD_NOT_RUN, FINDING
from drtool.core.results import (
    ERROR,
    FAILED,
    INTERRUPTED,
    SKIPPED,
    RunResult,
    TestResult,
)

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def clean(text: str) -> str:
    return _XML_ILLEGAL.sub("", _ANSI.sub("", text))


def testcase_name(result: RunResult, test: TestResult) -> str:
    parts = [result.drill, test.scenario or test.test_id]
    if test.target:
        parts.append(test.target)
    return " / ".join(parts)


def _system_out(test: TestResult) -> str:
    lines = list(test.notes)
    for step in test.steps:
        took = f" ({format_duration(step.duration_s)})" if step.duration_s is not None else ""
        lines.append(f"step {step.status}: {step.keyword} {step.name}{took}")
    return "\n".join(lines)


def _add_measurements(case: TestCase, test: TestResult) -> None:
    if not test.measurements:
        return
    properties = Properties()
    for measurement in test.measurements:
        name = measurement["name"]
        for key in ("measured_s", "objective_s", "met", "source"):
            properties.add_property(Property(f"{name}.{key}", clean(str(measurement[key]))))
    case._elem.insert(0, properties._elem)  # properties come first in a testcase, as consumers expect


def render(result: RunResult) -> JUnitXml:
    suite = TestSuite(f"drtool: {result.drill}")
    suite.add_property("drtool.run_id", result.run_id)
    suite.add_property("drtool.drill_file", result.drill_file)
    suite.add_property("drtool.time_scale", f"{result.time_scale:g}")
    if result.started_at:
        suite.timestamp = result.started_at.isoformat(timespec="seconds")
    for test in result.tests.values():
        case = TestCase(clean(testcase_name(result, test)), classname=clean(f"drtool.{result.drill}"), time=round(test.duration_s, 3))
        message = clean(test.message)
        if test.status == FAILED:
            outcome = Failure(message, test.kind or FINDING)
        elif test.status in (ERROR, INTERRUPTED):
            outcome = Error(message, "interrupted" if test.status == INTERRUPTED else test.kind or COULD_NOT_RUN)
        elif test.status == SKIPPED:
            outcome = Skipped(message)
        else:
            outcome = None
        if outcome is not None:
            # The body is what consumers that ignore the message attribute show: the reason first, then the figures.
            outcome.text = clean("\n".join(dict.fromkeys([test.message, *test.notes])))
            case.result = [outcome]
        case.system_out = clean(_system_out(test))
        _add_measurements(case, test)
        suite.add_testcase(case)
    if result.run_errors or result.budget_exceeded:
        case = TestCase(clean(f"{result.drill} / run"), classname=clean(f"drtool.{result.drill}"))
        if result.budget_exceeded:
            case.result = [Failure(clean(result.budget_exceeded), "budget-exceeded")]
        else:
            case.result = [Error(clean("; ".join(result.run_errors)), "could-not-run")]
        suite.add_testcase(case)
    suite.update_statistics()
    xml = JUnitXml()
    xml.add_testsuite(suite)
    return xml


def write(result: RunResult, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    render(result).write(str(path), pretty=True)
