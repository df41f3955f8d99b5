"""Where ``pipeline-ctl`` writes: human output with rich on stdout, machine output as JSON, errors on stderr.

One :class:`Output` per invocation, created when the command runs (not at import) so that it binds to the
streams of that moment: a test runner's captured stdout, a pipe, a terminal. Colour, progress bars and
live redraws only happen on a terminal; piped output is plain text a script can read, and ``--json`` gives
exactly one JSON document (or JSON Lines for streams such as ``errors tail --follow``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from rich.console import Console, Group, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from rich.text import Text

from cli.text import machine_time, printable

FALLBACK_WIDTH = 80
"""Width of human output when neither ``COLUMNS`` nor any terminal says otherwise (a CI log, a cron mail)."""
WIDE_WIDTH = 10_000
"""``--wide``: as wide as the content; the terminal, not rich, decides how long lines are shown."""
MIN_WRAPPED_WIDTH = 24
"""A folding column (a message, a source) narrower than this is unreadable: the table becomes records."""


def json_default(value: Any) -> Any:
    """JSON for what boto3 and our reports hand back: DynamoDB ``Decimal`` numbers, datetimes, sets."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return machine_time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(document: Any, *, indent: int | None = None) -> str:
    return json.dumps(document, default=json_default, indent=indent, ensure_ascii=False)


class Ticker(Protocol):
    """What a command advances while it works: a progress bar on a terminal, nothing elsewhere."""

    def advance(self, amount: float = 1) -> None: ...


class _Silent:
    def advance(self, amount: float = 1) -> None:
        return None


class _Bar:
    def __init__(self, progress: Progress, task: Any) -> None:
        self._progress = progress
        self._task = task

    def advance(self, amount: float = 1) -> None:
        self._progress.advance(self._task, amount)


class Output:
    """Human (rich) or machine (``--json``) output for one invocation.

    Every string printed is literal: rich markup is off, so a reason or a source from the pipeline that looks
    like markup (``[/x]``, ``[bold]``) is shown as it is, never styled and never a crash.
    """

    def __init__(self, *, json_mode: bool = False, wide: bool = False, quiet: bool = False) -> None:
        self.json_mode = json_mode
        self.wide = wide
        self.quiet = quiet
        stdout_tty = sys.stdout.isatty()
        self.console = Console(
            file=sys.stdout,
            markup=False,
            highlight=False,
            emoji=False,
            soft_wrap=False,
            width=WIDE_WIDTH if wide else (None if stdout_tty else output_width()),
            no_color=not stdout_tty or "NO_COLOR" in os.environ,
        )
        self.err_console = Console(
            file=sys.stderr, markup=False, highlight=False, emoji=False, soft_wrap=True, no_color=True
        )

    @property
    def interactive(self) -> bool:
        """True when live widgets (progress bars) make sense: human mode on a terminal, not --quiet."""
        return not self.json_mode and not self.quiet and self.console.is_terminal

    @property
    def width(self) -> int:
        return self.console.width

    def print(self, *objects: Any) -> None:
        self.console.print(*objects)

    def summary(self, *objects: Any) -> None:
        """A line that only summarises what was printed above it: left out with --quiet."""
        if not self.quiet:
            self.print(*objects)

    def note(self, line: str, *, always: bool = False) -> None:
        """A remark for the operator on stderr (so stdout stays the result); left out with --quiet."""
        if always or not self.quiet:
            self.err_console.print(line)

    def json(self, document: Any) -> None:
        """One JSON document, indented: what ``--json`` prints for a non-streaming command."""
        sys.stdout.write(dumps(document, indent=2) + "\n")
        sys.stdout.flush()

    def result(self, document: Any, show: Callable[[], None]) -> None:
        """A command's one result: ``document`` with ``--json``, otherwise what ``show`` prints. One place
        decides, so no command can print both, or neither."""
        if self.json_mode:
            self.json(document)
        else:
            show()

    def json_line(self, document: Any) -> None:
        """One JSON Lines record, flushed at once so ``| jq`` sees streamed items as they come."""
        sys.stdout.write(dumps(document) + "\n")
        sys.stdout.flush()

    def error(self, line: str) -> None:
        self.err_console.print(line)

    def table(
        self,
        title: str | None,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        no_wrap: Sequence[str] = (),
    ) -> RenderableType:
        """Rows as a table, or as records when the table cannot fit this output (:func:`table_or_records`)."""
        return table_or_records(title, columns, rows, width=self.width, wide=self.wide, no_wrap=no_wrap)

    @contextmanager
    def paged(self) -> Iterator[None]:
        """What is printed inside goes through a pager on a terminal, as git and gh do: ``PIPELINE_PAGER``,
        else ``PAGER``, else ``less`` where it exists, with ``LESS=FRX`` unless ``LESS`` is set (quit when it
        fits one screen, keep colours, leave the text on screen). Piped, --json or without a pager: as is."""
        command = None if self.json_mode or not self.console.is_terminal else pager_command()
        if command is None:
            yield
            return
        with self.console.capture() as captured:
            yield
        text = captured.get()
        environment = {**os.environ, "LESS": os.environ.get("LESS", "FRX")}
        try:
            subprocess.run(command, shell=True, input=text, text=True, env=environment, check=False)
        except OSError:
            sys.stdout.write(text)

    @contextmanager
    def progress(self, description: str, total: float | None, *, bytes_: bool = False) -> Iterator[Ticker]:
        """A progress bar on a terminal; elsewhere a ticker that does nothing (logs stay clean)."""
        if not self.interactive:
            yield _Silent()
            return
        columns: list[Any] = [TextColumn("{task.description}"), BarColumn()]
        columns += [TransferSpeedColumn()] if bytes_ else [MofNCompleteColumn()]
        columns.append(TimeRemainingColumn())
        with Progress(*columns, console=self.console, transient=True) as bar:
            yield _Bar(bar, bar.add_task(description, total=total))


def table_or_records(
    title: str | None,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    width: int,
    wide: bool = False,
    no_wrap: Sequence[str] = (),
) -> RenderableType:
    """Rows as a table, or as records (one ``column  value`` block per row) when the table cannot fit.

    A table fits when the ``no_wrap`` columns (ids, timestamps, copied whole) keep their full width and
    every other column gets at least ``MIN_WRAPPED_WIDTH`` characters (or its longest cell, if shorter).
    Otherwise rich would shrink those columns to a few characters or to nothing; the record layout keeps
    every value readable at 80 columns. ``wide`` always gives the table, as wide as its content. Cells are
    literal text: what the pipeline stores is never read as markup.

    The title is a plain line above the table rather than rich's table title, which is padded to the
    table's width with trailing spaces that end up in logs and pasted transcripts.
    """
    cells = [[printable(cell) for cell in row] for row in rows]
    longest = [
        max([len(column)] + [len(row[index]) for row in cells]) for index, column in enumerate(columns)
    ]
    needed = 3 * len(columns) + 1  # rich's heavy-head box: a border and one space each side of a cell
    for index, column in enumerate(columns):
        needed += longest[index] if column in no_wrap else min(longest[index], MIN_WRAPPED_WIDTH)
    body: RenderableType
    if wide or needed <= width:
        body = _grid(columns, cells, no_wrap, longest, wide=wide)
    else:
        body = records(columns, cells, width=width)
    return body if title is None else Group(Text(title), body)


def _grid(
    columns: Sequence[str], cells: list[list[str]], no_wrap: Sequence[str], longest: list[int], *, wide: bool
) -> Table:
    table = Table(show_lines=False)
    for index, column in enumerate(columns):
        whole = wide or column in no_wrap
        minimum = longest[index] if whole else min(longest[index], MIN_WRAPPED_WIDTH)
        table.add_column(column, overflow="fold", no_wrap=whole, min_width=minimum)
    for row in cells:
        table.add_row(*(Text(cell) for cell in row))
    return table


def records(columns: Sequence[str], cells: Sequence[Sequence[str]], *, width: int) -> Group:
    """One block per row: ``column  value`` lines, a long value folded under itself, no trailing spaces.

    Values are broken at spaces where they can be and inside a word (an id, an S3 key) only where they must,
    so every character is still there to copy.
    """
    label = max(len(column) for column in columns)
    room = max(10, width - label - 2)
    cells = [[printable(cell) for cell in row] for row in cells]
    lines: list[Text] = []
    for number, row in enumerate(cells):
        if number:
            lines.append(Text(""))
        for column, cell in zip(columns, row, strict=True):
            pieces = _fold(cell, room)
            line = Text.assemble((column.ljust(label), "bold"), "  ", pieces[0])
            line.rstrip()
            lines.append(line)
            lines += [Text(" " * (label + 2) + piece) for piece in pieces[1:]]
    return Group(*lines)


def _fold(value: str, room: int) -> list[str]:
    pieces: list[str] = []
    for paragraph in value.splitlines() or [""]:
        wrapped = textwrap.wrap(
            paragraph, room, break_long_words=True, break_on_hyphens=False, drop_whitespace=True
        )
        pieces += wrapped or [""]
    return pieces


def pager_command() -> str | None:
    """``PIPELINE_PAGER``, else ``PAGER``, else ``less`` when installed; no pager for ``cat`` or ''."""
    for variable in ("PIPELINE_PAGER", "PAGER"):
        if variable in os.environ:
            chosen = os.environ[variable].strip()
            return None if chosen in ("", "cat") else chosen
    return "less" if shutil.which("less") else None


def output_width() -> int:
    """Width of output going to a pipe or a file: ``COLUMNS`` if set, else the terminal the operator is
    looking at (stderr's or stdin's, e.g. ``pipeline-ctl errors tail | less``), else ``FALLBACK_WIDTH``."""
    try:
        return max(20, int(os.environ["COLUMNS"]))
    except (KeyError, ValueError):
        pass
    for stream in (sys.__stderr__, sys.__stdin__):
        if stream is None:  # no such stream in this process
            continue
        try:
            return os.get_terminal_size(stream.fileno()).columns
        except (AttributeError, OSError, ValueError):
            continue
    return FALLBACK_WIDTH


def piped_width() -> int:
    """Kept for the demo, which sizes its own console the same way."""
    return output_width()
