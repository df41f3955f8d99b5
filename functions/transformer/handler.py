"""Transformer Lambda: S3 ObjectCreated → records normalised and packed into WriterQueue messages.

Entry point ``functions.transformer.handler.handler``. Settings: ``WRITER_QUEUE_URL``,
``MAX_FUTURE_SKEW_HOURS`` (the contract's future-skew bound, default 24), ``ENTRY_TIME_KEY_ID`` (the KMS key
that signs a replay's entry time, :mod:`functions.entry_time`). The work on one object is
:func:`functions.transformer.core.transform_stream`; this module only wires S3 and SQS to it:

* it reads the exact version the event names (versioned bucket), so an overwrite cannot swap the content;
* an object or version that is gone, or that the function may not read, is not skipped with a log line: one
  ``ObjectVanished`` message goes to the writer (and so to LogTable) naming key, version and event time;
* ``entered_at`` is the event's ``eventTime``, or the object's ``pipeline-entered-at`` metadata when the
  pipeline's own replay wrote it (its MAC verifies) and it is not later than the event; any other metadata
  value is ignored and logged (:func:`functions.entry_time.trusted_entry_time`).

A failure to send raises, so Lambda's asynchronous retry runs the event again (the writer's conditional
writes make the duplicates harmless).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.logging import Logger

from functions import aws
from functions.entry_time import KEY_VARIABLE, trusted_entry_time
from functions.errors import MissingSetting
from functions.messages.codec import encode_json
from functions.messages.envelopes import ingestion_attributes
from functions.messages.failures import failure_message
from functions.messages.sending import BatchSender, sqs_sink
from functions.model import ErrorType, Service
from functions.timestamps import format_timestamp
from functions.transformer.core import TransformReport, transform_stream
from functions.transformer.events import ObjectRef, Skipped, object_refs

logger = Logger(service=Service.TRANSFORMER)

VANISHED_CODES = frozenset({"NoSuchKey", "NoSuchVersion", "404", "AccessDenied", "403"})
"""GetObject errors that mean the event's object cannot be read now or later: recorded, not retried."""


def parse_time(text: str | None) -> datetime | None:
    """An ISO 8601 time (``2026-01-15T12:00:00.000Z``) as an aware datetime; None when absent or
    unreadable."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
        if moment.tzinfo is not None:
            moment.astimezone(UTC)  # an offset that moves the time past year 9999 cannot be compared
    except (ValueError, OverflowError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def transform_object(ref: ObjectRef, queue_url: str) -> TransformReport:
    """Stream one S3 object through the transformer into ``queue_url``.

    Any S3 error other than a vanished object raises, so Lambda retries the event.
    """
    from botocore.exceptions import ClientError

    sink = sqs_sink(queue_url, aws.client("sqs"))
    arguments = {"Bucket": ref.bucket, "Key": ref.key}
    if ref.version_id:
        arguments["VersionId"] = ref.version_id
    try:
        response = aws.client("s3").get_object(**arguments)
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code"))
        if code not in VANISHED_CODES:
            raise
        return vanished(ref, code, sink)
    body = response["Body"]
    entered = entry_time(ref, response.get("Metadata") or {})
    try:
        return transform_stream(body, source=ref.url, sink=sink, now=entered, ingest_id=ref.ingest_id)
    finally:
        body.close()


def entry_time(ref: ObjectRef, metadata: dict[str, str]) -> datetime:
    """When the object's records entered the pipeline: its event time, or a replay's signed original."""
    event_time = parse_time(ref.event_time) or datetime.now(UTC)
    found = trusted_entry_time(
        metadata,
        bucket=ref.bucket,
        key=ref.key,
        event_time=event_time,
        kms=lambda: aws.client("kms"),
        key_id=os.environ.get(KEY_VARIABLE) or None,
    )
    if found.ignored:
        logger.warning("entry time metadata ignored", extra={"source": ref.url, "reason": found.ignored})
    return found.moment


def vanished(ref: ObjectRef, code: str, sink: Any) -> TransformReport:
    """One ``ObjectVanished`` message for the writer to forward to LogTable: nothing of the object was
    read."""
    version = ref.version_id or "(unversioned)"
    reason = (
        f"{ref.url}: object gone before it was read ({code}); version {version}, "
        f"event time {ref.event_time or '(unknown)'}: none of its records were read"
    )
    logger.warning("object vanished", extra={"source": ref.url, "code": code, "version_id": ref.version_id})
    now = datetime.now(UTC)
    entered_at = format_timestamp(parse_time(ref.event_time) or now)
    body = encode_json(
        {
            "file": ref.url,
            "error": reason,
            "key": ref.key,
            "version_id": ref.version_id,
            "event_time": ref.event_time,
            "code": code,
        }
    )
    sender = BatchSender(sink)
    sender.add(
        failure_message(
            body,
            error_type=ErrorType.OBJECT_VANISHED,
            error_message=reason,
            source=ref.url,
            failed_at=format_timestamp(now),
            extra=ingestion_attributes(entered_at, ref.ingest_id, 0),
        )
    )
    sender.flush()
    return TransformReport(source=ref.url, shape="vanished", messages=sender.sent, send_calls=sender.calls)


def process_event(event: dict[str, Any]) -> list[TransformReport]:
    """Transform every object the event names; skipped records are logged, not errors."""
    queue_url = os.environ.get("WRITER_QUEUE_URL") or ""
    reports = []
    for ref in object_refs(event):
        if isinstance(ref, Skipped):
            logger.info("skipped", extra={"reason": ref.reason, "key": ref.key})
            continue
        if not queue_url:
            raise MissingSetting("WRITER_QUEUE_URL", "the WriterQueue URL the transformer sends records to")
        report = transform_object(ref, queue_url)
        logger.info("transformed", extra=report.to_dict())
        reports.append(report)
    return reports


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    reports = process_event(event)
    return {"objects": [report.to_dict() for report in reports]}
