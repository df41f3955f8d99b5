"""``pipeline-ctl upload``: the upload result first, then (``--wait``) live progress and what became of it.

The result of the upload is printed as soon as the files are in the bucket, before any waiting: an operator
who presses Ctrl-C, or whose wait times out, still has it. While waiting, a terminal shows a live table
(rich ``Live``, redrawn in place, gone when the wait ends); a pipe or a file gets nothing until the final
table, so logs stay clean. However the wait ends — every record accounted for, a settled pipeline, a
timeout, Ctrl-C — the table of what was accounted for so far is printed, and ``--json`` prints exactly one
document holding the upload, the wait and how it ended.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Group
from rich.live import Live
from rich.text import Text

from cli import render
from cli.errors import INTERRUPTED_EXIT, CommandFailed
from cli.output import Output
from functions.model import DATA_SUFFIX
from ops.errors import InvalidInput
from ops.target import Target
from ops.upload import (
    UploadedFile,
    UploadInterrupted,
    WaitReport,
    WaitTimedOut,
    check_files,
    upload,
    wait_processed,
)

COLUMNS = ("object", "done", "written", "stale", "invalid", "state")
"""Few and narrow (``done`` is accounted/expected, ``5/6``), so the table keeps the S3 URI whole at common
widths; narrower, the table becomes records, as every table of the CLI does."""
NO_WRAP = COLUMNS


def run_upload(
    out: Output,
    target_of: Any,
    files: Sequence[Path],
    *,
    prefix: str,
    force: bool,
    wait: bool,
    timeout: float,
    strict: bool = False,
) -> None:
    """The whole command: ``target_of()`` resolves the stack (after the files were checked)."""
    if strict and not wait:
        raise InvalidInput("--strict needs --wait", hint="records are judged after the upload: add --wait")
    checked = check_files(files, force=force)
    target: Target = target_of()
    total = sum(file.size for file in checked)
    try:
        with out.progress("uploading", total=total, bytes_=True) as ticker:
            uploaded = upload(target, checked, prefix=prefix, on_bytes=ticker.advance)
    except UploadInterrupted as stopped:
        if out.json_mode:
            out.json(stopped.to_dict())
        elif stopped.uploaded:
            render.uploaded(out, stopped.uploaded)
        raise CommandFailed(stopped.message, hint=stopped.hint, exit_code=INTERRUPTED_EXIT) from None
    for file in uploaded:  # --force on another name: the key got .json, so that the Transformer reads it
        if not file.path.endswith(DATA_SUFFIX):
            out.note(f"Note: {file.path} uploaded as {file.uri}: only keys ending in {DATA_SUFFIX} are read")
    if not wait:
        if out.json_mode:
            out.json({"uploaded": [file.to_dict() for file in uploaded]})
        else:
            render.uploaded(out, uploaded)
        return
    if not out.json_mode and not out.quiet:  # with -q, only the result: what became of the records
        render.uploaded(out, uploaded)
    latest: list[WaitReport] = [WaitReport(files=[])]
    try:
        with live_progress(out) as show:

            def on_poll(report: WaitReport) -> None:
                latest[0] = report
                show(report)

            report = wait_processed(target, uploaded, timeout=timeout, on_poll=on_poll)
    except WaitTimedOut as timed_out:
        finish(out, uploaded, timed_out.report, "timed out")
        raise
    except KeyboardInterrupt:
        report = latest[0]
        finish(out, uploaded, report, "interrupted")
        raise CommandFailed(
            f"interrupted while waiting: {report.accounted} of {report.expected} records accounted for "
            "so far",
            exit_code=INTERRUPTED_EXIT,
            hint="the files are uploaded and the pipeline goes on processing them: "
            "see `pipeline-ctl status` and `pipeline-ctl errors tail`",
        ) from None
    finish(out, uploaded, report, "settled" if report.settled else "done")
    if strict:
        check_strict(report)


def check_strict(report: WaitReport) -> None:
    """``--strict``, for scripts: exit 1 unless every record was stored (written, or stale: already there)."""
    invalid = sum(file.invalid for file in report.files)
    failed = sum(file.redriven for file in report.files)
    missing = max(0, report.expected - report.accounted)
    if invalid or failed or missing:
        parts = [f"{invalid} invalid", f"{failed} failed", f"{missing} not accounted for"]
        shown = ", ".join(part for part in parts if not part.startswith("0 "))
        raise CommandFailed(
            f"--strict: {invalid + failed + missing} of {report.expected} records not stored ({shown})",
            hint="see `pipeline-ctl errors tail`",
        )


def finish(out: Output, uploaded: Sequence[UploadedFile], report: WaitReport, outcome: str) -> None:
    if out.json_mode:
        out.json(
            {
                "uploaded": [file.to_dict() for file in uploaded],
                "wait": {"outcome": outcome, **report.to_dict()},
            }
        )
        return
    if report.files:
        out.print(
            out.table(
                f"processed ({outcome} after {report.elapsed:.1f} s)", COLUMNS, rows(report), no_wrap=NO_WRAP
            )
        )
    else:
        out.print(f"processed: nothing seen yet ({outcome})")


def rows(report: WaitReport) -> list[tuple[Any, ...]]:
    return [
        (
            file.uri,
            f"{file.accounted}/{'?' if file.expected is None else file.expected}",
            file.written,
            file.stale,
            file.invalid + file.redriven,
            file.state,
        )
        for file in report.files
    ]


@contextmanager
def live_progress(out: Output) -> Iterator[Any]:
    """A callback that redraws the wait's table in place on a terminal, and does nothing elsewhere."""
    if not out.interactive:
        yield lambda report: None
        return
    with Live(console=out.console, transient=True, refresh_per_second=4) as live:

        def show(report: WaitReport) -> None:
            queued = "" if report.queued is None else f" · {report.queued} messages queued"
            line = Text(
                f"waiting {report.elapsed:.0f} s · {report.accounted}/{report.expected} records accounted "
                f"for{queued} · Ctrl-C stops the wait"
            )
            live.update(Group(out.table(None, COLUMNS, rows(report), no_wrap=NO_WRAP), line))

        yield show
