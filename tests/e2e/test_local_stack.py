"""The local stack's own machinery — emulator, resources, dispatcher, API stand-in, fault switch, restart —
driven with small scripted handlers, so that a Lambda semantic the pipeline relies on is checked on its own.

The pipeline's real handlers run in ``test_pipeline.py``; here each handler records the events it was given
and does what the test asks.
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from functions.model import MAX_MESSAGE_BYTES
from infra import spec
from local_stack.stack import LocalStack

pytestmark = pytest.mark.e2e


class Scripted:
    """A handler that records every event and answers with ``behaviour(event)`` (default: all succeeded)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.behaviour: Callable[[dict[str, Any]], Any] = lambda event: None
        self._lock = threading.Lock()

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        with self._lock:
            self.events.append(event)
        return self.behaviour(event)

    def records(self) -> list[dict[str, Any]]:
        with self._lock:
            return [record for event in self.events for record in event["Records"]]

    def reset(self) -> None:
        with self._lock:
            self.events.clear()
        self.behaviour = lambda event: None


def raising(error: BaseException) -> Callable[[dict[str, Any]], Any]:
    """A behaviour that raises ``error`` on every event, as a crashing handler would."""

    def behaviour(event: dict[str, Any]) -> Any:
        raise error

    return behaviour


@pytest.fixture(scope="module")
def handlers() -> dict[str, Scripted]:
    return {"transformer": Scripted(), "writer": Scripted(), "error_handler": Scripted()}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, handlers: dict[str, Scripted]) -> Iterator[LocalStack]:
    with LocalStack(tmp_path_factory.mktemp("scripted"), handlers=handlers, fresh=True) as running:
        yield running


@pytest.fixture(autouse=True)
def _clean(stack: LocalStack, handlers: dict[str, Scripted]) -> Iterator[None]:
    stack.faults.clear()
    for handler in handlers.values():
        handler.reset()
    yield
    for handler in handlers.values():
        handler.behaviour = lambda event: None
    stack.wait_until_idle(10)


def bodies(handler: Scripted) -> list[str]:
    return sorted(record["body"] for record in handler.records())


def test_outputs_document_is_written_with_every_key(stack: LocalStack) -> None:
    document = json.loads(stack.outputs_path.read_text())
    assert set(document) == {
        *spec.OUTPUT_KEYS,
        *spec.OPTIONAL_OUTPUT_KEYS,
        "endpoint_url",
        "program_stack",
        "pid",
        "started_at",
    }
    assert document == stack.outputs
    assert document["pid"] == str(os.getpid()), "whose it is: a crashed run's document is recognised"
    assert document["stack"] == "local" and document["api_auth"] == "NONE"
    assert document["endpoint_url"].startswith("http://127.0.0.1:")
    assert document["api_url"].startswith("http://127.0.0.1:")


def test_resources_follow_the_shared_spec(stack: LocalStack) -> None:
    sqs, dynamodb = stack.client("sqs"), stack.client("dynamodb")
    attributes = sqs.get_queue_attributes(QueueUrl=stack.outputs["writer_queue_url"], AttributeNames=["All"])[
        "Attributes"
    ]
    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": stack.resources.dlq_arn,
        "maxReceiveCount": spec.DEFAULT_MAX_RECEIVE_COUNT,
    }
    assert attributes["VisibilityTimeout"] == str(spec.WRITER_QUEUE.visibility_timeout_seconds)
    assert attributes["MaximumMessageSize"] == str(MAX_MESSAGE_BYTES)
    log_table = dynamodb.describe_table(TableName=stack.outputs["log_table"])["Table"]
    indexes = {index["IndexName"]: index for index in log_table["GlobalSecondaryIndexes"]}
    assert sorted(indexes) == sorted([spec.LOG_TABLE_DAY_INDEX, spec.LOG_TABLE_ACCOUNT_INDEX])
    assert indexes[spec.LOG_TABLE_ACCOUNT_INDEX]["KeySchema"] == [
        {"AttributeName": "account_id", "KeyType": "HASH"},
        {"AttributeName": "failed_at", "KeyType": "RANGE"},
    ]
    assert indexes[spec.LOG_TABLE_ACCOUNT_INDEX]["Projection"] == {"ProjectionType": "ALL"}
    ttl = dynamodb.describe_time_to_live(TableName=stack.outputs["log_table"])["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl"}


def test_json_upload_reaches_the_transformer_with_the_key_encoded_as_s3_does(
    stack: LocalStack, handlers: dict[str, Scripted]
) -> None:
    s3 = stack.client("s3")
    s3.put_object(Bucket=stack.outputs["data_bucket"], Key="in/my file ç.json", Body=b"[]")
    s3.put_object(Bucket=stack.outputs["data_bucket"], Key="in/ignored.JSON", Body=b"[]")
    s3.put_object(Bucket=stack.outputs["data_bucket"], Key="in/ignored.csv", Body=b"a,b")
    stack.wait_until_idle(10)

    records = handlers["transformer"].records()
    assert [record["s3"]["object"]["key"] for record in records] == ["in/my+file+%C3%A7.json"]
    assert records[0]["s3"]["bucket"]["name"] == stack.outputs["data_bucket"]
    assert records[0]["eventName"].startswith("ObjectCreated:")


def test_upload_from_another_process_is_transformed(stack: LocalStack, handlers: dict[str, Scripted]) -> None:
    """Any S3 client works, not only this process's: a separate Python process uploads with plain boto3."""
    import subprocess
    import sys

    script = (
        "import boto3,sys; boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1',"
        " aws_access_key_id='x', aws_secret_access_key='x').put_object(Bucket=sys.argv[2], Key='other.json',"
        " Body=b'{}')"
    )
    subprocess.run(
        [sys.executable, "-c", script, stack.endpoint_url, stack.outputs["data_bucket"]],
        check=True,
        timeout=60,
    )
    stack.wait_until_idle(10)
    assert [record["s3"]["object"]["key"] for record in handlers["transformer"].records()] == ["other.json"]


def test_only_the_reported_failures_stay_and_go_to_the_dlq_on_the_next_receive(
    stack: LocalStack, handlers: dict[str, Scripted]
) -> None:
    writer = handlers["writer"]
    writer.behaviour = lambda event: {
        "batchItemFailures": [
            {"itemIdentifier": record["messageId"]} for record in event["Records"] if record["body"] == "fail"
        ]
    }
    sqs = stack.client("sqs")
    for body in ("ok-1", "fail", "ok-2"):
        sqs.send_message(QueueUrl=stack.outputs["writer_queue_url"], MessageBody=body)
    stack.wait_until_idle(10)

    assert bodies(writer) == ["fail", "ok-1", "ok-2"], "each message is delivered to the writer exactly once"
    dead = handlers["error_handler"].records()
    assert [record["body"] for record in dead] == ["fail"]
    assert dead[0]["eventSourceARN"] == stack.resources.dlq_arn
    assert dead[0]["attributes"]["ApproximateReceiveCount"] == "2", "the redrive counted the writer's receive"


def test_a_handler_that_raises_leaves_its_whole_batch_for_the_redrive(
    stack: LocalStack, handlers: dict[str, Scripted]
) -> None:
    handlers["writer"].behaviour = raising(RuntimeError("writer crashed"))
    sqs = stack.client("sqs")
    sqs.send_message(QueueUrl=stack.outputs["writer_queue_url"], MessageBody="crash-1")
    stack.wait_until_idle(10)

    assert bodies(handlers["error_handler"]) == ["crash-1"]
    assert stack.counters()["writer.errors"] >= 1


def test_an_s3_event_the_transformer_keeps_failing_reaches_the_dlq_as_lambdas_invocation_record(
    stack: LocalStack, handlers: dict[str, Scripted]
) -> None:
    """Lambda's async retries (3 invokes in all), then the on-failure destination: the DLQ."""

    handlers["transformer"].behaviour = raising(MemoryError("killed at 512 MB"))
    stack.client("s3").put_object(Bucket=stack.outputs["data_bucket"], Key="in/doomed file.json", Body=b"[]")
    stack.wait_until_idle(15)

    assert len(handlers["transformer"].records()) == 3
    [body] = bodies(handlers["error_handler"])
    record = json.loads(body)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestPayload"]["Records"][0]["s3"]["object"]["key"] == "in/doomed+file.json"
    assert record["responsePayload"] == {"errorMessage": "killed at 512 MB", "errorType": "MemoryError"}
    assert stack.counters()["transformer.given_up"] == 1


def test_an_unknown_item_identifier_fails_the_whole_batch(
    stack: LocalStack, handlers: dict[str, Scripted]
) -> None:
    handlers["writer"].behaviour = lambda event: {"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]}
    stack.client("sqs").send_message(QueueUrl=stack.outputs["writer_queue_url"], MessageBody="unknown-id")
    stack.wait_until_idle(10)
    assert bodies(handlers["error_handler"]) == ["unknown-id"]


def test_records_are_shaped_like_lambdas_sqs_event(stack: LocalStack, handlers: dict[str, Scripted]) -> None:
    stack.client("sqs").send_message(
        QueueUrl=stack.outputs["writer_queue_url"],
        MessageBody="shaped",
        MessageAttributes={"error_type": {"DataType": "String", "StringValue": "InvalidRecord"}},
    )
    stack.wait_until_idle(10)
    (record,) = handlers["writer"].records()
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == stack.resources.writer_queue_arn
    assert record["awsRegion"] == stack.outputs["region"]
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"]["error_type"]["stringValue"] == "InvalidRecord"
    assert record["messageAttributes"]["error_type"]["dataType"] == "String"
    assert {"messageId", "receiptHandle", "body", "md5OfBody"} <= set(record)


def test_handlers_run_with_the_environment_lambda_gives_them(
    stack: LocalStack, handlers: dict[str, Scripted]
) -> None:
    import os

    # The writer's own variables (as the program declares them) and Lambda's; the other functions' variables
    # are in the process only once they have run (runtime.apply_environment), so they are not asserted here.
    seen: dict[str, str | None] = {}
    names = (
        "ACCOUNT_TABLE",
        "DLQ_URL",
        "WRITER_QUEUE_URL",
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
        "AWS_LAMBDA_FUNCTION_NAME",
    )
    handlers["writer"].behaviour = lambda event: seen.update({name: os.environ.get(name) for name in names})
    stack.client("sqs").send_message(QueueUrl=stack.outputs["writer_queue_url"], MessageBody="env")
    stack.wait_until_idle(10)
    assert seen == {
        "ACCOUNT_TABLE": stack.outputs["account_table"],
        "DLQ_URL": stack.outputs["dlq_url"],
        "WRITER_QUEUE_URL": stack.outputs["writer_queue_url"],
        "AWS_ENDPOINT_URL": stack.handler_endpoint_url,
        "AWS_REGION": stack.outputs["region"],
        "AWS_LAMBDA_FUNCTION_NAME": stack.outputs["writer_function"],
    }


def _request(
    stack: LocalStack, method: str, path: str, body: bytes | None = None
) -> tuple[int, dict[str, Any]]:
    host, port = stack.api_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request(method, path, body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        payload = response.read()
        return response.status, json.loads(payload) if payload else {}
    finally:
        connection.close()


def test_post_writer_sends_the_raw_body_and_answers_with_the_message_id(
    stack: LocalStack, handlers: dict[str, Scripted]
) -> None:
    raw = b'{"account_id": "raw",  "note": "kept verbatim"}'
    status, answer = _request(stack, "POST", "/writer", raw)
    stack.wait_until_idle(10)
    assert status == 200
    (record,) = handlers["writer"].records()
    assert record["messageId"] == answer["MessageId"]
    assert record["body"] == raw.decode()


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/writer", b"", 400),
        ("POST", "/writer", b"  \n", 400),
        ("POST", "/writer", b"x" * (MAX_MESSAGE_BYTES + 1), 413),
        ("GET", "/writer", None, 405),
        ("PUT", "/writer", b"{}", 405),
        ("POST", "/elsewhere", b"{}", 404),
        ("GET", "/", None, 404),
    ],
    ids=["empty", "blank", "over-256KiB", "get", "put", "unknown-path", "root"],
)
def test_api_refuses_like_the_real_integration(
    stack: LocalStack, handlers: dict[str, Scripted], method: str, path: str, body: bytes | None, status: int
) -> None:
    answer_status, answer = _request(stack, method, path, body)
    assert answer_status == status
    assert answer["message"]
    stack.wait_until_idle(10)
    assert handlers["writer"].records() == [], "a refused request sends nothing"


def test_a_body_of_exactly_256_kib_is_accepted(stack: LocalStack, handlers: dict[str, Scripted]) -> None:
    status, _ = _request(stack, "POST", "/writer", b"y" * MAX_MESSAGE_BYTES)
    stack.wait_until_idle(10)
    assert status == 200
    assert len(handlers["writer"].records()[0]["body"]) == MAX_MESSAGE_BYTES


def test_post_writer_pushes_back_with_429_while_the_queue_is_backlogged(
    stack: LocalStack, handlers: dict[str, Scripted]
) -> None:
    release = threading.Event()
    handlers["writer"].behaviour = lambda event: release.wait(10) and None
    previous, stack.api.max_backlog = stack.api.max_backlog, 1
    try:
        statuses = [_request(stack, "POST", "/writer", f'"backlog-{n}"'.encode())[0] for n in range(3)]
        time.sleep(0.15)  # the route looks at the queue depth at most every 0.1 s
        status, answer = _request(stack, "POST", "/writer", b'"one-too-many"')
    finally:
        stack.api.max_backlog = previous
        release.set()
    stack.wait_until_idle(10)
    assert statuses[0] == 200
    assert (status, answer) == (429, {"message": "Too Many Requests"})
    assert "one-too-many" not in bodies(handlers["writer"]), "a refused request sends nothing"
    assert stack.counters()["api.throttled"] >= 1


def test_openapi_description_is_served_when_the_repository_ships_one(stack: LocalStack) -> None:
    shipped = Path(__file__).resolve().parents[2] / "openapi.json"
    status, document = _request(stack, "GET", "/openapi.json")
    if shipped.is_file():
        assert status == 200
        assert document == json.loads(shipped.read_text())
    else:
        assert status == 404


def _single_attempt_dynamodb(stack: LocalStack) -> Any:
    region = stack.outputs["region"]
    return boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name=region).client(
        "dynamodb", endpoint_url=stack.endpoint_url, config=Config(retries={"total_max_attempts": 1})
    )


@pytest.mark.parametrize(
    ("error", "status"),
    [("ProvisionedThroughputExceededException", 400), ("InternalServerError", 500)],
)
def test_fault_switch_answers_with_dynamodbs_own_error(stack: LocalStack, error: str, status: int) -> None:
    dynamodb = _single_attempt_dynamodb(stack)
    table = stack.outputs["account_table"]
    faulty = f"faulty-{status}"
    stack.faults.fail_account_ids([faulty], error=error)
    with pytest.raises(ClientError) as refused:
        dynamodb.put_item(TableName=table, Item={"account_id": {"S": faulty}})
    assert refused.value.response["Error"]["Code"] == error
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    dynamodb.put_item(TableName=table, Item={"account_id": {"S": "healthy"}})
    assert "Item" not in dynamodb.get_item(TableName=table, Key={"account_id": {"S": faulty}})

    stack.faults.clear()
    dynamodb.put_item(TableName=table, Item={"account_id": {"S": faulty}})
    assert "Item" in dynamodb.get_item(TableName=table, Key={"account_id": {"S": faulty}})


@pytest.mark.parametrize("door", ["http", "in-process"])
def test_concurrent_conditional_writes_of_one_key_have_one_winner(stack: LocalStack, door: str) -> None:
    """As in DynamoDB, a conditional write is atomic: of many concurrent ``attribute_not_exists`` writes of
    the same key, one wins. moto alone checks then writes with nothing in between; replay-dlq's claim and the
    writer's ``updated_at`` guard rely on the emulator serialising writes, at both of its doors."""
    endpoint = stack.endpoint_url if door == "http" else stack.handler_endpoint_url
    session = boto3.Session(
        aws_access_key_id="x", aws_secret_access_key="x", region_name=stack.outputs["region"]
    )
    single_attempt = Config(retries={"total_max_attempts": 1})
    dynamodb = session.client("dynamodb", endpoint_url=endpoint, config=single_attempt)
    table = stack.outputs["account_table"]

    def claim(key: str, contender: int) -> bool:
        try:
            dynamodb.put_item(
                TableName=table,
                Item={"account_id": {"S": key}, "contender": {"N": str(contender)}},
                ConditionExpression="attribute_not_exists(account_id)",
            )
        except ClientError as error:
            assert error.response["Error"]["Code"] == "ConditionalCheckFailedException"
            return False
        return True

    # Switch threads every microsecond (default 5 ms) so that, without the emulator's lock, contenders
    # interleave between moto's check and its write within a few races.
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            for race in range(20):
                key = f"race-{door}-{race}"
                winners = sum(pool.map(lambda contender, key=key: claim(key, contender), range(8)))
                assert winners == 1, f"{key}: {winners} concurrent conditional writes succeeded"
    finally:
        sys.setswitchinterval(switch_interval)


def test_fault_rate_refuses_a_seeded_share_and_leaves_other_tables_alone(stack: LocalStack) -> None:
    dynamodb = _single_attempt_dynamodb(stack)
    stack.faults.fail_writes(0.5, seed=3)
    refused = 0
    for n in range(40):
        try:
            dynamodb.put_item(
                TableName=stack.outputs["account_table"], Item={"account_id": {"S": f"rate-{n}"}}
            )
        except ClientError:
            refused += 1
    assert 8 <= refused <= 32
    dynamodb.put_item(
        TableName=stack.outputs["log_table"],
        Item={"error_id": {"S": "fault-free"}, "day": {"S": "2026-01-01"}, "failed_at": {"S": "x"}},
    )
    with pytest.raises(ValueError, match="between 0 and 1"):
        stack.faults.fail_writes(1.5)
    with pytest.raises(ValueError, match="unknown fault error"):
        stack.faults.fail_account_ids(["x"], error="Nope")


def test_handlers_calls_take_the_in_process_road_and_still_meet_the_faults(
    stack: LocalStack, handlers: dict[str, Scripted]
) -> None:
    """A handler's boto3 client (built from AWS_ENDPOINT_URL, as functions/aws.py does) goes in-process, also
    from a thread the handler starts itself."""
    import os

    answers: list[str] = []

    def write_from_a_pool(event: dict[str, Any]) -> None:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(write, event).result()

    def write(event: dict[str, Any]) -> None:
        dynamodb = boto3.session.Session().client(
            "dynamodb",
            endpoint_url=os.environ["AWS_ENDPOINT_URL"],
            config=Config(retries={"total_max_attempts": 1}),
        )
        for account_id in ("bridge-ok", "bridge-faulty"):
            try:
                dynamodb.put_item(
                    TableName=stack.outputs["account_table"], Item={"account_id": {"S": account_id}}
                )
                answers.append("written")
            except ClientError as error:
                answers.append(error.response["Error"]["Code"])

    handlers["writer"].behaviour = write_from_a_pool
    stack.faults.fail_account_ids(["bridge-faulty"])
    before = stack.counters()
    stack.client("sqs").send_message(QueueUrl=stack.outputs["writer_queue_url"], MessageBody="bridge")
    stack.wait_until_idle(10)
    after = stack.counters()

    assert answers == ["written", "ProvisionedThroughputExceededException"]
    assert after["inprocess.requests"] - before["inprocess.requests"] == 2
    assert after["dynamodb.written"] - before["dynamodb.written"] == 1
    assert after["dynamodb.faulted"] - before["dynamodb.faulted"] == 1
    stored = stack.client("dynamodb").get_item(
        TableName=stack.outputs["account_table"], Key={"account_id": {"S": "bridge-ok"}}
    )
    assert "Item" in stored, "the HTTP door sees what the in-process door wrote: one set of backends"


def test_put_item_answers_are_tallied(stack: LocalStack) -> None:
    dynamodb = _single_attempt_dynamodb(stack)
    table = stack.outputs["account_table"]
    before = stack.counters()
    condition = {"ConditionExpression": "attribute_not_exists(account_id)"}
    dynamodb.put_item(TableName=table, Item={"account_id": {"S": "tally-1"}}, **condition)
    with pytest.raises(ClientError):
        dynamodb.put_item(TableName=table, Item={"account_id": {"S": "tally-1"}}, **condition)
    after = stack.counters()
    assert after["dynamodb.written"] - before["dynamodb.written"] == 1
    assert after["dynamodb.stale"] - before["dynamodb.stale"] == 1


def test_wait_until_idle_names_what_is_still_busy(stack: LocalStack, handlers: dict[str, Scripted]) -> None:
    release = threading.Event()
    handlers["writer"].behaviour = lambda event: release.wait(10) and None
    stack.client("sqs").send_message(QueueUrl=stack.outputs["writer_queue_url"], MessageBody="slow")
    try:
        with pytest.raises(TimeoutError, match="writer"):
            stack.wait_until_idle(0.3)
    finally:
        release.set()
    stack.wait_until_idle(10)


def test_stop_keeps_queued_messages_and_start_resumes_them(
    tmp_path: Path, handlers: dict[str, Scripted], stack: LocalStack
) -> None:
    """A second stack object in the same process finds the resources and what was still queued."""
    stack.stop()
    try:
        gate = threading.Event()
        seen: list[str] = []

        def slow(event: dict[str, Any], context: Any) -> None:
            gate.wait(10)
            seen.extend(record["body"] for record in event["Records"])

        first = LocalStack(tmp_path, handlers={**handlers, "writer": slow}, writer_workers=1)
        first.start()
        outputs_path = first.outputs_path
        sqs = first.client("sqs")
        url = first.outputs["writer_queue_url"]
        for n in range(25):
            sqs.send_message(QueueUrl=url, MessageBody=f"queued-{n:02d}")
        deadline = time.monotonic() + 5
        while not first.busy() or "writer handler running" not in first.busy():
            assert time.monotonic() < deadline, "the writer never started"
            time.sleep(0.02)
        stopper = threading.Thread(target=first.stop)
        stopper.start()
        time.sleep(0.3)  # stop() closes the API first, then tells the pollers to stop
        gate.set()
        stopper.join(10)
        assert not outputs_path.exists(), "stop removes the outputs document"
        handled_before_stop = len(seen)
        assert 1 <= handled_before_stop <= spec.DEFAULT_WRITER_BATCH_SIZE, (
            "only the batch in hand was finished"
        )

        second = LocalStack(tmp_path, handlers={**handlers, "writer": slow}, writer_workers=1)
        with second:
            second.wait_until_idle(10)
        assert len(seen) > handled_before_stop, "the restarted stack took what was still queued"
        assert sorted(seen) == [f"queued-{n:02d}" for n in range(25)], "each message handled exactly once"
    finally:
        stack.start()


def _raw(stack: LocalStack, request: bytes) -> tuple[int, dict[str, Any]]:
    """Send exactly these bytes to the API stand-in; its status and JSON answer."""
    import socket

    host, port = stack.api_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
            head, _, body = answer.partition(b"\r\n\r\n")
            length = [line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
            if length and len(body) >= int(length[0].split(b":")[1]):
                break
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        (b"Content-Length: abc\r\n", b"{}", 400),
        (b"Content-Length: -5\r\n", b"{}", 400),
        (b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n", b"{}", 400),
        (b"Transfer-Encoding: chunked\r\n", b"zz\r\n{}\r\n0\r\n\r\n", 400),
        (b"Origin: https://evil.example\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n", b"{}", 403),
        (b"Sec-Fetch-Site: cross-site\r\nContent-Length: 2\r\n", b"{}", 403),
        (b"Content-Length: 5\r\n", '"\uffff"'.encode(), 400),
        (b"Content-Length: 5\r\n", b'"\xed\xa0\x80"', 400),
    ],
    ids=[
        "length-abc",
        "length-negative",
        "length-and-chunked",
        "bad-chunk",
        "foreign-origin",
        "cross-site",
        "u+ffff",
        "encoded-lone-surrogate",
    ],
)
def test_api_answers_bad_requests_as_api_gateway_does(
    stack: LocalStack, handlers: dict[str, Scripted], headers: bytes, body: bytes, status: int
) -> None:
    request = b"POST /writer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + headers + b"\r\n" + body
    got, answer = _raw(stack, request)
    assert (got, isinstance(answer.get("message"), str)) == (status, True)
    stack.wait_until_idle(10)
    assert handlers["writer"].records() == []


def test_api_accepts_a_chunked_body_whole(stack: LocalStack, handlers: dict[str, Scripted]) -> None:
    request = (
        b"POST /writer HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'5\r\n{"a":\r\n3\r\n 1}\r\n0\r\n\r\n'
    )
    got, answer = _raw(stack, request)
    assert got == 200 and "MessageId" in answer
    stack.wait_until_idle(10)
    assert bodies(handlers["writer"]) == ['{"a": 1}']
