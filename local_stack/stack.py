"""``LocalStack``: emulator, resources, dispatcher and API stand-in, started and stopped as one.

The Python API the tests, the demo and the benchmark use (interface #6). Stopping keeps moto's in-process
state; starting the same object again (or a new one, in the same process) finds the resources and resumes
with whatever was still queued — as a redeployed Lambda would find its queues.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from infra import spec
from local_stack.api import ApiServer
from local_stack.dispatcher import Counters, Dispatcher, Handler, Route
from local_stack.faults import FaultSwitch
from local_stack.inprocess import InProcessBridge, attach, detach
from local_stack.resources import (
    LOCAL_CREDENTIALS,
    LOCAL_REGION,
    LocalResources,
    ensure_resources,
    local_client,
)
from local_stack.runtime import (
    install_function_output,
    lambda_environment,
    uninstall_function_output,
)
from local_stack.server import EmulatorServer, PutItemWatch, WriteTally

FUNCTION_LOG_PATH = ".pipeline/local-functions.log"
"""Where the handlers' stdout (Powertools logs, EMF metrics) goes: the local stand-in for CloudWatch Logs."""

DEFAULT_WRITER_WORKERS = 1
"""Writer pollers. One, because the writer has one execution environment here (see ``dispatcher``):
a second poller would only hold messages in flight while it waits its turn."""

HANDLERS: dict[str, str] = {
    "transformer": "functions.transformer.handler.handler",
    "writer": "functions.writer.handler.handler",
    "error_handler": "functions.error_handler.handler.handler",
}


def wipe_emulator() -> None:
    """Forget every bucket, queue and item moto holds in this process (what ``/moto-api/reset`` does).

    For tests and benchmarks that need empty tables: every LocalStack uses the same resource names, and moto's
    state outlives a stack object.
    """
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()


class LocalStack:
    """The whole pipeline on 127.0.0.1. Use as a context manager, or call :meth:`start` / :meth:`stop`."""

    def __init__(
        self,
        workdir: Path,
        *,
        port: int = 0,
        api_port: int = 0,
        write_outputs: bool = True,
        handlers: Mapping[str, str | Handler] | None = None,
        writer_workers: int = DEFAULT_WRITER_WORKERS,
        in_process: bool = True,
        fresh: bool = False,
    ) -> None:
        self.workdir = Path(workdir)
        self._port = port
        self._api_port = api_port
        self._write_outputs = write_outputs
        self._handlers: dict[str, str | Handler] = {**HANDLERS, **(handlers or {})}
        self._writer_workers = writer_workers
        self.names = spec.resource_names(spec.LOCAL_STACK)
        self.faults = FaultSwitch()
        self._tally = WriteTally()
        self._watch = PutItemWatch(
            faults=self.faults,
            tally=self._tally,
            account_table=self.names["account_table"],
            log_table=self.names["log_table"],
        )
        self._in_process = in_process
        self._fresh = fresh
        self._bridge: InProcessBridge | None = None
        self._handler_endpoint: str | None = None
        self._counters = Counters()
        self._emulator: EmulatorServer | None = None
        self._api: ApiServer | None = None
        self._dispatcher: Dispatcher | None = None
        self._resources: LocalResources | None = None
        self._sqs: Any = None
        self._outputs: dict[str, str] | None = None
        self._log_file: IO[str] | None = None
        self._log_handler: logging.Handler | None = None
        self._stdout = False

    # --- lifecycle ---------------------------------------------------------------------------------------

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._emulator is not None

    def start(self) -> None:
        if self.running:
            return
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        self._open_function_log()
        self._emulator = EmulatorServer(port=self._port, watch=self._watch)
        if self._fresh:
            # Only before this object's first start: a later start must find what was queued.
            self._fresh = False
            wipe_emulator()
        self._emulator.start()
        endpoint = self._emulator.endpoint_url
        resources = self._resources = ensure_resources(endpoint)
        handler_endpoint = endpoint
        if self._in_process:
            self._bridge = InProcessBridge(self._emulator.port, watch=self._watch)
            attach(self._bridge)
            handler_endpoint = self._bridge.endpoint_url
        self._handler_endpoint = handler_endpoint
        self._sqs = local_client("sqs", endpoint)
        self._api = ApiServer(port=self._api_port, sqs=self._sqs, queue_url=resources.writer_queue_url)
        self._api.start()
        environment = lambda_environment(
            endpoint_url=handler_endpoint,
            region=LOCAL_REGION,
            credentials=LOCAL_CREDENTIALS,
            writer_queue_url=resources.writer_queue_url,
            dlq_url=resources.dlq_url,
            account_table=resources.account_table,
            log_table=resources.log_table,
        )
        self._dispatcher = Dispatcher(
            sqs=local_client("sqs", endpoint),
            routes=self._routes(resources),
            environment=environment,
            region=LOCAL_REGION,
            counters=self._counters,
        )
        self._dispatcher.start()
        self._outputs = self._make_outputs(endpoint, self._api.url, resources)
        if self._write_outputs:
            self._save_outputs(self._outputs)

    def stop(self) -> None:
        """Stop serving; moto's state (buckets, queued messages, items) stays in the process."""
        if self._api is not None:
            self._api.stop()
            self._api = None
        if self._dispatcher is not None:
            self._dispatcher.stop()
            self._dispatcher = None
        if self._bridge is not None:
            detach(self._bridge)
            self._bridge = None
        if self._emulator is not None:
            self._emulator.stop()
            self._emulator = None
        if self._write_outputs and self._outputs is not None:
            self._remove_outputs(self._outputs)
        self._outputs = None
        self._close_function_log()

    # --- what others read ----------------------------------------------------------------------------------

    @property
    def outputs(self) -> dict[str, str]:
        """The DESIGN.md section 6 document, with ``endpoint_url``."""
        if self._outputs is None:
            raise RuntimeError("the local stack is not running")
        return dict(self._outputs)

    @property
    def resources(self) -> LocalResources:
        if self._resources is None:
            raise RuntimeError("the local stack has not been started")
        return self._resources

    @property
    def endpoint_url(self) -> str:
        return self.outputs["endpoint_url"]

    @property
    def api_url(self) -> str:
        return self.outputs["api_url"]

    @property
    def api(self) -> ApiServer:
        """The API Gateway stand-in (its ``max_backlog`` can be changed while running)."""
        if self._api is None:
            raise RuntimeError("the local stack is not running")
        return self._api

    @property
    def handler_endpoint_url(self) -> str:
        """The handlers' ``AWS_ENDPOINT_URL``: the in-process road (``inprocess``) when it is on."""
        if self._handler_endpoint is None:
            raise RuntimeError("the local stack is not running")
        return self._handler_endpoint

    def client(self, service: str) -> Any:
        """A boto3 client for the emulator (fake credentials, fixed region)."""
        return local_client(service, self.endpoint_url)

    def counters(self) -> dict[str, int]:
        """What happened since this object was created: DynamoDB answers, invocations, API bodies accepted.

        ``written`` / ``stale`` / ``logged`` count AccountTable writes that succeeded / failed their condition
        and LogTable items stored; ``faulted`` counts writes the fault switch refused (SDK retries included).
        """
        values = {f"dynamodb.{name}": count for name, count in self._tally.snapshot().items()}
        values.update(self._counters.snapshot())
        values["api.accepted"] = self._api.accepted if self._api else 0
        values["api.throttled"] = self._api.throttled if self._api else 0
        values["inprocess.requests"] = self._bridge.requests if self._bridge else 0
        return values

    def queue_depths(self) -> dict[str, dict[str, int]]:
        """Visible and in-flight messages per queue (``notifications``, ``writer``, ``dlq``)."""
        resources = self.resources
        depths = {}
        for name, url in (
            ("notifications", resources.notification_queue_url),
            ("writer", resources.writer_queue_url),
            ("dlq", resources.dlq_url),
        ):
            attributes = self._sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            depths[name] = {
                "visible": int(attributes["ApproximateNumberOfMessages"]),
                "in_flight": int(attributes["ApproximateNumberOfMessagesNotVisible"]),
            }
        return depths

    def busy(self) -> list[str]:
        """What is still going on: non-empty queues and running handlers, in words."""
        if self._dispatcher is None:
            raise RuntimeError("the local stack is not running")
        reasons = [
            f"{name} queue holds {depth['visible']} visible + {depth['in_flight']} in-flight messages"
            for name, depth in self.queue_depths().items()
            if depth["visible"] or depth["in_flight"]
        ]
        reasons += [f"{name} handler running" for name in self._dispatcher.busy()]
        return reasons

    def wait_until_idle(self, timeout: float = 60) -> None:
        """Return once every queue is empty and no handler runs (seen twice in a row); else TimeoutError."""
        deadline = time.monotonic() + timeout
        quiet = 0
        pause = 0.05
        while True:
            reasons = self.busy()
            quiet = 0 if reasons else quiet + 1
            if quiet >= 2:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"local stack still busy after {timeout:g}s: {'; '.join(reasons)}")
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            # Each look costs moto a scan of every queued message (GetQueueAttributes): look often while a
            # wait is short, less and less often while a deep queue drains.
            pause = 0.05 if not reasons else min(pause * 1.5, 0.5)

    # --- internals ----------------------------------------------------------------------------------------

    def _routes(self, resources: LocalResources) -> list[Route]:
        names = self.names
        return [
            Route(
                name="transformer",
                queue_url=resources.notification_queue_url,
                queue_arn=resources.notification_queue_arn,
                handler=self._handlers["transformer"],
                function_name=names["transformer_function"],
                timeout_seconds=spec.TRANSFORMER_TIMEOUT_SECONDS,
                memory_mb=spec.TRANSFORMER_MEMORY_MB,
                s3_notifications=True,
                on_failure_queue_url=resources.dlq_url,
            ),
            Route(
                name="writer",
                queue_url=resources.writer_queue_url,
                queue_arn=resources.writer_queue_arn,
                handler=self._handlers["writer"],
                function_name=names["writer_function"],
                timeout_seconds=spec.WRITER_TIMEOUT_SECONDS,
                memory_mb=spec.WRITER_MEMORY_MB,
                batch_size=spec.DEFAULT_WRITER_BATCH_SIZE,
                workers=self._writer_workers,
                alias=spec.WRITER_ALIAS,
            ),
            Route(
                name="error_handler",
                queue_url=resources.dlq_url,
                queue_arn=resources.dlq_arn,
                handler=self._handlers["error_handler"],
                function_name=names["error_handler_function"],
                timeout_seconds=spec.ERROR_HANDLER_TIMEOUT_SECONDS,
                memory_mb=spec.ERROR_HANDLER_MEMORY_MB,
                batch_size=spec.DEFAULT_ERROR_HANDLER_BATCH_SIZE,
            ),
        ]

    def _make_outputs(self, endpoint: str, api_url: str, resources: LocalResources) -> dict[str, str]:
        outputs = {
            "stack": spec.LOCAL_STACK,
            "region": LOCAL_REGION,
            "api_url": api_url,
            "api_auth": "NONE",
            "data_bucket": resources.data_bucket,
            "writer_queue_url": resources.writer_queue_url,
            "dlq_url": resources.dlq_url,
            "account_table": resources.account_table,
            "log_table": resources.log_table,
            "transformer_function": self.names["transformer_function"],
            "writer_function": self.names["writer_function"],
            "error_handler_function": self.names["error_handler_function"],
            "dashboard_name": self.names["dashboard_name"],
            "endpoint_url": endpoint,
        }
        missing = set(spec.OUTPUT_KEYS) - set(outputs)
        if missing:  # infra.spec grew a key this producer does not know yet: fail loudly, not half-written
            raise RuntimeError(f"local outputs lack {sorted(missing)}")
        return outputs

    @property
    def outputs_path(self) -> Path:
        return self.workdir / spec.LOCAL_OUTPUTS_PATH

    def _save_outputs(self, outputs: dict[str, str]) -> None:
        path = self.outputs_path
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(outputs, indent=2) + "\n")
        os.replace(temporary, path)

    def _remove_outputs(self, outputs: dict[str, str]) -> None:
        """Remove the document only if it is still ours (another local stack may have started since)."""
        try:
            current = json.loads(self.outputs_path.read_text())
        except (OSError, ValueError):
            return
        if current.get("endpoint_url") == outputs["endpoint_url"]:
            self.outputs_path.unlink(missing_ok=True)

    def _open_function_log(self) -> None:
        path = self.workdir / FUNCTION_LOG_PATH
        path.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = path.open("a", encoding="utf-8")
        install_function_output(self._log_file)
        self._stdout = True
        self._log_handler = logging.StreamHandler(self._log_file)
        self._log_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        local_logger = logging.getLogger("local_stack")
        local_logger.addHandler(self._log_handler)
        local_logger.propagate = False

    def _close_function_log(self) -> None:
        if self._log_handler is not None:
            local_logger = logging.getLogger("local_stack")
            local_logger.removeHandler(self._log_handler)
            local_logger.propagate = True
            self._log_handler = None
        if self._stdout:
            uninstall_function_output()
            self._stdout = False
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
