"""``pipeline-ctl send`` over real HTTP on 127.0.0.1: SigV4 checked by botocore, retries, input errors."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from functions.model import MAX_REPLAYABLE_BODY_BYTES
from ops.errors import InvalidInput
from ops.send import encode
from ops.send_input import stream_records
from tests.support.cli import Stack, publish_outputs
from tests.support.http_servers import ScriptedGateway, SigV4Gateway, serve

LINES = [
    '{"account_id": "a-1", "name": "Ada", "email": "ada@example.com", "balance": "10.00", "currency": "EUR"}',
    '{"account_id": "a-2", "name": "Bob", "email": "b@example.com", "balance": 12345678901234567890.12, '
    '"currency": "usd"}',
    '{"accountId": "a-3", "name": "Cy", "email": "cy@example.com", "balance": 1, "currency": "GBP"}',
]
JSONL = "\n".join(LINES) + "\n"
RECORDS = [json.loads(line) for line in LINES]


@pytest.fixture
def gateway(deployed: Stack) -> Iterator[SigV4Gateway]:
    # mock_aws installs its own fake credentials in the environment: the signer must use those.
    expected = SigV4Gateway(
        queue_url=deployed.outputs["writer_queue_url"],
        access_key=os.environ["AWS_ACCESS_KEY_ID"],
        secret_key=os.environ["AWS_SECRET_ACCESS_KEY"],
    )
    with serve(expected) as running:
        deployed.outputs.update(api_url=running.url + "/", api_auth="AWS_IAM")
        publish_outputs(deployed)
        yield running


def use_gateway(deployed: Stack, gateway: ScriptedGateway) -> None:
    deployed.outputs.update(api_url=gateway.url, api_auth="NONE")
    publish_outputs(deployed)


def test_signed_records_reach_the_writer_queue(invoke, deployed: Stack, gateway, tmp_path: Path) -> None:
    (tmp_path / "accounts.jsonl").write_text(JSONL, encoding="utf-8")

    result = invoke("send", "accounts.jsonl", "--batch", "1")

    assert result.exit_code == 0, [r.verdict for r in gateway.requests]
    assert result.stdout == "sent 3 records in 3 requests: 3 queued, 0 rejected\n"
    assert [request.verdict for request in gateway.requests] == ["valid"] * 3
    assert {request.path for request in gateway.requests} == {"/writer"}
    bodies = {message["Body"] for message in deployed.drain("writer_queue_url")}
    assert bodies == {encode(record) for record in parse_records(JSONL, "x")}
    # The balance keeps every digit: it was never a float on the way.
    assert any('"balance":12345678901234567890.12,' in body for body in bodies), bodies


def test_by_default_records_share_requests_up_to_the_message_size(
    invoke, deployed: Stack, gateway, tmp_path: Path
) -> None:
    # GIVEN 3,000 records of ~200 bytes: more than one 255 KiB request holds
    record = json.loads(LINES[0])
    lines = [json.dumps({**record, "account_id": f"a-{n}", "name": "N" * 100}) for n in range(3000)]
    (tmp_path / "many.jsonl").write_text("\n".join(lines), encoding="utf-8")

    result = invoke("send", "many.jsonl", "--json")

    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["records"], report["accepted"]) == (3000, 3000)
    bodies = [message["Body"] for message in deployed.drain("writer_queue_url")]
    # THEN a few requests, each a JSON array within the API's limit, together every record once, in order
    assert report["requests"] == len(bodies) and 2 <= len(bodies) <= 4
    assert all(len(body.encode()) <= MAX_REPLAYABLE_BODY_BYTES for body in bodies)
    sent = sorted(
        (record for body in bodies for record in json.loads(body)), key=lambda r: int(r["account_id"][2:])
    )
    assert [r["account_id"] for r in sent] == [f"a-{n}" for n in range(3000)]


def test_wrong_credentials_are_rejected_with_their_status(invoke, deployed, gateway, monkeypatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-right-secret")

    result = invoke("send", "--record", json.dumps(RECORDS[0]), "--retries", "0")

    assert result.exit_code == 1
    assert result.stdout == (
        'sent 1 record in 1 request: 0 queued, 1 rejected\n  HTTP 403: {"message": "signature mismatch"}\n'
    )
    assert result.stderr == "Error: 1 of 1 record rejected (HTTP 403: 1)\n"
    assert deployed.drain("writer_queue_url") == []


def test_batches_are_json_arrays_one_message_each(invoke, deployed, gateway, tmp_path: Path) -> None:
    (tmp_path / "accounts.json").write_text(json.dumps(RECORDS), encoding="utf-8")

    result = invoke("send", "accounts.json", "--batch", "2", "--json")

    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["records"], report["requests"], report["accepted"], report["rejected"]) == (3, 2, 3, 0)
    sizes = sorted(len(json.loads(m["Body"])) for m in deployed.drain("writer_queue_url"))
    assert sizes == [1, 2]


def test_stdin_and_record_options_are_combined(invoke, deployed, gateway) -> None:
    result = invoke("send", "-", "--record", json.dumps(RECORDS[2]), input=json.dumps(RECORDS[0]))

    assert result.exit_code == 0, result.stderr
    assert result.stdout == "sent 2 records in 1 request: 2 queued, 0 rejected\n"
    [message] = deployed.drain("writer_queue_url")
    assert [r.get("account_id") or r.get("accountId") for r in json.loads(message["Body"])] == ["a-1", "a-3"]


def test_throttled_requests_are_retried_until_accepted(invoke, deployed: Stack) -> None:
    with serve(ScriptedGateway(statuses=(429, 503, 200))) as scripted:
        use_gateway(deployed, scripted)

        result = invoke("send", "--record", json.dumps(RECORDS[0]))

    assert result.exit_code == 0, result.stderr
    assert result.stdout == "sent 1 record in 1 request: 1 queued, 0 rejected (2 retries)\n"
    assert len(scripted.requests) == 3
    assert len({request.body for request in scripted.requests}) == 1


def test_client_errors_are_final_and_exit_1(invoke, deployed: Stack) -> None:
    with serve(ScriptedGateway(statuses=(400,))) as scripted:
        use_gateway(deployed, scripted)

        result = invoke(
            "send", "--record", json.dumps(RECORDS[0]), "--record", json.dumps(RECORDS[1]), "--batch", "1"
        )

    assert result.exit_code == 1
    assert len(scripted.requests) == 2  # no retry on 400
    assert result.stderr == "Error: 2 of 2 records rejected (HTTP 400: 2)\n"


def test_unreachable_api_is_a_connection_error_after_retries(invoke, deployed: Stack) -> None:
    deployed.outputs.update(api_url="http://127.0.0.1:9", api_auth="NONE")
    publish_outputs(deployed)

    result = invoke("send", "--record", json.dumps(RECORDS[0]), "--retries", "1", "--json")

    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["rejected_by_reason"] == {"connection error": 1}
    assert report["retries"] == 1
    assert result.stderr == "Error: 1 of 1 record rejected (connection error: 1)\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"a": 1}\n{"a": 2}\n{"a": \n', "accounts.jsonl:3: not valid JSON: Expecting value (column 7)"),
        ('[{"a": 1},\n {"a": }]', "accounts.jsonl:2: not valid JSON: Expecting value (column 8)"),
        ('[{"a": 1}, 2]', "accounts.jsonl: item 2: a record must be a JSON object, not int"),
        ('{"a": 1}\n[1]\n', "accounts.jsonl:2: a record must be a JSON object, not array"),
        ("  \n", "accounts.jsonl: no records (the file is empty)"),
        ('{"balance": NaN}', "accounts.jsonl:1: not valid JSON: NaN is not valid JSON (column 1)"),
    ],
    ids=["jsonl-line-3", "array-line-2", "array-item", "jsonl-array", "empty", "nan"],
)
def test_bad_input_is_exit_2_with_file_and_line(
    invoke, tmp_path, monkeypatch, content: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "accounts.jsonl").write_text(content, encoding="utf-8")

    result = invoke("send", "accounts.jsonl")

    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {message}")
    assert result.stderr.count("\n") == 1


def test_missing_file_and_nothing_to_send_are_usage_errors(invoke, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    missing = invoke("send", "nope.json")
    nothing = invoke("send")
    bad_record = invoke("send", "--record", "{oops")

    assert (missing.exit_code, missing.stderr) == (2, "Error: nope.json: no such file\n")
    assert (nothing.exit_code, nothing.stderr) == (
        2,
        "Error: nothing to send (give a FILE, - for stdin, or --record JSON)\n",
    )
    assert bad_record.exit_code == 2
    assert bad_record.stderr.startswith("Error: --record #1: not valid JSON: Expecting property name")


def parse_records(text: str, name: str) -> list[Any]:
    return list(stream_records(io.StringIO(text), name))


def test_parse_records_accepts_object_array_and_json_lines() -> None:
    assert parse_records('{"a": 1}', "x") == [{"a": 1}]
    assert parse_records('[{"a": 1}, {"b": 2}]', "x") == [{"a": 1}, {"b": 2}]
    assert parse_records('{"a": 1}\n\n{"b": 2}\n', "x") == [{"a": 1}, {"b": 2}]
    with pytest.raises(InvalidInput):
        parse_records('"just a string"', "x")


def test_encode_keeps_decimal_digits_and_unicode() -> None:
    record = parse_records('{"balance": 0.10, "big": 12345678901234567890.123456789, "name": "Zoë"}', "x")[0]

    assert record["balance"] == Decimal("0.10")
    assert encode(record) == '{"balance":0.10,"big":12345678901234567890.123456789,"name":"Zoë"}'
    assert json.loads(encode([record, {"n": None, "t": True}]))[1] == {"n": None, "t": True}
