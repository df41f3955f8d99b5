"""Writer Lambda: WriterQueue batches → AccountTable, invalid records → DLQ, partial batch failures.

Entry point ``functions.writer.handler.handler``. Settings: ``ACCOUNT_TABLE``, ``DLQ_URL``. Powertools'
BatchProcessor turns a raised exception into that message's ``batchItemFailures`` entry; everything else
about a message is :func:`functions.writer.process.handle_message`.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics, MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.errors import TransientWriteError
from functions.messages import string_attributes
from functions.model import METRICS_NAMESPACE, Outcome, Service, outcome_metric
from functions.writer.process import WriterMessage, handle_message, settings

logger = Logger(service=Service.WRITER)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=Service.WRITER)
# Report every failed message, even when all of them failed (the default would raise instead).
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
_tally: Counter[Outcome] = Counter()
"""Outcomes of the current invocation, emitted as one metric value each (handlers run one at a time)."""


def record_handler(record: SQSRecord) -> None:
    message = WriterMessage(
        record.message_id, record.body or "", string_attributes(record.raw_event.get("messageAttributes"))
    )
    result = handle_message(message, settings())
    _tally.update(result.counts)
    logger.info("message processed", extra=result.log_fields())
    if result.failure:
        raise TransientWriteError(f"message {record.message_id} from {result.source}: {result.failure}")


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _tally.clear()
    try:
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    finally:
        for outcome in Outcome:
            metrics.add_metric(name=outcome_metric(outcome), unit=MetricUnit.Count, value=_tally[outcome])
