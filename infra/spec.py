"""Plain facts about the stack, shared by the Pulumi components, the local stack and pipeline-ctl.

This module must not import Pulumi: the local stack (moto) and the CLI read it too, so that queue
attributes, table keys and names are written down once and cannot drift between AWS and the laptop.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

# Limits and names the handlers need live in functions/model.py (the Lambda zip holds functions/ alone,
# without infra); they are re-exported here for the stack's other readers, so each is written once.
from functions.model import DATA_SUFFIX as DATA_SUFFIX
from functions.model import DEFAULT_LOG_RETENTION_DAYS as DEFAULT_LOG_RETENTION_DAYS
from functions.model import MAX_MESSAGE_BYTES as MAX_MESSAGE_BYTES
from functions.model import SQS_BATCH_MAX_ENTRIES as SQS_BATCH_MAX_ENTRIES
from functions.model import Service

PROJECT = "serverless-pipeline"
"""Project name: Pulumi config namespace, tag value, SSM prefix."""

# --- Function settings ----------------------------------------------------------------------------------

LAMBDA_RUNTIME = "python3.13"
LAMBDA_ARCHITECTURE = "arm64"
TRANSFORMER_TIMEOUT_SECONDS = 300
WRITER_TIMEOUT_SECONDS = 30
ERROR_HANDLER_TIMEOUT_SECONDS = 30
TRANSFORMER_MEMORY_MB = 512
WRITER_MEMORY_MB = 512
"""The writer is CPU-bound below ~512 MB (Lambda's CPU share grows with memory), so its GB-seconds per record
are the same at 256 or 512 MB while 512 MB doubles its speed: a full batch then fits well inside the
deadline (docs/benchmarks.md, "What a writer environment can sustain")."""
ERROR_HANDLER_MEMORY_MB = 256

WRITER_ALIAS = "live"
"""The alias the WriterQueue mapping invokes and CodeDeploy shifts traffic on."""


class EnvSource(StrEnum):
    """What a function's environment variable holds."""

    QUEUE_URL = "queue_url"
    """The URL of the queue named by ``EnvVar.target`` (a ``resource_names`` key)."""
    TABLE_NAME = "table_name"
    """The name of the table named by ``EnvVar.target`` (a ``resource_names`` key)."""
    SETTING = "setting"
    """A stack setting: ``EnvVar.target`` is its key in the ``serverless-pipeline`` config namespace."""


@dataclass(frozen=True, kw_only=True)
class EnvVar:
    name: str
    source: EnvSource
    target: str


@dataclass(frozen=True, kw_only=True)
class FunctionSpec:
    """One Lambda function: the row the Pulumi program builds it from."""

    key: str
    """Its key in ``resource_names`` (its physical name's stem) and in the outputs document."""
    service: Service
    handler: str
    timeout_seconds: int
    memory_mb: int
    environment: tuple[EnvVar, ...]
    """Besides ``POWERTOOLS_SERVICE_NAME``/``POWERTOOLS_METRICS_NAMESPACE``, which every function gets."""
    publish: bool = False
    """Publish a version on every change (the Writer: CodeDeploy shifts ``live`` between versions)."""


MAX_FUTURE_SKEW = EnvVar(name="MAX_FUTURE_SKEW_HOURS", source=EnvSource.SETTING, target="maxFutureSkewHours")

TRANSFORMER = FunctionSpec(
    key="transformer_function",
    service=Service.TRANSFORMER,
    handler="functions.transformer.handler.handler",
    timeout_seconds=TRANSFORMER_TIMEOUT_SECONDS,
    memory_mb=TRANSFORMER_MEMORY_MB,
    environment=(
        EnvVar(name="WRITER_QUEUE_URL", source=EnvSource.QUEUE_URL, target="writer_queue"),
        MAX_FUTURE_SKEW,
    ),
)
WRITER = FunctionSpec(
    key="writer_function",
    service=Service.WRITER,
    handler="functions.writer.handler.handler",
    timeout_seconds=WRITER_TIMEOUT_SECONDS,
    memory_mb=WRITER_MEMORY_MB,
    environment=(
        EnvVar(name="ACCOUNT_TABLE", source=EnvSource.TABLE_NAME, target="account_table"),
        EnvVar(name="DLQ_URL", source=EnvSource.QUEUE_URL, target="dlq"),
        EnvVar(name="WRITER_QUEUE_URL", source=EnvSource.QUEUE_URL, target="writer_queue"),
        MAX_FUTURE_SKEW,
    ),
    publish=True,
)
ERROR_HANDLER = FunctionSpec(
    key="error_handler_function",
    service=Service.ERROR_HANDLER,
    handler="functions.error_handler.handler.handler",
    timeout_seconds=ERROR_HANDLER_TIMEOUT_SECONDS,
    memory_mb=ERROR_HANDLER_MEMORY_MB,
    environment=(
        EnvVar(name="LOG_TABLE", source=EnvSource.TABLE_NAME, target="log_table"),
        EnvVar(name="LOG_RETENTION_DAYS", source=EnvSource.SETTING, target="errorRetentionDays"),
    ),
)
FUNCTIONS: tuple[FunctionSpec, ...] = (TRANSFORMER, WRITER, ERROR_HANDLER)
"""The three functions, in the order the program declares them."""

# --- Queues ---------------------------------------------------------------------------------------------

DEFAULT_MAX_RECEIVE_COUNT = 1
"""Product rule: whatever fails after one attempt goes to the DLQ."""

WRITER_QUEUE_VISIBILITY_TIMEOUT_SECONDS = 6 * WRITER_TIMEOUT_SECONDS
"""AWS recommends >= 6x the consumer's timeout so a throttled or retried batch is not redelivered early."""

WRITER_QUEUE_RETENTION_SECONDS = 4 * 24 * 3600
DLQ_RETENTION_SECONDS = 14 * 24 * 3600
"""The maximum SQS allows: operators get two weeks to replay what the error handler could not store."""

DLQ_VISIBILITY_TIMEOUT_SECONDS = 6 * ERROR_HANDLER_TIMEOUT_SECONDS

DEFAULT_WRITER_BATCH_SIZE = 1
"""WriterQueue messages per Writer invocation. One message is one full envelope (a queue message's worth of
records), and the rule is that a full batch takes at most half the time the deadline leaves for writing, at
the slowest rate the Writer meets under the default configuration: the local stack's emulator. Ten
envelopes took the Writer past its timeout there (the rest then went to the DLQ, now to continuations); one
stays well inside it, and costs nothing on AWS, where a single envelope keeps the Writer's connections busy.
The rule and its figures: docs/benchmarks.md, "Sizing a Writer batch"."""
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

DEFAULT_ERROR_RETENTION_DAYS = DEFAULT_LOG_RETENTION_DAYS
"""Days a LogTable item lives (its TTL): the error handler's ``LOG_RETENTION_DAYS`` default.

Not the CloudWatch log groups' retention, which is ``infra.config.DEFAULT_LOG_GROUP_RETENTION_DAYS``."""


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


# --- Stack outputs (the document pipeline-ctl reads; docs/design.md) ------------------------------------

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
LOCAL_FUNCTION_LOG_PATH = ".pipeline/local-functions.log"
"""Where the local stack writes the functions' output (CloudWatch Logs' stand-in), relative to the working
directory; ``pipeline-ctl logs`` reads it."""


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
