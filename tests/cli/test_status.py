"""``pipeline-ctl status``: queue depths and ages, today's LogTable counts, alarms, AccountTable size."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from infra.spec import alarm_prefix
from tests.support.cli import DEPLOYED_STACK, Stack


def fill(stack: Stack) -> None:
    sqs = stack.client("sqs")
    for n in range(3):
        sqs.send_message(QueueUrl=stack.outputs["writer_queue_url"], MessageBody=json.dumps({"n": n}))
    sqs.send_message(QueueUrl=stack.outputs["dlq_url"], MessageBody="{}")
    sqs.receive_message(
        QueueUrl=stack.outputs["writer_queue_url"], MaxNumberOfMessages=1, VisibilityTimeout=60
    )
    now = datetime.now(UTC)
    stack.put_error("a", failed_at=now)
    stack.put_error("b", failed_at=now, status="REPLAYED")
    stack.put_error("c", failed_at=now)
    stack.put_error("yesterday", failed_at=now - timedelta(days=1, hours=1))
    stack.client("dynamodb").put_item(
        TableName=stack.outputs["account_table"], Item={"account_id": {"S": "a-1"}}
    )


def test_deployed_status_reports_queues_logs_alarms_and_ages(invoke, deployed: Stack) -> None:
    fill(deployed)
    cloudwatch = deployed.client("cloudwatch")
    for name in (alarm_prefix(DEPLOYED_STACK) + "writer-errors", "someone-elses-alarm"):
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            MetricName="Errors",
            Namespace="AWS/Lambda",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
    cloudwatch.set_alarm_state(
        AlarmName=alarm_prefix(DEPLOYED_STACK) + "writer-errors", StateValue="ALARM", StateReason="3 errors"
    )
    queue_name = deployed.outputs["writer_queue_url"].rsplit("/", 1)[1]
    cloudwatch.put_metric_data(
        Namespace="AWS/SQS",
        MetricData=[
            {
                "MetricName": "ApproximateAgeOfOldestMessage",
                "Dimensions": [{"Name": "QueueName", "Value": queue_name}],
                "Value": 42.0,
                "Timestamp": datetime.now(UTC)
                - timedelta(seconds=30),  # moto's EndTime is truncated to seconds
                "Unit": "Seconds",
            }
        ],
    )

    result = invoke("status", "--json")

    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    writer, dlq = report["queues"]["writer_queue"], report["queues"]["dlq"]
    assert (writer["name"], writer["visible"], writer["in_flight"], writer["oldest_age_seconds"]) == (
        queue_name,
        2,
        1,
        42.0,
    )
    assert (dlq["visible"], dlq["in_flight"], dlq["oldest_age_seconds"]) == (1, 0, None)
    assert report["log_table"] == {
        "day": datetime.now(UTC).date().isoformat(),
        "by_status": {"NEW": 2, "REPLAYED": 1},
    }
    assert report["account_table_items"] == 1
    assert report["alarms"] == [
        {"name": alarm_prefix(DEPLOYED_STACK) + "writer-errors", "state": "ALARM", "reason": "3 errors"}
    ]


def test_local_status_says_age_is_not_available(invoke, local: Stack) -> None:
    fill(local)

    result = invoke("status")

    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    writer_row = next(line for line in lines if "WriterQueue" in line)
    assert [cell.strip() for cell in writer_row.strip("│ ").split("│")] == [
        "WriterQueue",  # the name `status --watch` and `local up` use too
        "serverless-pipeline-local-writer-queue",
        "2",
        "1",
        "n/a",
    ]
    assert f"LogTable today ({datetime.now(UTC).date().isoformat()}): NEW 2, REPLAYED 1" in lines
    assert "AccountTable items (estimate): 1" in lines
    assert "alarms: none" in lines
