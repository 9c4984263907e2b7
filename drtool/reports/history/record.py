"""A run's history record: what `drtool history` needs of a run, built from its results (so from its journal).

Figures are seconds, as the verdicts measured them (world time under the sandbox, whose `time_scale` the record keeps).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from drtool.core.results import RunResult, TestResult

HISTORY_SCHEMA = 1


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def history_record(result: RunResult, *, recorded_at: datetime) -> dict[str, Any]:
    """One JSON record for a run: when, how it ended, and per target each scenario's outcome and figures."""
    targets: dict[str, dict[str, Any]] = {name: {"kind": kind, "scenarios": []} for name, kind in result.target_kinds.items()}
    for test in result.tests.values():
        name = test.target or "-"
        target = targets.setdefault(name, {"kind": result.target_kinds.get(name, ""), "scenarios": []})
        target["scenarios"].append({
            "scenario": test.scenario,
            "feature": test.feature,
            "status": test.status,
            "kind": test.kind,
            "duration_s": round(test.duration_s, 3),
            "message": test.message,
            "figures": [
                {key: m.get(key) for key in ("name", "measured_s", "objective_s", "met", "source")}
                for m in test.measurements
            ],
        })
    return {
        "schema": HISTORY_SCHEMA,
        "run_id": result.run_id,
        "drill": result.drill,
        "drill_file": result.drill_file,
        "started_at": _iso(result.started_at),
        "finished_at": _iso(result.finished_at),
        "recorded_at": recorded_at.isoformat(),  # real time: sandbox runs each start their own world clock
        "time_scale": result.time_scale,
        "duration_s": round(result.duration_s, 3),
        "exit_code": int(result.exit_code()),
        "counts": result.counts(),
        "interrupted": result.interrupted,
        "budget_exceeded": result.budget_exceeded,
        "run_errors": list(result.run_errors),
        "targets": targets,
    }


def record_problem(record: Any) -> str | None:
    """Why a stored record cannot be read as a history record (a file someone else put there, a newer schema,
    a damaged or hand-edited one); None for a sound record.

    The one place records are checked: every reader (history, the HTML trends, regressions) is given only
    records that pass, so none of them meets a figure that is not a number or a field that is not there.
    """
    if not isinstance(record, dict):
        return "not a JSON object"
    if not _integer(record.get("schema")) or record["schema"] > HISTORY_SCHEMA:
        return f"history schema {str(record.get('schema'))[:40]}, which this drtool does not read (it reads {HISTORY_SCHEMA})"
    for key in ("run_id", "drill", "recorded_at"):
        if not isinstance(record.get(key), str):
            return f"no {key!r}"
    for key in ("started_at", "finished_at", "recorded_at"):
        value = record.get(key)
        if value is None and key != "recorded_at":
            continue
        if not isinstance(value, str) or not _iso_time(value):
            return f"{key!r} {str(value)[:40]!r} is not an ISO 8601 time with its UTC offset"
    for key in ("time_scale", "duration_s"):
        if key in record and not _number(record[key]):
            return f"{key!r} {str(record[key])[:40]!r} is not a number"
    if not isinstance(record.get("targets"), dict):
        return "no 'targets'"
    for name, target in record["targets"].items():
        why = _target_problem(target)
        if why:
            return f"target {name[:40]!r}: {why}"
    return None


def _target_problem(target: Any) -> str | None:
    if not isinstance(target, dict):
        return "not an object"
    if not isinstance(target.get("kind", ""), str):
        return "'kind' is not a name"
    scenarios = target.get("scenarios", [])
    if not isinstance(scenarios, list):
        return "'scenarios' is not a list"
    for index, scenario in enumerate(scenarios, 1):
        if not isinstance(scenario, dict):
            return f"scenario {index} is not an object"
        for key in ("scenario", "feature", "status", "kind", "message"):
            if not isinstance(scenario.get(key, ""), str):
                return f"scenario {index}: {key!r} is not text"
        figures = scenario.get("figures", [])
        if not isinstance(figures, list):
            return f"scenario {index}: 'figures' is not a list"
        for figure in figures:
            why = _figure_problem(figure)
            if why:
                return f"scenario {index}: {why}"
    return None


def _figure_problem(figure: Any) -> str | None:
    if not isinstance(figure, dict):
        return "a figure is not an object"
    name = figure.get("name")
    if not isinstance(name, str):
        return "a figure has no name"
    for key in ("measured_s", "objective_s"):
        value = figure.get(key)
        if value is not None and not _number(value):
            return f"figure {name[:40]!r}: {key!r} {str(value)[:40]!r} is not a number of seconds"
    if figure.get("met") not in (None, True, False):
        return f"figure {name[:40]!r}: 'met' is not true or false"
    return None


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _iso_time(text: str) -> bool:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return False
    return moment.utcoffset() is not None  # records are sorted by time: a naive one cannot be compared


def past_result(record: dict[str, Any]) -> RunResult:
    """A recorded run as the results the reports chart: its moment, targets, and each scenario's outcome and figures."""
    started = datetime.fromisoformat(record["started_at"]) if record.get("started_at") else None
    result = RunResult(run_id=record["run_id"], drill=record.get("drill", ""), started_at=started,
                       time_scale=record.get("time_scale", 1.0))
    for name, target in (record.get("targets") or {}).items():
        result.target_kinds[name] = target.get("kind", "")
        for index, scenario in enumerate(target.get("scenarios", [])):
            test_id = f"{record['run_id']}::{name}::{index}"
            result.tests[test_id] = TestResult(
                test_id, feature=scenario.get("feature", ""), scenario=scenario.get("scenario", ""), target=name,
                status=scenario.get("status", ""), kind=scenario.get("kind", ""), message=scenario.get("message", ""),
                measurements=[dict(figure, target=name) for figure in scenario.get("figures", [])],
            )
    return result
