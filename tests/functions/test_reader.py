"""The transformer's reader: records in numbered blocks, failures in their place, whatever the shape."""

from __future__ import annotations

import io
import json
from typing import Any

from functions.transformer.core import transform_stream
from functions.transformer.reader import BLOCK_VALUES, Block, FileShape, ParseFailure, RecordReader
from tests.support.functions import record


def read(data: bytes) -> tuple[str, list[Block | ParseFailure]]:
    reader = RecordReader(io.BytesIO(data))
    return reader.shape, list(reader)


def positions(items: list[Block | ParseFailure]) -> list[tuple[int, int | None, Any]]:
    """(record number, line, value) of every record, in the order the reader gave them."""
    return [
        (*item.position(index), value)
        for item in items
        if isinstance(item, Block)
        for index, value in enumerate(item.values)
    ]


def test_json_lines_blocks_are_bounded_numbered_and_a_broken_line_stands_in_its_place() -> None:
    # GIVEN 1,300 one-line records (thousands fit in one 64 KiB chunk), line 700 broken
    lines = [json.dumps({"n": number}) for number in range(1, 1301)]
    lines[699] = '{"n": 700,'
    shape, items = read("\n".join(lines).encode())
    assert shape == FileShape.JSON_LINES
    # THEN no block is larger than BLOCK_VALUES, the failure comes right after record 699
    assert all(len(item.values) <= BLOCK_VALUES for item in items if isinstance(item, Block))
    [failure_index] = [i for i, item in enumerate(items) if isinstance(item, ParseFailure)]
    failure = items[failure_index]
    assert isinstance(failure, ParseFailure)
    assert (failure.position, failure.records_before, failure.fatal) == ("line 700, column 11", 699, False)
    assert positions(items[:failure_index])[-1] == (699, 699, {"n": 699})
    assert positions(items[failure_index + 1 :])[0] == (700, 701, {"n": 701})
    # AND every other record is there once, numbered in order, with its own line
    expected = [(n, n, {"n": n}) for n in range(1, 700)] + [(n - 1, n, {"n": n}) for n in range(701, 1301)]
    assert positions(items) == expected


def test_top_level_values_expand_into_bounded_blocks_numbered_across_values() -> None:
    # GIVEN an object stream whose top-level values are one record, an array of 1,000, and an envelope of 100
    data = (
        json.dumps({"n": 0})
        + " "
        + json.dumps([{"n": n} for n in range(1, 1001)])
        + json.dumps({"records": [{"n": n} for n in range(1001, 1101)]})
    ).encode()
    shape, items = read(data)
    assert shape == FileShape.OBJECT
    assert all(isinstance(item, Block) and len(item.values) <= BLOCK_VALUES for item in items)
    assert positions(items) == [(n + 1, None, {"n": n}) for n in range(1101)]


def test_an_oversized_record_deep_in_json_lines_is_named_by_its_number_and_line() -> None:
    # GIVEN 600 small JSON lines, a blank line, then an invalid record (travels raw) too large for a message
    big = record("big", currency="not-a-currency", note="x" * 9000)
    lines = [json.dumps(record(f"a{i}")) for i in range(600)] + ["", json.dumps(big)]
    sink_calls: list[list[dict[str, Any]]] = []
    report = transform_stream(
        io.BytesIO("\n".join(lines).encode()),
        source="s3://b/k.json",
        sink=lambda entries: sink_calls.append(entries) or [],
        message_limit=8192,
    )
    reasons = [
        entry["MessageAttributes"]["error_message"]["StringValue"]
        for call in sink_calls
        for entry in call
        if "error_type" in entry["MessageAttributes"]
    ]
    assert len(reasons) == 1 and reasons[0].startswith("record 601 (line 602): ")
    assert (report.records, report.valid, report.too_large) == (601, 600, 1)
