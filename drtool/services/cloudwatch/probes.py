"""Read-only CloudWatch operations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from drtool.core.operations import operation

__all__ = ["metric_statistics"]


@operation("cloudwatch", "GetMetricStatistics", iam=("cloudwatch:GetMetricStatistics",))
def metric_statistics(cloudwatch: Any, namespace: str, metric: str, dimensions: dict[str, str], statistic: str,
                      start: datetime, end: datetime, period: int) -> list[dict[str, Any]]:
    """One statistic of a metric over [start, end), per `period` seconds, oldest first."""
    found = cloudwatch.get_metric_statistics(
        Namespace=namespace, MetricName=metric, Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        StartTime=start, EndTime=end, Period=period, Statistics=[statistic],
    )["Datapoints"]
    return sorted(found, key=lambda point: point["Timestamp"])
