"""What each JUnit consumer reads of a testcase, after its own parser: the fields it shows a person.

Each function follows the consumer's parser source, named in its docstring, field
for field; none shows anything it does not return here. EnricoMi's action parses
with junitparser itself, so that reader is its code path with the real library.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from junitparser import JUnitXml

# ActiveSupport's XmlMini typecasts (or refuses) an element's content by its `type` attribute; GitLab's parser
# goes through it, so a failure typed like these would show as a number, a date or an error.
ACTIVESUPPORT_TYPES = {"symbol", "yaml", "integer", "boolean", "date", "datetime", "dateTime", "float", "decimal",
                       "double", "base64Binary", "string", "file", "array", "hash"}


def _cases(path: Path) -> list[tuple[ET.Element, ET.Element]]:
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    return [(suite, case) for suite in suites for case in suite.findall("testcase")]


def _ruby_hash(attributes: dict[str, str]) -> str:
    return "{" + ", ".join(f'"{k}"=>"{v}"' for k, v in attributes.items()) + "}"


@dataclass
class GitLabCase:
    suite: str  # the "Suite" column: the classname
    name: str
    file: str | None
    execution_time: float
    status: str
    system_output: str | None  # "System output" in the test's details


def gitlab(path: Path) -> list[GitLabCase]:
    """gitlabhq lib/gitlab/ci/parsers/test/junit.rb `create_test_case`, through ActiveSupport's XML-to-hash.

    An element with text becomes its text (its attributes dropped); one without, the hash of its attributes.
    A failure or error shows that, then "System Out:" and system-out; a passing test shows no output at all.
    The UI (test_suite_table.vue) shows classname as "Suite", the name, the file and the duration.
    """
    cases = []
    for suite, case in _cases(path):
        def value(element: ET.Element) -> str:
            return element.text if (element.text or "").strip() else _ruby_hash(dict(element.attrib))

        out = case.find("system-out")
        system_out = f"System Out:\n\n{out.text or ''}" if out is not None else None
        if (failure := case.find("failure")) is not None:
            status, output = "failed", "\n\n".join(p for p in (value(failure), system_out) if p)
        elif (error := case.find("error")) is not None:
            status, output = "error", "\n\n".join(p for p in (value(error), system_out) if p)
        elif (skipped := case.find("skipped")) is not None:
            status, output = "skipped", value(skipped)
        else:
            status, output = "success", None
        cases.append(GitLabCase(case.get("classname", ""), case.get("name", ""), case.get("file"),
                                float(case.get("time") or 0), status, output))
    return cases


@dataclass
class JenkinsCase:
    class_name: str
    name: str
    duration: float
    error_details: str | None  # the message
    error_stack_trace: str | None  # the body
    stdout: str | None  # what "Standard Output" shows, trimmed as Jenkins trims it
    properties: dict[str, str]  # shown only with keepProperties


def jenkins(path: Path, keep_long_stdio: bool = False) -> list[JenkinsCase]:
    """jenkinsci/junit-plugin src/main/java/hudson/tasks/junit/CaseResult.java, the constructor from XML.

    Without keepLongStdio, a passing test's stdout keeps its first and last 500 characters.
    """
    cases = []
    for suite, case in _cases(path):
        outcome = case.find("error") if case.find("error") is not None else case.find("failure")
        stdout = case.findtext("system-out")
        half = 50000 if outcome is not None else 500
        if stdout is not None and not keep_long_stdio and len(stdout) > 2 * half:
            stdout = stdout[:half] + f"\n...[truncated {len(stdout) - 2 * half} chars]...\n" + stdout[-half:]
        properties = {p.get("name"): p.get("value") for p in case.findall("properties/property")}
        cases.append(JenkinsCase(
            case.get("classname", ""), case.get("name", ""), float(case.get("time") or 0),
            outcome.get("message") if outcome is not None else None,
            outcome.text if outcome is not None else None, stdout, properties,
        ))
    return cases


@dataclass
class DornyCase:
    group: str
    name: str
    time_ms: float
    result: str
    message: str | None
    details: str | None


def dorny(path: Path) -> list[DornyCase]:
    """dorny/test-reporter src/parsers/java-junit/java-junit-parser.ts: name, time, and for a failure or error
    its message attribute and its text ("details"); nothing else of a testcase."""
    cases = []
    for suite, case in _cases(path):
        outcome = case.find("failure") if case.find("failure") is not None else case.find("error")
        result = "failed" if outcome is not None else "skipped" if case.find("skipped") is not None else "success"
        group = "" if case.get("classname") == suite.get("name") else case.get("classname", "")
        cases.append(DornyCase(group, case.get("name", "").strip(), float(case.get("time") or 0) * 1000, result,
                               outcome.get("message") if outcome is not None else None,
                               outcome.text if outcome is not None else None))
    return cases


@dataclass
class MikepenzAnnotation:
    path: str
    start_line: int
    annotation_level: str
    status: str
    title: str
    message: str
    raw_details: str


def mikepenz(path: Path) -> list[MikepenzAnnotation]:
    """mikepenz/action-junit-report src/testParser.ts `parseSuite`, with `annotate_notice` (passing tests too).

    The message is the failure's (or error's) message attribute, else the first two lines of its text, else the
    test's name; raw_details is the text; the annotation sits at the testcase's `file` and `line`.
    """
    annotations = []
    for suite, case in _cases(path):
        failure, error = case.find("failure"), case.find("error")
        stack_trace = ((failure.text if failure is not None else None) or (error.text if error is not None else None) or "").strip()
        message = ((failure.get("message") if failure is not None else None)
                   or (error.get("message") if error is not None else None)
                   or "\n".join(stack_trace.split("\n")[:2]) or case.get("name", "")).strip()
        file_name = case.get("file") or suite.get("file") or case.get("classname", case.get("name", "")).split(".")[-1]
        line = int(case.get("line") or suite.get("line") or 1)
        failed = failure is not None or error is not None
        title = f"{file_name}.{case.get('name')}" if file_name != case.get("name") else case.get("name", "")
        annotations.append(MikepenzAnnotation(file_name, line, "failure" if failed else "notice",
                                              "failure" if failed else "success", title, message, stack_trace))
    return annotations


@dataclass
class EnricoMiCase:
    test_file: str | None
    line: int | None
    class_name: str
    test_name: str
    result: str
    message: str | None
    content: str | None
    stdout: str | None
    time: float

    @property
    def annotation(self) -> str | None:
        """The raw details of the check run's annotation at test_file:line: a failure's or error's text
        (`get_case_messages`, `get_case_annotation` in python/publish/__init__.py); a pass has none."""
        return self.content if self.result in ("failure", "error") else None


def enricomi(path: Path) -> list[EnricoMiCase]:
    """EnricoMi/publish-unit-test-result-action python/publish/junit.py `process_junit_xml_elems`, which reads
    with junitparser: the testcase's file and line, its result's message and text, its system-out."""
    cases = []
    for suite in _junitparser_suites(path):
        for case in suite:
            results = [r for r in case.result if r is not None]
            line = case._elem.get("line")
            cases.append(EnricoMiCase(
                case._elem.get("file"), int(line) if line else None, case.classname, case.name,
                results[0]._tag if results else "success",
                "\n".join(r.message for r in results if r.message) or None,
                "\n".join(r.text for r in results if r.text is not None) or None,
                case.system_out, case.time,
            ))
    return cases


def enricomi_suite_logs(path: Path) -> list[str]:
    """What `report_suite_logs: info` shows: each suite's system-out (`get_text(leaf_suite._elem, 'system-out')`)."""
    return [text.strip() for suite in _junitparser_suites(path)
            if (text := (suite._elem.findtext("system-out") or "").strip())]


def _junitparser_suites(path: Path):
    xml = JUnitXml.fromfile(str(path))
    return list(xml) if xml._tag == "testsuites" else [xml]
