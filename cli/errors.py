"""How an expected failure reaches the operator: one ``Error: … (hint)`` line on stderr and an exit code.

The operator library raises :mod:`ops.errors` exceptions that say whose failure it is; botocore raises its
own for the environment (no credentials, no region, an unknown profile, an endpoint that does not answer, AWS
refusing a call). This module is the one place that maps both to what a shell sees:

- exit 2 (:data:`USAGE_EXIT`): bad usage or bad input, the operator can fix the command line or the file;
- exit 1 (:data:`OPERATION_EXIT`): the operation failed;
- anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import typer
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ProfileNotFound,
)

from ops.errors import InvalidInput, OpsError

USAGE_EXIT = 2
OPERATION_EXIT = 1
INTERRUPTED_EXIT = 130
"""128 + SIGINT, what a shell reports for a command stopped by Ctrl-C."""


@dataclass(frozen=True)
class Failure:
    """One expected failure as the operator sees it."""

    message: str
    hint: str | None = None
    exit_code: int = OPERATION_EXIT

    def line(self) -> str:
        return error_line(self.message, self.hint)


class CommandFailed(Exception):
    """Raised by a command whose operation completed but whose result is a failure (exit 1 by default).

    The report itself was already printed; this carries the one summary line for stderr.
    """

    def __init__(self, message: str, *, hint: str | None = None, exit_code: int = OPERATION_EXIT) -> None:
        super().__init__(message)
        self.failure = Failure(message, hint, exit_code)


def error_line(message: str, hint: str | None = None) -> str:
    """``Error: message (hint)`` on one line, newlines in AWS messages folded so it stays one line."""
    text = " ".join(f"Error: {message}".split())
    if hint:
        text += f" ({' '.join(hint.split())})"
    return text


def failure_of(error: BaseException) -> Failure | None:
    """The :class:`Failure` for an expected exception; ``None`` for a bug (which keeps its traceback)."""
    if isinstance(error, CommandFailed):
        return error.failure
    if isinstance(error, OpsError):
        code = USAGE_EXIT if isinstance(error, InvalidInput) else OPERATION_EXIT
        return Failure(error.message, error.hint, code)
    return _from_command_line(error) or _from_botocore(error)


MACHINE_OUTPUT_GUESSES = frozenset({"--output", "-o", "--format", "--out"})
"""Options other CLIs use for machine output (aws ``--output json``, gh ``--json``): we point at --json."""


def _from_command_line(error: BaseException) -> Failure | None:
    """Click's own errors (usage, bad parameter), recognised by their public ``format_message`` and
    ``exit_code``: Typer raises them from the Click it vendors, whose classes are not public."""
    format_message = getattr(error, "format_message", None)
    code = getattr(error, "exit_code", None)
    if not callable(format_message) or not isinstance(code, int):
        return None
    message = str(format_message()).replace("Value error, ", "")  # Typer's coercion prefix
    ctx = getattr(error, "ctx", None)
    if code != USAGE_EXIT:
        return Failure(message, None, code)
    command = ctx.command_path if ctx is not None else "pipeline-ctl"
    if getattr(error, "option_name", None) in MACHINE_OUTPUT_GUESSES:
        return Failure(message, f"machine output is --json, e.g. `{command} --json`", USAGE_EXIT)
    return Failure(message, f"see `{command} --help`", USAGE_EXIT)


def is_help_request(error: BaseException) -> bool:
    """A group run without a command raises a usage error whose message is its help: shown, not an error."""
    ctx = getattr(error, "ctx", None)
    format_message = getattr(error, "format_message", None)
    return ctx is not None and callable(format_message) and format_message() == ctx.get_help()


@contextmanager
def one_line_errors() -> Iterator[None]:
    """Around parsing and running a command: an expected failure becomes one line on stderr and the exit
    code (as :class:`typer.Exit`, which Typer turns into the process's status); a bug propagates."""
    try:
        yield
    except typer.Exit:
        raise
    except (typer.Abort, KeyboardInterrupt):
        raise typer.Exit(INTERRUPTED_EXIT) from None
    except Exception as error:
        if is_help_request(error):  # `pipeline-ctl errors`: its help on stdout, and Click's usage status
            sys.stdout.write(f"{error.format_message()}\n")  # type: ignore[attr-defined]
            raise typer.Exit(USAGE_EXIT) from None
        failure = failure_of(error)
        if failure is None:
            raise
        emit(failure.line())
        raise typer.Exit(failure.exit_code) from None


def terminal_width() -> int:
    """The width of the terminal behind stderr: ``COLUMNS`` when set (as rich and ``shutil`` read it), else
    what the terminal says, else 80 (a terminal that reports no size)."""
    try:
        return max(20, int(os.environ["COLUMNS"]))
    except (KeyError, ValueError):
        pass
    try:
        columns = os.get_terminal_size(sys.stderr.fileno()).columns
    except (OSError, ValueError):
        columns = 0
    return max(20, columns) if columns else 80


def emit(line: str) -> None:
    """One error line on stderr: on a terminal folded at word boundaries to its width (a long path or URL
    stays whole on its own line); piped, exactly one line, for logs and ``grep``."""
    if sys.stderr.isatty():
        folded = textwrap.wrap(line, terminal_width(), break_long_words=False, break_on_hyphens=False)
        line = "\n".join(folded) or line
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _from_botocore(error: BaseException) -> Failure | None:
    if isinstance(error, NoCredentialsError):
        return Failure(
            "no AWS credentials found",
            "set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or pass --profile",
        )
    if isinstance(error, NoRegionError):
        return Failure("no AWS region configured", "pass --region or set AWS_REGION", USAGE_EXIT)
    if isinstance(error, ProfileNotFound):
        return Failure(str(error), "check --profile / AWS_PROFILE against ~/.aws/config", USAGE_EXIT)
    if isinstance(error, EndpointConnectionError):
        return unreachable(str(error.kwargs.get("endpoint_url") or "the endpoint"))
    if isinstance(error, ClientError):
        detail = error.response.get("Error", {})
        code = detail.get("Code", "Unknown")
        message = detail.get("Message", "")
        operation = getattr(error, "operation_name", "call")
        return Failure(f"{operation} failed: {code}: {message}".rstrip(": "))
    if isinstance(error, BotoCoreError):
        return Failure(str(error))
    return None


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def unreachable(endpoint: str) -> Failure:
    """A hint that fits who does not answer: the local stack (stopped?) or AWS (no network?), by name."""
    host = urlsplit(endpoint).hostname or ""
    if host in LOOPBACK_HOSTS:
        return Failure(
            f"the local stack does not answer at {endpoint}",
            "is `pipeline-ctl local up` still running? see `pipeline-ctl local status`",
        )
    return Failure(
        f"cannot reach {endpoint}",
        "no network connection? check it, any proxy (HTTPS_PROXY) and --region",
    )
