"""``ops.replay`` beyond plain bodies: a "Transformer gave up" record, and the attributes replays carry.

A Transformer give-up is replayed by copying its object onto itself (a new ObjectCreated event), never by
sending Lambda's invocation record to the writer; a replayed body carries the ingestion attributes stored
on its LogTable item, and still fits SQS's 256 KiB with them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from functions.entry_time import ENTERED_AT_MAC_METADATA, trusted_entry_time
from functions.messages.sizing import message_size
from functions.model import ENTERED_AT_METADATA, MAX_MESSAGE_BYTES
from ops.errors import OperationError
from ops.redrive import s3_objects
from ops.replay import Result, replay, replay_attributes
from ops.target import resolve_target
from tests.support.cli import DEPLOYED_STACK, Stack, iso

EVENT_TIME = "2026-03-01T10:00:00.000Z"
ENTERED_AT = "2026-03-01T10:00:00.000000Z"


def invocation_record(bucket: str, key: str, version_id: str | None) -> str:
    """Lambda's on-failure record for an asynchronous invocation of the Transformer by S3."""
    obj: dict[str, object] = {"key": key.replace(" ", "+"), "size": 10}
    if version_id:
        obj["versionId"] = version_id
    return json.dumps(
        {
            "version": "1.0",
            "timestamp": "2026-03-01T10:05:00.000Z",
            "requestContext": {
                "requestId": "c0ffee",
                "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:transformer:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": 3,
            },
            "requestPayload": {
                "Records": [
                    {
                        "eventSource": "aws:s3",
                        "eventTime": EVENT_TIME,
                        "eventName": "ObjectCreated:Put",
                        "s3": {"bucket": {"name": bucket}, "object": obj},
                    }
                ]
            },
            "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
            "responsePayload": {"errorType": "Runtime.ExitError", "errorMessage": "killed"},
        }
    )


@pytest.fixture
def versioned(deployed: Stack) -> tuple[Stack, str, str]:
    """A versioned bucket holding ``in/a b.json`` twice: (stack, first version, second version)."""
    s3 = deployed.client("s3")
    bucket = deployed.outputs["data_bucket"]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(
        Bucket=bucket, Key="in/a b.json", Body=b'[{"account_id": "a-1"}]', ContentType="application/json"
    )["VersionId"]
    second = s3.put_object(Bucket=bucket, Key="in/a b.json", Body=b'[{"account_id": "a-2"}]')["VersionId"]
    return deployed, first, second


def assert_signed(stack: Stack, head: dict, key: str, entered_at: str) -> None:
    """The copy carries the entry time with the MAC the Transformer verifies (functions.entry_time)."""
    assert set(head["Metadata"]) == {ENTERED_AT_METADATA, ENTERED_AT_MAC_METADATA}
    found = trusted_entry_time(
        head["Metadata"],
        bucket=stack.outputs["data_bucket"],
        key=key,
        event_time=datetime(2100, 1, 1, tzinfo=UTC),
        kms=lambda: stack.client("kms"),
        key_id=stack.outputs["entry_time_key"],
    )
    assert (found.ignored, iso(found.moment)) == (None, entered_at)


def test_a_transformer_give_up_re_drives_the_exact_version(versioned: tuple[Stack, str, str]) -> None:
    stack, first, _ = versioned
    bucket = stack.outputs["data_bucket"]
    now = datetime.now(UTC)
    stack.put_error(
        "gave-up",
        failed_at=now - timedelta(minutes=1),
        error_type="RetriesExhausted",
        source=f"s3://{bucket}/in/a b.json",
        body=invocation_record(bucket, "in/a b.json", first),
        entered_at=ENTERED_AT,
    )

    dry = replay(resolve_target(DEPLOYED_STACK), dry_run=True)
    report = replay(resolve_target(DEPLOYED_STACK))

    assert dry.entries[0].detail == f"would copy s3://{bucket}/in/a b.json?versionId={first} onto itself"
    assert [(e.error_id, e.result) for e in report.entries] == [("gave-up", Result.REPLAYED)]
    assert stack.drain("writer_queue_url") == []  # the invocation record never reaches the writer
    s3 = stack.client("s3")
    head = s3.head_object(Bucket=bucket, Key="in/a b.json")
    assert_signed(stack, head, "in/a b.json", ENTERED_AT)
    assert head["ContentType"] == "application/json"
    assert s3.get_object(Bucket=bucket, Key="in/a b.json")["Body"].read() == b'[{"account_id": "a-1"}]'
    item = stack.get_error("gave-up")
    assert item["status"] == "REPLAYED"
    assert item["replay_message_id"] == f"copy:{head['VersionId']}"


def test_a_gone_object_is_refused_and_the_item_stays_new(versioned: tuple[Stack, str, str]) -> None:
    stack, first, _ = versioned
    bucket = stack.outputs["data_bucket"]
    stack.client("s3").delete_object(Bucket=bucket, Key="in/a b.json", VersionId=first)
    stack.put_error(
        "gone",
        failed_at=datetime.now(UTC),
        source=f"s3://{bucket}/in/a b.json",
        body=invocation_record(bucket, "in/a b.json", first),
        error_type="RetriesExhausted",
    )

    report = replay(resolve_target(DEPLOYED_STACK))

    entry = report.entries[0]
    assert (entry.result, report.ok) == (Result.OBJECT_GONE, False)
    assert entry.detail.startswith(f"s3://{bucket}/in/a b.json?versionId={first} is gone")
    item = stack.get_error("gone")
    assert item["status"] == "NEW"
    assert "replay_claim" not in item


def test_an_unversioned_object_is_copied_onto_itself(deployed: Stack) -> None:
    bucket = deployed.outputs["data_bucket"]
    deployed.client("s3").put_object(Bucket=bucket, Key="plain.json", Body=b"[]")
    deployed.put_error(
        "plain",
        failed_at=datetime.now(UTC),
        source=f"s3://{bucket}/plain.json",
        body=invocation_record(bucket, "plain.json", None),
    )

    report = replay(resolve_target(DEPLOYED_STACK))

    assert report.entries[0].result == Result.REPLAYED
    head = deployed.client("s3").head_object(Bucket=bucket, Key="plain.json")
    assert_signed(deployed, head, "plain.json", ENTERED_AT)  # the event's time, no stored entered_at


def test_an_uploaders_entry_time_on_the_object_is_not_carried_over(deployed: Stack) -> None:
    bucket = deployed.outputs["data_bucket"]
    deployed.client("s3").put_object(
        Bucket=bucket,
        Key="pinned.json",
        Body=b"[]",
        Metadata={ENTERED_AT_METADATA: "9999-12-30T00:00:00.000000Z", ENTERED_AT_MAC_METADATA: "AAAA"},
    )
    deployed.put_error(
        "pinned",
        failed_at=datetime.now(UTC),
        source=f"s3://{bucket}/pinned.json",
        body=invocation_record(bucket, "pinned.json", None),
    )

    replay(resolve_target(DEPLOYED_STACK))

    head = deployed.client("s3").head_object(Bucket=bucket, Key="pinned.json")
    assert_signed(deployed, head, "pinned.json", ENTERED_AT)


def test_an_invocation_record_posted_through_the_api_is_never_re_driven(deployed: Stack) -> None:
    bucket = deployed.outputs["data_bucket"]
    deployed.client("s3").put_object(Bucket=bucket, Key="victim.json", Body=b"[]")
    deployed.put_error(
        "posted",
        failed_at=datetime.now(UTC),
        source="api",
        body=invocation_record(bucket, "victim.json", None),
    )

    report = replay(resolve_target(DEPLOYED_STACK))

    assert report.entries[0].result == Result.REPLAYED
    [message] = deployed.drain("writer_queue_url")  # sent back to the writer as the body it is
    assert message["MessageAttributes"]["source"]["StringValue"] == "api"
    head = deployed.client("s3").head_object(Bucket=bucket, Key="victim.json")
    assert head["Metadata"] == {}


def test_replays_carry_the_stored_ingestion_attributes(deployed: Stack) -> None:
    deployed.put_error(
        "e-1",
        failed_at=datetime.now(UTC),
        source="s3://b/k.json",
        entered_at=ENTERED_AT,
        ingest_id="s3://b/k.json?versionId=v1",
        ingest_position="1000",
    )

    replay(resolve_target(DEPLOYED_STACK), ids=["e-1"])

    [message] = deployed.drain("writer_queue_url")
    attributes = {name: value["StringValue"] for name, value in message["MessageAttributes"].items()}
    assert attributes == {
        "replay_of": "e-1",
        "source": "s3://b/k.json",
        "entered_at": ENTERED_AT,
        "ingest_id": "s3://b/k.json?versionId=v1",
        "ingest_position": "1000",
    }


def test_a_body_at_the_limit_keeps_its_source_and_ingestion_attributes_first() -> None:
    stored = {
        "source": "s3://b/k.json",
        "entered_at": ENTERED_AT,
        "ingest_id": "s3://b/k.json",
        "ingest_position": "7",
    }
    carried = {
        "source": "s3://b/k.json",
        "entered_at": ENTERED_AT,
        "ingest_id": "s3://b/k.json",
        "ingest_position": "7",
    }
    body = "x" * (MAX_MESSAGE_BYTES - message_size("", carried))

    fits = replay_attributes("e-1", stored, body)

    assert sorted(fits) == sorted(carried)
    assert (
        message_size(body, {name: value["StringValue"] for name, value in fits.items()}) == MAX_MESSAGE_BYTES
    )
    with pytest.raises(OperationError, match="exceed SQS's 262,144 bytes"):
        replay_attributes("e-1", stored, body + "y")
    small = replay_attributes("e-1", stored, "{}")
    assert sorted(small) == ["entered_at", "ingest_id", "ingest_position", "replay_of", "source"]


def test_a_dlq_give_up_is_re_driven_and_deleted(versioned: tuple[Stack, str, str]) -> None:
    stack, _, second = versioned
    bucket = stack.outputs["data_bucket"]
    sqs = stack.client("sqs")
    sqs.send_message(
        QueueUrl=stack.outputs["dlq_url"], MessageBody=invocation_record(bucket, "in/a b.json", second)
    )

    report = replay(resolve_target(DEPLOYED_STACK), source="dlq")

    assert [e.result for e in report.entries] == [Result.REPLAYED]
    assert stack.visible("dlq_url") == 0 and stack.drain("writer_queue_url") == []
    head = stack.client("s3").head_object(Bucket=bucket, Key="in/a b.json")
    assert_signed(stack, head, "in/a b.json", ENTERED_AT)


@pytest.mark.parametrize(
    "body",
    [
        '{"account_id": "a-1"}',
        '{"requestPayload": {"Records": []}, "requestContext": {}}',
        '{"requestPayload": {"Records": [{"s3": {"bucket": {"name": 1}, "object": {"key": "k"}}}]}, '
        '"requestContext": {}}',
        "not json",
    ],
    ids=["record", "no-events", "bad-bucket", "not-json"],
)
def test_only_an_s3_invocation_record_is_re_driven(body: str) -> None:
    assert s3_objects(body) is None


@pytest.mark.parametrize("error_type", ["UnreadableFile", "RecordTooLarge"])
def test_a_failure_about_a_file_is_not_sent_to_the_writer(deployed: Stack, error_type: str) -> None:
    deployed.put_error(
        "file", failed_at=datetime.now(UTC), error_type=error_type, body='{"file": "s3://b/k"}'
    )
    deployed.client("sqs").send_message(
        QueueUrl=deployed.outputs["dlq_url"],
        MessageBody='{"file": "s3://b/k"}',
        MessageAttributes={"error_type": {"DataType": "String", "StringValue": error_type}},
    )

    from_table = replay(resolve_target(DEPLOYED_STACK), ids=["file"])
    from_dlq = replay(resolve_target(DEPLOYED_STACK), source="dlq")

    assert [e.result for e in from_table.entries + from_dlq.entries] == [Result.NOT_REPLAYABLE] * 2
    assert from_table.ok and from_dlq.ok
    assert deployed.drain("writer_queue_url") == []
    assert deployed.get_error("file")["status"] == "NEW" and deployed.visible("dlq_url") == 1


def test_a_stack_deployed_before_the_entry_time_key_works_but_cannot_re_drive(deployed: Stack) -> None:
    bucket = deployed.outputs["data_bucket"]
    older = {key: value for key, value in deployed.outputs.items() if key != "entry_time_key"}
    deployed.client("ssm").put_parameter(
        Name="/serverless-pipeline/test/outputs", Value=json.dumps(older), Type="String", Overwrite=True
    )
    deployed.client("s3").put_object(Bucket=bucket, Key="old.json", Body=b"[]")
    deployed.put_error(
        "old",
        failed_at=datetime.now(UTC),
        source=f"s3://{bucket}/old.json",
        body=invocation_record(bucket, "old.json", None),
    )

    report = replay(resolve_target(DEPLOYED_STACK))

    [entry] = report.entries
    assert entry.result == Result.FAILED
    assert "has no entry_time_key" in entry.detail
    assert deployed.get_error("old")["status"] == "NEW"
