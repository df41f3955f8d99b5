"""Text from the pipeline, made safe to show on an operator's terminal.

Everything ``pipeline-ctl`` prints for a human that came from outside — a reason, a source, a body, a name,
a log line — may hold what an API client or an uploader put there: C0 and C1 control characters (ESC and
U+009B start terminal control sequences), bidirectional overrides (U+202E makes text read backwards),
zero-width characters, lone surrogates. :func:`printable` shows each of those as a Python-style escape
(``\\x1b``, ``\\x9b``, ``\\u202e``), so what an operator reads is what is stored and nothing can rewrite the
terminal. Machine output (``--json``) is never escaped this way: JSON has its own escapes.

And times, one rule: every time shown to a human carries its zone (``2026-12-06 22:39:05 UTC``), and machine
output is ISO 8601 with ``Z`` (:func:`human_time`, :func:`machine_time`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

KEPT = frozenset(" ")
"""The one non-graphic character shown as itself (``str.isprintable`` counts it printable too)."""


def _escape(character: str) -> str:
    code = ord(character)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(value: Any, *, multiline: bool = False) -> str:
    """``value`` as text with every character that is not printable escaped.

    ``multiline`` keeps line breaks (``\\n``) as they are, for a body shown over several lines; a tab is
    escaped either way, since a terminal moves the cursor for it."""
    text = "" if value is None else str(value)
    if text.isprintable():
        return text
    if multiline:
        return "\n".join(printable(line) for line in text.split("\n"))
    return "".join(c if c.isprintable() or c in KEPT else _escape(c) for c in text)


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def human_time(value: Any) -> str:
    """``2026-12-06 22:39:05 UTC`` from a datetime or an ISO 8601 string; anything else as it is."""
    moment = _moment(value) if value else None
    return printable(value) if moment is None else f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def machine_time(value: Any) -> str:
    """ISO 8601 in UTC with ``Z`` (``2026-12-06T22:39:05.851613Z``), keeping the precision given."""
    moment = _moment(value)
    if moment is None:
        return str(value)
    return moment.isoformat().replace("+00:00", "Z")
