"""Writer Lambda: WriterQueue batches → AccountTable, invalid records → DLQ, partial batch failures.

Entry point ``functions.writer.handler.handler``. Settings: ``ACCOUNT_TABLE``, ``DLQ_URL``. Powertools'
AsyncBatchProcessor turns a raised exception into that message's ``batchItemFailures`` entry; everything
else about a message is :func:`functions.writer.process.handle_message`.

Why the messages of a batch run concurrently: a message whose writes are throttled waits in the SDK's retry
backoff (seconds). Processed one after another, a batch with several such messages costs the *sum* of their
backoffs, and one execution environment (Lambda runs a sandbox one invocation at a time) falls to a few
records per second. Concurrently, a batch costs about its slowest message.

Bound: at most ``MESSAGE_WORKERS`` messages at once, each on a thread of this module's own pool (never on
the write pool of :mod:`functions.writer.store`, so a message waiting for its writes can never starve the
pool that would run them). Every PutItem of every message runs on that shared write pool, so at most
``store.MAX_WORKERS`` (= ``functions.aws.MAX_POOL_CONNECTIONS``) PutItems are in flight per environment,
however many messages are running.

The tally of outcomes is only touched on the event loop's thread, after the awaited message is done.

Deadline (functions.writer.deadline): each message is awaited no longer than the invocation's remaining
time minus a margin; one still running then is reported in ``batchItemFailures`` and the handler returns.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics, MetricUnit
from aws_lambda_powertools.utilities.batch import (
    AsyncBatchProcessor,
    EventType,
    async_process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.errors import TransientWriteError
from functions.messages.bodies import string_attributes
from functions.model import (
    MESSAGES_FAILED_METRIC,
    METRICS_NAMESPACE,
    VERSION_DIMENSION,
    Outcome,
    Service,
    outcome_metric,
)
from functions.writer.deadline import UNBOUNDED, Deadline
from functions.writer.process import WriterMessage, handle_message, settings

MESSAGE_WORKERS = 10
"""Messages of one batch processed at once: the largest batch the WriterQueue event source takes without a
batching window (a ``writerBatchSize`` of up to 10 runs entirely in parallel)."""

logger = Logger(service=Service.WRITER)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=Service.WRITER)
# Report every failed message, even when all of them failed (the default would raise instead).
processor = AsyncBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
_tally: Counter[Outcome] = Counter()
"""Outcomes of the current invocation, emitted as one metric value each (handlers run one at a time)."""
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()
_deadline: Deadline = UNBOUNDED
"""The current invocation's deadline (handlers run one at a time)."""


def _message_pool() -> ThreadPoolExecutor:
    """Created on first use and kept across invocations (Lambda freezes and thaws the module)."""
    global _executor
    if _executor is None:
        with _executor_lock:
            if _executor is None:
                _executor = ThreadPoolExecutor(MESSAGE_WORKERS, thread_name_prefix="writer-message")
    return _executor


async def record_handler(record: SQSRecord) -> None:
    raw = record.raw_event
    system = raw.get("attributes")
    message = WriterMessage(
        record.message_id,
        record.body or "",
        string_attributes(raw.get("messageAttributes")),
        system if isinstance(system, dict) else {},
    )
    config = settings()
    deadline = _deadline
    loop = asyncio.get_running_loop()
    work = loop.run_in_executor(_message_pool(), partial(handle_message, message, config, deadline=deadline))
    try:
        # shield: on timeout the thread carries on (a thread cannot be stopped); its result is ignored
        result = await asyncio.wait_for(asyncio.shield(work), timeout=deadline.send_seconds())
    except TimeoutError:
        logger.warning(
            "message unfinished at the deadline: left to the queue", extra={"message_id": record.message_id}
        )
        raise TransientWriteError(
            f"message {record.message_id}: unfinished when the invocation's time ran out"
        ) from None
    _tally.update(result.counts)  # on the loop's thread: no lock needed
    logger.info("message processed", extra=result.log_fields())
    if result.failure:
        raise TransientWriteError(f"message {record.message_id} from {result.source}: {result.failure}")


def running_version(context: Any) -> str:
    """The Lambda version this invocation runs: the alias ``live`` resolves to one per invocation, and
    during a canary two versions share the traffic. ``$LATEST`` when invoked unqualified."""
    version = getattr(context, "function_version", None) or os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
    return str(version or "$LATEST")


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    global _deadline
    _tally.clear()
    _deadline = Deadline.of(context)
    failed_messages = 0
    try:
        response = async_process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
        failed_messages = len(response.get("batchItemFailures") or [])
        return response
    finally:
        # A second dimension set in the same EMF document: per version, beside the function-wide counts.
        per_version = {"service": Service.WRITER.value, VERSION_DIMENSION: running_version(context)}
        metrics.add_dimensions(**per_version)
        for outcome in Outcome:
            metrics.add_metric(name=outcome_metric(outcome), unit=MetricUnit.Count, value=_tally[outcome])
        metrics.add_metric(name=MESSAGES_FAILED_METRIC, unit=MetricUnit.Count, value=failed_messages)
