"""``pipeline-ctl logs``: the functions' own log lines, from CloudWatch Logs or the local stack's log file.

The reading is ``ops.logs``; this adapter chooses the functions and the window and prints each event as one
line an operator can scan: time, function, then the Powertools level and message followed by the fields
that say what happened (the boilerplate every line repeats, such as the function ARN, is left out), EMF
metric blobs as ``metrics Name=value``, anything else verbatim. ``--json`` prints each event as JSON Lines.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any

import typer

from ops.durations import parse_duration

DEFAULT_SINCE = timedelta(minutes=10)
BOILERPLATE = frozenset(
    {
        "level",
        "location",
        "message",
        "timestamp",
        "service",
        "cold_start",
        "function_name",
        "function_memory_size",
        "function_arn",
        "function_request_id",
        "xray_trace_id",
        "sampling_rate",
    }
)


def _duration(value: str) -> timedelta:
    try:
        return parse_duration(value)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


def complete_function(incomplete: str) -> list[str]:
    """``pipeline-ctl logs <Tab>``: the function names, not the files of the directory."""
    from ops.logs import FUNCTIONS

    return [name for name in FUNCTIONS if name.startswith(incomplete)]


def logs_command(
    ctx: typer.Context,
    functions: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="FUNCTION",
            help="transformer, writer or error-handler (repeatable; default: all three).",
            show_default=False,
            autocompletion=complete_function,
        ),
    ] = None,
    since: Annotated[
        timedelta | None,
        typer.Option(
            "--since",
            parser=_duration,
            metavar="DURATION",
            help="How far back: 90s, 15m, 1h, 2d. [default: 10m]",
        ),
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines until Ctrl-C.")
    ] = False,
    contains: Annotated[
        str | None, typer.Option("--filter", metavar="TEXT", help="Only lines containing TEXT.")
    ] = None,
    interval: Annotated[
        float, typer.Option("--interval", metavar="SECONDS", min=0.1, help="Seconds between --follow polls.")
    ] = 1.0,
) -> None:
    """The functions' logs: CloudWatch Logs (/aws/lambda/NAME) in AWS, .pipeline/local-functions.log locally.

    Oldest first, the last 10 minutes unless --since; --follow keeps going until Ctrl-C.

    Example: pipeline-ctl logs writer --since 1h --filter "message processed" --follow
    """
    from cli.options import invocation
    from cli.text import printable
    from ops.logs import LogEvent, check_functions, read_events
    from ops.logs import follow as follow_logs
    from ops.logtable import now_utc

    run = invocation(ctx)
    names = check_functions(functions or [])
    target = run.target()
    started = now_utc() - (since or DEFAULT_SINCE)

    def emit(event: LogEvent) -> None:
        if run.out.json_mode:
            run.out.json_line(event.to_dict())
        else:
            run.out.console.print(printable(event_line(event)), markup=False, highlight=False, soft_wrap=True)

    if not follow:
        for event in read_events(target, names, since=started, contains=contains):
            emit(event)
        return
    try:
        follow_logs(
            target,
            names,
            since=started,
            on_event=lambda event: emit(event) if not contains or contains in event.message else None,
            interval=interval,
        )
    except KeyboardInterrupt:
        return  # Ctrl-C is how --follow ends


def event_line(event: Any) -> str:
    """One event as one line: ``22:14:42.962 writer INFO message processed source=… written=5 …``."""
    stamp = event.timestamp.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    fields = event.fields
    if fields is None:
        return f"{stamp} {event.function} {event.message}"
    emf = fields.get("_aws")
    if isinstance(emf, dict):
        names = [
            metric["Name"]
            for block in emf.get("CloudWatchMetrics", [])
            for metric in block.get("Metrics", [])
        ]
        values = " ".join(f"{name}={_metric(fields.get(name))}" for name in names)
        return f"{stamp} {event.function} metrics {values}"
    extra = " ".join(f"{key}={_value(value)}" for key, value in fields.items() if key not in BOILERPLATE)
    head = f"{stamp} {event.function} {fields.get('level', '')} {fields.get('message', '')}"
    return f"{head} {extra}".rstrip()


def _metric(value: Any) -> str:
    if isinstance(value, list):
        value = sum(value)
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def _value(value: Any) -> str:
    return value if isinstance(value, str) and " " not in value else json.dumps(value, ensure_ascii=False)
