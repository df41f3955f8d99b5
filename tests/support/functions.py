"""Fixtures for the data-path unit tests: one moto world per test (mock_aws), events shaped like AWS's own.

Event files in ``events/`` are the shapes AWS documents (``sam local generate-event``); builders below copy
them and fill in what a test varies, so every handler test starts from a real event.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from moto import mock_aws

from functions import aws
from infra import spec
from tests.support import boto3_shapes

EVENTS = Path(__file__).resolve().parents[1] / "functions" / "events"
_SESSION = boto3.session.Session(region_name="us-east-1")
"""One session for the tests' own clients: it caches the service models, so each test's clients are cheap."""
BUCKET = "data-bucket"


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def s3_event(bucket: str, *raw_keys: str) -> dict[str, Any]:
    """An ObjectCreated:Put event naming ``raw_keys`` (already URL-encoded, as S3 sends them)."""
    template = load_event("s3_put.json")["Records"][0]
    records = []
    for key in raw_keys:
        record = copy.deepcopy(template)
        record["s3"]["bucket"]["name"] = bucket
        record["s3"]["bucket"]["arn"] = f"arn:aws:s3:::{bucket}"
        record["s3"]["object"]["key"] = key
        records.append(record)
    return {"Records": records}


SENT_TIMESTAMP = str(int(time.time() * 1000))
"""The SentTimestamp (epoch milliseconds) of every message :func:`sqs_event` builds without one of its own."""


def sqs_event(messages: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """An SQS → Lambda event from ReceiveMessage results (or dicts with Body / MessageAttributes)."""
    template = load_event("sqs_receive.json")["Records"][0]
    records = []
    for message in messages:
        record = copy.deepcopy(template)
        record["messageId"] = message.get("MessageId") or str(uuid.uuid4())
        record["body"] = message["Body"]
        record["attributes"]["ApproximateReceiveCount"] = "1"
        # sent when the tests started, like a message Lambda hands over today (the template's 2018 time would
        # put every record's updated_at "in the future" of its entry time); one instant for all, so a message
        # delivered twice is the same message
        record["attributes"].update(
            {"SentTimestamp": SENT_TIMESTAMP, "ApproximateFirstReceiveTimestamp": SENT_TIMESTAMP}
        )
        # what ReceiveMessage returned of SQS's own attributes (SentTimestamp...), as Lambda passes them
        record["attributes"].update(
            {name: str(value) for name, value in (message.get("Attributes") or {}).items()}
        )
        record["messageAttributes"] = {
            name: {
                "stringValue": value["StringValue"],
                "dataType": "String",
                "stringListValues": [],
                "binaryListValues": [],
            }
            for name, value in (message.get("MessageAttributes") or {}).items()
        }
        records.append(record)
    return {"Records": records}


@dataclass
class FakeContext:
    """The LambdaContext attributes Powertools reads."""

    function_name: str = "test-function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = "52fdfc07-2182-154f-163f-5f0f9a621d72"
    log_group_name: str = "/aws/lambda/test-function"
    log_stream_name: str = "2026/01/15/[$LATEST]abcdef"

    remaining_seconds: float | None = None
    """Set: the invocation ends this long after the context is made (a clock runs); None: always 30 s left."""
    created: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        if self.remaining_seconds is None:
            return 30_000
        return max(0, int((self.created + self.remaining_seconds - time.monotonic()) * 1000))


@dataclass
class World:
    """The moto resources of one test: names, URLs and clients."""

    s3: Any
    sqs: Any
    dynamodb: Any
    bucket: str
    writer_queue_url: str
    dlq_url: str
    account_table: str
    log_table: str

    def put_object(self, key: str, body: bytes | str) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)

    def receive_all(self, queue_url: str, *, attributes: bool = True) -> list[dict[str, Any]]:
        """Drain a queue (receive + delete) and return its messages."""
        messages: list[dict[str, Any]] = []
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
                AttributeNames=["All"],
            ).get("Messages", [])
            if not batch:
                return messages
            messages += batch
            self.sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
            )

    def accounts(self) -> dict[str, dict[str, Any]]:
        items = self.dynamodb.scan(TableName=self.account_table)["Items"]
        return {item["account_id"]["S"]: item for item in items}

    def log_items(self) -> list[dict[str, Any]]:
        return self.dynamodb.scan(TableName=self.log_table)["Items"]


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """Bucket, WriterQueue (redriving to the DLQ), DLQ and both tables, as infra/spec.py defines them."""
    aws.clear_cache()
    with mock_aws():
        s3 = _SESSION.client("s3")
        sqs = _SESSION.client("sqs")
        dynamodb = _SESSION.client("dynamodb")
        s3.create_bucket(Bucket=BUCKET)
        dlq_url = sqs.create_queue(QueueName="dlq", Attributes=boto3_shapes.dlq_attributes())["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        writer_queue_url = sqs.create_queue(
            QueueName="writer-queue", Attributes=boto3_shapes.writer_queue_attributes(dlq_arn)
        )["QueueUrl"]
        dynamodb.create_table(**boto3_shapes.create_table_kwargs(spec.ACCOUNT_TABLE, "accounts"))
        dynamodb.create_table(**boto3_shapes.create_table_kwargs(spec.LOG_TABLE, "errors"))
        monkeypatch.setenv("WRITER_QUEUE_URL", writer_queue_url)
        monkeypatch.setenv("ACCOUNT_TABLE", "accounts")
        monkeypatch.setenv("DLQ_URL", dlq_url)
        monkeypatch.setenv("LOG_TABLE", "errors")
        # Optional settings at their defaults: the local stack runs its handlers in this process and leaves
        # its functions' variables (LOG_RETENTION_DAYS=14 in dev...) in os.environ for later tests.
        for optional in ("LOG_RETENTION_DAYS", "MAX_FUTURE_SKEW_HOURS"):
            monkeypatch.delenv(optional, raising=False)
        yield World(s3, sqs, dynamodb, BUCKET, writer_queue_url, dlq_url, "accounts", "errors")
    aws.clear_cache()


@pytest.fixture
def context() -> FakeContext:
    return FakeContext()


def record(account_id: object = "acct-1", **overrides: Any) -> dict[str, Any]:
    """A valid input record; ``overrides`` replace or add keys (``None`` removes one)."""
    base: dict[str, Any] = {
        "account_id": account_id,
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "balance": "10.50",
        "currency": "GBP",
        "updated_at": "2026-01-01T00:00:00Z",
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


class _Raw:
    """The raw body botocore's AWSResponse reads (``stream``)."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def aws_error(url: str, status: int, code: str, message: str) -> Any:
    """An AWS JSON-protocol error answer, as a ``before-send`` handler returns it instead of the wire's."""
    from botocore.awsrequest import AWSResponse

    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message}).encode()
    return AWSResponse(url, status, {"Content-Type": "application/x-amz-json-1.0"}, _Raw(body))


def on_put_item(handler: Callable[[dict[str, Any]], Any]) -> Callable[..., Any]:
    """A botocore ``before-send`` handler for PutItem calling ``handler(request JSON)``; what it returns
    (None: carry on to the store) answers the request. The writer's sender emits this event before every
    attempt, where moto's own mock answers; register it first so that it is asked before moto."""

    def hook(request: Any, **_: Any) -> Any:
        return handler(json.loads(request.body))

    return hook


@pytest.fixture
def fail_put_items(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[Iterable[str], str], None]]:
    """Make PutItem fail, after the retries, for chosen account ids (a ``before-send`` handler on the
    writer's real client: the writer's code runs unchanged; its retry backoff is shortened to keep the
    tests fast)."""
    from functions.writer import transport

    monkeypatch.setattr(transport, "THROTTLING_BACKOFF_SECONDS", 0.001)
    monkeypatch.setattr(transport, "OTHER_BACKOFF_SECONDS", 0.001)
    client = aws.client("dynamodb")
    registered: list[Callable[..., Any]] = []

    def install(account_ids: Iterable[str], code: str = "ProvisionedThroughputExceededException") -> None:
        doomed = set(account_ids)
        status = 500 if code == "InternalServerError" else 400

        def refuse(request: dict[str, Any]) -> Any:
            if request["TableName"] == world.account_table and request["Item"]["account_id"]["S"] in doomed:
                return aws_error(
                    client.meta.endpoint_url, status, code, "Rate of requests exceeds the limit."
                )
            return None

        hook = on_put_item(refuse)
        client.meta.events.register_first("before-send.dynamodb.PutItem", hook)
        registered.append(hook)

    yield install
    for hook in registered:
        client.meta.events.unregister("before-send.dynamodb.PutItem", hook)


def drain(
    world: World,
    queue_url: str,
    handler: Callable[[dict[str, Any], Any], PartialItemFailureResponse],
    context: FakeContext,
) -> None:
    """Receive in batches of 10, invoke, delete what was not reported failed; make failures visible again so
    the next receive applies the redrive (as moto does it lazily)."""
    for _ in range(100):  # bounded: a handler that keeps failing must fail the test, not hang it
        batch = world.sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], AttributeNames=["All"]
        ).get("Messages", [])
        if not batch:
            return
        response = handler(sqs_event(batch), context)
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        for m in batch:
            if m["MessageId"] in failed:
                world.sqs.change_message_visibility(
                    QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
                )
            else:
                world.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
    raise AssertionError(f"{queue_url} still not drained after 100 batches")


def emitted_metrics(stdout: str) -> dict[str, Any]:
    """The record outcome counts (``Records…``) of the EMF document Powertools printed."""
    for line in stdout.splitlines():
        if '"_aws"' in line:
            document = json.loads(line)
            names = [m["Name"] for m in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
            names = [name for name in names if name.startswith("Records")]
            assert document["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "ServerlessPipeline"
            assert document["service"] == "writer"
            values = {name: document[name] for name in names}
            return {name: sum(v) if isinstance(v, list) else v for name, v in values.items()}
    raise AssertionError(f"no EMF document in {stdout!r}")
