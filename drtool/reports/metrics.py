"""A run's figures as metrics (CloudWatch datapoints, Prometheus text) and its outcome as a plain-text summary.

Rendered from the run's results only, like every report. Each figure a family
measures becomes one metric per target, in seconds (world time under the
sandbox): RTO -> RTOSeconds, lag max -> ReplicationLagSeconds, and any other
figure named from its words ("round trip" -> RoundTripSeconds). `Passed` is 1
or 0 per drill, per target and per scenario, so one alarm can watch a whole
drill, and a missing datapoint shows a drill that did not run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from drtool.core.clock import format_duration
from drtool.core.results import ERROR, FAILED, INTERRUPTED, PASSED, SKIPPED, ExitCode, RunResult, TestResult

# The names teams graph and alarm on; the issue and the README name them.
METRIC_NAMES = {
    "RTO": "RTOSeconds",
    "RPO": "RPOSeconds",
    "lag max": "ReplicationLagSeconds",
    "lag p95": "ReplicationLagP95Seconds",
    "lag p50": "ReplicationLagP50Seconds",
    "ReplicationLatency": "ReplicationLatencySeconds",
}
PASSED_METRIC = "Passed"
SECONDS, COUNT = "Seconds", "None"
# CloudWatch: a dimension value is 1 to 1,024 characters.
MAX_DIMENSION_VALUE = 1024
PROMETHEUS_PREFIX = "drtool_"
# SNS: a subject is at most 100 printable ASCII characters on one line; a message at most 256 KiB.
MAX_SUBJECT = 100
MAX_BODY_BYTES = 200 * 1024


def metric_name(figure: str) -> str:
    """The CloudWatch metric name of a family's figure."""
    if figure in METRIC_NAMES:
        return METRIC_NAMES[figure]
    words = re.findall(r"[A-Za-z0-9]+", figure)
    return "".join(word[:1].upper() + word[1:] for word in words) + SECONDS


def prometheus_name(metric: str) -> str:
    """RTOSeconds -> drtool_rto_seconds; ReplicationLagP95Seconds -> drtool_replication_lag_p95_seconds."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", metric).lower()
    return PROMETHEUS_PREFIX + snake


@dataclass(frozen=True)
class Datapoint:
    metric: str
    value: float
    unit: str
    dimensions: tuple[tuple[str, str], ...]  # (name, value), Drill first

    def metric_datum(self, timestamp: datetime | None) -> dict[str, Any]:
        """The entry PutMetricData takes."""
        datum: dict[str, Any] = {
            "MetricName": self.metric,
            "Dimensions": [{"Name": name, "Value": value[:MAX_DIMENSION_VALUE]} for name, value in self.dimensions],
            "Value": self.value,
            "Unit": self.unit,
        }
        if timestamp is not None:
            datum["Timestamp"] = timestamp
        return datum


def _passed(tests: list[TestResult]) -> float | None:
    """1 if every scenario that applied passed, 0 if any did not; None if none applied (all skipped)."""
    if any(test.status not in (PASSED, SKIPPED) for test in tests):
        return 0.0
    return 1.0 if any(test.status == PASSED for test in tests) else None


def datapoints(result: RunResult) -> list[Datapoint]:
    """Passed for the drill, each target and each scenario; each figure measured, per target (its worst value)."""
    drill = ("Drill", result.drill)
    points = [Datapoint(PASSED_METRIC, 1.0 if result.exit_code() == ExitCode.MET else 0.0, COUNT, (drill,))]
    by_target: dict[str, list[TestResult]] = {}
    for test in result.tests.values():
        if test.target:
            by_target.setdefault(test.target, []).append(test)
    for target, tests in by_target.items():
        where = (drill, ("Target", target))
        passed = _passed(tests)
        if passed is not None:
            points.append(Datapoint(PASSED_METRIC, passed, COUNT, where))
        for test in tests:
            passed = _passed([test])
            if passed is not None:
                points.append(Datapoint(PASSED_METRIC, passed, COUNT, (*where, ("Scenario", test.scenario))))
        worst: dict[str, float] = {}
        for measurement in (m for test in tests for m in test.measurements):
            name = metric_name(measurement["name"])
            worst[name] = max(worst.get(name, measurement["measured_s"]), measurement["measured_s"])
        points.extend(Datapoint(name, value, SECONDS, where) for name, value in worst.items())
    return points


# --- Prometheus text exposition format -----------------------------------------------------------

_HELP = {
    "drtool_drill_passed": "1 if the drill met every objective, else 0.",
    "drtool_target_passed": "1 if every scenario of the target that applied passed, else 0.",
    "drtool_scenario_passed": "1 if the scenario passed for the target, else 0.",
    "drtool_last_run_timestamp_seconds": "When the drill's run finished, in seconds since the epoch.",
}


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def exposition(result: RunResult) -> str:
    """The figures as Prometheus gauges, for a Pushgateway group that names the job and the drill (so no label does)."""
    families: dict[str, list[str]] = {}
    helps: dict[str, str] = dict(_HELP)
    for point in datapoints(result):
        labels = {name.lower(): value for name, value in point.dimensions if name != "Drill"}
        if point.metric == PASSED_METRIC:
            name = {0: "drtool_drill_passed", 1: "drtool_target_passed"}.get(len(labels), "drtool_scenario_passed")
        else:
            name = prometheus_name(point.metric)
            helps.setdefault(name, f"{point.metric.removesuffix(SECONDS)} measured by the drill, in seconds.")
        rendered = ",".join(f'{key}="{_label(value)}"' for key, value in labels.items())
        value = repr(float(point.value))  # exact; `:g` would round a large figure to six digits
        families.setdefault(name, []).append(f"{name}{{{rendered}}} {value}" if rendered else f"{name} {value}")
    if result.finished_at is not None:
        families["drtool_last_run_timestamp_seconds"] = [f"drtool_last_run_timestamp_seconds {result.finished_at.timestamp():.3f}"]
    lines = []
    for name, samples in families.items():
        lines += [f"# HELP {name} {helps[name]}", f"# TYPE {name} gauge", *samples]
    return "\n".join(lines) + "\n"


# --- a summary for people (SNS, e-mail) ----------------------------------------------------------

_OUTCOME = {ExitCode.MET: "met every objective", ExitCode.FAILED: "FAILED", ExitCode.COULD_NOT_RUN: "COULD NOT RUN",
            ExitCode.INTERRUPTED: "was INTERRUPTED", ExitCode.INVALID_INPUT: "had invalid input"}
_LABEL = {FAILED: "FAILED", ERROR: "ERROR", INTERRUPTED: "INTERRUPTED"}


@dataclass(frozen=True)
class Summary:
    subject: str
    body: str


def _ascii_line(text: str) -> str:
    return re.sub(r"[^\x20-\x7e]", "?", " ".join(text.split()))


def summary(result: RunResult) -> Summary:
    """A subject and a plain-text body: the outcome, then each target that did not pass with its verdict sentences."""
    code = result.exit_code()
    counts = result.counts()
    not_passed = [test for test in result.tests.values() if test.status not in (PASSED, SKIPPED)]
    head = f"drtool: drill {result.drill} {_OUTCOME.get(code, code.name)}"
    tail = (f" ({len(not_passed)} of {len(result.tests)} scenarios did not pass)" if not_passed
            else f" ({len(result.tests)} scenarios)") + f", run {result.run_id}"
    subject = _ascii_line(head + tail)
    if len(subject) > MAX_SUBJECT:
        subject = _ascii_line(head)[:MAX_SUBJECT - 3] + "..."
    started = f"{result.started_at:%Y-%m-%d %H:%M} UTC" if result.started_at else "at an unknown time"
    scale = f" (world time, x{result.time_scale:g})" if result.time_scale != 1 else ""
    lines = [
        f"Drill {result.drill}, run {result.run_id}: {_OUTCOME.get(code, code.name)} (exit {int(code)}).",
        f"Drill file: {result.drill_file}",
        f"Started {started}, took {format_duration(result.duration_s)}{scale}.",
        f"{len(result.tests)} scenarios: {counts[PASSED]} met, {counts[FAILED]} failed, {counts[ERROR]} errors"
        + (f", {counts[INTERRUPTED]} interrupted" if counts[INTERRUPTED] else "")
        + (f", {counts[SKIPPED]} skipped" if counts[SKIPPED] else "") + ".",
    ]
    if not_passed:
        lines += ["", "Did not pass:"]
    for test in not_passed:
        lines += ["", f"{_LABEL.get(test.status, test.status.upper())} {test.target or '-'}: {test.scenario}"]
        sentences = [test.message] if test.message else []
        # A breached figure's line, where the verdict's own sentence does not already carry it.
        sentences += [m["line"] for m in test.measurements if not m["met"] and m["line"] not in test.message]
        lines += [f"  {sentence}" for sentence in sentences]
    if result.budget_exceeded:
        lines += ["", f"Budget exceeded: {result.budget_exceeded}"]
    if result.leftovers:
        lines += ["", f"Left behind: {', '.join(result.leftovers)}; remove with: drtool cleanup --run-id {result.run_id}"]
    lines += [f"Run error: {error}" for error in result.run_errors]
    body = "\n".join(lines) + "\n"
    if len(body.encode()) > MAX_BODY_BYTES:
        cut = body.encode()[:MAX_BODY_BYTES].decode(errors="ignore")
        body = cut + "\n... (cut to fit an SNS message; the run's journal and reports hold everything)\n"
    return Summary(subject, body)


def delivery_line(sink: str, destination: str, detail: str = "", error: str = "") -> str:
    """How a publishing attempt reads in the terminal and the logs."""
    if error:
        return f"could not publish to {sink} {destination}: {error}"
    return f"published to {sink} {destination}" + (f": {detail}" if detail else "")
