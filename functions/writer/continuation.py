"""Unfinished work handed back to WriterQueue: the continuation of a message the deadline cut.

When the invocation's time runs low the writer stops starting writes (functions.writer.deadline). The records
it did not finish are not a failure: they go back to WriterQueue as one or more continuation messages and the
original is acknowledged, so a file of any size lands with no operator action.

What a continuation keeps, so that writing it later gives exactly what finishing the original would have:

* the records from the first unfinished one to the end of the body, in order (written ones among them
  become *stale* again: writes are conditional); the original body verbatim when nothing of it finished;
* the ingestion attributes (``entered_at``, ``ingest_id``, and ``ingest_position`` moved to the first
  record carried), so every record keeps its order key and its default ``updated_at``;
* ``source`` and ``replay_of``;
* ``continuation_stalls``: how many continuations in a row saw the store complete no write at all. A store
  that accepts nothing would otherwise cycle a message through the queue forever; at
  :data:`MAX_STALLED_CONTINUATIONS` the writer sends it to the DLQ instead, saying so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from functions.ingestion import Ingestion
from functions.messages.codec import encode_json
from functions.messages.envelopes import EnvelopePacker
from functions.messages.sizing import OutgoingMessage, message
from functions.model import MAX_MESSAGE_BYTES, MessageAttribute

MAX_STALLED_CONTINUATIONS = 3
"""Invocations in a row in which the store completed no write (for any message) before a message is
dead-lettered as making no progress: a refusing store, not a slow one."""


def stalls(attributes: Mapping[str, str]) -> int:
    """The ``continuation_stalls`` count a message arrived with (0 when absent or not a count)."""
    raw = attributes.get(MessageAttribute.CONTINUATION_STALLS, "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 6 else 0


def continuation(
    body: str,
    records: Sequence[Any],
    start: int,
    *,
    source: str,
    ingest: Ingestion,
    carried: Mapping[str, str],
    stalled: int,
    limit: int = MAX_MESSAGE_BYTES,
) -> list[OutgoingMessage]:
    """The messages that carry ``records[start:]`` of a body onwards (module docstring). ``carried`` are the
    attributes kept as they are (``replay_of``). Raises ``ValueError`` when a record no longer fits a message
    on its own (re-encoded larger than it arrived): the caller dead-letters the message instead."""
    attributes = {
        **carried,
        MessageAttribute.SOURCE.value: source,
        MessageAttribute.CONTINUATION_STALLS.value: str(stalled),
    }
    if start == 0:
        outgoing = message(body, {**attributes, **ingest.attributes(0)})
        if outgoing.size > limit:
            raise ValueError(f"the body with its continuation attributes is over {limit} bytes")
        return [outgoing]
    ordered = ingest.attributes(start)
    del ordered[MessageAttribute.INGEST_POSITION.value]  # the packer sets it per envelope
    messages: list[OutgoingMessage] = []
    packer = EnvelopePacker(source, messages.append, limit=limit, ingest={**attributes, **ordered})
    packer.add_many([encode_json(record) for record in records[start:]], ingest.position + start)
    packer.flush()
    return messages
