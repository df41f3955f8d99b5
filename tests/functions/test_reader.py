"""The transformer's reader: records in numbered blocks, failures in their place, whatever the shape."""

from __future__ import annotations

import io
import json
import random
import re
from typing import Any

import pytest

from bench.transformer_data import Shape, shaped_records
from functions.contract import FIELDS, normalise
from functions.contract.layouts import ABSENT
from functions.errors import InvalidRecord
from functions.messages.bodies import classify
from functions.messages.codec import decode_json
from functions.transformer import reader as reader_module
from functions.transformer.core import transform_stream
from functions.transformer.reader import (
    BLOCK_VALUES,
    LAYOUT_MISSES,
    RAW_RECORD_LIMIT_BYTES,
    Block,
    FileShape,
    Item,
    ParseFailure,
    RecordReader,
    survey,
)
from tests.support.functions import record


def read(data: bytes) -> tuple[str, list[Item]]:
    reader = RecordReader(io.BytesIO(data))
    return reader.shape, list(reader)


def positions(items: list[Item]) -> list[tuple[int, int | None, Any]]:
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

    def sink(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        sink_calls.append(entries)
        return []

    report = transform_stream(
        io.BytesIO("\n".join(lines).encode()), source="s3://b/k.json", sink=sink, message_limit=8192
    )
    reasons = [
        entry["MessageAttributes"]["error_message"]["StringValue"]
        for call in sink_calls
        for entry in call
        if "error_type" in entry["MessageAttributes"]
    ]
    assert len(reasons) == 1 and reasons[0].startswith("record 601 (line 602): ")
    assert (report.records, report.valid, report.too_large) == (601, 600, 1)


# --- hostile values: each costs its own record, never the file, never the process ------------------------

LONG_DIGITS = "9" * 5000
"""Over Python's 4,300-digit limit for int(): ijson's C backend crashed the process on it."""


def _file(shape: str, texts: list[str]) -> bytes:
    """Record texts (JSON object text each) laid out as one of the four file shapes."""
    if shape == "array":
        return ("[" + ",\n".join(texts) + "]").encode()
    if shape == "envelope":
        return ('{"source": "x", "records": [' + ",".join(texts) + "]}").encode()
    if shape == "json-lines":
        return ("\n".join(texts) + "\n").encode()
    return " ".join(texts).encode()  # a stream of top-level objects


def _transform(data: bytes) -> tuple[Any, list[dict[str, Any]], list[dict[str, str]]]:
    """(report, records sent in envelopes, failure attributes) of one file through the transformer."""
    sent_entries: list[dict[str, Any]] = []

    def sink(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        sent_entries.extend(entries)
        return []

    report = transform_stream(io.BytesIO(data), source="s3://b/f.json", sink=sink)
    sent, failed = [], []
    for entry in sent_entries:
        attributes = {k: v["StringValue"] for k, v in entry["MessageAttributes"].items()}
        if "error_type" in attributes:
            failed.append(attributes)
        else:
            sent += decode_json(entry["MessageBody"])["records"]
    return report, sent, failed


SHAPES = ["array", "envelope", "json-lines", "objects"]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("where", [0, 1, 2])
@pytest.mark.parametrize("field", ["balance", "unknown", "nested"])
def test_an_integer_over_4300_digits_costs_only_its_record(shape: str, where: int, field: str) -> None:
    # GIVEN three records, one of which carries a 5,000-digit integer literal
    texts = [json.dumps(record(f"r{i}")) for i in range(3)]
    literal = {
        "balance": f'"balance": {LONG_DIGITS}',
        "unknown": f'"note": {LONG_DIGITS}',
        "nested": f'"note": {{"deep": [1, {LONG_DIGITS}]}}',
    }[field]
    texts[where] = texts[where][:-1] + ", " + literal + "}"
    # WHEN transformed (before: the process died)
    report, sent, failed = _transform(_file(shape, texts))
    # THEN a long balance makes that record invalid naming the field; an unknown one is simply dropped
    assert failed == []
    assert [r["account_id"] for r in sent] == ["r0", "r1", "r2"]
    if field == "balance":
        assert (report.valid, report.invalid) == (2, 1)
        with pytest.raises(InvalidRecord, match=r"^balance: more than 38 significant digits \(5000\)"):
            normalise(sent[where])
    else:
        assert (report.valid, report.invalid) == (3, 0)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("escape", ["\\ud800", "\\udc00"])
def test_a_lone_surrogate_is_invalid_naming_its_field_and_nothing_else_changes(
    shape: str, escape: str
) -> None:
    # GIVEN records with a lone surrogate escape in a field, in an unknown key's value, and in a key
    texts = [json.dumps(record(f"r{i}")) for i in range(4)]
    texts[1] = texts[1].replace('"Ada Lovelace"', f'"Ada {escape} Lovelace"')
    texts[2] = texts[2][:-1] + f', "note": "x{escape}"}}'
    texts[3] = texts[3][:-1] + f', "k{escape}": 1}}'
    report, sent, failed = _transform(_file(shape, texts))
    # THEN only the record whose name holds it is invalid, naming the field, sent raw (escaped, unaltered)
    assert failed == []
    assert [r["account_id"] for r in sent] == ["r0", "r1", "r2", "r3"]
    assert (report.valid, report.invalid) == (3, 1)
    with pytest.raises(InvalidRecord) as invalid:
        normalise(sent[1])
    assert invalid.value.fields == ["name"]
    assert sent[1]["name"] == "Ada " + escape.encode().decode("unicode_escape") + " Lovelace"
    assert all("?" not in r["name"] for r in sent)


@pytest.mark.parametrize("shape", SHAPES)
def test_a_value_over_the_read_limit_is_skipped_unkept_and_named(shape: str) -> None:
    # GIVEN a record whose unknown field is longer than the reader keeps, between two ordinary records
    huge = json.dumps(record("huge", blob="x" * (RAW_RECORD_LIMIT_BYTES + 10)))
    texts = [json.dumps(record("before")), huge, json.dumps(record("after"))]
    report, sent, failed = _transform(_file(shape, texts))
    # THEN the others flow and the huge one is one RecordTooLarge naming its number and size
    assert [r["account_id"] for r in sent] == ["before", "after"]
    [failure] = failed
    assert failure["error_type"] == "RecordTooLarge"
    assert re.match(
        rf"record 2 \((byte \d+|line 2)\): {len(huge)} bytes as it stands in the file",
        failure["error_message"],
    )
    assert (report.records, report.valid, report.too_large) == (3, 2, 1)


@pytest.mark.parametrize("shape", SHAPES)
def test_a_record_nested_100000_levels_is_one_precise_failure_and_the_file_reads_on(shape: str) -> None:
    deep = json.dumps(record("deep"))[:-1] + ', "extra": ' + "[" * 100_000 + "]" * 100_000 + "}"
    texts = [json.dumps(record("before")), deep, json.dumps(record("after"))]
    _, sent, failed = _transform(_file(shape, texts))
    assert [r["account_id"] for r in sent] == ["before", "after"]
    [failure] = failed
    assert failure["error_type"] == "UnreadableFile"
    assert "nested too deeply to read" in failure["error_message"]
    assert "(after record 1)" in failure["error_message"]


def test_an_envelope_source_over_the_read_limit_is_skipped_and_its_records_flow() -> None:
    data = (
        '{"source": "'
        + "c" * (RAW_RECORD_LIMIT_BYTES * 2)
        + '", "records": ['
        + json.dumps(record("a"))
        + ","
        + json.dumps(record("b"))
        + "]}"
    ).encode()
    report, sent, failed = _transform(data)
    assert (report.shape, [r["account_id"] for r in sent], failed) == ("envelope", ["a", "b"], [])


def test_an_object_with_records_and_another_key_over_the_read_limit_is_one_record_too_large() -> None:
    # an object with a key other than source is a record (its "records" an unknown key), whatever its size
    data = (
        '{"comment": "'
        + "c" * (RAW_RECORD_LIMIT_BYTES * 2)
        + '", "records": ['
        + json.dumps(record("a"))
        + "]}"
    ).encode()
    report, sent, failed = _transform(data)
    assert (report.shape, sent, report.records) == ("object", [], 1)
    assert [f["error_type"] for f in failed] == ["RecordTooLarge"]


@pytest.mark.parametrize("shape", SHAPES)
def test_survey_counts_what_the_transformer_reads_and_never_crashes(shape: str) -> None:
    # GIVEN a file of every hostile kind: a 5,000-digit integer, a lone surrogate, an oversized value
    texts = [
        json.dumps(record("a"))[:-1] + f', "n": {LONG_DIGITS}}}',
        json.dumps(record("b")).replace("Ada", "\\udc00"),
        json.dumps(record("c", blob="x" * (RAW_RECORD_LIMIT_BYTES + 1))),
    ]
    found = survey(io.BytesIO(_file(shape, texts)))
    assert (found.records, found.oversized, found.failures) == (3, 1, [])
    broken = survey(io.BytesIO(b'[{"a": 1}, {"b": tru}, {"c": 3}]'))
    assert broken.records == 2
    assert [(f.position, f.fatal) for f in broken.failures] == [("byte 17", False)]


@pytest.mark.parametrize("data", [b'[{"n": 1}] {"n": 2}', b'{"records": [{"n": 1}]} [3]'])
def test_content_after_the_array_or_envelope_is_one_fatal_failure_after_its_records(data: bytes) -> None:
    _, items = read(data)
    assert positions(items) == [(1, None, {"n": 1})]
    [failure] = [item for item in items if isinstance(item, ParseFailure)]
    assert (failure.reason, failure.records_before, failure.fatal) == (
        "more content after the end of the JSON value",
        1,
        True,
    )


# --- the reader against json.loads on random files, read in random small pieces --------------------------


class _Trickle:
    """A stream that returns fewer bytes than asked, at random (S3 streams may)."""

    def __init__(self, data: bytes, rng: random.Random) -> None:
        self.data, self.at, self.rng = data, 0, rng

    def read(self, size: int = -1) -> bytes:
        count = self.rng.randint(1, 3000)
        piece = self.data[self.at : self.at + count]
        self.at += len(piece)
        return piece


_TRICKY = [1, -2.5, "x", 'a"},{"b', "}, ", "\\", "é\n\t", None, True, 12345678901234567890, "]"]
"""Strings that look like the fast path's cut (``},{``), brackets and escapes inside strings."""


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 3 or roll < 0.3:
        return rng.choice(_TRICKY)
    if roll < 0.6:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(["a", "b", "}", "records", "k,"]): _random_value(rng, depth + 1) for _ in range(3)}


def _classified(text: str) -> list[Any]:
    body = classify(decode_json(text), text)
    assert body is not None
    return body.records


@pytest.mark.parametrize("seed", range(4))
def test_random_files_read_in_random_pieces_give_what_json_loads_gives(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader_module, "FAST_WINDOW_BYTES", 300)  # many windows, many cuts
    rng = random.Random(seed)
    for _ in range(150):
        rows = [_random_value(rng) for _ in range(rng.randint(1, 30))]
        rows = [row if isinstance(row, dict) and rng.random() < 0.8 else {"v": row} for row in rows]
        if rng.random() < 0.4:  # records that fit a layout, now and then another among them
            tour = _tour_shaped(len(rows), rng.choice(["snake", "camel"]))
            rows = [row if rng.random() < 0.1 else good for row, good in zip(rows, tour, strict=True)]
        shape = rng.choice(["array", "envelope", "record", "lines"])
        separator = rng.choice([",", ", ", ",\n", " ,\n  "])
        if shape == "array":
            text = "[" + separator.join(json.dumps(row) for row in rows) + "]"
        elif shape == "envelope":
            text = json.dumps({"source": "s", "records": rows})
        elif shape == "record":  # a key besides source and records: one record, its records unknown
            text = json.dumps({"source": "s", "records": rows, "x": {"records": 1}})
        else:
            text = "\n".join(json.dumps(row) for row in rows)
        items = list(RecordReader(_Trickle(text.encode(), rng)))
        assert all(isinstance(item, Block) for item in items), items
        expected = decode_json(json.dumps(rows))
        if shape == "record":
            expected = [decode_json(text)]
        if shape == "lines":  # a line holding an envelope or an array is expanded into its records
            expected = [record for row in rows for record in _classified(json.dumps(row))]
        values = [value for item in items if isinstance(item, Block) for value in item.values]
        assert values == expected, text[:300]


def test_a_raw_control_character_is_named_once_with_its_place() -> None:
    data = (json.dumps(record("ok")) + '\n{"account_id": "tab\there"}\n').encode()
    _, sent, [failure] = _transform(data)
    assert [r["account_id"] for r in sent] == ["ok"]
    assert failure["error_message"] == (
        "s3://b/f.json: Invalid control character at line 2, column 20 (after record 1)"
    )


# --- layouts: records spelled one way throughout are decoded straight into columns ----------------------


def _tour_shaped(count: int, keys: str) -> list[dict[str, Any]]:
    """Records shaped like the README tour's (string balances, padded text, offsets), spelled ``keys``."""
    return list(shaped_records(count, Shape("string", keys, "padded", "offset", "array")))


def _array(rows: list[dict[str, Any]]) -> bytes:
    return ("[" + ",\n".join(json.dumps(row) for row in rows) + "]").encode()


def test_records_spelled_one_way_come_as_columns_and_as_the_file_has_them() -> None:
    # GIVEN 3,000 records in camelCase, some without a status, some with their keys in another order
    rows = _tour_shaped(3000, "camel")
    for index, row in enumerate(rows):
        if index % 5 == 1:
            del row["status"]
        if index % 7 == 2:
            rows[index] = dict(reversed(row.items()))
    # WHEN the reader reads the array
    _, items = read(_array(rows))
    # THEN every block comes as columns, each field's values in FIELDS order, absent where absent
    blocks = [item for item in items if isinstance(item, Block)]
    assert len(blocks) == len(items) and all(block.columns is not None for block in blocks)
    for field_index, field in enumerate(FIELDS):
        column = [value for block in blocks for value in (block.columns or [])[field_index]]
        assert column == [row.get(field.camel, ABSENT) for row in rows]
    # AND the records asked for are the file's, numbered in order, keys in the file's order
    assert positions(items) == [(number, None, row) for number, row in enumerate(rows, 1)]
    assert [list(value) for block in blocks for value in block.values] == [list(row) for row in rows]
    assert sum(block.count for block in blocks) == len(rows)


def test_a_spelling_that_changes_midway_is_followed_window_by_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader_module, "FAST_WINDOW_BYTES", 4096)  # many windows
    # GIVEN 300 records in snake_case, then 300 in camelCase
    rows = _tour_shaped(300, "snake") + _tour_shaped(300, "camel")
    _, items = read(_array(rows))
    # THEN both halves come as columns (the window holding both spellings as dicts), the records unchanged
    blocks = [item for item in items if isinstance(item, Block)]
    assert blocks[0].columns is not None and blocks[-1].columns is not None
    assert sum(block.columns is None for block in blocks) <= 1
    assert positions(items) == [(number, None, row) for number, row in enumerate(rows, 1)]


@pytest.mark.parametrize(
    ("mixed_windows", "layouts_after"), [(LAYOUT_MISSES - 1, True), (LAYOUT_MISSES, False)]
)
def test_windows_that_fit_no_layout_stop_the_tries_after_a_few(
    mixed_windows: int, layouts_after: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader_module, "FAST_WINDOW_BYTES", 2048)
    # GIVEN a file opening with records that mix spellings (accountId beside updated_at), window after
    # window, then 200 records spelled one way
    mixed: list[dict[str, Any]] = []
    while len(mixed) < 40 * mixed_windows:
        row = _tour_shaped(1, "snake")[0]
        row["accountId"] = row.pop("account_id")
        mixed.append(row)
    data = bytearray(b"[")
    windows = 0
    for row in mixed:  # exactly mixed_windows windows of mixed records: each a window of its own
        chunk = json.dumps(row).encode() + b",\n"
        if len(data) % 2048 + len(chunk) > 1900:
            data += b" " * (2048 - len(data) % 2048)
            windows += 1
            if windows == mixed_windows:
                break
        data += chunk
    count = data.count(b"{")
    rows = _tour_shaped(200, "snake")
    data += _array(rows)[1:]
    # WHEN it is read
    _, items = read(bytes(data))
    blocks = [item for item in items if isinstance(item, Block)]
    # THEN the mixed records come as dicts; the rest as columns only if the tries did not stop
    assert all(block.columns is None for block in blocks if block.first <= count)
    assert all((block.columns is not None) == layouts_after for block in blocks if block.first > count)
    assert [value for block in blocks for value in block.values] == mixed[:count] + rows


def _items_without_layouts(data: bytes, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """What the reader gives for ``data`` when it never tries a layout (every record a dict), as
    comparable tuples: blocks by their records' positions, failures as they are."""
    with monkeypatch.context() as patch:
        patch.setattr(reader_module, "LAYOUT_MISSES", 0)
        return _comparable(read(data)[1])


def _comparable(items: list[Item]) -> list[Any]:
    return [
        (item.position(index), value) if isinstance(item, Block) else item
        for item in items
        for index, value in (enumerate(item.values) if isinstance(item, Block) else [(0, None)])
    ]


@pytest.mark.parametrize("window", [300, 4096, reader_module.FAST_WINDOW_BYTES])
def test_json_lines_spelled_one_way_come_as_columns_and_every_odd_line_stands_in_its_place(
    window: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader_module, "FAST_WINDOW_BYTES", window)
    # GIVEN 1,500 README-tour lines, some ending in CRLF, with a broken line, a blank one, one holding two
    # records, one holding an array of two, one mixing spellings and one over several lines among them
    lines = [json.dumps(row) for row in _tour_shaped(1500, "camel")]
    for index in range(0, 1500, 9):
        lines[index] += "\r"
    lines[300] = lines[300][:-5]
    lines[400] = "  "
    lines[500] = lines[500] + " " + lines[501]
    lines[600] = "[" + lines[600] + "," + lines[601] + "]"
    lines[700] = lines[700].replace("accountId", "account_id")
    lines[800] = lines[800].replace(", ", ",\n", 1)
    data = ("\n".join(lines) + "\n").encode()
    # WHEN the reader reads it
    shape, items = read(data)
    assert shape == FileShape.JSON_LINES
    # THEN records spelled one way come as columns, with their line numbers (a window holding an odd line is
    # read line by line: with small windows, most of the file is in windows of plain lines)
    blocks = [item for item in items if isinstance(item, Block)]
    assert sum(block.count for block in blocks if block.columns is not None) > (1000 if window < 10**4 else 0)
    # AND every record, line number and failure is what reading line by line into dicts gives
    assert _comparable(items) == _items_without_layouts(data, monkeypatch)
    assert (
        sum(isinstance(item, ParseFailure) for item in items) == 4
    )  # the broken line, two values, the split
