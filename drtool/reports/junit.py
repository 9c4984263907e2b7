"""JUnit XML from a run's results, for GitLab, Jenkins and the GitHub Actions reporters.

One testcase per scenario and target, named "drill / scenario / target", no two alike
(GitLab keeps only the first of a name). What each consumer shows of it:

| consumer | passing testcase | failure / error |
| --- | --- | --- |
| GitLab | suite (classname), name, file, duration | the body, then system-out |
| Jenkins (junit) | name, duration, system-out; properties with keepProperties | message, body, system-out |
| dorny/test-reporter | name, duration | message, body |
| mikepenz/action-junit-report | name (annotation at file:line) | message, body (annotation at file:line) |
| EnricoMi/publish-unit-test-result-action | name; suite system-out (report_suite_logs) | body (annotation at file:line) |

So the verdict sentence is the message, and the body holds it again, reason first,
then the figures (measured against objective) and the drill's notes; system-out
holds the figures and notes of every testcase, passing ones too, and the suite's
system-out a line of figures per target. GitLab, dorny and mikepenz show a passing
testcase's name and nothing else: `figures_in_names` puts
the figures there, at the cost of a name that changes from run to run (which
breaks every consumer's per-test history), so it is not the default. Suite-level
properties and system-out name the drill, run, regions, version and times.

`time` is real (wall) seconds, as every consumer assumes; under the sandbox the
world time the figures are measured in is given beside it, in system-out.

`strict` leaves out what Jenkins' junit-10.xsd does not allow (testcase properties,
`file` and `line`), for the xUnit plugin, which validates against it. No ANSI codes.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from junitparser import Error, Failure, JUnitXml, Properties, Property, Skipped, SystemOut, TestCase, TestSuite

from drtool.core.clock import format_duration
from drtool.core.results import ERROR, FAILED, INTERRUPTED, SKIPPED, RunResult, TestResult
from drtool.core.verdicts import COULD_NOT_RUN, FINDING
from drtool.reports.figures import figure_line, figures_in_brief, time_line

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


@dataclass(frozen=True)
class JUnitOptions:
    strict: bool = False  # valid against Jenkins' junit-10.xsd: no testcase properties, file or line
    figures_in_names: bool = False  # for consumers that show a passing testcase's name alone


def clean(text: str) -> str:
    return _XML_ILLEGAL.sub("", _ANSI.sub("", text))


def testcase_name(result: RunResult, test: TestResult) -> str:
    parts = [result.drill, test.scenario or test.test_id]
    if test.target:
        parts.append(test.target)
    return " / ".join(parts)


def _unique_names(result: RunResult, options: JUnitOptions) -> dict[str, str]:
    """Each test's name; a name two tests share (two features with one scenario title) gets `#2`, `#3`."""
    names = {}
    for test in result.tests.values():
        name = testcase_name(result, test)
        if options.figures_in_names and test.measurements:
            name += f": {figures_in_brief(test.measurements)}"
        names[test.test_id] = name
    seen: Counter[str] = Counter()
    taken = set(names.values())
    for test_id, name in names.items():
        seen[name] += 1
        if seen[name] > 1:
            number = seen[name]
            while f"{name} #{number}" in taken:
                number += 1
            names[test_id] = f"{name} #{number}"
            taken.add(names[test_id])
    return names


def _figure_lines(test: TestResult) -> list[str]:
    return [figure_line(m) for m in test.measurements]


def _body(result: RunResult, test: TestResult) -> str:
    """The failure or error body: the reason first, then the figures and notes, then how long it took and where."""
    notes = [note for note in dict.fromkeys(test.notes) if note != test.message]
    sections = [[test.message], _figure_lines(test), notes, _where(result, test)]
    return "\n\n".join("\n".join(lines) for lines in sections if lines)


def _where(result: RunResult, test: TestResult) -> list[str]:
    lines = [time_line(test.duration_s, result.time_scale)]
    if test.file:
        lines.append(f"scenario: {test.file}:{test.line}")
    return lines


def _system_out(result: RunResult, test: TestResult) -> str:
    lines = [*_figure_lines(test), *test.notes]
    for step in test.steps:
        took = f" ({format_duration(step.duration_s)})" if step.duration_s is not None else ""
        lines.append(f"step {step.status}: {step.keyword} {step.name}{took}")
    return "\n".join([*lines, *_where(result, test)])


def _measurement_properties(test: TestResult) -> Properties:
    properties = Properties()
    for measurement in test.measurements:
        for key in ("measured_s", "objective_s", "met", "source"):
            properties.add_property(Property(f"{measurement['name']}.{key}", clean(str(measurement[key]))))
    return properties


def _outcome(test: TestResult, body: str) -> Failure | Error | Skipped | None:
    message = clean(test.message)
    if test.status == FAILED:
        outcome = Failure(message, test.kind or FINDING)
    elif test.status in (ERROR, INTERRUPTED):
        outcome = Error(message, "interrupted" if test.status == INTERRUPTED else test.kind or COULD_NOT_RUN)
    elif test.status == SKIPPED:
        outcome = Skipped(message)
    else:
        return None
    # GitLab shows the body alone (an element with no text shows as a hash of its attributes); dorny and mikepenz
    # show it beside the message.
    outcome.text = clean(body)
    return outcome


def _testcase(result: RunResult, test: TestResult, name: str, options: JUnitOptions) -> TestCase:
    case = TestCase(clean(name), classname=clean(f"drtool.{result.drill}"), time=round(result.real_seconds(test.duration_s), 3))
    if not options.strict and test.file:
        # Where annotations go (mikepenz, EnricoMi) and what GitLab links to.
        case._elem.set("file", clean(test.file))
        case._elem.set("line", str(test.line))
    outcome = _outcome(test, _body(result, test))
    if outcome is not None:
        case.result = [outcome]
    case.system_out = clean(_system_out(result, test))
    if not options.strict and test.measurements:
        case._elem.insert(0, _measurement_properties(test)._elem)  # properties come first in a testcase
    return case


def suite_properties(result: RunResult) -> list[tuple[str, str]]:
    properties = [
        ("drtool.drill", result.drill),
        ("drtool.run_id", result.run_id),
        ("drtool.drill_file", result.drill_file),
        ("drtool.primary_region", result.primary_region),
        ("drtool.dr_region", result.dr_region),
        ("drtool.version", result.versions.get("drtool", "")),
    ]
    if result.time_scale != 1:
        properties.append(("drtool.time_scale", f"{result.time_scale:g}"))
    properties.append(("drtool.world_time_s", f"{result.duration_s:.3f}"))
    properties.append(("drtool.real_time_s", f"{result.real_seconds(result.duration_s):.3f}"))
    return [(name, value) for name, value in properties if value]


def _suite_system_out(result: RunResult) -> str:
    counts = result.counts()
    lines = [
        f"drill {result.drill}, run {result.run_id}: {counts['passed']} met, {counts['failed']} failed, "
        f"{counts['error'] + counts['interrupted']} errors, {time_line(result.duration_s, result.time_scale)}",
    ]
    for test in result.tests.values():
        if test.measurements:
            lines.append(f"{test.target or test.scenario}: {figures_in_brief(test.measurements)} ({test.scenario})")
    return "\n".join(lines)


def render(result: RunResult, options: JUnitOptions = JUnitOptions()) -> JUnitXml:
    suite = TestSuite(clean(f"drtool: {result.drill}"))
    for name, value in suite_properties(result):
        suite.add_property(name, clean(value))
    if result.started_at:
        suite.timestamp = result.started_at.isoformat(timespec="seconds")
    names = _unique_names(result, options)
    for test in result.tests.values():
        suite.add_testcase(_testcase(result, test, names[test.test_id], options))
    if result.run_errors or result.budget_exceeded:
        case = TestCase(clean(f"{result.drill} / run"), classname=clean(f"drtool.{result.drill}"))
        if result.budget_exceeded:
            case.result = [Failure(clean(result.budget_exceeded), "budget-exceeded")]
        else:
            case.result = [Error(clean("; ".join(result.run_errors)), "could-not-run")]
        case.result[0].text = case.result[0].message
        suite.add_testcase(case)
    suite.update_statistics()
    suite.append(SystemOut(clean(_suite_system_out(result))))  # EnricoMi and Jenkins show a suite's output
    xml = JUnitXml()
    xml.add_testsuite(suite)
    return xml


def write(result: RunResult, path: Path, options: JUnitOptions = JUnitOptions()) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    render(result, options).write(str(path), pretty=True)
