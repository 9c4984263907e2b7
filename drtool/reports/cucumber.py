"""Cucumber JSON from a run's results, for Cucumber reporters (cucumber-html-reporter, Xray, Allure, ...).

pytest-bdd writes its own (`--cucumberjson`), but knows nothing of a drill's
targets, figures and teardown, and writes `[]` wherever pytest-xdist spreads tests
over workers. This one is rendered from the journal, so `drtool run`,
`pytest --drill` (with or without `-n`) and `drtool report` give the same file.

One feature per feature file, one element per scenario and target, the steps that
ran with their status and real duration in nanoseconds (as Cucumber counts them).
What the drill noted while a step ran (its verdicts, with measured against
objective, in world time) is that step's `output`; what it noted after the steps
(teardown) is the output of an `after` hook. A scenario that could not start
(preflight, fixtures) has a failed `before` hook; one that failed in teardown, a
failed `after` hook.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from drtool.core.results import ERROR, FAILED, INTERRUPTED, SKIPPED, RunResult, TestResult
from drtool.reports.figures import time_line

_NOT_A_WORD = re.compile(r"[^a-z0-9]+")


def _slug(text: str) -> str:
    return _NOT_A_WORD.sub("-", text.lower()).strip("-")


def _tags(names: list[str], line: int) -> list[dict[str, Any]]:
    # Tags stand on the line above what they tag.
    return [{"name": f"@{name}", "line": max(line - 1, 1)} for name in names]


def _nanoseconds(result: RunResult, world_seconds: float | None) -> int:
    return int(result.real_seconds(world_seconds or 0.0) * 1_000_000_000)


def _step_status(test: TestResult, status: str) -> str:
    if status == "passed":
        return "passed"
    return "skipped" if test.status == SKIPPED else "failed"


def _steps(result: RunResult, test: TestResult) -> list[dict[str, Any]]:
    steps = []
    for step in test.steps:
        status = _step_status(test, step.status)
        outcome: dict[str, Any] = {"status": status, "duration": _nanoseconds(result, step.duration_s)}
        if status == "failed":
            outcome["error_message"] = step.error or test.message or step.status
        entry = {
            "keyword": f"{step.keyword} ",
            "name": step.name,
            "line": step.line,
            "match": {"location": f"{test.file}:{step.line}" if test.file else ""},
            "result": outcome,
        }
        if step.notes:
            entry["output"] = list(step.notes)
        steps.append(entry)
    return steps


def _hook(location: str, status: str, message: str, output: list[str]) -> dict[str, Any]:
    outcome: dict[str, Any] = {"status": status, "duration": 0}
    if status == "failed":
        outcome["error_message"] = message
    hook: dict[str, Any] = {"match": {"location": location}, "result": outcome}
    if output:
        hook["output"] = output
    return hook


def _element(result: RunResult, test: TestResult, feature_id: str) -> dict[str, Any]:
    name = f"{test.scenario} / {test.target}" if test.target else test.scenario or test.test_id
    element: dict[str, Any] = {
        "id": ";".join(part for part in (feature_id, _slug(test.scenario), _slug(test.target)) if part),
        "keyword": "Scenario",
        "name": name,
        "description": "",
        "line": test.line,
        "type": "scenario",
        "tags": _tags(test.tags, test.line),
        "steps": _steps(result, test),
    }
    failed_in_step = any(step["result"]["status"] == "failed" for step in element["steps"])
    went_wrong = test.status in (FAILED, ERROR, INTERRUPTED) and not failed_in_step
    if went_wrong and not test.steps:
        element["before"] = [_hook("drtool: preflight and fixtures", "failed", test.message, [])]
    after_failed = went_wrong and bool(test.steps)
    element["after"] = [_hook("drtool: teardown", "failed" if after_failed else "passed", test.message,
                              [*_notes_outside_steps(test), time_line(test.duration_s, result.time_scale)])]
    return element


def _notes_outside_steps(test: TestResult) -> list[str]:
    """What the drill noted when no step was running: its teardown."""
    in_steps = Counter(note for step in test.steps for note in step.notes)
    outside = []
    for note in test.notes:
        if in_steps[note]:
            in_steps[note] -= 1
        else:
            outside.append(note)
    return outside


def render(result: RunResult) -> list[dict[str, Any]]:
    features: dict[str, dict[str, Any]] = {}
    for test in result.tests.values():
        key = test.file or test.feature
        if key not in features:
            features[key] = {
                "uri": test.file,
                "id": _slug(test.feature or test.file),
                "keyword": "Feature",
                "name": test.feature or test.file,
                "description": "",
                "line": test.feature_line,
                "tags": _tags(test.feature_tags, test.feature_line),
                "elements": [],
            }
        features[key]["elements"].append(_element(result, test, features[key]["id"]))
    return list(features.values())


def write(result: RunResult, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(render(result), indent=2) + "\n", encoding="utf-8")
