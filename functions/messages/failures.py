"""A failure as a message: the body verbatim, the verdict in String attributes.

Used for the writer's DLQ messages and the transformer's pre-failed WriterQueue messages (the package's
docstring). What must travel with the body comes first: ``error_type``, ``source`` and the carried ingestion
attributes, then the reason, cut to what fits; the body is the evidence and is never altered.
"""

from __future__ import annotations

from collections.abc import Mapping

from functions.messages.sizing import STRING, OutgoingMessage, attributes_size, utf8_size
from functions.messages.sqs_text import sqs_text
from functions.model import MAX_MESSAGE_BYTES, MessageAttribute

ERROR_ATTRIBUTES_HEADROOM = 4096
"""Bytes kept free in every transformer message so the writer can always forward one of its records to the
DLQ with the error attributes (type, reason, source, timestamps, origin id) added."""
MAX_ERROR_MESSAGE_CHARS = 2048
"""An error_message attribute longer than this is cut: it is a reason for a human, the body holds the data."""
MIN_REASON_CHARS = 120
"""A reason is not cut below this to keep the optional attributes (``failed_at``, ``origin_message_id``)."""
ELLIPSIS = "…"


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
    ``extra`` ones, e.g. :func:`functions.messages.envelopes.ingestion_attributes`).

    ``carried`` are attributes the record keeps on every hop (``entered_at``, ``ingest_id``,
    ``ingest_position``). ``failed_at`` and ``origin_message_id`` are dropped when keeping them would cut the
    reason below ``MIN_REASON_CHARS`` (the error handler stamps its own time), and the reason is cut to what
    fits ``limit``. Raises ``ValueError`` when even the required attributes with a one-character reason do
    not fit (a body at the size limit: the writer then lets the queue's redrive carry the message, and the
    error handler re-derives the verdict).
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
