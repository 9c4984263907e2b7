"""Publishing against the lab: metrics read back from CloudWatch with their values and dimensions, the SNS summary
read from a queue subscribed to the topic, the guard letting both pass, and least privilege proven with IAM enforced."""

from __future__ import annotations

import copy
import json
from datetime import timedelta

import boto3
import pytest
import yaml

from drtool.commands.permissions import drill_policy
from drtool.commands.publish import publish_run, publishing_clients
from drtool.core.guard import coverage_problem, is_read
from drtool.drill.publish import CloudWatchPublishing, Publishing, SnsPublishing
from drtool.drill.validate import check_drill_file
from drtool.sandbox.seed import ACCOUNT_ID, PRIMARY_REGION
from drtool.services.cloudwatch.publish import put_metric_data
from drtool.services.sns.publish import publish_message
from tests.helpers import SANDBOX_DRILL, drill_file
from tests.publish.runs import RTO_BREACH, RUN_ID, finished_run

NAMESPACE = "drtool/tests"


@pytest.fixture
def lab_environment(lab, monkeypatch):
    """drtool's own clients find the lab as they would AWS: through the standard environment."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in lab.environment().items():
        monkeypatch.setenv(name, value)
    return lab


def _subscribed_queue(aws, topic_arn: str) -> str:
    sqs = aws("sqs", PRIMARY_REGION)
    queue = sqs.create_queue(QueueName="drill-summaries")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    aws("sns", PRIMARY_REGION).subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return queue


def _notifications(aws, queue: str) -> list[dict]:
    sqs = aws("sqs", PRIMARY_REGION)
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


def _maximum(aws, result, metric: str, **dimensions: str) -> list[float]:
    points = aws("cloudwatch", PRIMARY_REGION).get_metric_statistics(
        Namespace=NAMESPACE, MetricName=metric, Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        StartTime=result.finished_at - timedelta(hours=1), EndTime=result.finished_at + timedelta(hours=1),
        Period=60, Statistics=["Maximum"])["Datapoints"]
    return [point["Maximum"] for point in points]


def _stored(metric: str) -> dict[tuple[tuple[str, str], ...], float]:
    """What the lab's CloudWatch holds, by exact dimensions (moto's GetMetricStatistics matches any superset of them)."""
    from moto.cloudwatch.models import cloudwatch_backends

    backend = cloudwatch_backends[ACCOUNT_ID][PRIMARY_REGION]
    return {tuple((d.name, d.value) for d in datum.dimensions): datum.value for datum in backend.get_all_metrics()
            if datum.namespace == NAMESPACE and datum.name == metric}


def test_the_guard_lets_publishing_pass_because_it_creates_nothing():
    assert is_read("cloudwatch", "PutMetricData") and is_read("sns", "Publish")
    assert coverage_problem(put_metric_data.operation) is None and coverage_problem(publish_message.operation) is None


def test_a_failed_run_publishes_its_figures_to_cloudwatch_and_its_summary_to_sns(lab_environment, aws, tmp_path):
    drill = check_drill_file(SANDBOX_DRILL).drill
    topic = aws("sns", PRIMARY_REGION).create_topic(Name="dr-drill-failures")["TopicArn"]
    queue = _subscribed_queue(aws, topic)
    result = finished_run(tmp_path, breach=True)
    publishing = Publishing(cloudwatch=CloudWatchPublishing(namespace=NAMESPACE), sns=SnsPublishing(topic_arn=topic))

    deliveries = publish_run(result, drill, publishing, publishing_clients(drill, RUN_ID))

    assert [(d.sink, d.error) for d in deliveries] == [("cloudwatch", ""), ("sns", "")], deliveries
    assert deliveries[0].detail == "19 datapoints"  # Passed: 1 drill, 4 targets, 6 scenarios; 8 figures
    assert _maximum(aws, result, "RTOSeconds", Drill="monthly", Target="orders-db") == [2524.0]
    assert _maximum(aws, result, "ReplicationLagSeconds", Drill="monthly", Target="orders-data") == [43.5]
    assert _maximum(aws, result, "RoundTripSeconds", Drill="monthly", Target="dr-rds-key") == [0.75]
    assert _stored("Passed")[(("Drill", "monthly"),)] == 0.0
    assert _stored("Passed")[(("Drill", "monthly"), ("Target", "orders-data"))] == 1.0
    assert _maximum(aws, result, "Passed", Drill="monthly", Target="orders-db",
                    Scenario="Restore the newest recoverable point") == [0.0]
    listed = aws("cloudwatch", PRIMARY_REGION).list_metrics(Namespace=NAMESPACE, MetricName="Passed")["Metrics"]
    assert sorted(tuple(d["Name"] for d in metric["Dimensions"]) for metric in listed) == sorted(
        [("Drill",)] + [("Drill", "Target")] * 4 + [("Drill", "Target", "Scenario")] * 6)

    [notification] = _notifications(aws, queue)
    assert notification["Subject"] == f"drtool: drill monthly FAILED (1 of 6 scenarios did not pass), run {RUN_ID}"
    assert f"FAILED orders-db: Restore the newest recoverable point\n  {RTO_BREACH}" in notification["Message"]
    assert deliveries[1].detail == f"message {notification['MessageId']}"


def test_a_run_that_met_its_objectives_sends_no_failure_summary(lab_environment, aws, tmp_path):
    drill = check_drill_file(SANDBOX_DRILL).drill
    topic = aws("sns", PRIMARY_REGION).create_topic(Name="dr-drill-failures")["TopicArn"]
    queue = _subscribed_queue(aws, topic)
    result = finished_run(tmp_path)
    deliveries = publish_run(result, drill, Publishing(cloudwatch=CloudWatchPublishing(namespace=NAMESPACE),
                                                       sns=SnsPublishing(topic_arn=topic)), publishing_clients(drill, RUN_ID))
    assert [d.sink for d in deliveries] == ["cloudwatch"]
    assert _notifications(aws, queue) == []
    assert set(_stored("Passed").values()) == {1.0}


def test_a_topic_that_does_not_exist_is_a_warning_with_awss_reason(lab_environment, tmp_path):
    drill = check_drill_file(SANDBOX_DRILL).drill
    missing = f"arn:aws:sns:{PRIMARY_REGION}:{ACCOUNT_ID}:no-such-topic"
    [delivery] = publish_run(finished_run(tmp_path, breach=True), drill, Publishing(sns=SnsPublishing(topic_arn=missing)),
                             publishing_clients(drill, RUN_ID))
    assert delivery.error.startswith("Publish: NotFound:"), delivery


# --- least privilege, with IAM enforced ------------------------------------------------------------


def _for_moto(policy: dict) -> dict:
    """moto authorizes SNS and CloudWatch against the resource "*", and CloudWatch under its signing name."""
    widened = copy.deepcopy(policy)
    for statement in widened["Statement"]:
        statement["Resource"] = "*"
        statement["Action"] += [f"monitoring:{a.split(':', 1)[1]}" for a in statement["Action"] if a.startswith("cloudwatch:")]
    return widened


def _clients_of_user(lab, aws, name: str, policy: dict):
    iam = aws("iam", PRIMARY_REGION)
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="drtool-drill", PolicyDocument=json.dumps(_for_moto(policy)))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    session = boto3.session.Session(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])

    class Clients:
        def client(self, service, region):
            return session.client(service, region_name=region, endpoint_url=lab.endpoint)

    return Clients()


@pytest.mark.lab(enforce_iam=True)
def test_the_policy_drtool_permissions_prints_lets_the_drill_publish_and_only_when_the_drill_file_asks(lab, aws, tmp_path):
    env = lab.environment()
    admin = lambda service: boto3.client(service, region_name=PRIMARY_REGION, endpoint_url=lab.endpoint,  # noqa: E731
                                         aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
    topic = admin("sns").create_topic(Name="dr-drill-failures")["TopicArn"]
    plain = drill_file(tmp_path)
    publishing = yaml.safe_load(plain.read_text())
    publishing["publish"] = {"cloudwatch": {"namespace": NAMESPACE}, "sns": {"topic_arn": topic}}
    publishing_drill = tmp_path / "publishing.yaml"
    publishing_drill.write_text(yaml.safe_dump(publishing, sort_keys=False))
    with_publish, without = check_drill_file(publishing_drill), check_drill_file(plain)
    result = finished_run(tmp_path, breach=True)
    admin_aws = lambda service, region: admin(service)  # noqa: E731

    granted = publish_run(result, with_publish.drill, with_publish.drill.publish,
                          _clients_of_user(lab, admin_aws, "drill-publishing", drill_policy(with_publish, ACCOUNT_ID)))
    refused = publish_run(result, with_publish.drill, with_publish.drill.publish,
                          _clients_of_user(lab, admin_aws, "drill-not-publishing", drill_policy(without, ACCOUNT_ID)))

    assert [(d.sink, d.error) for d in granted] == [("cloudwatch", ""), ("sns", "")]
    assert [d.sink for d in refused] == ["cloudwatch", "sns"]
    assert all("AccessDenied" in d.error or "403" in d.error for d in refused), refused
