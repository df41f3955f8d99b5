"""The pipeline's shared vocabulary: outcomes, error types, LogTable statuses, message attributes, metrics.

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
    """A record failed the contract (functions.contract)."""
    MALFORMED_MESSAGE = "MalformedMessage"
    """A WriterQueue body that is not JSON, or not one of the three accepted shapes."""
    UNREADABLE_FILE = "UnreadableFile"
    """An S3 object the transformer could not parse (not JSON, not UTF-8...)."""
    RETRIES_EXHAUSTED = "RetriesExhausted"
    """No ``error_type`` attribute: the message reached the DLQ through the queue's redrive."""
    RECORD_TOO_LARGE = "RecordTooLarge"
    """One record of an S3 object is larger than a queue message: it stays in S3, named in ``source``."""
    DEADLINE_EXCEEDED = "DeadlineExceeded"
    """The writer ran out of invocation time before finishing a message and could not continue it: handing
    the unfinished records back to WriterQueue failed, or several continuations in a row saw the store
    complete no write. The body holds the unfinished records (written ones become stale on a replay)."""
    OBJECT_VANISHED = "ObjectVanished"
    """The S3 object (or the exact version) of an event was gone or unreadable when the transformer came to
    read it (deleted, overwritten, access denied): its records were never read."""


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
    ENTERED_AT = "entered_at"
    """When the body's records first entered the pipeline (docs/design.md, "Ingestion time and ingestion
    order"); absent: the message's SentTimestamp."""
    INGEST_ID = "ingest_id"
    """What the records entered as (``s3://bucket/key``…); absent: the message id."""
    INGEST_POSITION = "ingest_position"
    """Position in its file of the body's first record (decimal digits); absent: 0."""
    CONTINUATION_STALLS = "continuation_stalls"
    """On a continuation (functions.writer.continuation): how many invocations in a row saw the store
    complete no write; absent on every other message."""


ENTERED_AT_METADATA = "pipeline-entered-at"
"""S3 user metadata (``x-amz-meta-pipeline-entered-at``) a replay sets when it re-drives an object by copying
it onto itself: the transformer takes it as the ingestion time, so the records keep the one they first had,
but only with the pipeline's MAC beside it (:mod:`functions.entry_time`)."""

API_SOURCE = "api"
"""The ``source`` of records that arrived through ``POST /writer``."""

METRICS_NAMESPACE = "ServerlessPipeline"
"""CloudWatch namespace of the handlers' EMF metrics; the Writer's alarms and the dashboard read it."""


class Service(StrEnum):
    """Powertools ``service`` names: the ``service`` dimension of every metric a function emits."""

    TRANSFORMER = "transformer"
    WRITER = "writer"
    ERROR_HANDLER = "error-handler"


VERSION_DIMENSION = "version"
"""The Writer's outcome counts are emitted twice from one EMF document: under ``service`` alone (the whole
function, for the dashboard) and under ``service`` + this dimension, the Lambda version that ran (what a
canary's alarms judge: the new version's own share of invalid records, not an average with the old one)."""


MESSAGES_FAILED_METRIC = "MessagesFailed"
"""Messages a Writer invocation reported in ``batchItemFailures`` (retried, then redriven to the DLQ). Counts
what no record outcome shows: a message whose processing raised an unexpected error has no record counted,
and the invocation still succeeds (no Lambda ``Errors``), so a version failing every message would otherwise
be invisible to its canary."""


def outcome_metric(outcome: Outcome) -> str:
    """Metric name for a per-record outcome count, e.g. ``RecordsWritten``."""
    return f"Records{outcome.value.capitalize()}"


# --- SQS limits the functions pack messages against -----------------------------------------------------
# Defined here, not in infra/spec.py, because functions/ is deployed alone as the Lambda zip and must not
# import infra. This is their only home: the stack, the local stack and pipeline-ctl import them from here.

MAX_MESSAGE_BYTES = 262_144
"""WriterQueue's and the DLQ's maximum message size (256 KiB): body plus attributes, in UTF-8 bytes.

Also the largest ``POST /writer`` body: API Gateway hands the body to SQS ``SendMessage`` unchanged, and
SQS refuses a larger one (an HTTP API has no body-size validation of its own). The API stand-in and the
OpenAPI description use this constant."""

SQS_BATCH_MAX_ENTRIES = 10
"""SendMessageBatch / DeleteMessageBatch take at most 10 entries."""

DEFAULT_LOG_RETENTION_DAYS = 90
"""LogTable items expire (TTL) after this many days unless LOG_RETENTION_DAYS says otherwise."""

DATA_SUFFIX = ".json"
"""Only keys with this (case-sensitive, as S3 filters are) suffix are transformed."""

SQS_BATCH_MAX_BYTES = 1_048_576
"""SendMessageBatch: the sum of the entries' sizes may not exceed 1 MiB (the API's own limit, whatever the
queue's MaximumMessageSize): four full 256 KiB messages per call at most."""

REPLAY_ATTRIBUTES_BUDGET_BYTES = 1024
"""Bytes of message attributes (names, ``String`` types and values, as SQS counts them) a WriterQueue body
must leave free so that the writer can forward it to the DLQ with its verdict, and a replay can re-send it
with ``replay_of``, ``entered_at``, ``ingest_id`` and ``ingest_position``. A body that arrived without
attributes (``POST /writer``) gets them on its first hop; the transformer keeps more than this free in every
envelope."""

MAX_REPLAYABLE_BODY_BYTES = MAX_MESSAGE_BYTES - REPLAY_ATTRIBUTES_BUDGET_BYTES
"""The largest body whose failure verdict and replay attributes still fit one WriterQueue / DLQ message.

Not a limit anything enforces: the API takes bodies up to :data:`MAX_MESSAGE_BYTES`. A failed body larger
than this reaches LogTable through the queue's redrive instead (docs/reliability.md, "Near the size
limit")."""
