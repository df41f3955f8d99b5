"""Nothing lost, nothing duplicated: N records of every kind through transformer → writer → DLQ → errors.

The pollers are played by the test the way Lambda's event source mappings behave: WriterQueue in batches of
10, a failed message left on the queue until the redrive (maxReceiveCount 1) moves it to the DLQ, the DLQ in
batches to the error handler. Every component is the real one on moto.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from functions.error_handler import handler as error_handler
from functions.messages.bodies import parse_body
from functions.model import ErrorType
from functions.transformer import handler as transformer
from functions.writer import handler as writer
from tests.support.functions import FakeContext, World, drain, record, s3_event


def test_every_record_is_written_stale_or_logged_exactly_once(
    world: World,
    context: FakeContext,
    fail_put_items: Callable[..., None],
) -> None:
    # GIVEN files and API bodies with every kind of record
    fresh = [record(f"acct-{i}", balance=f"{i}.01") for i in range(40)]
    duplicates = fresh[:10]  # stale
    older = [record(f"acct-{i}", updated_at="2025-01-01T00:00:00Z") for i in range(10, 15)]  # stale
    invalid = [record(f"bad-{i}", currency="??") for i in range(6)] + [{"accountId": "x"}, 42]
    throttled = [record("throttled-1"), record("throttled-2")]
    world.put_object("batch/fresh.json", json.dumps(fresh))
    world.put_object("batch/again.json", "\n".join(json.dumps(r) for r in duplicates + older))
    world.put_object("batch/mixed.json", json.dumps({"source": "export", "records": invalid}))
    world.put_object("batch/lines.json", json.dumps(record("line-ok")) + "\n{broken\n")
    world.put_object("batch/throttled.json", json.dumps(throttled))
    world.put_object("batch/empty.json", b"")
    api_bodies = [json.dumps(record("api-1")), "{not json"]
    n = len(fresh) + len(duplicates) + len(older) + len(invalid) + len(throttled) + 2 + 1 + len(api_bodies)
    fail_put_items({"throttled-1", "throttled-2"})

    # WHEN everything flows: S3 event → transformer → WriterQueue → writer → DLQ → error handler
    for name in ("fresh", "again", "mixed", "lines", "throttled", "empty"):  # one event each, in order
        transformer.handler(s3_event(world.bucket, f"batch%2F{name}.json"), context)
    for body in api_bodies:
        world.sqs.send_message(QueueUrl=world.writer_queue_url, MessageBody=body)
    drain(world, world.writer_queue_url, writer.handler, context)
    drain(world, world.writer_queue_url, writer.handler, context)  # the receive that applies the redrive
    drain(world, world.dlq_url, error_handler.handler, context)

    # THEN written + stale + records behind LogTable items = N
    accounts = world.accounts()
    written = len(accounts)
    stale = len(duplicates) + len(older)
    logged = world.log_items()
    by_type: dict[str, int] = {}
    records_logged = 0
    for item in logged:
        kind = item["error_type"]["S"]
        by_type[kind] = by_type.get(kind, 0) + 1
        records_logged += (
            len(parse_body(item["body"]["S"]).records) if kind == ErrorType.RETRIES_EXHAUSTED else 1
        )
    assert written + stale + records_logged == n
    assert written == len(fresh) + 1 + 1  # fresh, line-ok, api-1
    assert by_type == {
        ErrorType.INVALID_RECORD: len(invalid),
        ErrorType.UNREADABLE_FILE: 2,  # the broken line, the empty file
        ErrorType.MALFORMED_MESSAGE: 1,
        ErrorType.RETRIES_EXHAUSTED: 1,  # the throttled file's envelope, redriven whole
    }
    # and no record was overwritten by an older one
    assert all(
        accounts[f"acct-{i}"]["updated_at"]["S"] == "2026-01-01T00:00:00.000000Z" for i in range(10, 15)
    )
    # and the queues are empty: nothing left behind
    assert world.receive_all(world.writer_queue_url) == [] and world.receive_all(world.dlq_url) == []
