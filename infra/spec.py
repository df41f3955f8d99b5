"""Plain facts about the stack, shared by the Pulumi components, the local stack and pipeline-ctl.

This module must not import Pulumi: the local stack (moto) and the CLI read it too, so that queue
attributes, table keys and names are written down once and cannot drift between AWS and the laptop.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

PROJECT = "serverless-pipeline"
"""Project name: Pulumi config namespace, tag value, SSM prefix."""

# --- Limits AWS imposes -------------------------------------------------------------------------------

# MAX_MESSAGE_BYTES: SQS maximum message size (256 KiB). WriterQueue is created with it, so every body fits in
# one LogTable item. SQS_BATCH_MAX_ENTRIES: SendMessageBatch / DeleteMessageBatch take at most 10 entries.
# Both live in functions/model.py (the Lambda zip holds functions/ alone, without infra): one source.
# DATA_SUFFIX: only keys with this (case-sensitive, as S3 filters are) suffix are transformed.
from functions.model import (  # noqa: E402, F401 (re-exported)
    DATA_SUFFIX,
    MAX_MESSAGE_BYTES,
    SQS_BATCH_MAX_ENTRIES,
)

# --- Function settings ----------------------------------------------------------------------------------

LAMBDA_RUNTIME = "python3.13"
LAMBDA_ARCHITECTURE = "arm64"
TRANSFORMER_TIMEOUT_SECONDS = 300
WRITER_TIMEOUT_SECONDS = 30
ERROR_HANDLER_TIMEOUT_SECONDS = 30
TRANSFORMER_MEMORY_MB = 512
WRITER_MEMORY_MB = 256
ERROR_HANDLER_MEMORY_MB = 256

WRITER_ALIAS = "live"
"""The alias the WriterQueue mapping invokes and CodeDeploy shifts traffic on."""

# --- Queues ---------------------------------------------------------------------------------------------

DEFAULT_MAX_RECEIVE_COUNT = 1
"""Product rule: whatever fails after one attempt goes to the DLQ."""

WRITER_QUEUE_VISIBILITY_TIMEOUT_SECONDS = 6 * WRITER_TIMEOUT_SECONDS
"""AWS recommends >= 6x the consumer's timeout so a throttled or retried batch is not redelivered early."""

WRITER_QUEUE_RETENTION_SECONDS = 4 * 24 * 3600
DLQ_RETENTION_SECONDS = 14 * 24 * 3600
"""The maximum SQS allows: operators get two weeks to replay what the error handler could not store."""

DLQ_VISIBILITY_TIMEOUT_SECONDS = 6 * ERROR_HANDLER_TIMEOUT_SECONDS

DEFAULT_WRITER_BATCH_SIZE = 10
DEFAULT_WRITER_MAX_CONCURRENCY = 5
DEFAULT_ERROR_HANDLER_BATCH_SIZE = 10


def redrive_policy(dlq_arn: str, max_receive_count: int = DEFAULT_MAX_RECEIVE_COUNT) -> str:
    """The WriterQueue's RedrivePolicy attribute, as SQS wants it: a JSON string."""
    return json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": int(max_receive_count)})


def redrive_allow_policy(source_queue_arn: str) -> str:
    """The DLQ's RedriveAllowPolicy: only WriterQueue may use it as a dead-letter queue."""
    return json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [source_queue_arn]})


def writer_queue_attributes(
    dlq_arn: str, max_receive_count: int = DEFAULT_MAX_RECEIVE_COUNT
) -> dict[str, str]:
    """WriterQueue attributes in SQS API form (CreateQueue ``Attributes``)."""
    return {
        "VisibilityTimeout": str(WRITER_QUEUE_VISIBILITY_TIMEOUT_SECONDS),
        "MessageRetentionPeriod": str(WRITER_QUEUE_RETENTION_SECONDS),
        "MaximumMessageSize": str(MAX_MESSAGE_BYTES),
        "SqsManagedSseEnabled": "true",
        "RedrivePolicy": redrive_policy(dlq_arn, max_receive_count),
    }


def dlq_attributes() -> dict[str, str]:
    """DeadLetterQueue attributes in SQS API form (its redrive-allow policy needs WriterQueue's ARN first)."""
    return {
        "VisibilityTimeout": str(DLQ_VISIBILITY_TIMEOUT_SECONDS),
        "MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS),
        "MaximumMessageSize": str(MAX_MESSAGE_BYTES),
        "SqsManagedSseEnabled": "true",
    }


# --- Tables ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class IndexSpec:
    name: str
    hash_key: str
    range_key: str | None = None


@dataclass(frozen=True, kw_only=True)
class TableSpec:
    """One DynamoDB table's keys; both Pulumi and the local stack build their definitions from it."""

    hash_key: str
    range_key: str | None = None
    indexes: tuple[IndexSpec, ...] = field(default_factory=tuple)
    ttl_attribute: str | None = None
    point_in_time_recovery: bool = False

    def key_attributes(self) -> list[str]:
        """Every attribute that appears in a key of the table or one of its indexes (all strings here)."""
        names = [self.hash_key, self.range_key]
        for index in self.indexes:
            names += [index.hash_key, index.range_key]
        seen: dict[str, None] = {}
        for name in names:
            if name:
                seen.setdefault(name, None)
        return list(seen)


ACCOUNT_TABLE = TableSpec(hash_key="account_id", point_in_time_recovery=True)

LOG_TABLE_DAY_INDEX = "by_day"
LOG_TABLE = TableSpec(
    hash_key="error_id",
    indexes=(IndexSpec(name=LOG_TABLE_DAY_INDEX, hash_key="day", range_key="failed_at"),),
    ttl_attribute="ttl",
)

from functions.model import DEFAULT_LOG_RETENTION_DAYS  # noqa: E402, F401 (re-exported; the error handler reads it)


def create_table_kwargs(spec: TableSpec, table_name: str) -> dict[str, Any]:
    """boto3 ``create_table`` arguments for a table spec (on-demand billing, as in AWS)."""
    key_schema = [{"AttributeName": spec.hash_key, "KeyType": "HASH"}]
    if spec.range_key:
        key_schema.append({"AttributeName": spec.range_key, "KeyType": "RANGE"})
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": "S"} for name in spec.key_attributes()
        ],
        "KeySchema": key_schema,
    }
    if spec.indexes:
        kwargs["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": [{"AttributeName": index.hash_key, "KeyType": "HASH"}]
                + ([{"AttributeName": index.range_key, "KeyType": "RANGE"}] if index.range_key else []),
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in spec.indexes
        ]
    return kwargs


# --- Stack outputs (DESIGN.md section 6) ----------------------------------------------------------------

OUTPUT_KEYS: tuple[str, ...] = (
    "stack",
    "region",
    "api_url",
    "api_auth",
    "data_bucket",
    "writer_queue_url",
    "dlq_url",
    "account_table",
    "log_table",
    "transformer_function",
    "writer_function",
    "error_handler_function",
    "dashboard_name",
)
"""Keys every producer writes; the local stack adds ``endpoint_url``."""

LOCAL_STACK = "local"
LOCAL_OUTPUTS_PATH = ".pipeline/local.json"
"""Where the local stack writes the outputs document, relative to the working directory."""


def outputs_parameter_name(stack: str) -> str:
    """The SSM parameter that holds a deployed stack's outputs document."""
    return f"/{PROJECT}/{stack}/outputs"


def resource_names(stack: str) -> dict[str, str]:
    """Physical names for the local stack (Pulumi derives its own, auto-suffixed, from the same stems)."""
    prefix = f"{PROJECT}-{stack}"
    return {
        "data_bucket": f"{prefix}-data",
        "writer_queue": f"{prefix}-writer-queue",
        "dlq": f"{prefix}-dlq",
        "account_table": f"{prefix}-accounts",
        "log_table": f"{prefix}-errors",
        "transformer_function": f"{prefix}-transformer",
        "writer_function": f"{prefix}-writer",
        "error_handler_function": f"{prefix}-error-handler",
        "dashboard_name": f"{prefix}",
    }


# --- Release (CodeDeploy) and monitoring names ----------------------------------------------------------

DEFAULT_DEPLOYMENT_PREFERENCE = "Canary10Percent5Minutes"


def codedeploy_names(stack: str) -> dict[str, str]:
    """CodeDeploy application and deployment group of the Writer: explicit names, so the CLI can find them."""
    return {
        "application": f"{PROJECT}-{stack}-writer",
        "deployment_group": f"{PROJECT}-{stack}-writer-{WRITER_ALIAS}",
    }


def alarm_prefix(stack: str) -> str:
    """Every alarm of a stack is named with this prefix (``pipeline-ctl status`` lists them by it)."""
    return f"{PROJECT}-{stack}-"
