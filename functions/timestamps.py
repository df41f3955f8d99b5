"""The pipeline's one timestamp format: fixed-width UTC, ``YYYY-MM-DDTHH:MM:SS.ffffffZ``.

A module of its own so that code which only stamps times (the error handler's ``failed_at``) does not import
the whole record contract, which re-exports it (``functions.contract.format_timestamp``).
"""

from __future__ import annotations

from datetime import datetime

_TIMESTAMP_FORMAT = "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ"


def format_timestamp(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC; a naive datetime is read as UTC.

    Fixed width and zero padded (unlike ``strftime('%Y')`` for years below 1000), so the strings sort like
    the instants they name: the writer's ``updated_at < :new`` condition relies on it. Formatted by hand:
    ``astimezone`` + ``replace`` + ``isoformat`` cost several times more, on every record of a file.
    """
    offset = moment.utcoffset()
    if offset:
        moment = moment - offset  # same fields as the UTC instant; the tzinfo is not read below
    return _TIMESTAMP_FORMAT % (
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond,
    )
