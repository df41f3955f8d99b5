"""The pipeline end to end on the local stack, with the real handlers from ``functions/``.

Every test goes through the real entry points (an S3 upload, ``POST /writer`` over HTTP) and checks where the
records landed in DynamoDB — the tables are the truth, not the stack's counters.
"""

from __future__ import annotations

import http.client
import json
from typing import Any

import pytest

from functions.contract import normalise
from functions.errors import InvalidRecord
from functions.model import ErrorType, LogStatus
from local_stack.sample import generate_sample, parse_time
from local_stack.stack import LocalStack
from tests.support.e2e import account, log_items, log_items_mentioning, upload
from tests.support.functions import record as valid_record

pytestmark = pytest.mark.e2e


def record(account_id: str, **changes: Any) -> dict[str, Any]:
    """A valid record as a careless producer writes it: padding, mixed case, an offset: the writer
    normalises each."""
    untidy = {
        "name": "  Ada   Lovelace ",
        "email": " Ada@Example.COM ",
        "balance": "1234.50",
        "currency": "eur",
        "updated_at": "2026-03-01T10:00:00+01:00",
    }
    return valid_record(account_id, **{**untidy, **changes})


def post(stack: LocalStack, body: bytes) -> tuple[int, dict[str, Any]]:
    host, port = stack.api_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("POST", "/writer", body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_an_uploaded_file_is_normalised_into_account_table(pipeline: LocalStack, prefix: str) -> None:
    key = f"incoming/{prefix} batch.json"
    upload(pipeline, key, [record(f"{prefix}-1"), record(f"{prefix}-2", accountId=f"{prefix}-2")])
    pipeline.wait_until_idle(30)

    stored = account(pipeline, f"{prefix}-1")
    assert stored is not None
    assert stored["name"] == "Ada Lovelace"
    assert stored["email"] == "ada@example.com"
    assert stored["currency"] == "EUR"
    assert stored["status"] == "active"
    assert stored["updated_at"] == "2026-03-01T09:00:00.000000Z"
    assert stored["source"] == f"s3://{pipeline.outputs['data_bucket']}/{key}"
    assert account(pipeline, f"{prefix}-2") is not None


def test_a_record_posted_over_http_is_written(pipeline: LocalStack, prefix: str) -> None:
    status, answer = post(pipeline, json.dumps(record(f"{prefix}-api", balance=12.5)).encode())
    pipeline.wait_until_idle(30)

    assert status == 200 and answer["MessageId"]
    stored = account(pipeline, f"{prefix}-api")
    assert stored is not None
    assert stored["source"] == "api"
    assert stored["balance"] == "12.5"


def test_an_invalid_record_lands_in_log_table_with_the_contracts_reason(
    pipeline: LocalStack, prefix: str
) -> None:
    bad = record(f"{prefix}-bad", balance="abc", currency="US")
    with pytest.raises(InvalidRecord) as expected:
        normalise(bad)
    post(pipeline, json.dumps(bad).encode())
    pipeline.wait_until_idle(30)

    (item,) = log_items_mentioning(pipeline, f"{prefix}-bad")
    assert item["error_type"] == ErrorType.INVALID_RECORD
    assert str(expected.value) in item["error_message"]
    assert "balance" in item["error_message"] and "currency" in item["error_message"]
    assert json.loads(item["body"]) == bad
    assert item["status"] == LogStatus.NEW
    assert account(pipeline, f"{prefix}-bad") is None


def test_duplicates_and_older_updates_never_overwrite_the_newest(pipeline: LocalStack, prefix: str) -> None:
    newest = record(f"{prefix}-acct", balance="300", updated_at="2026-03-03T00:00:00Z")
    older = record(f"{prefix}-acct", balance="200", updated_at="2026-03-02T00:00:00Z")
    oldest = record(f"{prefix}-acct", balance="100", updated_at="2026-03-01T00:00:00Z")
    upload(pipeline, f"{prefix}/a.json", [newest, older, newest])
    pipeline.wait_until_idle(30)
    post(pipeline, json.dumps(oldest).encode())
    post(pipeline, json.dumps(newest).encode())
    pipeline.wait_until_idle(30)

    stored = account(pipeline, f"{prefix}-acct")
    assert stored is not None
    assert (stored["balance"], stored["updated_at"]) == ("300", "2026-03-03T00:00:00.000000Z")


def test_every_record_of_a_mixed_file_is_written_stale_or_logged(pipeline: LocalStack, prefix: str) -> None:
    """The accounting invariant over a mixed file: written + stale + logged = sent, newest kept."""
    sample = generate_sample(1000, seed=11, prefix=prefix)
    before = pipeline.counters()
    key = f"{prefix}/mixed.json"
    upload(pipeline, key, sample.records)
    pipeline.wait_until_idle(60)
    after = pipeline.counters()

    written = after["dynamodb.written"] - before["dynamodb.written"]
    stale = after["dynamodb.stale"] - before["dynamodb.stale"]
    source = f"s3://{pipeline.outputs['data_bucket']}/{key}"
    logged = [item for item in log_items(pipeline) if item.get("source") == source]
    assert written + stale + len(logged) == len(sample.records)
    assert len(logged) == len(sample.invalid)
    assert written >= len(sample.newest), "every account was written at least once"

    reasons = {json.dumps(json.loads(item["body"]), sort_keys=True): item["error_message"] for item in logged}
    for bad, field in sample.invalid:
        assert (
            reasons[json.dumps(bad, sort_keys=True)].startswith(field)
            or f"{field}:" in (reasons[json.dumps(bad, sort_keys=True)])
        )
    dynamodb = pipeline.client("dynamodb")
    stored: dict[str, str] = {}
    for page in dynamodb.get_paginator("scan").paginate(TableName=pipeline.outputs["account_table"]):
        for item in page["Items"]:
            stored[item["account_id"]["S"]] = item["updated_at"]["S"]
    wrong = [a for a, newest in sample.newest.items() if parse_time(stored[a]) != newest]
    assert wrong == [], "an older or duplicate record overwrote a newer one"


def test_a_multipart_upload_is_read_once(pipeline: LocalStack, prefix: str, tmp_path: Any) -> None:
    # GIVEN a file above the multipart threshold (moto then also sends an ObjectCreated:Put, S3 does not)
    from boto3.s3.transfer import TransferConfig

    records = [record(f"{prefix}-{n}", note="x" * 5_000) for n in range(1_200)]
    records.append(record(f"{prefix}-bad", currency="EURO"))
    path = tmp_path / "big.json"
    path.write_text(json.dumps(records))
    before = pipeline.counters()
    # WHEN it is uploaded in parts
    part = 5 * 1024 * 1024
    pipeline.client("s3").upload_file(
        str(path),
        pipeline.outputs["data_bucket"],
        f"incoming/{prefix}-big.json",
        Config=TransferConfig(multipart_threshold=part, multipart_chunksize=part),
    )
    pipeline.wait_until_idle(120)
    # THEN the Transformer read it once: each record written once, not rewritten, the invalid one logged once
    after = pipeline.counters()
    assert after["s3.multipart_echo_dropped"] - before.get("s3.multipart_echo_dropped", 0) == 1
    assert after["dynamodb.written"] - before["dynamodb.written"] == 1_200
    assert after["dynamodb.stale"] - before["dynamodb.stale"] == 0
    assert len(log_items_mentioning(pipeline, f"{prefix}-bad")) == 1
