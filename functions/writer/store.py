"""AccountTable writes: one conditional PutItem per record, several records at once, inside a deadline.

The condition (docs/design.md, "Ingestion time and ingestion order")::

    attribute_not_exists(account_id) OR updated_at < :updated
    OR (updated_at = :updated AND (attribute_not_exists(ingest_order) OR ingest_order < :order))

SQS delivers at least once and out of order, so a duplicate or an older update must never overwrite a newer
one: the newest ``updated_at`` wins, then the record that entered the pipeline last. Timestamps and order keys
are fixed-width strings that sort like what they name. A failed condition is the *stale* outcome, not an
error: a redelivered record has an equal order key, so it is stale too.

Writes run on one shared, bounded thread pool (``MAX_WORKERS``): a transformer envelope carries as many
records as fit a queue message and each PutItem is a network round trip, and the handler runs several
messages at once (functions.writer.handler.MESSAGE_WORKERS), all submitting here. The bound is the
client's connection pool (functions.aws.MAX_POOL_CONNECTIONS): at most that many PutItems in flight per
execution environment, so no request waits for, or discards, a pooled connection. A throttled write sleeps
in the SDK's retry backoff on its pool thread; the other threads keep writing. Message work itself never
runs on this pool, so a message waiting for its writes cannot starve the threads that would run them.

**Deadline.** A write that has not started when :meth:`Deadline.may_start` turns false is not attempted
(``NOT_ATTEMPTED``); a started one still running when the caller stops waiting is ``UNFINISHED`` (its outcome
is unknown: it may land later, which a replay of the message then finds stale).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, NamedTuple

from functions import aws
from functions.model import Outcome
from functions.writer import transport
from functions.writer.deadline import Deadline

MAX_WORKERS = aws.MAX_POOL_CONNECTIONS
"""Concurrent PutItems per writer process, every message's writes included."""
CONDITION = (
    "attribute_not_exists(account_id) OR updated_at < :updated OR (updated_at = :updated AND "
    "(attribute_not_exists(ingest_order) OR ingest_order < :order))"
)
CONDITION_FAILED = "ConditionalCheckFailedException"
NOT_ATTEMPTED = "not attempted: the invocation's deadline was near"
UNFINISHED = "unfinished: still in flight when the invocation's deadline came"

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()
_completed = 0
"""Writes the store answered with a verdict (written or stale), by every thread of this process."""
_completed_lock = threading.Lock()
_ACCOUNT_LOCKS = tuple(threading.Lock() for _ in range(1024))


def completed_writes() -> int:
    """How many writes the store has completed in this process so far: a message whose own writes the
    deadline cut compares it before and after, to tell a slow store (others' writes completed) from one that
    accepts nothing (functions.writer.continuation)."""
    return _completed


def _count_completed() -> None:
    global _completed
    with _completed_lock:
        _completed += 1


class WriteResult(NamedTuple):
    outcome: Outcome
    """WRITTEN, STALE or FAILED (a transient failure: throttling, 5xx after the SDK's retries, deadline)."""
    reason: str | None = None

    @property
    def cut_by_deadline(self) -> bool:
        return self.reason in (NOT_ATTEMPTED, UNFINISHED)


class Row(NamedTuple):
    """A normalised record with what the writer adds: its order key and provenance."""

    record: Mapping[str, Any]
    order: str


def to_item(
    record: Mapping[str, Any], *, source: str, ingested_at: str, order: str
) -> dict[str, dict[str, str]]:
    """The DynamoDB item of a normalised record: strings, and the balance as an exact number (``N``)."""
    item = {name: {"S": value} for name, value in record.items() if name != "balance"}
    item["balance"] = {"N": str(record["balance"])}
    item["source"] = {"S": source}
    item["ingested_at"] = {"S": ingested_at}
    item["ingest_order"] = {"S": order}
    return item


def request_body(table: str, row: Row, *, source: str, ingested_at: str) -> bytes:
    """The PutItem request of one row, serialised once (functions.writer.transport sends it as is)."""
    return json.dumps(
        {
            "TableName": table,
            "Item": to_item(row.record, source=source, ingested_at=ingested_at, order=row.order),
            "ConditionExpression": CONDITION,
            "ExpressionAttributeValues": {
                ":updated": {"S": row.record["updated_at"]},
                ":order": {"S": row.order},
            },
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


def put_record(table: str, row: Row, *, source: str, ingested_at: str, deadline: Deadline) -> WriteResult:
    """One conditional PutItem; never raises for AWS errors, it classifies them."""
    if not deadline.may_start():
        return WriteResult(Outcome.FAILED, NOT_ATTEMPTED)
    body = request_body(table, row, source=source, ingested_at=ingested_at)
    with _account_lock(str(row.record["account_id"])):
        answer = transport.sender().put(body)
    if answer.status == 200:
        _count_completed()
        return WriteResult(Outcome.WRITTEN)
    if answer.code == CONDITION_FAILED:
        _count_completed()
        return WriteResult(Outcome.STALE)
    return WriteResult(Outcome.FAILED, f"{answer.code}: {answer.message}")


def _account_lock(account_id: str) -> threading.Lock:
    """The lock one account's writes take in this process, so two of them are never in flight at once.

    DynamoDB evaluates each conditional write atomically, so in AWS this costs nothing but order; the
    emulator does not, and two racing writes of one account (two lines of a file, or two messages handled
    at once) could both pass their condition there and leave the older value. Striped: a bounded set of
    locks, shared by the accounts that hash alike."""
    return _ACCOUNT_LOCKS[hash(account_id) % len(_ACCOUNT_LOCKS)]


def _pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        with _executor_lock:
            if _executor is None:
                _executor = ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="put-item")
    return _executor


def put_records(
    table: str, rows: Sequence[Row], *, source: str, ingested_at: str, deadline: Deadline
) -> list[WriteResult]:
    """Write ``rows`` on the shared pool (concurrently); results in the same order. Waits no longer than
    the deadline allows (module docstring). Never call this from a thread of that pool."""
    if not rows:
        return []
    transport.sender()  # create the client and its sender once, before the threads race for them
    pool = _pool()
    futures: list[Future[WriteResult]] = [
        pool.submit(put_record, table, row, source=source, ingested_at=ingested_at, deadline=deadline)
        for row in rows
    ]
    wait(futures, timeout=deadline.wait_seconds())
    return [_result(future) for future in futures]


def _result(future: Future[WriteResult]) -> WriteResult:
    if future.cancel():  # still queued: it will never start
        return WriteResult(Outcome.FAILED, NOT_ATTEMPTED)
    if not future.done():
        return WriteResult(Outcome.FAILED, UNFINISHED)
    error = future.exception()
    if error is not None:  # not an AWS error (those are classified): a bug, reported, never swallowed
        return WriteResult(Outcome.FAILED, f"{type(error).__name__}: {error}")
    return future.result()
