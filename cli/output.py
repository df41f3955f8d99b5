"""Where ``pipeline-ctl`` writes: human output with rich on stdout, machine output as JSON, errors on stderr.

One :class:`Output` per invocation, created when the command runs (not at import) so that it binds to the
streams of that moment: a test runner's captured stdout, a pipe, a terminal. Colour, progress bars and
live redraws only happen on a terminal; piped output is plain text a script can read, and ``--json`` gives
exactly one JSON document (or JSON Lines for streams such as ``errors tail --follow``).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Sequence
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

PIPED_WIDTH = 160
"""Width of human output when it is not a terminal: wide enough that tables in logs are not cut at 80."""


def json_default(value: Any) -> Any:
    """JSON for what boto3 and our reports hand back: DynamoDB ``Decimal`` numbers, datetimes, sets."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime | date):
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
    """Human (rich) or machine (``--json``) output for one invocation."""

    def __init__(self, *, json_mode: bool = False) -> None:
        self.json_mode = json_mode
        stdout_tty = sys.stdout.isatty()
        self.console = Console(
            file=sys.stdout,
            highlight=False,
            soft_wrap=False,
            width=None if stdout_tty else piped_width(),
            no_color=not stdout_tty or "NO_COLOR" in os.environ,
        )
        self.err_console = Console(file=sys.stderr, highlight=False, soft_wrap=True, no_color=True)

    @property
    def interactive(self) -> bool:
        """True when live widgets (progress bars) make sense: human mode on a terminal."""
        return not self.json_mode and self.console.is_terminal

    def print(self, *objects: Any) -> None:
        self.console.print(*objects)

    def json(self, document: Any) -> None:
        """One JSON document, indented: what ``--json`` prints for a non-streaming command."""
        sys.stdout.write(dumps(document, indent=2) + "\n")
        sys.stdout.flush()

    def json_line(self, document: Any) -> None:
        """One JSON Lines record, flushed at once so ``| jq`` sees streamed items as they come."""
        sys.stdout.write(dumps(document) + "\n")
        sys.stdout.flush()

    def error(self, line: str) -> None:
        self.err_console.print(line, markup=False)

    def table(
        self,
        title: str | None,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        no_wrap: Sequence[str] = (),
    ) -> RenderableType:
        """A table whose long cells fold, except the ``no_wrap`` columns (ids, timestamps: copied whole).

        The title is a plain line above the table rather than rich's table title, which is padded to the
        table's width with trailing spaces that end up in logs and pasted transcripts.
        """
        cells = [["" if cell is None else str(cell) for cell in row] for row in rows]
        table = Table(show_lines=False)
        for index, column in enumerate(columns):
            whole = column in no_wrap
            width = max([len(column)] + [len(row[index]) for row in cells]) if whole else None
            table.add_column(column, overflow="fold", no_wrap=whole, min_width=width)
        for row in cells:
            table.add_row(*row)
        return table if title is None else Group(Text(title), table)

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


def piped_width() -> int:
    """Width of output going to a pipe or a file: COLUMNS if set, else PIPED_WIDTH (rich alone would use 80
    and fold ids and reasons in logs and CI output)."""
    try:
        return int(os.environ.get("COLUMNS", PIPED_WIDTH))
    except ValueError:
        return PIPED_WIDTH
