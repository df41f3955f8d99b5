"""ErrorHandler Lambda: each DLQ message → one LogTable item (functions.error_handler.store).

Entry point ``functions.error_handler.handler.handler``. Settings: ``LOG_TABLE``, ``LOG_RETENTION_DAYS``
(default 90). A message that cannot be stored (an AWS error) is reported in ``batchItemFailures`` and stays in
the DLQ, never dropped.

Every message is stored, whatever it holds: the DLQ is where the unexpected ends up, so the body and the
attributes are read defensively (a body that is not JSON, JSON of any shape, a huge one, attributes that are
binary or malformed), and a failure to read them is itself logged and classified (:func:`fallback_item`)
rather than raised — a raise would leave the message in the DLQ to be retried forever, never stored.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.error_handler.store import DlqMessage, fallback_item, log_item, settings, store
from functions.messages.bodies import string_attributes
from functions.model import Service

logger = Logger(service=Service.ERROR_HANDLER)
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    config = settings()
    message = read_message(record)
    try:
        item = log_item(message, retention_days=config.retention_days)
    except Exception as error:  # a bug reading some body: still store it, and say why in the log
        logger.exception("message read with the fallback", extra={"error_id": message.message_id})
        item = fallback_item(message, error, retention_days=config.retention_days)
    try:
        stored = store(
            item,
            config.log_table,
            fallback=lambda error: fallback_item(
                message, error, retention_days=config.retention_days, keep=item
            ),
        )
    except Exception:
        # Reported in batchItemFailures by the processor; the message stays in the DLQ. Say so in the log.
        logger.exception("error not logged: left in the DLQ", extra={"error_id": message.message_id})
        raise
    logger.info(
        "error logged" if stored else "error already logged",
        extra={
            "error_id": message.message_id,
            "error_type": item["error_type"]["S"],
            "source": item["source"]["S"],
            **_oddities(record),
        },
    )


def read_message(record: SQSRecord) -> DlqMessage:
    """The parts of the event record the item is made of, each read without trusting its shape."""
    raw = record.raw_event
    system = raw.get("attributes")
    system = system if isinstance(system, dict) else {}
    try:
        receive_count = max(1, int(system.get("ApproximateReceiveCount") or 1))
    except (TypeError, ValueError):
        receive_count = 1
    body = raw.get("body")
    return DlqMessage(
        str(raw.get("messageId") or ""),
        body if isinstance(body, str) else "",
        string_attributes(raw.get("messageAttributes")),
        receive_count,
        system,
    )


def _oddities(record: SQSRecord) -> dict[str, Any]:
    """What the item could not keep, for the log: attributes that are not strings (binary ones)."""
    attributes = record.raw_event.get("messageAttributes")
    if not isinstance(attributes, dict):
        return {}
    skipped = sorted(
        str(name)
        for name, value in attributes.items()
        if not (isinstance(value, dict) and isinstance(value.get("stringValue"), str))
    )
    return {"attributes_not_kept": skipped} if skipped else {}


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
