"""``pipeline-ctl status``: is the pipeline keeping up, and is anything on fire?

Everything here is read-only and cheap: two GetQueueAttributes, one DescribeTable (AccountTable's item count
is DynamoDB's estimate, refreshed about every six hours in AWS), one ``by_day`` query for today's LogTable
items, and CloudWatch for the oldest-message age and the alarms. The oldest-message age exists only as the
CloudWatch metric ``ApproximateAgeOfOldestMessage``; the local stack has no SQS metrics, so there it is
reported as unavailable (``None``) instead of being made up.

Example::

    report = status(target)
    report.queues["dlq"].visible
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from botocore.exceptions import BotoCoreError, ClientError

from infra.spec import alarm_prefix
from ops.logtable import now_utc, query_window
from ops.target import Target

AGE_METRIC_WINDOW = timedelta(minutes=10)


@dataclass(kw_only=True)
class QueueStatus:
    name: str
    url: str
    visible: int
    in_flight: int
    oldest_age_seconds: float | None
    """None when CloudWatch has no datapoint (the local stack never has one)."""


@dataclass(kw_only=True)
class Alarm:
    name: str
    state: str
    reason: str


@dataclass(kw_only=True)
class StatusReport:
    stack: str
    queues: dict[str, QueueStatus]
    log_day: str
    log_counts: dict[str, int]
    account_items: int | None
    alarms: list[Alarm] | None
    """None when CloudWatch alarms could not be read (unavailable there, or no permission)."""
    notes: list[str] = field(default_factory=list)
    dashboard_url: str | None = None
    """The stack's CloudWatch dashboard in the AWS console; None for the local stack (it has none)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "dashboard_url": self.dashboard_url,
            "queues": {key: asdict(queue) for key, queue in self.queues.items()},
            "log_table": {"day": self.log_day, "by_status": self.log_counts},
            "account_table_items": self.account_items,
            "alarms": None if self.alarms is None else [asdict(alarm) for alarm in self.alarms],
            "notes": self.notes,
        }


def status(target: Target, *, clock: Callable[[], datetime] = now_utc) -> StatusReport:
    now = clock()
    notes: list[str] = []
    queues = {
        "writer_queue": _queue(target, target.outputs["writer_queue_url"], now, notes),
        "dlq": _queue(target, target.outputs["dlq_url"], now, notes),
    }
    start_of_day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    today = query_window(
        target.client("dynamodb"),
        target.outputs["log_table"],
        since=start_of_day,
        until=now,
        newest_first=True,
    )
    counts = Counter(str(item.get("status", "?")) for item in today)
    described = target.client("dynamodb").describe_table(TableName=target.outputs["account_table"])
    return StatusReport(
        stack=target.stack,
        queues=queues,
        log_day=start_of_day.date().isoformat(),
        log_counts=dict(sorted(counts.items())),
        account_items=described["Table"].get("ItemCount"),
        alarms=_alarms(target, notes),
        notes=notes,
        dashboard_url=None
        if target.is_local
        else dashboard_url(target.region, target.outputs["dashboard_name"]),
    )


def dashboard_url(region: str, name: str) -> str:
    """The console URL of a CloudWatch dashboard (the one the stack's monitoring component creates)."""
    return (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#dashboards/dashboard/{quote(name, safe='')}"
    )


def _queue(target: Target, url: str, now: datetime, notes: list[str]) -> QueueStatus:
    attributes = target.client("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "QueueArn"],
    )["Attributes"]
    name = attributes.get("QueueArn", url).rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    return QueueStatus(
        name=name,
        url=url,
        visible=int(attributes["ApproximateNumberOfMessages"]),
        in_flight=int(attributes["ApproximateNumberOfMessagesNotVisible"]),
        oldest_age_seconds=None if target.is_local else _oldest_age(target, name, now, notes),
    )


def _oldest_age(target: Target, queue_name: str, now: datetime, notes: list[str]) -> float | None:
    try:
        datapoints = target.client("cloudwatch").get_metric_statistics(
            Namespace="AWS/SQS",
            MetricName="ApproximateAgeOfOldestMessage",
            Dimensions=[{"Name": "QueueName", "Value": queue_name}],
            StartTime=now - AGE_METRIC_WINDOW,
            EndTime=now,
            Period=60,
            Statistics=["Maximum"],
        )["Datapoints"]
    except (ClientError, BotoCoreError) as error:
        notes.append(f"oldest-message age unavailable for {queue_name}: {error}")
        return None
    if not datapoints:
        return None
    newest = max(datapoints, key=lambda point: point["Timestamp"])
    return float(newest["Maximum"])


def _alarms(target: Target, notes: list[str]) -> list[Alarm] | None:
    alarms: list[Alarm] = []
    try:
        paginator = target.client("cloudwatch").get_paginator("describe_alarms")
        for page in paginator.paginate(AlarmNamePrefix=alarm_prefix(target.stack)):
            alarms += [
                Alarm(name=alarm["AlarmName"], state=alarm["StateValue"], reason=alarm.get("StateReason", ""))
                for alarm in page.get("MetricAlarms", []) + page.get("CompositeAlarms", [])
            ]
    except (ClientError, BotoCoreError) as error:
        notes.append(f"alarms unavailable: {error}")
        return None
    return alarms
