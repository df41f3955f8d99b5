"""The alarms a release is judged by: the Writer's outcomes and errors of one version, not of the function.

What AWS gets is checked here (the inputs of each alarm and of the deployment group); that these alarms do
roll a version back that rejects every record is tests/ops/test_canary_rollback.py.
"""

from __future__ import annotations

from functions.model import (
    MESSAGES_FAILED_METRIC,
    METRICS_NAMESPACE,
    VERSION_DIMENSION,
    Outcome,
    outcome_metric,
)
from infra import spec
from tests.support.infra import PUBLISHED_VERSION, Program

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
GROUP = "aws:codedeploy/deploymentGroup:DeploymentGroup"


def alarm(program: Program, suffix: str) -> dict:
    name = spec.alarm_prefix(program.outputs["stack"]) + suffix
    [found] = [a.inputs for a in program.resources_of_type(ALARM) if a.inputs["name"] == name]
    return found


def test_invalid_share_is_computed_from_the_published_versions_own_counts(prod: Program) -> None:
    queries = {q["id"]: q for q in alarm(prod, "writer-version-invalid-records")["metricQueries"]}
    metrics = [q["metric"] for q in queries.values() if "metric" in q]

    assert {m["metricName"] for m in metrics} == {outcome_metric(outcome) for outcome in Outcome}
    for metric in metrics:
        assert metric["namespace"] == METRICS_NAMESPACE
        assert metric["dimensions"] == {"service": "writer", VERSION_DIMENSION: PUBLISHED_VERSION}
        assert (metric["period"], metric["stat"]) == (60, "Sum")
    share = queries.pop("invalid_share")
    assert share["returnData"] is True and all(q["returnData"] is False for q in queries.values())
    assert share["expression"] == (
        "100 * FILL(invalid, 0) / (FILL(written, 0) + FILL(stale, 0) + FILL(invalid, 0) + FILL(failed, 0))"
    )


def test_invalid_share_alarm_fires_on_one_minute_above_half(prod: Program) -> None:
    found = alarm(prod, "writer-version-invalid-records")

    assert (found["threshold"], found["comparisonOperator"]) == (50, "GreaterThanThreshold")
    assert found["evaluationPeriods"] == 1
    assert found["treatMissingData"] == "notBreaching"


def test_errors_alarm_reads_the_alias_by_executed_version(prod: Program) -> None:
    found = alarm(prod, "writer-version-errors")
    name = prod.function("writer_function").inputs["name"]

    assert (found["namespace"], found["metricName"], found["statistic"]) == ("AWS/Lambda", "Errors", "Sum")
    assert found["dimensions"] == {
        "FunctionName": name,
        "Resource": f"{name}:{spec.WRITER_ALIAS}",
        "ExecutedVersion": PUBLISHED_VERSION,
    }
    assert (found["threshold"], found["period"]) == (0, 60)


def test_failed_messages_of_the_version_are_alarmed(prod: Program) -> None:
    """A version whose messages raise unexpectedly counts no record and raises no Lambda Errors."""
    found = alarm(prod, "writer-version-failed-messages")

    assert (found["namespace"], found["metricName"]) == (METRICS_NAMESPACE, MESSAGES_FAILED_METRIC)
    assert found["dimensions"] == {"service": "writer", VERSION_DIMENSION: PUBLISHED_VERSION}
    assert (found["statistic"], found["period"], found["threshold"]) == ("Sum", 60, 0)


VERSION_ALARMS = ("writer-version-invalid-records", "writer-version-failed-messages", "writer-version-errors")


def test_the_deployment_group_watches_every_version_alarm(prod: Program) -> None:
    watched = prod.one(GROUP).inputs["alarmConfiguration"]["alarms"]
    prefix = spec.alarm_prefix("prod")

    assert {f"{prefix}{suffix}" for suffix in VERSION_ALARMS} <= set(watched)
    assert len(watched) <= 10  # CodeDeploy's limit of alarms per deployment group


def test_version_alarms_notify_the_topic(prod: Program) -> None:
    topic = prod.one("aws:sns/topic:Topic").outputs["arn"]
    for suffix in VERSION_ALARMS:
        found = alarm(prod, suffix)
        assert found["alarmActions"] == [topic] and found["okActions"] == [topic]
