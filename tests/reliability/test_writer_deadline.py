"""The writer inside its deadline: it stops starting work in time, reports what it did not finish, returns.

The store is moto's server behind a proxy that holds every PutItem (tests.support.slow_store); the Lambda
context is a clock that runs out (FakeContext.remaining_seconds). The arithmetic test reads the function's
timeout from the Pulumi declarations (infra/spec.py, which infra/functions.py passes to the function).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from functions import aws
from functions.model import ErrorType, MessageAttribute
from functions.writer import deadline, handler
from infra import spec
from tests.support import boto3_shapes
from tests.support.functions import FakeContext, record, sqs_event
from tests.support.slow_store import SlowEndpoint, slow_endpoint

TABLE = "deadline-accounts"


def test_the_sdks_worst_case_and_the_deadline_phases_fit_the_functions_timeout() -> None:
    timeout = spec.WRITER_TIMEOUT_SECONDS  # what infra/functions.py declares as the writer's timeout
    # one call, however it fails (every attempt to its timeouts, every backoff at its cap), ends in time
    assert aws.worst_case_call_seconds() < timeout
    # the phases: stop starting, then stop waiting for writes, then for the DLQ sends, then return
    assert 0 < deadline.RETURN_MARGIN_SECONDS < deadline.FINISH_SECONDS < deadline.STOP_STARTING_SECONDS
    # a DLQ send gets one whole attempt, a write in flight one read timeout, before the writer moves on
    assert deadline.FINISH_SECONDS - deadline.RETURN_MARGIN_SECONDS >= (
        aws.CONNECT_TIMEOUT_SECONDS + aws.READ_TIMEOUT_SECONDS
    )
    assert deadline.STOP_STARTING_SECONDS - deadline.FINISH_SECONDS >= aws.READ_TIMEOUT_SECONDS
    # and most of the invocation is left for work
    assert timeout / 4 >= deadline.STOP_STARTING_SECONDS


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[SlowEndpoint, Any, Any, str]]:
    with slow_endpoint() as slow:
        for name, value in {
            "AWS_ENDPOINT_URL": slow.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "ACCOUNT_TABLE": TABLE,
        }.items():
            monkeypatch.setenv(name, value)
        session = boto3.session.Session(region_name="us-east-1")
        dynamodb = session.client("dynamodb", endpoint_url=slow.moto_url)
        sqs = session.client("sqs", endpoint_url=slow.moto_url)
        dynamodb.create_table(**boto3_shapes.create_table_kwargs(spec.ACCOUNT_TABLE, TABLE))
        dlq_url = sqs.create_queue(QueueName="deadline-dlq")["QueueUrl"]
        monkeypatch.setenv("DLQ_URL", dlq_url)
        aws.clear_cache()
        try:
            yield slow, dynamodb, sqs, dlq_url
        finally:
            aws.clear_cache()


def transformer_message(name: str, count: int) -> dict[str, Any]:
    source = f"s3://data-bucket/{name}.json"
    attributes = {
        MessageAttribute.SOURCE: source,
        MessageAttribute.ENTERED_AT: "2026-03-01T10:00:00.000000Z",
        MessageAttribute.INGEST_ID: source,
        MessageAttribute.INGEST_POSITION: "0",
    }
    return {
        "MessageId": name,
        "Body": json.dumps({"source": source, "records": [record(f"{name}-{i}") for i in range(count)]}),
        "MessageAttributes": {
            k.value: {"StringValue": v, "DataType": "String"} for k, v in attributes.items()
        },
    }


def dead_letters(sqs: Any, dlq_url: str) -> dict[str, dict[str, str]]:
    """DLQ messages by origin message id: their attributes."""
    found: dict[str, dict[str, str]] = {}
    while batch := sqs.receive_message(
        QueueUrl=dlq_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages", []):
        for message in batch:
            attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
            found[attributes[MessageAttribute.ORIGIN_MESSAGE_ID]] = attributes
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
    return found


def written(dynamodb: Any, prefix: str) -> int:
    items = dynamodb.scan(TableName=TABLE)["Items"]
    return sum(1 for item in items if item["account_id"]["S"].startswith(prefix + "-"))


def test_a_slow_store_and_a_short_deadline_end_in_time_with_every_message_accounted_for(
    endpoint: tuple[SlowEndpoint, Any, Any, str],
) -> None:
    slow, dynamodb, sqs, dlq_url = endpoint
    slow.delays["PutItem"] = 0.1  # 16 in flight: ~160 records/s
    # GIVEN little time left: work may start for ~0.8 s, then the writer must wrap up
    budget = deadline.STOP_STARTING_SECONDS + 0.8
    context = FakeContext(remaining_seconds=budget)
    messages = [transformer_message("big", 400), transformer_message("small", 3)]
    # WHEN the writer runs the batch
    started = time.monotonic()
    response = handler.handler(sqs_event(messages), context)
    elapsed = time.monotonic() - started
    # THEN it returned before the invocation's end, keeping the margin
    assert elapsed < budget - deadline.RETURN_MARGIN_SECONDS
    # and every message is either fully written, or in the DLQ as DeadlineExceeded saying how far it got
    assert response["batchItemFailures"] == []
    dead = dead_letters(sqs, dlq_url)
    assert "big" in dead
    for name, count in (("big", 400), ("small", 3)):
        stored = written(dynamodb, name)
        if name not in dead:
            assert stored == count
            continue
        verdict = dead[name]
        assert verdict[MessageAttribute.ERROR_TYPE] == ErrorType.DEADLINE_EXCEEDED
        match = re.match(
            r"deadline: ([\d,]+) of ([\d,]+) records written", verdict[MessageAttribute.ERROR_MESSAGE]
        )
        assert match, verdict
        assert (int(match[1].replace(",", "")), int(match[2].replace(",", ""))) == (stored, count)
        assert stored < count
        assert verdict[MessageAttribute.ENTERED_AT] == "2026-03-01T10:00:00.000000Z"


def test_a_stalled_store_cannot_keep_the_writer_past_its_deadline(
    endpoint: tuple[SlowEndpoint, Any, Any, str],
) -> None:
    slow, _dynamodb, sqs, dlq_url = endpoint
    slow.delays["PutItem"] = 60.0  # never answers within the SDK's read timeout
    budget = deadline.STOP_STARTING_SECONDS + 0.3
    context = FakeContext(remaining_seconds=budget)
    started = time.monotonic()
    response = handler.handler(sqs_event([transformer_message("stuck", 5)]), context)
    elapsed = time.monotonic() - started
    assert elapsed < budget - deadline.RETURN_MARGIN_SECONDS
    assert response["batchItemFailures"] == []
    verdict = dead_letters(sqs, dlq_url)["stuck"]
    assert verdict[MessageAttribute.ERROR_TYPE] == ErrorType.DEADLINE_EXCEEDED
    assert verdict[MessageAttribute.ERROR_MESSAGE].startswith("deadline: 0 of 5 records written")


def test_with_no_time_left_every_message_is_reported_failed_and_nothing_is_sent(
    endpoint: tuple[SlowEndpoint, Any, Any, str],
) -> None:
    _slow, dynamodb, sqs, dlq_url = endpoint
    context = FakeContext(remaining_seconds=deadline.RETURN_MARGIN_SECONDS / 2)
    response = handler.handler(sqs_event([transformer_message("late", 2)]), context)
    assert response["batchItemFailures"] == [{"itemIdentifier": "late"}]
    time.sleep(0.3)  # the abandoned message thread, had it sent anything, would have by now
    assert dead_letters(sqs, dlq_url) == {}
    assert written(dynamodb, "late") == 0
