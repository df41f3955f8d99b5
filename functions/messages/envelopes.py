"""Records packed into envelope bodies, counted exactly against the message size limit, and the attributes
that carry where they entered the pipeline."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from itertools import accumulate

from functions.messages.codec import encode_json
from functions.messages.sizing import STRING, OutgoingMessage, attributes_size
from functions.model import MAX_MESSAGE_BYTES, MessageAttribute

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
        """Provenance travels as an attribute (functions.messages.bodies, "Provenance"); SQS counts it in
        the message's size."""
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
