"""Writer: WriterQueue batches → AccountTable (conditional), invalid → DLQ, transient → batchItemFailures."""

from __future__ import annotations

import calendar
import json
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from functions import aws
from functions.error_handler import handler as error_handler
from functions.ingestion import sent_time
from functions.messages.codec import decode_json, encode_json
from functions.messages.sizing import attributes_size, utf8_size
from functions.model import MAX_MESSAGE_BYTES, MAX_REPLAYABLE_BODY_BYTES, ErrorType, MessageAttribute
from functions.writer import deadline, store, transport
from functions.writer import handler as writer
from tests.support.functions import (
    SENT_TIMESTAMP,
    FakeContext,
    World,
    drain,
    emitted_metrics,
    on_put_item,
    record,
    sqs_event,
)


def message(body: Any, message_id: str | None = None, **attributes: str) -> dict[str, Any]:
    text = body if isinstance(body, str) else json.dumps(body)
    result: dict[str, Any] = {
        "Body": text,
        "MessageAttributes": {
            name: {"StringValue": value, "DataType": "String"} for name, value in attributes.items()
        },
    }
    if message_id:
        result["MessageId"] = message_id
    return result


def run(context: FakeContext, *messages: dict[str, Any]) -> list[str]:
    """Invoke the writer on one SQS batch; return the failed message ids."""
    response = writer.handler(sqs_event(messages), context)
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def dlq(world: World) -> list[dict[str, Any]]:
    return [
        {name: value["StringValue"] for name, value in m.get("MessageAttributes", {}).items()}
        | {"body": m["Body"]}
        for m in world.receive_all(world.dlq_url)
    ]


def test_one_record_body_is_written_with_source_and_exact_balance(world: World, context: FakeContext) -> None:
    # GIVEN a body as POST /writer sends it, with a JSON float balance
    body = '{"accountId": "a1", "name": "Ada", "email": "ADA@example.com", "balance": 0.1, "currency": "eur"}'
    # WHEN the writer processes it
    assert run(context, message(body)) == []
    # THEN the item holds the normalised record, the exact balance, the source and the ingestion time
    item = world.accounts()["a1"]
    assert item["balance"] == {"N": "0.1"}
    assert item["email"] == {"S": "ada@example.com"}
    assert item["currency"] == {"S": "EUR"}
    assert item["source"] == {"S": "api"}
    assert item["ingested_at"]["S"].endswith("Z")
    assert dlq(world) == []


@pytest.mark.parametrize("balance", ["12.30", 12.3, "1e2", 7], ids=["string", "float", "exponent", "integer"])
def test_float_and_string_balances_are_stored_exactly(
    world: World, context: FakeContext, balance: Any
) -> None:
    run(context, message(record("b", balance=balance)))
    stored = Decimal(world.accounts()["b"]["balance"]["N"])
    assert stored == Decimal(str(balance))


def test_array_and_envelope_bodies_write_every_record(world: World, context: FakeContext) -> None:
    run(
        context,
        message([record("arr-1"), record("arr-2")]),
        message(
            {"source": "s3://bucket/file.json", "records": [record("env-1")]}, source="s3://bucket/file.json"
        ),
    )
    accounts = world.accounts()
    assert set(accounts) == {"arr-1", "arr-2", "env-1"}
    assert accounts["env-1"]["source"] == {"S": "s3://bucket/file.json"}
    assert accounts["arr-1"]["source"] == {"S": "api"}


def test_provenance_is_the_source_attribute_never_what_a_posted_body_claims(
    world: World, context: FakeContext
) -> None:
    # GIVEN an envelope POSTed through the API (no attributes) that claims to come from a bucket,
    # and a record that merely carries an unknown key named "records"
    spoofed = {"source": "s3://someone-elses-bucket/f.json", "records": [record("spoof")]}
    odd = record("odd") | {"records": "legacy-field"}
    # WHEN the writer processes them
    failed = run(context, message(spoofed), message(odd))
    # THEN both are written as records that came from the API; the unknown key is dropped
    assert failed == []
    accounts = world.accounts()
    assert accounts["spoof"]["source"] == {"S": "api"}
    assert accounts["odd"]["source"] == {"S": "api"}
    assert "records" not in accounts["odd"]


def test_a_duplicate_is_stale_and_changes_nothing(world: World, context: FakeContext, capsys: Any) -> None:
    # SQS delivers at least once: the same message (same id, same attributes) a second time
    run(context, message(record("d", balance="1"), "dup-1"))
    first = world.accounts()["d"]
    capsys.readouterr()
    run(context, message(record("d", balance="1"), "dup-1"))
    assert world.accounts()["d"] == first
    assert emitted_metrics(capsys.readouterr().out) == {
        "RecordsWritten": 0,
        "RecordsStale": 1,
        "RecordsInvalid": 0,
        "RecordsFailed": 0,
    }


def test_an_older_update_never_overwrites_a_newer_one(world: World, context: FakeContext) -> None:
    # GIVEN the newer update arrives first, then the older one (SQS does not keep order)
    newer = record("o", balance="2", updated_at="2026-01-02T00:00:00+00:00")
    older = record("o", balance="1", updated_at="2026-01-02T00:30:00+01:00")  # 2026-01-01T23:30Z
    run(context, message(newer))
    run(context, message(older))
    # THEN the newer balance stays, and a later update still wins
    assert world.accounts()["o"]["balance"] == {"N": "2"}
    run(context, message(record("o", balance="3", updated_at="2026-01-03T00:00:00Z")))
    assert world.accounts()["o"]["balance"] == {"N": "3"}


def test_invalid_record_goes_to_the_dlq_with_its_reason_and_the_message_is_acknowledged(
    world: World, context: FakeContext
) -> None:
    # GIVEN an envelope with one valid and one invalid record
    bad = {"accountId": "x", "name": "", "email": "nope", "balance": "abc", "currency": "EUR"}
    body = {"source": "s3://bucket/f.json", "records": [record("good"), bad]}
    # WHEN processed (as the transformer sends it: provenance in the source attribute)
    failed = run(context, message(body, "msg-1", source="s3://bucket/f.json"))
    # THEN the message is not failed, the valid record is written, the invalid one is in the DLQ, alone
    assert failed == []
    assert set(world.accounts()) == {"good"}
    [dead] = dlq(world)
    assert decode_json(dead["body"]) == bad
    assert dead[MessageAttribute.ERROR_TYPE] == ErrorType.INVALID_RECORD
    assert dead[MessageAttribute.ERROR_MESSAGE] == (
        "name: empty; email: not an email address (local@domain.tld): 'nope'; balance: not a decimal: 'abc'"
    )
    assert dead[MessageAttribute.SOURCE] == "s3://bucket/f.json"
    assert dead[MessageAttribute.ORIGIN_MESSAGE_ID] == "msg-1"
    assert dead[MessageAttribute.FAILED_AT].endswith("Z")


def test_a_replay_that_fails_again_links_to_what_it_replayed(world: World, context: FakeContext) -> None:
    # GIVEN a replayed body (pipeline-ctl replay-dlq sets replay_of) whose record is still invalid
    bad = {"accountId": "again", "name": "Ada", "email": "nope", "balance": "1", "currency": "EUR"}
    # WHEN the writer processes it
    assert run(context, message(bad, "replay-2", replay_of="error-1")) == []
    # THEN its new DLQ message names the LogTable item it replayed
    [dead] = dlq(world)
    assert dead[MessageAttribute.ERROR_TYPE] == ErrorType.INVALID_RECORD
    assert dead[MessageAttribute.REPLAY_OF] == "error-1"


def test_a_single_invalid_record_keeps_its_body_verbatim(world: World, context: FakeContext) -> None:
    body = '{"accountId": "v",   "balance": 1.10}'
    run(context, message(body))
    [dead] = dlq(world)
    assert dead["body"] == body


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            "{not json",
            "body is not JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        ),
        (
            '"just a string"',
            "body is a JSON string: expected a record object, an array of records or an envelope",
        ),
        ('[{"balance": NaN}]', "body is not JSON: NaN is not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, "body is nested too deeply to parse"),
    ],
    ids=["not-json", "scalar", "nan", "nested-100000-deep"],
)
def test_malformed_body_is_an_invalid_message(
    world: World, context: FakeContext, body: str, reason: str
) -> None:
    assert run(context, message(body, "m-bad")) == []
    [dead] = dlq(world)
    assert dead["body"] == body
    assert dead[MessageAttribute.ERROR_TYPE] == ErrorType.MALFORMED_MESSAGE
    assert dead[MessageAttribute.ERROR_MESSAGE] == reason
    assert dead[MessageAttribute.SOURCE] == "api"


def test_prefailed_message_is_forwarded_as_is(world: World, context: FakeContext) -> None:
    body = encode_json({"file": "s3://b/k.json", "error": "empty"})
    run(
        context,
        message(
            body,
            "pre-1",
            error_type="UnreadableFile",
            error_message="s3://b/k.json: empty file",
            source="s3://b/k.json",
            failed_at="2026-01-01T00:00:00.000000Z",
        ),
    )
    [dead] = dlq(world)
    assert dead == {
        "body": body,
        "error_type": "UnreadableFile",
        "error_message": "s3://b/k.json: empty file",
        "source": "s3://b/k.json",
        "failed_at": "2026-01-01T00:00:00.000000Z",
        "origin_message_id": "pre-1",
        # what the record keeps on every hop; without attributes: SentTimestamp, message id, position 0
        "entered_at": sent_time({"SentTimestamp": SENT_TIMESTAMP}),
        "ingest_id": "pre-1",
        "ingest_position": "0",
    }


def test_dynamodb_failure_on_some_items_fails_exactly_those_messages(
    world: World, context: FakeContext, fail_put_items: Callable[..., None], capsys: Any
) -> None:
    # GIVEN PutItem throttled (after the SDK's retries) for two accounts
    fail_put_items({"t-2", "t-4"})
    messages = [message(record(f"t-{i}"), f"id-{i}") for i in range(6)]
    # one message carries a throttled record, a fine one and an invalid one
    messages.append(message([record("t-4"), record("t-5b"), {"accountId": "bad"}], "id-mixed"))
    capsys.readouterr()
    # WHEN the batch is processed
    failed = run(context, *messages)
    # THEN exactly the messages with a throttled record are reported, the rest are written
    assert sorted(failed) == ["id-2", "id-4", "id-mixed"]
    assert set(world.accounts()) == {"t-0", "t-1", "t-3", "t-5", "t-5b"}
    # and the mixed message's invalid record waits for the message's own retry (no duplicate in the DLQ)
    assert dlq(world) == []
    assert emitted_metrics(capsys.readouterr().out) == {
        "RecordsWritten": 5,
        "RecordsStale": 0,
        "RecordsInvalid": 0,
        "RecordsFailed": 3,
    }


def test_every_message_failing_is_still_a_partial_response(
    world: World, context: FakeContext, fail_put_items: Callable[..., None]
) -> None:
    fail_put_items({"z"}, "InternalServerError")
    assert run(context, message(record("z"), "only")) == ["only"]


def test_missing_setting_fails_the_messages_naming_the_variable(
    world: World, context: FakeContext, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    monkeypatch.delenv("ACCOUNT_TABLE")
    assert run(context, message(record("s"), "m")) == ["m"]
    assert world.accounts() == {}


def test_messages_of_one_batch_are_processed_concurrently(world: World, context: FakeContext) -> None:
    # GIVEN a batch where the first message's write can only finish once the second message is being written
    # (one after the other, the first would wait out the timeout: a throttled message stalls a whole batch)
    second_started = threading.Event()
    waited: list[bool] = []
    client = aws.client("dynamodb")

    def watch(request: dict[str, Any]) -> None:
        account = request["Item"]["account_id"]["S"]
        if account == "first":
            waited.append(second_started.wait(timeout=10))
        elif account == "second":
            second_started.set()

    hook = on_put_item(watch)
    client.meta.events.register_first("before-send.dynamodb.PutItem", hook)
    try:
        # WHEN the writer processes the batch
        failed = run(context, message(record("first"), "m-1"), message([record("second")], "m-2"))
    finally:
        client.meta.events.unregister("before-send.dynamodb.PutItem", hook)
    # THEN the first write saw the second one start, and both are written
    assert waited == [True]
    assert failed == []
    assert set(world.accounts()) == {"first", "second"}


def test_concurrent_writes_fit_the_clients_connection_pool() -> None:
    # every message's writes share one pool, sized to the connections: no write waits for a connection
    assert store.MAX_WORKERS <= aws.MAX_POOL_CONNECTIONS


@pytest.mark.parametrize("field", ["name", "email"])
def test_a_lone_surrogate_is_an_invalid_record_naming_the_field(
    world: World, context: FakeContext, field: str
) -> None:
    # GIVEN a POSTed array whose second record holds a lone surrogate escape (valid JSON, not Unicode text)
    value = "Ada \\ud800 Lovelace" if field == "name" else "ada\\udc00@example.com"
    bad = json.dumps(record("sur-bad")).replace(
        '"Ada Lovelace"' if field == "name" else '"ada@example.com"', f'"{value}"'
    )
    body = f"[{json.dumps(record('sur-ok'))},{bad}]"
    # WHEN the writer processes it
    failed = run(context, message(body, "sur-1"))
    # THEN the message is acknowledged, the good record written, the bad one an InvalidRecord naming the field
    assert failed == []
    assert set(world.accounts()) == {"sur-ok"}
    [dead] = dlq(world)
    assert dead[MessageAttribute.ERROR_TYPE] == ErrorType.INVALID_RECORD
    reason = dead[MessageAttribute.ERROR_MESSAGE]
    assert reason.startswith(f"{field}: ") and "lone UTF-16 surrogate" in reason
    assert decode_json(dead["body"])["account_id"] == "sur-bad"
    assert dead[MessageAttribute.INGEST_POSITION] == "1"  # the record's own position in the body


def test_an_invalid_record_at_the_api_size_limit_keeps_its_classification(
    world: World, context: FakeContext
) -> None:
    # GIVEN a POSTed invalid record as large as a replayable body (no attributes: API Gateway sends the body)
    body = _padded(record("big", balance="abc"), MAX_REPLAYABLE_BODY_BYTES)
    # WHEN the writer processes it
    _post_and_drain(world, context, body)
    # THEN it is in the DLQ at once as an InvalidRecord, verbatim, with the verdict and the carried attributes
    [dead] = dlq(world)
    assert dead["body"] == body
    assert dead[MessageAttribute.ERROR_TYPE] == ErrorType.INVALID_RECORD
    assert dead[MessageAttribute.ERROR_MESSAGE].startswith("balance: not a decimal")
    assert {MessageAttribute.ENTERED_AT, MessageAttribute.INGEST_ID, MessageAttribute.INGEST_POSITION} <= set(
        dead
    )


def test_an_invalid_record_of_the_largest_message_is_still_an_invalid_record(
    world: World, context: FakeContext
) -> None:
    # GIVEN an invalid record of exactly 256 KiB: no verdict attribute fits beside it
    body = _padded(record("huge", currency="??"), MAX_MESSAGE_BYTES)
    # WHEN the writer, the redrive and the error handler have run
    _post_and_drain(world, context, body)
    drain(world, world.writer_queue_url, writer.handler, context)  # the receive that applies the redrive
    drain(world, world.dlq_url, error_handler.handler, context)
    # THEN LogTable holds it verbatim as an InvalidRecord naming the field (the error handler read it again)
    [item] = world.log_items()
    assert item["body"]["S"] == body
    assert item["error_type"]["S"] == ErrorType.INVALID_RECORD
    assert item["error_message"]["S"].startswith("currency: ")


def test_a_replay_of_a_maximum_size_valid_body_fits_a_message(world: World, context: FakeContext) -> None:
    # GIVEN the largest replayable POST body, a valid record whose write failed and was logged
    body = _padded(record("max"), MAX_REPLAYABLE_BODY_BYTES)
    # its replay carries replay_of (a LogTable error_id is an SQS message id) and the ingestion attributes
    replay = {
        MessageAttribute.REPLAY_OF.value: "8b5ec4e5-0d4b-4b84-9a3e-4f8b3a1c2d3e",
        MessageAttribute.ENTERED_AT.value: "2026-03-01T10:00:00.000000Z",
        MessageAttribute.INGEST_ID.value: "5c7f3b1a-1111-4a4a-8b8b-0123456789ab",
        MessageAttribute.INGEST_POSITION.value: "0",
    }
    # THEN body and attributes fit the queue's limit, as SQS counts them, and SQS (moto) takes it
    assert utf8_size(body) + attributes_size(replay) <= MAX_MESSAGE_BYTES
    world.sqs.send_message(
        QueueUrl=world.writer_queue_url,
        MessageBody=body,
        MessageAttributes={name: {"StringValue": v, "DataType": "String"} for name, v in replay.items()},
    )
    drain(world, world.writer_queue_url, writer.handler, context)
    assert world.accounts()["max"]["updated_at"]["S"] == "2026-01-01T00:00:00.000000Z"


def _post_and_drain(world: World, context: FakeContext, body: str) -> None:
    """``body`` on WriterQueue as API Gateway sends a POST (no attributes), then the writer run over it."""
    world.sqs.send_message(QueueUrl=world.writer_queue_url, MessageBody=body)
    drain(world, world.writer_queue_url, writer.handler, context)


def _padded(fields: dict[str, Any], size: int) -> str:
    """A one-record body of exactly ``size`` bytes (an unknown key carries the padding)."""
    bare = json.dumps(fields | {"padding": ""})
    return json.dumps(fields | {"padding": "x" * (size - len(bare))})


@pytest.mark.parametrize(
    ("region", "token"), [("eu-west-3", None), ("ap-south-2", "IQoJb3JpZ2luX2VjEJr//token")]
)
def test_the_writers_signature_is_botocores(
    monkeypatch: pytest.MonkeyPatch, region: str, token: str | None
) -> None:
    # GIVEN credentials as Lambda gives them (a session token) or static ones, and the real endpoint
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    if token:
        monkeypatch.setenv("AWS_SESSION_TOKEN", token)
    else:
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_REGION", region)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    aws.clear_cache()
    client = aws.client("dynamodb")
    body = json.dumps(
        {"TableName": "accounts", "Item": {"account_id": {"S": "é-1"}}}, ensure_ascii=False
    ).encode()
    # WHEN botocore's own signer signs the request, and the writer's sender signs it at the same second
    request = AWSRequest(
        "POST",
        client.meta.endpoint_url + "/",
        data=body,
        headers={"Content-Type": transport.CONTENT_TYPE, "X-Amz-Target": transport.TARGET},
    )
    SigV4Auth(aws.credentials().get_frozen_credentials(), "dynamodb", region).add_auth(request)
    stamp = calendar.timegm(time.strptime(request.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ"))
    mine = transport.PutItemSender(client).headers(body, now=stamp)
    # THEN the signatures are the same: what AWS accepts from botocore it accepts from the writer
    assert mine["Authorization"] == request.headers["Authorization"]
    assert mine.get("X-Amz-Security-Token") == token
    aws.clear_cache()


def test_a_posted_record_the_deadline_left_unwritten_continues_with_its_ingestion(world: World) -> None:
    # GIVEN a POSTed record (no attributes) and an invocation already past the time writes may start
    body = json.dumps(record("late-post"), separators=(",", ":"))
    short = FakeContext(remaining_seconds=deadline.STOP_STARTING_SECONDS - 0.5)
    assert run(short, message(body, "post-1")) == []
    # THEN nothing is written or dead-lettered: the body goes back to WriterQueue verbatim, with the
    # ingestion the API message had (its sent time and id), so writing it later changes nothing in order
    assert world.accounts() == {} and dlq(world) == []
    [again] = world.receive_all(world.writer_queue_url)
    attributes = {name: value["StringValue"] for name, value in again["MessageAttributes"].items()}
    assert again["Body"] == body
    assert attributes == {
        MessageAttribute.SOURCE: "api",
        MessageAttribute.ENTERED_AT: sent_time({"SentTimestamp": SENT_TIMESTAMP}),
        MessageAttribute.INGEST_ID: "post-1",
        MessageAttribute.INGEST_POSITION: "0",
        MessageAttribute.CONTINUATION_STALLS: "1",  # the store completed nothing meanwhile
    }
    # WHEN the continuation runs with time to spare
    assert run(FakeContext(), {**again, "MessageId": "continuation-1"}) == []
    # THEN the record is stored as the first attempt would have stored it
    item = world.accounts()["late-post"]
    assert item["source"] == {"S": "api"}
    assert item["ingest_order"] == {"S": f"{attributes[MessageAttribute.ENTERED_AT]}#0000000000#post-1"}
