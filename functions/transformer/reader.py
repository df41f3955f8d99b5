"""Read the records of an S3 object as a stream, whatever its shape, in memory that does not grow with it.

Shapes (docs/design.md, "The record contract"): a JSON array of records, one record object, an envelope
``{"source": ..., "records": [...]}``, or JSON Lines. The first bytes decide:

* ``[`` → an array: its items are the records;
* ``{`` whose first line is a complete JSON value and is followed by another line → JSON Lines, line by line
  (so one broken line costs one record, not the rest of the file);
* anything else → a stream of top-level values.

Each line or top-level value is what :func:`functions.messages.bodies.classify` says it is, as a WriterQueue
body is for the writer: a record, an array or an envelope (its records), or an ambiguous envelope (a
duplicated key: an :class:`AmbiguousValue`, one InvalidRecord with the value verbatim). One exception, for
memory: a first value that is envelope-shaped (only ``source`` before a ``records`` array) and larger than
:data:`RAW_RECORD_LIMIT_BYTES` (which no record can be) has its records streamed as they are read; a key
after that array other than a first ``source`` then ends the file with a failure, as broken structure does.

How, and why this way:

* **Bounded memory and linear time for any file.** The reader keeps a window of the object, never more than
  :data:`RAW_RECORD_LIMIT_BYTES` of one value plus a chunk. Values are delimited by a small scanner that only
  follows strings and brackets (iteratively: 100,000 nesting levels are 200,000 brackets, no recursion). A
  value longer than the limit is skipped without being kept (a 200 MB string costs one pass over its bytes)
  and becomes an :class:`OversizedRecord` naming its number, byte offset and size.
* **Fast path.** Within an array, a window of up to :data:`FAST_WINDOW_BYTES` is cut after the last ``}``
  followed by ``,`` or ``]`` and decoded in one msgspec call as ``[`` + window + ``]``. The cut needs no
  proof: if it fell inside a string or a nested value, the text would not be valid JSON and the decode
  fails. Any failure (a bad record, a lone surrogate, an integer of more than 4,300 digits, deep nesting)
  sends that window to the slow path, which delimits and decodes its values one by one with the stdlib
  (:func:`functions.messages.codec.decode_json`), so each problem is reported for its own record.
* **No C parser that can crash.** ijson's C backend dies on an integer literal Python refuses; msgspec and
  the stdlib raise, and an error is always one record's (or, for broken structure, the file's) failure.

A failure is not an exception here but an item in its place in the file: :class:`ParseFailure` (broken
structure, or one undecodable value) or :class:`OversizedRecord`. Records read before it stay read and sent.
After a structural failure in an array or object nothing more can be read (``fatal``); a broken value whose
extent is known (a JSON line, an array item with balanced brackets) costs that value only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, NamedTuple, Protocol

import msgspec

from functions.contract.layouts import LAYOUTS, columns_of
from functions.messages.bodies import Shape, classify, envelope_shaped, object_shape
from functions.messages.codec import decode_json

CHUNK_BYTES = 64 * 1024
"""Read size on the S3 stream: large enough to amortise its per-read cost."""
RAW_RECORD_LIMIT_BYTES = 1024 * 1024
"""The largest value (one record as it stands in the file, unknown keys included) the reader keeps in
memory. Larger values are skipped and reported. It is four times a message, so a record carrying a large
unknown field still gets the chance to be dropped down to a small valid record."""
FAST_WINDOW_BYTES = 256 * 1024
"""Bytes of an array decoded per msgspec call on the fast path."""
HEAD_LIMIT_BYTES = 4 * 1024 * 1024
"""How far the shape detection may read ahead (an envelope's ``records`` key after megabytes of other keys
is read as a plain object stream)."""
EXCERPT_BYTES = 2048
"""How much of a broken line or of the bytes around a parse error travels in the failure message."""
BLOCK_VALUES = 512
"""Records per :class:`Block`: the transformer normalises a block column by column."""
BOM = b"\xef\xbb\xbf"
_WHITESPACE = b" \t\r\n"
_NON_SPACE = re.compile(rb"[^ \t\r\n]")
_STRUCTURE = re.compile(rb'["\[\]{}]')
_STRING_STOP = re.compile(rb'["\\]')
_SCALAR_END = re.compile(rb"[,\]}\s]")
_AFTER_VALUE = re.compile(rb"[ \t\r\n]*[,\]]")
_VALUE_START = frozenset(b'{["-0123456789tfn')
_FAST = msgspec.json.Decoder(float_hook=Decimal)
"""Numbers with a fraction or exponent as exact ``Decimal`` (as :func:`decode_json` gives them)."""
LAYOUT_MISSES = 3
"""Windows in a row that fit no layout (:mod:`functions.contract.layouts`: records spelled several ways,
unknown keys, a required field absent) after which a file's windows are decoded into dicts only: a window
that fits none is decoded twice, and a file whose records never fit pays that at most this many times."""
_SLOW: Any = object()
"""A JSON line the fast decoder refused: the slow path says why."""
_FAST_ERRORS = (msgspec.MsgspecError, RecursionError, ArithmeticError, ValueError)
"""What the fast decoder raises on input the slow path must look at (``ArithmeticError``: an exponent no
``Decimal`` can hold, from the float hook)."""


class ReadableStream(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _LayoutWindow:
    """Records of a window decoded into layout structs (:mod:`functions.contract.layouts`): its ``rows``,
    and the same records as dicts, decoded from the same bytes only when asked for (an invalid record
    travels as it stands in the file)."""

    __slots__ = ("_decode", "_values", "rows")

    def __init__(self, rows: list[Any], decode: Callable[[], list[Any]]) -> None:
        self.rows = rows
        self._decode = decode
        self._values: list[Any] | None = None

    def values(self, start: int, stop: int) -> list[Any]:
        if self._values is None:
            self._values = self._decode()
        return self._values[start:stop]


class _LayoutDecoders(NamedTuple):
    """One layout's decoders: a JSON array of records, and one record (a JSON line)."""

    array: msgspec.json.Decoder[Any]
    one: msgspec.json.Decoder[Any]


class Block:
    """Consecutive records of the file, at most :data:`BLOCK_VALUES`: ``values[i]`` is record ``first + i``
    (counting from 1) and, in JSON Lines, stands on line ``lines[i]``.

    When every record of the block is spelled one way, the reader decodes them straight into ``columns``
    (one list per field, ``FIELDS`` order: :func:`functions.contract.normalise_columns` takes them) and
    ``values`` are decoded from the same bytes only if asked for.

    Why blocks and not one item per record: the transformer normalises and encodes records a block at a
    time anyway, and a generator step per record cost a tenth of its time.
    """

    __slots__ = ("_source", "_start", "_values", "columns", "count", "first", "lines")

    def __init__(
        self,
        first: int,
        values: list[Any] | None,
        lines: list[int] | None,
        *,
        columns: list[list[Any]] | None = None,
        source: _LayoutWindow | None = None,
        start: int = 0,
    ) -> None:
        self.first = first
        self.lines = lines
        self.columns = columns
        self._values = values
        self._source = source
        self._start = start
        self.count = len(values) if values is not None else len(columns[0]) if columns else 0

    @property
    def values(self) -> list[Any]:
        """The records as the untyped decoder gives them."""
        if self._values is None:
            assert self._source is not None  # a block holds its values or the bytes they come from
            self._values = self._source.values(self._start, self._start + self.count)
        return self._values

    def position(self, index: int) -> tuple[int, int | None]:
        """(record number, line or None) of ``values[index]``."""
        return self.first + index, (self.lines[index] if self.lines is not None else None)

    def __repr__(self) -> str:
        return f"Block(first={self.first}, count={self.count}, columns={self.columns is not None})"


class ParseFailure(NamedTuple):
    """Where and why the file, or one value of it, could not be read."""

    position: str
    """``byte 1234`` / ``line 17, column 5`` / ``end of file``."""
    reason: str
    excerpt: str
    records_before: int
    fatal: bool
    """True when nothing after it can be read; False when only this value is lost."""


class OversizedRecord(NamedTuple):
    """A value larger than :data:`RAW_RECORD_LIMIT_BYTES`: skipped unread; it keeps its record number."""

    number: int
    line: int | None
    position: str
    size: int
    excerpt: str


class AmbiguousValue(NamedTuple):
    """An envelope-shaped value with a duplicated key (:func:`functions.messages.bodies.classify`): one
    record's place in the file, refused whole."""

    number: int
    line: int | None
    position: str
    text: str
    """The value verbatim."""
    problem: str


Item = Block | ParseFailure | OversizedRecord | AmbiguousValue
"""What iterating a :class:`RecordReader` gives, in file order."""


class FileShape:
    ARRAY = "array"
    OBJECT = "object"
    ENVELOPE = "envelope"
    JSON_LINES = "json-lines"
    EMPTY = "empty"


class _Fatal(Exception):
    """Broken structure: the reader stops with one fatal :class:`ParseFailure`."""

    def __init__(self, reason: str, offset: int | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.offset = offset
        """Byte offset of the problem; None at the end of the file."""


def _excerpt(data: bytes) -> str:
    return data[:EXCERPT_BYTES].decode("utf-8", "replace") + ("…" if len(data) > EXCERPT_BYTES else "")


def decode_value(raw: bytes) -> Any:
    """One JSON value, exactly as :func:`functions.messages.codec.decode_json` reads it. Raises ``ValueError``
    (with a reason for a human) when it is not one, including nesting too deep for any recursive parser."""
    try:
        return decode_json(raw)
    except RecursionError:
        raise ValueError("nested too deeply to read (over the parser's recursion limit)") from None


class _Window:
    """The object as a sliding window of bytes: ``buf[i]`` is the object's byte ``base + i``.

    Everything before ``keep`` may be dropped on the next read; readers move ``pos`` forward.
    """

    def __init__(self, head: bytes, stream: ReadableStream, base: int) -> None:
        self.buf = head
        self.base = base
        self.pos = 0
        self.stream = stream
        self.eof = False

    @property
    def offset(self) -> int:
        return self.base + self.pos

    @property
    def bytes_read(self) -> int:
        return self.base + len(self.buf)

    def more(self, keep: int) -> int:
        """Drop the bytes before index ``keep``, read one chunk; return how far indexes moved (0 at the end
        of the object, with ``eof`` set)."""
        if self.eof:
            return 0
        chunk = self.stream.read(CHUNK_BYTES)
        if not chunk:
            self.eof = True
        self.buf = self.buf[keep:] + chunk
        self.base += keep
        self.pos -= keep
        return keep

    def peek(self) -> int | None:
        """The next non-whitespace byte (``pos`` moved onto it), or None at the end of the object."""
        while True:
            found = _NON_SPACE.search(self.buf, self.pos)
            if found is not None:
                self.pos = found.start()
                return self.buf[self.pos]
            self.pos = len(self.buf)
            if self.eof:
                return None
            self.more(self.pos)

    def ensure(self, size: int) -> None:
        """At least ``size`` bytes after ``pos`` (fewer only at the end of the object)."""
        while len(self.buf) - self.pos < size and not self.eof:
            self.more(self.pos)

    def scan(self, limit: int) -> tuple[bytes | None, int, int, bytes]:
        """Delimit the value at ``pos`` and move past it: (its bytes or None when longer than ``limit``,
        its byte offset, its size, its first bytes). Strings and brackets only are followed; whether the
        value is valid JSON is for the decoder to say. Raises :class:`_Fatal` when no value starts here or
        the object ends inside it."""
        start = self.pos
        start_offset = self.base + start
        first = self.buf[start]
        if first not in _VALUE_START:
            raise _Fatal(f"unexpected character {chr(first)!r} where a JSON value should start", start_offset)
        head = b""
        skipped = 0  # bytes of this value already dropped (it is over the limit)
        if first not in b'{["':  # a number or a literal: it ends at the next delimiter
            index = start + 1
            while True:
                end = _SCALAR_END.search(self.buf, index)
                if end is not None or self.eof:
                    stop = end.start() if end is not None else len(self.buf)
                    break
                index = len(self.buf)
                if skipped or index - start > limit:
                    head = head or self.buf[start : start + EXCERPT_BYTES]
                    skipped += index - start
                    start = index
                shift = self.more(start)
                start -= shift
                index -= shift
            self.pos = stop
            if skipped:
                return None, start_offset, skipped + stop - start, head
            raw = self.buf[start:stop]
            return (raw if len(raw) <= limit else None), start_offset, len(raw), raw[:EXCERPT_BYTES]
        depth = 0
        in_string = False
        index = start
        buf = self.buf
        while True:
            found = (_STRING_STOP if in_string else _STRUCTURE).search(buf, index)
            if found is not None:
                at = found.start()
                byte = buf[at]
                if in_string:
                    if byte == 0x22:  # '"'
                        in_string = False
                        index = at + 1
                        if depth == 0:
                            break
                        continue
                    if at + 1 < len(buf):  # a backslash: skip the escaped byte
                        index = at + 2
                        continue
                    index = at  # the escaped byte is in the next chunk
                elif byte == 0x22:
                    in_string = True
                    index = at + 1
                    continue
                elif byte in b"[{":
                    depth += 1
                    index = at + 1
                    continue
                else:
                    depth -= 1
                    index = at + 1
                    if depth == 0:
                        break
                    continue
            else:
                index = len(buf)
            # The window ends inside the value: read on, keeping it whole only while it is within the limit.
            if self.eof:
                self.pos = len(buf)
                raise _Fatal("the file ends in the middle of a JSON value", None)
            if skipped or index - start > limit:
                if not head:
                    head = buf[start : start + EXCERPT_BYTES]
                skipped += index - start
                start = index
            shift = self.more(start)
            start -= shift
            index -= shift
            buf = self.buf
        self.pos = index
        size = skipped + index - start
        if skipped or size > limit:
            return None, start_offset, size, head or buf[start : start + EXCERPT_BYTES]
        raw = buf[start:index]
        return raw, start_offset, size, raw[:EXCERPT_BYTES]

    def expect(self, allowed: bytes, after: str) -> int:
        """The next non-whitespace byte, which must be one of ``allowed``; ``pos`` moves past it."""
        byte = self.peek()
        if byte is None:
            raise _Fatal("the file ends in the middle of a JSON value", None)
        if byte not in allowed:
            wanted = " or ".join(repr(chr(b)) for b in allowed)
            raise _Fatal(f"{after}, expected {wanted} but found {chr(byte)!r}", self.offset)
        self.pos += 1
        return byte


class RecordReader:
    """Iterate the records of one object in :class:`Block` s, with :class:`ParseFailure` and
    :class:`OversizedRecord` items in their place in the file, streaming.

    Construction reads the first bytes to detect the shape (:attr:`shape`); iteration reads the rest once.
    """

    def __init__(self, stream: ReadableStream) -> None:
        self.shape, self._window, self._stream_envelope = _detect(stream)
        self._number = 0
        """Records numbered so far (oversized ones included)."""
        self._layouts = [
            _LayoutDecoders(
                msgspec.json.Decoder(list[layout], float_hook=Decimal),  # type: ignore[valid-type]
                msgspec.json.Decoder(layout, float_hook=Decimal),
            )
            for layout in LAYOUTS
        ]
        """The layouts' decoders, the last one that fitted first."""
        self._layout_misses = 0

    @property
    def bytes_read(self) -> int:
        return self._window.bytes_read

    def __iter__(self) -> Iterator[Item]:
        window = self._window
        if self.shape == FileShape.EMPTY:
            size = window.bytes_read
            reason = "empty file (0 bytes)" if size == 0 else f"no JSON value: only whitespace ({size} bytes)"
            yield ParseFailure("end of file", reason, "", 0, fatal=True)
            return
        if self.shape == FileShape.JSON_LINES:
            yield from self._json_lines()
            return
        try:
            if self.shape == FileShape.ARRAY:
                window.expect(b"[", "at the start")
                yield from self._items()
                self._check_trailing()
            elif self._stream_envelope:
                yield from self._envelope()
                self._check_trailing()
            else:
                yield from self._values()
        except _Fatal as fatal:
            yield self._fatal(fatal)

    def _fatal(self, fatal: _Fatal) -> ParseFailure:
        window = self._window
        if fatal.offset is None:
            position = f"end of file (byte {window.bytes_read})"
            excerpt = window.buf[-EXCERPT_BYTES:]
        else:
            position = f"byte {fatal.offset}"
            at = fatal.offset - window.base
            excerpt = window.buf[max(at - EXCERPT_BYTES // 2, 0) : at + EXCERPT_BYTES // 2]
        return ParseFailure(position, fatal.reason, _excerpt(excerpt), self._number, fatal=True)

    def _records(self, values: list[Any], lines: list[int] | None = None) -> Iterator[Block]:
        """Number ``values`` as the next records, in blocks of at most :data:`BLOCK_VALUES`."""
        first = self._number + 1
        self._number += len(values)
        for start in range(0, len(values), BLOCK_VALUES):
            stop = start + BLOCK_VALUES
            yield Block(first + start, values[start:stop], None if lines is None else lines[start:stop])

    def _rows(self, source: _LayoutWindow, lines: list[int] | None = None) -> Iterator[Block]:
        """Number the rows of ``source`` as the next records, in blocks of columns."""
        rows = source.rows
        first = self._number + 1
        self._number += len(rows)
        for start in range(0, len(rows), BLOCK_VALUES):
            stop = start + BLOCK_VALUES
            yield Block(
                first + start,
                None,
                None if lines is None else lines[start:stop],
                columns=columns_of(rows[start:stop]),
                source=source,
                start=start,
            )

    def _layout_rows(self, decode: Callable[[_LayoutDecoders], list[Any]]) -> list[Any] | None:
        """``decode`` with one of the layouts (the last one that fitted tried first); None when no layout
        fits, and from then on after :data:`LAYOUT_MISSES` windows in a row fitted none."""
        if self._layout_misses >= LAYOUT_MISSES:
            return None
        for index, decoders in enumerate(self._layouts):
            try:
                rows = decode(decoders)
            except _FAST_ERRORS:
                continue
            if index:
                self._layouts.insert(0, self._layouts.pop(index))
            self._layout_misses = 0
            return rows
        self._layout_misses += 1
        return None

    def _one(
        self, raw: bytes | None, offset: int, size: int, head: bytes, *, expand: bool, line: int | None = None
    ) -> Iterator[Item]:
        """One delimited value: decoded into records, or the failure it is."""
        if raw is None:
            self._number += 1
            where = f"line {line}" if line is not None else f"byte {offset}"
            yield OversizedRecord(self._number, line, where, size, _excerpt(head))
            return
        try:
            value = decode_value(raw)
        except ValueError as error:
            if isinstance(error, json.JSONDecodeError):
                where = (
                    f"line {line}, column {error.colno}" if line is not None else f"byte {offset + error.pos}"
                )
                reason = error.msg.removesuffix(" at")  # the stdlib's control-character message ends in "at"
            else:
                where = f"line {line}" if line is not None else f"byte {offset}"
                reason = str(error)
            yield ParseFailure(where, reason, _excerpt(raw), self._number, fatal=False)
            return
        if not expand:
            yield from self._records([value])
            return
        yield from self._classified(value, raw, offset, line)

    def _classified(self, value: Any, raw: bytes, offset: int, line: int | None) -> Iterator[Item]:
        """A top-level value or a JSON line as :func:`classify` reads it: its records, or the refusal."""
        body = classify(value, raw)
        if body is None:  # a JSON scalar stands where a record should: the contract refuses it
            yield from self._records([value], None if line is None else [line])
        elif body.shape == Shape.AMBIGUOUS:
            self._number += 1
            where = f"line {line}" if line is not None else f"byte {offset}"
            text = raw.decode("utf-8", "surrogatepass")
            yield AmbiguousValue(self._number, line, where, text, body.problem or "")
        else:
            yield from self._records(body.records, None if line is None else [line] * len(body.records))

    def _items(self) -> Iterator[Item]:
        """The items of the array whose ``[`` was just read, up to and including its ``]``."""
        window = self._window
        if window.peek() == 0x5D:  # ']': an empty array
            window.pos += 1
            return
        slow_until = -1  # byte offset up to which values are read one by one (a fast window failed there)
        while True:
            if window.peek() is None:
                raise _Fatal("the file ends in the middle of a JSON value", None)
            if window.offset >= slow_until:
                values = self._fast_window()
                if isinstance(values, _LayoutWindow):
                    yield from self._rows(values)
                    if window.expect(b",]", "after an array element") == 0x5D:
                        return
                    continue
                if values is not None:
                    yield from self._records(values)
                    if window.expect(b",]", "after an array element") == 0x5D:
                        return
                    continue
                slow_until = window.offset + FAST_WINDOW_BYTES
            yield from self._one(*window.scan(RAW_RECORD_LIMIT_BYTES), expand=False)
            if window.expect(b",]", "after an array element") == 0x5D:
                return

    def _fast_window(self) -> list[Any] | _LayoutWindow | None:
        """The values of the next window of the array in one msgspec call, ``pos`` moved past the last;
        None (nothing moved) when the window has no cut or does not decode; a :class:`_LayoutWindow` when it
        decodes into a layout."""
        window = self._window
        window.ensure(FAST_WINDOW_BYTES)
        buf, start = window.buf, window.pos
        stop = min(len(buf), start + FAST_WINDOW_BYTES)
        for _ in range(4):  # a '}' inside a string is followed by ',' rarely: a few tries suffice
            cut = buf.rfind(b"}", start, stop)
            if cut < 0:
                return None
            if _AFTER_VALUE.match(buf, cut + 1) is not None:
                break
            stop = cut
        else:
            return None
        text = b"[" + buf[start : cut + 1] + b"]"
        rows = self._layout_rows(lambda decoders: decoders.array.decode(text))
        if rows is not None:
            window.pos = cut + 1
            return _LayoutWindow(rows, lambda: _FAST.decode(text))
        try:
            values = _FAST.decode(text)
        except _FAST_ERRORS:
            return None
        window.pos = cut + 1
        return values  # type: ignore[no-any-return]

    def _check_trailing(self) -> None:
        """Nothing but whitespace may follow the array or envelope."""
        window = self._window
        if window.peek() is not None:
            raise _Fatal("more content after the end of the JSON value", window.offset)

    def _envelope(self) -> Iterator[Item]:
        """A large envelope's ``records`` array streamed (module docstring); ``source`` skipped unread."""
        window = self._window
        window.expect(b"{", "at the start")
        seen: list[bytes] = []
        while True:
            window.expect(b'"', "in an object, before a key")
            window.pos -= 1
            key_offset = window.offset
            key = window.scan(RAW_RECORD_LIMIT_BYTES)[0] or b""
            window.expect(b":", "after an object key")
            if key in seen or key not in (b'"records"', b'"source"'):
                raise _Fatal(
                    f"key {key[:80].decode('utf-8', 'replace')} after the records of an envelope larger than "
                    f"{RAW_RECORD_LIMIT_BYTES} bytes: an envelope holds 'records' and optionally 'source', "
                    f"once each (the records before it were read)",
                    key_offset,
                )
            seen.append(key)
            if key == b'"records"':  # the shape detection saw it open an array
                window.expect(b"[", "after the key 'records'")
                yield from self._items()
            else:
                if window.peek() is None:
                    raise _Fatal("the file ends in the middle of a JSON value", None)
                window.scan(0)  # skipped, whatever its size
            if window.expect(b",}", "after an object member") == 0x7D:
                return

    def _values(self) -> Iterator[Item]:
        """A stream of top-level values, each a record (arrays and envelopes expanded)."""
        window = self._window
        while window.peek() is not None:
            yield from self._one(*window.scan(RAW_RECORD_LIMIT_BYTES), expand=True)

    def _fast_lines(self) -> _LayoutWindow | None:
        """The complete lines of the next window decoded into a layout, one line one record, ``pos`` moved
        past them; None (nothing moved) when the window holds no complete line or a line does not fit a
        layout (a blank line, a broken one, one holding two values or an array: the line-by-line path says
        what each is)."""
        window = self._window
        window.ensure(FAST_WINDOW_BYTES)
        buf, start = window.buf, window.pos
        last = buf.rfind(b"\n", start, start + FAST_WINDOW_BYTES)
        if last <= start:
            return None
        lines = buf[start:last].split(b"\n")
        rows = self._layout_rows(lambda decoders: list(map(decoders.one.decode, lines)))
        if rows is None:
            return None
        window.pos = last + 1
        return _LayoutWindow(rows, lambda: list(map(_FAST.decode, lines)))

    def _json_lines(self) -> Iterator[Item]:
        """Each line one value; a broken or oversized line is a failure in its place, the next line reads.
        Runs of lines that fit a layout are decoded a window at a time (:meth:`_fast_lines`)."""
        window = self._window
        line_number = 0
        values: list[Any] = []
        numbers: list[int] = []
        slow_until = -1  # byte offset up to which lines are read one by one (a fast window failed there)
        while True:
            if window.offset >= slow_until and self._layout_misses < LAYOUT_MISSES:
                yield from self._records(values, numbers)  # the records before the window first
                values, numbers = [], []
                fast = self._fast_lines()
                if fast is not None:
                    count = len(fast.rows)
                    yield from self._rows(fast, list(range(line_number + 1, line_number + 1 + count)))
                    line_number += count
                    continue
                slow_until = window.offset + FAST_WINDOW_BYTES
            buf, start = window.buf, window.pos
            newline = buf.find(b"\n", start)
            if newline < 0 and not window.eof:
                if len(buf) - start <= RAW_RECORD_LIMIT_BYTES:
                    if values:  # what is decoded goes on before the next read
                        yield from self._records(values, numbers)
                        values, numbers = [], []
                    window.more(start)
                    continue
                yield from self._records(values, numbers)
                values, numbers = [], []
                line_number += 1
                yield self._skip_line(line_number)
                continue
            stop = newline if newline >= 0 else len(buf)
            window.pos = stop + 1 if newline >= 0 else stop
            line = buf[start:stop]
            if newline < 0 and not line:
                break
            line_number += 1
            if not line.strip(_WHITESPACE):
                if newline < 0:
                    break
                continue
            if len(line) > RAW_RECORD_LIMIT_BYTES:
                yield from self._records(values, numbers)
                values, numbers = [], []
                self._number += 1
                where = f"line {line_number}"
                yield OversizedRecord(self._number, line_number, where, len(line), _excerpt(line))
                continue
            try:
                value = _FAST.decode(line)
            except _FAST_ERRORS:
                value = _SLOW
            if value.__class__ is dict and not envelope_shaped(value):
                values.append(value)  # a record (classify's verdict, without the call)
                numbers.append(line_number)
            else:
                yield from self._records(values, numbers)  # the records before it first
                values, numbers = [], []
                offset = window.base + start
                if value is _SLOW:
                    yield from self._one(line, offset, len(line), line, expand=True, line=line_number)
                else:
                    yield from self._classified(value, line, offset, line_number)
            if len(values) >= BLOCK_VALUES:
                yield from self._records(values, numbers)
                values, numbers = [], []
            if newline < 0:
                break
        yield from self._records(values, numbers)

    def _skip_line(self, line_number: int) -> OversizedRecord:
        """The line at ``pos`` is over the limit: read past its end without keeping it."""
        window = self._window
        start_offset = window.offset
        head = window.buf[window.pos : window.pos + EXCERPT_BYTES]
        while True:
            newline = window.buf.find(b"\n", window.pos)
            if newline >= 0:
                window.pos = newline + 1
                size = window.offset - start_offset - 1
                break
            window.pos = len(window.buf)
            if window.eof:
                size = window.offset - start_offset
                break
            window.more(window.pos)
        self._number += 1
        return OversizedRecord(self._number, line_number, f"line {line_number}", size, _excerpt(head))


def _detect(stream: ReadableStream) -> tuple[str, _Window, bool]:
    """The file's shape, its window, and whether its records are streamed from one large envelope."""
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
        window = _Window(body, stream, base)
        window.eof = True
        return FileShape.EMPTY, window, False
    first = text[:1]
    if first == b"[":
        return FileShape.ARRAY, _Window(body, stream, base), False
    if first != b"{":
        return FileShape.OBJECT, _Window(body, stream, base), False
    # '{': JSON Lines if the first line alone is a JSON value and something follows it on a later line.
    while b"\n" not in text and len(body) < HEAD_LIMIT_BYTES:
        chunk = stream.read(CHUNK_BYTES)
        if not chunk:
            break
        body += chunk
        text += chunk
    newline = text.find(b"\n")
    if newline > 0 and text[newline:].strip(_WHITESPACE):
        try:
            decode_value(text[:newline])
        except ValueError:
            pass
        else:
            return FileShape.JSON_LINES, _Window(body, stream, base), False
    # One object, maybe an envelope: only "source" before a "records" key opening an array.
    while True:
        verdict = _envelope_verdict(body)
        if verdict is not None or len(body) >= HEAD_LIMIT_BYTES:
            break
        chunk = stream.read(CHUNK_BYTES)
        if not chunk:
            break
        body += chunk
    if not verdict:
        return FileShape.OBJECT, _Window(body, stream, base), False
    # An object of a record's size is held whole and judged by all its keys, as the writer judges a body;
    # its records are streamed all the same, so a broken one costs that record only.
    while len(body) <= RAW_RECORD_LIMIT_BYTES + CHUNK_BYTES:
        chunk = stream.read(CHUNK_BYTES)
        if not chunk:
            break
        body += chunk
    keys = _top_level_keys(body)
    if keys is None:  # larger than any record: streamed, its keys checked as they come (module docstring)
        return FileShape.ENVELOPE, _Window(body, stream, base), True
    if object_shape(keys[0], records_is_array=keys[1]) == Shape.ENVELOPE:
        return FileShape.ENVELOPE, _Window(body, stream, base), True
    return FileShape.OBJECT, _Window(body, stream, base), False


def _top_level_keys(head: bytes) -> tuple[list[str], bool] | None:
    """The keys of the object that starts ``head``, as written (a repeated key each time), and whether its
    first ``records`` value is an array; None when the object does not end within ``head``."""
    window = _Window(head, _NoStream(), 0)
    window.eof = True
    keys: list[str] = []
    records_is_array: bool | None = None
    try:
        window.expect(b"{", "at the start")
        if window.peek() == 0x7D:
            return keys, False
        while True:
            window.expect(b'"', "before a key")
            window.pos -= 1
            raw = window.scan(RAW_RECORD_LIMIT_BYTES)[0]
            window.expect(b":", "after a key")
            key = decode_value(raw) if raw is not None else None
            if not isinstance(key, str) or window.peek() is None:
                return None
            if key == "records" and records_is_array is None:
                records_is_array = window.buf[window.pos] == 0x5B
            window.scan(0)
            keys.append(key)
            if window.expect(b",}", "after a member") == 0x7D:
                return keys, bool(records_is_array)
    except (_Fatal, ValueError):
        return None


class _NoStream:
    def read(self, size: int = -1, /) -> bytes:
        return b""


def _envelope_verdict(head: bytes) -> bool | None:
    """True/False once the first top-level object shows whether it may be an envelope (no key but ``source``
    before a ``records`` key opening an array); None if ``head`` is too short to tell."""
    window = _Window(head, _NoStream(), 0)
    try:
        window.expect(b"{", "at the start")
        if window.peek() == 0x7D:
            return False
        while True:
            window.expect(b'"', "before a key")
            window.pos -= 1
            key = window.scan(HEAD_LIMIT_BYTES)[0]
            window.expect(b":", "after a key")
            if key == b'"records"':
                return window.peek() == 0x5B
            if key != b'"source"':
                return False
            if window.peek() is None:
                return None
            window.scan(0)
            if window.expect(b",}", "after a member") == 0x7D:
                return False
    except _Fatal as fatal:
        return None if fatal.offset is None else False


class FileSurvey(NamedTuple):
    """What the transformer would read in a file: :func:`survey`."""

    shape: str
    records: int
    """Records it would send on (valid or not), oversized and ambiguous ones included."""
    failures: list[ParseFailure]
    """Where it could not read (an empty file, broken JSON, a value nested too deeply...), in file order."""
    oversized: int
    """Records over :data:`RAW_RECORD_LIMIT_BYTES`, which it would report instead of sending."""


def survey(stream: ReadableStream) -> FileSurvey:
    """Read a whole file as the transformer would, in bounded memory, and say what it holds.

    For callers outside the pipeline that must judge a file without risk (``pipeline-ctl upload`` counting
    records before it uploads): any bytes whatever, an integer literal of any length, any nesting depth,
    give an answer, never a crash.
    """
    reader = RecordReader(stream)
    records = oversized = 0
    failures: list[ParseFailure] = []
    for item in reader:
        if isinstance(item, Block):
            records += item.count
        elif isinstance(item, OversizedRecord):
            records += 1
            oversized += 1
        elif isinstance(item, AmbiguousValue):
            records += 1
        else:
            failures.append(item)
    return FileSurvey(reader.shape, records, failures, oversized)
