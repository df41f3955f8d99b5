"""``pipeline-ctl local up``: the local stack in the foreground, with a live panel, until Ctrl-C."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from cli.errors import emit, error_line
from cli.render import CONSUMER_QUEUES
from local_stack.stack import FUNCTION_LOG_PATH, LocalStack

REFRESH_SECONDS = 0.5


def run_up(workdir: Path, *, port: int, api_port: int, fresh: bool = False) -> int:
    """Start, show the panel until SIGINT/SIGTERM, stop; the exit code for the command."""
    console = Console(file=sys.stdout)
    stack = LocalStack(workdir, port=port, api_port=api_port, persist=True, fresh=fresh)
    try:
        stack.start()
    except OSError as error:
        emit(
            error_line(
                f"cannot start the local stack on 127.0.0.1 (port {port} / API port {api_port}): "
                f"{error.strerror or error}",
                "pass --port 0 --api-port 0 for free ports",
            )
        )
        return 1
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    # Both signals explicitly: a process started in the background inherits SIGINT ignored.
    previous = {number: signal.signal(number, on_signal) for number in (signal.SIGINT, signal.SIGTERM)}
    shown = len(stack.notices)
    try:
        for notice in stack.notices:
            console.print(notice, markup=False, highlight=False)
        console.print(header(stack))
        with Live(panel(stack), console=console, refresh_per_second=4, redirect_stdout=False) as live:
            while not stopping.wait(REFRESH_SECONDS):
                live.update(panel(stack))
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        stack.stop()
    if not console.is_terminal:
        console.line()  # Live leaves its last frame without a newline when output is piped
    for notice in stack.notices[shown:]:
        console.print(notice, markup=False, highlight=False)
    console.print(f"Local stack stopped; removed {stack.outputs_path}.")
    return 0


def header(stack: LocalStack) -> Text:
    """What the operator needs to use the stack, one short line each so nothing folds at 80 columns; the
    paths, which can be long, on lines of their own; and a command that works when pasted anywhere."""
    outputs = stack.outputs
    return Text.assemble(
        ("Local stack up", "bold green"),
        "  (Ctrl-C to stop)\n",
        f"  endpoint   {outputs['endpoint_url']}   (S3, SQS, DynamoDB)\n",
        f"  API        POST {outputs['api_url']}/writer\n",
        f"  bucket     s3://{outputs['data_bucket']}/\n",
        "             (keys ending in .json are transformed)\n",
        "  every pipeline-ctl command now targets this stack; its outputs document:\n",
        f"    {stack.outputs_path}\n",
        "  the functions' logs:\n",
        f"    {stack.workdir / FUNCTION_LOG_PATH}\n",
        "  try:  pipeline-ctl upload accounts.json --wait\n",
        f"  other AWS clients: --endpoint-url {outputs['endpoint_url']}, region {outputs['region']},\n",
        "    any access key (e.g. AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local)",
    )


def panel(stack: LocalStack) -> Panel:
    """Queue depths and what the handlers did, from the emulator's own answers."""
    queues = Table(box=None, pad_edge=False)
    queues.add_column("queue")
    queues.add_column("visible", justify="right")
    queues.add_column("in flight", justify="right")
    for name, depth in stack.queue_depths().items():
        queues.add_row(CONSUMER_QUEUES.get(name, name), str(depth["visible"]), str(depth["in_flight"]))
    counts = stack.counters()
    totals = Table(box=None, pad_edge=False)
    totals.add_column("pipeline")
    totals.add_column("count", justify="right")
    for label, key in (
        ("POST /writer accepted", "api.accepted"),
        ("POST /writer throttled (429)", "api.throttled"),
        ("objects transformed", "transformer.objects"),
        ("writer batches", "writer.invocations"),
        ("records written", "dynamodb.written"),
        ("stale (older/duplicate)", "dynamodb.stale"),
        ("writes refused by faults", "dynamodb.faulted"),
        ("errors logged (LogTable)", "dynamodb.logged"),
        ("handler exceptions", "handler_errors"),
    ):
        value = (
            sum(v for k, v in counts.items() if k.endswith(".errors"))
            if key == "handler_errors"
            else counts.get(key, 0)
        )
        totals.add_row(label, str(value))
    busy = ", ".join(stack.busy()) or "idle"
    return Panel(Group(queues, Text(""), totals, Text(f"\n{busy}", style="dim")), title="pipeline (local)")
