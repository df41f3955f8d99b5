"""The three Lambda functions with their roles, log groups, layers, triggers and the Writer's ``live`` alias.

Order matters and is explicit: each log group exists before its function (retention and JSON format are ours,
not Lambda's defaults); each role's policy exists before the function and its event source mapping (AWS checks
the role's SQS permissions when the mapping is created); the S3 notification comes after the
``lambda.Permission`` that lets S3 invoke the Transformer (otherwise S3 answers
"Unable to validate the following destination configurations").
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from functions.model import DATA_SUFFIX, METRICS_NAMESPACE
from infra import spec
from infra.archive import code_archive
from infra.config import StackConfig
from infra.iam import Statement, UnscopedStatement, assume_role_policy, role_with_policy
from infra.layer import build_layer
from infra.naming import function_name, log_group_name

POWERTOOLS_VERSION = "3.37.0"
"""The Powertools release the functions run in Lambda: the one the tests and the local stack run too.

Pinned rather than ``latest``: a new Powertools layer would change every function's configuration, publish a
Writer version and start a canary although our tree did not change."""

POWERTOOLS_LAYER_PARAMETER = (
    f"/aws/service/powertools/python/{spec.LAMBDA_ARCHITECTURE}/{spec.LAMBDA_RUNTIME}/{POWERTOOLS_VERSION}"
)
"""AWS's public SSM parameter holding that release's layer ARN for our runtime and architecture."""

POWERTOOLS_LAYER_PATH = POWERTOOLS_LAYER_PARAMETER.rsplit("/", 1)[0]


def missing_powertools_layer_message(region: str) -> str:
    """What to do when AWS has not published the pinned Powertools layer in ``region`` (one line)."""
    return (
        f"AWS has no SSM parameter {POWERTOOLS_LAYER_PARAMETER} in {region}, so the Powertools layer for "
        f"Powertools {POWERTOOLS_VERSION} cannot be resolved there; set it yourself with `pulumi config set "
        f"{spec.PROJECT}:powertoolsLayerArn arn:aws:lambda:{region}:ACCOUNT:layer:NAME:VERSION` "
        "(docs/deploy.md says how to find it)"
    )


def pick_powertools_layer(names: Sequence[str], values: Sequence[str], region: str) -> str:
    """The pinned parameter's value among those AWS listed under its path, or a ``pulumi.RunError``.

    RunError, not any exception: Pulumi prints its message alone, without a traceback."""
    for name, value in zip(names, values, strict=True):
        if name == POWERTOOLS_LAYER_PARAMETER:
            return value
    raise pulumi.RunError(missing_powertools_layer_message(region))


def powertools_layer_from_ssm(region: str, *, opts: pulumi.InvokeOutputOptions) -> pulumi.Output[str]:
    """The layer ARN from AWS's public, version-pinned SSM parameter.

    Listed by path rather than read by name: GetParameter fails on a missing parameter with the provider's
    own error, while an empty listing lets the program say what to do. Runs at preview, so a region or release
    without the parameter fails ``pulumi preview``, not the deployment."""
    found = aws.ssm.get_parameters_by_path_output(path=POWERTOOLS_LAYER_PATH, recursive=False, opts=opts)
    return pulumi.Output.unsecret(
        pulumi.Output.all(found.names, found.values).apply(
            lambda listed: pick_powertools_layer(listed[0] or [], listed[1] or [], region)
        )
    )


COMPONENT_NAME = "functions"
"""The ``Functions`` component's name in ``__main__.py`` (part of every URN below it)."""
LOGICAL_NAMES = {
    spec.TRANSFORMER.key: "transformer",
    spec.WRITER.key: "writer",
    spec.ERROR_HANDLER.key: "error-handler",
}
"""Each function's ``LambdaFunction`` component name; its log group is ``<name>-logs``."""
PROVIDER_NAME = "aws"
"""The stack's explicit AWS provider's name in ``__main__.py``."""


def log_group_import_command(stack: str, function_key: str) -> str:
    """The ``pulumi import`` adopting a function's log group that already exists in AWS.

    Lambda creates ``/aws/lambda/<function>`` on a function's first log line if it does not exist; after a
    ``pulumi destroy`` (or a failed first deploy) one can outlive the stack and block the next ``pulumi up``
    with ``ResourceAlreadyExistsException``. The import places it where the program declares it: same parent
    component, same explicit provider, so the next ``pulumi up`` only updates its settings."""
    project = spec.PROJECT
    logical = LOGICAL_NAMES[function_key]
    component_types = f"{project}:infra:Functions${project}:infra:LambdaFunction"
    parent = f"urn:pulumi:{stack}::{project}::{component_types}::{logical}"
    provider = f"urn:pulumi:{stack}::{project}::pulumi:providers:aws::{PROVIDER_NAME}"
    physical = log_group_name(function_name(stack, function_key))
    return shlex.join(
        [
            "pulumi", "import", "--stack", stack, "--yes", "--generate-code=false",
            "--parent", f"{logical}={parent}", "--provider", f"{PROVIDER_NAME}={provider}",
            "aws:cloudwatch/logGroup:LogGroup", f"{logical}-logs", physical,
        ]
    )  # fmt: skip


TRANSFORMER_MAX_RETRIES = 2
"""Lambda's async retries for a failed S3 event before the on-failure destination receives it."""

TRACING_MODE = "Active"
LOG_FORMAT = "JSON"
APPLICATION_LOG_LEVEL = "INFO"
SYSTEM_LOG_LEVEL = "INFO"
"""Lambda's own lines: INFO keeps START and REPORT (duration, billed duration, max memory used, init
duration), the only per-invocation record of what an invocation cost; WARN drops them."""
SQS_CONSUMER_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
"""What an SQS event source mapping needs on its queue (the mapping polls with the function's role)."""


@dataclass(frozen=True, kw_only=True)
class FunctionsArgs:
    config: StackConfig
    bucket: aws.s3.Bucket
    writer_queue: aws.sqs.Queue
    dlq: aws.sqs.Queue
    account_table: aws.dynamodb.Table
    log_table: aws.dynamodb.Table
    entry_time_key: aws.kms.Key


@dataclass(frozen=True, kw_only=True)
class LambdaFunctionArgs:
    """One function: its row of ``infra.spec.FUNCTIONS`` plus what only exists at deploy time."""

    config: StackConfig
    row: spec.FunctionSpec
    code: pulumi.Archive
    layers: Sequence[pulumi.Input[str]]
    environment: Mapping[str, pulumi.Input[str]]
    statements: Sequence[Statement | UnscopedStatement]


def function_environment(
    function: spec.FunctionSpec,
    *,
    queue_urls: Mapping[str, pulumi.Input[str]],
    table_names: Mapping[str, pulumi.Input[str]],
    settings: Mapping[str, str],
    key_arns: Mapping[str, pulumi.Input[str]] | None = None,
) -> dict[str, pulumi.Input[str]]:
    """The environment a function's row asks for, each variable resolved from what it names."""
    sources: dict[spec.EnvSource, Mapping[str, pulumi.Input[str]]] = {
        spec.EnvSource.QUEUE_URL: queue_urls,
        spec.EnvSource.TABLE_NAME: table_names,
        spec.EnvSource.SETTING: settings,
        spec.EnvSource.KEY_ARN: key_arns or {},
    }
    environment: dict[str, pulumi.Input[str]] = {}
    for variable in function.environment:
        known = sources[variable.source]
        if variable.target not in known:
            raise KeyError(
                f"{function.key}: {variable.name} names unknown {variable.source} {variable.target!r}"
            )
        environment[variable.name] = known[variable.target]
    return environment


class LambdaFunction(pulumi.ComponentResource):
    """One function with its log group, role and policy: the unit every function here is built from."""

    def __init__(
        self, name: str, args: LambdaFunctionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("serverless-pipeline:infra:LambdaFunction", name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)
        row = args.row
        physical = function_name(config.stack, row.key)

        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=log_group_name(physical),
            retention_in_days=config.log_retention_days,
            opts=child,
        )
        logs = Statement(
            sid="OwnLogGroup",
            actions=("logs:CreateLogStream", "logs:PutLogEvents"),
            resources=[self.log_group.arn.apply(lambda arn: f"{arn}:*")],
        )
        traces = UnscopedStatement(sid="XRay", actions=("xray:PutTraceSegments", "xray:PutTelemetryRecords"))
        self.role, self.policy = role_with_policy(
            name,
            trust=assume_role_policy("lambda.amazonaws.com"),
            statements=[logs, traces, *args.statements],
            opts=child,
        )
        environment: dict[str, pulumi.Input[str]] = {
            **args.environment,
            "POWERTOOLS_SERVICE_NAME": row.service.value,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        }
        self.function = aws.lambda_.Function(
            name,
            name=physical,
            runtime=spec.LAMBDA_RUNTIME,
            architectures=[spec.LAMBDA_ARCHITECTURE],
            handler=row.handler,
            code=args.code,
            layers=list(args.layers),
            role=self.role.arn,
            timeout=row.timeout_seconds,
            memory_size=row.memory_mb,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=environment),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format=LOG_FORMAT,
                log_group=self.log_group.name,
                application_log_level=APPLICATION_LOG_LEVEL,
                system_log_level=SYSTEM_LOG_LEVEL,
            ),
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode=TRACING_MODE),
            publish=row.publish,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.log_group, self.policy]),
        )
        self.register_outputs(
            {"name": self.function.name, "arn": self.function.arn, "log_group": self.log_group.name}
        )


class Functions(pulumi.ComponentResource):
    """Transformer, Writer (published, alias ``live``) and ErrorHandler, wired to S3 and the queues."""

    transformer: LambdaFunction
    writer: LambdaFunction
    error_handler: LambdaFunction
    writer_alias: aws.lambda_.Alias

    def __init__(self, name: str, args: FunctionsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("serverless-pipeline:infra:Functions", name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)

        self.layer = aws.lambda_.LayerVersion(
            f"{name}-deps",
            layer_name=f"{spec.PROJECT}-{config.stack}-deps",
            code=pulumi.FileArchive(str(build_layer())),
            compatible_runtimes=[spec.LAMBDA_RUNTIME],
            compatible_architectures=[spec.LAMBDA_ARCHITECTURE],
            opts=child,
        )
        powertools: pulumi.Input[str]
        if config.powertools_layer_arn:
            powertools = config.powertools_layer_arn
        else:
            powertools = powertools_layer_from_ssm(
                config.region, opts=pulumi.InvokeOutputOptions(parent=self)
            )
        layers = [self.layer.arn, powertools]
        code = code_archive()

        def declare(row: spec.FunctionSpec, statements: list[Statement]) -> LambdaFunction:
            """One of the three functions: what they share here, its own row and grants."""
            return LambdaFunction(
                LOGICAL_NAMES[row.key],
                LambdaFunctionArgs(
                    config=config,
                    row=row,
                    code=code,
                    layers=layers,
                    environment=function_environment(
                        row,
                        queue_urls={"writer_queue": args.writer_queue.url, "dlq": args.dlq.url},
                        table_names={
                            "account_table": args.account_table.name,
                            "log_table": args.log_table.name,
                        },
                        settings={
                            "maxFutureSkewHours": str(config.max_future_skew_hours),
                            "errorRetentionDays": str(config.error_retention_days),
                        },
                        key_arns={spec.ENTRY_TIME_KEY_OUTPUT: args.entry_time_key.arn},
                    ),
                    statements=statements,
                ),
                opts=child,
            )

        uploads = args.bucket.arn.apply(lambda arn: f"{arn}/*")
        self.transformer = declare(
            spec.TRANSFORMER,
            [
                # The exact version the S3 event names (the bucket is versioned).
                Statement(
                    sid="ReadUploads",
                    actions=("s3:GetObject", "s3:GetObjectVersion"),
                    resources=[uploads],
                ),
                # Without ListBucket, S3 answers a missing object with 403 instead of 404, and the
                # "object deleted before it was read" path could never run.
                Statement(sid="SeeMissingUploads", actions=("s3:ListBucket",), resources=[args.bucket.arn]),
                # SendMessageBatch is authorised by sqs:SendMessage.
                Statement(sid="SendRecords", actions=("sqs:SendMessage",), resources=[args.writer_queue.arn]),
                # The on-failure destination is invoked with the function's role.
                Statement(sid="OnFailureDestination", actions=("sqs:SendMessage",), resources=[args.dlq.arn]),
                # A replay's entry time is believed only when its MAC verifies (functions.entry_time).
                Statement(
                    sid="VerifyEntryTime", actions=("kms:VerifyMac",), resources=[args.entry_time_key.arn]
                ),
            ],
        )
        self.writer = declare(
            spec.WRITER,
            [
                Statement(
                    sid="WriteAccounts", actions=("dynamodb:PutItem",), resources=[args.account_table.arn]
                ),
                Statement(
                    sid="ConsumeWriterQueue",
                    actions=SQS_CONSUMER_ACTIONS,
                    resources=[args.writer_queue.arn],
                ),
                # Invalid records go to the DLQ as their own messages.
                Statement(sid="RejectInvalid", actions=("sqs:SendMessage",), resources=[args.dlq.arn]),
                # Unfinished work goes back to WriterQueue as a continuation when the deadline nears.
                Statement(
                    sid="ContinueUnfinished", actions=("sqs:SendMessage",), resources=[args.writer_queue.arn]
                ),
            ],
        )
        self.error_handler = declare(
            spec.ERROR_HANDLER,
            [
                Statement(sid="WriteErrors", actions=("dynamodb:PutItem",), resources=[args.log_table.arn]),
                Statement(sid="ConsumeDlq", actions=SQS_CONSUMER_ACTIONS, resources=[args.dlq.arn]),
            ],
        )

        # CodeDeploy owns the alias after creation: Pulumi sets it once, then never fights a canary over it.
        self.writer_alias = aws.lambda_.Alias(
            f"{name}-writer-live",
            name=spec.WRITER_ALIAS,
            function_name=self.writer.function.name,
            function_version=self.writer.function.version,
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["functionVersion", "routingConfig"]),
        )

        batching_window = 1 if config.writer_batch_size > 10 else None  # AWS requires a window above 10
        self.writer_mapping = aws.lambda_.EventSourceMapping(
            f"{name}-writer-queue-to-live",
            event_source_arn=args.writer_queue.arn,
            function_name=self.writer_alias.arn,
            batch_size=config.writer_batch_size,
            maximum_batching_window_in_seconds=batching_window,
            function_response_types=["ReportBatchItemFailures"],
            # Not reserved concurrency: throttled invocations would return messages to the queue and, with
            # maxReceiveCount 1, send unprocessed records to the DLQ. The mapping's cap just polls less.
            scaling_config={"maximum_concurrency": config.writer_max_concurrency},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.writer.policy]),
        )
        self.dlq_mapping = aws.lambda_.EventSourceMapping(
            f"{name}-dlq-to-error-handler",
            event_source_arn=args.dlq.arn,
            function_name=self.error_handler.function.arn,
            batch_size=spec.DEFAULT_ERROR_HANDLER_BATCH_SIZE,
            function_response_types=["ReportBatchItemFailures"],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.error_handler.policy]),
        )

        # A file that fails every retry lands in the DLQ as Lambda's invocation record: logged, not lost.
        self.transformer_failures = aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-transformer-on-failure",
            function_name=self.transformer.function.name,
            maximum_retry_attempts=TRANSFORMER_MAX_RETRIES,
            destination_config={"on_failure": {"destination": args.dlq.arn}},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.transformer.policy]),
        )

        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        self.s3_permission = aws.lambda_.Permission(
            f"{name}-s3-invokes-transformer",
            action="lambda:InvokeFunction",
            function=self.transformer.function.name,
            principal="s3.amazonaws.com",
            source_arn=args.bucket.arn,
            # Bucket ARNs carry no account: pin it so a same-named bucket elsewhere cannot invoke us.
            source_account=account,
            opts=child,
        )
        self.notification = aws.s3.BucketNotification(
            f"{name}-uploads-to-transformer",
            bucket=args.bucket.id,
            lambda_functions=[
                {
                    "lambda_function_arn": self.transformer.function.arn,
                    "events": ["s3:ObjectCreated:*"],
                    "filter_suffix": DATA_SUFFIX,
                }
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.s3_permission]),
        )

        self.register_outputs(
            {
                "transformer_function": self.transformer.function.name,
                "writer_function": self.writer.function.name,
                "writer_version": self.writer.function.version,
                "writer_alias_arn": self.writer_alias.arn,
                "error_handler_function": self.error_handler.function.name,
                "layer_arn": self.layer.arn,
            }
        )
