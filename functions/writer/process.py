"""The writer's work on one WriterQueue message, as a plain function (the handler adds Powertools around it).

Per record, one outcome (DESIGN.md section 4): **written**, **stale** (the conditional write found a newer
or equal ``updated_at``), **invalid** (sent to the DLQ as its own message with the reason; the source
message is acknowledged), **failed** (transient). A message with a failed record is reported failed as a
whole — SQS retries or redrives the *message* — so its invalid records are not sent to the DLQ this time:
they are in the redriven body, and a replay of that body records them then. This keeps every record in
LogTable exactly once. Records already written are harmless on a re-run: the writes are conditional.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from functions import aws
from functions.contract import format_timestamp, normalise
from functions.errors import InvalidRecord, MalformedMessage, MissingSetting, SendFailed
from functions.messages import (
    BatchSender,
    OutgoingMessage,
    encode_json,
    failure_message,
    parse_body,
    resolve_source,
    sqs_sink,
)
from functions.model import ErrorType, MessageAttribute, Outcome
from functions.writer.store import put_records


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

    def log_fields(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "source": self.source,
            "shape": self.shape,
            **{outcome.value: self.counts[outcome] for outcome in Outcome},
            "failure": self.failure,
            "reasons": self.reasons[:5],
        }


def handle_message(
    message: WriterMessage, config: WriterSettings, *, now: datetime | None = None
) -> MessageResult:
    """Process one WriterQueue message; see the module docstring for the outcomes."""
    now = now or datetime.now(UTC)
    stamp = format_timestamp(now)
    attributes = message.attributes
    if MessageAttribute.ERROR_TYPE in attributes:
        return _forward_prefailed(message, config, stamp)
    try:
        body = parse_body(message.body)
    except MalformedMessage as error:
        source = resolve_source(attributes)
        result = MessageResult(message.message_id, source, "malformed")
        _to_dlq(result, config, [(message.body, ErrorType.MALFORMED_MESSAGE, str(error))], message, stamp)
        return result

    source = resolve_source(attributes)
    result = MessageResult(message.message_id, source, body.shape)
    valid: list[dict[str, Any]] = []
    invalid: list[tuple[str, ErrorType, str]] = []
    for raw in body.records:
        try:
            valid.append(normalise(raw, now=now))
        except InvalidRecord as error:
            original = message.body if body.shape == "record" else encode_json(raw)
            invalid.append((original, ErrorType.INVALID_RECORD, str(error)))

    for write in put_records(config.account_table, valid, source=source, ingested_at=stamp):
        result.counts[write.outcome] += 1
        if write.reason:
            result.reasons.append(write.reason)
    failed = result.counts[Outcome.FAILED]
    if failed:
        result.failure = f"{failed} of {len(valid)} writes failed: {result.reasons[0]}"
        return result  # invalid records travel with the retried / redriven message (module docstring)
    _to_dlq(result, config, invalid, message, stamp)
    return result


def _to_dlq(
    result: MessageResult,
    config: WriterSettings,
    failures: list[tuple[str, ErrorType, str]],
    message: WriterMessage,
    stamp: str,
) -> None:
    """Send each (body, type, reason) to the DLQ as its own message; a send failure fails the message."""
    if not failures:
        return
    outgoing: list[OutgoingMessage] = []
    for body, error_type, reason in failures:
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
                )
            )
        except ValueError as error:  # a body at the size limit: let the queue's redrive carry it verbatim
            result.failure = f"cannot forward to the DLQ with error attributes: {error}"
            return
    _send(result, config, outgoing, count=len(failures))


def _forward_prefailed(message: WriterMessage, config: WriterSettings, stamp: str) -> MessageResult:
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
        )
    except ValueError as error:
        result.failure = f"cannot forward to the DLQ with error attributes: {error}"
        return result
    _send(result, config, [outgoing], count=1)
    return result


def _send(
    result: MessageResult, config: WriterSettings, outgoing: list[OutgoingMessage], *, count: int
) -> None:
    sender = BatchSender(sqs_sink(config.dlq_url, aws.client("sqs")))
    try:
        sender.add_all(outgoing)
        sender.flush()
    except SendFailed as error:
        result.failure = f"DLQ send failed: {error}"
        return
    result.counts[Outcome.INVALID] += count
