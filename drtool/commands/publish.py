"""After a run: publish its results to CloudWatch, a Prometheus Pushgateway and SNS, as the drill file says.

Publishing reads the finished run's results, never the world. Each sink is
tried on its own; one that fails is a warning, with its reason, and never
changes the run's exit code or hides its result: a drill that met its
objectives did so whether or not a dashboard heard of it.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import quote

from drtool.core.errors import InfrastructureError, describe_error
from drtool.core.grants import Grant, GrantRule, Scope
from drtool.core.guard import Guard
from drtool.core.results import ExitCode, RunResult
from drtool.core.session import ClientFactory, SessionFactory
from drtool.drill.file import Drill
from drtool.drill.publish import Publishing
from drtool.reports.metrics import datapoints, delivery_line, exposition, summary
from drtool.services.cloudwatch.publish import put_metric_data
from drtool.services.sns.publish import publish_message

CLOUDWATCH, PUSHGATEWAY, SNS = "cloudwatch", "pushgateway", "sns"
# A publisher waits for nobody for long: a stopped container has seconds left, and the result is already written.
PUSH_TIMEOUT_S = 10.0
PUBLISH_RETRIES = {"mode": "standard", "total_max_attempts": 3}
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


class PushFailed(InfrastructureError):
    """The Pushgateway could not be reached, or refused the metrics."""


@dataclass(frozen=True)
class Delivery:
    sink: str
    destination: str
    detail: str = ""
    error: str = ""  # empty when delivered

    @property
    def line(self) -> str:
        return delivery_line(self.sink, self.destination, self.detail, self.error)


def publishing_clients(drill: Drill, run_id: str) -> SessionFactory:
    """The drill's own AWS access, few retries, and the guard, which lets publishing pass and nothing else new."""
    clients = SessionFactory(drill.aws, retries=PUBLISH_RETRIES)
    clients.add_client_hook(Guard(run_id=run_id, dr_region=drill.dr_region, lookup=clients.client).attach)
    return clients


def cloudwatch_region(drill: Drill, publishing: Publishing) -> str:
    return (publishing.cloudwatch and publishing.cloudwatch.region) or drill.primary_region


def publish_run(result: RunResult, drill: Drill, publishing: Publishing, clients: ClientFactory, *,
                push: Callable[[str, bytes], None] | None = None) -> list[Delivery]:
    """Send the run's results to each configured sink; one Delivery per sink tried, an error where it failed."""
    deliveries = []
    if publishing.cloudwatch is not None:
        namespace, region = publishing.cloudwatch.namespace, cloudwatch_region(drill, publishing)
        deliveries.append(_attempt(CLOUDWATCH, f"namespace {namespace} in {region}",
                                   lambda: _to_cloudwatch(result, clients.client("cloudwatch", region), namespace)))
    if publishing.pushgateway is not None:
        gateway = publishing.pushgateway
        url = f"{gateway.url}/metrics/job/{quote(gateway.job, safe='')}/drill/{quote(result.drill, safe='')}"
        deliveries.append(_attempt(PUSHGATEWAY, url, lambda: _to_pushgateway(result, url, push or put_text)))
    sns = publishing.sns
    if sns is not None and (sns.when == "always" or result.exit_code() != ExitCode.MET):
        deliveries.append(_attempt(SNS, sns.topic_arn, lambda: _to_sns(result, clients.client("sns", sns.region), sns.topic_arn)))
    return deliveries


def _attempt(sink: str, destination: str, send: Callable[[], str]) -> Delivery:
    try:
        return Delivery(sink, destination, detail=send())
    except Exception as exc:  # a publisher must never break the run's result: the reason is reported, not raised
        return Delivery(sink, destination, error=describe_error(exc))


def _to_cloudwatch(result: RunResult, cloudwatch: Any, namespace: str) -> str:
    points = datapoints(result)
    put_metric_data(cloudwatch, namespace, [point.metric_datum(result.finished_at) for point in points])
    return f"{len(points)} datapoints"


def _to_pushgateway(result: RunResult, url: str, push: Callable[[str, bytes], None]) -> str:
    text = exposition(result)
    push(url, text.encode("utf-8"))
    return f"{sum(1 for line in text.splitlines() if line and not line.startswith('#'))} samples"


def put_text(url: str, body: bytes) -> None:
    """PUT a Prometheus text body: the Pushgateway replaces the group's metrics with these."""
    request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": PROMETHEUS_TEXT})
    try:
        with urllib.request.urlopen(request, timeout=PUSH_TIMEOUT_S) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        # The Pushgateway says in the body why it refused (inconsistent metrics, a label clash).
        reason = exc.read().decode("utf-8", "replace").strip()[:300]
        raise PushFailed(f"HTTP {exc.code} {exc.reason}" + (f": {reason}" if reason else "")) from None
    except (urllib.error.URLError, OSError) as exc:
        raise PushFailed(f"cannot reach it: {getattr(exc, 'reason', exc)}") from None


def _to_sns(result: RunResult, sns: Any, topic_arn: str) -> str:
    message = summary(result)
    message_id = publish_message(sns, topic_arn, message.subject, message.body, group=result.drill,
                                 deduplication_id=result.run_id)
    return f"message {message_id}"


# --- the IAM grants publishing needs, only for the sinks a drill file configures --------------------


def _metrics_in_namespace(scope: Scope) -> list[Grant]:
    cloudwatch = scope.drill.publish.cloudwatch
    if cloudwatch is None:
        return []
    # PutMetricData has no resource ARN; the namespace condition keeps the drill to its own metrics.
    return [Grant("PublishDrillMetrics", ("*",), {"StringEquals": {"cloudwatch:namespace": cloudwatch.namespace}})]


def _the_topic(scope: Scope) -> list[Grant]:
    sns = scope.drill.publish.sns
    return [Grant("PublishDrillSummary", (sns.topic_arn,))] if sns is not None else []


PUBLISH_GRANTS: dict[str, GrantRule] = {
    action: rule
    for operation, rule in ((put_metric_data, _metrics_in_namespace), (publish_message, _the_topic))
    for action in operation.operation.iam_actions
}
