"""Publishing metric data: it adds datapoints and creates or changes no resource, so the guard lets it pass."""

from __future__ import annotations

from typing import Any

from drtool.core.operations import operation

__all__ = ["put_metric_data"]

# PutMetricData takes up to 1,000 metrics a request since 2023 (20 before, still the limit some SDK docs cite);
# a drill publishes a few dozen, so batches of 20 cost nothing and suit any endpoint.
BATCH = 20


@operation("cloudwatch", "PutMetricData", iam=("cloudwatch:PutMetricData",))
def put_metric_data(cloudwatch: Any, namespace: str, metric_data: list[dict[str, Any]]) -> int:
    """Publish datapoints (PutMetricData's MetricData entries) under `namespace`; returns the number of requests."""
    requests = 0
    for start in range(0, len(metric_data), BATCH):
        cloudwatch.put_metric_data(Namespace=namespace, MetricData=metric_data[start:start + BATCH])
        requests += 1
    return requests
