"""The writer's work on one WriterQueue message, as a plain function (the handler adds Powertools around it).

:func:`handle_message` reads top to bottom as the message goes:

1. a message the transformer already failed (``error_type`` set) is forwarded to the DLQ as it is;
2. the body is classified (functions.messages.bodies): not JSON, or a JSON scalar → one ``MalformedMessage``;
   an envelope with a duplicated key → one ``InvalidRecord``, the body verbatim;
3. each record is judged by the contract: valid ones become rows, the others rejections;
4. the rows are written (functions.writer.store), as many at once as the pool allows, until the deadline;
5. what the deadline left unfinished is handed back to WriterQueue (functions.writer.continuation) and the
   message acknowledged; only when that fails, or the store stopped completing writes, does the body go to
   the DLQ as ``DeadlineExceeded``;
6. a transient write failure fails the message (batchItemFailures: SQS redrives it whole);
7. otherwise the rejections go to the DLQ, one message each, and the message is acknowledged.

Per record, one outcome (docs/design.md): **written**, **stale** (the conditional write found a newer update,
or the same record: its order key is equal), **invalid** (sent to the DLQ as its own message with the reason),
**failed** (transient). A failed message's rejections are not sent this time: they are in the redriven body,
and a replay of that body records them then; likewise the rejections inside a continuation are recorded when
the continuation runs. This keeps every record in LogTable exactly once.

**Ingestion order** (functions.ingestion): record ``i`` of the body gets the order key of
``ingest_position + i``; a record without ``updated_at`` gets ``entered_at`` (the contract's ``now``), so a
replay or a continuation, which keep the attributes, write exactly what the first attempt would have. The
writer's own DLQ messages carry the record's ``entered_at``, ``ingest_id`` and ``ingest_position`` onwards.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from botocore.exceptions import BotoCoreError, ClientError

from functions import aws
from functions.contract import format_timestamp, normalise
from functions.errors import FieldError, InvalidRecord, MalformedMessage, MissingSetting, SendFailed
from functions.ingestion import Ingestion, ingestion
from functions.messages.bodies import Body, Shape, parse_body, resolve_source
from functions.messages.codec import encode_json
from functions.messages.failures import failure_message
from functions.messages.sending import BatchSender, sqs_sink
from functions.messages.sizing import OutgoingMessage
from functions.model import ErrorType, MessageAttribute, Outcome
from functions.writer import store
from functions.writer.continuation import MAX_STALLED_CONTINUATIONS, continuation, stalls
from functions.writer.deadline import UNBOUNDED, Deadline
from functions.writer.store import Row, WriteResult, put_records


class WriterSettings(NamedTuple):
    account_table: str
    dlq_url: str
    writer_queue_url: str
    """Where unfinished work is handed back (the queue the writer consumes)."""


def settings() -> WriterSettings:
    """``ACCOUNT_TABLE``, ``DLQ_URL`` and ``WRITER_QUEUE_URL`` from the environment (read per call: tests and
    the local stack change them)."""
    values = []
    for name, what in (
        ("ACCOUNT_TABLE", "the AccountTable name"),
        ("DLQ_URL", "the DeadLetterQueue URL"),
        ("WRITER_QUEUE_URL", "the WriterQueue URL (unfinished work is handed back to it)"),
    ):
        value = os.environ.get(name)
        if not value:
            raise MissingSetting(name, what)
        values.append(value)
    return WriterSettings(*values)


class WriterMessage(NamedTuple):
    message_id: str
    body: str
    attributes: dict[str, str]
    """String message attributes (see functions.messages.bodies.string_attributes)."""
    system_attributes: Mapping[str, Any] | None = None
    """SQS's own attributes of the message (``SentTimestamp``...), as the Lambda event gives them."""


class Rejection(NamedTuple):
    """A body for the DLQ: what failed, why, and the index in the message's body of its (first) record."""

    body: str
    error_type: ErrorType
    reason: str
    at: int = 0


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
    handed_back: int = 0
    """Records the deadline left unfinished, handed back to WriterQueue in a continuation."""
    deadline: str | None = None
    """Set when unfinished records could not be handed back: the reason they went to the DLQ with."""

    def log_fields(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "source": self.source,
            "shape": self.shape,
            **{outcome.value: self.counts[outcome] for outcome in Outcome},
            "handed_back": self.handed_back,
            "failure": self.failure,
            "deadline": self.deadline,
            "reasons": self.reasons[:5],
        }


class _Context(NamedTuple):
    """What every step below needs about the message in hand."""

    message: WriterMessage
    config: WriterSettings
    ingest: Ingestion
    stamp: str
    deadline: Deadline

    def carried(self, index: int = 0) -> dict[str, str]:
        """What a DLQ message made from record ``index`` keeps: its ingestion, and ``replay_of`` when the
        message was itself a replay, so a replay that fails again links to what it replayed."""
        return {**self.ingest.attributes(index), **self.replayed()}

    def replayed(self) -> dict[str, str]:
        replay_of = self.message.attributes.get(MessageAttribute.REPLAY_OF)
        return {MessageAttribute.REPLAY_OF.value: replay_of} if replay_of else {}


def handle_message(
    message: WriterMessage,
    config: WriterSettings,
    *,
    deadline: Deadline = UNBOUNDED,
    now: datetime | None = None,
) -> MessageResult:
    """Process one WriterQueue message; the module docstring gives the steps."""
    now = now or datetime.now(UTC)
    attributes = message.attributes
    ingest = ingestion(
        attributes, message_id=message.message_id, system_attributes=message.system_attributes, now=now
    )
    context = _Context(message, config, ingest, format_timestamp(now), deadline)
    source = resolve_source(attributes)
    # 1. a verdict the transformer already reached
    if MessageAttribute.ERROR_TYPE in attributes:
        result = MessageResult(message.message_id, source, "pre-failed")
        _forward_prefailed(result, context)
        return result
    # 2. the body's shape
    try:
        body = parse_body(message.body)
    except MalformedMessage as error:
        result = MessageResult(message.message_id, source, "malformed")
        _reject(result, context, [Rejection(message.body, ErrorType.MALFORMED_MESSAGE, str(error))])
        return result
    result = MessageResult(message.message_id, source, body.shape)
    if body.shape == Shape.AMBIGUOUS:
        _reject(result, context, [Rejection(message.body, ErrorType.INVALID_RECORD, body.problem or "")])
        return result
    # 3. the contract
    rows, indexes, rejections = _judge(body, message.body, ingest)
    # 4. the writes
    completed_before = store.completed_writes()
    writes = put_records(
        config.account_table, rows, source=source, ingested_at=context.stamp, deadline=deadline
    )
    progress = store.completed_writes() > completed_before
    for write in writes:
        result.counts[write.outcome] += 1
        if write.reason:
            result.reasons.append(write.reason)
    # 5. unfinished work continues
    if any(write.cut_by_deadline for write in writes):
        start = _first_unfinished(writes, indexes)
        before = Counter(write.outcome for write, index in zip(writes, indexes, strict=True) if index < start)
        # the rejections before it first: if they cannot be sent, the message is retried whole, as in 6
        _reject(result, context, [rejection for rejection in rejections if rejection.at < start])
        if result.failure is None:
            _continue(result, context, body, start, progress=progress, before=before)
        return result
    # 6. a transient failure: the message is retried whole
    failed = result.counts[Outcome.FAILED]
    if failed:
        result.failure = f"{failed} of {len(rows)} writes failed: {result.reasons[0]}"
        return result
    # 7. the records the contract refused
    _reject(result, context, rejections)
    return result


def _judge(body: Body, text: str, ingest: Ingestion) -> tuple[list[Row], list[int], list[Rejection]]:
    """The body's records through the contract: rows to write (with each one's index in the body), and the
    rejections (a lone record's body is kept verbatim, an envelope's or array's record re-encoded)."""
    entered = ingest.entered_moment()
    rows: list[Row] = []
    indexes: list[int] = []
    rejections: list[Rejection] = []
    for index, raw in enumerate(body.records):
        try:
            rows.append(Row(_storable(normalise(raw, now=entered)), ingest.order_key(index)))
            indexes.append(index)
        except InvalidRecord as error:
            original = text if body.shape == Shape.RECORD else encode_json(raw)
            rejections.append(Rejection(original, ErrorType.INVALID_RECORD, str(error), index))
    return rows, indexes, rejections


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


def _first_unfinished(writes: list[WriteResult], indexes: list[int]) -> int:
    """Index in the body of the first record whose write neither wrote nor found a newer one."""
    return next(
        index
        for write, index in zip(writes, indexes, strict=True)
        if write.outcome not in (Outcome.WRITTEN, Outcome.STALE)
    )


def _continue(
    result: MessageResult,
    context: _Context,
    body: Body,
    start: int,
    *,
    progress: bool,
    before: Counter[Outcome],
) -> None:
    """Hand ``body.records[start:]`` back to WriterQueue (functions.writer.continuation); the DLQ only when
    that fails or the store has stopped completing writes.

    Once handed back, the message's counts are ``before``, the outcomes of the records before ``start``: the
    continuation accounts for the others (a record written here but carried on is found stale there), so
    the counts of all the hops add up to the records sent, once each.
    """
    message = context.message
    total = len(body.records)
    unfinished = total - start
    stalled = 0 if progress else stalls(message.attributes) + 1
    done = (
        f"{result.counts[Outcome.WRITTEN]:,} of {total:,} records written "
        f"({result.counts[Outcome.STALE]:,} stale)"
    )
    if stalled >= MAX_STALLED_CONTINUATIONS:
        reason = (
            f"no progress: the store completed no write in {stalled} invocations in a row (the last {done}); "
            f"records from position {context.ingest.position + start:,} on are in the body: replay it once "
            f"the table accepts writes"
        )
    else:
        try:
            handed = continuation(
                message.body,
                body.records,
                start,
                source=result.source,
                ingest=context.ingest,
                carried=context.replayed(),
                stalled=stalled,
            )
        except ValueError as error:
            reason = f"deadline: {done}; the rest cannot be handed back: {error}"
        else:
            sent = _send(context.config.writer_queue_url, handed, context.deadline)
            if sent is None:
                result.handed_back = unfinished
                result.counts = before + Counter({Outcome.INVALID: result.counts[Outcome.INVALID]})
                return
            reason = f"deadline: {done}; handing the other {unfinished:,} back to WriterQueue failed: {sent}"
    result.failure = None
    result.deadline = reason
    result.reasons.insert(0, reason)
    _dead_letter_rest(result, context, body, start, reason)


def _dead_letter_rest(result: MessageResult, context: _Context, body: Body, start: int, reason: str) -> None:
    """The records from ``start`` on to the DLQ as one ``DeadlineExceeded`` message: the original body when
    that is all of it, else the records re-encoded as an array (ingestion attributes moved to ``start``)."""
    text = context.message.body if start == 0 else encode_json(body.records[start:])
    try:
        outgoing = failure_message(
            text,
            error_type=ErrorType.DEADLINE_EXCEEDED,
            error_message=reason,
            source=result.source,
            failed_at=context.stamp,
            origin_message_id=context.message.message_id,
            carried=context.carried(start),
        )
    except ValueError as error:
        result.failure = f"{reason}; cannot forward to the DLQ with error attributes: {error}"
        return
    failed = _send(context.config.dlq_url, [outgoing], context.deadline)
    if failed is not None:
        result.failure = f"DLQ send failed: {failed}"


def _reject(result: MessageResult, context: _Context, rejections: list[Rejection]) -> None:
    """Each rejection to the DLQ as its own message, counted invalid once sent; a send failure fails the
    message (it is retried, and the rejections with it)."""
    if not rejections:
        return
    outgoing: list[OutgoingMessage] = []
    for rejection in rejections:
        result.reasons.append(rejection.reason)
        try:
            outgoing.append(
                failure_message(
                    rejection.body,
                    error_type=rejection.error_type,
                    error_message=rejection.reason,
                    source=result.source,
                    failed_at=context.stamp,
                    origin_message_id=context.message.message_id,
                    carried=context.carried(rejection.at),
                )
            )
        except ValueError as error:  # a body at the size limit: let the queue's redrive carry it verbatim
            result.failure = f"cannot forward to the DLQ with error attributes: {error}"
            return
    failed = _send(context.config.dlq_url, outgoing, context.deadline)
    if failed is not None:
        result.failure = f"DLQ send failed: {failed}"
        return
    result.counts[Outcome.INVALID] += len(rejections)


def _forward_prefailed(result: MessageResult, context: _Context) -> None:
    """A verdict the transformer already reached (functions.messages, "Pre-failed messages"): forwarded as
    it is, and counted as one invalid record."""
    attributes = context.message.attributes
    error_type = attributes[MessageAttribute.ERROR_TYPE]
    reason = attributes.get(MessageAttribute.ERROR_MESSAGE, error_type)
    result.reasons.append(reason)
    try:
        outgoing = failure_message(
            context.message.body,
            error_type=error_type,
            error_message=reason,
            source=result.source,
            failed_at=attributes.get(MessageAttribute.FAILED_AT, context.stamp),
            origin_message_id=context.message.message_id,
            carried=context.carried(),
        )
    except ValueError as error:
        result.failure = f"cannot forward to the DLQ with error attributes: {error}"
        return
    failed = _send(context.config.dlq_url, [outgoing], context.deadline)
    if failed is not None:
        result.failure = f"DLQ send failed: {failed}"
        return
    result.counts[Outcome.INVALID] += 1


def _send(queue_url: str, outgoing: list[OutgoingMessage], deadline: Deadline) -> str | None:
    """Send to a queue; None when sent, else why not. Too late to start (the handler is about to report the
    message failed), it is not sent, so a message never ends both sent and redriven."""
    if deadline.send_seconds() == 0:
        return "no time left to send"
    sender = BatchSender(sqs_sink(queue_url, aws.client("sqs")))
    try:
        sender.add_all(outgoing)
        sender.flush()
    except SendFailed as error:
        return str(error)
    except (BotoCoreError, ClientError) as error:  # the whole call refused (no such queue, access denied...)
        return f"{type(error).__name__}: {error}"
    return None
