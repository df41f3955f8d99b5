"""One local stack with the real handlers per test module, and helpers to look inside it."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_stack.stack import LocalStack
from ops import local_registry


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The local stack as `pipeline-ctl local up` runs it (real handlers), on free ports and empty tables."""
    with LocalStack(tmp_path_factory.mktemp("pipeline"), fresh=True) as stack:
        yield stack


@pytest.fixture
def in_stack_dir(pipeline: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """pipeline-ctl finds the local stack as it finds `local up`'s: registered by its (this) process, from
    its working directory."""
    monkeypatch.chdir(pipeline.workdir)
    pipeline.faults.clear()
    entry = local_registry.register(pipeline.workdir)
    yield pipeline.workdir
    local_registry.unregister(entry)


@pytest.fixture
def prefix() -> str:
    """Account ids unique to one test: the module's tests share one stack and its tables."""
    return f"t{uuid.uuid4().hex[:8]}"


def account(stack: LocalStack, account_id: str) -> dict[str, Any] | None:
    item = stack.client("dynamodb").get_item(
        TableName=stack.outputs["account_table"], Key={"account_id": {"S": account_id}}
    )
    if "Item" not in item:
        return None
    return {name: next(iter(value.values())) for name, value in item["Item"].items()}


def log_items(stack: LocalStack) -> list[dict[str, Any]]:
    dynamodb = stack.client("dynamodb")
    items = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=stack.outputs["log_table"]):
        for item in page["Items"]:
            items.append({name: next(iter(value.values())) for name, value in item.items()})
    return items


def log_items_mentioning(stack: LocalStack, text: str) -> list[dict[str, Any]]:
    return [item for item in log_items(stack) if text in item.get("body", "")]


def upload(stack: LocalStack, key: str, records: Any) -> None:
    stack.client("s3").put_object(
        Bucket=stack.outputs["data_bucket"], Key=key, Body=json.dumps(records).encode()
    )


class LocalUp:
    """``pipeline-ctl local up`` as a user runs it: a real subprocess in ``workdir``, on free ports."""

    def __init__(self, workdir: Path, *args: str) -> None:
        import subprocess
        import sys

        self.workdir = workdir
        self.outputs_path = workdir / ".pipeline" / "local.json"
        command = [str(Path(sys.executable).with_name("pipeline-ctl")), "local", "up"]
        self.process = subprocess.Popen(
            [*command, "--port", "0", "--api-port", "0", *args],
            cwd=workdir,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "COLUMNS": "200"},
        )
        self.outputs = self._wait_for_outputs()

    def _wait_for_outputs(self, timeout: float = 90) -> dict[str, str]:
        """The outputs document this process wrote (a stale one left by a killed run is not it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output, _ = self.process.communicate()
                raise AssertionError(f"local up exited {self.process.returncode}: {output}")
            try:
                document: dict[str, str] = json.loads(self.outputs_path.read_text())
            except (OSError, ValueError):
                document = {}
            if document.get("pid") == str(self.process.pid):
                return document
            time.sleep(0.05)
        self.process.kill()
        raise AssertionError("local up did not write its outputs document in time")

    def client(self, service: str) -> Any:
        from local_stack.session import local_client

        return local_client(service, self.outputs["endpoint_url"], region=self.outputs["region"])

    def stop(self, signal_number: int) -> str:
        """Send the signal, wait for the exit; everything the command printed."""
        self.process.send_signal(signal_number)
        output, _ = self.process.communicate(timeout=60)
        return output
