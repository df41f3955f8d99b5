"""Read the records of an S3 object as a stream, whatever its shape, in memory that does not grow with it.

Shapes (DESIGN.md section 4): a JSON array of records, one record object, an envelope
``{"source": ..., "records": [...]}``, or JSON Lines. The first bytes decide:

* ``[`` → an array: ijson yields its items one by one (``item``);
* ``{`` whose first line is a complete JSON value and is followed by another line → JSON Lines, read line by
  line with ``json.loads`` (so one broken line costs one record, not the rest of the file);
* any other ``{`` → one object, or an envelope when ijson sees a top-level ``records`` key opening an array
  (then ``records.item`` is streamed); further top-level values after the first are read too.

Why ijson (yajl2_c) rather than a hand-rolled ``JSONDecoder.raw_decode`` scanner: both were measured here on
200k records of ~230 bytes (47 MB): ijson ``items`` 0.60 s, a buffered ``raw_decode`` loop 0.52 s, against
0.58 s for ``json.loads(parse_float=Decimal)`` of the whole file in memory. ijson is within the noise, needs
no heuristics to tell a value cut by a chunk boundary from a broken one, and its C backend keeps memory flat;
the transformer's time goes to the contract and the encoding, not to the parser (see
``bench/transformer_throughput.py``).

A parse failure is not an exception here but an item, :class:`ParseFailure`, naming the position (byte
offset for ijson, line and column for JSON Lines) and carrying an excerpt: records read before it stay read
and sent, and the transformer turns the failure into one ``UnreadableFile`` message. After a failure in an
array or an object nothing more can be read; in JSON Lines the next line is read normally.
"""

from __future__ import annotations

import decimal
import io
import json
import re
from collections.abc import Iterator
from typing import Any, NamedTuple, Protocol

import ijson

from functions.messages import decode_json

CHUNK_BYTES = 64 * 1024
"""Read size for ijson and the JSON Lines splitter: large enough to amortise the S3 stream's per-read cost."""
HEAD_LIMIT_BYTES = 4 * 1024 * 1024
"""How far the shape detection may read ahead (an envelope's ``records`` key after megabytes of other keys,
or a single object larger than this, is read as a plain object stream)."""
EXCERPT_BYTES = 2048
"""How much of a broken line or of the bytes around a parse error travels in the failure message."""
BOM = b"\xef\xbb\xbf"
_WHITESPACE = b" \t\r\n"


class ReadableStream(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class Block(NamedTuple):
    """Consecutive records of the file, at most :data:`BLOCK_VALUES`: ``values[i]`` is record ``first + i``
    (counting from 1) and, in JSON Lines, stands on line ``lines[i]``.

    Why blocks and not one item per record: the transformer normalises and encodes records a block at a
    time anyway, and a generator step per record cost a tenth of its time.
    """

    first: int
    values: list[Any]
    lines: list[int] | None

    def position(self, index: int) -> tuple[int, int | None]:
        """(record number, line or None) of ``values[index]``."""
        return self.first + index, (self.lines[index] if self.lines is not None else None)


class ParseFailure(NamedTuple):
    """Where and why the file stopped being readable."""

    position: str
    """``byte 1234`` / ``line 17, column 5`` / ``end of file``."""
    reason: str
    excerpt: str
    records_before: int
    fatal: bool
    """True when nothing after it can be read (array/object); False for one broken JSON line."""


class FileShape:
    ARRAY = "array"
    OBJECT = "object"
    ENVELOPE = "envelope"
    JSON_LINES = "json-lines"
    EMPTY = "empty"


class _Source:
    """Reads the underlying stream after replaying the bytes already read for detection; tracks offsets."""

    def __init__(self, head: bytes, stream: ReadableStream, base: int) -> None:
        self._head = head
        self._stream = stream
        self.offset = base
        """Byte offset (in the object) of the next byte :meth:`read` returns."""
        self.chunk_start = base
        self.chunk = b""

    def read(self, size: int = -1) -> bytes:
        if size == 0:
            return b""
        if self._head:
            data, self._head = self._head, b""
        else:
            data = self._stream.read(size if size and size > 0 else CHUNK_BYTES)
        self.chunk_start, self.chunk = self.offset, data
        self.offset += len(data)
        return data


def _excerpt(data: bytes) -> str:
    return data[:EXCERPT_BYTES].decode("utf-8", "replace") + ("…" if len(data) > EXCERPT_BYTES else "")


class RecordReader:
    """Iterate the records of one object in :class:`Block` s (and at most a few :class:`ParseFailure`, in
    their place in the file), streaming.

    Construction reads the first bytes to detect the shape (:attr:`shape`); iteration reads the rest once.
    """

    def __init__(self, stream: ReadableStream) -> None:
        self.shape, self._source = _detect(stream)

    @property
    def bytes_read(self) -> int:
        return self._source.offset

    def __iter__(self) -> Iterator[Block | ParseFailure]:
        shape, source = self.shape, self._source
        if shape == FileShape.EMPTY:
            size = source.offset
            reason = "empty file (0 bytes)" if size == 0 else f"no JSON value: only whitespace ({size} bytes)"
            yield ParseFailure("end of file", reason, "", 0, fatal=True)
        elif shape == FileShape.JSON_LINES:
            yield from _json_lines(source)
        else:
            prefix = {FileShape.ARRAY: "item", FileShape.ENVELOPE: "records.item"}.get(shape, "")
            yield from _ijson_blocks(source, prefix, expand=shape == FileShape.OBJECT)


def _detect(stream: ReadableStream) -> tuple[str, _Source]:
    head = b""
    while True:
        chunk = stream.read(CHUNK_BYTES)
        head += chunk
        stripped = head[len(BOM) :] if head.startswith(BOM) else head
        if stripped.lstrip(_WHITESPACE) or not chunk:
            break
    base = len(BOM) if head.startswith(BOM) else 0
    body = head[base:]
    text = body.lstrip(_WHITESPACE)
    if not text:
        source = _Source(b"", stream, base + len(body))
        return FileShape.EMPTY, source
    first = text[:1]
    if first == b"[":
        return FileShape.ARRAY, _Source(body, stream, base)
    if first != b"{":
        return FileShape.OBJECT, _Source(body, stream, base)
    # '{': JSON Lines if the first line alone is a JSON value and something follows it on a later line.
    head_parts = [body]
    size = len(body)
    while b"\n" not in text and size < HEAD_LIMIT_BYTES:
        chunk = stream.read(CHUNK_BYTES)
        if not chunk:
            break
        head_parts.append(chunk)
        size += len(chunk)
        text = text + chunk
    body = b"".join(head_parts)
    newline = text.find(b"\n")
    if newline > 0 and text[newline:].strip(_WHITESPACE):
        try:
            json.loads(text[:newline])
        except ValueError:
            pass
        else:
            return FileShape.JSON_LINES, _Source(body, stream, base)
    # One object, maybe an envelope: look for a top-level "records" key opening an array.
    while True:
        verdict = _envelope_verdict(body)
        if verdict is not None or len(body) >= HEAD_LIMIT_BYTES:
            break
        chunk = stream.read(CHUNK_BYTES)
        if not chunk:
            break
        body += chunk
    return (FileShape.ENVELOPE if verdict else FileShape.OBJECT), _Source(body, stream, base)


def _envelope_verdict(head: bytes) -> bool | None:
    """True/False once the first top-level object shows whether it is an envelope; None if ``head`` is too
    short to tell."""
    previous_key = False
    try:
        for prefix, event, value in ijson.parse(io.BytesIO(head)):
            if prefix == "" and event == "map_key":
                previous_key = value == "records"
                continue
            if previous_key and prefix == "records":
                return event == "start_array"
            previous_key = False
            if prefix == "" and event == "end_map":
                return False
    except ijson.IncompleteJSONError:
        return None  # cut by the end of the head, or broken: the real parse reports it with its position
    return False


def _expand(value: Any) -> list[Any]:
    """A top-level value as records: an envelope's records, an array's items, else the value itself."""
    if isinstance(value, dict) and isinstance(value.get("records"), list):
        return value["records"]
    if isinstance(value, list):
        return value
    return [value]


_LENIENT_DECIMALS = decimal.Context(traps=[])
"""For ijson's number conversions: a number whose exponent no ``Decimal`` can hold
(``1e99999999999999999999``) becomes ``Decimal('NaN')``, which the contract rejects for that record, instead
of an exception that would end the stream and take every later record of the file with it."""


BLOCK_VALUES = 512
"""Records per :class:`Block`, and values read per switch to the lenient decimal context (switching per
value cost a tenth of the transformer's time)."""


def _lenient_block(values: Iterator[Any]) -> tuple[list[Any], ijson.JSONError | None]:
    """Up to :data:`BLOCK_VALUES` values, and the parse error that stopped the stream early, if any.

    The context is set around this read only: set inside the generator below, it would also govern the
    consumer's code between two yields.
    """
    block: list[Any] = []
    saved = decimal.getcontext()
    decimal.setcontext(_LENIENT_DECIMALS)
    try:
        for value in values:
            block.append(value)
            if len(block) == BLOCK_VALUES:
                break
    except ijson.JSONError as error:
        return block, error
    finally:
        decimal.setcontext(saved)
    return block, None


def _split(first: int, values: list[Any], lines: list[int] | None) -> Iterator[Block]:
    """``values`` as blocks of at most :data:`BLOCK_VALUES` (an expanded value may hold many records)."""
    for start in range(0, len(values), BLOCK_VALUES):
        stop = start + BLOCK_VALUES
        yield Block(first + start, values[start:stop], None if lines is None else lines[start:stop])


def _ijson_blocks(source: _Source, prefix: str, *, expand: bool) -> Iterator[Block | ParseFailure]:
    number = 0
    values = iter(ijson.items(source, prefix, multiple_values=expand, use_float=False, buf_size=CHUNK_BYTES))
    while True:
        read, error = _lenient_block(values)
        records = [item for value in read for item in _expand(value)] if expand else read
        yield from _split(number + 1, records, None)
        number += len(records)
        if error is not None:
            # Nothing is read after the error, so the source still holds the chunk yajl failed in.
            position, reason, excerpt = _yajl_position(str(error), source)
            yield ParseFailure(position, reason, excerpt, number, fatal=True)
            return
        if len(read) < BLOCK_VALUES:
            return


_CARET = re.compile(r"\(right here\) -+\^")


def _yajl_position(message: str, source: _Source) -> tuple[str, str, str]:
    """Byte offset, reason and excerpt from a yajl error.

    yajl reports ``reason\\n<up to 30 bytes either side>\\n(right here) ------^`` for the chunk it was fed;
    the context is found in that chunk to give an absolute byte offset (when it occurs exactly once there).
    """
    if message.startswith(("b'", 'b"')):  # ijson passes some yajl messages through as bytes reprs
        message = message[2:-1].encode().decode("unicode_escape", "replace")
    lines = message.split("\n")
    reason = lines[0].strip().removeprefix("parse error: ").removeprefix("lexical error: ")
    chunk, start = source.chunk, source.chunk_start
    if "premature EOF" in reason:
        reason = "the file ends in the middle of a JSON value"
        return f"end of file (byte {source.offset})", reason, _excerpt(chunk[-EXCERPT_BYTES:])
    position = f"bytes {start}-{start + len(chunk)}"
    excerpt = chunk[:EXCERPT_BYTES]
    if len(lines) >= 3 and _CARET.search(lines[2]):
        context = lines[1].lstrip(" ")
        lead = len(lines[1]) - len(context)
        needle = context.encode("utf-8", "replace")
        if needle and chunk.count(needle) == 1:
            # The caret stands one past the offending byte: yajl counts the bytes it consumed.
            at = chunk.index(needle) + max(lines[2].index("^") - lead - 1, 0)
            position = f"byte {start + at}"
            excerpt = chunk[max(at - EXCERPT_BYTES // 2, 0) : at + EXCERPT_BYTES // 2]
        if context:
            reason = f"{reason} near {context.strip()!r}"
    return position, reason, _excerpt(excerpt)


def _json_lines(source: _Source) -> Iterator[Block | ParseFailure]:
    """Blocks of the records of each chunk's complete lines; a broken line is a failure in its place."""
    number = 0
    line_number = 0
    rest = b""
    while True:
        chunk = source.read(CHUNK_BYTES)
        if chunk:
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
        else:
            lines, rest = ([rest] if rest else []), b""
        values: list[Any] = []
        numbers: list[int] = []
        for line in lines:
            line_number += 1
            if not line.strip(_WHITESPACE):
                continue
            try:
                value = decode_json(line)
            except ValueError as error:  # JSONDecodeError; not UTF-8, NaN, an integer too long for Python
                yield from _split(number - len(values) + 1, values, numbers)  # the records before it first
                values, numbers = [], []
                if isinstance(error, json.JSONDecodeError):
                    position, reason = f"line {line_number}, column {error.colno}", error.msg
                else:
                    position, reason = f"line {line_number}", str(error)
                yield ParseFailure(position, reason, _excerpt(line), number, fatal=False)
                continue
            for item in _expand(value):
                number += 1
                values.append(item)
                numbers.append(line_number)
        yield from _split(number - len(values) + 1, values, numbers)
        if not chunk:
            return
