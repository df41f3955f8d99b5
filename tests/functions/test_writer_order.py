"""Writer: ingestion time and ingestion order (docs/design.md) decide between records of one account.

The last line of the newest file wins whatever order SQS delivers the messages in; a redelivered message is
stale; a replay of an old failure (its attributes kept by the error handler) never overwrites newer data.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import pytest

from functions import aws
from functions.error_handler import handler as error_handler
from functions.model import MessageAttribute
from functions.writer import handler as writer
from functions.writer import transport
from tests.support.functions import (
    FakeContext,
    World,
    aws_error,
    drain,
    emitted_metrics,
    on_put_item,
    record,
    sqs_event,
)

FILE_A = ("s3://data-bucket/a.json", "2026-03-01T10:00:00.000000Z")
FILE_B = ("s3://data-bucket/b.json", "2026-03-01T10:00:05.000000Z")


def envelope(
    file: tuple[str, str], position: int, *records: dict[str, Any], message_id: str
) -> dict[str, Any]:
    """A transformer message: records at ``position``.. of ``file``, as the transformer attributes them."""
    source, entered_at = file
    attributes = {
        MessageAttribute.SOURCE: source,
        MessageAttribute.ENTERED_AT: entered_at,
        MessageAttribute.INGEST_ID: source,
        MessageAttribute.INGEST_POSITION: str(position),
    }
    return {
        "MessageId": message_id,
        "Body": json.dumps({"source": source, "records": list(records)}),
        "MessageAttributes": {
            name.value: {"StringValue": v, "DataType": "String"} for name, v in attributes.items()
        },
    }


def undated(account: str, name: str) -> dict[str, Any]:
    return record(account, name=name, updated_at=None)


def test_the_last_line_of_the_newest_file_wins_whatever_the_delivery_order(
    world: World, context: FakeContext
) -> None:
    for number, order in enumerate(itertools.permutations(range(4))):
        account = f"k-{number}"
        # GIVEN two files with lines for one account and no updated_at: a.json entered first, b.json after
        messages = [
            envelope(FILE_A, 0, undated(account, "a0"), undated(account, "a1"), message_id=f"{number}-a0"),
            envelope(FILE_A, 2, undated(account, "a2"), message_id=f"{number}-a2"),
            envelope(FILE_B, 0, undated(account, "b0"), message_id=f"{number}-b0"),
            envelope(FILE_B, 1, undated(account, "b1"), undated(account, "b2"), message_id=f"{number}-b1"),
        ]
        # WHEN SQS delivers them in this order, one batch each, then redelivers the first one
        for index in order:
            assert writer.handler(sqs_event([messages[index]]), context)["batchItemFailures"] == []
        writer.handler(sqs_event([messages[order[0]]]), context)
        # THEN the last line of the newest file is stored, its updated_at the file's entry time
        item = world.accounts()[account]
        assert item["name"] == {"S": "b2"}, order
        assert item["updated_at"] == {"S": FILE_B[1]}
        assert item["ingest_order"] == {"S": f"{FILE_B[1]}#0000000002#{FILE_B[0]}"}


def test_a_dated_record_still_wins_by_updated_at_before_order(world: World, context: FakeContext) -> None:
    newer = record("dated", name="newer", updated_at="2026-03-02T00:00:00Z")
    older = record("dated", name="older", updated_at="2026-03-01T00:00:00Z")
    writer.handler(sqs_event([envelope(FILE_A, 0, newer, message_id="m1")]), context)
    writer.handler(sqs_event([envelope(FILE_B, 0, older, message_id="m2")]), context)  # entered later
    assert world.accounts()["dated"]["name"] == {"S": "newer"}


def test_a_redelivered_message_is_stale(world: World, context: FakeContext, capsys: Any) -> None:
    message = envelope(FILE_A, 7, undated("r", "x"), message_id="once")
    writer.handler(sqs_event([message]), context)
    capsys.readouterr()
    writer.handler(sqs_event([message]), context)
    assert emitted_metrics(capsys.readouterr().out)["RecordsStale"] == 1


def test_a_replay_of_an_old_failure_never_overwrites_newer_data(
    world: World, context: FakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a POSTed record without updated_at whose write failed (throttled), redriven to the DLQ and logged
    client = aws.client("dynamodb")

    hook = on_put_item(
        lambda request: aws_error(
            client.meta.endpoint_url, 400, "ProvisionedThroughputExceededException", "slow"
        )
    )
    monkeypatch.setattr(transport, "THROTTLING_BACKOFF_SECONDS", 0.001)  # the retries, without their wait
    client.meta.events.register_first("before-send.dynamodb.PutItem", hook)
    try:
        world.sqs.send_message(
            QueueUrl=world.writer_queue_url, MessageBody=json.dumps(undated("late", "old"))
        )
        drain(world, world.writer_queue_url, writer.handler, context)
        drain(world, world.writer_queue_url, writer.handler, context)  # the receive that applies the redrive
    finally:
        client.meta.events.unregister("before-send.dynamodb.PutItem", hook)
    drain(world, world.dlq_url, error_handler.handler, context)
    [item] = world.log_items()
    assert item["error_type"] == {"S": "RetriesExhausted"}
    # ... and a newer POST for the same account, written since
    time.sleep(0.002)  # SentTimestamp has millisecond resolution
    world.sqs.send_message(QueueUrl=world.writer_queue_url, MessageBody=json.dumps(undated("late", "new")))
    drain(world, world.writer_queue_url, writer.handler, context)
    assert world.accounts()["late"]["name"] == {"S": "new"}
    # WHEN the failure is replayed as pipeline-ctl replays it: the body, with the attributes LogTable kept
    carried = {name: item[name]["S"] for name in ("entered_at", "ingest_id", "ingest_position")}
    world.sqs.send_message(
        QueueUrl=world.writer_queue_url,
        MessageBody=item["body"]["S"],
        MessageAttributes={
            name: {"StringValue": value, "DataType": "String"}
            for name, value in carried.items() | {("replay_of", item["error_id"]["S"])}
        },
    )
    drain(world, world.writer_queue_url, writer.handler, context)
    # THEN the newer data stays: the replay kept the original entry time, which is older
    stored = world.accounts()["late"]
    assert stored["name"] == {"S": "new"}
    assert carried["entered_at"] < stored["updated_at"]["S"]
    assert carried["ingest_position"] == "0"
