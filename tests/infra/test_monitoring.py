"""Alarms (what they watch, where they notify), the SNS topic and the dashboard."""

from __future__ import annotations

import json

import pytest

from functions.model import METRICS_NAMESPACE, Outcome, outcome_metric
from infra import spec
from tests.support.infra import Program

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def alarms(program: Program) -> dict[str, dict]:
    prefix = spec.alarm_prefix(program.outputs["stack"])
    found = {}
    for alarm in program.resources_of_type(ALARM):
        assert alarm.inputs["name"].startswith(prefix)
        found[alarm.inputs["name"].removeprefix(prefix)] = alarm.inputs
    return found


def test_every_alarm_notifies_the_topic(dev: Program) -> None:
    topic = dev.one("aws:sns/topic:Topic")
    for name, alarm in alarms(dev).items():
        assert alarm["alarmActions"] == [topic.outputs["arn"]], name


def test_function_errors_and_throttles_are_alarmed(dev: Program) -> None:
    found = alarms(dev)
    for role in ("transformer", "error-handler"):
        function = dev.function(f"{role.replace('-', '_')}_function")
        for metric in ("Errors", "Throttles"):
            alarm = found[f"{role}-{metric.lower()}"]
            assert (alarm["namespace"], alarm["metricName"]) == ("AWS/Lambda", metric)
            assert alarm["dimensions"] == {"FunctionName": function.inputs["name"]}
            assert alarm["threshold"] == 0 and alarm["comparisonOperator"] == "GreaterThanThreshold"


def test_writer_alarms_are_scoped_to_the_live_alias(dev: Program) -> None:
    found = alarms(dev)
    name = dev.function("writer_function").inputs["name"]
    for metric in ("errors", "throttles"):
        assert found[f"writer-{metric}"]["dimensions"] == {"FunctionName": name, "Resource": f"{name}:live"}


def test_writer_failed_records_alarm_reads_the_emf_metric(dev: Program) -> None:
    alarm = alarms(dev)["writer-failed-records"]
    assert alarm["namespace"] == METRICS_NAMESPACE
    assert alarm["metricName"] == outcome_metric(Outcome.FAILED) == "RecordsFailed"
    assert alarm["dimensions"] == {"service": "writer"}
    assert alarm["threshold"] == 0


def test_writer_invalid_records_alarm_is_a_share_of_all_outcomes(dev: Program) -> None:
    queries = {q["id"]: q for q in alarms(dev)["writer-invalid-records"]["metricQueries"]}
    metrics = {q["metric"]["metricName"] for q in queries.values() if "metric" in q}

    assert metrics == {outcome_metric(outcome) for outcome in Outcome}
    assert all(q["metric"]["namespace"] == METRICS_NAMESPACE for q in queries.values() if "metric" in q)
    assert all(q["metric"]["dimensions"] == {"service": "writer"} for q in queries.values() if "metric" in q)
    share = queries["invalid_share"]
    assert share["returnData"] is True and "FILL(invalid, 0)" in share["expression"]


def test_dlq_and_queue_age_alarms_watch_the_right_queues(dev: Program) -> None:
    found = alarms(dev)
    dlq = dev.one("aws:sqs/queue:Queue", "-dlq")
    writer_queue = dev.one("aws:sqs/queue:Queue", "writer-queue")

    assert found["dlq-not-drained"]["dimensions"] == {"QueueName": dlq.outputs["name"]}
    assert found["writer-queue-age"]["metricName"] == "ApproximateAgeOfOldestMessage"
    assert found["writer-queue-age"]["dimensions"] == {"QueueName": writer_queue.outputs["name"]}


def test_dlq_alarm_fires_on_a_message_left_undrained_not_on_each_invalid_record(dev: Program) -> None:
    """Invalid records reach the DLQ by design and the ErrorHandler drains them in seconds: depth > 0 would
    alarm on every bad row. Age above three visibility timeouts means a message the ErrorHandler failed three
    times, or a DLQ nobody polls."""
    alarm = alarms(dev)["dlq-not-drained"]
    dlq = dev.one("aws:sqs/queue:Queue", "-dlq")
    visibility = dlq.inputs["visibilityTimeoutSeconds"]

    assert (alarm["namespace"], alarm["metricName"], alarm["statistic"]) == (
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
        "Maximum",
    )
    assert alarm["comparisonOperator"] == "GreaterThanThreshold"
    assert alarm["threshold"] == 3 * visibility == 540
    assert alarm["period"] * alarm["evaluationPeriods"] < alarm["threshold"]
    assert alarm["treatMissingData"] == "notBreaching"
    assert "dlq-not-empty" not in alarms(dev)


def test_api_5xx_alarm_watches_the_default_stage(dev: Program) -> None:
    alarm = alarms(dev)["api-5xx"]
    assert (alarm["namespace"], alarm["metricName"]) == ("AWS/ApiGateway", "5xx")
    assert alarm["dimensions"] == {"ApiId": "a1b2c3d4e5", "Stage": "$default"}


def test_an_existing_topic_replaces_the_stack_s_own(program_runner) -> None:
    topic = "arn:aws:sns:eu-west-1:123456789012:oncall"
    program = program_runner("prod", {"alarmEmail": None, "alarmTopicArn": topic})

    assert program.resources_of_type("aws:sns/topic:Topic") == []
    assert program.resources_of_type("aws:sns/topicSubscription:TopicSubscription") == []
    for name, alarm in alarms(program).items():
        assert alarm["alarmActions"] == alarm["okActions"] == [topic], name
    assert program.outputs["alarm_topic_arn"] == topic


def test_prod_alarms_reach_the_configured_email(prod: Program) -> None:
    [subscription] = prod.resources_of_type("aws:sns/topicSubscription:TopicSubscription")
    assert subscription.inputs["endpoint"] == prod.config["serverless-pipeline:alarmEmail"]
    assert subscription.inputs["topic"] == prod.one("aws:sns/topic:Topic").outputs["arn"]


@pytest.mark.parametrize(("email", "subscriptions"), [(None, 0), ("ops@example.com", 1)])
def test_alarm_email_subscription_is_optional(program_runner, email: str | None, subscriptions: int) -> None:
    program = program_runner("dev", {"alarmEmail": email})
    found = program.resources_of_type("aws:sns/topicSubscription:TopicSubscription")

    assert len(found) == subscriptions
    for subscription in found:
        assert subscription.inputs == {
            "topic": program.one("aws:sns/topic:Topic").outputs["arn"],
            "protocol": "email",
            "endpoint": email,
        }


def test_dashboard_has_a_widget_per_function_queue_table_api_and_outcomes(dev: Program) -> None:
    dashboard = dev.one("aws:cloudwatch/dashboard:Dashboard")
    widgets = json.loads(dashboard.inputs["dashboardBody"])["widgets"]

    def dimension_values(widget: dict) -> set[str]:
        return {value for row in widget["properties"]["metrics"] for value in row[3:-1:2]}

    def metric_names(widget: dict) -> set[str]:
        return {row[1] for row in widget["properties"]["metrics"]}

    assert dashboard.inputs["dashboardName"] == dev.outputs["dashboard_name"] == "serverless-pipeline-dev"
    for key in ("transformer_function", "writer_function", "error_handler_function"):
        name = dev.function(key).inputs["name"]
        [widget] = [w for w in widgets if name in dimension_values(w)]
        assert metric_names(widget) == {"Invocations", "Errors", "Duration", "Throttles"}
    for queue in dev.resources_of_type("aws:sqs/queue:Queue"):
        [widget] = [w for w in widgets if queue.outputs["name"] in dimension_values(w)]
        assert metric_names(widget) == {"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"}
    for table in dev.resources_of_type("aws:dynamodb/table:Table"):
        [widget] = [w for w in widgets if table.outputs["name"] in dimension_values(w)]
        assert {"ConsumedWriteCapacityUnits", "WriteThrottleEvents"} <= metric_names(widget)
    [api] = [w for w in widgets if "a1b2c3d4e5" in dimension_values(w)]
    assert metric_names(api) == {"Count", "4xx", "5xx", "Latency"}
    [outcomes] = [
        w for w in widgets if all(row[0] == METRICS_NAMESPACE for row in w["properties"]["metrics"])
    ]
    assert metric_names(outcomes) == {outcome_metric(outcome) for outcome in Outcome}
