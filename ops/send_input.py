"""The records ``pipeline-ctl send`` reads, as a stream: a JSON array, one JSON object, or JSON Lines.

Nothing here holds the input whole: a JSON array is decoded item by item from a sliding window of text,
JSON Lines line by line, so memory stays bounded by the largest record (``MAX_RECORD_CHARS``) whatever the
input's size, an endless stdin included, and records can leave while the rest is still being read. Only
the one-object shape (a single, possibly pretty-printed record) is read whole, and it is one record.

Which shape: the first character that is not whitespace is ``[`` for an array; otherwise the first line
decides: a line that is a JSON value on its own starts JSON Lines, one that is not starts a single
document. Errors name the input and the line (and the column, or the array item), as ``json`` reports
them, and are raised where they are met: a caller that must refuse a bad file before sending anything
reads it once first (:func:`count_records`).

Numbers are :class:`~decimal.Decimal`, so a balance reaches the writer with every digit it was sent with.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, TextIO

from functions.model import MAX_REPLAYABLE_BODY_BYTES
from ops import datafiles
from ops.errors import InvalidInput

CHUNK_CHARS = 1 << 16
"""Characters read at a time from a single-line (or long-lined) JSON array."""
MAX_RECORD_CHARS = 4 * MAX_REPLAYABLE_BODY_BYTES
"""A record (or a JSON Lines line) longer than this can never be sent (the API takes at most
``MAX_REPLAYABLE_BODY_BYTES`` bytes per request): it is refused rather than read on without bound."""
LOOKAHEAD_CHARS = 16
"""A decoding error this close to the end of the text read so far may only mean the text stops mid-value
(``tru``, ``12.``, ``"\\u00``): read more before calling it an error."""

_decoder = json.JSONDecoder(parse_float=Decimal, parse_constant=lambda name: _no_constant(name))


def _no_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not valid JSON", name, 0)


def loads(text: str) -> Any:
    """One JSON document, numbers as Decimal, NaN/Infinity refused."""
    return _decoder.decode(text)


def require_object(value: Any, where: str) -> Any:
    if not isinstance(value, dict):
        kind = "array" if isinstance(value, list) else type(value).__name__.replace("Decimal", "number")
        raise InvalidInput(f"{where}: a record must be a JSON object, not {kind}")
    return value


def open_input(file: str, *, stdin: TextIO | None) -> tuple[TextIO, str]:
    """The text stream of ``file`` (``-``: ``stdin``) and the name errors give it; refused by
    :mod:`ops.datafiles`' rule when missing, a directory or unreadable."""
    if file == "-":
        if stdin is None:
            raise InvalidInput("- means stdin, but no stdin was given")
        return stdin, "<stdin>"
    path = Path(file)
    datafiles.check_readable(path)
    try:
        return path.open(encoding="utf-8-sig", newline=None), file
    except OSError as error:
        raise InvalidInput(f"{file}: {error.strerror}") from None


class LineSource(Protocol):
    """All the reader asks of its input: the next line, cut at ``size`` characters ('' at the end). Any
    text stream is one."""

    def readline(self, size: int, /) -> str: ...


def stream_records(stream: LineSource, name: str) -> Iterator[Any]:
    """The records of ``stream``, one at a time (module docstring); ``InvalidInput`` where it breaks."""
    try:
        yield from _Reader(stream, name).records()
    except UnicodeDecodeError:
        raise InvalidInput(f"{name}: not UTF-8 text") from None


def count_records(file: str) -> int:
    """Read a file through once, refusing it by the same rules (before anything is sent), and count it."""
    stream, name = open_input(file, stdin=None)
    with stream:
        count = sum(1 for _ in stream_records(stream, name))
    if count == 0:
        raise no_records(name)
    return count


def no_records(name: str) -> InvalidInput:
    """An input that parsed but held no record: refused, as ``upload`` refuses such a file."""
    return InvalidInput(f"{name}: no records in it (an empty array)")


class _Reader:
    def __init__(self, stream: LineSource, name: str) -> None:
        self.stream = stream
        self.name = name
        self.line_number = 0

    def _line(self, start: str = "") -> str:
        """The next line (with its newline; '' at the end), refused when longer than any record can be;
        ``start`` is its beginning, already read."""
        line = start + self.stream.readline(MAX_RECORD_CHARS - len(start))
        if line:
            self.line_number += 1
            if len(line) >= MAX_RECORD_CHARS and not line.endswith("\n"):
                raise InvalidInput(
                    f"{self.name}:{self.line_number}: a line longer than {MAX_RECORD_CHARS:,} characters",
                    hint=f"a record must fit one request ({MAX_REPLAYABLE_BODY_BYTES:,} bytes)",
                )
        return line

    def records(self) -> Iterator[Any]:
        # The first chunk decides the shape: an array may be one line of any length, so it is not read whole.
        first = self.stream.readline(CHUNK_CHARS).removeprefix("\ufeff")  # a BOM on stdin
        while first.endswith("\n") and not first.strip():
            self.line_number += 1
            first = self.stream.readline(CHUNK_CHARS)
        if not first.strip():
            raise datafiles.empty(self.name)
        if first.lstrip().startswith("["):
            self.line_number += 1
            yield from _Array(self, first).records()
            return
        if not first.endswith("\n"):
            first = self._line(first)
        else:
            self.line_number += 1
        try:
            value = loads(first)
        except json.JSONDecodeError:
            yield self._document(first)
            return
        yield require_object(value, f"{self.name}:{self.line_number}")
        yield from self._json_lines()

    def _json_lines(self) -> Iterator[Any]:
        while line := self._line():
            if not line.strip():
                continue
            try:
                value = loads(line.rstrip("\r\n"))
            except json.JSONDecodeError as error:
                raise datafiles.not_json(
                    f"{self.name}:{self.line_number}", f"{error.msg} (column {error.colno})"
                ) from None
            yield require_object(value, f"{self.name}:{self.line_number}")

    def _document(self, first: str) -> Any:
        """One (multi-line) JSON object: bounded, since a record larger than a request cannot be sent."""
        first_line = self.line_number
        parts, size = [first], len(first)
        while line := self._line():
            parts.append(line)
            size += len(line)
            if size > MAX_RECORD_CHARS:
                raise InvalidInput(
                    f"{self.name}: a single JSON document longer than {MAX_RECORD_CHARS:,} characters",
                    hint=f"send an array or JSON Lines; a record must fit one request "
                    f"({MAX_REPLAYABLE_BODY_BYTES:,} bytes)",
                )
        text = "".join(parts)
        try:
            value = loads(text)
        except json.JSONDecodeError as error:
            if error.msg == "Extra data":  # JSON Lines whose first line is broken: say so of that line
                try:
                    loads(first)
                except json.JSONDecodeError as first_error:
                    error = first_error
            at = first_line + error.lineno - 1
            raise datafiles.not_json(f"{self.name}:{at}", f"{error.msg} (column {error.colno})") from None
        return require_object(value, self.name)


class _Array:
    """A JSON array decoded item by item from a window of text that slides forward as items are read."""

    def __init__(self, reader: _Reader, first: str) -> None:
        self.reader = reader
        self.name = reader.name
        self.text = first
        self.pos = first.index("[") + 1
        self.eof = False
        self.lines_before = reader.line_number - 1
        """Newlines before the window's first character."""
        self.column_before = 0
        """Characters of the window's first line that were dropped from it already."""

    def _more(self) -> bool:
        chunk = self.reader.stream.readline(CHUNK_CHARS)
        if not chunk:
            self.eof = True
            return False
        self.text += chunk
        return True

    def _slide(self) -> None:
        if self.pos < CHUNK_CHARS:
            return
        dropped = self.text[: self.pos]
        newlines = dropped.count("\n")
        if newlines:
            self.lines_before += newlines
            self.column_before = self.pos - (dropped.rfind("\n") + 1)
        else:
            self.column_before += self.pos
        self.text = self.text[self.pos :]
        self.pos = 0

    def _where(self, position: int) -> tuple[str, int]:
        line = self.lines_before + self.text.count("\n", 0, position) + 1
        newline = self.text.rfind("\n", 0, position)
        column = position - newline if newline >= 0 else self.column_before + position + 1
        return f"{self.name}:{line}", column

    def _fail(self, position: int, message: str) -> InvalidInput:
        where, column = self._where(position)
        return datafiles.not_json(where, f"{message} (column {column})")

    def _next_char(self) -> str:
        """The next character that is not whitespace (the position moves onto it), '' at the end."""
        while True:
            while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self._more():
                return ""

    def records(self) -> Iterator[Any]:
        index = 0
        if self._next_char() == "]":
            self.pos += 1
            self._rest()
            return
        while True:
            if not self._next_char():
                raise self._fail(self.pos, "Expecting value")
            value = self._decode()
            index += 1
            yield require_object(value, f"{self.name}: item {index}")
            separator = self._next_char()
            if separator == ",":
                self.pos += 1
                self._slide()
                continue
            if separator == "]":
                self.pos += 1
                self._rest()
                return
            raise self._fail(self.pos, "Expecting ',' delimiter" if separator else "Expecting ',' or ']'")

    def _decode(self) -> Any:
        while True:
            try:
                value, end = _decoder.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as error:
                position = error.pos if error.doc is self.text else self.pos
                maybe_cut = error.msg.startswith("Unterminated string") or (
                    position >= len(self.text) - LOOKAHEAD_CHARS
                )
                if maybe_cut and len(self.text) - self.pos <= MAX_RECORD_CHARS and self._more():
                    continue
                raise self._fail(position, error.msg) from None
            cut_number = end >= len(self.text) - LOOKAHEAD_CHARS and not isinstance(value, dict | list)
            if cut_number and not self.eof and self._more():  # a number may go on in text not read yet
                continue
            self.pos = end
            return value

    def _rest(self) -> None:
        """After the closing bracket only whitespace may follow."""
        if self._next_char():
            raise self._fail(self.pos, "Extra data")
