"""ErrorHandler Lambda: each DLQ message → one LogTable item (functions.error_handler.store).

Entry point ``functions.error_handler.handler.handler``. Settings: ``LOG_TABLE``, ``LOG_RETENTION_DAYS``
(default 90). A message that cannot be stored is reported in ``batchItemFailures`` and stays in the DLQ,
never dropped.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.error_handler.store import DlqMessage, log_item, settings, store
from functions.messages import string_attributes
from functions.model import Service

logger = Logger(service=Service.ERROR_HANDLER)
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    config = settings()
    raw = record.raw_event
    receive_count = int((raw.get("attributes") or {}).get("ApproximateReceiveCount") or 1)
    message = DlqMessage(
        record.message_id, record.body or "", string_attributes(raw.get("messageAttributes")), receive_count
    )
    item = log_item(message, retention_days=config.retention_days)
    try:
        stored = store(item, config.log_table)
    except Exception:
        # Reported in batchItemFailures by the processor; the message stays in the DLQ. Say so in the log.
        logger.exception("error not logged: left in the DLQ", extra={"error_id": record.message_id})
        raise
    logger.info(
        "error logged" if stored else "error already logged",
        extra={
            "error_id": record.message_id,
            "error_type": item["error_type"]["S"],
            "source": item["source"]["S"],
        },
    )


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
