"""The operator library's expected failures: what went wrong, from whose side, and how to fix it.

Every function in ``ops`` raises one of these when a failure is expected (a bad file, a stack that is not
there, an error id that does not exist, AWS refusing a step of the operation) and lets everything else
propagate: an unexpected exception is a bug, and its traceback is what a bug report needs. The classes say
*whose* failure it is, never how to report it: a script or a test catches them like any exception, and the
CLI (``cli/errors.py``) alone turns them into an exit code and one line on stderr.

- :class:`InvalidInput`: the caller's input is wrong (a file that is not JSON, an option out of range); the
  caller can fix it and try again.
- :class:`OperationError`: the input was fine but the operation failed (the stack is unreachable, a wait
  timed out, AWS said no to a step).
- :class:`NotFound`: an operation failed because the thing it was pointed at does not exist (a stack, a
  LogTable item, an object).

botocore's own failures (no credentials, no region, an unreachable endpoint, a ``ClientError``) are not
wrapped here: they already carry their meaning, and wrapping each call would hide the operation's name.
"""

from __future__ import annotations


class OpsError(Exception):
    """An expected failure of an operator-library call: ``message`` says what, ``hint`` how to fix it."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class InvalidInput(OpsError):
    """The caller's input is wrong: a missing or unreadable file, invalid JSON, an unknown option value."""


class OperationError(OpsError):
    """The operation failed although the input was valid: unreachable stack, AWS refusal, a timeout."""


class NotFound(OperationError):
    """What the operation was pointed at does not exist: a stack, a LogTable item, an S3 object."""
