"""Real drill runs against the lab that publish their results: what CloudWatch and SNS receive is what the run measured,
and a sink that fails is a warning that changes nothing about the run's result."""

from __future__ import annotations

import json
import socket
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from drtool.core.results import summarize
from drtool.sandbox.seed import PRIMARY_REGION
from tests.helpers import drill_file, finish_drill, run_drill, start_drill

NAMESPACE = "drtool/drills"


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def _with_publish(drill: Path, publish: dict) -> Path:
    content = yaml.safe_load(drill.read_text())
    content["publish"] = publish
    drill.write_text(yaml.safe_dump(content, sort_keys=False))
    return drill


def _summary_queue(aws) -> tuple[str, str]:
    topic = aws("sns", PRIMARY_REGION).create_topic(Name="dr-drill-failures")["TopicArn"]
    sqs = aws("sqs", PRIMARY_REGION)
    queue = sqs.create_queue(QueueName="drill-summaries")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    aws("sns", PRIMARY_REGION).subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return topic, queue


def _metric(aws, at, metric: str, **dimensions: str) -> list[float]:
    points = aws("cloudwatch", PRIMARY_REGION).get_metric_statistics(
        Namespace=NAMESPACE, MetricName=metric, Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        StartTime=at - timedelta(hours=1), EndTime=at + timedelta(hours=1), Period=60, Statistics=["Maximum"])["Datapoints"]
    return [point["Maximum"] for point in points]


@pytest.mark.lab(faults=["slow-restore"])
def test_a_failed_drill_publishes_what_it_measured_and_an_unreachable_pushgateway_changes_nothing(lab, aws, tmp_path):
    topic, queue = _summary_queue(aws)
    # A key's round trip in world time at x600 can be minutes: this drill breaches the RTO, and only that.
    drill = _with_publish(drill_file(tmp_path, "orders-db", "dr-rds-key", max_round_trip="4h"),
                          {"cloudwatch": {"namespace": NAMESPACE}, "sns": {"topic_arn": topic}})
    pushgateway = _closed_port_url()

    outcome = run_drill(lab, tmp_path, "--pushgateway", pushgateway, drill=drill)

    assert outcome.exit_code == 1, outcome.output  # the RTO breach, whatever publishing did
    result = summarize(outcome.journal)
    assert [(p.sink, bool(p.error)) for p in result.publishing] == [("cloudwatch", False), ("pushgateway", True), ("sns", False)]
    assert "published to cloudwatch namespace drtool/drills in eu-west-1: " in outcome.output
    assert f"warning: could not publish to pushgateway {pushgateway}/metrics/job/drtool/drill/sandbox: cannot reach it" in outcome.output

    measured = outcome.measurements()
    at = result.finished_at
    assert _metric(aws, at, "RTOSeconds", Drill="sandbox", Target="orders-db") == [measured[("orders-db", "RTO")]["measured_s"]]
    assert _metric(aws, at, "RPOSeconds", Drill="sandbox", Target="orders-db") == [measured[("orders-db", "RPO")]["measured_s"]]
    assert _metric(aws, at, "RoundTripSeconds", Drill="sandbox", Target="dr-rds-key") == [
        measured[("dr-rds-key", "round trip")]["measured_s"]]
    assert _metric(aws, at, "Passed", Drill="sandbox", Target="orders-db",
                   Scenario="Restore the newest recoverable point of a database in the DR region") == [0.0]

    [message] = aws("sqs", PRIMARY_REGION).receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    notification = json.loads(message["Body"])
    assert notification["Subject"].startswith("drtool: drill sandbox FAILED (1 of ")
    assert measured[("orders-db", "RTO")]["line"] in notification["Message"]
    assert "dr-rds-key" not in notification["Message"], "only what did not pass is in the summary"


def test_plain_pytest_publishes_too_and_no_publish_turns_the_drill_files_sinks_off(lab, aws, tmp_path):
    drill = _with_publish(drill_file(tmp_path, "dr-rds-key", max_round_trip="4h"), {"cloudwatch": {"namespace": NAMESPACE}})
    command = (sys.executable, "-m", "pytest", "--drill", str(drill), "-p", "no:cacheprovider", "-q")
    for place in ("pytest", "quiet"):
        (tmp_path / place).mkdir()

    via_pytest = finish_drill(start_drill(lab, tmp_path / "pytest", command=command), tmp_path / "pytest")
    quiet = run_drill(lab, tmp_path / "quiet", "--no-publish", drill=drill)

    assert via_pytest.exit_code == 0 and quiet.exit_code == 0, (via_pytest.output, quiet.output)
    assert "drtool: published to cloudwatch namespace drtool/drills in eu-west-1: " in via_pytest.output
    published = summarize(via_pytest.journal)
    assert _metric(aws, published.finished_at, "Passed", Drill="sandbox", Target="dr-rds-key") == [1.0], "only the first run's"
    assert summarize(quiet.journal).publishing == [] and "publish to" not in quiet.output and "published" not in quiet.output
