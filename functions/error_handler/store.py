"""LogTable items from DLQ messages (DESIGN.md section 5): one item per message, idempotent on its id.

``error_id`` is the DLQ message id, written with ``attribute_not_exists(error_id)``: a redelivered message
finds its item already there, which is success, not a duplicate. A message without ``error_type`` reached
the DLQ through WriterQueue's redrive (the writer kept reporting it failed): ``RetriesExhausted``.

The DLQ is also the transformer's on-failure destination: an S3 event Lambda gave up on arrives as Lambda's
invocation record (``requestContext.condition``, ``requestPayload`` = the S3 event, ``responsePayload`` = the
last error). It is ``RetriesExhausted`` too, but its source is the object and its reason names the error, so
an operator knows which file to upload again (replaying the record to WriterQueue cannot re-run a file).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from urllib.parse import unquote_plus

from functions import aws
from functions.errors import MissingSetting
from functions.messages import resolve_source
from functions.model import API_SOURCE, DEFAULT_LOG_RETENTION_DAYS, ErrorType, LogStatus, MessageAttribute
from functions.timestamps import format_timestamp

CONDITION_FAILED = "ConditionalCheckFailedException"


class ErrorHandlerSettings(NamedTuple):
    log_table: str
    retention_days: int


def settings() -> ErrorHandlerSettings:
    table = os.environ.get("LOG_TABLE")
    if not table:
        raise MissingSetting("LOG_TABLE", "the LogTable name")
    raw_days = os.environ.get("LOG_RETENTION_DAYS") or str(DEFAULT_LOG_RETENTION_DAYS)
    try:
        days = int(raw_days)
    except ValueError:
        raise MissingSetting("LOG_RETENTION_DAYS", f"a whole number of days (got {raw_days!r})") from None
    if days <= 0:
        raise MissingSetting("LOG_RETENTION_DAYS", f"a positive number of days (got {days})")
    return ErrorHandlerSettings(table, days)


class DlqMessage(NamedTuple):
    message_id: str
    body: str
    attributes: Mapping[str, str]
    receive_count: int


def log_item(message: DlqMessage, *, retention_days: int, now: datetime | None = None) -> dict[str, Any]:
    """The LogTable item of one DLQ message, in DynamoDB's typed form."""
    now = now or datetime.now(UTC)
    attributes = message.attributes
    error_type = attributes.get(MessageAttribute.ERROR_TYPE) or ErrorType.RETRIES_EXHAUSTED.value
    failed_invoke = lambda_failure(message.body) if MessageAttribute.ERROR_TYPE not in attributes else None
    if MessageAttribute.ERROR_TYPE in attributes:
        error_message = attributes.get(MessageAttribute.ERROR_MESSAGE) or error_type
    elif failed_invoke is not None:
        error_message = failed_invoke.reason
    else:
        error_message = (
            "no error_type attribute: moved to the DLQ by WriterQueue's redrive after the writer reported "
            f"it failed (transient write failures outlasted the retries; DLQ receive count "
            f"{message.receive_count})"
        )
    failed_at = attributes.get(MessageAttribute.FAILED_AT) or format_timestamp(now)
    item: dict[str, Any] = {
        "error_id": {"S": message.message_id},
        "failed_at": {"S": failed_at},
        "day": {"S": failed_at[:10]},
        "error_type": {"S": error_type},
        "error_message": {"S": error_message},
        "source": {"S": failed_invoke.source if failed_invoke else resolve_source(attributes)},
        "body": {"S": message.body},
        "receive_count": {"N": str(message.receive_count)},
        "status": {"S": LogStatus.NEW.value},
        "ttl": {"N": str(int((now + timedelta(days=retention_days)).timestamp()))},
    }
    for name in (MessageAttribute.ORIGIN_MESSAGE_ID, MessageAttribute.REPLAY_OF):
        if attributes.get(name):
            item[name.value] = {"S": attributes[name]}
    return item


class LambdaFailure(NamedTuple):
    source: str
    reason: str


def lambda_failure(body: str) -> LambdaFailure | None:
    """An asynchronous invoke's on-failure record about an S3 event, read; None for any other body."""
    if not body.startswith("{") or '"requestContext"' not in body:
        return None
    try:
        record = json.loads(body)
        context, payload = record["requestContext"], record["requestPayload"]
        objects = [
            f"s3://{entry['s3']['bucket']['name']}/{unquote_plus(entry['s3']['object']['key'])}"
            for entry in payload["Records"]
        ]
        function = str(context["functionArn"]).split(":")[6]
    except (ValueError, KeyError, TypeError, IndexError):
        return None
    response = record.get("responsePayload") if isinstance(record.get("responsePayload"), dict) else {}
    error = ": ".join(str(response[k]) for k in ("errorType", "errorMessage") if response.get(k))
    reason = (
        f"{function} gave up on {', '.join(objects)} after {context.get('approximateInvokeCount', '?')} "
        f"attempts ({context.get('condition', 'failed')}): {error or 'no error reported'}; upload the object "
        "again to retry"
    )
    return LambdaFailure(objects[0] if objects else API_SOURCE, reason)


def store(item: dict[str, Any], table: str) -> bool:
    """Put the item unless it exists; True if stored now, False if it was already there. Other AWS errors
    raise (the message is then reported failed and stays in the DLQ)."""
    from botocore.exceptions import ClientError

    try:
        aws.client("dynamodb").put_item(
            TableName=table, Item=item, ConditionExpression="attribute_not_exists(error_id)"
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == CONDITION_FAILED:
            return False
        raise
    return True
