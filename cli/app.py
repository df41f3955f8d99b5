"""``pipeline-ctl``: the operators' CLI. Every command here is a thin adapter over one library function.

The work lives in the operator library (``ops.send``, ``ops.upload``, ``ops.replay``, ``ops.errors_log``,
``ops.status``, ``ops.release``, ``ops.schema``), which tests and the demo call directly and which raises its
own errors (``ops.errors``). This file parses the command line, asks ``cli.options`` for the global options
and the target, renders the result (``cli.render``, or JSON), and lets ``cli.errors`` turn a failure into
one line on stderr and an exit code.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.account import account_app
from cli.errors import INTERRUPTED_EXIT, CommandFailed, one_line_errors
from cli.help import Command, Group
from cli.local import demo_command, local_app
from cli.logs import logs_command
from cli.options import global_options, invocation, root_callback
from cli.output import Output
from functions.model import ErrorType
from ops.durations import parse_duration
from ops.errors import InvalidInput
from ops.release import Action
from ops.replay import ReplayReport, Result, Source

PROG = "pipeline-ctl"


class PipelineGroup(Group):
    """The root group: one ``Error: …`` line per failure, whatever raised it.

    Click's own usage errors (a missing argument, an invalid option value) get the same one-line form as the
    library's errors instead of a boxed panel; an exception :func:`cli.errors.failure_of` does not know is a
    bug and keeps its traceback. Parsing the root's options and running a command are the two places an
    error can come from: both are wrapped, through Click's public ``parse_args`` and ``invoke``.
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        with one_line_errors():
            return super().parse_args(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        with one_line_errors():
            return super().invoke(ctx)


app = typer.Typer(
    name=PROG,
    cls=PipelineGroup,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_show_locals=False,  # locals can hold credentials
)
errors_app = typer.Typer(
    name="errors",
    cls=Group,
    help="""Read LogTable: what failed, why, and the original bodies.

    Example: pipeline-ctl errors tail --since 1h
    """,
    no_args_is_help=True,
)
app.add_typer(errors_app)
app.add_typer(account_app)
app.add_typer(local_app, name="local")
app.command("demo", cls=Command)(global_options(demo_command))
app.command("logs", cls=Command)(global_options(logs_command))


app.callback(
    help="""Operate the serverless ingestion pipeline: send and upload data, follow errors, replay failures.

    The target is the local stack unless --stack names a deployed one. The global options may also follow
    the command (pipeline-ctl status --json).

    Example: pipeline-ctl --stack dev status
    """
)(root_callback)


# --- Option types shared by several commands --------------------------------------------------------------


def _duration(value: str) -> timedelta:
    try:
        return parse_duration(value)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


SinceOption = Annotated[
    timedelta | None,
    typer.Option(
        "--since", parser=_duration, metavar="DURATION", help="Only errors this recent: 90s, 15m, 1h, 2d."
    ),
]
ErrorTypeOption = Annotated[
    list[ErrorType] | None,
    typer.Option(
        "--error-type", metavar="TYPE", help="Only this error type (repeatable), e.g. InvalidRecord."
    ),
]


# --- Commands ---------------------------------------------------------------------------------------------


SEND_DEFAULTS: dict[str, Any] = {"batch": None, "concurrency": 8, "retries": 5}


@app.command("send", cls=Command)
@global_options
def send_command(
    ctx: typer.Context,
    file: Annotated[
        str | None,
        typer.Argument(metavar="FILE", help="JSON object, JSON array or JSON Lines; - reads stdin."),
    ] = None,
    record: Annotated[
        list[str] | None, typer.Option("--record", metavar="JSON", help="One record as JSON (repeatable).")
    ] = None,
    batch: Annotated[
        int | None,
        typer.Option(
            "--batch", metavar="N", min=1, help="At most N records per request (default: as many as fit)."
        ),
    ] = SEND_DEFAULTS["batch"],
    concurrency: Annotated[
        int, typer.Option("--concurrency", metavar="N", min=1, max=64, help="Requests in flight.")
    ] = SEND_DEFAULTS["concurrency"],
    retries: Annotated[
        int, typer.Option("--retries", metavar="N", min=0, help="Retries on 429, 5xx and connection errors.")
    ] = SEND_DEFAULTS["retries"],
    skip: Annotated[
        int, typer.Option("--skip", metavar="N", min=0, help="Skip the first N records (to resume a send).")
    ] = 0,
) -> None:
    """POST records to the stack's API (POST {api_url}/writer), SigV4-signed when the API requires IAM.

    Each request carries as many records as fit in one queue message (--batch 1: one record per request).
    The input is read as a stream: records leave while stdin is still being read. A file is checked whole
    before anything is sent. A queued record is in WriterQueue, not yet validated: invalid ones show up in
    `errors tail`. Exits 1 if any record was finally rejected by the API; after Ctrl-C (exit 130) it prints
    the command that sends the rest.

    Example: pipeline-ctl send accounts.jsonl --concurrency 16
    """
    from cli.send_view import run_send
    from ops.send import SendOptions

    options = SendOptions(batch=batch, concurrency=concurrency, retries=retries)
    run_send(
        invocation(ctx),
        file=file,
        record_options=record or [],
        options=options,
        skip=skip,
        defaults=SEND_DEFAULTS,
    )


@app.command("upload", cls=Command)
@global_options
def upload_command(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(metavar="FILE", help="Data files (*.json).")],
    prefix: Annotated[
        str, typer.Option("--prefix", metavar="PREFIX", help="Key prefix in DataBucket, e.g. incoming/2024.")
    ] = "",
    force: Annotated[
        bool,
        typer.Option("--force", help="Upload even a file that would fail: not *.json, empty, not JSON."),
    ] = False,
    wait: Annotated[
        bool, typer.Option("--wait", help="Follow until the files' records are processed.")
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", metavar="SECONDS", min=1, help="Seconds --wait may take.")
    ] = 300.0,
    strict: Annotated[
        bool, typer.Option("--strict", help="With --wait: exit 1 unless every record was stored.")
    ] = False,
) -> None:
    """Upload data files into DataBucket (multipart when large); --wait follows them through the pipeline.

    A file that cannot be processed (not *.json, empty, not valid JSON) is refused before anything is
    uploaded, unless --force (a name not ending in .json is then uploaded with .json appended, so that the
    Transformer reads it). The upload result prints first. With --wait, follows the files' records through
    the pipeline (live on a terminal) until each is accounted for (written, stale or invalid) or the
    pipeline is drained and settled; on a timeout (exit 1) or Ctrl-C (exit 130) it prints what was
    accounted for so far. --strict makes any record not stored (invalid, failed) exit 1, for scripts.

    Example: pipeline-ctl upload accounts.json --prefix incoming --wait --timeout 120
    """
    from cli.upload_view import run_upload

    run = invocation(ctx)
    run_upload(
        run.out, run.target, files, prefix=prefix, force=force, wait=wait, timeout=timeout, strict=strict
    )


@app.command("replay-dlq", cls=Command)
@global_options
def replay_command(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be replayed; change nothing.")
    ] = False,
    limit: Annotated[
        int | None, typer.Option("--limit", metavar="N", min=1, help="Replay at most N.")
    ] = None,
    since: SinceOption = None,
    error_type: ErrorTypeOption = None,
    error_id: Annotated[
        list[str] | None, typer.Option("--id", metavar="ID", help="Only this error id (repeatable).")
    ] = None,
    source: Annotated[
        Source,
        typer.Option(
            "--from",
            metavar="|".join(source.value for source in Source),
            help="Replay NEW LogTable items, or messages still in the DLQ.",
        ),
    ] = Source.LOGTABLE,
    everything: Annotated[
        bool, typer.Option("--all", help="Replay every failure: no --since/--error-type/--id/--limit needed.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Re-send failed bodies to WriterQueue, each once, and mark them REPLAYED (or delete them from the DLQ).

    Without --since, --error-type, --id or --limit this replays every failure: it asks first on a terminal,
    and needs --all (or --yes) otherwise. A "Transformer gave up" failure is replayed by copying its S3 object
    onto itself, so that the Transformer reads the file again. Exits 1 if an --id was not found or a replay
    failed.

    Example: pipeline-ctl replay-dlq --since 6h --error-type RetriesExhausted --limit 100
    """
    from cli import render
    from ops.replay import replay

    run = invocation(ctx)
    request: dict[str, Any] = {
        "source": source,
        "limit": limit,
        "since": since,
        "error_types": tuple(error_type or ()),
        "ids": tuple(error_id or ()),
    }
    target = run.target()
    unfiltered = since is None and limit is None and not error_type and not error_id
    if unfiltered and not dry_run and not (everything or yes):
        _confirm_everything(run.out, replay(target, dry_run=True, **request))
    report = replay(target, dry_run=dry_run, **request)
    run.out.result(report.to_dict(), lambda: render.replay(run.out, report))
    failures = report.failures
    if failures:
        summary = render.failure_summary(failures)
        raise CommandFailed(f"{len(failures)} of {len(report.entries)} could not be replayed ({summary})")


def _confirm_everything(out: Output, preview: ReplayReport) -> None:
    """No filter: ask on a terminal (saying what would be replayed), refuse elsewhere; 'no' exits 0."""
    pending = [entry for entry in preview.entries if entry.result is Result.WOULD_REPLAY]
    if not pending:
        return  # nothing to replay: the command itself will say so
    if not sys.stdin.isatty():
        raise InvalidInput(
            f"no filter given: this would replay all {len(pending)} failures",
            hint="narrow it with --since/--error-type/--id/--limit, or pass --all (or --yes)",
        )
    from cli import render

    out.print(render.replay_preview(pending))
    if not typer.confirm(f"Replay all {len(pending)}?", default=False, err=True):
        # Declining is an answer, not a failure: exit 0, and say what to do instead.
        out.note("nothing replayed (narrow it with --since/--error-type/--id/--limit)")
        raise typer.Exit(0)


@errors_app.command("tail", cls=Command)
@global_options
def tail_command(
    ctx: typer.Context,
    since: SinceOption = None,
    limit: Annotated[
        int, typer.Option("--limit", metavar="N", min=1, help="At most N items (before --follow).")
    ] = 20,
    error_type: ErrorTypeOption = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep polling; print new errors until Ctrl-C.")
    ] = False,
    interval: Annotated[
        float, typer.Option("--interval", metavar="SECONDS", min=0.1, help="Seconds between --follow polls.")
    ] = 2.0,
) -> None:
    """The newest LogTable items first (default: the last 24 hours), through the by_day index.

    With --follow, the recent items are printed oldest first, then new ones as they arrive, until Ctrl-C.
    Narrow terminals get one block per error instead of a table; --wide keeps the table.

    Example: pipeline-ctl errors tail --since 1h --error-type InvalidRecord --follow
    """
    from cli import render
    from ops.errors_log import DEFAULT_SINCE, tail
    from ops.errors_log import count as count_errors
    from ops.errors_log import follow as follow_errors
    from ops.logtable import now_utc

    run = invocation(ctx)
    target = run.target()
    started = now_utc()
    types = tuple(error_type or ())
    window: dict[str, Any] = {"since": since or DEFAULT_SINCE, "error_types": types, "clock": lambda: started}
    items = tail(target, limit=limit, **window)
    if not follow:
        if run.out.json_mode:
            for item in items:
                run.out.json_line(item)
        elif items:
            render.errors(run.out, items)
        else:
            run.out.summary("no errors")
        total = count_errors(target, **window) if len(items) == limit else len(items)
        if total > len(items):  # never a silent cut: say how many there are and how to see them
            line = f"showing {len(items)} of {total} (--limit N to see more)"
            if run.out.json_mode:
                run.out.note(line)
            else:
                run.out.summary(line)
        return

    def emit(item: dict[str, Any]) -> None:
        if run.out.json_mode:
            run.out.json_line(item)
        else:
            run.out.print(render.streamed_error(run.out, item))

    for item in reversed(items):
        emit(item)
    try:
        follow_errors(
            target,
            start=started,
            seen={str(item["error_id"]) for item in items},
            on_item=emit,
            error_types=types,
            interval=interval,
        )
    except KeyboardInterrupt:
        return  # Ctrl-C is how --follow ends: not a failure


@errors_app.command("show", cls=Command)
@global_options
def show_command(
    ctx: typer.Context,
    error_id: Annotated[str, typer.Argument(metavar="ID", help="The error id (the DLQ message id).")],
    full: Annotated[bool, typer.Option("--full", help="The whole body, however long.")] = False,
) -> None:
    """One LogTable item, every attribute, and its body pretty-printed (JSON when it parses, escaped text
    otherwise), paged on a terminal.

    A long body (a batch) shows its first records and the records the reason names, with counts; --full
    shows all of it, --json the item as stored. A replayed body that failed again names the item it
    replayed in replay_of.

    The id may be shortened to a unique prefix (at least 4 characters), as tables print it.

    Example: pipeline-ctl errors show 0f6b3c1e-3c5d-4a57-9d0e-2f1c7d0b9a11
    """
    from cli import render
    from ops.errors_log import show

    run = invocation(ctx)
    item = show(run.target(), error_id)
    with run.out.paged():
        run.out.result(item, lambda: render.error_item(run.out, item, full=full))


@app.command("status", cls=Command)
@global_options
def status_command(
    ctx: typer.Context,
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="Refresh until Ctrl-C: throughput and a trend per queue.")
    ] = False,
    interval: Annotated[
        float | None,
        typer.Option(
            "--interval", metavar="SECONDS", min=0.2, help="Seconds between --watch samples (2 local, 5 AWS)."
        ),
    ] = None,
) -> None:
    """Queue depths and oldest-message ages, today's LogTable counts, AccountTable size, alarm states, and
    the CloudWatch dashboard's URL for a deployed stack.

    With --watch, the queues refresh live (one line per sample when piped, JSON Lines with --json).

    Example: pipeline-ctl --stack dev status --watch
    """
    from cli import render
    from ops.status import status

    run = invocation(ctx)
    target = run.target()
    if watch:
        from cli.watch import run_watch

        run_watch(run.out, target, interval=interval or (2.0 if target.is_local else 5.0))
        return
    report = status(target)
    run.out.result(report.to_dict(), lambda: render.status(run.out, report))


@app.command("release", cls=Command)
@global_options
def release_command(
    ctx: typer.Context,
    action: Annotated[
        Action, typer.Argument(metavar="ACTION", help="status (default), wait or stop.")
    ] = Action.STATUS,
    timeout: Annotated[
        float, typer.Option("--timeout", metavar="SECONDS", min=1, help="Seconds `wait` may take.")
    ] = 900.0,
    poll: Annotated[
        float, typer.Option("--poll", metavar="SECONDS", min=0.1, help="Seconds between `wait` polls.")
    ] = 10.0,
) -> None:
    """The Writer's CodeDeploy canary: show it, wait for it to finish, or stop it (rolls back).

    Example: pipeline-ctl --stack dev release wait --timeout 600
    """
    from cli import render
    from ops.release import release

    run = invocation(ctx)
    result = release(run.target(), action, timeout=timeout, poll=poll)
    run.out.result(None if result is None else result.to_dict(), lambda: render.release(run.out, result))
    if action is Action.WAIT and result is not None and not result.succeeded:
        raise CommandFailed(f"deployment {result.deployment_id} ended {result.status}")


@app.command("schema", cls=Command)
def schema_command() -> None:
    """The record contract as JSON Schema (2020-12), generated from the contract module.

    Example: pipeline-ctl schema > record.schema.json
    """
    from ops.schema import schema

    Output(json_mode=True).json(schema())


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point (``pipeline-ctl = cli.app:main``).

    A Ctrl-C that lands while the command line is still being built (before the group's own handler runs)
    exits 130 without a traceback too.
    """
    try:
        app(args=list(argv) if argv is not None else None, prog_name=PROG)
    except KeyboardInterrupt:
        sys.exit(INTERRUPTED_EXIT)


if __name__ == "__main__":
    main()
