"""What a run publishes, rendered from its results offline: metric names, datapoints, Prometheus text, the summary."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from drtool.commands.publish import publish_run
from drtool.core.registry import families
from drtool.drill.publish import CloudWatchPublishing, Publishing, PushgatewayPublishing, SnsPublishing
from drtool.drill.validate import check_drill_file
from drtool.reports.metrics import MAX_SUBJECT, datapoints, exposition, metric_name, prometheus_name, summary
from tests.helpers import SANDBOX_DRILL
from tests.publish.runs import RTO_BREACH, RUN_ID, finished_run


def _by_dimensions(points):
    return {(point.metric, point.dimensions): point.value for point in points}


def test_the_figures_teams_alarm_on_have_their_documented_names_and_every_figure_a_name_of_its_own():
    assert [metric_name(f) for f in ("RTO", "RPO", "lag max", "round trip", "rotation interval")] == [
        "RTOSeconds", "RPOSeconds", "ReplicationLagSeconds", "RoundTripSeconds", "RotationIntervalSeconds"]
    every_figure = {figure for family in families() for figure in family.figures} | {"lag p50"}
    names = {metric_name(figure) for figure in every_figure}
    assert len(names) == len(every_figure), "two figures would publish under one metric name"
    assert all(name.isalnum() and name.endswith("Seconds") for name in names), names
    assert prometheus_name("ReplicationLagP95Seconds") == "drtool_replication_lag_p95_seconds"
    assert prometheus_name("RTOSeconds") == "drtool_rto_seconds"


def test_datapoints_carry_each_targets_worst_figure_and_passed_per_drill_target_and_scenario(tmp_path):
    points = _by_dimensions(datapoints(finished_run(tmp_path, breach=True)))
    drill = ("Drill", "monthly")
    assert points[("Passed", (drill,))] == 0.0
    assert points[("Passed", (drill, ("Target", "orders-db")))] == 0.0
    assert points[("Passed", (drill, ("Target", "orders-db"), ("Scenario", "Restore the newest recoverable point")))] == 0.0
    assert points[("Passed", (drill, ("Target", "orders-data")))] == 1.0
    assert points[("RTOSeconds", (drill, ("Target", "orders-db")))] == 2524.0
    assert points[("RPOSeconds", (drill, ("Target", "orders-db")))] == 22309.0
    assert points[("ReplicationLagSeconds", (drill, ("Target", "orders-data")))] == 43.5
    assert points[("ReplicationLagP95Seconds", (drill, ("Target", "orders-data")))] == 43.0
    assert points[("UnreplicatedAgeSeconds", (drill, ("Target", "orders-data")))] == 600.0
    assert points[("RoundTripSeconds", (drill, ("Target", "dr-rds-key")))] == 0.75, "the slower of two round trips"
    assert points[("RotationAgeSeconds", (drill, ("Target", "orders-db-credentials")))] == 12 * 86400
    # A scenario that measures nothing still says whether it passed.
    assert points[("Passed", (drill, ("Target", "orders-db-credentials"), ("Scenario", "The replica is in sync and readable")))] == 1.0
    datum = datapoints(finished_run(tmp_path))[1].metric_datum(None)
    assert datum["Unit"] == "None" and datum["Dimensions"][0] == {"Name": "Drill", "Value": "monthly"}


def test_a_run_that_met_every_objective_publishes_passed_one_everywhere(tmp_path):
    points = datapoints(finished_run(tmp_path))
    assert {point.value for point in points if point.metric == "Passed"} == {1.0}


def test_the_prometheus_text_reads_back_through_prometheus_clients_own_parser(tmp_path):
    result = finished_run(tmp_path, breach=True)
    parsed = {family.name: family for family in text_string_to_metric_families(exposition(result))}
    assert {f.type for f in parsed.values()} == {"gauge"}
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in parsed.values() for s in f.samples}
    assert samples[("drtool_rto_seconds", (("target", "orders-db"),))] == 2524.0
    assert samples[("drtool_replication_lag_seconds", (("target", "orders-data"),))] == 43.5
    assert samples[("drtool_drill_passed", ())] == 0.0
    assert samples[("drtool_target_passed", (("target", "orders-data"),))] == 1.0
    assert samples[("drtool_scenario_passed", (("scenario", "Restore the newest recoverable point"), ("target", "orders-db")))] == 0.0
    assert samples[("drtool_last_run_timestamp_seconds", ())] == round(result.finished_at.timestamp(), 3)
    # The Pushgateway's grouping key names the job and the drill; a label of the same name would clash with it.
    assert not any({"job", "drill"} & set(s.labels) for f in parsed.values() for s in f.samples)


def test_label_values_are_escaped(tmp_path):
    result = finished_run(tmp_path)
    test = next(iter(result.tests.values()))
    test.scenario = 'Restore "the" newest\\point\nof it'
    family = next(f for f in text_string_to_metric_families(exposition(result)) if f.name == "drtool_scenario_passed")
    assert test.scenario in {s.labels["scenario"] for s in family.samples}


def test_the_summary_names_what_failed_with_its_sentence_and_nothing_that_passed(tmp_path):
    message = summary(finished_run(tmp_path, breach=True))
    assert message.subject == f"drtool: drill monthly FAILED (1 of 6 scenarios did not pass), run {RUN_ID}"
    assert len(message.subject) <= MAX_SUBJECT and message.subject.isascii() and "\n" not in message.subject
    assert f"FAILED orders-db: Restore the newest recoverable point\n  {RTO_BREACH}\n" in message.body
    assert "5 met, 1 failed, 0 errors" in message.body
    assert "orders-data" not in message.body and "dr-rds-key" not in message.body


def test_a_long_drill_name_still_gives_a_subject_sns_accepts(tmp_path):
    message = summary(finished_run(tmp_path, breach=True, drill="x" * 41))
    assert len(message.subject) <= MAX_SUBJECT and message.subject.endswith("...")


class _Unreachable:
    def client(self, service, region):
        raise ConnectionError(f"no route to {service} in {region}")


def test_a_sink_that_fails_is_a_delivery_with_its_reason_never_an_exception(tmp_path):
    drill = check_drill_file(SANDBOX_DRILL).drill
    publishing = Publishing(cloudwatch=CloudWatchPublishing(), pushgateway=PushgatewayPublishing(url="http://127.0.0.1:9"),
                            sns=SnsPublishing(topic_arn="arn:aws:sns:eu-west-1:123456789012:drills"))

    def refuse(url, body):
        raise OSError("connection refused")

    deliveries = publish_run(finished_run(tmp_path, breach=True), drill, publishing, _Unreachable(), push=refuse)
    assert [(d.sink, d.destination) for d in deliveries] == [
        ("cloudwatch", "namespace drtool in eu-west-1"),
        ("pushgateway", "http://127.0.0.1:9/metrics/job/drtool/drill/monthly"),
        ("sns", "arn:aws:sns:eu-west-1:123456789012:drills")]
    assert [d.error for d in deliveries] == [
        "ConnectionError: no route to cloudwatch in eu-west-1", "OSError: connection refused",
        "ConnectionError: no route to sns in eu-west-1"]
    assert deliveries[0].line == "could not publish to cloudwatch namespace drtool in eu-west-1: " + deliveries[0].error


def test_sns_is_told_only_of_failures_unless_asked_for_every_run(tmp_path):
    drill = check_drill_file(SANDBOX_DRILL).drill
    on_failure = Publishing(sns=SnsPublishing(topic_arn="arn:aws:sns:eu-west-1:123456789012:drills"))
    always = Publishing(sns=SnsPublishing(topic_arn="arn:aws:sns:eu-west-1:123456789012:drills", when="always"))
    met = finished_run(tmp_path)
    assert publish_run(met, drill, on_failure, _Unreachable()) == []
    assert [d.sink for d in publish_run(met, drill, always, _Unreachable())] == ["sns"]
