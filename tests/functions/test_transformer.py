"""Transformer: S3 events → normalised records packed into WriterQueue envelopes; failures as messages."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.transformer_data import SHAPES, Shape, shaped_records
from bench.transformer_data import records as bench_records
from functions.contract import format_timestamp
from functions.errors import MissingSetting, SendFailed
from functions.messages.codec import decode_json, encode_json
from functions.messages.envelopes import EnvelopePacker, ingestion_attributes
from functions.messages.sending import BatchSender
from functions.messages.sizing import attributes_size, message, utf8_size
from functions.model import MAX_MESSAGE_BYTES, ErrorType
from functions.transformer import handler as transformer
from functions.transformer import reader as reader_module
from functions.transformer.core import transform_stream
from functions.transformer.reader import FileShape
from functions.writer import handler as writer
from tests.support.functions import FakeContext, World, drain, load_event, record, s3_event


def is_failure(message: dict[str, Any]) -> bool:
    """A pre-failed message carries an ``error_type`` attribute; an envelope carries only its ``source``."""
    return "error_type" in (message.get("MessageAttributes") or {})


def envelopes(world: World) -> list[dict[str, Any]]:
    return [m for m in world.receive_all(world.writer_queue_url) if not is_failure(m)]


def records_sent(messages: list[dict[str, Any]]) -> list[Any]:
    """The records of the envelopes among ``messages``: objects, or whatever else the file held."""
    out: list[Any] = []
    for m in messages:
        if not is_failure(m):
            assert m["MessageAttributes"]["source"]["StringValue"] == decode_json(m["Body"])["source"]
            out += decode_json(m["Body"])["records"]
    return out


def failures(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [
        {name: value["StringValue"] for name, value in m["MessageAttributes"].items()} | {"body": m["Body"]}
        for m in messages
        if is_failure(m)
    ]


class CountingSink:
    def __init__(self, fail: dict[str, int] | None = None, sender_fault: bool = False) -> None:
        self.calls: list[list[dict[str, Any]]] = []
        self.fail = dict(fail or {})  # entry Id -> how many more times it fails
        self.sender_fault = sender_fault

    def __call__(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self.calls.append(entries)
        failed = []
        for entry in entries:
            if self.fail.get(entry["Id"], 0) > 0:
                self.fail[entry["Id"]] -= 1
                failed.append(
                    {
                        "Id": entry["Id"],
                        "Code": "InternalError",
                        "Message": "boom",
                        "SenderFault": self.sender_fault,
                    }
                )
        return failed


# --- the handler on real events ------------------------------------------------------------------------


def test_url_encoded_key_is_decoded_and_records_arrive_normalised(world: World, context: FakeContext) -> None:
    # GIVEN an object whose key has a folder, a space and a non-ASCII letter, as S3 (moto) encodes it
    world.put_object(
        "in/my fileç.json", json.dumps([record("a-1", balance=0.1), record("a-2", name="  Bo  Li ")])
    )
    # WHEN the transformer gets the S3 event
    result = transformer.handler(s3_event(world.bucket, "in%2Fmy+file%C3%A7.json"), context)
    # THEN the records reach WriterQueue normalised, in one envelope naming the object
    messages = world.receive_all(world.writer_queue_url)
    assert len(messages) == 1
    body = decode_json(messages[0]["Body"])
    assert body["source"] == "s3://data-bucket/in/my fileç.json"
    assert [r["account_id"] for r in body["records"]] == ["a-1", "a-2"]
    assert body["records"][0]["balance"] == "0.1"  # exact, as a string
    assert body["records"][1]["name"] == "Bo Li"
    assert result["objects"][0]["valid"] == 2


def test_multi_record_event_transforms_every_object(world: World, context: FakeContext) -> None:
    world.put_object("a.json", json.dumps(record("a")))
    world.put_object("b.json", "\n".join(json.dumps(record(f"b{i}")) for i in range(3)))
    result = transformer.handler(s3_event(world.bucket, "a.json", "b.json"), context)
    assert [o["shape"] for o in result["objects"]] == [FileShape.OBJECT, FileShape.JSON_LINES]
    sent = records_sent(world.receive_all(world.writer_queue_url))
    assert sorted(r["account_id"] for r in sent) == ["a", "b0", "b1", "b2"]


@pytest.mark.parametrize("key", ["notes.txt", "upper.JSON", "data.json.gz"])
def test_keys_not_ending_in_json_are_ignored(world: World, context: FakeContext, key: str) -> None:
    world.put_object(key, json.dumps(record()))
    assert transformer.handler(s3_event(world.bucket, key), context) == {"objects": []}
    assert world.receive_all(world.writer_queue_url) == []


def test_s3_test_event_is_skipped(world: World, context: FakeContext) -> None:
    assert transformer.handler(load_event("s3_test_event.json"), context) == {"objects": []}
    assert world.receive_all(world.writer_queue_url) == []


def test_s3_event_wrapped_in_an_sqs_message_is_unwrapped(world: World, context: FakeContext) -> None:
    world.put_object("wrapped.json", json.dumps([record("w")]))
    wrapped = {
        "Records": [{"eventSource": "aws:sqs", "body": json.dumps(s3_event(world.bucket, "wrapped.json"))}]
    }
    assert transformer.handler(wrapped, context)["objects"][0]["valid"] == 1


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"", "empty file (0 bytes)"), (b" \n\t ", "no JSON value: only whitespace (4 bytes)")],
    ids=["zero-bytes", "whitespace"],
)
def test_empty_object_becomes_one_unreadable_file_message(
    world: World, context: FakeContext, content: bytes, reason: str
) -> None:
    world.put_object("empty.json", content)
    transformer.handler(s3_event(world.bucket, "empty.json"), context)
    [failure] = failures(world.receive_all(world.writer_queue_url))
    assert failure["error_type"] == ErrorType.UNREADABLE_FILE
    assert failure["source"] == "s3://data-bucket/empty.json"
    assert (
        failure["error_message"]
        == f"s3://data-bucket/empty.json: {reason} at end of file (before any record)"
    )


def test_invalid_json_sends_records_before_the_break_then_one_failure_with_the_position(
    world: World, context: FakeContext
) -> None:
    # GIVEN an array that breaks after two records (a missing comma at byte 'position')
    good = ",".join(json.dumps(record(f"g{i}")) for i in range(2))
    content = f"[{good} {json.dumps(record('lost'))}]"
    position = content.index(" {") + 1
    world.put_object("broken.json", content)
    # WHEN it is transformed
    report = transformer.handler(s3_event(world.bucket, "broken.json"), context)["objects"][0]
    # THEN the two records went on, and one UnreadableFile message names the file and the byte
    messages = world.receive_all(world.writer_queue_url)
    assert [r["account_id"] for r in records_sent(messages)] == ["g0", "g1"]
    [failure] = failures(messages)
    assert failure["error_type"] == ErrorType.UNREADABLE_FILE
    assert failure["error_message"].startswith(
        "s3://data-bucket/broken.json: after an array element, expected ',' or ']' but found '{'"
    )
    assert f"at byte {position} (after record 2)" in failure["error_message"]
    assert decode_json(failure["body"])["records_before"] == 2
    assert (report["valid"], report["unreadable"]) == (2, 1)


def test_json_lines_with_a_broken_line_loses_only_that_line(world: World, context: FakeContext) -> None:
    lines = [json.dumps(record("l1")), '{"account_id": "l2", oops}', json.dumps(record("l3"))]
    world.put_object("lines.json", "\n".join(lines) + "\n")
    transformer.handler(s3_event(world.bucket, "lines.json"), context)
    messages = world.receive_all(world.writer_queue_url)
    assert [r["account_id"] for r in records_sent(messages)] == ["l1", "l3"]
    [failure] = failures(messages)
    assert "at line 2, column 22 (after record 1)" in failure["error_message"]
    assert decode_json(failure["body"])["excerpt"] == lines[1]


def test_invalid_records_travel_raw_and_valid_ones_normalised(world: World, context: FakeContext) -> None:
    # GIVEN an envelope file mixing a valid record, an invalid one and a non-object
    bad = {"accountId": "x y", "balance": 0.1, "currency": "us", "colour": "red"}
    world.put_object("mixed.json", json.dumps({"source": "ignored", "records": [record("ok"), bad, 7]}))
    report = transformer.handler(s3_event(world.bucket, "mixed.json"), context)["objects"][0]
    sent = records_sent(world.receive_all(world.writer_queue_url))
    # THEN the invalid ones are unchanged (balance still the exact number 0.1), for the writer to record
    assert sent[0]["account_id"] == "ok" and sent[0]["currency"] == "GBP"
    assert sent[1] == {"accountId": "x y", "balance": "0.1", "currency": "us", "colour": "red"}
    assert sent[2] == 7
    assert (report["shape"], report["valid"], report["invalid"]) == (FileShape.ENVELOPE, 1, 2)


def test_an_object_deleted_before_its_event_leaves_one_object_vanished_message(
    world: World, context: FakeContext
) -> None:
    # GIVEN an event naming a deleted object and a present one
    world.put_object("kept.json", json.dumps([record("k")]))
    result = transformer.handler(s3_event(world.bucket, "gone.json", "kept.json"), context)
    # THEN the present one is transformed, and the gone one is one ObjectVanished message, not a log line
    assert [o["source"] for o in result["objects"]] == [
        "s3://data-bucket/gone.json",
        "s3://data-bucket/kept.json",
    ]
    messages = world.receive_all(world.writer_queue_url)
    [failure] = failures(messages)
    assert failure["error_type"] == ErrorType.OBJECT_VANISHED
    assert failure["error_message"] == (
        "s3://data-bucket/gone.json: object gone before it was read (NoSuchKey); version (unversioned), "
        "event time 2026-01-15T12:00:00.000Z: none of its records were read"
    )
    assert (failure["entered_at"], failure["ingest_id"]) == (
        "2026-01-15T12:00:00.000000Z",
        "s3://data-bucket/gone.json",
    )
    assert [r["account_id"] for r in records_sent(messages)] == ["k"]


def _overwritten_first_version(world: World) -> str:
    """A versioned bucket where v.json was written twice; returns the first version's id."""
    world.s3.put_bucket_versioning(Bucket=world.bucket, VersioningConfiguration={"Status": "Enabled"})
    first = world.s3.put_object(Bucket=world.bucket, Key="v.json", Body=json.dumps([record("first")]))
    world.put_object("v.json", json.dumps([record("second")]))
    return str(first["VersionId"])


def _event_for_version(world: World, key: str, version_id: str) -> dict[str, Any]:
    event = s3_event(world.bucket, key)
    event["Records"][0]["s3"]["object"]["versionId"] = version_id
    return event


def test_the_exact_version_of_the_event_is_read_even_after_an_overwrite(
    world: World, context: FakeContext
) -> None:
    # GIVEN a versioned bucket where the object was overwritten after the event's version
    first = _overwritten_first_version(world)
    # WHEN the first version's event is handled
    transformer.handler(_event_for_version(world, "v.json", first), context)
    # THEN the first version's records are sent, and the ingest id names that version
    [envelope] = world.receive_all(world.writer_queue_url)
    assert [r["account_id"] for r in records_sent([envelope])] == ["first"]
    attributes = {k: v["StringValue"] for k, v in envelope["MessageAttributes"].items()}
    assert attributes["ingest_id"] == f"s3://data-bucket/v.json?versionId={first}"
    assert (attributes["entered_at"], attributes["ingest_position"]) == ("2026-01-15T12:00:00.000000Z", "0")


def test_a_version_deleted_before_it_was_read_leaves_one_object_vanished_message(
    world: World, context: FakeContext
) -> None:
    first = _overwritten_first_version(world)
    world.s3.delete_object(Bucket=world.bucket, Key="v.json", VersionId=first)
    transformer.handler(_event_for_version(world, "v.json", first), context)
    [failure] = failures(world.receive_all(world.writer_queue_url))
    assert failure["error_type"] == ErrorType.OBJECT_VANISHED
    assert f"version {first}, event time 2026-01-15T12:00:00.000Z" in failure["error_message"]
    assert decode_json(failure["body"])["version_id"] == first


def test_envelopes_hold_consecutive_records_and_name_the_first_position() -> None:
    # GIVEN 30 records where record 12 (position 11) is too large for a message
    rows = [record(f"p{i}") for i in range(30)]
    rows[11]["name"] = "N" * 9000
    sink = CountingSink()
    transform_stream(
        io.BytesIO(json.dumps(rows).encode()), source="s3://b/p.json", sink=sink, message_limit=8192
    )
    # THEN every envelope's records sit at ingest_position + i, and none spans the gap
    seen = []
    for entry in [e for call in sink.calls for e in call]:
        attributes = {k: v["StringValue"] for k, v in entry["MessageAttributes"].items()}
        if "error_type" in attributes:
            assert (attributes["error_type"], attributes["ingest_position"]) == (
                ErrorType.RECORD_TOO_LARGE,
                "11",
            )
            continue
        start = int(attributes["ingest_position"])
        ids = [r["account_id"] for r in decode_json(entry["MessageBody"])["records"]]
        assert ids == [f"p{i}" for i in range(start, start + len(ids))]
        seen += ids
    assert seen == [f"p{i}" for i in range(30) if i != 11]


def test_missing_queue_setting_is_named(
    world: World, context: FakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WRITER_QUEUE_URL")
    world.put_object("a.json", json.dumps(record()))
    with pytest.raises(MissingSetting, match="WRITER_QUEUE_URL"):
        transformer.handler(s3_event(world.bucket, "a.json"), context)


# --- packing and sending, on the plain function ---------------------------------------------------------


def test_envelopes_fill_up_to_the_limit_counted_in_utf8_bytes() -> None:
    # GIVEN 300 records with multi-byte names and a small message limit
    data = json.dumps([record(f"p{i}", name=f"Zoë Ångström №{i}") for i in range(300)]).encode()
    sink = CountingSink()
    # WHEN transformed with a 4 KiB limit (plus the error headroom every message keeps)
    limit = 4096 + 4096
    report = transform_stream(io.BytesIO(data), source="s3://b/k.json", sink=sink, message_limit=limit)
    # THEN every message fits, each is nearly full, every batch has ≤ 10 entries, and nothing is missing
    bodies = [entry["MessageBody"] for call in sink.calls for entry in call]
    assert all(utf8_size(body) <= limit for body in bodies)
    assert all(len(body.encode()) > limit - 300 for body in bodies[:-1])
    assert all(len(call) <= 10 for call in sink.calls) and len(sink.calls) == -(-len(bodies) // 10)
    names = [r["name"] for body in bodies for r in decode_json(body)["records"]]
    assert names == [f"Zoë Ångström №{i}" for i in range(300)]
    assert report.messages == len(bodies)


def test_a_record_over_the_message_limit_becomes_a_precise_failure() -> None:
    data = json.dumps(
        [record("small"), record("huge", currency="not-a-currency", junk="y" * 300_000)]
    ).encode()
    sink = CountingSink()
    report = transform_stream(io.BytesIO(data), source="s3://b/big.json", sink=sink)
    entries = [entry for call in sink.calls for entry in call]
    [failure] = [entry for entry in entries if is_failure(entry)]
    [envelope] = [entry for entry in entries if not is_failure(entry)]
    assert [r["account_id"] for r in decode_json(envelope["MessageBody"])["records"]] == ["small"]
    attributes = {k: v["StringValue"] for k, v in failure["MessageAttributes"].items()}
    assert attributes["error_type"] == ErrorType.RECORD_TOO_LARGE
    source_attribute = len("source") + len("String") + len("s3://b/big.json")  # SQS counts attributes too
    # entered_at (fixed width), ingest_id (the source) and a 10-digit ingest_position
    ingestion = attributes_size(ingestion_attributes("2026-01-01T00:00:00.000000Z", "s3://b/big.json", 10**9))
    empty_envelope = len('{"source":"s3://b/big.json","records":[]}')
    limit = MAX_MESSAGE_BYTES - empty_envelope - source_attribute - ingestion - 4096
    assert attributes["error_message"].startswith("record 2: 300")
    assert f"bytes, over the {limit}-byte limit for one record" in attributes["error_message"]
    assert attributes["error_message"].endswith("the record stays in s3://b/big.json")
    assert report.too_large == 1


def test_batch_sender_resends_only_failed_entries_then_succeeds() -> None:
    sink = CountingSink(fail={"3": 2})
    sender = BatchSender(sink, sleep=lambda _: None)
    sender.add_all(message(f"m{i}") for i in range(10))
    sender.flush()
    assert [len(call) for call in sink.calls] == [10, 1, 1]
    assert sink.calls[1][0]["MessageBody"] == "m3"
    assert sender.sent == 10


def test_batch_sender_raises_when_entries_keep_failing() -> None:
    sender = BatchSender(CountingSink(fail={"0": 99}), sleep=lambda _: None)
    sender.add(message("m"))
    with pytest.raises(SendFailed, match="1 of 1 SendMessageBatch entries failed after 4 attempt"):
        sender.flush()


def test_batch_sender_does_not_retry_the_senders_fault() -> None:
    sink = CountingSink(fail={"0": 99}, sender_fault=True)
    sender = BatchSender(sink, sleep=lambda _: None)
    sender.add(message("m"))
    with pytest.raises(SendFailed):
        sender.flush()
    assert len(sink.calls) == 1


def test_batch_sender_keeps_a_batch_under_one_mebibyte() -> None:
    sink = CountingSink()
    sender = BatchSender(sink)
    sender.add_all(message("x" * 250_000) for _ in range(10))
    sender.flush()
    assert [len(call) for call in sink.calls] == [4, 4, 2]


def test_decimal_balances_are_exact_end_to_end_of_the_transformer() -> None:
    data = (
        b'[{"account_id":"d","name":"D","email":"d@e.io",'
        b'"balance":0.1000000000000000055511151231257827,"currency":"EUR"}]'
    )
    sink = CountingSink()
    transform_stream(io.BytesIO(data), source="s3://b/d.json", sink=sink)
    [sent] = decode_json(sink.calls[0][0]["MessageBody"])["records"]
    assert Decimal(sent["balance"]) == Decimal("0.1000000000000000055511151231257827")


@pytest.mark.parametrize("shape", ["array", "json-lines"])
def test_a_number_beyond_decimal_rejects_its_record_and_the_file_reads_on(shape: str) -> None:
    # GIVEN a file whose first record's balance no Decimal can hold, then a valid record
    doomed = json.dumps(record("doomed")).replace('"balance": "10.50"', '"balance": 1e99999999999999999999')
    assert "1e99999999999999999999" in doomed
    fine = json.dumps(record("fine"))
    data = (f"[{doomed},{fine}]" if shape == "array" else f"{doomed}\n{fine}\n").encode()
    sink = CountingSink()
    # WHEN transformed
    report = transform_stream(io.BytesIO(data), source="s3://b/f.json", sink=sink)
    # THEN the doomed record travels on as invalid (the writer logs it), and the stream was not cut short
    records = [r for call in sink.calls for e in call for r in decode_json(e["MessageBody"])["records"]]
    assert [r["account_id"] for r in records] == ["doomed", "fine"]
    assert (report.valid, report.invalid) == (1, 1)


# --- the same messages as the implementation before the msgspec reader -----------------------------------

GOLDEN_NOW = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
GOLDEN: dict[tuple[str, int], tuple[int, str]] = {
    ("array", MAX_MESSAGE_BYTES): (4, "3dc7d35ea1114791ffc17257060c2c787b32891344ca8f3d52bb24bb59cdfbfd"),
    ("array", 20_000): (49, "b922351e5446a1f433400a640afe42f5f13dba13189c5cfec7840bc4277b8f1c"),
    ("lines", MAX_MESSAGE_BYTES): (4, "3dc7d35ea1114791ffc17257060c2c787b32891344ca8f3d52bb24bb59cdfbfd"),
    ("lines", 20_000): (49, "b922351e5446a1f433400a640afe42f5f13dba13189c5cfec7840bc4277b8f1c"),
    ("mixed", 20_000): (30, "c3ca606456ffbdd1474783b22db8193f60651d4ffbeb47e6e9a77833873896c1"),
}
"""(input, message limit) → (messages, SHA-256 of their bodies joined by newlines), recorded from the
ijson-based transformer on the benchmark's records (commit eaba9cd) before the reader was replaced. That
implementation sent no ingestion attributes; they take a constant number of bytes of every message, so the
same bodies come out at a limit that much larger."""


def _spoiled(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` with every 7th currency too short (from the 4th record) and every 11th balance out of
    DynamoDB's range (from the 6th): invalid records among valid ones."""
    for index, row in enumerate(rows):
        if index % 7 == 3:
            row["currency"] = "US"
        if index % 11 == 5:
            row["balance"] = "1e999"
    return rows


def _golden_input(kind: str) -> bytes:
    rows = list(bench_records(5000))
    if kind == "lines":
        return ("\n".join(json.dumps(row) for row in rows) + "\n").encode()
    if kind == "mixed":  # invalid records (travel raw) and unknown keys among valid ones
        rows = _spoiled(rows[:3000])
        for index, row in enumerate(rows):
            if index % 13 == 2:
                row["extra"] = [1, {"x": None}]
    return ("[" + ",".join(json.dumps(row) for row in rows) + "]").encode()


@pytest.mark.parametrize(("kind", "limit"), list(GOLDEN))
def test_the_benchmark_file_gives_the_same_message_bodies_as_before(kind: str, limit: int) -> None:
    source = "s3://bench/records.json"
    ingestion = attributes_size(ingestion_attributes(format_timestamp(GOLDEN_NOW), source, 10**9))
    sink = CountingSink()
    transform_stream(
        io.BytesIO(_golden_input(kind)),
        source=source,
        sink=sink,
        now=GOLDEN_NOW,
        message_limit=limit + ingestion,
    )
    bodies = [entry["MessageBody"] for call in sink.calls for entry in call]
    assert (len(bodies), hashlib.sha256("\n".join(bodies).encode()).hexdigest()) == GOLDEN[(kind, limit)]


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(1, 60), min_size=1, max_size=6),
    st.lists(st.integers(1, 60), min_size=1, max_size=40),
    st.integers(0, 1),
)
def test_adding_many_records_fills_the_envelopes_that_adding_one_at_a_time_fills(
    before: list[int], sizes: list[int], ordered: int
) -> None:
    # GIVEN an envelope partly filled, then a run of consecutive records of any sizes that fit an envelope
    def pack(many: bool, limit: int) -> list[Any]:
        emitted: list[Any] = []
        ingest = ingestion_attributes("2026-01-01T00:00:00.000000Z", "s3://b/k") if ordered else None
        packer = EnvelopePacker("s3://b/k", emitted.append, limit=limit, ingest=ingest)
        for position, size in enumerate(before):
            packer.add(json.dumps("x" * size), position)
        encoded = [f'"{index}:' + "y" * size + '"' for index, size in enumerate(sizes)]
        if many:
            packer.add_many(encoded, len(before))
        else:
            for position, one in enumerate(encoded, len(before)):
                packer.add(one, position)
        packer.flush()
        return [*emitted, packer.records]

    # WHEN they are added together, and one at a time, at every limit from ample to barely enough (so some
    # envelopes fill to the byte)
    # THEN the same envelopes come out, byte for byte, with the same attributes and sizes
    for limit in range(350, 650):
        assert pack(many=True, limit=limit) == pack(many=False, limit=limit)


@pytest.mark.parametrize(
    "shape",
    [s for s in SHAPES if s.text == "padded" or (s.balance == "float" and s.file == "array")],
    ids=str,
)
def test_records_read_as_columns_send_the_bodies_the_dict_path_sends(
    shape: Shape, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a file of the benchmark matrix's shape, spelled one way, with invalid records among the valid ones
    # (a field null, codes too short or long, a balance out of range, an empty name, keys in another order)
    rows = _spoiled(list(shaped_records(1500, shape)))
    for index, row in enumerate(rows):
        if index % 13 == 2:
            row["name"] = "   "
        if index % 17 == 4:
            row["email"] = None
        if index % 19 == 6:
            row["currency"] = "usd1"
            rows[index] = dict(reversed(row.items()))
    texts = [json.dumps(row) for row in rows]
    data = ("\n".join(texts) + "\n" if shape.file == "lines" else "[" + ",".join(texts) + "]").encode()

    def bodies() -> list[str]:
        sink = CountingSink()
        transform_stream(io.BytesIO(data), source="s3://b/k.json", sink=sink, now=GOLDEN_NOW)
        return [entry["MessageBody"] for call in sink.calls for entry in call]

    # WHEN it is transformed with its records read as columns, then as dicts (no layout ever tried)
    as_columns = bodies()
    monkeypatch.setattr(reader_module, "LAYOUT_MISSES", 0)
    as_dicts = bodies()
    # THEN the messages are the same, byte for byte; invalid records as the file has them, keys in its order
    assert as_columns == as_dicts
    sent = [r for body in as_columns for r in decode_json(body)["records"]]
    assert len(sent) == len(rows)
    for index in range(6, len(rows), 19):
        assert sent[index] == decode_json(encode_json(decode_json(json.dumps(rows[index]))))
        assert list(sent[index]) == list(rows[index])


def test_optional_fields_no_record_gives_stay_out_and_the_writer_stores_their_defaults(
    world: World, context: FakeContext
) -> None:
    # GIVEN the README tour's kind of file: records without status or updated_at, and one block further on
    # where one record gives both
    rows = [record(f"r{index}", updated_at=None) for index in range(1200)]
    rows[1100] = record("r1100", status="Closed", updated_at="2026-01-10T00:00:00+02:00")
    world.put_object("tour.json", "\n".join(json.dumps(row) for row in rows) + "\n")
    # WHEN the transformer sends them
    transformer.handler(s3_event(world.bucket, "tour.json"), context)
    messages = world.receive_all(world.writer_queue_url)
    sent = records_sent(messages)
    # THEN a block where no record gives them sends neither field; the block holding one sends both, with
    # the defaults in the other records
    assert not any("status" in r or "updated_at" in r for r in sent[:1024])
    assert all(r["status"] == "active" for r in sent[1024:1100] + sent[1101:])
    assert sent[1100]["status"] == "closed" and sent[1100]["updated_at"] == "2026-01-09T22:00:00.000000Z"
    # AND the writer stores every record with the defaults the transformer would have given: status
    # active, updated_at the time the object entered the pipeline (its S3 event time)
    for envelope in messages:
        world.sqs.send_message(
            QueueUrl=world.writer_queue_url,
            MessageBody=envelope["Body"],
            MessageAttributes=envelope["MessageAttributes"],
        )
    drain(world, world.writer_queue_url, writer.handler, context)
    accounts = world.accounts()
    assert len(accounts) == len(rows)
    entered = {envelope["MessageAttributes"]["entered_at"]["StringValue"] for envelope in messages}
    assert entered == {"2026-01-15T12:00:00.000000Z"}
    defaults = [item for key, item in accounts.items() if key != "r1100"]
    assert {(item["status"]["S"], item["updated_at"]["S"]) for item in defaults} == {
        ("active", "2026-01-15T12:00:00.000000Z")
    }
    assert accounts["r1100"]["status"]["S"] == "closed"
