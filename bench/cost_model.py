"""The arithmetic of ``bench/cost.py``: public prices, billing units, and the bills built from counts.

Kept apart from the measuring script so that a test can check every rounding rule on small fixed inputs
(chunks, write units, GB-seconds) without starting the local stack. Nothing here measures anything.

Billing rules, as AWS states them (pages cited next to each price):

* SQS bills every 64 KiB chunk of a request's payload as one request (a 256 KiB message is four); a
  message's size is its body plus each attribute's name, type and value.
* API Gateway HTTP APIs meter requests in 512 KiB increments.
* DynamoDB on demand: a standard write of an item up to 1 KB is one write request unit, larger items take one
  more per started KB; a conditional write that fails its condition is still charged. Item size: each
  attribute's UTF-8 name plus its value (strings: UTF-8 bytes; numbers: one byte per two significant digits
  plus one; binary: raw bytes; null/boolean: one byte; list/map: three bytes plus one per element).
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
* Lambda bills each invocation's duration rounded up to the millisecond, times the configured memory in GB
  (MB / 1,024), plus a price per request. CPU is allotted in proportion to memory: 1,769 MB is one vCPU.
  https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

# --- Prices ---------------------------------------------------------------------------------------------

PRICES_CHECKED = "2026-12-06"
"""When the prices below were checked against the pages cited (the stored copies the search tool returned;
where AWS's own page was not among them, against the third-party page named, which quotes it)."""
REGION = "us-east-1"
"""US East (N. Virginia); on-demand list prices, no free tier, first volume tier."""


@dataclass(frozen=True)
class Price:
    usd: float
    per: int
    """``usd`` buys this many units."""
    unit: str

    def cost(self, units: float) -> float:
        return units * self.usd / self.per


PRICES: dict[str, Price] = {
    # https://aws.amazon.com/dynamodb/pricing/on-demand/ (Standard table class; the November 2024 price);
    # checked against https://airbyte.com/data-engineering-resources/dynamodb-pricing
    "dynamodb_wru": Price(0.625, 1_000_000, "write request unit"),
    # https://aws.amazon.com/lambda/pricing/ ; checked against https://cloudchipr.com/blog/aws-lambda-pricing
    "lambda_request": Price(0.20, 1_000_000, "Lambda request"),
    "lambda_gb_s_arm64": Price(0.0000133334, 1, "GB-second, Arm (first 7.5 billion GB-s a month)"),
    "lambda_gb_s_x86_64": Price(0.0000166667, 1, "GB-second, x86 (first 6 billion GB-s a month)"),
    # https://aws.amazon.com/sqs/pricing/ ; checked against https://cloudburn.io/blog/amazon-sqs-pricing
    # (March 2026) and https://unanswered.io/guide/aws-sqs-pricing-and-cost-optimization
    "sqs_request": Price(0.40, 1_000_000, "SQS request (64 KiB chunk), standard queue"),
    # https://aws.amazon.com/api-gateway/pricing/ ; checked against https://www.apigatewaycost.com/aws and
    # https://www.stormit.cloud/blog/amazon-api-gateway-pricing (512 KB metering)
    "api_request": Price(1.00, 1_000_000, "HTTP API request (512 KiB chunk), first 300 million a month"),
    # https://aws.amazon.com/s3/pricing/ (S3 Standard); checked against
    # https://c3x.dev/blog/s3-request-fees-explained
    "s3_put": Price(0.005, 1_000, "S3 PUT/COPY/POST/LIST request"),
    "s3_get": Price(0.0004, 1_000, "S3 GET/SELECT request"),
    # https://aws.amazon.com/cloudwatch/pricing/ (Standard log class, first tier of Lambda logs); checked
    # against https://www.duckbillgroup.com/?p=9080 and https://c3x.dev/blog/cloudwatch-logs-cost-optimization
    "logs_gb": Price(0.50, 1, "GB of CloudWatch Logs ingested"),
    # https://aws.amazon.com/xray/pricing/ (traces recorded, beyond the free tier)
    "xray_trace": Price(5.00, 1_000_000, "X-Ray trace recorded"),
}

XRAY_SAMPLING_RATE = 0.05
"""X-Ray's default sampling rule: the first request each second, then 5 % of the rest. The traces lines use
the 5 % alone: exact at the rates a million records come at, short by at most one trace a second.
https://docs.aws.amazon.com/xray/latest/devguide/xray-console-sampling.html"""

# --- Billing units --------------------------------------------------------------------------------------

SQS_CHUNK_BYTES = 64 * 1024
API_CHUNK_BYTES = 512 * 1024
WRITE_UNIT_BYTES = 1024
LAMBDA_MB_PER_VCPU = 1769
GB_BYTES = 1024**3


def sqs_requests(payload_bytes: int) -> int:
    """Billed SQS requests for one API call carrying ``payload_bytes`` (every call is at least one)."""
    return max(1, math.ceil(payload_bytes / SQS_CHUNK_BYTES))


def api_requests(body_bytes: int) -> int:
    """Billed HTTP API requests for one request with a body of ``body_bytes``."""
    return max(1, math.ceil(body_bytes / API_CHUNK_BYTES))


def sqs_message_bytes(body: str, attributes: Mapping[str, Mapping[str, Any]] | None = None) -> int:
    """A message's size as SQS counts it: body plus each attribute's name, data type and value."""
    size = len(body.encode())
    for name, value in (attributes or {}).items():
        size += len(name.encode()) + len(str(value.get("DataType", "")).encode())
        if "StringValue" in value:
            size += len(str(value["StringValue"]).encode())
        if "BinaryValue" in value:
            size += len(value["BinaryValue"])
    return size


def number_bytes(text: str) -> int:
    """A DynamoDB number's size: one byte per two significant digits, plus one."""
    try:
        digits = Decimal(text).normalize().as_tuple().digits
    except InvalidOperation:
        return len(text.encode())
    significant = 0 if digits == (0,) else len(digits)
    return math.ceil(significant / 2) + 1


def attribute_value_bytes(value: Mapping[str, Any]) -> int:
    """The size of one DynamoDB attribute value (wire form, e.g. ``{"S": "x"}``), without its name."""
    ((kind, content),) = value.items()
    if kind == "S":
        return len(content.encode())
    if kind == "N":
        return number_bytes(content)
    if kind == "B":
        return len(content)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(element.encode()) for element in content)
    if kind == "NS":
        return sum(number_bytes(element) for element in content)
    if kind == "BS":
        return sum(len(element) for element in content)
    if kind == "L":
        return 3 + sum(attribute_value_bytes(element) + 1 for element in content)
    if kind == "M":
        return 3 + sum(
            len(name.encode()) + attribute_value_bytes(element) + 1 for name, element in content.items()
        )
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def item_bytes(item: Mapping[str, Mapping[str, Any]]) -> int:
    """A DynamoDB item's size: the sum of its attribute names and values."""
    return sum(len(name.encode()) + attribute_value_bytes(value) for name, value in item.items())


def write_units(size_bytes: int) -> int:
    """On-demand write request units of one standard write of an item of ``size_bytes``."""
    return max(1, math.ceil(size_bytes / WRITE_UNIT_BYTES))


def billed_ms(seconds: float) -> int:
    """Lambda's billed duration of one invocation: rounded up to the millisecond (at least one)."""
    return max(1, math.ceil(round(seconds * 1000, 6)))


def gb_seconds(memory_mb: int, milliseconds: float) -> float:
    """GB-seconds of ``milliseconds`` of billed duration at ``memory_mb``."""
    return memory_mb / 1024 * milliseconds / 1000


def vcpu_share(memory_mb: int) -> float:
    """The part of one vCPU a function of ``memory_mb`` runs on (one vCPU at 1,769 MB; single thread)."""
    return min(1.0, memory_mb / LAMBDA_MB_PER_VCPU)


def lambda_seconds(*, cpu: float, memory_mb: int) -> float:
    """Estimated duration in Lambda of an invocation that used ``cpu`` seconds of CPU here: that CPU stretched
    to the function's vCPU share. Assumes one core here does the work of one Lambda vCPU, and that the
    function is CPU-bound at its memory size (the writer keeps its PutItems in flight concurrently, so their
    latency overlaps its CPU work). The wall time measured here is no stand-in: it grows with the load other
    processes put on this machine."""
    return cpu / vcpu_share(memory_mb)


def lambda_gb_price(architecture: str) -> str:
    """The PRICES key of a GB-second on ``architecture`` (``arm64`` or ``x86_64``)."""
    key = f"lambda_gb_s_{architecture}"
    if key not in PRICES:
        raise ValueError(f"no Lambda price for architecture {architecture!r}")
    return key


# --- Bills ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One line of a bill: a quantity of a priced unit."""

    name: str
    quantity: float
    price: str
    """A key of :data:`PRICES`."""

    @property
    def usd(self) -> float:
        return PRICES[self.price].cost(self.quantity)


@dataclass(frozen=True)
class Bill:
    """What ``records`` records cost on one path, line by line."""

    path: str
    records: int
    lines: tuple[Line, ...]

    @property
    def usd(self) -> float:
        return sum(line.usd for line in self.lines)

    def per_million(self, name: str | None = None) -> float:
        """Dollars per million records, for the whole bill or one line (0 if the bill lacks it)."""
        usd = self.usd if name is None else sum(line.usd for line in self.lines if line.name == name)
        return usd * 1_000_000 / self.records

    def line(self, name: str) -> Line | None:
        return next((line for line in self.lines if line.name == name), None)


FLOOR_LINE = "DynamoDB writes"


def floor(bill: Bill) -> Bill:
    """The floor of a path: its DynamoDB writes alone (what storing the records costs whatever the design)."""
    writes = tuple(line for line in bill.lines if line.name == FLOOR_LINE)
    return Bill(f"{bill.path}: floor", bill.records, writes)


@dataclass(frozen=True)
class WriterCost:
    """The writer's billed duration as a fixed part per invocation plus a part per record (milliseconds)."""

    per_invocation_ms: float
    per_record_ms: float


def split_writer_cost(big: tuple[float, int, int], small: tuple[float, int, int]) -> WriterCost:
    """Solve ``total_ms = a × invocations + b × records`` from two runs, each ``(total_ms, invocations,
    records)``: one with many records per invocation (the upload path), one with few (one record per POST).
    Negative solutions (noise) are clipped to zero."""
    (s1, i1, n1), (s2, i2, n2) = big, small
    determinant = i1 * n2 - i2 * n1
    if determinant == 0:
        return WriterCost(0.0, max(0.0, s1 / n1))
    a = (s1 * n2 - s2 * n1) / determinant
    b = (i1 * s2 - i2 * s1) / determinant
    if a < 0:
        return WriterCost(0.0, (s1 + s2) / (n1 + n2))
    if b < 0:
        return WriterCost((s1 + s2) / (i1 + i2), 0.0)
    return WriterCost(a, b)


@dataclass(frozen=True)
class Straightforward:
    """The straightforward design, as a model built from measured per-record figures.

    One record per SQS message; the consumer's event source has batch size 1, so every record is one
    ReceiveMessage, one DeleteMessage, one writer invocation and one PutItem. The producer of the upload path
    sends its one-record messages ten to a SendMessageBatch (the obvious use of the SDK); the API path's
    producer is API Gateway, one SendMessage per POST of one record.
    """

    records: int
    message_bytes: float
    """Bytes of one one-record message (body and attributes), as measured."""
    write_units_per_record: float
    writer: WriterCost
    writer_memory_mb: int
    gb_price: str
    log_bytes_per_record: float
    trace_rate: float = 0.0
    """Share of writer invocations traced by X-Ray (0 without active tracing)."""
    api_body_bytes: float | None = None
    """One POSTed record's bytes: the API path. None: the upload path (``producer`` lines then apply)."""
    producer: tuple[Line, ...] = ()
    """The upload path's transformer and S3 lines, as measured (scaled to ``records``)."""

    def bill(self, path: str) -> Bill:
        n = self.records
        per_invocation_ms = billed_ms((self.writer.per_invocation_ms + self.writer.per_record_ms) / 1000)
        lines = list(self.producer)
        if self.api_body_bytes is not None:
            lines.append(Line("API requests", n * api_requests(round(self.api_body_bytes)), "api_request"))
            sends = n * sqs_requests(round(self.message_bytes))
        else:
            sends = math.ceil(n / 10) * sqs_requests(round(10 * self.message_bytes))
        lines += [
            Line("SQS send", sends, "sqs_request"),
            Line("SQS receive", n * sqs_requests(round(self.message_bytes)), "sqs_request"),
            Line("SQS delete", n, "sqs_request"),
            Line("writer requests", n, "lambda_request"),
            Line("writer GB-s", n * gb_seconds(self.writer_memory_mb, per_invocation_ms), self.gb_price),
            Line("CloudWatch Logs", n * self.log_bytes_per_record / GB_BYTES, "logs_gb"),
            Line("X-Ray traces", n * self.trace_rate, "xray_trace"),
            Line(FLOOR_LINE, n * self.write_units_per_record, "dynamodb_wru"),
        ]
        return Bill(path, n, tuple(line for line in lines if line.quantity))
