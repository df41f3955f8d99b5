"""Alarms, their SNS topic and one dashboard.

The Writer's alarms are scoped to the ``live`` alias (``Resource = <function>:live``) so that CodeDeploy,
which watches them during a canary, reacts to the traffic the alias serves. Partial-batch failures never
raise the Lambda ``Errors`` metric, so the Writer's own EMF outcome counts (``functions.model``) are alarmed
on as well: any transient failure, and a share of invalid records high enough to mean a broken release
rather than a client sending a few bad rows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from functions.model import (
    MESSAGES_FAILED_METRIC,
    METRICS_NAMESPACE,
    VERSION_DIMENSION,
    Outcome,
    Service,
    outcome_metric,
)
from infra import spec
from infra.api import STAGE
from infra.config import StackConfig
from infra.naming import alarm_name, stem

PERIOD_SECONDS = 60
WRITER_QUEUE_MAX_AGE_SECONDS = 600
"""Oldest WriterQueue message older than this: the Writer is not keeping up (or not polling)."""
DLQ_MAX_AGE_SECONDS = 3 * spec.DLQ.visibility_timeout_seconds
"""Oldest DLQ message older than this: the ErrorHandler is not draining the DLQ (it failed the same message
three visibility timeouts in a row, or does not poll). The DLQ's depth is no signal: the Writer sends every
invalid record there on purpose, and the ErrorHandler drains it within seconds. For a standard queue the age
counts from when the message reached the DLQ, not from its first send."""
INVALID_SHARE_PERCENT = 50
"""Alarm when more than this share of the Writer's records in 5 minutes are invalid."""

WRITER_DIMENSIONS = {"service": Service.WRITER.value}
"""Powertools' default dimension on every metric the Writer emits."""


@dataclass(frozen=True, kw_only=True)
class MonitoringArgs:
    config: StackConfig
    functions: Mapping[str, pulumi.Input[str]]
    """Function names by role: ``transformer``, ``writer``, ``error_handler``."""
    writer_queue_name: pulumi.Input[str]
    dlq_name: pulumi.Input[str]
    account_table_name: pulumi.Input[str]
    log_table_name: pulumi.Input[str]
    api_id: pulumi.Input[str]
    writer_version: pulumi.Input[str] | None = None
    """The Writer version the program publishes: the per-version alarms (:func:`version_alarms`) watch it."""


LAMBDA_WIDGET = (("Invocations", "Sum"), ("Errors", "Sum"), ("Throttles", "Sum"), ("Duration", "p95"))
"""Each dashboard widget's metrics as ``(metric, statistic)``, in the order the widget plots them."""
QUEUE_WIDGET = (
    ("ApproximateNumberOfMessagesVisible", "Maximum"),
    ("ApproximateAgeOfOldestMessage", "Maximum"),
)
TABLE_WIDGET = (
    ("ConsumedWriteCapacityUnits", "Sum"),
    ("ConsumedReadCapacityUnits", "Sum"),
    ("WriteThrottleEvents", "Sum"),
    ("ReadThrottleEvents", "Sum"),
)
API_WIDGET = (("Count", "Sum"), ("4xx", "Sum"), ("5xx", "Sum"), ("Latency", "p95"))


def invalid_share_queries(dimensions: Mapping[str, Any], *, period: int, label: str) -> list[Any]:
    """The Writer's outcome counts (Sum over ``period``, for ``dimensions``) and, the one returned, the share
    of them that was invalid, in percent: what both the function-wide and the per-version alarm judge."""
    counts = [
        {
            "id": outcome.value,
            "return_data": False,
            "metric": {
                "namespace": METRICS_NAMESPACE,
                "metric_name": outcome_metric(outcome),
                "dimensions": dict(dimensions),
                "period": period,
                "stat": "Sum",
            },
        }
        for outcome in Outcome
    ]
    total = " + ".join(f"FILL({outcome.value}, 0)" for outcome in Outcome)
    share = {
        "id": "invalid_share",
        "label": label,
        "expression": f"100 * FILL({Outcome.INVALID.value}, 0) / ({total})",
        "return_data": True,
    }
    return [*counts, share]


def _metric(namespace: str, name: str, dimensions: Mapping[str, str], stat: str = "Sum") -> list[Any]:
    row: list[Any] = [namespace, name]
    for key, value in dimensions.items():
        row += [key, value]
    return [*row, {"stat": stat}]


def dashboard_body(
    *,
    region: str,
    functions: Mapping[str, str],
    writer_queue: str,
    dlq: str,
    tables: Sequence[str],
    api_id: str,
) -> str:
    """The dashboard as CloudWatch's JSON: one row per concern, widgets 12 columns wide."""
    widgets: list[dict[str, Any]] = []

    def add(title: str, namespace: str, metrics: Sequence[tuple[str, str]], dims: Mapping[str, str]) -> None:
        index = len(widgets)
        widgets.append(
            {
                "type": "metric",
                "x": (index % 2) * 12,
                "y": (index // 2) * 6,
                "width": 12,
                "height": 6,
                "properties": {
                    "title": title,
                    "region": region,
                    "period": PERIOD_SECONDS,
                    "metrics": [_metric(namespace, metric, dims, stat) for metric, stat in metrics],
                },
            }
        )

    for role, name in functions.items():
        add(
            f"{role}: invocations, errors, throttles, duration",
            "AWS/Lambda",
            LAMBDA_WIDGET,
            {"FunctionName": name},
        )
    for title, queue in (("WriterQueue", writer_queue), ("DeadLetterQueue", dlq)):
        add(f"{title}: depth and oldest message age", "AWS/SQS", QUEUE_WIDGET, {"QueueName": queue})
    for table in tables:
        add(f"{table}: consumed capacity and throttles", "AWS/DynamoDB", TABLE_WIDGET, {"TableName": table})
    add("API: requests, 4xx, 5xx, latency", "AWS/ApiGateway", API_WIDGET, {"ApiId": api_id, "Stage": STAGE})
    add(
        "Writer: records per outcome",
        METRICS_NAMESPACE,
        [(outcome_metric(outcome), "Sum") for outcome in Outcome],
        WRITER_DIMENSIONS,
    )
    return json.dumps({"widgets": widgets}, sort_keys=True)


VERSION_PERIOD_SECONDS = 60
"""The per-version alarms judge single minutes: a canary lasts a few, and a broken version must be caught
before CodeDeploy shifts the rest of the traffic (EMF metrics reach CloudWatch about a minute late)."""


def version_alarms(
    name: str,
    *,
    config: StackConfig,
    writer_function: pulumi.Input[str],
    writer_version: pulumi.Input[str],
    topic_arn: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> dict[str, aws.cloudwatch.MetricAlarm]:
    """The alarms a release is judged by: the Writer's outcomes, failed messages and errors of *one* version.

    The function-wide alarms average both versions during a canary: with 10 % of the traffic on a version
    that rejects every record, the invalid share moves by about 10 points and no alarm fires. These read the
    counts the Writer emits per version (``functions.model.VERSION_DIMENSION``) and Lambda's ``Errors`` of the
    alias by ``ExecutedVersion``. The program points them at the version it publishes; the release step points
    them at the version it releases (``ops.release_alarms``) before CodeDeploy starts, so what CodeDeploy
    watches during the canary is always the new version alone."""

    common: dict[str, Any] = {
        "alarm_actions": [topic_arn],
        "ok_actions": [topic_arn],
        # No traffic reached the version in a minute: nothing to judge, not a failure.
        "treat_missing_data": "notBreaching",
        "evaluation_periods": 1,
        "comparison_operator": "GreaterThanThreshold",
        "opts": opts,
    }
    invalid = aws.cloudwatch.MetricAlarm(
        f"{name}-writer-version-invalid-records",
        name=alarm_name(config.stack, "writer-version-invalid-records"),
        alarm_description=(
            f"More than {INVALID_SHARE_PERCENT}% of the records one Writer version handled in a minute were "
            "invalid: judges a release on its own traffic (the release step points it at the new version)."
        ),
        metric_queries=invalid_share_queries(
            {**WRITER_DIMENSIONS, VERSION_DIMENSION: writer_version},
            period=VERSION_PERIOD_SECONDS,
            label="invalid records of this version, % of its records",
        ),
        threshold=INVALID_SHARE_PERCENT,
        **common,
    )
    errors = aws.cloudwatch.MetricAlarm(
        f"{name}-writer-version-errors",
        name=alarm_name(config.stack, "writer-version-errors"),
        alarm_description=(
            "Lambda Errors > 0 of the Writer version the alias runs (the release step points it at the new "
            "version)."
        ),
        namespace="AWS/Lambda",
        metric_name="Errors",
        dimensions={
            "FunctionName": writer_function,
            "Resource": pulumi.Output.from_input(writer_function).apply(
                lambda fn: f"{fn}:{spec.WRITER_ALIAS}"
            ),
            spec.LAMBDA_VERSION_DIMENSION: writer_version,
        },
        statistic="Sum",
        period=VERSION_PERIOD_SECONDS,
        threshold=0,
        **common,
    )
    failed = aws.cloudwatch.MetricAlarm(
        f"{name}-writer-version-failed-messages",
        name=alarm_name(config.stack, "writer-version-failed-messages"),
        alarm_description=(
            "One Writer version reported messages failed (batchItemFailures: transient errors, or its own "
            "unexpected errors, which no record count shows). The release step points it at the new version."
        ),
        namespace=METRICS_NAMESPACE,
        metric_name=MESSAGES_FAILED_METRIC,
        dimensions={**WRITER_DIMENSIONS, VERSION_DIMENSION: writer_version},
        statistic="Sum",
        period=VERSION_PERIOD_SECONDS,
        threshold=0,
        **common,
    )
    return {
        "writer-version-invalid-records": invalid,
        "writer-version-failed-messages": failed,
        "writer-version-errors": errors,
    }


class Monitoring(pulumi.ComponentResource):
    """SNS topic (or an existing one) with its email subscriber, the alarms and the dashboard."""

    topic: aws.sns.Topic | None
    """The stack's alarm topic; None when ``alarmTopicArn`` names an existing one."""
    topic_arn: pulumi.Output[str]
    alarms: dict[str, aws.cloudwatch.MetricAlarm]
    release_alarms: list[aws.cloudwatch.MetricAlarm]
    version_alarms: dict[str, aws.cloudwatch.MetricAlarm]
    dashboard: aws.cloudwatch.Dashboard

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("serverless-pipeline:infra:Monitoring", name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)

        # The stack's own topic, unless the config names one that already reaches someone (alarmTopicArn).
        self.topic = None if config.alarm_topic_arn else aws.sns.Topic(f"{name}-alarms", opts=child)
        self.topic_arn = (
            self.topic.arn
            if self.topic is not None
            else pulumi.Output.from_input(str(config.alarm_topic_arn))
        )
        if config.alarm_email:
            # Email subscriptions stay "pending confirmation" until the recipient clicks the link AWS sends.
            aws.sns.TopicSubscription(
                f"{name}-alarm-email",
                topic=self.topic_arn,
                protocol="email",
                endpoint=config.alarm_email,
                opts=child,
            )
        self.alarms = {}

        def alarm(suffix: str, description: str, **kwargs: Any) -> aws.cloudwatch.MetricAlarm:
            resource = aws.cloudwatch.MetricAlarm(
                f"{name}-{suffix}",
                name=alarm_name(config.stack, suffix),
                alarm_description=description,
                alarm_actions=[self.topic_arn],
                ok_actions=[self.topic_arn],
                treat_missing_data="notBreaching",
                opts=child,
                **kwargs,
            )
            self.alarms[suffix] = resource
            return resource

        def above(
            suffix: str,
            description: str,
            *,
            namespace: str,
            metric_name: str,
            dimensions: Mapping[str, pulumi.Input[str]],
            statistic: str = "Sum",
            evaluation_periods: int = 1,
            threshold: int = 0,
        ) -> None:
            """An alarm on one metric over ``threshold`` in ``evaluation_periods`` periods of a minute."""
            alarm(
                suffix,
                description,
                namespace=namespace,
                metric_name=metric_name,
                dimensions=dict(dimensions),
                statistic=statistic,
                period=PERIOD_SECONDS,
                evaluation_periods=evaluation_periods,
                threshold=threshold,
                comparison_operator="GreaterThanThreshold",
            )

        def lambda_alarm(role: str, metric: str, dimensions: Mapping[str, pulumi.Input[str]]) -> None:
            above(
                f"{role.replace('_', '-')}-{metric.lower()}",
                f"{role} {metric} > 0",
                namespace="AWS/Lambda",
                metric_name=metric,
                dimensions=dimensions,
            )

        for role, function in args.functions.items():
            dimensions: dict[str, pulumi.Input[str]] = {"FunctionName": function}
            if role == "writer":
                # Alias-scoped: what CodeDeploy must judge during a canary is the traffic `live` serves.
                dimensions["Resource"] = pulumi.Output.from_input(function).apply(
                    lambda fn: f"{fn}:{spec.WRITER_ALIAS}"
                )
            lambda_alarm(role, "Errors", dimensions)
            lambda_alarm(role, "Throttles", dimensions)

        above(
            "writer-failed-records",
            "The Writer reported records failed (transient errors after retries): they go to the DLQ.",
            namespace=METRICS_NAMESPACE,
            metric_name=outcome_metric(Outcome.FAILED),
            dimensions=WRITER_DIMENSIONS,
        )

        alarm(
            "writer-invalid-records",
            f"More than {INVALID_SHARE_PERCENT}% of the Writer's records were invalid in 5 minutes.",
            metric_queries=invalid_share_queries(
                WRITER_DIMENSIONS, period=5 * PERIOD_SECONDS, label="invalid records, % of all"
            ),
            evaluation_periods=1,
            threshold=INVALID_SHARE_PERCENT,
            comparison_operator="GreaterThanThreshold",
        )
        above(
            "dlq-not-drained",
            f"The oldest DLQ message is older than {DLQ_MAX_AGE_SECONDS}s: the ErrorHandler is not draining.",
            namespace="AWS/SQS",
            metric_name="ApproximateAgeOfOldestMessage",
            dimensions={"QueueName": args.dlq_name},
            statistic="Maximum",
            threshold=DLQ_MAX_AGE_SECONDS,
        )
        above(
            "writer-queue-age",
            f"The oldest WriterQueue message is older than {WRITER_QUEUE_MAX_AGE_SECONDS}s.",
            namespace="AWS/SQS",
            metric_name="ApproximateAgeOfOldestMessage",
            dimensions={"QueueName": args.writer_queue_name},
            statistic="Maximum",
            evaluation_periods=3,
            threshold=WRITER_QUEUE_MAX_AGE_SECONDS,
        )
        above(
            "api-5xx",
            "POST /writer answered 5xx (integration or SQS errors).",
            namespace="AWS/ApiGateway",
            metric_name="5xx",
            dimensions={"ApiId": args.api_id, "Stage": STAGE},
        )
        self.release_alarms = [
            self.alarms[key]
            for key in (
                "writer-errors",
                "writer-throttles",
                "writer-failed-records",
                "writer-invalid-records",
            )
        ]
        self.version_alarms = {}
        if args.writer_version is not None:
            self.version_alarms = version_alarms(
                name,
                config=config,
                writer_function=args.functions["writer"],
                writer_version=args.writer_version,
                topic_arn=self.topic_arn,
                opts=child,
            )
            self.alarms.update(self.version_alarms)
            self.release_alarms += self.version_alarms.values()

        roles = list(args.functions)
        body = pulumi.Output.all(
            *args.functions.values(),
            args.writer_queue_name,
            args.dlq_name,
            args.account_table_name,
            args.log_table_name,
            args.api_id,
        ).apply(
            lambda values: dashboard_body(
                region=config.region,
                functions=dict(zip(roles, values[: len(roles)], strict=True)),
                writer_queue=values[len(roles)],
                dlq=values[len(roles) + 1],
                tables=values[len(roles) + 2 : len(roles) + 4],
                api_id=values[len(roles) + 4],
            )
        )
        self.dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=stem(config.stack, "dashboard_name"),
            dashboard_body=body,
            opts=child,
        )
        self.register_outputs(
            {
                "topic_arn": self.topic_arn,
                "alarm_names": [resource.name for resource in self.alarms.values()],
                "dashboard_name": self.dashboard.dashboard_name,
            }
        )
