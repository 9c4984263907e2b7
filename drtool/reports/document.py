"""The run as one JSON document (`--format json`, `summary.json`), for scripts. Its shape is documented in README.

Stable: keys are only ever added, and `version` changes if one changes meaning.
Every duration is in seconds of the run's clock (world time under the sandbox; `time_scale` says how much faster).
"""

from __future__ import annotations

import json
from typing import Any

from drtool.core.results import RunResult, TestResult
from drtool.reports.figures import SEVERITY

FORMAT = "drtool-run"
VERSION = 1
_OUTCOME = {0: "met", 1: "failed", 3: "could-not-run", 130: "interrupted"}


def _figure(measurement: dict[str, Any], scenario: str | None = None) -> dict[str, Any]:
    figure = {key: measurement.get(key) for key in ("name", "measured_s", "objective_s", "met", "source")}
    return {**figure, "scenario": scenario} if scenario is not None else figure


def _scenario(result: RunResult, test: TestResult, origin: float) -> dict[str, Any]:
    start = test.started_mono if test.started_mono is not None else origin
    return {
        "id": test.test_id,
        "feature": test.feature,
        "scenario": test.scenario,
        "target": test.target,
        "target_kind": result.target_kinds.get(test.target, ""),
        "outcome": test.status,
        "kind": test.kind,
        "message": test.message,
        "offset_s": round(start - origin, 3),
        "duration_s": round(test.duration_s, 3),
        "figures": [_figure(m) for m in test.measurements],
        "notes": list(test.notes),
        "steps": [
            {"keyword": step.keyword, "name": step.name, "outcome": step.status, "offset_s": round(step.started_mono - start, 3),
             "duration_s": step.duration_s, "error": step.error}
            for step in test.steps
        ],
        "intervals": [
            {"label": interval.label, "objective_s": interval.objective_s, "offset_s": round(interval.started_mono - start, 3),
             "duration_s": None if interval.stopped_mono is None else round(interval.stopped_mono - interval.started_mono, 3)}
            for interval in test.intervals
        ],
    }


def run_document(result: RunResult) -> dict[str, Any]:
    tests = list(result.tests.values())
    starts = [test.started_mono for test in tests if test.started_mono is not None]
    origin = min(starts) if starts else 0.0
    targets: dict[str, dict[str, Any]] = {}
    for name, kind in result.target_kinds.items():
        targets[name] = {"name": name, "kind": kind, "outcome": None, "figures": []}
    for test in tests:
        if not test.target:
            continue
        target = targets.setdefault(test.target, {"name": test.target, "kind": "", "outcome": None, "figures": []})
        if target["outcome"] is None or SEVERITY.get(test.status, 0) > SEVERITY.get(target["outcome"], 0):
            target["outcome"] = test.status
        target["figures"] += [_figure(m, test.scenario) for m in test.measurements]
    counts = result.counts()
    code = int(result.exit_code())
    return {
        "format": FORMAT,
        "version": VERSION,
        "drill": result.drill,
        "run_id": result.run_id,
        "drill_file": result.drill_file,
        "started_at": result.started_at.isoformat() if result.started_at else None,
        "finished_at": result.finished_at.isoformat() if result.finished_at else None,
        "duration_s": round(result.duration_s, 3),
        "time_scale": result.time_scale,
        "outcome": _OUTCOME.get(code, str(code)),
        "exit_code": code,
        "counts": {"met": counts["passed"], "failed": counts["failed"], "errors": counts["error"],
                   "skipped": counts["skipped"], "interrupted": counts["interrupted"]},
        # Only targets a scenario drilled: the drill file may name more than the tags selected.
        "targets": [target for target in targets.values() if target["outcome"] is not None],
        "scenarios": [_scenario(result, test, origin) for test in tests],
        "budget_exceeded": result.budget_exceeded or None,
        "run_errors": list(result.run_errors),
        "leftovers": result.leftovers,
        "warnings": list(result.warnings),
        "api_calls": {"attempts": result.api_calls.get("attempts", 0), "throttled": result.api_calls.get("throttled", 0)},
        "guard_refusals": [f"{r.service}.{r.operation} in {r.region}: {r.reason}" for r in result.guard_refusals],
    }


def render(result: RunResult) -> str:
    return json.dumps(run_document(result), indent=2, default=str) + "\n"
