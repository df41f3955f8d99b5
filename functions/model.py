"""The pipeline's shared vocabulary: outcomes, error types, LogTable statuses, message attribute names, metrics.

Plain constants and enums only (no boto3, no Powertools) so that the CLI, the local stack and the Pulumi
program's alarms can import them without pulling in Lambda-only dependencies.
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """What the writer did with one record."""

    WRITTEN = "written"
    STALE = "stale"
    INVALID = "invalid"
    FAILED = "failed"


class ErrorType(StrEnum):
    """The ``error_type`` message attribute / LogTable attribute."""

    INVALID_RECORD = "InvalidRecord"
    """A record failed the contract (DESIGN.md section 3)."""
    MALFORMED_MESSAGE = "MalformedMessage"
    """A WriterQueue body that is not JSON, or not one of the three accepted shapes."""
    UNREADABLE_FILE = "UnreadableFile"
    """An S3 object the transformer could not parse (not JSON, not UTF-8...)."""
    RETRIES_EXHAUSTED = "RetriesExhausted"
    """No ``error_type`` attribute: the message reached the DLQ through the queue's redrive."""


class LogStatus(StrEnum):
    """Lifecycle of a LogTable item."""

    NEW = "NEW"
    REPLAYED = "REPLAYED"


class MessageAttribute(StrEnum):
    """SQS message attribute names used on WriterQueue and the DLQ (all String attributes)."""

    ERROR_TYPE = "error_type"
    ERROR_MESSAGE = "error_message"
    SOURCE = "source"
    FAILED_AT = "failed_at"
    ORIGIN_MESSAGE_ID = "origin_message_id"
    REPLAY_OF = "replay_of"
    """Set by ``pipeline-ctl replay-dlq`` on a re-sent body: the LogTable ``error_id`` / DLQ message id."""


API_SOURCE = "api"
"""The ``source`` of records that arrived through ``POST /writer``."""

METRICS_NAMESPACE = "ServerlessPipeline"
"""CloudWatch namespace of the handlers' EMF metrics; the Writer's alarms and the dashboard read it."""


class Service(StrEnum):
    """Powertools ``service`` names: the ``service`` dimension of every metric a function emits."""

    TRANSFORMER = "transformer"
    WRITER = "writer"
    ERROR_HANDLER = "error-handler"


def outcome_metric(outcome: Outcome) -> str:
    """Metric name for a per-record outcome count, e.g. ``RecordsWritten``."""
    return f"Records{outcome.value.capitalize()}"
