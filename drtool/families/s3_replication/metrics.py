"""Scenario 3: judge S3's own replication metrics over the drill file's window against the objectives."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from drtool.core.clock import format_duration
from drtool.core.operations import calls, primary
from drtool.core.verdicts import DrillFinding, Measurement, ObjectiveBreached, Verdict
from drtool.families.s3_replication.canary import replication_dimensions
from drtool.families.s3_replication.config import select_rule
from drtool.families.s3_replication.context import S3DrillContext
from drtool.services.cloudwatch.probes import metric_statistics
from drtool.services.s3 import probes

# GetMetricStatistics returns at most 1,440 datapoints a call; S3 publishes these metrics per minute.
MAX_DATAPOINTS = 1440


@dataclass(frozen=True)
class WindowMetrics:
    rule_id: str
    start: datetime
    end: datetime
    latency_max_s: float | None  # ReplicationLatency, Maximum
    pending_max: float | None  # OperationsPendingReplication, Maximum
    failed_sum: float | None  # OperationsFailedReplication, Sum
    datapoints: int


def period_for(window_s: float) -> int:
    """A period, in whole minutes, that covers the window in at most MAX_DATAPOINTS datapoints."""
    return max(60, math.ceil(window_s / MAX_DATAPOINTS / 60) * 60)


@calls(primary(probes.replication_configuration), primary(metric_statistics))
def read_metrics(ctx: S3DrillContext) -> WindowMetrics:
    """The three replication metrics of the target's rule, over the window, in the source bucket's region."""
    target = ctx.target
    rule_id = target.rule_id
    if rule_id is None:
        config = probes.replication_configuration(ctx.s3_source, target.source_bucket) or {}
        rule, missing = select_rule(config, target.source_bucket, target.replica_bucket, None)
        if rule is None:
            raise DrillFinding(f"{ctx.name}: {missing}")
        rule_id = str(rule.get("ID", ""))
    end = ctx.clock.now()
    start = end - target.metrics_window
    period = period_for(target.metrics_window.total_seconds())
    cloudwatch = ctx.clients("cloudwatch", ctx.primary_region)
    dimensions = replication_dimensions(target, rule_id)

    def statistic(metric: str, stat: str) -> list[float]:
        return [point[stat] for point in metric_statistics(cloudwatch, "AWS/S3", metric, dimensions, stat, start, end, period)]

    latency = statistic("ReplicationLatency", "Maximum")
    pending = statistic("OperationsPendingReplication", "Maximum")
    failed = statistic("OperationsFailedReplication", "Sum")
    return WindowMetrics(rule_id, start, end, max(latency, default=None), max(pending, default=None),
                         sum(failed) if failed else None, len(latency) + len(pending) + len(failed))


@calls()
def judge_metrics(ctx: S3DrillContext, metrics: WindowMetrics) -> Verdict:
    """PASS when every metric is within its objective; a breach or, where metrics are expected, no data at all, FAILs."""
    target = ctx.target
    window = format_duration(target.metrics_window)
    where = f"rule {metrics.rule_id!r} of {target.source_bucket} in the last {window}"
    if not target.expect.metrics:
        return Verdict.skipped(f"{ctx.name}: replication metrics are not expected for this target (expect.metrics is false)")
    if metrics.datapoints == 0 or metrics.latency_max_s is None:
        raise DrillFinding(
            f"{ctx.name}: CloudWatch has no replication metrics for {where}: enable replication metrics "
            f"(Destination.Metrics) on the rule, and check that it names {target.replica_bucket} as its destination")
    objectives = target.objectives
    latency = Measurement(ctx.name, "ReplicationLatency", metrics.latency_max_s, objectives.max_lag.total_seconds(),
                          "cloudwatch: AWS/S3 ReplicationLatency, Maximum",
                          f"AWS's ReplicationLatency for {where} peaked at {format_duration(metrics.latency_max_s)}")
    counts = [
        (f"OperationsPendingReplication peaked at {metrics.pending_max or 0:g}", metrics.pending_max or 0, objectives.max_pending,
         "max pending"),
        (f"OperationsFailedReplication summed to {metrics.failed_sum or 0:g}", metrics.failed_sum or 0, objectives.max_failed,
         "max failed"),
    ]
    lines = [latency.line] + [f"{ctx.name}: {text} ({label} {limit}): {'met' if value <= limit else 'BREACHED'}"
                              for text, value, limit, label in counts]
    if not latency.met or any(value > limit for _, value, limit, _ in counts):
        raise ObjectiveBreached("; ".join(line for line in lines if "BREACHED" in line), [latency])
    return Verdict.passed("; ".join(lines), [latency])
