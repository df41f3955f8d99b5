"""A replay's entry time in S3 metadata is believed only when the pipeline signed it, and never crashes.

Payloads of the class an uploader can write (``x-amz-meta-pipeline-entered-at``): a far-future time that would
pin an account, compact and offset forms, an offset that overflows past year 9999, a MAC copied from another
object. Each is ignored (the event time is used) and logged; a copy the replay signed is honoured, and clamped
to the event time when it claims later.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from functions.contract import normalise
from functions.entry_time import ENTERED_AT_MAC_METADATA, KEY_VARIABLE, sign
from functions.ingestion import Ingestion
from functions.model import ENTERED_AT_METADATA
from functions.transformer import handler as transformer
from tests.support.functions import FakeContext, World, record, s3_event

EVENT_TIME = "2026-01-15T12:00:00.000000Z"
"""The ``eventTime`` of the S3 event template (tests/functions/events/s3_put.json), in the pipeline's form."""


@pytest.fixture
def key_id(world: World, monkeypatch: pytest.MonkeyPatch) -> str:
    kms = _kms()
    key = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["Arn"]
    monkeypatch.setenv(KEY_VARIABLE, key)
    return key


def _kms() -> Any:
    import boto3

    return boto3.client("kms", region_name="us-east-1")


def upload_and_transform(world: World, context: FakeContext, key: str, metadata: dict[str, str]) -> dict:
    world.s3.put_object(
        Bucket=world.bucket, Key=key, Body=json.dumps([record("r", updated_at=None)]), Metadata=metadata
    )
    transformer.handler(s3_event(world.bucket, key), context)
    [envelope] = world.receive_all(world.writer_queue_url)
    entered_at = envelope["MessageAttributes"]["entered_at"]["StringValue"]
    [sent] = json.loads(envelope["Body"])["records"]
    # The record's updated_at is left out (no record gave it): the writer's default, from the entry time.
    assert "updated_at" not in sent
    ingestion = Ingestion(entered_at, f"s3://{world.bucket}/{key}", 0)
    return {
        "entered_at": entered_at,
        "updated_at": normalise(sent, now=ingestion.entered_moment())["updated_at"],
    }


@pytest.mark.parametrize(
    "claimed",
    [
        "9999-12-30T00:00:00Z",  # pins the account: every later update would be stale
        "9999-12-30T00:00:00.000000Z",  # the pipeline's own form, but unsigned
        "20251130T080000Z",  # compact ISO 8601
        "2025-11-30T08:00:00+00:00",
        "2025-11-30 08:00:00",
        "9999-12-31T23:59:59-14:00",  # overflows past year 9999 once made UTC
        "0001-01-01T00:00:00+14:00",  # underflows
        "2026-02-30T00:00:00.000000Z",
        "2025-11-30t08:00:00.000000z",  # RFC 3339 allows it; the pipeline never writes it
        "",
    ],
)
def test_an_uploaders_entry_time_is_ignored_and_logged(
    world: World, context: FakeContext, key_id: str, claimed: str, caplog: pytest.LogCaptureFixture
) -> None:
    sent = upload_and_transform(world, context, "forged.json", {ENTERED_AT_METADATA: claimed})

    assert sent == {"entered_at": EVENT_TIME, "updated_at": EVENT_TIME}
    [warning] = [line for line in caplog.records if line.getMessage() == "entry time metadata ignored"]
    assert warning.source == f"s3://{world.bucket}/forged.json"  # type: ignore[attr-defined]
    assert warning.reason.startswith(f"{ENTERED_AT_METADATA} {claimed!a} ignored")  # type: ignore[attr-defined]


def test_a_mac_that_is_not_the_stacks_is_ignored(world: World, context: FakeContext, key_id: str) -> None:
    forged = {
        ENTERED_AT_METADATA: "2025-11-30T08:00:00.000000Z",
        ENTERED_AT_MAC_METADATA: base64.b64encode(b"x" * 32).decode(),
    }
    assert upload_and_transform(world, context, "mac.json", forged)["entered_at"] == EVENT_TIME


def test_a_signed_time_moved_to_another_object_is_ignored(
    world: World, context: FakeContext, key_id: str
) -> None:
    signed = sign(
        _kms(), key_id, bucket=world.bucket, key="original.json", entered_at="2025-11-30T08:00:00.000000Z"
    )
    assert upload_and_transform(world, context, "other.json", signed)["entered_at"] == EVENT_TIME


def test_without_a_configured_key_no_metadata_is_believed(
    world: World, context: FakeContext, key_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    signed = sign(_kms(), key_id, bucket=world.bucket, key="r.json", entered_at="2025-11-30T08:00:00.000000Z")
    monkeypatch.delenv(KEY_VARIABLE)
    assert upload_and_transform(world, context, "r.json", signed)["entered_at"] == EVENT_TIME


def test_a_copy_the_replay_signed_keeps_its_original_entry_time(
    world: World, context: FakeContext, key_id: str
) -> None:
    original = "2025-11-30T08:00:00.000000Z"
    signed = sign(_kms(), key_id, bucket=world.bucket, key="r.json", entered_at=original)

    assert upload_and_transform(world, context, "r.json", signed) == {
        "entered_at": original,
        "updated_at": original,
    }


def test_a_signed_time_later_than_the_event_is_clamped_to_the_event(
    world: World, context: FakeContext, key_id: str
) -> None:
    signed = sign(_kms(), key_id, bucket=world.bucket, key="r.json", entered_at="2026-06-01T00:00:00.000000Z")
    assert upload_and_transform(world, context, "r.json", signed)["entered_at"] == EVENT_TIME
