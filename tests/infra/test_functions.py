"""The three functions: runtime, code, layers, environment, logs, tracing, roles and triggers."""

from __future__ import annotations

import importlib.metadata
import shlex

import pulumi
import pytest

from functions.model import DATA_SUFFIX, METRICS_NAMESPACE
from infra import layer, spec
from infra.functions import (
    LOGICAL_NAMES,
    POWERTOOLS_LAYER_PARAMETER,
    POWERTOOLS_LAYER_PATH,
    POWERTOOLS_VERSION,
    log_group_import_command,
    missing_powertools_layer_message,
)
from tests.support.infra import POWERTOOLS_ARN, PROJECT_DIR, SSM_PARAMETERS_BY_PATH_TOKEN, Program

KEYS = ("transformer_function", "writer_function", "error_handler_function")
QUEUE = "aws:sqs/queue:Queue"
TABLE = "aws:dynamodb/table:Table"
ESM = "aws:lambda/eventSourceMapping:EventSourceMapping"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


def grants(program: Program, function_key: str) -> set[tuple[str, str]]:
    """Every (action, resource) pair the function's role allows."""
    role = program.role_of_function(program.function(function_key))
    document = program.policy_of_role(role)
    return {
        (action, resource)
        for statement in document["Statement"]
        if statement["Effect"] == "Allow"
        for action in statement["Action"]
        for resource in statement["Resource"]
    }


def own_log_and_trace_grants(program: Program, function_key: str) -> set[tuple[str, str]]:
    log_group = program.one(LOG_GROUP, function_key.removesuffix("_function").replace("_", "-") + "-logs")
    stream = f"{log_group.outputs['arn']}:*"
    return {
        ("logs:CreateLogStream", stream),
        ("logs:PutLogEvents", stream),
        ("xray:PutTraceSegments", "*"),
        ("xray:PutTelemetryRecords", "*"),
    }


def test_python313_on_arm64_with_xray(dev: Program) -> None:
    for key in KEYS:
        function = dev.function(key)
        assert function.inputs["runtime"] == "python3.13", key
        assert function.inputs["architectures"] == ["arm64"], key
        assert function.inputs["tracingConfig"] == {"mode": "Active"}, key


def test_handlers_are_the_packaged_modules(dev: Program) -> None:
    handlers = {key: dev.function(key).inputs["handler"] for key in KEYS}
    assert handlers == {
        "transformer_function": "functions.transformer.handler.handler",
        "writer_function": "functions.writer.handler.handler",
        "error_handler_function": "functions.error_handler.handler.handler",
    }


def test_environment_names_the_stack_resources_and_settings(dev: Program) -> None:
    queues = {q.name: q for q in dev.resources_of_type(QUEUE)}
    writer_queue = next(q for name, q in queues.items() if "writer-queue" in name)
    dlq = next(q for name, q in queues.items() if name.endswith("-dlq"))
    accounts, errors = dev.one(TABLE, "accounts"), dev.one(TABLE, "errors")
    entry_time_key = dev.one("aws:kms/key:Key", "entry-time")

    def env(key: str) -> dict[str, str]:
        variables = dict(dev.function(key).inputs["environment"]["variables"])
        assert variables.pop("POWERTOOLS_METRICS_NAMESPACE") == METRICS_NAMESPACE
        variables.pop("POWERTOOLS_SERVICE_NAME")
        return variables

    assert env("transformer_function") == {
        "WRITER_QUEUE_URL": writer_queue.outputs["url"],
        "MAX_FUTURE_SKEW_HOURS": "24",
        "ENTRY_TIME_KEY_ID": entry_time_key.outputs["arn"],
    }
    assert env("writer_function") == {
        "ACCOUNT_TABLE": accounts.outputs["name"],
        "DLQ_URL": dlq.outputs["url"],
        "WRITER_QUEUE_URL": writer_queue.outputs["url"],
        "MAX_FUTURE_SKEW_HOURS": "24",
    }
    assert env("error_handler_function") == {
        "LOG_TABLE": errors.outputs["name"],
        "LOG_RETENTION_DAYS": dev.config["serverless-pipeline:errorRetentionDays"],
    }


def test_future_skew_comes_from_config(program_runner) -> None:
    program = program_runner("prod", {"maxFutureSkewHours": "6"})
    for key in ("transformer_function", "writer_function"):
        assert program.function(key).inputs["environment"]["variables"]["MAX_FUTURE_SKEW_HOURS"] == "6"


def test_functions_are_built_from_the_spec_table(dev: Program) -> None:
    assert [row.key for row in spec.FUNCTIONS] == list(KEYS)
    for row in spec.FUNCTIONS:
        function = dev.function(row.key)
        variables = set(function.inputs["environment"]["variables"])
        assert function.inputs["handler"] == row.handler
        assert function.inputs["timeout"] == row.timeout_seconds
        assert function.inputs["memorySize"] == row.memory_mb
        assert variables == {env.name for env in row.environment} | {
            "POWERTOOLS_SERVICE_NAME",
            "POWERTOOLS_METRICS_NAMESPACE",
        }


def test_writer_metrics_carry_the_service_dimension_the_alarms_read(dev: Program) -> None:
    variables = dev.function("writer_function").inputs["environment"]["variables"]
    assert variables["POWERTOOLS_SERVICE_NAME"] == "writer"


def test_log_group_exists_first_with_retention_and_json_format(dev: Program) -> None:
    for key in KEYS:
        function = dev.function(key)
        log_group = dev.one(LOG_GROUP, key.removesuffix("_function").replace("_", "-") + "-logs")

        assert log_group.inputs["name"] == f"/aws/lambda/{function.inputs['name']}"
        assert log_group.inputs["retentionInDays"] == int(dev.config["serverless-pipeline:logRetentionDays"])
        assert dev.depends_on(function, log_group), key
        assert function.inputs["loggingConfig"]["logFormat"] == "JSON"
        assert function.inputs["loggingConfig"]["logGroup"] == log_group.outputs["name"]


def test_system_logs_keep_start_and_report_lines(dev: Program) -> None:
    """Lambda writes START and REPORT (duration, billed duration, memory, init) at INFO: WARN drops them."""
    for key in KEYS:
        config = dev.function(key).inputs["loggingConfig"]
        assert config["systemLogLevel"] == "INFO", key
        assert config["applicationLogLevel"] == "INFO", key


def test_code_is_the_functions_package_without_bytecode(dev: Program) -> None:
    archives = [dev.function(key).inputs["code"] for key in KEYS]
    assert all(isinstance(archive, pulumi.AssetArchive) for archive in archives)
    paths = set(archives[0].assets)

    assert {"functions/__init__.py", "functions/model.py"} <= paths
    assert all(path.startswith("functions/") for path in paths)
    assert not [path for path in paths if "__pycache__" in path or path.endswith(".pyc")]
    assert all(set(archive.assets) == paths for archive in archives)


def test_layers_are_our_cached_zip_and_powertools_from_ssm(dev: Program, seeded_build_dir) -> None:
    deps = dev.one("aws:lambda/layerVersion:LayerVersion")
    expected_zip = layer.layer_zip_path(layer.LAYER_REQUIREMENTS, directory=seeded_build_dir)

    assert deps.inputs["code"].path == str(expected_zip)
    assert deps.inputs["compatibleRuntimes"] == ["python3.13"]
    assert deps.inputs["compatibleArchitectures"] == ["arm64"]
    [(_, lookup)] = [call for call in dev.mocks.invokes if call[0] == SSM_PARAMETERS_BY_PATH_TOKEN]
    assert POWERTOOLS_LAYER_PARAMETER.startswith(lookup["path"] + "/")
    assert (
        f"/aws/service/powertools/python/arm64/python3.13/{POWERTOOLS_VERSION}" == POWERTOOLS_LAYER_PARAMETER
    )
    for key in KEYS:
        assert dev.function(key).inputs["layers"] == [deps.outputs["arn"], POWERTOOLS_ARN]


def test_lambda_runs_the_powertools_release_the_tests_run() -> None:
    """The layer version is pinned to what is installed here, so local results hold in Lambda."""
    assert importlib.metadata.version("aws-lambda-powertools") == POWERTOOLS_VERSION


def test_powertools_layer_override_skips_the_ssm_lookup(program_runner) -> None:
    override = "arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:9"
    program = program_runner("dev", {"powertoolsLayerArn": override})

    assert not [token for token, _ in program.mocks.invokes if token == SSM_PARAMETERS_BY_PATH_TOKEN]
    assert program.function("writer_function").inputs["layers"][1] == override


def test_a_missing_powertools_parameter_fails_with_one_message_naming_the_override(program_runner) -> None:
    """AWS has not published the pinned release's parameter (new region, or a release without it)."""
    only_latest = {f"{POWERTOOLS_LAYER_PATH}/latest": POWERTOOLS_ARN}

    with pytest.raises(pulumi.RunError) as raised:
        program_runner("dev", ssm_parameters=only_latest)

    message = str(raised.value)
    assert message == missing_powertools_layer_message("eu-west-1")
    assert POWERTOOLS_LAYER_PARAMETER in message and "serverless-pipeline:powertoolsLayerArn" in message
    assert "\n" not in message


def test_only_the_writer_publishes_versions(dev: Program) -> None:
    assert dev.function("writer_function").inputs["publish"] is True
    assert not dev.function("transformer_function").inputs.get("publish")
    assert not dev.function("error_handler_function").inputs.get("publish")


def test_each_function_has_its_own_role_trusting_lambda(dev: Program) -> None:
    roles = [dev.role_of_function(dev.function(key)) for key in KEYS]
    assert len({role.urn for role in roles}) == 3
    for role in roles:
        assert '"Service": "lambda.amazonaws.com"' in role.inputs["assumeRolePolicy"]


def test_transformer_may_read_uploads_and_send_to_both_queues_only(dev: Program) -> None:
    bucket = dev.one("aws:s3/bucket:Bucket")
    entry_time_key = dev.one("aws:kms/key:Key", "entry-time")
    writer_queue, dlq = dev.one(QUEUE, "writer-queue"), dev.one(QUEUE, "-dlq")

    assert grants(dev, "transformer_function") == own_log_and_trace_grants(dev, "transformer_function") | {
        ("s3:GetObject", f"{bucket.outputs['arn']}/*"),
        ("s3:GetObjectVersion", f"{bucket.outputs['arn']}/*"),
        # A vanished upload must answer 404, not 403.
        ("s3:ListBucket", bucket.outputs["arn"]),
        ("sqs:SendMessage", writer_queue.outputs["arn"]),
        ("sqs:SendMessage", dlq.outputs["arn"]),
        # A replay's signed entry time (functions.entry_time).
        ("kms:VerifyMac", entry_time_key.outputs["arn"]),
    }


def test_writer_may_consume_its_queue_write_accounts_hand_work_back_and_reject_to_the_dlq(
    dev: Program,
) -> None:
    writer_queue, dlq = dev.one(QUEUE, "writer-queue"), dev.one(QUEUE, "-dlq")
    accounts = dev.one(TABLE, "accounts")

    assert grants(dev, "writer_function") == own_log_and_trace_grants(dev, "writer_function") | {
        ("dynamodb:PutItem", accounts.outputs["arn"]),
        ("sqs:ReceiveMessage", writer_queue.outputs["arn"]),
        ("sqs:DeleteMessage", writer_queue.outputs["arn"]),
        ("sqs:GetQueueAttributes", writer_queue.outputs["arn"]),
        ("sqs:SendMessage", writer_queue.outputs["arn"]),  # continuations of unfinished work
        ("sqs:SendMessage", dlq.outputs["arn"]),
    }


def test_error_handler_may_consume_the_dlq_and_write_errors_only(dev: Program) -> None:
    dlq, errors = dev.one(QUEUE, "-dlq"), dev.one(TABLE, "errors")

    assert grants(dev, "error_handler_function") == own_log_and_trace_grants(
        dev, "error_handler_function"
    ) | {
        ("dynamodb:PutItem", errors.outputs["arn"]),
        ("sqs:ReceiveMessage", dlq.outputs["arn"]),
        ("sqs:DeleteMessage", dlq.outputs["arn"]),
        ("sqs:GetQueueAttributes", dlq.outputs["arn"]),
    }


def test_writer_queue_feeds_the_live_alias_with_partial_batch_failures(dev: Program) -> None:
    alias = dev.one("aws:lambda/alias:Alias")
    mapping = dev.one(ESM, "writer-queue")
    writer_policy = dev.one("aws:iam/rolePolicy:RolePolicy", "writer-policy")

    assert mapping.inputs["eventSourceArn"] == dev.one(QUEUE, "writer-queue").outputs["arn"]
    assert mapping.inputs["functionName"] == alias.outputs["arn"]
    assert mapping.inputs["functionName"].endswith("-dev-writer:live")
    assert mapping.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert "serverless-pipeline:writerBatchSize" not in dev.config  # the default, in its one home
    assert mapping.inputs["batchSize"] == spec.DEFAULT_WRITER_BATCH_SIZE
    assert dev.depends_on(mapping, writer_policy)


@pytest.mark.parametrize("concurrency", ["2", "25"])
def test_writer_concurrency_is_capped_on_the_mapping_not_reserved(program_runner, concurrency: str) -> None:
    program = program_runner("dev", {"writerMaxConcurrency": concurrency})

    mapping = program.one(ESM, "writer-queue")
    assert mapping.inputs["scalingConfig"] == {"maximumConcurrency": int(concurrency)}
    assert "reservedConcurrentExecutions" not in program.function("writer_function").inputs


def test_large_writer_batches_get_the_batching_window_aws_requires(program_runner) -> None:
    mapping = program_runner("dev", {"writerBatchSize": "100"}).one(ESM, "writer-queue")
    assert mapping.inputs["batchSize"] == 100
    assert mapping.inputs["maximumBatchingWindowInSeconds"] >= 1


def test_dlq_feeds_the_error_handler_with_partial_batch_failures(dev: Program) -> None:
    mapping = dev.one(ESM, "dlq")

    assert mapping.inputs["eventSourceArn"] == dev.one(QUEUE, "-dlq").outputs["arn"]
    assert mapping.inputs["functionName"] == dev.function("error_handler_function").outputs["arn"]
    assert mapping.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"]


def test_transformer_failures_go_to_the_dlq_after_retries(dev: Program) -> None:
    config = dev.one("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")

    assert config.inputs["functionName"] == dev.function("transformer_function").inputs["name"]
    assert config.inputs["destinationConfig"] == {
        "onFailure": {"destination": dev.one(QUEUE, "-dlq").outputs["arn"]}
    }
    assert config.inputs["maximumRetryAttempts"] == 2


def test_s3_may_invoke_the_transformer_for_our_bucket_only(dev: Program) -> None:
    permission = dev.one("aws:lambda/permission:Permission")

    assert permission.inputs["action"] == "lambda:InvokeFunction"
    assert permission.inputs["principal"] == "s3.amazonaws.com"
    assert permission.inputs["function"] == dev.function("transformer_function").inputs["name"]
    assert permission.inputs["sourceArn"] == dev.one("aws:s3/bucket:Bucket").outputs["arn"]
    assert permission.inputs["sourceAccount"] == "123456789012"


def test_notification_is_created_after_the_permission(dev: Program) -> None:
    notification = dev.one("aws:s3/bucketNotification:BucketNotification")
    permission = dev.one("aws:lambda/permission:Permission")

    assert dev.depends_on(notification, permission)
    assert notification.inputs["bucket"] == dev.one("aws:s3/bucket:Bucket").outputs["bucket"]
    assert notification.inputs["lambdaFunctions"] == [
        {
            "lambdaFunctionArn": dev.function("transformer_function").outputs["arn"],
            "events": ["s3:ObjectCreated:*"],
            "filterSuffix": DATA_SUFFIX,
        }
    ]


def test_live_alias_starts_at_the_published_version_and_is_then_codedeploys(dev: Program) -> None:
    alias = dev.one("aws:lambda/alias:Alias")
    writer = dev.function("writer_function")

    assert alias.inputs["name"] == spec.WRITER_ALIAS
    assert alias.inputs["functionName"] == writer.inputs["name"]
    assert alias.inputs["functionVersion"] == writer.outputs["version"] != "$LATEST"
    assert sorted(alias.ignore_changes) == ["functionVersion", "routingConfig"]


def test_log_group_import_commands_name_where_the_program_declares_each_log_group(dev: Program) -> None:
    """The documented `pulumi import` for a log group that outlived a destroy must land on the program's
    resource: same name, same parent component, same provider (or the next `pulumi up` would replace it)."""
    provider = dev.one("pulumi:providers:aws")

    def engine_urn(urn: str) -> str:
        # The SDK's mock monitor puts the root stack's type in its children's URNs; the engine does not.
        return urn.replace("::pulumi:pulumi:Stack$", "::")

    for key in KEYS:
        argv = shlex.split(log_group_import_command("dev", key))
        log_group = dev.one(LOG_GROUP, f"{LOGICAL_NAMES[key]}-logs")
        parent = dev.by_urn(log_group.parent)

        assert argv[:2] == ["pulumi", "import"] and argv[-3:] == [
            "aws:cloudwatch/logGroup:LogGroup",
            log_group.name,
            log_group.inputs["name"],
        ]
        assert argv[argv.index("--parent") + 1] == f"{parent.name}={engine_urn(parent.urn)}"
        assert argv[argv.index("--provider") + 1] == f"{provider.name}={engine_urn(provider.urn)}"
        assert log_group.provider.startswith(provider.urn)


def test_deploy_docs_give_the_exact_import_commands() -> None:
    docs = (PROJECT_DIR / "docs" / "deploy.md").read_text(encoding="utf-8")
    for key in KEYS:
        assert log_group_import_command("dev", key) in docs
