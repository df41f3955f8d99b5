"""WriterQueue and DeadLetterQueue attributes, and the redrive wiring between them."""

from __future__ import annotations

import json

import pytest

from functions.model import MAX_MESSAGE_BYTES
from infra import spec
from tests.support.infra import Program

QUEUE = "aws:sqs/queue:Queue"


def test_writer_queue_redrives_to_the_dlq_after_one_receive(dev: Program) -> None:
    writer, dlq = dev.one(QUEUE, "writer-queue"), dev.one(QUEUE, "-dlq")

    redrive = json.loads(writer.inputs["redrivePolicy"])
    assert redrive == {"deadLetterTargetArn": dlq.outputs["arn"], "maxReceiveCount": 1}


def test_max_receive_count_comes_from_config(program_runner) -> None:
    program = program_runner("dev", {"maxReceiveCount": "3"})
    redrive = json.loads(program.one(QUEUE, "writer-queue").inputs["redrivePolicy"])
    assert redrive["maxReceiveCount"] == 3


def test_writer_queue_visibility_is_at_least_six_writer_timeouts(dev: Program) -> None:
    writer_queue = dev.one(QUEUE, "writer-queue")
    writer = dev.function("writer_function")

    assert writer_queue.inputs["visibilityTimeoutSeconds"] >= 6 * writer.inputs["timeout"]


def test_queues_take_256_kib_messages_and_are_encrypted(dev: Program) -> None:
    for name in ("writer-queue", "-dlq"):
        queue = dev.one(QUEUE, name)
        assert queue.inputs["maxMessageSize"] == MAX_MESSAGE_BYTES == 262144
        assert queue.inputs["sqsManagedSseEnabled"] is True


def test_dlq_keeps_messages_fourteen_days(dev: Program) -> None:
    assert dev.one(QUEUE, "-dlq").inputs["messageRetentionSeconds"] == 14 * 24 * 3600


def test_only_writer_queue_may_redrive_into_the_dlq(dev: Program) -> None:
    writer, dlq = dev.one(QUEUE, "writer-queue"), dev.one(QUEUE, "-dlq")
    allow = dev.one("aws:sqs/redriveAllowPolicy:RedriveAllowPolicy")

    assert allow.inputs["queueUrl"] == dlq.outputs["url"]
    assert json.loads(allow.inputs["redriveAllowPolicy"]) == {
        "redrivePermission": "byQueue",
        "sourceQueueArns": [writer.outputs["arn"]],
    }


@pytest.mark.parametrize(("name", "queue"), [("writer-queue", spec.WRITER_QUEUE), ("-dlq", spec.DLQ)])
def test_queue_settings_are_the_table_of_facts(dev: Program, name: str, queue: spec.QueueSpec) -> None:
    declared = dev.one(QUEUE, name).inputs

    assert declared["visibilityTimeoutSeconds"] == queue.visibility_timeout_seconds
    assert declared["messageRetentionSeconds"] == queue.retention_seconds
    assert declared["maxMessageSize"] == queue.max_message_bytes
    assert declared["sqsManagedSseEnabled"] is queue.sqs_managed_sse
