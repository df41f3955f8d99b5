"""Faults on the real pipeline: failed writes, a crashed handler, a restart, a repeated S3 event.

The tests share the module's clean local stack (starting one costs seconds) and stay apart by account-id
prefix, by counter deltas and by the LogTable items that are new since they began; the crash test alone
gets its own stack, because it puts a different writer in front of the real one: it runs last and stops
the shared stack first (two stacks in one process share the emulator's queues and tables). Faults are
injected where the local stack allows it — at the emulator's DynamoDB door, or around the real handler as
Lambda's runtime would fail it — never inside ``functions/``.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from functions.model import ErrorType
from local_stack.stack import LocalStack
from ops.replay import replay
from ops.target import resolve_target
from tests.corpus.corpus import base_record
from tests.support.pipeline import accounts, log_items, post, put_object
from tests.support.reliability import IDLE_TIMEOUT, fresh_stack

StackFactory = Callable[..., LocalStack]


@pytest.fixture
def make_stack(tmp_path: Path) -> Iterator[StackFactory]:
    started: list[LocalStack] = []

    def make(**options: Any) -> LocalStack:
        stack = fresh_stack(tmp_path / f"stack-{len(started)}", **options)
        started.append(stack)
        return stack

    yield make
    for stack in started:
        stack.stop()


def _records(prefix: str, count: int, **overrides: Any) -> list[dict[str, Any]]:
    return [base_record(f"{prefix}-{index:03d}", **overrides) for index in range(count)]


def _delta(before: dict[str, int], after: dict[str, int], name: str) -> int:
    return after.get(name, 0) - before.get(name, 0)


def _log_ids(stack: LocalStack) -> set[str]:
    return {item["error_id"] for item in log_items(stack)}


def _new_log_items(stack: LocalStack, before: set[str]) -> list[dict[str, Any]]:
    """LogTable items written since ``before`` (a :func:`_log_ids` snapshot): this test's own."""
    return [item for item in log_items(stack) if item["error_id"] not in before]


def _stored(stack: LocalStack, prefix: str) -> dict[str, dict[str, Any]]:
    return {key: item for key, item in accounts(stack).items() if key.startswith(prefix)}


def test_failed_writes_reach_the_dlq_and_one_replay_writes_them(stack: LocalStack) -> None:
    try:
        _failed_writes_then_replay(stack)
    finally:
        stack.faults.clear()  # the module's other tests share this stack


def _failed_writes_then_replay(stack: LocalStack) -> None:
    # GIVEN a stack whose DynamoDB refuses every write of one account (a 5xx: the SDK's retries of those back
    # off in milliseconds, where a throttle's take seconds), and throttles 10 % of the others
    logged_before = _log_ids(stack)
    doomed = "fault-doomed"
    stack.faults.fail_account_ids([doomed], error="InternalServerError")
    stack.faults.fail_writes(0.1, seed=7)
    healthy = _records("fault-ok", 12)
    # WHEN records arrive through both entry points, the doomed one in an array with healthy ones
    mixed = [*healthy[:3], base_record(doomed)]
    assert post(stack.api_url, json.dumps(mixed).encode())[0] == 200
    for record in healthy[3:6]:
        assert post(stack.api_url, json.dumps(record).encode())[0] == 200
    put_object(stack, "faults/healthy.json", json.dumps(healthy[6:]).encode())
    stack.wait_until_idle(timeout=IDLE_TIMEOUT)
    # THEN throttled writes were retried by the SDK and written; the doomed message went through the redrive
    stored = accounts(stack)
    assert {r["account_id"] for r in healthy} <= set(stored)
    assert doomed not in stored
    exhausted = _new_log_items(stack, logged_before)
    assert [item["error_type"] for item in exhausted] == [ErrorType.RETRIES_EXHAUSTED]
    assert doomed in str(exhausted[0]["body"]) and exhausted[0]["status"] == "NEW"
    assert stack.counters()["dynamodb.faulted"] > 0

    # WHEN the faults are cleared and the failures replayed once
    stack.faults.clear()
    before = stack.counters()
    report = replay(resolve_target("local", workdir=stack.workdir), ids=[exhausted[0]["error_id"]])
    stack.wait_until_idle(timeout=IDLE_TIMEOUT)
    # THEN the doomed account is written, its already-written neighbours are stale (not written twice), and
    # the LogTable item is marked replayed; nothing new failed
    assert report.ok and report.counts["replayed"] == 1
    assert doomed in accounts(stack)
    after = stack.counters()
    assert _delta(before, after, "dynamodb.written") == 1
    assert _delta(before, after, "dynamodb.stale") == 3
    logged = _new_log_items(stack, logged_before)
    assert len(logged) == 1 and logged[0]["status"] == "REPLAYED" and logged[0].get("replay_message_id")


def test_queued_messages_survive_a_stop_and_are_processed_after_restart(stack: LocalStack) -> None:
    # GIVEN a running stack with 120 messages just queued on WriterQueue (what 120 POSTs leave there), more
    # than its writer pollers can hold in hand: stopping finishes the batches in hand, no more
    before = stack.counters()
    logged_before = _log_ids(stack)
    records = _records("restart", 120)
    sqs = stack.client("sqs")
    for start in range(0, len(records), 10):
        sqs.send_message_batch(
            QueueUrl=stack.outputs["writer_queue_url"],
            Entries=[
                {"Id": str(i), "MessageBody": json.dumps(record)}
                for i, record in enumerate(records[start : start + 10])
            ],
        )
    # WHEN it is stopped at once, and started again in the same process
    stack.stop()
    written_before_restart = _delta(before, stack.counters(), "dynamodb.written")
    stack.start()
    stack.wait_until_idle(timeout=IDLE_TIMEOUT)
    # THEN the stop left real work queued, and every record is written after the restart, once
    assert written_before_restart < len(records)
    assert len(_stored(stack, "restart-")) == len(records)
    assert _delta(before, stack.counters(), "dynamodb.written") == len(records)
    assert not _new_log_items(stack, logged_before)


def test_a_message_delivered_twice_is_stale_and_a_reupload_is_a_newer_ingestion(stack: LocalStack) -> None:
    # GIVEN a file uploaded, then the very same bytes uploaded again (two S3 events, two ingestions)
    logged_before = _log_ids(stack)
    records = _records("twice", 25)
    body = json.dumps(records).encode()
    before = stack.counters()
    put_object(stack, "twice/same.json", body)
    stack.wait_until_idle(timeout=IDLE_TIMEOUT)
    first = _stored(stack, "twice-")
    put_object(stack, "twice/same.json", body)
    # ... and one WriterQueue message delivered twice (at-least-once delivery: the same body and ingestion)
    redelivered = {
        "QueueUrl": stack.outputs["writer_queue_url"],
        "MessageBody": json.dumps(base_record("twice-api")),
        "MessageAttributes": {
            "entered_at": {"DataType": "String", "StringValue": "2026-01-01T00:00:00.000000Z"},
            "ingest_id": {"DataType": "String", "StringValue": "redelivered-message"},
        },
    }
    sqs = stack.client("sqs")
    sqs.send_message(**redelivered)
    stack.wait_until_idle(timeout=IDLE_TIMEOUT)
    sqs.send_message(**redelivered)
    stack.wait_until_idle(timeout=IDLE_TIMEOUT)
    after = stack.counters()
    # THEN the re-upload is written again (the newest ingestion wins) with the same content; the redelivered
    # message is stale the second time; nothing is logged as an error
    assert _delta(before, after, "transformer.objects") == 2
    second = _stored(stack, "twice-")
    assert len(second) == len(records) + 1
    for account_id, item in first.items():
        assert {k: v for k, v in second[account_id].items() if k not in ("ingest_order", "ingested_at")} == {
            k: v for k, v in item.items() if k not in ("ingest_order", "ingested_at")
        }
        assert second[account_id]["ingest_order"] > item["ingest_order"]
    assert _delta(before, after, "dynamodb.written") == 2 * len(records) + 1
    assert _delta(before, after, "dynamodb.stale") == 1
    assert not _new_log_items(stack, logged_before)


def _crash_mid_batch(crashes: list[int]) -> Callable[[dict[str, Any], Any], Any]:
    """The real writer, killed once half-way through a batch of several messages.

    What Lambda does when the runtime dies mid-invocation (a timeout, an out-of-memory kill): the writes
    already made stay made, the function returns nothing, and the event source mapping treats the whole batch
    as failed. Here the first half of the batch really goes through the real writer, then the invocation
    raises, which the local dispatcher (like Lambda) turns into "every message failed".
    """
    real = importlib.import_module("functions.writer.handler").handler

    def writer(event: dict[str, Any], context: Any) -> Any:
        records = event["Records"]
        if not crashes and len(records) > 1:
            half = len(records) // 2
            crashes.append(half)
            real({**event, "Records": records[:half]}, context)
            raise RuntimeError(f"Runtime exited after {half} of {len(records)} messages (simulated timeout)")
        return real(event, context)

    return writer


def test_a_writer_crash_mid_batch_loses_and_duplicates_nothing(
    stack: LocalStack, make_stack: StackFactory
) -> None:
    # Last in the module: its own stack uses the same resource names in the same emulator, so the shared
    # stack must stop polling first (and its state is wiped by the new stack's reset).
    stack.stop()
    # GIVEN a writer that dies once, after handling half of a batch (a stack that takes batches of ten: the
    # default takes one message at a time)
    crashes: list[int] = []
    stack = make_stack(handlers={"writer": _crash_mid_batch(crashes)}, config={"writerBatchSize": "10"})
    records = _records("crash", 10)
    before = stack.counters()
    # WHEN ten messages land on WriterQueue together (so the first receive is a batch of several)
    stack.client("sqs").send_message_batch(
        QueueUrl=stack.outputs["writer_queue_url"],
        Entries=[{"Id": str(i), "MessageBody": json.dumps(record)} for i, record in enumerate(records)],
    )
    stack.wait_until_idle(timeout=IDLE_TIMEOUT)
    assert crashes, "the writer never saw a batch of several messages"
    # THEN the crashed batch went through the redrive, and replaying it writes the rest exactly once
    report = replay(resolve_target("local", workdir=stack.workdir))
    stack.wait_until_idle(timeout=IDLE_TIMEOUT)
    assert report.ok
    stored = accounts(stack)
    assert sorted(stored) == sorted(r["account_id"] for r in records)
    after = stack.counters()
    # Each account written once; the messages handled before the crash and replayed after it are stale.
    assert _delta(before, after, "dynamodb.written") == len(records)
    assert _delta(before, after, "dynamodb.stale") == crashes[0]
    logged = log_items(stack)
    assert {item["error_type"] for item in logged} == {ErrorType.RETRIES_EXHAUSTED}
    assert all(item["status"] == "REPLAYED" for item in logged)
