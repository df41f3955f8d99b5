"""WriterQueue and DLQ messages: body shapes, JSON with exact decimals, envelope packing, batch sending.

Body shapes (docs/design.md, "Data path"), all accepted by the writer:

* one record object (what ``POST /writer`` usually carries);
* a JSON array of records;
* an envelope ``{"source": "...", "records": [...]}`` (what the transformer sends).

An object whose keys are ``records`` (and optionally ``source``) is an envelope; any other object is one
record, so a record that happens to carry an unknown ``records`` key is a record, its extra key dropped
(the record contract: unknown keys are never an error).

**Provenance.** Where records came from is the message's ``source`` *attribute*, never the body: the
transformer sets it on every message it sends (``s3://bucket/key``), replays keep it, and a message without
one came through ``POST /writer`` (API Gateway's SQS integration sends the body alone), so its records are
``api`` whatever an envelope in the body claims. Otherwise a client of the API could make its records look
like a bucket's in AccountTable and LogTable.

**Pre-failed messages.** The transformer sometimes knows a failure before any record reaches the writer: an
S3 object that cannot be parsed (``UnreadableFile``), or one record too large for a message
(``RecordTooLarge``). It then sends one WriterQueue message whose String message attributes carry the verdict:
``error_type`` (an :class:`functions.model.ErrorType`), ``error_message``, ``source`` and ``failed_at``; the
body is a small JSON document naming the file, the position and an excerpt. The writer does not parse such a
message: it forwards body and attributes to the DLQ (adding ``origin_message_id``) and acknowledges it, so
the failure is recorded in LogTable by the same path as every other one. Consequently a re-sent body
(``pipeline-ctl replay-dlq``) must not carry ``error_type``, or the writer would forward it again instead of
processing it.

Sizes: SQS counts a message as its body plus every attribute's name, type and value, in UTF-8 bytes,
against the queue's ``MaximumMessageSize`` (:data:`functions.model.MAX_MESSAGE_BYTES`); a ``SendMessageBatch``
may hold 10 entries and 1 MiB in total. Records are encoded with ``ensure_ascii`` so the length of the text
*is* its UTF-8 size (no encode per record) and no character SQS refuses (lone surrogates, U+FFFF…) reaches it.
"""

from __future__ import annotations

import json
import re
import time
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from functools import cache
from itertools import accumulate, chain, repeat
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from keyword import iskeyword
from typing import Any, NamedTuple, Protocol

from functions.errors import MalformedMessage, SendFailed
from functions.model import (
    API_SOURCE,
    MAX_MESSAGE_BYTES,
    SQS_BATCH_MAX_BYTES,
    SQS_BATCH_MAX_ENTRIES,
    MessageAttribute,
)

STRING = "String"
ERROR_ATTRIBUTES_HEADROOM = 4096
"""Bytes kept free in every transformer message so the writer can always forward one of its records to the
DLQ with the error attributes (type, reason, source, timestamps, origin id) added."""
MAX_ERROR_MESSAGE_CHARS = 2048
"""An error_message attribute longer than this is cut: it is a reason for a human, the body holds the data."""
MIN_REASON_CHARS = 120
"""A reason is not cut below this to keep the optional attributes (``failed_at``, ``origin_message_id``)."""
SEND_ATTEMPTS = 4
"""SendMessageBatch calls per entry (the SDK already retries whole calls; this retries failed entries)."""
SEND_BACKOFF_SECONDS = 0.1
ELLIPSIS = "…"


# --- JSON with exact decimals ----------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _decimal(text: str) -> Decimal | str:
    """A JSON number with a fraction or exponent as an exact ``Decimal``.

    A number whose exponent ``Decimal`` cannot hold at all (``1e99999999999999999999``) is valid JSON but no
    decimal: it stays text, so the record is rejected naming the field and the value, instead of the whole
    message failing to parse.
    """
    try:
        return Decimal(text)
    except InvalidOperation:
        return text


def _integer(text: str) -> int | Decimal:
    """A JSON integer as an ``int``; one longer than Python converts (4,300 digits by default) as an exact
    ``Decimal``, so the record is judged field by field (a balance that long is rejected, an unknown field is
    dropped) instead of the whole body failing to parse."""
    try:
        return int(text)
    except ValueError:
        return Decimal(text)


def decode_json(text: str | bytes) -> Any:
    """``json.loads`` with numbers as exact ``Decimal``; ``NaN``/``Infinity`` refused (they are not JSON)."""
    return json.loads(text, parse_float=_decimal, parse_int=_integer, parse_constant=_reject_constant)


def _encode_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # A string keeps every digit (a float would not); the contract accepts string balances.
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


_ENCODER = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=True, allow_nan=False, default=_encode_default
)
# JSONEncoder.encode builds a new C encoder on every call, a third of the cost for a small record: build the
# C encoder once (check_circular off: records come from a JSON parser and cannot be cyclic).
_C_ENCODER = (
    c_make_encoder(None, _encode_default, encode_basestring_ascii, None, ":", ",", False, False, False)
    if c_make_encoder is not None
    else None
)


def encode_json(value: Any) -> str:
    """Compact, ASCII-only JSON (``len(text)`` is its UTF-8 size), ``Decimal`` as exact strings."""
    if _C_ENCODER is None or value.__class__ is str:  # the C encoder wants a container at the top level
        return _ENCODER.encode(value)
    return "".join(_C_ENCODER(value, 0))


_ROW_TYPES: dict[tuple[str, ...], type | None] = {}
"""One msgspec ``Struct`` type per record shape (field names in order), made once."""


@cache
def _fast_encoder() -> Any:
    """msgspec's encoder: compact JSON, ``Decimal`` as the string ``str()`` gives, so the same bytes as
    :func:`encode_json` whenever the output is ASCII without DEL (which ``ensure_ascii`` escapes and msgspec
    does not). Imported on first use: the writer and the error handler never pay for it at a cold start."""
    import msgspec

    return msgspec.json.Encoder(decimal_format="string")


def encode_columns(names: Sequence[str], columns: Sequence[Sequence[Any]], *, text_only: bool = False) -> str:
    """Records given column by column, encoded exactly as ``encode_json(records)[1:-1]`` would encode them
    (``records[i] = {names[k]: columns[k][i]}``), without building the dicts.

    Why: the transformer has its records as columns (``functions.contract.normalise_block``). When every
    value is a string or a ``Decimal`` (``text_only``: the caller checked it for a larger block), the rows
    become msgspec ``Struct`` instances (one C-level ``map``) encoded in one call, and the bytes are kept
    when they are plain ASCII; otherwise each column is encoded with one ``map`` of the stdlib's C string
    encoder, the keys once, and the whole joined in one call.
    """
    if not columns or not columns[0]:
        return ""
    if text_only or all(set(map(type, column)) <= TEXT_KINDS for column in columns):
        row = _row_type(tuple(names))
        if row is not None:
            encoded = _fast_encoder().encode(list(map(row, *columns)))
            if encoded.isascii() and b"\x7f" not in encoded:
                return encoded[1:-1].decode("ascii")
    kinds = [set(map(type, column)) for column in columns]
    parts: list[Iterable[str]] = []
    for index, (name, column, kind) in enumerate(zip(names, columns, kinds, strict=True)):
        parts.append(repeat(("{" if index == 0 else ",") + encode_basestring_ascii(name) + ":"))
        if kind == {str}:
            parts.append(map(encode_basestring_ascii, column))
        elif kind == {Decimal}:
            parts.append(map(encode_basestring_ascii, map(str, column)))  # as _encode_default renders them
        else:
            parts.append([encode_json([value])[1:-1] for value in column])
    parts.append(repeat("},"))
    return "".join(chain.from_iterable(zip(*parts, strict=False)))[:-1]  # the repeats end with the columns


def encode_rows(names: Sequence[str], columns: Sequence[Sequence[Any]]) -> list[str]:
    """Records given column by column, each encoded alone exactly as ``encode_json(record)`` would encode it,
    for values that are all strings or ``Decimal`` (a normalised record).

    Why: at an envelope's edge the transformer adds records one at a time; msgspec encodes each row in one
    C-level ``map`` (about a tenth of a stdlib encoder call with a dict per record), and the bytes are kept
    when they are plain ASCII, as in :func:`encode_columns`.
    """
    row = _row_type(tuple(names))
    if row is not None:
        encoded = list(map(_fast_encoder().encode, map(row, *columns)))
        joined = b"".join(encoded)
        if joined.isascii() and b"\x7f" not in joined:
            return [text.decode("ascii") for text in encoded]
    return [encode_json(dict(zip(names, values, strict=True))) for values in zip(*columns, strict=True)]


TEXT_KINDS = frozenset({str, Decimal})
"""Value types the fast path of :func:`encode_columns` takes (a normalised record holds only these)."""


def _row_type(names: tuple[str, ...]) -> type | None:
    """The ``Struct`` type for records with these keys, or None when they cannot be attribute names."""
    if names not in _ROW_TYPES:
        plain = len(set(names)) == len(names) and all(
            name.isidentifier() and not iskeyword(name) and not name.startswith("_") for name in names
        )
        if plain:
            import msgspec

            _ROW_TYPES[names] = msgspec.defstruct("Row", [(name, Any) for name in names])
        else:
            _ROW_TYPES[names] = None
    return _ROW_TYPES[names]


# --- bodies ------------------------------------------------------------------------------------------------


_ENVELOPE_KEYS = frozenset({"source", "records"})


class Body(NamedTuple):
    """A parsed WriterQueue body: its records and the source the body names (envelopes only; informative,
    not trusted: see :func:`resolve_source`)."""

    records: list[Any]
    source: str | None
    shape: str
    """``record``, ``array`` or ``envelope``."""


def parse_body(body: str) -> Body:
    """Parse one WriterQueue body. Raises :class:`MalformedMessage` when it is not one of the three shapes."""
    try:
        value = decode_json(body)
    except ValueError as error:  # JSONDecodeError, and int-too-long / NaN refusals
        raise MalformedMessage(f"body is not JSON: {error}") from None
    except RecursionError:  # a permanent property of the body: retrying would cycle it through the DLQ
        raise MalformedMessage("body is nested too deeply to parse") from None
    if isinstance(value, list):
        return Body(value, None, "array")
    if isinstance(value, dict):
        if "records" not in value or not value.keys() <= _ENVELOPE_KEYS:
            return Body([value], None, "record")
        records, source = value["records"], value.get("source")
        if not isinstance(records, list):
            raise MalformedMessage(f"envelope: 'records' is a JSON {_json_kind(records)}, expected an array")
        if source is not None and not isinstance(source, str):
            raise MalformedMessage(f"envelope: 'source' is a JSON {_json_kind(source)}, expected a string")
        return Body(records, source, "envelope")
    raise MalformedMessage(
        f"body is a JSON {_json_kind(value)}: expected a record object, an array of records or an envelope"
    )


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "number"


def string_attributes(message_attributes: Mapping[str, Any] | None) -> dict[str, str]:
    """String values of an SQS message's attributes, from either the Lambda event shape (``stringValue``) or
    the ReceiveMessage API shape (``StringValue``)."""
    values: dict[str, str] = {}
    if not isinstance(message_attributes, Mapping):
        return values
    for name, attribute in message_attributes.items():
        if not isinstance(attribute, Mapping):  # never raise on a malformed event: skip what is not ours
            continue
        value = attribute.get("stringValue", attribute.get("StringValue"))
        if isinstance(name, str) and isinstance(value, str):
            values[name] = value
    return values


def resolve_source(attributes: Mapping[str, str]) -> str:
    """Where records came from: the ``source`` attribute, else the API (module docstring, "Provenance")."""
    return attributes.get(MessageAttribute.SOURCE) or API_SOURCE


# --- outgoing messages -------------------------------------------------------------------------------------


class OutgoingMessage(NamedTuple):
    """A message to send: body, String attributes, and its size as SQS counts it."""

    body: str
    attributes: Mapping[str, str]
    size: int


def utf8_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def attributes_size(attributes: Mapping[str, str]) -> int:
    """SQS counts each attribute's name, data type (``String``) and value."""
    return sum(utf8_size(name) + len(STRING) + utf8_size(value) for name, value in attributes.items())


def message(body: str, attributes: Mapping[str, str] | None = None) -> OutgoingMessage:
    attributes = attributes or {}
    return OutgoingMessage(body, attributes, utf8_size(body) + attributes_size(attributes))


_SQS_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""Characters SQS refuses in a body or attribute value: the complement of its allowed set (#x9 | #xA | #xD |
#x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF), spelled out because a negated class spanning the whole of
Unicode costs ~3 ms to compile at every cold start."""


def sqs_text(text: str) -> str:
    """``text`` with every character SQS would refuse written as a ``\\uXXXX`` escape (reasons quote
    record values, which may hold lone surrogates or U+FFFF from JSON escapes)."""
    if text.isascii() and text.isprintable():
        return text
    return _SQS_REFUSED.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def failure_message(
    body: str,
    *,
    error_type: str,
    error_message: str,
    source: str,
    failed_at: str,
    origin_message_id: str | None = None,
    carried: Mapping[str, str] | None = None,
    limit: int = MAX_MESSAGE_BYTES,
    extra: Mapping[str, str] | None = None,
) -> OutgoingMessage:
    """A DLQ (or pre-failed WriterQueue) message: the body verbatim, the verdict in attributes (plus
    ``extra`` ones, e.g. :func:`ingestion_attributes`).

    ``carried`` are attributes the record keeps on every hop (``entered_at``, ``ingest_id``,
    ``ingest_position``). What must travel with the body comes first: ``error_type``, ``source`` and the
    carried attributes, then a reason; ``failed_at`` and ``origin_message_id`` are dropped when keeping them
    would cut the reason below ``MIN_REASON_CHARS`` (the error handler stamps its own time), and the reason is
    cut to what fits ``limit``: the body is the evidence and is never altered. Raises ``ValueError`` when
    even the required attributes with a one-character reason do not fit (a body at the size limit: the
    writer then lets the queue's redrive carry the message, and the error handler re-derives the verdict).
    """
    attributes = {
        **(extra or {}),
        MessageAttribute.ERROR_TYPE.value: error_type,
        MessageAttribute.SOURCE.value: source,
        **(carried or {}),
    }
    optional = {MessageAttribute.FAILED_AT.value: failed_at}
    if origin_message_id:
        optional[MessageAttribute.ORIGIN_MESSAGE_ID.value] = origin_message_id
    reason = sqs_text(error_message)
    if len(reason) > MAX_ERROR_MESSAGE_CHARS:
        reason = reason[:MAX_ERROR_MESSAGE_CHARS] + ELLIPSIS
    fixed = utf8_size(body) + attributes_size(attributes) + len(MessageAttribute.ERROR_MESSAGE) + len(STRING)
    if limit - fixed - attributes_size(optional) >= min(utf8_size(reason), MIN_REASON_CHARS):
        attributes.update(optional)
        fixed += attributes_size(optional)
    room = limit - fixed
    if room < len(ELLIPSIS.encode()) + 1:
        raise ValueError(f"a {utf8_size(body)}-byte body leaves no room for the error attributes")
    encoded = reason.encode("utf-8", "surrogatepass")
    if len(encoded) > room:
        reason = encoded[: room - len(ELLIPSIS.encode())].decode("utf-8", "ignore") + ELLIPSIS
    attributes[MessageAttribute.ERROR_MESSAGE.value] = reason
    return OutgoingMessage(body, attributes, fixed + utf8_size(reason))


POSITION_DIGITS = 10
"""Room kept for ``ingest_position`` in every envelope (the order key pads positions to this width)."""


def ingestion_attributes(entered_at: str, ingest_id: str, position: int | None = None) -> dict[str, str]:
    """The attributes that carry ingestion time and order (docs/design.md, "Ingestion time and ingestion
    order"): ``entered_at``, ``ingest_id`` and, when given, ``ingest_position``."""
    attributes = {MessageAttribute.ENTERED_AT.value: entered_at, MessageAttribute.INGEST_ID.value: ingest_id}
    if position is not None:
        attributes[MessageAttribute.INGEST_POSITION.value] = str(position)
    return attributes


class EnvelopePacker:
    """Packs encoded records into envelope bodies no larger than ``limit`` bytes, counted exactly.

    ``add`` takes a record already encoded with :func:`encode_json` (ASCII, so its length is its size); a full
    envelope goes to ``emit`` as soon as the next record would not fit.

    With ``ingest`` (``entered_at`` and ``ingest_id``), every envelope also carries ``ingest_position``, the
    file position of its first record, and holds only records that are consecutive in the file: a record
    whose position does not follow the last one (one between them was too large, or unreadable) starts a new
    envelope, so record *i* of a body is at position ``ingest_position + i``.
    """

    def __init__(
        self,
        source: str,
        emit: Callable[[OutgoingMessage], None],
        *,
        limit: int = MAX_MESSAGE_BYTES,
        ingest: Mapping[str, str] | None = None,
    ) -> None:
        self._prefix = '{"source":' + encode_json(source) + ',"records":['
        self._suffix = "]}"
        self._attributes = {MessageAttribute.SOURCE.value: source, **(ingest or {})}
        """Provenance travels as an attribute (module docstring); SQS counts it in the message's size."""
        self._ordered = ingest is not None
        reserved = len(MessageAttribute.INGEST_POSITION) + len(STRING) + POSITION_DIGITS if ingest else 0
        self._overhead = len(self._prefix) + len(self._suffix) + attributes_size(self._attributes) + reserved
        self._emit = emit
        self._limit = limit
        self._parts: list[str] = []
        self._size = self._overhead
        self._first = 0
        """File position of the current envelope's first record."""
        self._next = 0
        """File position the next record must have to join the current envelope."""
        self.records = 0
        self.messages = 0

    @property
    def record_limit(self) -> int:
        """The largest encoded record one envelope can carry."""
        return self._limit - self._overhead

    def _start(self, position: int) -> None:
        """Records at ``position`` onwards go next: a gap in the file closes the current envelope."""
        if position != self._next and self._parts:
            self.flush()
        if not self._parts:
            self._first = position

    def add(self, encoded: str, position: int = 0) -> None:
        """Add one record (at ``position`` in the file, counted from 0)."""
        size = len(encoded)
        if size > self._limit - self._overhead:
            raise ValueError(f"a {size}-byte record does not fit a {self._limit}-byte envelope")
        if self._ordered:
            self._start(position)
        if self._parts:
            if self._size + 1 + size > self._limit:
                self.flush()
                self._first = position
            else:
                size += 1  # the comma before it
        self._parts.append(encoded)
        self._size += size
        self._next = position + 1
        self.records += 1

    def add_group(self, encoded: str, count: int, position: int = 0) -> bool:
        """Add ``count`` consecutive records from ``position`` on, encoded together
        (``encode_json(list)[1:-1]``), if they fit the current envelope; False (nothing added) when they do
        not, and the caller adds them one by one.

        Why: one C-encoder call for a group costs a fraction of one call per record, and a group's size is
        exact all the same.
        """
        if self._ordered:
            self._start(position)
        size = len(encoded) + (1 if self._parts else 0)
        if self._size + size > self._limit:
            return False
        self._parts.append(encoded)
        self._size += size
        self._next = position + count
        self.records += count
        return True

    def add_many(self, encoded: Sequence[str], position: int = 0) -> None:
        """Add consecutive records from ``position`` on, each encoded alone and each within
        :attr:`record_limit`, into exactly the envelopes that :meth:`add` one at a time would fill.

        Why: at an envelope's edge the transformer used to call :meth:`add` per record; here each envelope
        takes the longest run that fits (found by bisecting the running sizes, in C) as one part.
        """
        if self._ordered:
            self._start(position)
        start = 0
        while start < len(encoded):
            room = self._limit - self._size - (1 if self._parts else 0)
            # ends[k - 1] - 1: the size of the first k records from ``start``, joined with commas.
            ends = list(accumulate(map((1).__add__, map(len, encoded[start:]))))
            fitting = bisect_right(ends, room + 1)
            if fitting == 0:
                if not self._parts:
                    raise ValueError(
                        f"a {ends[0] - 1}-byte record does not fit a {self._limit}-byte envelope"
                    )
                self.flush()
                self._first = position + start
                continue
            self._parts.append(",".join(encoded[start : start + fitting]))
            self._size += ends[fitting - 1] - 1 + (1 if len(self._parts) > 1 else 0)
            start += fitting
            self._next = position + start
            self.records += fitting

    def flush(self) -> None:
        if not self._parts:
            return
        body = self._prefix + ",".join(self._parts) + self._suffix
        attributes = self._attributes
        size = self._size
        if self._ordered:
            position = str(self._first)
            attributes = {**attributes, MessageAttribute.INGEST_POSITION.value: position}
            size -= POSITION_DIGITS - len(position)
        self._emit(OutgoingMessage(body, attributes, size))
        self.messages += 1
        self._parts = []
        self._size = self._overhead


# --- sending -----------------------------------------------------------------------------------------------


class BatchSink(Protocol):
    """Sends up to 10 entries (SendMessageBatch ``Entries`` shape); returns the entries SQS reported failed
    (``Failed`` shape: ``Id``, ``Code``, ``Message``, ``SenderFault``)."""

    def __call__(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]: ...


def sqs_sink(queue_url: str, sqs_client: Any) -> BatchSink:
    """A :class:`BatchSink` that calls ``SendMessageBatch`` on ``queue_url``."""

    def send(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return list(sqs_client.send_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed", []))

    return send


def _entry(index: int, outgoing: OutgoingMessage) -> dict[str, Any]:
    entry: dict[str, Any] = {"Id": str(index), "MessageBody": outgoing.body}
    if outgoing.attributes:
        entry["MessageAttributes"] = {
            name: {"DataType": STRING, "StringValue": value} for name, value in outgoing.attributes.items()
        }
    return entry


class BatchSender:
    """Buffers messages and sends them with as few ``SendMessageBatch`` calls as the limits allow.

    A batch goes out at 10 entries or when the next message would take it over 1 MiB. Only the entries SQS
    reports failed are re-sent (with backoff); entries still failing after ``attempts``, or failing through
    the sender's fault (which a retry cannot fix), raise :class:`SendFailed` — the caller must fail so that
    its own retry applies. Entries sent before that stay sent: downstream writes are idempotent.
    """

    def __init__(
        self,
        sink: BatchSink,
        *,
        attempts: int = SEND_ATTEMPTS,
        backoff: float = SEND_BACKOFF_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._sink = sink
        self._attempts = attempts
        self._backoff = backoff
        self._sleep = sleep
        self._pending: list[OutgoingMessage] = []
        self._pending_bytes = 0
        self.calls = 0
        self.sent = 0

    def add(self, outgoing: OutgoingMessage) -> None:
        full = len(self._pending) == SQS_BATCH_MAX_ENTRIES
        if self._pending and (full or self._pending_bytes + outgoing.size > SQS_BATCH_MAX_BYTES):
            self.flush()
        self._pending.append(outgoing)
        self._pending_bytes += outgoing.size

    def add_all(self, messages: Iterable[OutgoingMessage]) -> None:
        for outgoing in messages:
            self.add(outgoing)

    def flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending, self._pending_bytes = self._pending, [], 0
        entries = {str(index): _entry(index, outgoing) for index, outgoing in enumerate(batch)}
        for attempt in range(1, self._attempts + 1):
            self.calls += 1
            failed = self._sink(list(entries.values()))
            failed_ids = {item["Id"] for item in failed}
            self.sent += len(entries) - len(failed_ids)
            if not failed:
                return
            permanent = [item for item in failed if item.get("SenderFault")]
            if permanent or attempt == self._attempts:
                worst = (permanent or failed)[0]
                raise SendFailed(
                    f"{len(failed)} of {len(entries)} SendMessageBatch entries failed after {attempt} "
                    f"attempt(s): {worst.get('Code')}: {worst.get('Message')}"
                )
            entries = {entry_id: entries[entry_id] for entry_id in failed_ids if entry_id in entries}
            self._sleep(self._backoff * 2 ** (attempt - 1))
