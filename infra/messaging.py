"""WriterQueue and DeadLetterQueue, with attributes taken from ``infra.spec`` (SQS API form).

The same attribute dictionaries create the local stack's queues through boto3; ``queue_args`` translates them
to Pulumi arguments and refuses any attribute it does not know, so a new attribute in ``spec`` cannot be
silently dropped here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra import spec
from infra.config import StackConfig
from infra.naming import stem

_SQS_TO_PULUMI: dict[str, tuple[str, Callable[[str], Any]]] = {
    "VisibilityTimeout": ("visibility_timeout_seconds", int),
    "MessageRetentionPeriod": ("message_retention_seconds", int),
    "MaximumMessageSize": ("max_message_size", int),
    "SqsManagedSseEnabled": ("sqs_managed_sse_enabled", lambda value: value == "true"),
    "RedrivePolicy": ("redrive_policy", str),
}


def queue_args(attributes: Mapping[str, str]) -> dict[str, Any]:
    """``aws.sqs.Queue`` keyword arguments for SQS ``CreateQueue`` attributes."""
    unknown = sorted(set(attributes) - set(_SQS_TO_PULUMI))
    if unknown:
        raise KeyError(f"no Pulumi mapping for SQS attribute(s) {unknown}: add them to _SQS_TO_PULUMI")
    args: dict[str, Any] = {}
    for attribute, value in attributes.items():
        argument, convert = _SQS_TO_PULUMI[attribute]
        args[argument] = convert(value)
    return args


@dataclass(frozen=True, kw_only=True)
class MessagingArgs:
    config: StackConfig


class Messaging(pulumi.ComponentResource):
    """The DLQ first (WriterQueue's redrive names it), WriterQueue, then the DLQ's redrive-allow policy."""

    dlq: aws.sqs.Queue
    writer_queue: aws.sqs.Queue

    def __init__(self, name: str, args: MessagingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("serverless-pipeline:infra:Messaging", name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)

        # Protected with the tables: up to 14 days of failed records that LogTable may not hold yet.
        self.dlq = aws.sqs.Queue(
            stem(config.stack, "dlq"),
            **queue_args(spec.dlq_attributes()),
            opts=pulumi.ResourceOptions(parent=self, protect=config.deletion_protection),
        )

        # Every attribute but the redrive policy is static; that one needs the DLQ's ARN, known only later.
        writer_attributes = dict(spec.writer_queue_attributes("", config.max_receive_count))
        del writer_attributes["RedrivePolicy"]
        self.writer_queue = aws.sqs.Queue(
            stem(config.stack, "writer_queue"),
            **queue_args(writer_attributes),
            redrive_policy=self.dlq.arn.apply(lambda arn: spec.redrive_policy(arn, config.max_receive_count)),
            opts=child,
        )
        self.redrive_allow = aws.sqs.RedriveAllowPolicy(
            f"{name}-dlq-redrive-allow",
            queue_url=self.dlq.url,
            redrive_allow_policy=self.writer_queue.arn.apply(spec.redrive_allow_policy),
            opts=child,
        )

        self.register_outputs(
            {
                "writer_queue_url": self.writer_queue.url,
                "writer_queue_arn": self.writer_queue.arn,
                "dlq_url": self.dlq.url,
                "dlq_arn": self.dlq.arn,
            }
        )
