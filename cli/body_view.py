"""``errors show``: a bounded view of a failure's body, so a batch of 1,558 records is not 14,000 lines.

A body that fits in :data:`WHOLE_LINES` lines pretty-printed is shown whole, as before. A longer one is
summarised: how many records and bytes it holds, the first :data:`HEAD_RECORDS` records, and the records the
reason names (``record 17: balance: …``, as the error handler writes a batch's reasons), then one line saying
how much was left out and how to get all of it (``--full``, or ``--json`` for the item as stored). A body
that is not JSON shows its first lines. Every string is escaped where it is not printable (:mod:`cli.text`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from cli.text import printable

WHOLE_LINES = 60
"""A pretty-printed body up to this many lines is shown whole: one screen and a bit."""
HEAD_RECORDS = 3
"""Records shown from the start of a long body."""
NAMED_RECORDS = 5
"""At most this many of the records the reason names are shown besides the first ones."""
HEAD_LINES = 40
"""Lines shown from the start of a long body that is not JSON, or is one huge record."""
NAMED = re.compile(r"\brecord (\d+)\b")
FULL_HINT = "the whole body: --full (paged on a terminal), or --json for the item as stored"


@dataclass(frozen=True)
class BodyView:
    """What ``errors show`` prints under ``body``: a title line, the text, and what was left out."""

    title: str
    text: str
    omitted: str | None = None


def pretty(body: Any) -> str:
    """Indented JSON when it parses, otherwise the body as it is (escaped where not printable)."""
    parsed = _parsed(body)
    if parsed is _NOT_JSON:
        return printable(body, multiline=True)
    return printable(json.dumps(parsed, indent=2, ensure_ascii=False), multiline=True)


def view(body: Any, reason: str = "", *, full: bool = False) -> BodyView:
    text = pretty(body)
    size = len(str(body).encode("utf-8", "surrogatepass")) if isinstance(body, str) else len(text)
    lines = text.count("\n") + 1
    if full or lines <= WHOLE_LINES:
        return BodyView("body:", text)
    records = _records(_parsed(body))
    if records is None or len(records) < 2:
        head = "\n".join(text.split("\n")[:HEAD_LINES])
        left = lines - HEAD_LINES
        return BodyView(
            f"body ({size:,} bytes, {lines:,} lines; the first {HEAD_LINES}):",
            head,
            f"… {left:,} more lines ({FULL_HINT})",
        )
    named = sorted({int(number) for number in NAMED.findall(reason)} & set(range(len(records))))
    shown = sorted(set(range(min(HEAD_RECORDS, len(records)))) | set(named[:NAMED_RECORDS]))
    blocks = [
        f"record {index}{' (named in the reason)' if index in named else ''}:\n"
        + printable(json.dumps(records[index], indent=2, ensure_ascii=False), multiline=True)
        for index in shown
    ]
    title = f"body ({len(records):,} records, {size:,} bytes; records {_spans(shown)}):"
    left = len(records) - len(shown)
    return BodyView(title, "\n".join(blocks), f"… {left:,} more records ({FULL_HINT})")


_NOT_JSON = object()


def _parsed(body: Any) -> Any:
    if not isinstance(body, str):
        return body
    try:
        return json.loads(body)
    except ValueError:
        return _NOT_JSON


def _records(parsed: Any) -> list[Any] | None:
    """The records of a batch body: a JSON array, or an envelope's ``records`` array."""
    if isinstance(parsed, list):
        return parsed
    if isinstance(parsed, dict) and isinstance(parsed.get("records"), list):
        return list(parsed["records"])
    return None


def _spans(indexes: list[int]) -> str:
    """``0-2, 17`` from ``[0, 1, 2, 17]``."""
    spans: list[str] = []
    start = previous = indexes[0]
    for index in [*indexes[1:], None]:
        if index is not None and index == previous + 1:
            previous = index
            continue
        spans.append(str(start) if start == previous else f"{start}-{previous}")
        if index is not None:
            start = previous = index
    return ", ".join(spans)
