"""Expected failures of ``pipeline-ctl`` and how they reach the operator.

An operator who mistypes a file name or forgot to start the local stack should read one line that says what
is wrong and how to fix it, never a traceback. Library code raises :class:`CliError` subclasses; the app's
group (``cli.app.PipelineGroup``) turns them, botocore's usual failures and Click's usage errors into that
one line (``Error: … (hint)``) on stderr with a meaningful exit code: 2 when the input or the usage is
wrong, 1 when the operation itself failed. Unexpected exceptions are left alone: they are bugs, and a
traceback is what a bug report needs.
"""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ProfileNotFound,
)

USAGE_EXIT = 2
"""Bad usage or bad input: the operator can fix the command line or the file."""

OPERATION_EXIT = 1
"""The operation failed (unreachable endpoint, AWS error, records rejected)."""

INTERRUPTED_EXIT = 130
"""Ctrl-C (128 + SIGINT), as shells report it; the command says what was done before it stopped."""


class CliError(Exception):
    """An expected failure: ``str()`` is the message, ``hint`` how to fix it, ``exit_code`` 1 or 2."""

    exit_code = OPERATION_EXIT

    def __init__(self, message: str, exit_code: int | None = None, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def line(self) -> str:
        """The one line printed on stderr."""
        return error_line(self.message, self.hint)


class UsageError(CliError):
    """Bad usage or bad input (exit 2): a missing file, invalid JSON, an option that does not apply."""

    exit_code = USAGE_EXIT


class OperationError(CliError):
    """The operation failed (exit 1): the stack is missing or unreachable, AWS said no, a wait timed out."""

    exit_code = OPERATION_EXIT


def error_line(message: str, hint: str | None = None) -> str:
    """``Error: message (hint)`` on one line, newlines in AWS messages folded so it stays one line."""
    text = " ".join(f"Error: {message}".split())
    if hint:
        text += f" ({' '.join(hint.split())})"
    return text


def from_botocore(error: BaseException) -> CliError | None:
    """Translate the botocore failures an operator can expect into a :class:`CliError`; ``None`` for others.

    These are the failures of the environment, not of our code: no credentials, no region, an unknown
    profile, an endpoint that does not answer (often a local stack that was stopped) and AWS refusing a call.
    """
    if isinstance(error, NoCredentialsError):
        return OperationError(
            "no AWS credentials found",
            hint="set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or pass --profile",
        )
    if isinstance(error, NoRegionError):
        return UsageError("no AWS region configured", hint="pass --region or set AWS_REGION")
    if isinstance(error, ProfileNotFound):
        return UsageError(str(error), hint="check --profile / AWS_PROFILE against ~/.aws/config")
    if isinstance(error, EndpointConnectionError):
        return OperationError(
            f"cannot reach {error.kwargs.get('endpoint_url', 'the endpoint')}",
            hint="is the stack running? for the local stack: `pipeline-ctl local up`",
        )
    if isinstance(error, ClientError):
        detail = error.response.get("Error", {})
        code = detail.get("Code", "Unknown")
        message = detail.get("Message", "")
        operation = getattr(error, "operation_name", "call")
        return OperationError(f"{operation} failed: {code}: {message}".rstrip(": "))
    if isinstance(error, BotoCoreError):
        return OperationError(str(error))
    return None
