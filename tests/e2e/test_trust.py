"""Trust boundaries on the running local stack (moto in server mode, real handlers): what an uploader can and
cannot change, and what a replay carries (docs/security.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cli.app import app
from functions.model import ENTERED_AT_METADATA, ErrorType
from local_stack.stack import LocalStack
from ops.redrive import S3Object, kms_signer, redrive
from tests.support.e2e import account, log_items_mentioning, upload
from tests.support.functions import record

pytestmark = pytest.mark.e2e


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def test_a_replayed_s3_record_that_fails_again_keeps_its_source(
    pipeline: LocalStack, in_stack_dir: Path, prefix: str
) -> None:
    key = f"in/{prefix}.json"
    upload(pipeline, key, [record(f"{prefix}-bad", currency="EURO")])
    pipeline.wait_until_idle(30)
    (first,) = log_items_mentioning(pipeline, f"{prefix}-bad")
    source = f"s3://{pipeline.outputs['data_bucket']}/{key}"
    assert first["source"] == source

    replayed = run("replay-dlq", "--id", first["error_id"])
    pipeline.wait_until_idle(30)

    assert replayed.exit_code == 0, replayed.output
    again = [item for item in log_items_mentioning(pipeline, f"{prefix}-bad") if item.get("replay_of")]
    assert [(item["error_type"], item["source"]) for item in again] == [(ErrorType.INVALID_RECORD, source)]


def test_a_replayed_s3_message_that_fails_again_keeps_its_source(
    pipeline: LocalStack, in_stack_dir: Path, prefix: str
) -> None:
    doomed = f"{prefix}-doomed"
    key = f"in/{prefix}.json"
    pipeline.faults.fail_account_ids([doomed])
    upload(pipeline, key, [record(doomed)])
    pipeline.wait_until_idle(30)
    (first,) = log_items_mentioning(pipeline, doomed)
    source = f"s3://{pipeline.outputs['data_bucket']}/{key}"
    assert (first["error_type"], first["source"]) == (ErrorType.RETRIES_EXHAUSTED, source)

    replayed = run("replay-dlq", "--id", first["error_id"], "--yes")
    pipeline.wait_until_idle(30)

    assert replayed.exit_code == 0, replayed.output
    again = [item for item in log_items_mentioning(pipeline, doomed) if item.get("replay_of")]
    assert [(item["error_type"], item["source"]) for item in again] == [(ErrorType.RETRIES_EXHAUSTED, source)]


def _put(pipeline: LocalStack, key: str, records: list, metadata: dict[str, str]) -> None:
    pipeline.client("s3").put_object(
        Bucket=pipeline.outputs["data_bucket"], Key=key, Body=json.dumps(records).encode(), Metadata=metadata
    )


def test_an_uploader_cannot_pin_an_account_with_a_forged_entry_time(
    pipeline: LocalStack, in_stack_dir: Path, prefix: str
) -> None:
    pinned = f"{prefix}-pinned"
    before = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    _put(
        pipeline,
        f"in/{prefix}.json",
        [record(pinned, updated_at=None)],
        {ENTERED_AT_METADATA: "9999-12-30T00:00:00.000000Z"},
    )
    pipeline.wait_until_idle(30)
    stored = account(pipeline, pinned)
    assert stored is not None and before <= stored["updated_at"] < "9999"  # the default: its entry time

    sent = run("send", "--record", json.dumps(record(pinned, updated_at=None, name="Later Update")))
    pipeline.wait_until_idle(30)

    assert sent.exit_code == 0, sent.output
    assert account(pipeline, pinned)["name"] == "Later Update"  # type: ignore[index]


def test_a_copy_the_replay_signed_keeps_its_entry_time_in_server_mode(
    pipeline: LocalStack, in_stack_dir: Path, prefix: str
) -> None:
    """GenerateMac by the operator's client and VerifyMac by the Transformer, both against the emulator."""
    from ops.target import resolve_target

    target = resolve_target("local")
    key = f"in/{prefix}-redriven.json"
    original = "2026-01-02T03:04:05.000006Z"
    pipeline.faults.fail_account_ids([f"{prefix}-r"])  # the first processing fails: nothing written
    _put(pipeline, key, [record(f"{prefix}-r", updated_at=None)], {})
    pipeline.wait_until_idle(30)
    pipeline.faults.clear()
    assert account(pipeline, f"{prefix}-r") is None

    redrive(
        target.client("s3"),
        [S3Object(bucket=target.outputs["data_bucket"], key=key, version_id=None, event_time=None)],
        entered_at=original,
        signer=kms_signer(target.client("kms"), target.outputs["entry_time_key"]),
    )
    pipeline.wait_until_idle(30)

    stored = account(pipeline, f"{prefix}-r")
    assert stored is not None and stored["updated_at"] == original  # the default: its entry time
    assert stored["ingest_order"].startswith(original)
