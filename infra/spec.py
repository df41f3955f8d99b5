"""The one table of facts about the stack, read by the Pulumi components, the local stack and pipeline-ctl.

It sits below all three (docs/design.md, "Layers"): a fact two of them need (a queue's timeout, a table's
keys, a port, how long a release may take, the release step's command line) is written here once, in plain
Python values, and each reader turns it into its own form (Pulumi arguments, boto3 calls, argv). It imports
no Pulumi and no boto3. Limits the handlers need live one layer lower, in ``functions.model`` (the Lambda
zip holds ``functions/`` alone); import them from there.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NoReturn

from functions.model import MAX_MESSAGE_BYTES, VERSION_DIMENSION, Service

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
    KEY_ARN = "key_arn"
    """The ARN of the KMS key named by ``EnvVar.target`` (``entry_time_key``)."""


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
        # Verifies the MAC beside a replay's pipeline-entered-at metadata (functions.entry_time).
        EnvVar(name="ENTRY_TIME_KEY_ID", source=EnvSource.KEY_ARN, target="entry_time_key"),
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


@dataclass(frozen=True, kw_only=True)
class QueueSpec:
    """One SQS queue's settings. Both queues are encrypted with SQS-managed keys and take the largest
    message SQS allows (``MAX_MESSAGE_BYTES``), so every body fits in one LogTable item."""

    visibility_timeout_seconds: int
    retention_seconds: int
    max_message_bytes: int = MAX_MESSAGE_BYTES
    sqs_managed_sse: bool = True


WRITER_QUEUE = QueueSpec(
    # AWS recommends >= 6x the consumer's timeout so a throttled or retried batch is not redelivered early.
    visibility_timeout_seconds=6 * WRITER_TIMEOUT_SECONDS,
    retention_seconds=4 * 24 * 3600,
)
"""WriterQueue; it redrives to the DLQ after ``maxReceiveCount`` receives (default
``DEFAULT_MAX_RECEIVE_COUNT``), and only WriterQueue may use the DLQ as its dead-letter queue."""
DLQ = QueueSpec(
    visibility_timeout_seconds=6 * ERROR_HANDLER_TIMEOUT_SECONDS,
    # The maximum SQS allows: operators get two weeks to replay what the error handler could not store.
    retention_seconds=14 * 24 * 3600,
)

DEFAULT_WRITER_BATCH_SIZE = 1
"""WriterQueue messages per Writer invocation. One message is one full envelope (a queue message's worth of
records), and the rule is that a full batch takes at most half the time the deadline leaves for writing, at
the slowest rate the Writer meets under the default configuration: the local stack's emulator. Ten
envelopes took the Writer past its timeout there (the rest then went to the DLQ, now to continuations); one
stays well inside it, and costs nothing on AWS, where a single envelope keeps the Writer's connections busy.
The rule and its figures: docs/benchmarks.md, "Sizing a Writer batch"."""
DEFAULT_WRITER_MAX_CONCURRENCY = 5
DEFAULT_ERROR_HANDLER_BATCH_SIZE = 10


# --- Tables ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class IndexSpec:
    name: str
    hash_key: str
    range_key: str | None = None


@dataclass(frozen=True, kw_only=True)
class TableSpec:
    """One DynamoDB table: on-demand billing, every key attribute a string, every index projecting all
    attributes."""

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

# An account's failures, newest first, in one query (``pipeline-ctl account show``). Sparse: only items of a
# single-record failure whose record named an account id carry ``account_id``.
LOG_TABLE_ACCOUNT_INDEX = "by_account"
LOG_TABLE_ACCOUNT_INDEX_SPEC = IndexSpec(
    name=LOG_TABLE_ACCOUNT_INDEX, hash_key="account_id", range_key="failed_at"
)

LOG_TABLE = TableSpec(
    hash_key="error_id",
    indexes=(
        IndexSpec(name=LOG_TABLE_DAY_INDEX, hash_key="day", range_key="failed_at"),
        LOG_TABLE_ACCOUNT_INDEX_SPEC,
    ),
    ttl_attribute="ttl",
)

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
"""Keys every producer writes and every reader requires; the local stack adds ``endpoint_url``."""
ENTRY_TIME_KEY_OUTPUT = "entry_time_key"
"""The outputs key holding the ARN of the KMS HMAC key that signs a replay's entry time (the operator's
replay signs with it, the Transformer verifies with it: functions.entry_time)."""
OPTIONAL_OUTPUT_KEYS: tuple[str, ...] = ("alarm_topic_arn", ENTRY_TIME_KEY_OUTPUT)
"""Keys the program writes that a reader must not require: a document written before they existed lacks
them until the stack's next ``pulumi up`` (the one command that needs ``entry_time_key``, a re-drive, says
so: ``ops.replay``)."""
ENTRY_TIME_KEY_SPEC = "HMAC_256"
ENTRY_TIME_KEY_USAGE = "GENERATE_VERIFY_MAC"

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


_CANARY = re.compile(r"Canary\d+Percent(\d+)Minutes$")
_LINEAR = re.compile(r"Linear(\d+)PercentEvery(\d+)Minutes?$")


def deployment_minutes(deployment_config_name: str) -> int:
    """How long a predefined Lambda deployment configuration shifts traffic for, in minutes.

    ``Canary10Percent5Minutes``: 10 % for 5 minutes, then the rest. ``Linear10PercentEvery2Minutes``: 10 more
    percent every 2 minutes, so 9 intervals before 100 %. ``AllAtOnce``: no wait."""
    if canary := _CANARY.search(deployment_config_name):
        return int(canary.group(1))
    if linear := _LINEAR.search(deployment_config_name):
        steps = -(-100 // int(linear.group(1)))  # ceil(100 / percent)
        return (steps - 1) * int(linear.group(2))
    if deployment_config_name.endswith("AllAtOnce"):
        return 0
    raise ValueError(f"unknown Lambda deployment configuration {deployment_config_name!r}")


RELEASE_POLL_SECONDS = 10.0
"""How often the release step asks CodeDeploy how its deployment is doing."""
RELEASE_WAIT_MARGIN_SECONDS = 600.0
"""Added to a deployment configuration's own duration: CodeDeploy's start-up, alarm checks, final shift."""


def release_wait_seconds(deployment_config_name: str) -> float:
    """How long the release step waits for a deployment: the configuration's duration plus the margin.

    This is the step's only time limit: pulumi-command runs the command under the provider's request
    context, which carries no deadline from Pulumi's ``customTimeouts`` (docs/deploy.md)."""
    return deployment_minutes(deployment_config_name) * 60.0 + RELEASE_WAIT_MARGIN_SECONDS


# --- AWS access and the release step's command line ------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AssumeRole:
    """One role of a stack's role chain (``aws:assumeRoles``), assumed in order by the AWS provider and
    by the release step."""

    role_arn: str
    session_name: str | None = None
    external_id: str | None = None

    def to_json(self) -> str:
        """The role as ``aws:assumeRoles`` writes one entry. JSON, not a separator-joined string: STS allows
        ``,`` ``=`` ``:`` and ``/`` in external ids and session names."""
        entry = {"roleArn": self.role_arn, "sessionName": self.session_name, "externalId": self.external_id}
        return json.dumps({key: value for key, value in entry.items() if value is not None}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> AssumeRole:
        try:
            entry = json.loads(text)
        except ValueError:
            raise ValueError(f"not a JSON object: {text!r}") from None
        keys = {"roleArn": "role_arn", "sessionName": "session_name", "externalId": "external_id"}
        if not isinstance(entry, dict) or not isinstance(entry.get("roleArn"), str):
            raise ValueError(f"expected an object with roleArn, got {text!r}")
        unknown = sorted(set(entry) - set(keys))
        if unknown:
            raise ValueError(f"unknown key(s) {', '.join(unknown)} in {text!r} (known: {', '.join(keys)})")
        return cls(**{keys[key]: str(value) for key, value in entry.items()})


RELEASE_STEP_MODULE = "ops.release_step"
"""What the Pulumi program's release step runs (``python -m ops.release_step ...``); ``infra/`` only names
it, the operator library implements it."""


class _RaisingParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ValueError(message)


@dataclass(frozen=True, kw_only=True)
class ReleaseStep:
    """The release step's command line, written by the Pulumi program and read by the step (and by the
    local stack, which checks the command the program declares without running it)."""

    region: str
    application: str
    deployment_group: str
    function_name: str
    alias: str
    target_version: str
    timeout_seconds: float
    poll_seconds: float = RELEASE_POLL_SECONDS
    profile: str | None = None
    assume_roles: tuple[AssumeRole, ...] = ()
    endpoint_url: str | None = None

    def argv(self) -> list[str]:
        """Options only: no path, so the command is the same from every checkout."""
        argv = ["--region", self.region]
        if self.profile:
            argv += ["--profile", self.profile]
        for role in self.assume_roles:
            argv += ["--assume-role", role.to_json()]
        if self.endpoint_url:
            argv += ["--endpoint-url", self.endpoint_url]
        argv += [
            "--application", self.application,
            "--deployment-group", self.deployment_group,
            "--function", self.function_name,
            "--alias", self.alias,
            "--target-version", self.target_version,
            "--timeout", f"{self.timeout_seconds:g}",
            "--poll", f"{self.poll_seconds:g}",
        ]  # fmt: skip
        return argv

    @classmethod
    def from_argv(cls, argv: Sequence[str]) -> ReleaseStep:
        """Raises ``ValueError`` naming what is wrong (``--help`` prints the usage and exits)."""
        arguments = vars(release_step_parser().parse_args(list(argv)))
        return cls(**{**arguments, "assume_roles": tuple(arguments["assume_roles"])})


def release_step_parser(prog: str = f"python -m {RELEASE_STEP_MODULE}") -> argparse.ArgumentParser:
    """The step's options; a bad command line raises ``ValueError`` instead of exiting."""
    parser = _RaisingParser(
        prog=prog,
        description="Release the Writer through CodeDeploy and wait until the deployment ends "
        "(prints one JSON document; exit 0 when the alias serves the version, 1 when not).",
    )
    parser.add_argument("--region", required=True, help="AWS region")
    parser.add_argument("--profile", help="AWS profile")
    parser.add_argument(
        "--assume-role",
        dest="assume_roles",
        action="append",
        default=[],
        type=AssumeRole.from_json,
        metavar="JSON",
        help='a role to assume, in chain order, as aws:assumeRoles writes one: {"roleArn": ..., '
        '"sessionName": ..., "externalId": ...}',
    )
    parser.add_argument("--endpoint-url", help="AWS endpoint (tests, emulators)")
    parser.add_argument("--application", required=True)
    parser.add_argument("--deployment-group", required=True)
    parser.add_argument("--function", dest="function_name", required=True)
    parser.add_argument("--alias", required=True)
    parser.add_argument("--target-version", required=True)
    parser.add_argument("--timeout", dest="timeout_seconds", type=float, required=True, help="seconds")
    parser.add_argument("--poll", dest="poll_seconds", type=float, default=RELEASE_POLL_SECONDS)
    return parser


# --- The local stack's ports -----------------------------------------------------------------------------

LOCAL_HOST = "127.0.0.1"
"""The local stack never listens on anything but loopback."""
DEFAULT_EMULATOR_PORT = 4580
"""moto (S3, SQS, DynamoDB, SSM, CloudWatch) on 127.0.0.1. Fixed defaults so that
``aws --endpoint-url http://127.0.0.1:4580`` works without looking anything up; they sit next to, not on,
LocalStack's 4566 so that both can run on one machine. 0 means "any free port"."""
DEFAULT_API_PORT = 4581
"""The API Gateway stand-in (``POST /writer``) on 127.0.0.1."""


# --- Per-version alarms: what a release is judged by ------------------------------------------------------

LAMBDA_VERSION_DIMENSION = "ExecutedVersion"
"""Lambda's own metrics of an alias invocation carry the version the alias resolved to under this name."""

VERSION_DIMENSIONS = (VERSION_DIMENSION, LAMBDA_VERSION_DIMENSION)
"""A metric dimension with one of these names pins an alarm to one Writer version. The Pulumi program points
such alarms at the version it publishes; the release step (``ops.release_alarms``) points every one the
deployment group watches at the version it is about to release, before the deployment starts."""
