"""``pipeline-ctl send``: stream the input to the API with a progress bar, and say how to resume.

A named file is read through once first (``ops.send_input.count_records``): a bad file is refused before
anything is sent, as ``upload`` refuses one, and the progress bar knows its total. Standard input cannot be
read twice: its records leave as they are read, the bar counts without a total, and a bad record stops the
send there (exit 2) after the records before it were sent. Either way, an interrupted or broken send prints
the exact command that sends the rest (``--skip N``).
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Iterator, Sequence
from itertools import chain
from typing import Any

from cli import render
from cli.errors import INTERRUPTED_EXIT, CommandFailed
from cli.options import Invocation
from infra.spec import LOCAL_STACK
from ops.errors import InvalidInput
from ops.send import InputBroken, SendInterrupted, SendOptions, parse_record_option, send
from ops.send_input import count_records, no_records, open_input, stream_records

PROG = "pipeline-ctl"


def run_send(
    run: Invocation,
    *,
    file: str | None,
    record_options: Sequence[str],
    options: SendOptions,
    skip: int,
    defaults: dict[str, Any],
) -> None:
    given = [parse_record_option(text, position) for position, text in enumerate(record_options, 1)]
    if file is None and not given:
        raise InvalidInput("nothing to send", hint="give a FILE, - for stdin, or --record JSON")
    total: int | None = len(given)
    if file is not None and file != "-":
        total = count_records(file) + len(given)  # refuses a bad file before anything is sent
    elif file == "-":
        total = None
    if total is not None and skip >= total:
        raise InvalidInput(f"--skip {skip}: the input holds {total} records", hint="nothing would be sent")
    target = run.target()
    resume = _ResumeCommand(run, file=file, record_options=record_options, options=options, defaults=defaults)
    records = chain(_file_records(file), given)
    try:
        with run.out.progress("sending", total=None if total is None else total - skip) as ticker:
            report = send(
                target, records, options=options, on_progress=ticker.advance, skip=skip, total=total
            )
    except SendInterrupted as stopped:  # Ctrl-C: what was sent and what was not, then exit 130
        if run.out.json_mode:
            run.out.json(stopped.to_dict())
        raise CommandFailed(
            stopped.message,
            hint=f"resume with: {resume.at(stopped.resume_at)}; accepted records are processed anyway",
            exit_code=INTERRUPTED_EXIT,
        ) from None
    except InputBroken as broken:
        if broken.report.records == 0:  # nothing went: the input's own error says it all
            raise broken.cause from None
        if run.out.json_mode:
            run.out.json(broken.to_dict())
        raise InvalidInput(
            broken.message, hint=f"fix the input, then resume with: {resume.at(broken.resume_at)}"
        ) from None
    if report.records == 0 and file == "-":
        raise no_records("<stdin>")
    run.out.result(report.to_dict(), lambda: render.send(run.out, report))
    if not report.ok:
        raise CommandFailed(render.send_rejections(report))


def _file_records(file: str | None) -> Iterator[Any]:
    if file is None:
        return
    stream, name = open_input(file, stdin=sys.stdin)
    try:
        yield from stream_records(stream, name)
    finally:
        if file != "-":
            stream.close()


class _ResumeCommand:
    """The command line that sends the rest: the same target, input and options, with ``--skip N``."""

    def __init__(
        self,
        run: Invocation,
        *,
        file: str | None,
        record_options: Sequence[str],
        options: SendOptions,
        defaults: dict[str, Any],
    ) -> None:
        words = [PROG]
        if run.stack != LOCAL_STACK:
            words += ["--stack", run.stack]
        if run.region:
            words += ["--region", run.region]
        if run.profile:
            words += ["--profile", run.profile]
        words.append("send")
        if file is not None:
            words.append(file)
        for text in record_options:
            words += ["--record", text]
        chosen = {"batch": options.batch, "concurrency": options.concurrency, "retries": options.retries}
        for name, value in chosen.items():
            if value is not None and value != defaults.get(name):
                words += [f"--{name}", str(value)]
        self.words = words
        self.stdin = file == "-"

    def at(self, skip: int) -> str:
        command = shlex.join([*self.words, "--skip", str(skip)])
        return f"{command} (with the same input on stdin)" if self.stdin else command
