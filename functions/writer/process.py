"""The writer's work on one WriterQueue message, as a plain function (the handler adds Powertools around it).

Per record, one outcome (docs/design.md): **written**, **stale** (the conditional write found a newer update,
or the same record: its order key is equal), **invalid** (sent to the DLQ as its own message with the reason;
the source message is acknowledged), **failed** (transient). A message with a failed record is reported failed
as a whole — SQS retries or redrives the *message* — so its invalid records are not sent to the DLQ this time:
they are in the redriven body, and a replay of that body records them then. This keeps every record in
LogTable exactly once. Records already written are harmless on a re-run: the writes are conditional.

**Ingestion order** (functions.ingestion): record ``i`` of the body gets the order key of
``ingest_position + i``; a record without ``updated_at`` gets ``entered_at`` (the contract's ``now``), so a
replay, which keeps the attributes, writes exactly what the first attempt would have. The writer's own DLQ
messages carry the record's ``entered_at``, ``ingest_id`` and ``ingest_position`` onwards.

**Deadline** (functions.writer.deadline): a message whose writes the deadline cut goes to the DLQ whole as
``DeadlineExceeded``, with what was done in the reason, and is acknowledged.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from functions import aws
from functions.contract import format_timestamp, normalise
from functions.errors import FieldError, InvalidRecord, MalformedMessage, MissingSetting, SendFailed
from functions.ingestion import Ingestion, ingestion
from functions.messages.bodies import parse_body, resolve_source
from functions.messages.codec import encode_json
from functions.messages.failures import failure_message
from functions.messages.sending import BatchSender, sqs_sink
from functions.messages.sizing import OutgoingMessage
from functions.model import ErrorType, MessageAttribute, Outcome
from functions.writer.deadline import UNBOUNDED, Deadline
from functions.writer.store import Row, WriteResult, put_records


class WriterSettings(NamedTuple):
    account_table: str
    dlq_url: str


def settings() -> WriterSettings:
    """``ACCOUNT_TABLE`` and ``DLQ_URL`` from the environment (read per call: tests and the local stack
    change them)."""
    table = os.environ.get("ACCOUNT_TABLE")
    if not table:
        raise MissingSetting("ACCOUNT_TABLE", "the AccountTable name")
    dlq_url = os.environ.get("DLQ_URL")
    if not dlq_url:
        raise MissingSetting("DLQ_URL", "the DeadLetterQueue URL")
    return WriterSettings(table, dlq_url)


class WriterMessage(NamedTuple):
    message_id: str
    body: str
    attributes: dict[str, str]
    """String message attributes (see functions.messages.string_attributes)."""
    system_attributes: Mapping[str, Any] | None = None
    """SQS's own attributes of the message (``SentTimestamp``...), as the Lambda event gives them."""


def _carried(message: WriterMessage, ingest: Ingestion, index: int = 0) -> dict[str, str]:
    """What a DLQ message made from record ``index`` of ``message`` keeps: its ingestion, and ``replay_of``
    when the message was itself a replay, so a replay that fails again links to what it replayed."""
    carried = ingest.attributes(index)
    replay_of = message.attributes.get(MessageAttribute.REPLAY_OF)
    if replay_of:
        carried[MessageAttribute.REPLAY_OF.value] = replay_of
    return carried


@dataclass
class MessageResult:
    """What happened to one message: counts per outcome, and ``failure`` when it must be retried."""

    message_id: str
    source: str
    shape: str = ""
    counts: Counter[Outcome] = field(default_factory=Counter)
    failure: str | None = None
    """Set when the message must be reported in batchItemFailures (a transient write or DLQ failure)."""
    reasons: list[str] = field(default_factory=list)
    """The first few invalid/failed reasons, for the log."""
    deadline: str | None = None
    """Set when the deadline cut the message's writes: the reason it went to the DLQ with."""

    def log_fields(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "source": self.source,
            "shape": self.shape,
            **{outcome.value: self.counts[outcome] for outcome in Outcome},
            "failure": self.failure,
            "deadline": self.deadline,
            "reasons": self.reasons[:5],
        }


def handle_message(
    message: WriterMessage,
    config: WriterSettings,
    *,
    deadline: Deadline = UNBOUNDED,
    now: datetime | None = None,
) -> MessageResult:
    """Process one WriterQueue message; see the module docstring for the outcomes."""
    now = now or datetime.now(UTC)
    stamp = format_timestamp(now)
    attributes = message.attributes
    ingest = ingestion(
        attributes, message_id=message.message_id, system_attributes=message.system_attributes, now=now
    )
    if MessageAttribute.ERROR_TYPE in attributes:
        return _forward_prefailed(message, config, stamp, ingest, deadline)
    source = resolve_source(attributes)
    try:
        body = parse_body(message.body)
    except MalformedMessage as error:
        result = MessageResult(message.message_id, source, "malformed")
        failure = (message.body, ErrorType.MALFORMED_MESSAGE, str(error), 0)
        _to_dlq(result, config, [failure], message, stamp, ingest, deadline)
        return result

    result = MessageResult(message.message_id, source, body.shape)
    entered = ingest.entered_moment()
    rows: list[Row] = []
    invalid: list[tuple[str, ErrorType, str, int]] = []
    for index, raw in enumerate(body.records):
        try:
            rows.append(Row(_storable(normalise(raw, now=entered)), ingest.order_key(index)))
        except InvalidRecord as error:
            original = message.body if body.shape == "record" else encode_json(raw)
            invalid.append((original, ErrorType.INVALID_RECORD, str(error), index))

    writes = put_records(config.account_table, rows, source=source, ingested_at=stamp, deadline=deadline)
    for write in writes:
        result.counts[write.outcome] += 1
        if write.reason:
            result.reasons.append(write.reason)
    if any(write.cut_by_deadline for write in writes):
        _deadline_exceeded(result, config, message, stamp, ingest, writes, deadline, total=len(body.records))
        return result
    failed = result.counts[Outcome.FAILED]
    if failed:
        result.failure = f"{failed} of {len(rows)} writes failed: {result.reasons[0]}"
        return result  # invalid records travel with the retried / redriven message (module docstring)
    _to_dlq(result, config, invalid, message, stamp, ingest, deadline)
    return result


def _storable(record: dict[str, Any]) -> dict[str, Any]:
    """The normalised record, refused when a text field cannot be stored: a lone surrogate (``"\\ud800"``
    in the JSON) is valid JSON but not Unicode text, and neither DynamoDB nor SQS would take it."""
    for name, value in record.items():
        if value.__class__ is str and not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as error:
                bad = ascii(value[error.start])
                raise InvalidRecord(
                    [
                        FieldError(
                            name, f"not valid Unicode text: lone surrogate {bad} at character {error.start}"
                        )
                    ]
                ) from None
    return record


def _deadline_exceeded(
    result: MessageResult,
    config: WriterSettings,
    message: WriterMessage,
    stamp: str,
    ingest: Ingestion,
    writes: list[WriteResult],
    deadline: Deadline,
    *,
    total: int,
) -> None:
    """Send the whole body to the DLQ as ``DeadlineExceeded``, the reason saying what was done."""
    counts = Counter(write.reason if write.cut_by_deadline else write.outcome for write in writes)
    cut = sum(1 for write in writes if write.cut_by_deadline)
    reason = (
        f"deadline: {counts[Outcome.WRITTEN]:,} of {total:,} records written ({counts[Outcome.STALE]:,} "
        f"stale, {total - len(writes):,} invalid, {cut:,} not written before the invocation's time ran "
        f"out); the body is kept whole: a replay writes the rest and finds the written records stale"
    )
    result.deadline = reason
    result.reasons.insert(0, reason)
    # the records the deadline cut are failed, not written: the message leaves the queue through the DLQ
    try:
        outgoing = failure_message(
            message.body,
            error_type=ErrorType.DEADLINE_EXCEEDED,
            error_message=reason,
            source=result.source,
            failed_at=stamp,
            origin_message_id=message.message_id,
            carried=_carried(message, ingest),
        )
    except ValueError as error:
        result.failure = f"{reason}; cannot forward to the DLQ with error attributes: {error}"
        return
    _send(result, config, [outgoing], deadline, count=0)


def _to_dlq(
    result: MessageResult,
    config: WriterSettings,
    failures: list[tuple[str, ErrorType, str, int]],
    message: WriterMessage,
    stamp: str,
    ingest: Ingestion,
    deadline: Deadline,
) -> None:
    """Send each (body, type, reason, index) to the DLQ as its own message; a send failure fails the
    message."""
    if not failures:
        return
    outgoing: list[OutgoingMessage] = []
    for body, error_type, reason, index in failures:
        result.reasons.append(reason)
        try:
            outgoing.append(
                failure_message(
                    body,
                    error_type=error_type,
                    error_message=reason,
                    source=result.source,
                    failed_at=stamp,
                    origin_message_id=message.message_id,
                    carried=_carried(message, ingest, index),
                )
            )
        except ValueError as error:  # a body at the size limit: let the queue's redrive carry it verbatim
            result.failure = f"cannot forward to the DLQ with error attributes: {error}"
            return
    _send(result, config, outgoing, deadline, count=len(failures))


def _forward_prefailed(
    message: WriterMessage, config: WriterSettings, stamp: str, ingest: Ingestion, deadline: Deadline
) -> MessageResult:
    """A verdict the transformer already reached (functions.messages, "pre-failed"): forward it as is."""
    attributes = message.attributes
    source = resolve_source(attributes)
    result = MessageResult(message.message_id, source, "pre-failed")
    error_type = attributes[MessageAttribute.ERROR_TYPE]
    reason = attributes.get(MessageAttribute.ERROR_MESSAGE, error_type)
    result.reasons.append(reason)
    try:
        outgoing = failure_message(
            message.body,
            error_type=error_type,
            error_message=reason,
            source=source,
            failed_at=attributes.get(MessageAttribute.FAILED_AT, stamp),
            origin_message_id=message.message_id,
            carried=_carried(message, ingest),
        )
    except ValueError as error:
        result.failure = f"cannot forward to the DLQ with error attributes: {error}"
        return result
    _send(result, config, [outgoing], deadline, count=1)
    return result


def _send(
    result: MessageResult,
    config: WriterSettings,
    outgoing: list[OutgoingMessage],
    deadline: Deadline,
    *,
    count: int,
) -> None:
    """Send to the DLQ; too late to start (the handler is about to report the message failed), fail it
    instead, so a message never ends both in the DLQ and redriven."""
    if deadline.send_seconds() == 0:
        result.failure = "no time left to send to the DLQ"
        return
    sender = BatchSender(sqs_sink(config.dlq_url, aws.client("sqs")))
    try:
        sender.add_all(outgoing)
        sender.flush()
    except SendFailed as error:
        result.failure = f"DLQ send failed: {error}"
        return
    result.counts[Outcome.INVALID] += count
