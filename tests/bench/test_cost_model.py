"""The arithmetic of ``bench/cost.py`` on small fixed inputs, against values worked out by hand.

Not the measurements: chunk rounding (SQS 64 KiB, API Gateway 512 KiB), DynamoDB item sizes and write
units, Lambda's millisecond rounding and GB-seconds, the vCPU stretch, the bills and the writer-cost split,
and how the call recorder turns AWS calls into billed units.
"""

from __future__ import annotations

from typing import Any

import pytest

from bench.cost import CallRecorder, Counts, FunctionRun, Invocation, Run, explain_excess
from bench.cost_model import (
    PRICES,
    Bill,
    Line,
    Straightforward,
    WriterCost,
    api_requests,
    billed_ms,
    floor,
    gb_seconds,
    item_bytes,
    lambda_gb_price,
    lambda_seconds,
    number_bytes,
    split_writer_cost,
    sqs_message_bytes,
    sqs_requests,
    vcpu_share,
    write_units,
)


@pytest.mark.parametrize(
    ("payload", "requests"),
    [(0, 1), (1, 1), (65_536, 1), (65_537, 2), (262_144, 4), (258_665, 4), (1_048_576, 16)],
)
def test_sqs_bills_each_started_64_kib_chunk(payload: int, requests: int) -> None:
    assert sqs_requests(payload) == requests


@pytest.mark.parametrize(("body", "requests"), [(1, 1), (524_288, 1), (524_289, 2), (1_048_577, 3)])
def test_api_gateway_meters_512_kib_increments(body: int, requests: int) -> None:
    assert api_requests(body) == requests


def test_sqs_message_size_is_body_plus_attribute_names_types_and_values() -> None:
    attributes = {"source": {"DataType": "String", "StringValue": "s3://b/k"}}
    # "héllo" is 6 UTF-8 bytes; then "source" 6 + "String" 6 + "s3://b/k" 8.
    assert sqs_message_bytes("héllo", attributes) == 26
    assert sqs_message_bytes("héllo") == 6


@pytest.mark.parametrize(
    ("number", "size"),
    [("1234.56", 4), ("12345", 4), ("100", 2), ("-0.00123", 3), ("0", 1), ("1E+3", 2)],
)
def test_number_size_is_one_byte_per_two_significant_digits_plus_one(number: str, size: int) -> None:
    assert number_bytes(number) == size


def test_item_size_sums_names_and_values() -> None:
    item: dict[str, dict[str, Any]] = {
        "account_id": {"S": "a-1"},  # 10 + 3
        "balance": {"N": "1234.56"},  # 7 + 4
        "ok": {"BOOL": True},  # 2 + 1
        "tags": {"L": [{"S": "x"}, {"N": "7"}]},  # 4 + 3 + (1 + 1) + (2 + 1)
    }
    assert item_bytes(item) == 13 + 11 + 3 + 12


@pytest.mark.parametrize(("size", "units"), [(0, 1), (300, 1), (1024, 1), (1025, 2), (3000, 3)])
def test_write_units_round_up_per_started_kilobyte(size: int, units: int) -> None:
    assert write_units(size) == units


@pytest.mark.parametrize(("seconds", "ms"), [(0.0, 1), (0.0001, 1), (0.002, 2), (0.0021, 3), (1.5, 1500)])
def test_lambda_rounds_each_invocation_up_to_the_millisecond(seconds: float, ms: int) -> None:
    assert billed_ms(seconds) == ms


def test_gb_seconds_and_the_vcpu_stretch() -> None:
    assert gb_seconds(256, 1000) == 0.25
    assert gb_seconds(512, 3) == pytest.approx(0.0015)
    assert vcpu_share(1769) == 1.0
    assert vcpu_share(3538) == 1.0
    assert vcpu_share(256) == pytest.approx(256 / 1769)
    # CPU-bound: 10 ms of CPU on a 256 MB function takes 10 × 1769 / 256 ms.
    assert lambda_seconds(cpu=0.01, memory_mb=256) == pytest.approx(0.0691015625)
    assert lambda_seconds(cpu=0.01, memory_mb=2048) == 0.01
    assert lambda_gb_price("arm64") == "lambda_gb_s_arm64"
    with pytest.raises(ValueError):
        lambda_gb_price("sparc")


def test_prices_turn_units_into_dollars() -> None:
    assert PRICES["dynamodb_wru"].cost(1_000_000) == pytest.approx(0.625)
    assert PRICES["sqs_request"].cost(2_500_000) == pytest.approx(1.0)
    assert PRICES["s3_get"].cost(1000) == pytest.approx(0.0004)


def test_bill_per_million_and_floor() -> None:
    bill = Bill(
        "p",
        2000,
        (Line("SQS send", 10, "sqs_request"), Line("DynamoDB writes", 2000, "dynamodb_wru")),
    )
    assert bill.usd == pytest.approx(10 * 0.4e-6 + 2000 * 0.625e-6)
    assert bill.per_million() == pytest.approx(0.627)
    assert bill.per_million("SQS send") == pytest.approx(0.002)
    assert bill.per_million("absent") == 0
    assert floor(bill).per_million() == pytest.approx(0.625)


def test_writer_cost_split_recovers_fixed_and_per_record_parts() -> None:
    a, b = 20.0, 3.0
    big = (a * 3 + b * 20_000, 3, 20_000)
    small = (a * 200 + b * 2000, 200, 2000)
    assert split_writer_cost(big, small) == WriterCost(pytest.approx(a), pytest.approx(b))  # type: ignore[arg-type]


def test_straightforward_model_by_hand() -> None:
    model = Straightforward(
        records=1000,
        message_bytes=200,
        write_units_per_record=1,
        writer=WriterCost(20, 3),
        writer_memory_mb=256,
        gb_price="lambda_gb_s_arm64",
        log_bytes_per_record=0,
        api_body_bytes=200,
    )
    bill = model.bill("api")
    # 1000 API requests, 3000 SQS requests (send, receive, delete), 1000 invocations of ceil(23) ms at 0.25 GB
    # (5.75 GB-s), 1000 write units.
    expected = 1000 * 1e-6 + 3000 * 0.4e-6 + 1000 * 0.2e-6 + 5.75 * 0.0000133334 + 1000 * 0.625e-6
    assert bill.usd == pytest.approx(expected)
    upload = Straightforward(**{**model.__dict__, "api_body_bytes": None}).bill("upload")
    assert upload.line("SQS send") == Line("SQS send", 100, "sqs_request")  # ten one-record messages a call
    assert upload.line("API requests") is None
    traced = Straightforward(**{**model.__dict__, "trace_rate": 0.05}).bill("traced")
    assert traced.usd - bill.usd == pytest.approx(50 * 5e-6)  # 5 % of 1000 invocations, $5 per million


def test_recorder_bills_calls_by_chunk_and_skips_the_local_machinery() -> None:
    recorder = CallRecorder()
    recorder.watch(
        writer_queue_url="http://h/1/wq", dlq_url="http://h/1/dlq", notification_queue_url="http://h/1/n"
    )
    recorder.start()
    entries = [{"Id": str(i), "MessageBody": "x" * 40_000} for i in range(2)]
    recorder._sqs("SendMessageBatch", {"QueueUrl": "http://h/1/wq", "Entries": entries}, {}, 200)
    recorder._sqs("SendMessage", {"QueueUrl": "http://h/1/wq", "MessageBody": "{}"}, {}, 200)
    recorder._sqs("ReceiveMessage", {"QueueUrl": "http://h/1/wq"}, {}, 200)
    recorder._sqs("ReceiveMessage", {"QueueUrl": "http://h/1/n"}, {"Messages": [{"Body": "n"}]}, 200)
    recorder._sqs("GetQueueAttributes", {"QueueUrl": "http://h/1/wq"}, {}, 200)
    item = {"account_id": {"S": "a"}, "balance": {"N": "1"}}
    recorder._dynamodb("PutItem", {"Item": item}, {}, 200)
    recorder._dynamodb("PutItem", {"Item": item}, {"Error": {"Code": "ConditionalCheckFailedException"}}, 400)
    recorder._dynamodb("PutItem", {"Item": item}, {"Error": {"Code": "ThrottlingException"}}, 400)
    recorder._dynamodb("PutItem", {"Item": {"account_id": {"S": "b" * 2000}}}, {}, 200)
    counts = recorder.stop()
    assert counts.sqs["send"] == 2 + 1  # 80,000 bytes in one call is two chunks; "{}" one
    assert counts.api_requests == 1 and counts.api_body_bytes == 2
    assert counts.empty_receives == 1 and counts.sqs["receive"] == 0
    assert sum(counts.machinery.values()) == 2
    assert counts.writes == 3  # the throttled write is not charged, the failed condition is
    assert counts.write_units == 1 + 1 + 2


def test_excess_is_pinned_on_the_largest_line(capsys: pytest.CaptureFixture[str]) -> None:
    writer = FunctionRun("writer", 256, 30, [Invocation(wall=1.0, cpu=20.0, messages=10)])
    run = Run("upload", 1000, Counts(), {"writer": writer}, log_bytes=0, seconds=1.0, written=1000)
    writes = Line("DynamoDB writes", 1000, "dynamodb_wru")  # $0.625 per million records
    # 20 s of CPU on a 256 MB writer: 20 × 1769 / 256 = 138.203125 s, billed 138,204 ms for 1000 records
    # (34.551 GB-s, $0.46 per million records against a floor of $0.625): far over 1.05×.
    over = Bill("upload", 1000, (Line("writer GB-s", writer.gb_s, "lambda_gb_s_arm64"), writes))
    explain_excess(over, floor(over), run)
    printed = capsys.readouterr().out
    assert "writer GB-s dominates: 138.20 billed ms per record at 256 MB (20000 µs of CPU" in printed
    under = Bill("upload", 1000, (Line("SQS send", 10, "sqs_request"), writes))
    explain_excess(under, floor(under), run)
    assert "headroom: SQS send could grow by" in capsys.readouterr().out


def test_recorder_counts_the_writers_own_putitems_as_they_are_sent_and_botocores_after_the_call() -> None:
    from botocore.awsrequest import AWSPreparedRequest

    recorder = CallRecorder()
    recorder.start()
    body = b'{"TableName": "t", "Item": {"account_id": {"S": "a"}, "balance": {"N": "1"}}}'
    lean = AWSPreparedRequest("POST", "http://h/", {"X-Amz-Target": "DynamoDB_20120810.PutItem"}, body, False)
    botocore = AWSPreparedRequest("POST", "http://h/", {"User-Agent": "Boto3/1"}, body, False)
    recorder._put_item_sent(request=lean)
    recorder._put_item_sent(request=botocore)  # counted by _dynamodb after its call instead
    counts = recorder.stop()
    assert (counts.writes, counts.write_units) == (1, 1)
