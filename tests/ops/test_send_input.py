"""``ops.send_input``: records read as a stream, errors located by line and column as ``json`` says them."""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest

from ops.errors import InvalidInput
from ops.send_input import CHUNK_CHARS, MAX_RECORD_CHARS, stream_records


class CountingReads:
    """A text stream that remembers the largest read asked of it (the reader's window, not the input)."""

    def __init__(self, text: str) -> None:
        self.text = io.StringIO(text)
        self.largest = 0

    def readline(self, size: int, /) -> str:
        line = self.text.readline(size)
        self.largest = max(self.largest, len(line))
        return line


def test_a_one_line_array_larger_than_any_record_is_read_in_chunks() -> None:
    records = [{"account_id": f"a-{n}", "balance": Decimal("0.10"), "pad": "x" * 100} for n in range(30_000)]
    text = json.dumps(records, default=str)
    assert len(text) > MAX_RECORD_CHARS  # one line longer than a line may be: an array is not read as one
    stream = CountingReads(text)

    read = list(stream_records(stream, "big.json"))

    assert len(read) == 30_000 and read[-1]["account_id"] == "a-29999"
    assert stream.largest <= CHUNK_CHARS


def test_an_error_deep_in_a_pretty_printed_array_names_its_line_and_column() -> None:
    text = json.dumps([{"account_id": f"a-{n}", "n": n} for n in range(5000)], indent=2)
    broken = text.replace('"n": 4321', '"n": 43 21')
    [line_number] = [number for number, line in enumerate(broken.splitlines(), 1) if "43 21" in line]

    with pytest.raises(InvalidInput) as raised:
        list(stream_records(io.StringIO(broken), "f.json"))

    assert (
        raised.value.message == f"f.json:{line_number}: not valid JSON: Expecting ',' delimiter (column 13)"
    )


def test_records_before_the_break_are_yielded_before_it_is_met() -> None:
    stream = stream_records(io.StringIO('{"a": 1}\n{"a": 2}\n{"a": \n'), "s")

    assert next(stream) == {"a": 1} and next(stream) == {"a": 2}
    with pytest.raises(InvalidInput, match="s:3: not valid JSON"):
        next(stream)


def test_an_endless_line_is_refused_not_read_on() -> None:
    class Endless:
        def readline(self, size: int, /) -> str:
            return "x" * size

    with pytest.raises(InvalidInput, match="a line longer than"):
        list(stream_records(Endless(), "<stdin>"))
