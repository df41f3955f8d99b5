"""The transformer's work on one object: read → normalise → pack → send, as a plain function over a stream.

Tests and benchmarks call :func:`transform_stream` with a file and a counting sink; the handler calls it with
the S3 ``StreamingBody`` and an SQS sink.

Records that pass the contract travel normalised, but for an optional field no record of a block gives:
it stays out, and the writer, which normalises every record with the message's entry time, gives it the
same default (the messages of files that leave ``status`` and ``updated_at`` out are a third smaller).
Records that fail it travel *raw*, unchanged, because the writer is where every failure is recorded (it
re-runs the contract and sends the record to the DLQ with the reason). What the writer could never receive
is sent as a pre-failed message instead (see :mod:`functions.messages`): an unreadable file or part of one
(``UnreadableFile``), a record too large for a message (``RecordTooLarge``; the record stays in S3, named in
``source``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from functions.contract import FIELD_NAMES, format_timestamp, normalise_block, normalise_columns
from functions.messages.codec import encode_columns, encode_json, encode_rows
from functions.messages.envelopes import EnvelopePacker, ingestion_attributes
from functions.messages.failures import ERROR_ATTRIBUTES_HEADROOM, failure_message
from functions.messages.sending import BatchSender, BatchSink
from functions.messages.sqs_text import sqs_text
from functions.model import MAX_MESSAGE_BYTES, ErrorType
from functions.transformer.reader import (
    RAW_RECORD_LIMIT_BYTES,
    AmbiguousValue,
    Block,
    OversizedRecord,
    ParseFailure,
    ReadableStream,
    RecordReader,
)

EXCERPT_CHARS = 2048
"""How much of an oversized record travels in its RecordTooLarge message."""
GROUP = 64
"""Records encoded per JSON-encoder call (see ``EnvelopePacker.add_group``). The reader's blocks (up to 512
records) are normalised whole: the contract checks a block column by column, in C."""


@dataclass(kw_only=True)
class TransformReport:
    """What one object produced; logged by the handler, asserted on by tests, printed by the benchmarks."""

    source: str
    shape: str = ""
    records: int = 0
    valid: int = 0
    invalid: int = 0
    too_large: int = 0
    unreadable: int = 0
    dropped_keys: int = 0
    messages: int = 0
    send_calls: int = 0
    bytes_read: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def transform_stream(
    stream: ReadableStream,
    *,
    source: str,
    sink: BatchSink,
    now: datetime | None = None,
    ingest_id: str | None = None,
    message_limit: int = MAX_MESSAGE_BYTES,
) -> TransformReport:
    """Send every record of ``stream`` to the writer through ``sink``; return what happened.

    ``source`` names the object (``s3://bucket/key``) in every message. ``now`` is when the object entered
    the pipeline (the S3 event's time; default: now): every message's ``entered_at``, the default
    ``updated_at`` and the base of the future-skew bound. ``ingest_id`` (default ``source``) and the position
    of each message's first record complete the ingestion order (docs/design.md, "Ingestion time and
    ingestion order"). Raises
    :class:`functions.errors.SendFailed` when SQS keeps refusing messages: what was sent stays sent (the
    writer's conditional writes make a re-run harmless).
    """
    now = now or datetime.now(UTC)
    entered_at = format_timestamp(now)
    failed_at = format_timestamp(datetime.now(UTC))
    ingest_id = ingest_id or source
    report = TransformReport(source=source)
    sender = BatchSender(sink)
    ingest = ingestion_attributes(entered_at, ingest_id)
    packer = EnvelopePacker(source, sender.add, limit=message_limit, ingest=ingest)
    record_limit = packer.record_limit - ERROR_ATTRIBUTES_HEADROOM
    reader = RecordReader(stream)
    report.shape = reader.shape

    def fail(error_type: ErrorType, reason: str, details: dict[str, Any], position: int) -> None:
        body = encode_json({"file": source, "error": reason, **details})
        sender.add(
            failure_message(
                body,
                error_type=error_type,
                error_message=reason,
                source=source,
                failed_at=failed_at,
                limit=message_limit,
                extra=ingestion_attributes(entered_at, ingest_id, position),
            )
        )

    def refuse_verbatim(item: AmbiguousValue) -> None:
        """One InvalidRecord whose body is the value as it stands in the file (as the writer refuses the same
        body); a value too large for that, or holding text SQS refuses, travels as an excerpt."""
        where = f"record {item.number} ({item.position})"
        reason = f"{where}: {item.problem}"
        body = item.text
        if len(body.encode("utf-8", "surrogatepass")) > record_limit or sqs_text(body) != body:
            body = encode_json({"file": source, "error": reason, "excerpt": item.text[:EXCERPT_CHARS]})
        sender.add(
            failure_message(
                body,
                error_type=ErrorType.INVALID_RECORD,
                error_message=reason,
                source=source,
                failed_at=failed_at,
                limit=message_limit,
                extra=ingestion_attributes(entered_at, ingest_id, item.number - 1),
            )
        )

    def add_one(number: int, line: int | None, value: Any) -> None:
        add_encoded(number, line, encode_json(value))

    def add_encoded(number: int, line: int | None, encoded: str) -> None:
        if len(encoded) <= record_limit:
            packer.add(encoded, number - 1)
            return
        report.too_large += 1
        where = f"record {number}" + (f" (line {line})" if line else "")
        reason = (
            f"{where}: {len(encoded)} bytes, over the {record_limit}-byte limit for one record "
            f"(a {message_limit}-byte message less envelope and error headroom); "
            f"the record stays in {source}"
        )
        fail(
            ErrorType.RECORD_TOO_LARGE,
            reason,
            {"record": number, "line": line, "size": len(encoded), "excerpt": encoded[:EXCERPT_CHARS]},
            number - 1,
        )

    def add_each(block: Block, start: int, values: list[Any]) -> None:
        """At an envelope's edge, or with a large record among them: one record at a time."""
        for index, value in enumerate(values, start):
            add_one(*block.position(index), value)

    def add_block(block: Block) -> None:
        """Normalise a block, then encode it GROUP records at a time: valid records normalised (straight
        from the columns), the others raw (the writer records each failure with its reasons)."""
        # Only encoded, so balances may stay text (as_text).
        if block.columns is not None:
            normalised = normalise_columns(block.columns, now=now, as_text=True)
        else:
            normalised = normalise_block(block.values, now=now, as_text=True)
        columns, invalid, names = normalised.columns, normalised.invalid, FIELD_NAMES
        if normalised.left_out:  # optional fields no record gives: the writer gives the same defaults
            kept = [index for index, name in enumerate(FIELD_NAMES) if name not in normalised.left_out]
            columns, names = [columns[index] for index in kept], tuple(FIELD_NAMES[index] for index in kept)
        failed = len(invalid) - invalid.count(None)
        raws = block.values if failed else []  # an invalid record travels as it stands in the file
        for start in range(0, block.count, GROUP):
            stop = start + GROUP
            position = block.first - 1 + start
            group_columns = [column[start:stop] for column in columns]
            if failed and any(invalid[start:stop]):
                rows = zip(*group_columns, strict=True)
                values = [
                    raw if error is not None else dict(zip(names, row, strict=True))
                    for raw, error, row in zip(raws[start:stop], invalid[start:stop], rows, strict=True)
                ]
                encoded = encode_json(values)[1:-1]
                if len(encoded) > record_limit or not packer.add_group(encoded, len(values), position):
                    add_each(block, start, values)
                continue
            # A valid row holds only what the converters return, str and Decimal: no type check per value.
            encoded = encode_columns(names, group_columns, text_only=True)
            if len(encoded) > record_limit:  # a record too large among them: one at a time
                for index, one in enumerate(encode_rows(names, group_columns), start):
                    add_encoded(*block.position(index), one)
            elif not packer.add_group(encoded, len(group_columns[0]), position):  # at an envelope's edge
                packer.add_many(encode_rows(names, group_columns), position)
        report.records += block.count
        report.valid += block.count - failed
        report.dropped_keys += normalised.dropped

    for item in reader:  # blocks and failures, in file order
        if isinstance(item, ParseFailure):
            report.unreadable += 1
            before = f"after record {item.records_before}" if item.records_before else "before any record"
            reason = f"{source}: {item.reason} at {item.position} ({before})"
            fail(
                ErrorType.UNREADABLE_FILE,
                reason,
                {"position": item.position, "records_before": item.records_before, "excerpt": item.excerpt},
                item.records_before,
            )
        elif isinstance(item, AmbiguousValue):
            report.records += 1
            refuse_verbatim(item)
        elif isinstance(item, OversizedRecord):
            report.records += 1
            report.too_large += 1
            reason = (
                f"record {item.number} ({item.position}): {item.size} bytes as it stands in the file, "
                f"over the {RAW_RECORD_LIMIT_BYTES}-byte limit for reading one record; "
                f"the record stays in {source}"
            )
            fail(
                ErrorType.RECORD_TOO_LARGE,
                reason,
                {"record": item.number, "line": item.line, "size": item.size, "excerpt": item.excerpt},
                item.number - 1,
            )
        else:
            add_block(item)
    packer.flush()
    sender.flush()
    report.invalid = report.records - report.valid
    report.messages = sender.sent
    report.send_calls = sender.calls
    report.bytes_read = reader.bytes_read
    return report
