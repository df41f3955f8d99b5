"""AccountTable writes: one conditional PutItem per record, several records at once.

``attribute_not_exists(account_id) OR updated_at < :new``: SQS delivers at least once and out of order, so a
duplicate or an older update must never overwrite a newer one. The timestamps are the contract's fixed-width
UTC strings, which sort like the instants they name. A failed condition is the *stale* outcome, not an error.

Writes run on one shared, bounded thread pool (``MAX_WORKERS``): a transformer envelope carries up to
~1,300 records and each PutItem is a network round trip, and the handler runs several messages at once
(functions.writer.handler.MESSAGE_WORKERS), all submitting here. The bound is the client's connection pool
(functions.aws.MAX_POOL_CONNECTIONS): at most that many PutItems in flight per execution environment, so no
request waits for, or discards, a pooled connection. A throttled write sleeps in the SDK's retry backoff on
its pool thread; the other threads keep writing. Message work itself never runs on this pool, so a message
waiting for its writes cannot starve the threads that would run them.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

from functions import aws
from functions.model import Outcome

MAX_WORKERS = aws.MAX_POOL_CONNECTIONS
"""Concurrent PutItems per writer process, every message's writes included."""
CONDITION = "attribute_not_exists(account_id) OR updated_at < :new"
CONDITION_FAILED = "ConditionalCheckFailedException"

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


class WriteResult(NamedTuple):
    outcome: Outcome
    """WRITTEN, STALE or FAILED (a transient failure: throttling, 5xx after the SDK's retries...)."""
    reason: str | None = None


def to_item(record: Mapping[str, Any], *, source: str, ingested_at: str) -> dict[str, dict[str, str]]:
    """The DynamoDB item of a normalised record: strings, and the balance as an exact number (``N``)."""
    item = {name: {"S": value} for name, value in record.items() if name != "balance"}
    item["balance"] = {"N": str(record["balance"])}
    item["source"] = {"S": source}
    item["ingested_at"] = {"S": ingested_at}
    return item


def put_record(table: str, record: Mapping[str, Any], *, source: str, ingested_at: str) -> WriteResult:
    """One conditional PutItem; never raises for AWS errors, it classifies them."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        aws.client("dynamodb").put_item(
            TableName=table,
            Item=to_item(record, source=source, ingested_at=ingested_at),
            ConditionExpression=CONDITION,
            ExpressionAttributeValues={":new": {"S": record["updated_at"]}},
        )
    except ClientError as error:
        details = error.response.get("Error", {})
        code = details.get("Code", "ClientError")
        if code == CONDITION_FAILED:
            return WriteResult(Outcome.STALE)
        return WriteResult(Outcome.FAILED, f"{code}: {details.get('Message', error)}")
    except BotoCoreError as error:  # connection reset, timeout... after the SDK's own retries
        return WriteResult(Outcome.FAILED, f"{type(error).__name__}: {error}")
    return WriteResult(Outcome.WRITTEN)


def _pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        with _executor_lock:
            if _executor is None:
                _executor = ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="put-item")
    return _executor


def put_records(
    table: str, records: Sequence[Mapping[str, Any]], *, source: str, ingested_at: str
) -> list[WriteResult]:
    """Write ``records`` on the shared pool (concurrently); results in the same order. Never call this
    from a thread of that pool (it would wait on itself)."""
    if not records:
        return []
    aws.client("dynamodb")  # create the client once, before the threads race for it
    pool = _pool()
    futures = [
        pool.submit(put_record, table, record, source=source, ingested_at=ingested_at) for record in records
    ]
    return [future.result() for future in futures]
