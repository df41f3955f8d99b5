"""What Lambda's runtime gives a handler, reproduced for the dispatcher: environment, context, a log stream.

Environment variables are per process, not per thread: the dispatcher applies a function's variables before
each of its invocations (and while importing its module), so the process holds the union of what the
functions declare; each handler reads only its own variables, and a name two functions set differently is
only read at import (``POWERTOOLS_SERVICE_NAME``).
"""

from __future__ import annotations

import io
import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO


def lambda_environment(
    variables: Mapping[str, str],
    *,
    function_name: str,
    memory_mb: int,
    endpoint_url: str,
    region: str,
    credentials: Mapping[str, str],
    version: str = "$LATEST",
) -> dict[str, str]:
    """The function's own variables (its configuration in the emulator) plus what Lambda itself sets, and
    the one addition of the local stack: ``AWS_ENDPOINT_URL``, the emulator."""
    return {
        **variables,
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": credentials["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": credentials["aws_secret_access_key"],
    }


_environment_lock = threading.Lock()


def apply_environment(environment: Mapping[str, str], *, unset: Iterable[str] = ()) -> None:
    """Make ``os.environ`` hold ``environment`` and none of ``unset`` (cheap when it already does)."""
    unset = [name for name in unset if name not in environment]
    if all(os.environ.get(name) == value for name, value in environment.items()) and not any(
        name in os.environ for name in unset
    ):
        return
    with _environment_lock:
        os.environ.update(environment)
        for name in unset:
            os.environ.pop(name, None)
        # Lambda's credentials come as a set; a stray session token would not belong to the fake keys.
        os.environ.pop("AWS_SESSION_TOKEN", None)


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    timeout_seconds: int
    memory_limit_in_mb: int
    region: str
    alias: str | None = None
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds

    @property
    def invoked_function_arn(self) -> str:
        arn = f"arn:aws:lambda:{self.region}:123456789012:function:{self.function_name}"
        return f"{arn}:{self.alias}" if self.alias else arn

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/[{self.function_version}]{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


_handler_thread = threading.local()


def mark_handler_thread(active: bool) -> None:
    """Set while the thread runs a handler: output routing and in-process calls key on it."""
    _handler_thread.active = active


def in_handler_thread() -> bool:
    return getattr(_handler_thread, "active", False)


class FunctionOutput(io.TextIOBase):
    """A ``sys.stdout`` that sends what handler threads print to the functions' log, the rest to the terminal.

    Lambda sends a function's stdout (Powertools' JSON logs, EMF metrics) to CloudWatch Logs; locally it goes
    to a log file, so the live panel and the demo's report are not buried under one JSON line per record.
    One instance per process: a logging handler created while it was installed keeps a reference to it, so
    it must outlive a stop/start (with no sink, everything goes to the terminal).
    """

    def __init__(self, terminal: TextIO) -> None:
        super().__init__()
        self.terminal = terminal
        self.sink: TextIO | None = None
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        if in_handler_thread():
            with self._lock:
                if self.sink is not None:
                    self.sink.write(text)
                    return len(text)
        return self.terminal.write(text)

    def flush(self) -> None:
        with self._lock:
            if self.sink is not None:
                self.sink.flush()
        self.terminal.flush()

    def isatty(self) -> bool:
        return self.terminal.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.terminal, "encoding", "utf-8")


_output: FunctionOutput | None = None


def install_function_output(sink: TextIO) -> None:
    """Route handler threads' stdout to ``sink`` from now on."""
    global _output
    if _output is None:
        _output = FunctionOutput(sys.stdout)
    elif sys.stdout is not _output:
        _output.terminal = sys.stdout
    _output.sink = sink
    sys.stdout = _output


def route_logs_of(module: Any) -> None:
    """Point the Powertools loggers of a handler module at the functions' output (``sys.stdout`` before any).

    A logging handler keeps the stream it was created with: a handler module imported before the function
    output was installed (by another caller in the same process, a test) would log past the functions' log
    file, where ``pipeline-ctl logs`` and ``upload --wait`` read. Lambda gives every function its own
    stdout."""
    stream = _output if _output is not None else sys.stdout
    for value in vars(module).values():
        handler = getattr(value, "registered_handler", None)
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(stream)


def uninstall_function_output() -> None:
    """Give ``sys.stdout`` back; stray handler output now goes to the terminal."""
    if _output is None:
        return
    with _output._lock:
        _output.sink = None
    if sys.stdout is _output:
        sys.stdout = _output.terminal
