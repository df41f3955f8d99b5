"""One rule decides what a JSON value is, and the S3 path and the API path apply it identically.

An object is an envelope only when its keys are ``records`` (an array) and optionally ``source``; any other
object is one record (its ``records`` key unknown, dropped); an envelope with a duplicated key is one
InvalidRecord with the body verbatim. Each payload below goes through both entry points on moto — as an S3
object (lone object, JSON Lines line) through the real transformer, and as a ``POST /writer`` body straight to
WriterQueue — and then through the real writer and error handler. Both must write the same accounts, log the
same items, and account for every record: written + stale + logged = sent.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.error_handler import handler as error_handler
from functions.messages.bodies import Shape, classify, parse_body
from functions.transformer import handler as transformer
from functions.writer import handler as writer
from tests.support.functions import FakeContext, World, drain, record, s3_event

A, B = record("shape-a"), record("shape-b")
OUTER = record("shape-outer")


def text(value: Any) -> str:
    return json.dumps(value)


# payload, accounts written, (error type, body verbatim) logged, records sent
CASES: dict[str, tuple[str, set[str], list[tuple[str, str | None]], int]] = {
    "envelope": (text({"source": "x", "records": [A, B]}), {"shape-a", "shape-b"}, [], 2),
    "envelope-without-source": (text({"records": [A]}), {"shape-a"}, [], 1),
    "record-with-empty-records-key": (text({**OUTER, "records": []}), {"shape-outer"}, [], 1),
    "record-with-records-inside": (text({**OUTER, "records": [A]}), {"shape-outer"}, [], 1),
    "records-not-an-array": (text({"records": {"a": 1}}), set(), [("InvalidRecord", None)], 1),
    "envelope-with-another-key": (
        text({"records": [A], "note": "n"}),
        set(),
        [("InvalidRecord", None)],
        1,
    ),
    "duplicated-records": (
        '{"records": [' + text(A) + '], "records": [' + text(B) + "]}",
        set(),
        [("InvalidRecord", "verbatim")],
        1,
    ),
    "duplicated-source": (
        '{"source": "a", "records": [' + text(A) + '], "source": "b"}',
        set(),
        [("InvalidRecord", "verbatim")],
        1,
    ),
    "duplicated-key-spelled-with-escapes": (
        '{"records": [' + text(A) + '], "rec\\u006frds": []}',
        set(),
        [("InvalidRecord", "verbatim")],
        1,
    ),
}


@pytest.mark.parametrize(
    ("payload", "shape"),
    [
        (text([A]), Shape.ARRAY),
        (text({"records": [A]}), Shape.ENVELOPE),
        (text({"source": "s", "records": []}), Shape.ENVELOPE),
        (text({**OUTER, "records": []}), Shape.RECORD),
        (text({"records": "x"}), Shape.RECORD),
        (text({"source": "s"}), Shape.RECORD),
        (CASES["duplicated-records"][0], Shape.AMBIGUOUS),
        (CASES["duplicated-key-spelled-with-escapes"][0], Shape.AMBIGUOUS),
    ],
)
def test_the_one_rule(payload: str, shape: Shape) -> None:
    body = parse_body(payload)
    assert body.shape == shape
    assert classify(json.loads(payload), payload.encode()) == body  # bytes (the reader's) read the same


def _outcome(world: World) -> tuple[set[str], list[tuple[str, str]]]:
    accounts = set(world.accounts())
    logged = sorted((item["error_type"]["S"], item["body"]["S"]) for item in world.log_items())
    return accounts, logged


def _flow(world: World, context: FakeContext) -> None:
    drain(world, world.writer_queue_url, writer.handler, context)
    drain(world, world.writer_queue_url, writer.handler, context)  # the receive that applies a redrive
    drain(world, world.dlq_url, error_handler.handler, context)


def _reset(world: World) -> None:
    for item in world.dynamodb.scan(TableName=world.account_table)["Items"]:
        world.dynamodb.delete_item(TableName=world.account_table, Key={"account_id": item["account_id"]})
    for item in world.log_items():
        world.dynamodb.delete_item(TableName=world.log_table, Key={"error_id": item["error_id"]})


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("entry", ["api", "s3-object", "s3-json-lines"])
def test_each_class_is_read_the_same_on_every_path(
    world: World, context: FakeContext, case: str, entry: str
) -> None:
    payload, written, logged, sent = CASES[case]
    marker = record("shape-marker")  # a valid line after the payload in JSON Lines: the file reads on
    # WHEN the payload arrives through this entry point
    if entry == "api":
        world.sqs.send_message(QueueUrl=world.writer_queue_url, MessageBody=payload)
    else:
        content = payload if entry == "s3-object" else payload + "\n" + text(marker) + "\n"
        world.put_object("shapes/case.json", content)
        transformer.handler(s3_event(world.bucket, "shapes%2Fcase.json"), context)
    _flow(world, context)
    accounts, items = _outcome(world)
    if entry == "s3-json-lines":
        assert "shape-marker" in accounts
        accounts.discard("shape-marker")
    # THEN the same accounts and the same LogTable items, whichever the entry point
    assert accounts == written
    assert [kind for kind, _ in items] == [kind for kind, _ in logged]
    for (_, body), (_, verbatim) in zip(items, logged, strict=True):
        if verbatim:
            assert body == payload  # the body as the client wrote it, both duplicated arrays in it
    # and every record sent is written or logged once
    assert len(accounts) + len(items) == sent


def test_both_paths_agree_on_every_class(world: World, context: FakeContext) -> None:
    """The same run, compared directly: what the API path did is what the S3 path did."""
    seen: dict[str, list[Any]] = {}
    for case, (payload, *_rest) in CASES.items():
        outcomes = []
        for entry in ("api", "s3"):
            _reset(world)
            if entry == "api":
                world.sqs.send_message(QueueUrl=world.writer_queue_url, MessageBody=payload)
            else:
                world.put_object("shapes/same.json", payload)
                transformer.handler(s3_event(world.bucket, "shapes%2Fsame.json"), context)
            _flow(world, context)
            accounts, items = _outcome(world)
            outcomes.append((accounts, [kind for kind, _ in items]))
        seen[case] = outcomes
    assert {case: api for case, (api, _s3) in seen.items()} == {case: s3 for case, (_api, s3) in seen.items()}
