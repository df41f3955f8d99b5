"""Named exceptions of the data path: one module, so handlers and tests agree on what each failure means.

Permanent failures (a bad record, a body that is not JSON, a file that cannot be parsed) end in the DLQ and
then LogTable with a precise reason; transient ones (throttling, service errors after the SDK's retries) are
raised so that SQS redelivers or redrives the message. Each exception's ``str()`` is the reason to show.
"""

from __future__ import annotations

from typing import NamedTuple


class PipelineError(Exception):
    """Base of every error the data path raises on purpose."""


class FieldError(NamedTuple):
    """One failing field of a record and why, e.g. ``balance: not a decimal: 'abc'``."""

    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class InvalidRecord(PipelineError):
    """A record failed the contract (functions.contract). Carries every failing field, not only the first."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(error) for error in errors))

    @property
    def fields(self) -> list[str]:
        return [error.field for error in self.errors]


class MalformedMessage(PipelineError):
    """A WriterQueue body that is not JSON, or not one of the three accepted shapes."""


class UnreadableFile(PipelineError):
    """An S3 object (or part of it) that cannot be parsed; the message names the position."""


class TransientWriteError(PipelineError):
    """A write that may succeed later (throttling, 5xx after retries): the SQS message must be retried."""


class SendFailed(PipelineError):
    """SQS kept rejecting some entries of a ``SendMessageBatch`` after the retries; the caller must fail."""


class MissingSetting(PipelineError):
    """A required environment variable is not set; the message names it."""

    def __init__(self, name: str, what: str) -> None:
        super().__init__(f"environment variable {name} is not set: it must hold {what}")
        self.name = name
