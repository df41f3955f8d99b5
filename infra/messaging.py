"""WriterQueue and DeadLetterQueue, with the settings ``infra.spec`` states (``WRITER_QUEUE``, ``DLQ``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra import spec
from infra.config import StackConfig
from infra.naming import stem


def queue_args(queue: spec.QueueSpec) -> dict[str, Any]:
    """``aws.sqs.Queue`` keyword arguments for a queue of the table of facts."""
    return {
        "visibility_timeout_seconds": queue.visibility_timeout_seconds,
        "message_retention_seconds": queue.retention_seconds,
        "max_message_size": queue.max_message_bytes,
        "sqs_managed_sse_enabled": queue.sqs_managed_sse,
    }


def redrive_policy(dlq_arn: str, max_receive_count: int) -> str:
    """WriterQueue's RedrivePolicy, as SQS wants it: a JSON string."""
    return json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": int(max_receive_count)})


def redrive_allow_policy(source_queue_arn: str) -> str:
    """The DLQ's RedriveAllowPolicy: only WriterQueue may use it as a dead-letter queue."""
    return json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [source_queue_arn]})


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
            **queue_args(spec.DLQ),
            opts=pulumi.ResourceOptions(parent=self, protect=config.deletion_protection),
        )
        self.writer_queue = aws.sqs.Queue(
            stem(config.stack, "writer_queue"),
            **queue_args(spec.WRITER_QUEUE),
            redrive_policy=self.dlq.arn.apply(lambda arn: redrive_policy(arn, config.max_receive_count)),
            opts=child,
        )
        self.redrive_allow = aws.sqs.RedriveAllowPolicy(
            f"{name}-dlq-redrive-allow",
            queue_url=self.dlq.url,
            redrive_allow_policy=self.writer_queue.arn.apply(redrive_allow_policy),
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
