"""`drtool permissions` and `drtool plan` include publishing only for the sinks a drill file configures, narrowly."""

from __future__ import annotations

from drtool.commands.permissions import drill_policy
from drtool.commands.plan import build_plan
from drtool.drill.validate import check_drill_file
from tests.helpers import REPO, SANDBOX_DRILL

MONTHLY = REPO / "drills" / "monthly.yaml"


def _statements(policy):
    return {statement["Sid"]: statement for statement in policy["Statement"]}


def test_the_policy_grants_metrics_in_the_namespace_and_publishing_to_the_topic_only():
    statements = _statements(drill_policy(check_drill_file(MONTHLY), "123456789012"))
    assert statements["PublishDrillMetrics"] == {
        "Sid": "PublishDrillMetrics", "Effect": "Allow", "Action": ["cloudwatch:PutMetricData"], "Resource": "*",
        "Condition": {"StringEquals": {"cloudwatch:namespace": "drtool"}}}
    assert statements["PublishDrillSummary"] == {
        "Sid": "PublishDrillSummary", "Effect": "Allow", "Action": ["sns:Publish"],
        "Resource": ["arn:aws:sns:us-east-1:123456789012:dr-drill-failures"]}


def test_a_drill_that_publishes_nothing_is_granted_nothing_to_publish_with():
    policy = drill_policy(check_drill_file(SANDBOX_DRILL), "123456789012")
    actions = {action for statement in policy["Statement"] for action in statement["Action"]}
    assert not {"cloudwatch:PutMetricData", "sns:Publish"} & actions
    assert build_plan(check_drill_file(SANDBOX_DRILL)).publishing == ()


def test_the_plan_lists_publishing_after_the_run_in_the_sinks_regions():
    plan = build_plan(check_drill_file(MONTHLY))
    assert [(call.service, call.api, call.region) for call in plan.publishing] == [
        ("cloudwatch", "PutMetricData", "us-east-1"), ("sns", "Publish", "us-east-1")]
    rendered = plan.render()
    assert rendered.index("After the run, publishing its results") > rendered.rindex("Scenario:")
    assert "  publish   cloudwatch:PutMetricData" in rendered
