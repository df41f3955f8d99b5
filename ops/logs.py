"""The functions' logs: CloudWatch Logs for a deployed stack, the local functions' log file for the local one.

In AWS each function writes to its log group ``/aws/lambda/<function name>`` (the names are in the outputs
document); this reads it with ``FilterLogEvents``, which searches every stream of a group by time range. The
local stack sends what its handlers print (the same Powertools JSON lines and EMF blobs) to one file,
``.pipeline/local-functions.log`` in its working directory; each JSON line says which function wrote it
(``service``). Lines that are not JSON come from the local stack itself (its dispatcher's warnings and
tracebacks): they belong to no function and are shown only when no function is asked for.

Both sources give the same :class:`LogEvent`, so ``pipeline-ctl logs`` and ``upload --wait`` (which counts the
writer's ``message processed`` lines of a file, see ``ops.accounting``) do not care where a stack runs.

Example::

    for event in read_events(target, ["writer"], since=now - timedelta(minutes=10)):
        print(event.function, event.timestamp, event.message)
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import ClientError

from functions.model import Service
from infra import spec
from ops.errors import InvalidInput
from ops.target import Target

FUNCTION_LOG_PATH = spec.LOCAL_FUNCTION_LOG_PATH
"""Where the local stack writes its handlers' output, relative to its working directory (local_stack keeps
the same constant: the two must agree, and ops must not import the emulator)."""

FUNCTIONS: dict[str, str] = {
    Service.TRANSFORMER.value: "transformer_function",
    Service.WRITER.value: "writer_function",
    Service.ERROR_HANDLER.value: "error_handler_function",
}
"""Function names as the CLI takes them (the Powertools service names) -> their outputs-document key."""

LOCAL_SOURCE = "local-stack"
"""The function of a non-JSON line in the local log: the emulator's own output."""

FOLLOW_INTERVAL_SECONDS = 1.0


@dataclass(frozen=True, kw_only=True)
class LogEvent:
    function: str
    timestamp: datetime
    message: str
    event_id: str

    @cached_property
    def fields(self) -> dict[str, Any] | None:
        """The line as JSON when it is a JSON object (Powertools logs, EMF metrics), else None."""
        if not self.message.startswith("{"):
            return None
        try:
            document = json.loads(self.message)
        except ValueError:
            return None
        return document if isinstance(document, dict) else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "timestamp": self.timestamp.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "event_id": self.event_id,
            "message": self.fields if self.fields is not None else self.message,
        }


class LogSource(Protocol):
    def events(
        self, functions: Sequence[str], *, since: datetime, until: datetime | None, contains: str | None
    ) -> Iterator[LogEvent]: ...


def check_functions(names: Sequence[str]) -> list[str]:
    unknown = [name for name in names if name not in FUNCTIONS]
    if unknown:
        raise InvalidInput(
            f"unknown function {unknown[0]!r}", hint=f"use one of {', '.join(FUNCTIONS)} (or none for all)"
        )
    return list(dict.fromkeys(names)) or list(FUNCTIONS)


def source_for(target: Target) -> LogSource:
    if target.is_local:
        if target.workdir is None:
            raise InvalidInput("the local stack's directory is unknown: its log file cannot be found")
        return LocalLogFile(target.workdir / FUNCTION_LOG_PATH)
    return CloudWatchLogs(target)


def read_events(
    target: Target,
    functions: Sequence[str] = (),
    *,
    since: datetime,
    until: datetime | None = None,
    contains: str | None = None,
) -> Iterator[LogEvent]:
    """Events of the given functions (all when empty) in [since, until], oldest first.

    ``contains`` narrows the search to lines holding that text (server-side in CloudWatch, as a quoted
    term); callers still check the parsed fields, since a term also matches inside other values.
    """
    return source_for(target).events(check_functions(functions), since=since, until=until, contains=contains)


def follow(
    target: Target,
    functions: Sequence[str],
    *,
    since: datetime,
    on_event: Callable[[LogEvent], None],
    interval: float = FOLLOW_INTERVAL_SECONDS,
    stop: Callable[[], bool] = lambda: False,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Hand every event from ``since`` on to ``on_event`` once, polling until ``stop()`` (or Ctrl-C).

    CloudWatch Logs makes events searchable a few seconds after they happen, and several can share a
    millisecond: each poll starts at the newest timestamp seen and drops the event ids already handed on.
    """
    source = source_for(target)
    names = check_functions(functions)
    seen: set[str] = set()
    newest = since
    while not stop():
        fresh = [event for event in source.events(names, since=newest, until=None, contains=None)]
        for event in fresh:
            if event.event_id in seen:
                continue
            seen.add(event.event_id)
            on_event(event)
        if fresh:
            newest = max(newest, max(event.timestamp for event in fresh))
            seen = {event.event_id for event in fresh if event.timestamp >= newest}
        if stop():
            return
        time.sleep(interval)


# --- CloudWatch Logs -------------------------------------------------------------------------------------


class CloudWatchLogs:
    """``FilterLogEvents`` on each function's log group, merged by time."""

    def __init__(self, target: Target) -> None:
        self._target = target

    def log_group(self, function: str) -> str:
        return f"/aws/lambda/{self._target.outputs[FUNCTIONS[function]]}"

    def events(
        self, functions: Sequence[str], *, since: datetime, until: datetime | None, contains: str | None
    ) -> Iterator[LogEvent]:
        merged = [
            event for function in functions for event in self._group_events(function, since, until, contains)
        ]
        return iter(sorted(merged, key=lambda event: (event.timestamp, event.event_id)))

    def _group_events(
        self, function: str, since: datetime, until: datetime | None, contains: str | None
    ) -> list[LogEvent]:
        request: dict[str, Any] = {
            "logGroupName": self.log_group(function),
            "startTime": int(since.timestamp() * 1000),
        }
        if until is not None:
            request["endTime"] = int(until.timestamp() * 1000)
        if contains:
            request["filterPattern"] = json.dumps(contains)  # a quoted term: matched as an exact phrase
        logs = self._target.client("logs")
        events = []
        try:
            for page in logs.get_paginator("filter_log_events").paginate(**request):
                events += [
                    LogEvent(
                        function=function,
                        timestamp=datetime.fromtimestamp(event["timestamp"] / 1000, UTC),
                        message=event["message"].rstrip("\n"),
                        event_id=event["eventId"],
                    )
                    for event in page.get("events", [])
                ]
        except ClientError as error:
            if error.response["Error"]["Code"] == "ResourceNotFoundException":
                return []  # the function has not run yet: Lambda creates the group on its first log line
            raise
        return events


# --- The local functions' log file ----------------------------------------------------------------------


class LocalLogFile:
    """The local stack's ``local-functions.log``: one JSON object per line from the handlers, plain text from
    the emulator (a traceback's lines belong to the line before them)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def events(
        self, functions: Sequence[str], *, since: datetime, until: datetime | None, contains: str | None
    ) -> Iterator[LogEvent]:
        wanted = set(functions)
        show_local = wanted == set(FUNCTIONS)
        for event in self._all():
            if event.timestamp < since or (until is not None and event.timestamp > until):
                continue
            if contains and contains not in event.message:
                continue
            if event.function in wanted or (show_local and event.function == LOCAL_SOURCE):
                yield event

    def _all(self) -> Iterator[LogEvent]:
        try:
            stream = self.path.open(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return
        last = datetime.fromtimestamp(0, UTC)
        with stream:
            for number, line in enumerate(stream, 1):
                text = line.rstrip("\n")
                if not text.strip():
                    continue
                function, stamp = _classify(text)
                last = stamp or last
                yield LogEvent(
                    function=function, timestamp=last, message=text, event_id=f"{self.path.name}:{number}"
                )


def _classify(line: str) -> tuple[str, datetime | None]:
    """(function, timestamp) of one line of the local log; a plain line is the local stack's own."""
    if line.startswith("{"):
        try:
            document = json.loads(line)
        except ValueError:
            document = None
        if isinstance(document, dict):
            service = str(document.get("service", LOCAL_SOURCE))
            return (service if service in FUNCTIONS else LOCAL_SOURCE), _json_time(document)
    return LOCAL_SOURCE, _text_time(line)


def _json_time(document: dict[str, Any]) -> datetime | None:
    """Powertools' ``timestamp`` (``2026-12-06 22:14:42,135+0000``) or EMF's ``_aws.Timestamp`` (ms)."""
    emf = document.get("_aws")
    if isinstance(emf, dict) and isinstance(emf.get("Timestamp"), int | float):
        return datetime.fromtimestamp(emf["Timestamp"] / 1000, UTC)
    stamp = document.get("timestamp")
    if isinstance(stamp, str):
        try:
            return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f%z").astimezone(UTC)
        except ValueError:
            return None
    return None


def _text_time(line: str) -> datetime | None:
    """The ``asctime`` (local time) that starts the local stack's own log lines; None for continuations."""
    try:
        return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").astimezone(UTC)
    except ValueError:
        return None
