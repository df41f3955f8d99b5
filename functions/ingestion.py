"""Ingestion time and ingestion order of a message's records (docs/design.md, "Ingestion time and
ingestion order"): read from the message, turned into per-record order keys and DLQ attributes.

One module for the writer (order keys, default ``updated_at``) and the error handler (what a LogTable item
keeps so a replay can re-send it), so both read the attributes and apply the defaults the same way:

* ``entered_at``: the attribute when it is a pipeline timestamp, else the message's ``SentTimestamp``
  (a ``POST /writer`` message: API Gateway sends the body alone), else the time of reading;
* ``ingest_id``: the attribute, else the message id;
* ``ingest_position``: the attribute when it is decimal digits, else 0.

A malformed attribute falls back to its default rather than failing the message: the attribute is ours
(the transformer and replays set it), and a record is better written with a default order than lost.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from functions.model import MessageAttribute
from functions.timestamps import format_timestamp

_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", re.ASCII)
_DIGITS = re.compile(r"\d{1,18}", re.ASCII)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
POSITION_WIDTH = 10
"""Digits of the position in an order key: fixed width, so keys sort as text (files up to 10**10 records)."""


class Ingestion(NamedTuple):
    """Where a body's records entered the pipeline; record ``i`` of the body is at ``position + i``."""

    entered_at: str
    ingest_id: str
    position: int

    def order_key(self, index: int = 0) -> str:
        """The AccountTable ``ingest_order`` of record ``index`` of the body."""
        return f"{self.entered_at}#{self.position + index:0{POSITION_WIDTH}d}#{self.ingest_id}"

    def entered_moment(self) -> datetime:
        """``entered_at`` as an aware datetime: the contract's ``now`` (default ``updated_at``, skew)."""
        return datetime.strptime(self.entered_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)

    def attributes(self, index: int = 0) -> dict[str, str]:
        """The String message attributes that carry record ``index`` (and the records after it) onwards."""
        return {
            MessageAttribute.ENTERED_AT.value: self.entered_at,
            MessageAttribute.INGEST_ID.value: self.ingest_id,
            MessageAttribute.INGEST_POSITION.value: str(self.position + index),
        }


def sent_time(system_attributes: Mapping[str, Any] | None) -> str | None:
    """A message's ``SentTimestamp`` (epoch milliseconds, as SQS gives it) as a pipeline timestamp."""
    raw = (system_attributes or {}).get("SentTimestamp")
    if not isinstance(raw, str | int) or not _DIGITS.fullmatch(str(raw)):
        return None
    try:
        return format_timestamp(_EPOCH + timedelta(milliseconds=int(raw)))
    except OverflowError:  # beyond year 9999: not a time SQS sets; the caller's default applies
        return None


def ingestion(
    attributes: Mapping[str, str],
    *,
    message_id: str,
    system_attributes: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> Ingestion:
    """The message's :class:`Ingestion`, defaults applied (module docstring)."""
    entered_at = attributes.get(MessageAttribute.ENTERED_AT)
    if not (isinstance(entered_at, str) and _TIMESTAMP.fullmatch(entered_at)):
        entered_at = sent_time(system_attributes) or format_timestamp(now or datetime.now(UTC))
    ingest_id = attributes.get(MessageAttribute.INGEST_ID) or message_id
    raw_position = attributes.get(MessageAttribute.INGEST_POSITION) or ""
    position = int(raw_position) if _DIGITS.fullmatch(raw_position) else 0
    return Ingestion(entered_at, ingest_id, position)
