"""pipeline-ctl test fixtures: a stack's real resources in moto, and the outputs document that finds them.

Two ways to reach a stack, as in production:
- ``deployed``: ``mock_aws`` in-process (fast), the resources created from ``infra.spec``'s definitions, the
  outputs document in the SSM parameter of stack ``test``, and ``PIPELINE_STACK=test``;
- ``local``: a moto server on 127.0.0.1 (shared by the module, reset per test) and ``.pipeline/local.json`` in
  the test's working directory, exactly what the local stack writes.
"""

from __future__ import annotations

import json
import logging
import os
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import urllib3
from moto import mock_aws
from moto.server import ThreadedMotoServer
from typer.testing import CliRunner

from cli.app import app
from infra.private_files import write_private
from infra.spec import (
    ACCOUNT_TABLE,
    ENTRY_TIME_KEY_SPEC,
    ENTRY_TIME_KEY_USAGE,
    LOCAL_OUTPUTS_PATH,
    LOG_TABLE,
    outputs_parameter_name,
    resource_names,
)
from ops import local_registry
from tests.support.boto3_shapes import create_table_kwargs, dlq_attributes, writer_queue_attributes
from tests.support.processes import Terminal

REGION = "us-east-1"
DEPLOYED_STACK = "test"


_clients: dict[tuple[str, str | None], Any] = {}
_resources: dict[str | None, Any] = {}


def aws_client(service: str, endpoint_url: str | None = None) -> Any:
    """Clients cached for the whole session: creating one costs ~50 ms of model loading, and mock_aws
    intercepts calls (not client creation), so a client made once serves every test."""
    key = (service, endpoint_url)
    if key not in _clients:
        _clients[key] = boto3.client(service, region_name=REGION, endpoint_url=endpoint_url)
    return _clients[key]


def dynamodb_resource(endpoint_url: str | None) -> Any:
    if endpoint_url not in _resources:
        _resources[endpoint_url] = boto3.resource("dynamodb", region_name=REGION, endpoint_url=endpoint_url)
    return _resources[endpoint_url]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Stack:
    """A stack's outputs and clients bound to wherever its resources live (mock_aws or a moto server)."""

    outputs: dict[str, str]
    endpoint_url: str | None

    def client(self, service: str) -> Any:
        return aws_client(service, self.endpoint_url)

    def put_error(
        self,
        error_id: str,
        *,
        failed_at: datetime,
        error_type: str = "InvalidRecord",
        body: str = '{"account_id": "a-1"}',
        status: str = "NEW",
        source: str = "api",
        message: str = "balance: not a decimal: 'abc'",
        **extra: Any,
    ) -> dict[str, Any]:
        """A LogTable item shaped as the error handler writes it (docs/design.md, "LogTable")."""
        stamp = iso(failed_at)
        item = {
            "error_id": error_id,
            "failed_at": stamp,
            "day": stamp[:10],
            "error_type": error_type,
            "error_message": message,
            "source": source,
            "body": body,
            "receive_count": 1,
            "status": status,
            "ttl": int((failed_at + timedelta(days=90)).timestamp()),
            **extra,
        }
        dynamodb_resource(self.endpoint_url).Table(self.outputs["log_table"]).put_item(Item=item)
        return item

    def get_error(self, error_id: str) -> dict[str, Any]:
        table = dynamodb_resource(self.endpoint_url).Table(self.outputs["log_table"])
        return table.get_item(Key={"error_id": error_id}, ConsistentRead=True)["Item"]

    def drain(self, queue: str) -> list[dict[str, Any]]:
        """Every message in a queue (received with all attributes and deleted)."""
        sqs = self.client("sqs")
        messages: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(
                QueueUrl=self.outputs[queue],
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
                VisibilityTimeout=30,
            ).get("Messages", [])
            if not batch:
                return messages
            messages += batch
            for message in batch:
                sqs.delete_message(QueueUrl=self.outputs[queue], ReceiptHandle=message["ReceiptHandle"])

    def visible(self, queue: str) -> int:
        attributes = self.client("sqs").get_queue_attributes(
            QueueUrl=self.outputs[queue], AttributeNames=["ApproximateNumberOfMessages"]
        )
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def create_stack(stack: str, *, endpoint_url: str | None, api_url: str = "http://127.0.0.1:9") -> Stack:
    """The bucket, queues (with redrive) and tables, created from infra.spec as the local stack does."""
    names = resource_names(stack)
    s3 = aws_client("s3", endpoint_url)
    sqs = aws_client("sqs", endpoint_url)
    dynamodb = aws_client("dynamodb", endpoint_url)
    s3.create_bucket(Bucket=names["data_bucket"])
    dlq_url = sqs.create_queue(QueueName=names["dlq"], Attributes=dlq_attributes())["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]
    attributes = writer_queue_attributes(dlq_arn["QueueArn"])
    writer_url = sqs.create_queue(QueueName=names["writer_queue"], Attributes=attributes)["QueueUrl"]
    dynamodb.create_table(**create_table_kwargs(ACCOUNT_TABLE, names["account_table"]))
    dynamodb.create_table(**create_table_kwargs(LOG_TABLE, names["log_table"]))
    entry_time_key = aws_client("kms", endpoint_url).create_key(
        KeySpec=ENTRY_TIME_KEY_SPEC, KeyUsage=ENTRY_TIME_KEY_USAGE
    )["KeyMetadata"]["Arn"]
    outputs = {
        "stack": stack,
        "region": REGION,
        "api_url": api_url,
        "api_auth": "NONE",
        "data_bucket": names["data_bucket"],
        "writer_queue_url": writer_url,
        "dlq_url": dlq_url,
        "account_table": names["account_table"],
        "log_table": names["log_table"],
        "transformer_function": names["transformer_function"],
        "writer_function": names["writer_function"],
        "error_handler_function": names["error_handler_function"],
        "dashboard_name": names["dashboard_name"],
        "entry_time_key": entry_time_key,
    }
    if endpoint_url:
        outputs["endpoint_url"] = endpoint_url
    return Stack(outputs=outputs, endpoint_url=endpoint_url)


def publish_outputs(stack: Stack) -> None:
    """What the Pulumi program does: the outputs document in the stack's SSM parameter."""
    stack.client("ssm").put_parameter(
        Name=outputs_parameter_name(stack.outputs["stack"]),
        Value=json.dumps(stack.outputs),
        Type="String",
        Overwrite=True,
    )


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


TEST_COLUMNS = "160"
"""Width of the CLI's output in tests that do not choose one: wide enough for every table to be a table."""


ERRORS_TAIL_COLUMNS = ["failed at", "type", "message", "source", "status", "error id"]
"""The header of ``pipeline-ctl errors tail``'s table, as the operator reads it."""


def header_cells(header: str) -> list[str]:
    """The cells of a rich table's header line (``┃ a ┃ b ┃``), stripped."""
    return [cell.strip() for cell in header.strip("┃ ").split("┃")]


@pytest.fixture
def invoke(runner: CliRunner) -> Any:
    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Any:
        env = {"COLUMNS": TEST_COLUMNS, **(env or {})}
        return runner.invoke(app, list(args), input=input, env=env, catch_exceptions=False)

    return run


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def deployed(aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Stack:
    """Stack ``test`` in mock_aws, found through its SSM parameter; the CLI targets it by default."""
    stack = create_stack(DEPLOYED_STACK, endpoint_url=None)
    publish_outputs(stack)
    monkeypatch.setenv("PIPELINE_STACK", DEPLOYED_STACK)
    monkeypatch.chdir(tmp_path)
    return stack


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def local(moto_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Stack:
    """The local stack as the CLI sees it: a moto server, ``.pipeline/local.json`` in the cwd, and this
    (live) process registered as the ``local up`` that wrote it."""
    urllib3.request("POST", f"{moto_server}/moto-api/reset")
    stack = create_stack("local", endpoint_url=moto_server)
    write_local_document(tmp_path, stack.outputs)
    local_registry.register(tmp_path)
    monkeypatch.chdir(tmp_path)
    return stack


def write_local_document(workdir: Path, outputs: dict[str, str], *, pid: int | None = None) -> Path:
    """The outputs document as ``local up`` writes it: owner-only, naming its process (default: this one)."""
    path = workdir / LOCAL_OUTPUTS_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {**outputs, "pid": str(os.getpid() if pid is None else pid)}
    write_private(path, json.dumps(document).encode())
    return path


# --- A real terminal ------------------------------------------------------------------------------------


@dataclass
class PtyRun:
    returncode: int
    output: str
    """Everything the process wrote to its terminal (stdout and stderr share it), ``\\r\\n`` as ``\\n``."""


def run_in_pty(
    args: list[str],
    *,
    cwd: Path,
    columns: int = 80,
    answers: dict[str, str] | None = None,
    timeout: float = 60,
) -> PtyRun:
    """``pipeline-ctl ARGS`` with a pseudo-terminal of ``columns`` as stdin, stdout and stderr (no COLUMNS).

    ``answers`` maps a prompt's text to what is typed when it appears (e.g. ``{"[y/N]": "y\\n"}``).
    """
    import fcntl
    import os
    import pty
    import select
    import struct
    import subprocess
    import sys
    import termios
    import time

    root = Path(__file__).resolve().parents[2]
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env.update({"PYTHONPATH": str(root), "TERM": "xterm-256color", "NO_COLOR": "1"})
    process = subprocess.Popen(
        [sys.executable, "-c", "from cli.app import main; main()", *args],
        cwd=cwd,
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=env,
        close_fds=True,
    )
    os.close(secondary)
    pending = dict(answers or {})
    output = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([primary], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(primary, 65536)
                except OSError:  # the process closed the terminal
                    break
                if not chunk:
                    break
                output += chunk
                for prompt in [p for p in pending if p.encode() in output]:
                    os.write(primary, pending.pop(prompt).encode())
            elif process.poll() is not None:
                break
        process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if process.poll() is None:
            process.kill()
        os.close(primary)
    return PtyRun(process.returncode, output.decode("utf-8", "replace").replace("\r\n", "\n"))


def ctrl_c_after(terminal: Terminal, watch: Callable[[], object]) -> int:
    """Ctrl-C once ``watch`` (reading the terminal) has seen what it waits for; the exit code. The process is
    killed if ``watch`` failed, so a failing test leaves no pipeline-ctl running."""
    try:
        watch()
        terminal.process.send_signal(signal.SIGINT)
        return terminal.finish()
    finally:
        if terminal.process.poll() is None:
            terminal.process.kill()
