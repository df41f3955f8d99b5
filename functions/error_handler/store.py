"""LogTable items from DLQ messages (docs/design.md, "Tables"): one item per message, idempotent on its id.

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
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from urllib.parse import unquote_plus

from functions import aws
from functions.errors import InvalidRecord, MalformedMessage, MissingSetting
from functions.ingestion import Ingestion, ingestion
from functions.messages.bodies import parse_body, resolve_source
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
    system_attributes: Mapping[str, Any] | None = None
    """SQS's own attributes (``SentTimestamp``...): a redriven message keeps its original ones."""


REDRIVEN = (
    "no error_type attribute: moved to the DLQ by WriterQueue's redrive after the writer reported it failed "
    "(transient write failures outlasted the retries, or the invocation's time ran out; "
    "DLQ receive count {count})"
)
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", re.ASCII)
MAX_ERROR_TYPE_CHARS = 64
"""An ``error_type`` attribute the pipeline did not write may be anything: kept, cut to this."""


class Verdict(NamedTuple):
    error_type: str
    error_message: str
    source: str
    ingestion: Ingestion


def log_item(message: DlqMessage, *, retention_days: int, now: datetime | None = None) -> dict[str, Any]:
    """The LogTable item of one DLQ message, in DynamoDB's typed form. Never raises on what the message
    holds: whatever its body and attributes, it gets the best classification :func:`verdict` can make."""
    now = now or datetime.now(UTC)
    attributes = message.attributes
    found = verdict(message, now=now)
    failed_at = attributes.get(MessageAttribute.FAILED_AT) or ""
    if not _TIMESTAMP.fullmatch(failed_at):  # a key of the by_day index: never empty, always sortable
        failed_at = format_timestamp(now)
    item: dict[str, Any] = {
        "error_id": {"S": message.message_id},
        "failed_at": {"S": failed_at},
        "day": {"S": failed_at[:10]},
        "error_type": {"S": found.error_type},
        "error_message": {"S": found.error_message or found.error_type},
        "source": {"S": found.source or API_SOURCE},
        "body": {"S": message.body},
        "receive_count": {"N": str(message.receive_count)},
        "status": {"S": LogStatus.NEW.value},
        "ttl": {"N": str(int((now + timedelta(days=retention_days)).timestamp()))},
        # what a replay re-sends with the body so the records keep their ingestion time and order
        "entered_at": {"S": found.ingestion.entered_at},
        "ingest_id": {"S": found.ingestion.ingest_id},
        "ingest_position": {"S": str(found.ingestion.position)},
    }
    for name in (MessageAttribute.ORIGIN_MESSAGE_ID, MessageAttribute.REPLAY_OF):
        if attributes.get(name):
            item[name.value] = {"S": attributes[name]}
    account = record_account_id(message.body)
    if account is not None:
        item[ACCOUNT_ID] = {"S": account}
    return item


ACCOUNT_ID = "account_id"
"""The LogTable attribute (hash key of the ``by_account`` index): the account of a one-record failure."""
ACCOUNT_ID_CAMEL = "accountId"
MAX_INDEXED_ACCOUNT_ID_BYTES = 1024
"""DynamoDB refuses an index key over 2,048 bytes; an id past this (the contract allows 64 characters) is
not an account anyone can look up, and is left out rather than risk the item."""


def record_account_id(body: str) -> str | None:
    """The account id of a body that holds exactly one record, as AccountTable would key it (trimmed);
    None for a batch, a body that is not a message, or a record without a usable id.

    Read without the contract (a cold start pays nothing for it): the id is indexed even when the contract
    would refuse it, so that ``pipeline-ctl account show`` finds why an account never got its update."""
    try:
        records = parse_body(body).records
    except MalformedMessage:
        return None
    if len(records) != 1 or not isinstance(records[0], dict):
        return None
    record = records[0]
    value = record.get(ACCOUNT_ID)
    if not isinstance(value, str):
        value = record.get(ACCOUNT_ID_CAMEL)
    if not isinstance(value, str):
        return None
    value = value.strip()
    try:
        size = len(value.encode("utf-8"))  # a lone surrogate (a JSON escape) cannot be stored: left out
    except UnicodeEncodeError:
        return None
    return value if 0 < size <= MAX_INDEXED_ACCOUNT_ID_BYTES else None


def verdict(message: DlqMessage, *, now: datetime) -> Verdict:
    """What failed, why, where it came from, and its ingestion attributes.

    * ``error_type`` attribute: the pipeline's own verdict (the writer's, the transformer's), as given;
    * Lambda's on-failure record about an S3 event: ``RetriesExhausted`` against the object;
    * otherwise a WriterQueue message the redrive moved: the body is read again, because the writer lets
      the redrive carry a message whose verdict did not fit beside its body (a body at the size limit) —
      a body that is not a message is ``MalformedMessage``, one whose records are all invalid is
      ``InvalidRecord``, anything else ``RetriesExhausted``.
    """
    attributes = message.attributes
    ingest = ingestion(
        attributes, message_id=message.message_id, system_attributes=message.system_attributes, now=now
    )
    given = attributes.get(MessageAttribute.ERROR_TYPE)
    if given:
        reason = attributes.get(MessageAttribute.ERROR_MESSAGE) or given
        return Verdict(given[:MAX_ERROR_TYPE_CHARS], reason, resolve_source(attributes), ingest)
    failed_invoke = lambda_failure(message.body)
    if failed_invoke is not None:
        entered = Ingestion(
            failed_invoke.entered_at or ingest.entered_at, failed_invoke.ingest_id or failed_invoke.source, 0
        )
        return Verdict(ErrorType.RETRIES_EXHAUSTED.value, failed_invoke.reason, failed_invoke.source, entered)
    redriven = REDRIVEN.format(count=message.receive_count)
    error_type, reason = _reread(message.body, ingest, redriven)
    return Verdict(error_type, reason, resolve_source(attributes), ingest)


def _reread(body: str, ingest: Ingestion, redriven: str) -> tuple[str, str]:
    """Classify a redriven body by reading it as the writer would (each reason names the field and why).

    The contract is imported here, not at module level: only a body that reached the DLQ through the
    queue's redrive, without a verdict, needs it; the DLQ messages the pipeline sends carry their
    ``error_type``, so a cold start handling them does not pay for importing the contract's
    regexes (docs/benchmarks.md, Cold start, has the figure)."""
    from functions.contract import normalise

    try:
        records = parse_body(body).records
    except MalformedMessage as error:
        return ErrorType.MALFORMED_MESSAGE.value, f"{error} (read again by the error handler: {redriven})"
    try:
        entered = ingest.entered_moment()
    except ValueError:
        entered = None
    reasons = []
    for index, raw in enumerate(records):
        try:
            normalise(raw, now=entered)
        except InvalidRecord as error:
            reasons.append(str(error) if len(records) == 1 else f"record {index}: {error}")
        except Exception as error:  # the contract failing on a record is still no reason to lose the message
            reasons.append(f"record {index}: {type(error).__name__}: {error}")
    if records and len(reasons) == len(records):
        return ErrorType.INVALID_RECORD.value, "; ".join(
            reasons
        ) + f" (read again by the error handler: {redriven})"
    if reasons:
        shown = "; ".join(reasons[:3])
        return (
            ErrorType.RETRIES_EXHAUSTED.value,
            f"{redriven}; {len(reasons)} of {len(records)} records are invalid: {shown}",
        )
    return ErrorType.RETRIES_EXHAUSTED.value, redriven


class LambdaFailure(NamedTuple):
    source: str
    reason: str
    entered_at: str | None = None
    """The S3 event's time: when the object entered the pipeline."""
    ingest_id: str | None = None
    """The object as the transformer names it in ``ingest_id`` (with its version when the event has one)."""


def lambda_failure(body: str) -> LambdaFailure | None:
    """An asynchronous invoke's on-failure record about an S3 event, read; None for any other body (and for
    one that only looks like it: whatever its keys and types, reading it never raises)."""
    if not body.startswith("{") or '"requestContext"' not in body:
        return None
    try:
        return _read_lambda_failure(json.loads(body))
    except Exception:
        return None


def _read_lambda_failure(record: Any) -> LambdaFailure:
    context, payload = record["requestContext"], record["requestPayload"]
    events = payload["Records"]
    objects = [
        f"s3://{entry['s3']['bucket']['name']}/{unquote_plus(entry['s3']['object']['key'])}"
        for entry in events
    ]
    if not objects or not all(isinstance(entry["s3"]["object"]["key"], str) for entry in events):
        raise TypeError("not an S3 event")
    function = str(context["functionArn"]).split(":")[6]
    response = record.get("responsePayload") if isinstance(record.get("responsePayload"), dict) else {}
    error = ": ".join(str(response[k]) for k in ("errorType", "errorMessage") if response.get(k))
    reason = (
        f"{function} gave up on {', '.join(objects)} after {context.get('approximateInvokeCount', '?')} "
        f"attempts ({context.get('condition', 'failed')}): {error or 'no error reported'}; upload the object "
        "again to retry"
    )
    entered_at = None
    event_time = events[0].get("eventTime")
    if isinstance(event_time, str):
        try:
            entered_at = format_timestamp(datetime.fromisoformat(event_time))
        except (ValueError, OverflowError):
            entered_at = None
    version = events[0]["s3"]["object"].get("versionId")
    ingest_id = f"{objects[0]}?versionId={version}" if isinstance(version, str) and version else objects[0]
    return LambdaFailure(objects[0], reason, entered_at, ingest_id)


def fallback_item(
    message: DlqMessage,
    error: BaseException,
    *,
    retention_days: int,
    keep: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A minimal item for a message the full item could not be made or stored for: its id, body and the
    classification already made (``keep``), the failure named in the reason. Built from defaults only."""
    now = now or datetime.now(UTC)
    failed_at = format_timestamp(now)
    kept = dict(keep or {})
    error_type = kept.get("error_type", {}).get("S") or ErrorType.RETRIES_EXHAUSTED.value
    earlier = kept.get("error_message", {}).get("S") or ""
    ingest = ingestion(
        {}, message_id=message.message_id, system_attributes=message.system_attributes, now=now
    )
    body = message.body
    if len(body.encode("utf-8", "surrogatepass")) > MAX_FALLBACK_BODY_BYTES:
        body = body.encode("utf-8", "surrogatepass")[:MAX_FALLBACK_BODY_BYTES].decode("utf-8", "ignore")
    return {
        "error_id": {"S": message.message_id},
        "failed_at": {"S": failed_at},
        "day": {"S": failed_at[:10]},
        "error_type": {"S": error_type},
        "error_message": {
            "S": f"stored by the error handler's fallback ({type(error).__name__}: {error})"
            + (f"; {earlier[:2000]}" if earlier else "")
        },
        "source": {"S": kept.get("source", {}).get("S") or API_SOURCE},
        "body": {"S": body},
        "receive_count": {"N": str(message.receive_count)},
        "status": {"S": LogStatus.NEW.value},
        "ttl": {"N": str(int((now + timedelta(days=retention_days)).timestamp()))},
        "entered_at": kept.get("entered_at") or {"S": ingest.entered_at},
        "ingest_id": kept.get("ingest_id") or {"S": ingest.ingest_id},
        "ingest_position": kept.get("ingest_position") or {"S": str(ingest.position)},
        **({ACCOUNT_ID: kept[ACCOUNT_ID]} if ACCOUNT_ID in kept else {}),
    }


MAX_FALLBACK_BODY_BYTES = 300_000
"""DynamoDB items hold 400 KB: a fallback item keeps at most this much of the body."""


def store(
    item: dict[str, Any],
    table: str,
    *,
    fallback: Callable[[BaseException], dict[str, Any]] | None = None,
) -> bool:
    """Put the item unless it exists; True if stored now, False if it was already there. DynamoDB refusing
    the item itself (``ValidationException``) stores ``fallback(error)`` instead; other AWS errors raise
    (the message is then reported failed and stays in the DLQ)."""
    from botocore.exceptions import ClientError

    try:
        aws.client("dynamodb").put_item(
            TableName=table, Item=item, ConditionExpression="attribute_not_exists(error_id)"
        )
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code == CONDITION_FAILED:
            return False
        if code == "ValidationException" and fallback is not None:
            return store(fallback(error), table)
        raise
    return True
