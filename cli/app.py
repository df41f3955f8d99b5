"""``pipeline-ctl``: the operators' CLI. Every command here is a thin adapter over one library function.

The work lives in one module per command (``ops.send``, ``ops.upload``, ``ops.replay``, ``ops.errors_log``,
``ops.status``, ``ops.release``, ``ops.schema``) that tests and the demo call directly; this file parses
options, resolves the target stack once (``ops.target``), and renders the result (``cli.render``, or JSON).
Options shared by every command are defined once below, accepted before the command (``pipeline-ctl --json
status``) or after it (``pipeline-ctl status --json``), and each has an environment variable.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from cli.local import demo_command, local_app
from cli.logs import logs_command
from cli.output import Output
from infra.spec import LOCAL_STACK
from ops.durations import parse_duration
from ops.errors import CliError, UsageError, error_line, from_botocore

if TYPE_CHECKING:
    from ops.target import Target

try:  # Typer >= 0.17 vendors Click; older versions use the click package.
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover - depends on the installed Typer
    from click import exceptions as click_exceptions  # type: ignore[no-redef]


class PipelineGroup(TyperGroup):
    """Turns every expected failure into one ``Error: …`` line on stderr with exit code 2 or 1.

    Library code raises :class:`~ops.errors.CliError`; botocore's environment failures (no credentials,
    endpoint unreachable, AWS refusing) are translated by :func:`~ops.errors.from_botocore`; Click's own
    usage errors (a missing argument, an invalid option value) get the same one-line form instead of a
    boxed panel. Anything else is a bug and keeps its traceback.
    """

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            result = super().main(
                args, prog_name, complete_var, False, windows_expand_args=windows_expand_args, **extra
            )
        except click_exceptions.UsageError as error:
            if type(error).__name__ == "NoArgsIsHelpError":  # the help is already printed: exit like Click
                return self._fail("", error.exit_code, standalone_mode)
            command = error.ctx.command_path if error.ctx is not None else "pipeline-ctl"
            return self._fail(
                error_line(error.format_message(), f"see `{command} --help`"), 2, standalone_mode
            )
        except click_exceptions.ClickException as error:
            return self._fail(error_line(error.format_message()), error.exit_code, standalone_mode)
        except typer.Abort:
            return self._fail("", 130, standalone_mode)
        except CliError as error:
            return self._fail(error.line(), error.exit_code, standalone_mode)
        except Exception as error:
            translated = from_botocore(error)
            if translated is None:
                raise
            return self._fail(translated.line(), translated.exit_code, standalone_mode)
        code = result if isinstance(result, int) else 0
        if standalone_mode:
            sys.exit(code)
        return result

    @staticmethod
    def _fail(line: str, code: int, standalone_mode: bool) -> int:
        if line:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
        if standalone_mode:
            sys.exit(code)
        return code


app = typer.Typer(
    name="pipeline-ctl",
    cls=PipelineGroup,
    help="Operate the serverless ingestion pipeline: send and upload data, follow errors, replay failures.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals can hold credentials
)
errors_app = typer.Typer(
    name="errors", help="Read LogTable: what failed, why, and the original bodies.", no_args_is_help=True
)
app.add_typer(errors_app)
app.add_typer(local_app, name="local")
app.command("demo")(demo_command)
app.command("logs")(logs_command)


# --- Shared options ---------------------------------------------------------------------------------------


def _duration(value: str) -> timedelta:
    try:
        return parse_duration(value)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


STACK_HELP = "Target stack: 'local' (default) or a deployed Pulumi stack."
REGION_HELP = "AWS region (default: the stack's, or AWS_REGION)."
PROFILE_HELP = "AWS profile (default: AWS_PROFILE)."
JSON_HELP = "Machine output: one JSON document, JSON Lines for streams."

# Before the command the options also read their environment variable; after it they do not, so that an
# explicit `status --stack x` wins and PIPELINE_STACK cannot silently override `--stack x status`.
RootStackOption = Annotated[str | None, typer.Option("--stack", envvar="PIPELINE_STACK", help=STACK_HELP)]
RootRegionOption = Annotated[str | None, typer.Option("--region", envvar="PIPELINE_REGION", help=REGION_HELP)]
RootProfileOption = Annotated[
    str | None, typer.Option("--profile", envvar="PIPELINE_PROFILE", help=PROFILE_HELP)
]
RootJsonOption = Annotated[bool, typer.Option("--json", envvar="PIPELINE_JSON", help=JSON_HELP)]
StackOption = Annotated[str | None, typer.Option("--stack", help=STACK_HELP + " [env var: PIPELINE_STACK]")]
RegionOption = Annotated[str | None, typer.Option("--region", help=REGION_HELP)]
ProfileOption = Annotated[str | None, typer.Option("--profile", help=PROFILE_HELP)]
JsonOption = Annotated[bool, typer.Option("--json", help=JSON_HELP + " [env var: PIPELINE_JSON]")]
SinceOption = Annotated[
    timedelta | None,
    typer.Option(
        "--since", parser=_duration, metavar="DURATION", help="Only errors this recent: 90s, 15m, 1h, 2d."
    ),
]
ErrorTypeOption = Annotated[
    list[str] | None,
    typer.Option(
        "--error-type", metavar="TYPE", help="Only this error type (repeatable), e.g. InvalidRecord."
    ),
]


@dataclass(kw_only=True)
class Globals:
    stack: str | None = None
    region: str | None = None
    profile: str | None = None
    json_mode: bool = False


@dataclass(kw_only=True)
class Invocation:
    """One command's merged options, its output, and (on demand) its target."""

    stack: str
    region: str | None
    profile: str | None
    out: Output

    def target(self) -> Target:
        from ops.target import resolve_target  # boto3 costs ~0.5 s to import: not for --help

        target = resolve_target(self.stack, region=self.region, profile=self.profile)
        for note in target.notes:  # e.g. --region ignored for the local stack: said once, on stderr
            self.out.error(f"Note: {note}")
        return target


def _invocation(
    ctx: typer.Context, stack: str | None, region: str | None, profile: str | None, json_mode: bool
) -> Invocation:
    """Command-level options win over the ones given before the command."""
    root = ctx.find_root().obj if isinstance(ctx.find_root().obj, Globals) else Globals()
    return Invocation(
        stack=stack or root.stack or LOCAL_STACK,
        region=region or root.region,
        profile=profile or root.profile,
        out=Output(json_mode=json_mode or root.json_mode),
    )


@app.callback()
def _root(
    ctx: typer.Context,
    stack: RootStackOption = None,
    region: RootRegionOption = None,
    profile: RootProfileOption = None,
    json_mode: RootJsonOption = False,
) -> None:
    """Operate the serverless ingestion pipeline: send and upload data, follow errors, replay failures.

    The target is the local stack unless --stack names a deployed one.

    Example: pipeline-ctl --stack dev status
    """
    ctx.obj = Globals(stack=stack, region=region, profile=profile, json_mode=json_mode)


# --- Commands ---------------------------------------------------------------------------------------------


@app.command("send")
def send_command(
    ctx: typer.Context,
    file: Annotated[
        str | None,
        typer.Argument(metavar="[FILE|-]", help="JSON object, JSON array or JSON Lines; - for stdin."),
    ] = None,
    record: Annotated[
        list[str] | None, typer.Option("--record", metavar="JSON", help="One record as JSON (repeatable).")
    ] = None,
    batch: Annotated[int, typer.Option("--batch", min=1, help="Records per request (one SQS message).")] = 1,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=64, help="Requests in flight.")] = 8,
    retries: Annotated[
        int, typer.Option("--retries", min=0, help="Retries on 429, 5xx and connection errors.")
    ] = 5,
    stack: StackOption = None,
    region: RegionOption = None,
    profile: ProfileOption = None,
    json_mode: JsonOption = False,
) -> None:
    """POST records to the stack's API (POST {api_url}/writer), SigV4-signed when the API requires IAM.

    Prints how many records were accepted and rejected (by HTTP status); exits 1 if any was finally rejected.

    Example: pipeline-ctl send accounts.jsonl --batch 10 --concurrency 16
    """
    from cli import render
    from ops.send import SendInterrupted, SendOptions, parse_record_option, parse_records, send

    run = _invocation(ctx, stack, region, profile, json_mode)
    records = _read_input(file, parse_records)
    records += [parse_record_option(text, position) for position, text in enumerate(record or [], 1)]
    if not records:
        raise UsageError("nothing to send", hint="give a FILE, - for stdin, or --record JSON")
    target = run.target()
    options = SendOptions(batch=batch, concurrency=concurrency, retries=retries)
    try:
        with run.out.progress("sending", total=len(records)) as ticker:
            report = send(target, records, options=options, on_progress=ticker.advance)
    except SendInterrupted as stopped:  # Ctrl-C: what was sent and what was not, then exit 130
        if run.out.json_mode:
            run.out.json(stopped.to_dict())
        raise
    if run.out.json_mode:
        run.out.json(report.to_dict())
    else:
        run.out.print(render.send_summary(report))
        if not report.ok:
            render.send_details(run.out, report)
    if not report.ok:
        raise CliError(render.send_rejections(report))


def _read_input(file: str | None, parse: Any) -> list[Any]:
    if file is None:
        return []
    if file == "-":
        return parse(sys.stdin.read(), "<stdin>")
    path = Path(file)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{file}: no such file") from None
    except UnicodeDecodeError:
        raise UsageError(f"{file}: not UTF-8 text") from None
    except OSError as error:
        raise UsageError(f"{file}: {error.strerror}") from None
    return parse(text, file)


@app.command("upload")
def upload_command(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(metavar="FILE...", help="Data files (*.json).")],
    prefix: Annotated[
        str, typer.Option("--prefix", help="Key prefix in DataBucket, e.g. incoming/2024.")
    ] = "",
    force: Annotated[
        bool, typer.Option("--force", help="Upload files not named *.json (never processed).")
    ] = False,
    wait: Annotated[
        bool, typer.Option("--wait", help="Follow until the files' records are processed.")
    ] = False,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="Seconds --wait may take.")] = 300.0,
    stack: StackOption = None,
    region: RegionOption = None,
    profile: ProfileOption = None,
    json_mode: JsonOption = False,
) -> None:
    """Upload data files into DataBucket (multipart when large); --wait follows them through the pipeline.

    The upload result prints first. With --wait, follows the files' records through the pipeline (live on a
    terminal) until each is accounted for (written, stale or invalid) or the pipeline is drained and settled;
    on a timeout (exit 1) or Ctrl-C (exit 130) it prints what was accounted for so far.

    Example: pipeline-ctl upload accounts.json --prefix incoming --wait --timeout 120
    """
    from cli.upload_view import run_upload

    run = _invocation(ctx, stack, region, profile, json_mode)
    run_upload(run.out, run.target, files, prefix=prefix, force=force, wait=wait, timeout=timeout)


@app.command("replay-dlq")
def replay_command(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be replayed; change nothing.")
    ] = False,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Replay at most N.")] = None,
    since: SinceOption = None,
    error_type: ErrorTypeOption = None,
    error_id: Annotated[
        list[str] | None, typer.Option("--id", metavar="ID", help="Only this error id (repeatable).")
    ] = None,
    source: Annotated[
        str,
        typer.Option("--from", metavar="logtable|dlq", help="Replay NEW LogTable items, or DLQ messages."),
    ] = "logtable",
    stack: StackOption = None,
    region: RegionOption = None,
    profile: ProfileOption = None,
    json_mode: JsonOption = False,
) -> None:
    """Re-send failed bodies to WriterQueue, each once, and mark them REPLAYED (or delete them from the DLQ).

    Two operators replaying the same items at once send each body once. Exits 1 if an --id was not found or a
    send failed.

    Example: pipeline-ctl replay-dlq --since 6h --error-type RetriesExhausted --limit 100
    """
    from cli import render
    from ops.replay import replay

    run = _invocation(ctx, stack, region, profile, json_mode)
    if source not in ("logtable", "dlq"):
        raise UsageError(f"--from must be logtable or dlq, not {source!r}")
    report = replay(
        run.target(),
        source=source,
        dry_run=dry_run,
        limit=limit,
        since=since,
        error_types=error_type or (),
        ids=error_id or (),
    )
    if run.out.json_mode:
        run.out.json(report.to_dict())
    else:
        render.replay(run.out, report)
    if not report.ok:
        failed = sum(
            1 for entry in report.entries if not entry.result.startswith(("replayed", "would", "skipped"))
        )
        raise CliError(f"{failed} of {len(report.entries)} could not be replayed (see the table above)")


@errors_app.command("tail")
def tail_command(
    ctx: typer.Context,
    since: SinceOption = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most N items (before --follow).")] = 20,
    error_type: ErrorTypeOption = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep polling; print new errors until Ctrl-C.")
    ] = False,
    interval: Annotated[
        float, typer.Option("--interval", min=0.1, help="Seconds between --follow polls.")
    ] = 2.0,
    stack: StackOption = None,
    region: RegionOption = None,
    profile: ProfileOption = None,
    json_mode: JsonOption = False,
) -> None:
    """The newest LogTable items first (default: the last 24 hours), through the by_day index.

    With --follow, the recent items are printed oldest first, then new ones as they arrive, until Ctrl-C.

    Example: pipeline-ctl errors tail --since 1h --error-type InvalidRecord --follow
    """
    from cli import render
    from ops.errors_log import DEFAULT_SINCE, tail
    from ops.errors_log import follow as follow_errors
    from ops.logtable import now_utc

    run = _invocation(ctx, stack, region, profile, json_mode)
    target = run.target()
    started = now_utc()
    items = tail(target, since=since or DEFAULT_SINCE, limit=limit, error_types=error_type or ())
    if not follow:
        if run.out.json_mode:
            for item in items:
                run.out.json_line(item)
        elif items:
            table = run.out.table(
                None, render.ERROR_COLUMNS, render.error_rows(items), no_wrap=render.ERROR_NO_WRAP
            )
            run.out.print(table)
        else:
            run.out.print("no errors")
        return

    def emit(item: dict[str, Any]) -> None:
        if run.out.json_mode:
            run.out.json_line(item)
        else:
            run.out.print(render.error_line(item))

    for item in reversed(items):
        emit(item)
    try:
        follow_errors(
            target,
            start=started,
            seen={str(item["error_id"]) for item in items},
            on_item=emit,
            error_types=error_type or (),
            interval=interval,
        )
    except KeyboardInterrupt:
        return  # Ctrl-C is how --follow ends: not a failure


@errors_app.command("show")
def show_command(
    ctx: typer.Context,
    error_id: Annotated[str, typer.Argument(metavar="ID", help="The error id (the DLQ message id).")],
    stack: StackOption = None,
    region: RegionOption = None,
    profile: ProfileOption = None,
    json_mode: JsonOption = False,
) -> None:
    """One LogTable item, whole, with its body pretty-printed (JSON when it parses, verbatim otherwise).

    Example: pipeline-ctl errors show 0f6b3c1e-3c5d-4a57-9d0e-2f1c7d0b9a11
    """
    from cli import render
    from ops.errors_log import show

    run = _invocation(ctx, stack, region, profile, json_mode)
    item = show(run.target(), error_id)
    if run.out.json_mode:
        run.out.json(item)
    else:
        render.error_item(run.out, item)


@app.command("status")
def status_command(
    ctx: typer.Context,
    stack: StackOption = None,
    region: RegionOption = None,
    profile: ProfileOption = None,
    json_mode: JsonOption = False,
) -> None:
    """Queue depths and oldest-message ages, today's LogTable counts, AccountTable size, alarm states.

    Example: pipeline-ctl --stack dev status
    """
    from cli import render
    from ops.status import status

    run = _invocation(ctx, stack, region, profile, json_mode)
    report = status(run.target())
    if run.out.json_mode:
        run.out.json(report.to_dict())
    else:
        render.status(run.out, report)


@app.command("release")
def release_command(
    ctx: typer.Context,
    action: Annotated[
        str, typer.Argument(metavar="[status|wait|stop]", help="What to do (default: status).")
    ] = "status",
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="Seconds `wait` may take.")] = 900.0,
    poll: Annotated[float, typer.Option("--poll", min=0.1, help="Seconds between `wait` polls.")] = 10.0,
    stack: StackOption = None,
    region: RegionOption = None,
    profile: ProfileOption = None,
    json_mode: JsonOption = False,
) -> None:
    """The Writer's CodeDeploy canary: show it, wait for it to finish, or stop it (rolls back).

    Example: pipeline-ctl --stack dev release wait --timeout 600
    """
    from cli import render
    from ops.release import Action, release

    if action not in {member.value for member in Action}:
        raise UsageError(f"unknown release action {action!r}", hint="use status, wait or stop")
    run = _invocation(ctx, stack, region, profile, json_mode)
    result = release(run.target(), Action(action), timeout=timeout, poll=poll)
    if run.out.json_mode:
        run.out.json(None if result is None else result.to_dict())
    else:
        render.release(run.out, result)
    if action == Action.WAIT and result is not None and not result.succeeded:
        raise CliError(f"deployment {result.deployment_id} ended {result.status}")


@app.command("schema")
def schema_command() -> None:
    """The record contract as JSON Schema (2020-12), generated from the contract module.

    Example: pipeline-ctl schema > record.schema.json
    """
    from ops.schema import schema

    Output(json_mode=True).json(schema())


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point (``pipeline-ctl = cli.app:main``).

    Ctrl-C inside a command is handled by Typer (exit 130); this also covers one that lands while the
    command line is still being built, so an impatient Ctrl-C never prints a traceback either.
    """
    try:
        app(args=list(argv) if argv is not None else None, prog_name="pipeline-ctl")
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
