"""The writer inside its deadline: it stops starting work in time, hands back what it did not finish, returns.

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
from functions.writer.continuation import MAX_STALLED_CONTINUATIONS
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
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[SlowEndpoint, Any, Any, str, str]]:
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
        queue_url = sqs.create_queue(QueueName="deadline-writer-queue")["QueueUrl"]
        monkeypatch.setenv("DLQ_URL", dlq_url)
        monkeypatch.setenv("WRITER_QUEUE_URL", queue_url)
        aws.clear_cache()
        try:
            yield slow, dynamodb, sqs, dlq_url, queue_url
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


def handed_back(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """The continuations on WriterQueue (received and deleted), as ReceiveMessage gives them."""
    found: list[dict[str, Any]] = []
    while batch := sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], AttributeNames=["All"]
    ).get("Messages", []):
        for message in batch:
            found.append(message)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return found


def attributes_of(message: dict[str, Any]) -> dict[str, str]:
    return {k: v["StringValue"] for k, v in message.get("MessageAttributes", {}).items()}


def written(dynamodb: Any, prefix: str) -> int:
    items = dynamodb.scan(TableName=TABLE)["Items"]
    return sum(1 for item in items if item["account_id"]["S"].startswith(prefix + "-"))


def test_a_slow_store_and_a_short_deadline_end_in_time_and_hand_the_rest_back(
    endpoint: tuple[SlowEndpoint, Any, Any, str, str],
) -> None:
    slow, dynamodb, sqs, dlq_url, queue_url = endpoint
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
    # and acknowledged both: nothing is dead-lettered, the unfinished records are back on WriterQueue
    assert response["batchItemFailures"] == []
    assert dead_letters(sqs, dlq_url) == {}
    continued = {attributes_of(m)[MessageAttribute.INGEST_ID]: m for m in handed_back(sqs, queue_url)}
    assert "s3://data-bucket/big.json" in continued
    for name, count in (("big", 400), ("small", 3)):
        stored = written(dynamodb, name)
        rest = continued.get(f"s3://data-bucket/{name}.json")
        if rest is None:
            assert stored == count
            continue
        attributes = attributes_of(rest)
        records = json.loads(rest["Body"])["records"]
        first = int(attributes[MessageAttribute.INGEST_POSITION])
        # from the first unfinished record to the end, in order, at their own positions, same ingestion
        assert [r["account_id"] for r in records] == [f"{name}-{i}" for i in range(first, count)]
        assert first <= stored < count
        assert attributes[MessageAttribute.ENTERED_AT] == "2026-03-01T10:00:00.000000Z"
        assert attributes[MessageAttribute.SOURCE] == f"s3://data-bucket/{name}.json"
        if stored:  # the store was answering (on a loaded machine it may not have answered in time at all)
            assert attributes[MessageAttribute.CONTINUATION_STALLS] == "0"


def test_continuations_finish_a_file_with_a_slow_store_and_account_for_every_record(
    endpoint: tuple[SlowEndpoint, Any, Any, str, str], caplog: pytest.LogCaptureFixture
) -> None:
    slow, dynamodb, sqs, dlq_url, queue_url = endpoint
    slow.delays["PutItem"] = 0.05
    # GIVEN a body of 300 records, one of them invalid, where an account appears twice (the later line wins)
    message = transformer_message("file", 300)
    body = json.loads(message["Body"])
    body["records"][7] = {"account_id": "file-bad"}
    body["records"][250] = {**body["records"][20], "name": "Later Line"}
    message["Body"] = json.dumps(body)
    pending = [message]
    hops = 0
    # WHEN every invocation has a short time, and each continuation is run like a new message
    while pending:
        hops += 1
        assert hops < 30
        context = FakeContext(remaining_seconds=deadline.STOP_STARTING_SECONDS + 0.5)
        assert handler.handler(sqs_event(pending), context)["batchItemFailures"] == []
        pending = handed_back(sqs, queue_url)
    # THEN it took several hops, and every record is written or logged once: written + logged = sent
    assert hops > 1
    # and the writer's own counts (what `upload --wait` adds up) count each record once across the hops
    processed = [vars(line) for line in caplog.records if line.getMessage() == "message processed"]
    assert sum(line["written"] + line["stale"] + line["invalid"] for line in processed) == 300
    assert sum(1 for line in processed if line["handed_back"]) == hops - 1
    items = {item["account_id"]["S"]: item for item in dynamodb.scan(TableName=TABLE)["Items"]}
    dead = dead_letters(sqs, dlq_url)
    assert [a[MessageAttribute.ERROR_TYPE] for a in dead.values()] == [ErrorType.INVALID_RECORD]
    [bad] = dead.values()
    assert bad[MessageAttribute.INGEST_POSITION] == "7"
    assert len(items) + len(dead) == 300 - 1  # file-20 appears twice: one account
    # and the order held across continuations: the later line of file-20 won
    assert items["file-20"]["name"]["S"] == "Later Line"
    assert items["file-20"]["ingest_order"]["S"].startswith("2026-03-01T10:00:00.000000Z#0000000250#")


def test_a_store_that_completes_nothing_ends_in_the_dlq_saying_so(
    endpoint: tuple[SlowEndpoint, Any, Any, str, str],
) -> None:
    slow, _dynamodb, sqs, dlq_url, queue_url = endpoint
    slow.delays["PutItem"] = 60.0  # never answers within the SDK's read timeout
    pending = [transformer_message("stuck", 5)]
    for hop in range(1, MAX_STALLED_CONTINUATIONS + 1):
        budget = deadline.STOP_STARTING_SECONDS + 0.3
        context = FakeContext(remaining_seconds=budget)
        started = time.monotonic()
        response = handler.handler(sqs_event(pending), context)
        # each invocation ends in time, acknowledging the message
        assert time.monotonic() - started < budget - deadline.RETURN_MARGIN_SECONDS
        assert response["batchItemFailures"] == []
        pending = handed_back(sqs, queue_url)
        if hop < MAX_STALLED_CONTINUATIONS:
            [again] = pending  # handed back whole, counting the stall
            assert json.loads(again["Body"]) == json.loads(transformer_message("stuck", 5)["Body"])
            assert attributes_of(again)[MessageAttribute.CONTINUATION_STALLS] == str(hop)
            assert dead_letters(sqs, dlq_url) == {}
    # THEN after the last stall nothing is handed back: the DLQ has it, with a reason that says why
    assert pending == []
    [verdict] = dead_letters(sqs, dlq_url).values()
    assert verdict[MessageAttribute.ERROR_TYPE] == ErrorType.DEADLINE_EXCEEDED
    assert verdict[MessageAttribute.ERROR_MESSAGE].startswith(
        f"no progress: the store completed no write in {MAX_STALLED_CONTINUATIONS} invocations in a row"
    )
    assert verdict[MessageAttribute.INGEST_POSITION] == "0"


def test_when_the_hand_back_fails_the_unfinished_records_go_to_the_dlq(
    endpoint: tuple[SlowEndpoint, Any, Any, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    slow, dynamodb, sqs, dlq_url, queue_url = endpoint
    slow.delays["PutItem"] = 0.1
    # GIVEN a WriterQueue the writer cannot send to
    monkeypatch.setenv("WRITER_QUEUE_URL", queue_url + "-gone")
    context = FakeContext(remaining_seconds=deadline.STOP_STARTING_SECONDS + 0.8)
    response = handler.handler(sqs_event([transformer_message("big", 400)]), context)
    assert response["batchItemFailures"] == []
    # THEN the records from the first unfinished one are in the DLQ, at their position, saying why
    [verdict] = dead_letters(sqs, dlq_url).values()
    assert verdict[MessageAttribute.ERROR_TYPE] == ErrorType.DEADLINE_EXCEEDED
    match = re.match(
        r"deadline: ([\d,]+) of 400 records written \(0 stale\); handing the other ([\d,]+) back to "
        r"WriterQueue failed: ",
        verdict[MessageAttribute.ERROR_MESSAGE],
    )
    assert match, verdict
    stored = written(dynamodb, "big")
    assert int(match[1].replace(",", "")) == stored
    # the DLQ body holds every record not known written: a replay completes the file
    assert int(verdict[MessageAttribute.INGEST_POSITION]) + int(match[2].replace(",", "")) == 400


def test_with_no_time_left_every_message_is_reported_failed_and_nothing_is_sent(
    endpoint: tuple[SlowEndpoint, Any, Any, str, str],
) -> None:
    _slow, dynamodb, sqs, dlq_url, _queue_url = endpoint
    context = FakeContext(remaining_seconds=deadline.RETURN_MARGIN_SECONDS / 2)
    response = handler.handler(sqs_event([transformer_message("late", 2)]), context)
    assert response["batchItemFailures"] == [{"itemIdentifier": "late"}]
    time.sleep(0.3)  # the abandoned message thread, had it sent anything, would have by now
    assert dead_letters(sqs, dlq_url) == {}
    assert written(dynamodb, "late") == 0
