"""The three Lambda functions with their roles, log groups, layers, triggers and the Writer's ``live`` alias.

Order matters and is explicit: each log group exists before its function (retention and JSON format are ours,
not Lambda's defaults); each role's policy exists before the function and its event source mapping (AWS checks
the role's SQS permissions when the mapping is created); the S3 notification comes after the
``lambda.Permission`` that lets S3 invoke the Transformer (otherwise S3 answers
"Unable to validate the following destination configurations").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from functions.model import METRICS_NAMESPACE, Service
from infra import spec
from infra.archive import code_archive
from infra.config import StackConfig
from infra.iam import Statement, UnscopedStatement, assume_role_policy, policy_document
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

TRANSFORMER_MAX_RETRIES = 2
"""Lambda's async retries for a failed S3 event before the on-failure destination receives it."""

TRACING_MODE = "Active"
LOG_FORMAT = "JSON"
APPLICATION_LOG_LEVEL = "INFO"
SYSTEM_LOG_LEVEL = "WARN"
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


@dataclass(frozen=True, kw_only=True)
class LambdaFunctionArgs:
    """One function's settings; ``key`` is its ``infra.spec.resource_names`` key (its physical name)."""

    config: StackConfig
    code: pulumi.Archive
    layers: Sequence[pulumi.Input[str]]
    key: str
    service: Service
    handler: str
    timeout: int
    memory: int
    environment: Mapping[str, pulumi.Input[str]]
    statements: Sequence[Statement | UnscopedStatement]
    publish: bool = False


class LambdaFunction(pulumi.ComponentResource):
    """One function with its log group, role and policy: the unit every function here is built from."""

    def __init__(
        self, name: str, args: LambdaFunctionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("serverless-pipeline:infra:LambdaFunction", name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)
        physical = function_name(config.stack, args.key)

        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=log_group_name(physical),
            retention_in_days=config.log_retention_days,
            opts=child,
        )
        self.role = aws.iam.Role(
            f"{name}-role", assume_role_policy=assume_role_policy("lambda.amazonaws.com"), opts=child
        )
        logs = Statement(
            sid="OwnLogGroup",
            actions=("logs:CreateLogStream", "logs:PutLogEvents"),
            resources=[self.log_group.arn.apply(lambda arn: f"{arn}:*")],
        )
        traces = UnscopedStatement(sid="XRay", actions=("xray:PutTraceSegments", "xray:PutTelemetryRecords"))
        self.policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=self.role.id,
            policy=policy_document([logs, traces, *args.statements]),
            opts=child,
        )
        environment: dict[str, pulumi.Input[str]] = {
            **args.environment,
            "POWERTOOLS_SERVICE_NAME": args.service.value,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        }
        self.function = aws.lambda_.Function(
            name,
            name=physical,
            runtime=spec.LAMBDA_RUNTIME,
            architectures=[spec.LAMBDA_ARCHITECTURE],
            handler=args.handler,
            code=args.code,
            layers=list(args.layers),
            role=self.role.arn,
            timeout=args.timeout,
            memory_size=args.memory,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=environment),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format=LOG_FORMAT,
                log_group=self.log_group.name,
                application_log_level=APPLICATION_LOG_LEVEL,
                system_log_level=SYSTEM_LOG_LEVEL,
            ),
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode=TRACING_MODE),
            publish=args.publish,
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
            powertools = aws.ssm.get_parameter_output(
                name=POWERTOOLS_LAYER_PARAMETER, opts=pulumi.InvokeOutputOptions(parent=self)
            ).value
        layers = [self.layer.arn, powertools]
        code = code_archive()

        self.transformer = LambdaFunction(
            "transformer",
            LambdaFunctionArgs(
                config=config,
                code=code,
                layers=layers,
                key="transformer_function",
                service=Service.TRANSFORMER,
                handler="functions.transformer.handler.handler",
                timeout=spec.TRANSFORMER_TIMEOUT_SECONDS,
                memory=spec.TRANSFORMER_MEMORY_MB,
                environment={"WRITER_QUEUE_URL": args.writer_queue.url},
                statements=[
                    Statement(
                        sid="ReadUploads",
                        actions=("s3:GetObject",),
                        resources=[args.bucket.arn.apply(lambda arn: f"{arn}/*")],
                    ),
                    # SendMessageBatch is authorised by sqs:SendMessage.
                    Statement(
                        sid="SendRecords", actions=("sqs:SendMessage",), resources=[args.writer_queue.arn]
                    ),
                    # The on-failure destination is invoked with the function's role.
                    Statement(
                        sid="OnFailureDestination", actions=("sqs:SendMessage",), resources=[args.dlq.arn]
                    ),
                ],
            ),
            opts=child,
        )
        self.writer = LambdaFunction(
            "writer",
            LambdaFunctionArgs(
                config=config,
                code=code,
                layers=layers,
                key="writer_function",
                service=Service.WRITER,
                handler="functions.writer.handler.handler",
                timeout=spec.WRITER_TIMEOUT_SECONDS,
                memory=spec.WRITER_MEMORY_MB,
                environment={"ACCOUNT_TABLE": args.account_table.name, "DLQ_URL": args.dlq.url},
                statements=[
                    Statement(
                        sid="WriteAccounts", actions=("dynamodb:PutItem",), resources=[args.account_table.arn]
                    ),
                    Statement(
                        sid="ConsumeWriterQueue",
                        actions=SQS_CONSUMER_ACTIONS,
                        resources=[args.writer_queue.arn],
                    ),
                    # Invalid records go to the DLQ as their own messages (DESIGN.md section 4).
                    Statement(sid="RejectInvalid", actions=("sqs:SendMessage",), resources=[args.dlq.arn]),
                ],
                publish=True,  # every code change is a new version for CodeDeploy to shift traffic to
            ),
            opts=child,
        )
        self.error_handler = LambdaFunction(
            "error-handler",
            LambdaFunctionArgs(
                config=config,
                code=code,
                layers=layers,
                key="error_handler_function",
                service=Service.ERROR_HANDLER,
                handler="functions.error_handler.handler.handler",
                timeout=spec.ERROR_HANDLER_TIMEOUT_SECONDS,
                memory=spec.ERROR_HANDLER_MEMORY_MB,
                environment={
                    "LOG_TABLE": args.log_table.name,
                    "LOG_RETENTION_DAYS": str(config.error_retention_days),
                },
                statements=[
                    Statement(
                        sid="WriteErrors", actions=("dynamodb:PutItem",), resources=[args.log_table.arn]
                    ),
                    Statement(sid="ConsumeDlq", actions=SQS_CONSUMER_ACTIONS, resources=[args.dlq.arn]),
                ],
            ),
            opts=child,
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
                    "filter_suffix": spec.DATA_SUFFIX,
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
