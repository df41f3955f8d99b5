"""ErrorHandler: one LogTable item per DLQ message, idempotent, RetriesExhausted for redriven messages."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from functions.error_handler import handler as error_handler
from functions.model import ErrorType, LogStatus
from infra import spec
from tests.support.functions import EVENTS, FakeContext, World, record, sqs_event


def dlq_message(body: str, message_id: str, receive_count: int = 1, /, **attributes: str) -> dict[str, Any]:
    return {
        "MessageId": message_id,
        "Body": body,
        "Attributes": {"ApproximateReceiveCount": str(receive_count)},
        "MessageAttributes": {
            name: {"StringValue": v, "DataType": "String"} for name, v in attributes.items()
        },
    }


def plain(item: dict[str, Any]) -> dict[str, Any]:
    return {name: next(iter(value.values())) for name, value in item.items()}


def test_invalid_record_message_becomes_a_complete_log_item(world: World, context: FakeContext) -> None:
    # GIVEN a DLQ message the writer sent for an invalid record
    body = json.dumps({"accountId": "x", "balance": "abc"})
    event = sqs_event(
        [
            dlq_message(
                body,
                "err-1",
                2,
                error_type="InvalidRecord",
                error_message="balance: not a decimal: 'abc'",
                source="api",
                failed_at="2026-02-03T04:05:06.000007Z",
                origin_message_id="orig-1",
                entered_at="2026-02-03T04:00:00.000000Z",
                ingest_id="s3://bucket/f.json",
                ingest_position="12",
            )
        ]
    )
    # WHEN the error handler runs
    assert error_handler.handler(event, context) == {"batchItemFailures": []}
    # THEN LogTable holds one item with every attribute docs/design.md lists
    [item] = [plain(i) for i in world.log_items()]
    ttl = int(item.pop("ttl"))
    assert item == {
        "error_id": "err-1",
        "failed_at": "2026-02-03T04:05:06.000007Z",
        "day": "2026-02-03",
        "error_type": "InvalidRecord",
        "error_message": "balance: not a decimal: 'abc'",
        "source": "api",
        "body": body,
        "receive_count": "2",
        "status": LogStatus.NEW.value,
        "origin_message_id": "orig-1",
        # kept for a replay: the record's ingestion time and order
        "entered_at": "2026-02-03T04:00:00.000000Z",
        "ingest_id": "s3://bucket/f.json",
        "ingest_position": "12",
        # the record's account, so `pipeline-ctl account show x` finds this failure (the by_account index)
        "account_id": "x",
    }
    assert abs(ttl - (time.time() + 90 * 86400)) < 120


def test_message_without_error_type_is_retries_exhausted(world: World, context: FakeContext) -> None:
    # GIVEN a transformer envelope the queue's redrive moved to the DLQ (attributes travel with it)
    body = json.dumps({"source": "s3://bucket/f.json", "records": [record("r")]})
    error_handler.handler(sqs_event([dlq_message(body, "redriven", 2, source="s3://bucket/f.json")]), context)
    [item] = [plain(i) for i in world.log_items()]
    assert item["error_type"] == ErrorType.RETRIES_EXHAUSTED
    assert item["source"] == "s3://bucket/f.json"
    assert "moved to the DLQ by WriterQueue's redrive" in item["error_message"]
    assert item["day"] == item["failed_at"][:10]
    assert item["body"] == body


def test_redelivered_message_is_stored_once(world: World, context: FakeContext) -> None:
    event = sqs_event([dlq_message("{}", "same", error_type="MalformedMessage", error_message="x")])
    assert error_handler.handler(event, context) == {"batchItemFailures": []}
    assert error_handler.handler(event, context) == {"batchItemFailures": []}
    assert len(world.log_items()) == 1


def test_retention_comes_from_log_retention_days(
    world: World, context: FakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOG_RETENTION_DAYS", "7")
    error_handler.handler(sqs_event([dlq_message("{}", "ttl", error_type="InvalidRecord")]), context)
    [item] = world.log_items()
    assert abs(int(item["ttl"]["N"]) - (time.time() + 7 * 86400)) < 120


def test_message_that_cannot_be_stored_is_reported_failed(
    world: World, context: FakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the second message's table does not exist (a store failure) — the first was stored
    stored = sqs_event([dlq_message("{}", "ok", error_type="InvalidRecord")])
    assert error_handler.handler(stored, context) == {"batchItemFailures": []}
    monkeypatch.setenv("LOG_TABLE", "no-such-table")
    failed = error_handler.handler(sqs_event([dlq_message("{}", "lost?")]), context)
    # THEN it is in batchItemFailures: it stays in the DLQ, never dropped
    assert failed == {"batchItemFailures": [{"itemIdentifier": "lost?"}]}


def test_bad_retention_setting_is_named(
    world: World, context: FakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOG_RETENTION_DAYS", "ninety")
    failed = error_handler.handler(sqs_event([dlq_message("{}", "m")]), context)
    assert failed == {"batchItemFailures": [{"itemIdentifier": "m"}]}
    assert world.log_items() == []


def test_an_envelope_posted_through_the_api_is_logged_as_api_whatever_it_claims(
    world: World, context: FakeContext
) -> None:
    # GIVEN a POSTed envelope (no source attribute: API Gateway sends the body alone) that names a bucket
    body = json.dumps({"source": "s3://someone-elses-bucket/f.json", "records": [record("r")]})
    # WHEN the redrive brings it to the error handler
    error_handler.handler(sqs_event([dlq_message(body, "spoofed", 2)]), context)
    # THEN its provenance is the API, and the body is kept verbatim as evidence
    [item] = [plain(i) for i in world.log_items()]
    assert item["source"] == "api"
    assert item["body"] == body


def test_a_transformer_event_lambda_gave_up_on_is_logged_against_its_object(
    world: World, context: FakeContext
) -> None:
    # GIVEN the invocation record Lambda's on-failure destination puts in the DLQ (AWS's documented shape)
    body = (EVENTS / "lambda_destination_failure.json").read_text()
    # WHEN the error handler stores it
    error_handler.handler(sqs_event([dlq_message(body, "gave-up", 1)]), context)
    # THEN the item names the object (key decoded) and the last error, and tells the operator what to do
    [item] = [plain(i) for i in world.log_items()]
    assert item["error_type"] == ErrorType.RETRIES_EXHAUSTED
    assert item["source"] == "s3://data-bucket/in/deep fileç.json"
    assert item["error_message"] == (
        "serverless-pipeline-dev-transformer gave up on s3://data-bucket/in/deep fileç.json after 3 attempts "
        "(RetriesExhausted): Runtime.ExitError: RequestId: e4b46cbf Error: Runtime exited with error: "
        "signal: killed; upload the object again to retry"
    )
    assert item["body"] == body


def _lambda_record(key: Any) -> str:
    record = json.loads((EVENTS / "lambda_destination_failure.json").read_text())
    record["requestPayload"]["Records"][0]["s3"]["object"]["key"] = key
    return json.dumps(record)


POISON = {
    "invocation-record-non-string-key": (_lambda_record(12345), {}),
    "invocation-record-key-object": (_lambda_record({"a": 1}), {}),
    "invocation-record-no-records": ('{"requestContext": {}, "requestPayload": {"Records": 7}}', {}),
    "invocation-record-not-an-object": ('{"requestContext": [1, 2]}', {}),
    "not-json": ("\x00\x01 not json at all \U0001f600", {}),
    "empty": ("", {}),
    "json-null": ("null", {}),
    "huge": (json.dumps({"x": "y" * 250_000}), {}),
    "deep": ("[" * 50_000 + "]" * 50_000, {}),
    "odd-attributes": (
        "{}",
        {"error_type": "Whatever" * 20, "failed_at": "yesterday", "ingest_position": "-1"},
    ),
}


@pytest.mark.parametrize("case", list(POISON), ids=list(POISON))
def test_every_dlq_message_is_stored_whatever_it_holds(world: World, context: FakeContext, case: str) -> None:
    # GIVEN a DLQ message nobody planned for, with a binary attribute besides
    body, attributes = POISON[case]
    event = sqs_event([dlq_message(body, f"poison-{case}", **attributes)])
    event["Records"][0]["messageAttributes"]["blob"] = {"binaryValue": "AAEC", "dataType": "Binary"}
    event["Records"][0]["messageAttributes"]["junk"] = "not an attribute object"
    # WHEN the error handler runs
    response = error_handler.handler(event, context)
    # THEN it is stored (never left to be retried forever), verbatim, with a classification and a day
    assert response == {"batchItemFailures": []}
    [item] = [plain(i) for i in world.log_items()]
    assert item["error_id"] == f"poison-{case}"
    assert item["body"] == body
    assert item["error_type"] and item["error_message"]
    assert item["day"] == item["failed_at"][:10] and item["failed_at"].endswith("Z")


def test_a_non_json_redriven_body_is_classified_malformed(world: World, context: FakeContext) -> None:
    error_handler.handler(sqs_event([dlq_message("{not json", "nj")]), context)
    [item] = [plain(i) for i in world.log_items()]
    assert item["error_type"] == ErrorType.MALFORMED_MESSAGE
    assert item["error_message"].startswith("body is not JSON")


def test_a_redriven_message_keeps_its_sent_time_and_id_for_a_replay(
    world: World, context: FakeContext
) -> None:
    # GIVEN a POSTed body the redrive moved (no attributes: its SentTimestamp and id are its ingestion)
    message = dlq_message(json.dumps(record("r")), "orig-id", 2)
    message["Attributes"]["SentTimestamp"] = "1772359200123"  # 2026-03-01T10:00:00.123Z
    error_handler.handler(sqs_event([message]), context)
    [item] = [plain(i) for i in world.log_items()]
    assert (item["entered_at"], item["ingest_id"], item["ingest_position"]) == (
        "2026-03-01T10:00:00.123000Z",
        "orig-id",
        "0",
    )


def test_a_transformer_failure_keeps_the_objects_event_time(world: World, context: FakeContext) -> None:
    body = (EVENTS / "lambda_destination_failure.json").read_text()
    error_handler.handler(sqs_event([dlq_message(body, "gave-up-2", 1)]), context)
    [item] = [plain(i) for i in world.log_items()]
    assert item["entered_at"] == "2026-02-03T04:00:00.000000Z"
    assert item["ingest_id"] == "s3://data-bucket/in/deep fileç.json"


def test_a_sent_time_beyond_any_date_is_no_reason_to_lose_a_message(
    world: World, context: FakeContext
) -> None:
    message = dlq_message(json.dumps(record("far")), "far-future", 1)
    message["Attributes"]["SentTimestamp"] = "999999999999999999"  # year ~31,690,000
    assert error_handler.handler(sqs_event([message]), context) == {"batchItemFailures": []}
    [item] = [plain(i) for i in world.log_items()]
    assert item["entered_at"].endswith("Z") and item["ingest_id"] == "far-future"


INVALID = {"error_type": "InvalidRecord", "error_message": "balance: not a decimal: 'abc'", "source": "api"}


@pytest.mark.parametrize(
    ("body", "account"),
    [
        (json.dumps(record(" acct-7 ", balance="abc")), "acct-7"),
        (json.dumps({"accountId": "camel-1", "balance": "abc"}), "camel-1"),
        (json.dumps([record("in-an-array", balance="abc")]), "in-an-array"),
        (json.dumps({"records": [record("in-an-envelope", balance="abc")]}), "in-an-envelope"),
        (json.dumps(record("has space", balance="abc")), "has space"),
        (json.dumps([record("a", balance="abc"), record("b", balance="abc")]), None),
        (json.dumps(record(None, balance="abc")), None),
        (json.dumps(record(42, balance="abc")), None),
        (json.dumps(record("   ", balance="abc")), None),
        (json.dumps(record("x" * 1025, balance="abc")), None),
        ('{"account_id": "\\ud800", "balance": "abc"}', None),
        ("{not json", None),
    ],
    ids=[
        "trimmed",
        "camel-case",
        "one-record-array",
        "one-record-envelope",
        "invalid-by-contract-still-indexed",
        "batch",
        "missing",
        "not-a-string",
        "blank",
        "too-long-for-an-index-key",
        "lone-surrogate",
        "not-json",
    ],
)
def test_a_single_record_failure_is_indexed_by_its_account(
    world: World, context: FakeContext, body: str, account: str | None
) -> None:
    # GIVEN a DLQ message whose body is one record (or not)
    event = sqs_event([dlq_message(body, "err-acct", **INVALID)])
    # WHEN the error handler runs
    assert error_handler.handler(event, context) == {"batchItemFailures": []}
    # THEN the item names the record's account exactly when there is one record with a usable id
    [item] = [plain(i) for i in world.log_items()]
    assert item.get("account_id") == account
    if account is not None:  # and the by_account index answers for it, as `account show` asks
        found = world.dynamodb.query(
            TableName=world.log_table,
            IndexName=spec.LOG_TABLE_ACCOUNT_INDEX,
            KeyConditionExpression="account_id = :a",
            ExpressionAttributeValues={":a": {"S": account}},
        )["Items"]
        assert [hit["error_id"]["S"] for hit in found] == ["err-acct"]


def test_the_fallback_item_keeps_the_account(world: World, context: FakeContext) -> None:
    # GIVEN a one-record body too large for a LogTable item with its reason (DynamoDB refuses 400 KB)
    body = json.dumps(record("big-1", name="n" * 250_000, balance="abc"))
    reason = "r" * 200_000
    event = sqs_event([dlq_message(body, "err-big", **{**INVALID, "error_message": reason})])
    # WHEN the error handler runs
    assert error_handler.handler(event, context) == {"batchItemFailures": []}
    # THEN the fallback item was stored, still indexed by the account
    [item] = [plain(i) for i in world.log_items()]
    assert item["error_message"].startswith("stored by the error handler's fallback")
    assert item["account_id"] == "big-1"
