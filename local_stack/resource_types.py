"""THE table of resource types the local stack applies, each with the real AWS API calls it makes.

One row per Pulumi resource type the program declares. An ``Emulated`` row performs the calls ``pulumi up``'s
AWS provider would make, through boto3 against the emulator (so botocore validates every parameter against
the service model, and moto answers with the ids and ARNs the rest of the program then references). A
``NotEmulated`` row is a type the emulator lacks or that cannot run here; it says what is checked instead,
and its check runs. A type with no row stops the rehearsal (``UnknownResourceType``): adding a type to the
program means adding its row here, and to the table in docs/local-stack.md.

Each apply function gets a :class:`~local_stack.deploy.Apply` and returns ``(id, outputs)``: the resource's
physical id and the attributes the program may read (Pulumi's names, camelCase).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from infra import spec

if TYPE_CHECKING:
    from local_stack.deploy import Apply

Result = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class Emulated:
    apply: Callable[[Apply], Result]
    calls: str
    """The API calls made, for the docs table."""


@dataclass(frozen=True)
class NotEmulated:
    apply: Callable[[Apply], Result]
    instead: str
    """What is checked instead of creating it, for the docs table."""


Row = Emulated | NotEmulated


class UnknownResourceType(RuntimeError):
    """The program declares a type this table has no row for."""


# --- S3 -----------------------------------------------------------------------------------------------


def _bucket(a: Apply) -> Result:
    name = a.inputs.get("bucket") or a.autoname(lower=True)
    params: dict[str, Any] = {"Bucket": name}
    if a.region != "us-east-1":
        params["CreateBucketConfiguration"] = {"LocationConstraint": a.region}
    a.call("s3", "create_bucket", **params)
    if a.tags:
        a.call("s3", "put_bucket_tagging", Bucket=name, Tagging={"TagSet": _tag_list(a.tags)})
    return name, {
        "bucket": name,
        "arn": f"arn:aws:s3:::{name}",
        "bucketDomainName": f"{name}.s3.amazonaws.com",
        "region": a.region,
        "tagsAll": a.tags,
    }


def _bucket_call(operation: str, member: str, build: Callable[[Apply], Any] | None = None) -> Emulated:
    """A bucket sub-resource: one ``Put...`` call whose one structured member holds the rest of the inputs."""

    def apply(a: Apply) -> Result:
        bucket = a.inputs["bucket"]
        rest = {key: value for key, value in a.inputs.items() if key not in ("bucket", "expectedBucketOwner")}
        body = build(a) if build else a.translate("s3", operation, member, rest)
        a.call("s3", operation, Bucket=bucket, **{member: body})
        return bucket, {}

    return Emulated(apply, f"s3 {operation}")


def _bucket_policy(a: Apply) -> Result:
    """Put, read back, then removed: moto evaluates bucket policies without the request's context, so the
    ``aws:SecureTransport`` condition of a TLS-only Deny is never true there and every object request on the
    emulator's plain-HTTP loopback door would be refused."""
    bucket = a.inputs["bucket"]
    a.call("s3", "put_bucket_policy", Bucket=bucket, Policy=a.inputs["policy"])
    stored = a.call("s3", "get_bucket_policy", Bucket=bucket)["Policy"]
    if json.loads(stored) != json.loads(a.inputs["policy"]):
        raise UnknownResourceType(f"bucket {bucket}: the policy read back differs from the one put")
    a.call("s3", "delete_bucket_policy", Bucket=bucket)
    return bucket, {}


def _ownership(a: Apply) -> Any:
    return {"Rules": [{"ObjectOwnership": a.inputs["rule"]["objectOwnership"]}]}


def _encryption(a: Apply) -> Any:
    return a.translate(
        "s3", "put_bucket_encryption", "ServerSideEncryptionConfiguration", {"rules": a.inputs["rules"]}
    )


def _versioning(a: Apply) -> Any:
    configuration = a.inputs["versioningConfiguration"]
    return {"Status": configuration["status"]}


def _lifecycle(a: Apply) -> Any:
    return a.translate(
        "s3", "put_bucket_lifecycle_configuration", "LifecycleConfiguration", {"rules": a.inputs["rules"]}
    )


def _notification(a: Apply) -> Any:
    def filters(entry: dict[str, Any]) -> dict[str, Any]:
        # moto answers 500 unless filter rule names are lower-case (S3 accepts either).
        rules = [
            {"Name": name, "Value": entry[f"filter{name.title()}"]}
            for name in ("prefix", "suffix")
            if entry.get(f"filter{name.title()}")
        ]
        return {"Filter": {"Key": {"FilterRules": rules}}} if rules else {}

    configuration: dict[str, Any] = {}
    for key, member, arn in (
        ("lambdaFunctions", "LambdaFunctionConfigurations", "lambdaFunctionArn"),
        ("queues", "QueueConfigurations", "queueArn"),
        ("topics", "TopicConfigurations", "topicArn"),
    ):
        entries = a.inputs.get(key) or []
        arn_member = {
            "lambdaFunctionArn": "LambdaFunctionArn",
            "queueArn": "QueueArn",
            "topicArn": "TopicArn",
        }
        configuration[member] = [
            {
                **({"Id": entry["id"]} if entry.get("id") else {}),
                arn_member[arn]: entry[arn],
                "Events": list(entry["events"]),
                **filters(entry),
            }
            for entry in entries
        ]
    if a.inputs.get("eventbridge"):
        configuration["EventBridgeConfiguration"] = {}
    return configuration


# --- SQS ----------------------------------------------------------------------------------------------

_QUEUE_ATTRIBUTES = {
    "visibilityTimeoutSeconds": "VisibilityTimeout",
    "messageRetentionSeconds": "MessageRetentionPeriod",
    "maxMessageSize": "MaximumMessageSize",
    "delaySeconds": "DelaySeconds",
    "receiveWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
    "sqsManagedSseEnabled": "SqsManagedSseEnabled",
    "kmsMasterKeyId": "KmsMasterKeyId",
    "kmsDataKeyReusePeriodSeconds": "KmsDataKeyReusePeriodSeconds",
    "redrivePolicy": "RedrivePolicy",
    "redriveAllowPolicy": "RedriveAllowPolicy",
    "policy": "Policy",
    "fifoQueue": "FifoQueue",
    "contentBasedDeduplication": "ContentBasedDeduplication",
}


def _attribute_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _queue(a: Apply) -> Result:
    name = a.inputs.get("name") or a.autoname()
    attributes = {}
    for key, value in a.inputs.items():
        if key in ("name", "namePrefix", "tags"):
            continue
        if key not in _QUEUE_ATTRIBUTES:
            raise UnknownResourceType(f"aws:sqs/queue:Queue input {key!r} has no SQS attribute here")
        attributes[_QUEUE_ATTRIBUTES[key]] = _attribute_text(value)
    url = a.call("sqs", "create_queue", QueueName=name, Attributes=attributes, tags=a.tags or {})["QueueUrl"]
    arn = a.call("sqs", "get_queue_attributes", QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, {"name": name, "url": url, "arn": arn, "tagsAll": a.tags}


def _queue_attribute(attribute: str, key: str) -> Emulated:
    def apply(a: Apply) -> Result:
        url = a.inputs["queueUrl"]
        a.call("sqs", "set_queue_attributes", QueueUrl=url, Attributes={attribute: str(a.inputs[key])})
        return url, {}

    return Emulated(apply, f"sqs SetQueueAttributes {attribute}")


# --- DynamoDB -----------------------------------------------------------------------------------------


_TABLE_SETTINGS: tuple[tuple[str, str, Callable[[dict[str, Any]], dict[str, Any]]], ...] = (
    (
        "ttl",
        "update_time_to_live",
        lambda ttl: {"TimeToLiveSpecification": {"Enabled": True, "AttributeName": ttl["attributeName"]}},
    ),
    (
        "pointInTimeRecovery",
        "update_continuous_backups",
        lambda _: {"PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}},
    ),
)
"""Table settings DynamoDB takes only after CreateTable: the Pulumi input, the call, its parameters."""


def _table(a: Apply) -> Result:
    i = a.inputs
    name = i.get("name") or a.autoname()
    key_schema = [{"AttributeName": i["hashKey"], "KeyType": "HASH"}]
    if i.get("rangeKey"):
        key_schema.append({"AttributeName": i["rangeKey"], "KeyType": "RANGE"})
    params: dict[str, Any] = {
        "TableName": name,
        "BillingMode": i.get("billingMode", "PROVISIONED"),
        "AttributeDefinitions": [
            {"AttributeName": attribute["name"], "AttributeType": attribute["type"]}
            for attribute in i["attributes"]
        ],
        "KeySchema": key_schema,
    }
    indexes = []
    for index in i.get("globalSecondaryIndexes") or []:
        schemas = index.get("keySchemas") or [
            {"attributeName": index["hashKey"], "keyType": "HASH"},
            *([{"attributeName": index["rangeKey"], "keyType": "RANGE"}] if index.get("rangeKey") else []),
        ]
        projection: dict[str, Any] = {"ProjectionType": index["projectionType"]}
        if index.get("nonKeyAttributes"):
            projection["NonKeyAttributes"] = list(index["nonKeyAttributes"])
        indexes.append(
            {
                "IndexName": index["name"],
                "KeySchema": [
                    {"AttributeName": s["attributeName"], "KeyType": s["keyType"]} for s in schemas
                ],
                "Projection": projection,
            }
        )
    if indexes:
        params["GlobalSecondaryIndexes"] = indexes
    encryption = i.get("serverSideEncryption")
    if encryption:
        params["SSESpecification"] = {"Enabled": bool(encryption.get("enabled"))}
    if "deletionProtectionEnabled" in i:
        params["DeletionProtectionEnabled"] = bool(i["deletionProtectionEnabled"])
    if a.tags:
        params["Tags"] = _tag_list(a.tags)
    arn = a.call("dynamodb", "create_table", **params)["TableDescription"]["TableArn"]
    for key, operation, parameters in _TABLE_SETTINGS:
        setting = i.get(key)
        if setting and setting.get("enabled"):
            a.call("dynamodb", operation, TableName=name, **parameters(setting))
    return name, {"name": name, "arn": arn, "tagsAll": a.tags}


# --- IAM ----------------------------------------------------------------------------------------------


def _role(a: Apply) -> Result:
    name = a.inputs.get("name") or a.autoname()
    params: dict[str, Any] = {"RoleName": name, "AssumeRolePolicyDocument": a.inputs["assumeRolePolicy"]}
    for key, member in (
        ("path", "Path"),
        ("description", "Description"),
        ("maxSessionDuration", "MaxSessionDuration"),
    ):
        if a.inputs.get(key) is not None:
            params[member] = a.inputs[key]
    if a.tags:
        params["Tags"] = _tag_list(a.tags)
    role = a.call("iam", "create_role", **params)["Role"]
    return name, {"name": name, "arn": role["Arn"], "uniqueId": role["RoleId"], "tagsAll": a.tags}


def _role_policy(a: Apply) -> Result:
    name = a.inputs.get("name") or a.autoname()
    role = a.inputs["role"]
    a.call("iam", "put_role_policy", RoleName=role, PolicyName=name, PolicyDocument=a.inputs["policy"])
    return f"{role}:{name}", {"name": name}


def _policy(a: Apply) -> Result:
    name = a.inputs.get("name") or a.autoname()
    params: dict[str, Any] = {"PolicyName": name, "PolicyDocument": a.inputs["policy"]}
    if a.inputs.get("path"):
        params["Path"] = a.inputs["path"]
    arn = a.call("iam", "create_policy", **params)["Policy"]["Arn"]
    return arn, {"name": name, "arn": arn}


def _attachment(a: Apply) -> Result:
    a.call("iam", "attach_role_policy", RoleName=a.inputs["role"], PolicyArn=a.inputs["policyArn"])
    return f"{a.inputs['role']}-{a.autoname()}", {}


# --- Lambda -------------------------------------------------------------------------------------------


def _layer(a: Apply) -> Result:
    params: dict[str, Any] = {"LayerName": a.inputs["layerName"], "Content": {"ZipFile": a.archive("code")}}
    for key, member in (
        ("compatibleRuntimes", "CompatibleRuntimes"),
        ("compatibleArchitectures", "CompatibleArchitectures"),
        ("description", "Description"),
    ):
        if a.inputs.get(key):
            params[member] = a.inputs[key]
    layer = a.call("lambda", "publish_layer_version", **params)
    return layer["LayerVersionArn"], {
        "arn": layer["LayerVersionArn"],
        "layerArn": layer["LayerArn"],
        "version": str(layer["Version"]),
    }


_FUNCTION_MEMBERS = {
    "name": None,
    "code": None,
    "publish": None,
    "tags": None,
    "role": "Role",
    "runtime": "Runtime",
    "handler": "Handler",
    "timeout": "Timeout",
    "memorySize": "MemorySize",
    "layers": "Layers",
    "architectures": "Architectures",
    "environment": "Environment",
    "loggingConfig": "LoggingConfig",
    "tracingConfig": "TracingConfig",
    "description": "Description",
    "deadLetterConfig": "DeadLetterConfig",
    "ephemeralStorage": "EphemeralStorage",
    "kmsKeyArn": "KMSKeyArn",
}


def _function(a: Apply) -> Result:
    name = a.inputs.get("name") or a.autoname()
    rest = {}
    for key, value in a.inputs.items():
        if key not in _FUNCTION_MEMBERS:
            raise UnknownResourceType(f"aws:lambda/function:Function input {key!r} is not rehearsed here")
        if _FUNCTION_MEMBERS[key]:
            rest[key] = value
    params = a.translate_params("lambda", "create_function", rest)
    created = a.call(
        "lambda",
        "create_function",
        FunctionName=name,
        Code={"ZipFile": a.archive("code")},
        Publish=bool(a.inputs.get("publish")),
        Tags=a.tags or {},
        **params,
    )
    arn = created["FunctionArn"]
    if arn.count(":") > 6:  # a published version answers with its qualified ARN
        arn = arn.rsplit(":", 1)[0]
    version = created.get("Version", "$LATEST") if a.inputs.get("publish") else "$LATEST"
    return name, {
        "name": name,
        "arn": arn,
        "version": version,
        "qualifiedArn": f"{arn}:{version}",
        "invokeArn": f"arn:aws:apigateway:{a.region}:lambda:path/2015-03-31/functions/{arn}/invocations",
        "sourceCodeHash": created.get("CodeSha256", ""),
        "tagsAll": a.tags,
    }


def _alias(a: Apply) -> Result:
    params = a.translate_params(
        "lambda", "create_alias", {k: v for k, v in a.inputs.items() if k not in ("functionName", "name")}
    )
    alias = a.call(
        "lambda", "create_alias", FunctionName=a.inputs["functionName"], Name=a.inputs["name"], **params
    )
    return alias["AliasArn"], {"arn": alias["AliasArn"]}


def _event_source_mapping(a: Apply) -> Result:
    params = a.translate_params("lambda", "create_event_source_mapping", dict(a.inputs))
    mapping = a.call("lambda", "create_event_source_mapping", **params)
    a.emulator.detach_moto_pollers()
    declared = str(a.inputs["functionName"])
    if not declared.startswith("arn:"):
        declared = f"{mapping['FunctionArn'].split(':function:')[0]}:function:{declared}"
    # AWS keeps an alias target as declared; moto stored the version it pointed at (moto_hooks).
    a.emulator.keep_mapping_target(mapping["UUID"], declared)
    return mapping["UUID"], {
        "uuid": mapping["UUID"],
        "functionArn": declared,
        "arn": mapping.get("EventSourceMappingArn", ""),
    }


def _invoke_config(a: Apply) -> Result:
    params = a.translate_params("lambda", "put_function_event_invoke_config", dict(a.inputs))
    a.call("lambda", "put_function_event_invoke_config", **params)
    return a.inputs["functionName"], {}


def _permission(a: Apply) -> Result:
    statement = a.inputs.get("statementId") or a.autoname()
    rest = {k: v for k, v in a.inputs.items() if k not in ("function", "statementId")}
    params = a.translate_params("lambda", "add_permission", rest)
    a.call("lambda", "add_permission", FunctionName=a.inputs["function"], StatementId=statement, **params)
    return statement, {"statementId": statement}


# --- API Gateway (HTTP API) -----------------------------------------------------------------------------


def _api(a: Apply) -> Result:
    name = a.inputs.get("name") or a.autoname()
    rest = {k: v for k, v in a.inputs.items() if k not in ("name", "tags")}
    api = a.call(
        "apigatewayv2", "create_api", Name=name, **a.translate_params("apigatewayv2", "create_api", rest)
    )
    api_id = api["ApiId"]
    return api_id, {
        "name": name,
        "apiEndpoint": api["ApiEndpoint"],
        "arn": f"arn:aws:apigateway:{a.region}::/apis/{api_id}",
        "executionArn": f"arn:aws:execute-api:{a.region}:{a.account}:{api_id}",
    }


def _api_child(operation: str, id_member: str, renames: dict[str, str] | None = None) -> Emulated:
    def apply(a: Apply) -> Result:
        inputs = {(renames or {}).get(k, k): v for k, v in a.inputs.items()}
        answer = a.call("apigatewayv2", operation, **a.translate_params("apigatewayv2", operation, inputs))
        return str(answer[id_member]), {}

    return Emulated(apply, f"apigatewayv2 {operation}")


# --- KMS ----------------------------------------------------------------------------------------------


def _kms_key(a: Apply) -> Result:
    params: dict[str, Any] = {}
    for key, member in (
        ("description", "Description"),
        ("customerMasterKeySpec", "KeySpec"),
        ("keyUsage", "KeyUsage"),
        ("policy", "Policy"),
    ):
        if a.inputs.get(key):
            params[member] = a.inputs[key]
    if a.tags:
        params["Tags"] = [{"TagKey": key, "TagValue": value} for key, value in a.tags.items()]
    metadata = a.call("kms", "create_key", **params)["KeyMetadata"]
    return metadata["KeyId"], {"keyId": metadata["KeyId"], "arn": metadata["Arn"], "tagsAll": a.tags}


# --- CloudWatch, SNS, SSM -----------------------------------------------------------------------------


def _log_group(a: Apply) -> Result:
    name = a.inputs.get("name") or a.autoname()
    a.call("logs", "create_log_group", logGroupName=name, tags=a.tags or {})
    if a.inputs.get("retentionInDays"):
        a.call("logs", "put_retention_policy", logGroupName=name, retentionInDays=a.inputs["retentionInDays"])
    return name, {"name": name, "arn": f"arn:aws:logs:{a.region}:{a.account}:log-group:{name}"}


def _dimensions(values: dict[str, Any] | None) -> list[dict[str, str]]:
    return [{"Name": key, "Value": str(value)} for key, value in (values or {}).items()]


def _alarm(a: Apply) -> Result:
    i = dict(a.inputs)
    name = i.pop("name", None) or a.autoname()
    i.pop("tags", None)
    queries = i.pop("metricQueries", None)
    dimensions = i.pop("dimensions", None)
    renames = {"okActions": "OKActions"}
    params = a.translate_params(
        "cloudwatch", "put_metric_alarm", {renames.get(k, k): v for k, v in i.items()}
    )
    if dimensions:
        params["Dimensions"] = _dimensions(dimensions)
    if queries:
        metrics = []
        for query in queries:
            entry = {k: v for k, v in query.items() if k != "metric"}
            translated = a.translate("cloudwatch", "put_metric_alarm", "Metrics", [entry])[0]
            metric = query.get("metric")
            if metric:
                translated["MetricStat"] = {
                    "Metric": {
                        "Namespace": metric["namespace"],
                        "MetricName": metric["metricName"],
                        "Dimensions": _dimensions(metric.get("dimensions")),
                    },
                    "Period": metric["period"],
                    "Stat": metric["stat"],
                }
            metrics.append(translated)
        params["Metrics"] = metrics
    a.call("cloudwatch", "put_metric_alarm", AlarmName=name, **params)
    return name, {"name": name, "arn": f"arn:aws:cloudwatch:{a.region}:{a.account}:alarm:{name}"}


def _dashboard(a: Apply) -> Result:
    name = a.inputs["dashboardName"]
    a.call("cloudwatch", "put_dashboard", DashboardName=name, DashboardBody=a.inputs["dashboardBody"])
    return name, {"dashboardArn": f"arn:aws:cloudwatch::{a.account}:dashboard/{name}"}


def _topic(a: Apply) -> Result:
    name = a.inputs.get("name") or a.autoname()
    arn = a.call("sns", "create_topic", Name=name)["TopicArn"]
    return arn, {"name": name, "arn": arn}


def _subscription(a: Apply) -> Result:
    answer = a.call(
        "sns",
        "subscribe",
        TopicArn=a.inputs["topic"],
        Protocol=a.inputs["protocol"],
        Endpoint=a.inputs["endpoint"],
        ReturnSubscriptionArn=True,
    )
    return answer["SubscriptionArn"], {"arn": answer["SubscriptionArn"]}


def _parameter(a: Apply) -> Result:
    name = a.inputs.get("name") or a.autoname()
    value = a.inputs.get("value", a.inputs.get("insecureValue"))
    params: dict[str, Any] = {"Name": name, "Type": a.inputs["type"], "Value": value, "Overwrite": True}
    if a.inputs.get("description"):
        params["Description"] = a.inputs["description"]
    a.call("ssm", "put_parameter", **params)
    return name, {"name": name, "arn": f"arn:aws:ssm:{a.region}:{a.account}:parameter{name}"}


# --- CodeDeploy ---------------------------------------------------------------------------------------


def _codedeploy_application(a: Apply) -> Result:
    name = a.inputs.get("name") or a.autoname()
    answer = a.call(
        "codedeploy",
        "create_application",
        applicationName=name,
        computePlatform=a.inputs.get("computePlatform", "Server"),
    )
    return answer["applicationId"], {
        "name": name,
        "applicationId": answer["applicationId"],
        "arn": f"arn:aws:codedeploy:{a.region}:{a.account}:application:{name}",
    }


def _deployment_group(a: Apply) -> Result:
    i = dict(a.inputs)
    i["applicationName"] = i.pop("appName")
    alarms = i.get("alarmConfiguration")
    if alarms:
        i["alarmConfiguration"] = {
            **alarms,
            "alarms": [{"name": name} for name in alarms.get("alarms") or []],
        }
    params = a.translate_params("codedeploy", "create_deployment_group", i)
    answer = a.call("codedeploy", "create_deployment_group", **params)
    name = i["deploymentGroupName"]
    return answer["deploymentGroupId"], {
        "deploymentGroupName": name,
        "deploymentGroupId": answer["deploymentGroupId"],
        "arn": f"arn:aws:codedeploy:{a.region}:{a.account}:deploymentgroup:{i['applicationName']}/{name}",
    }


# --- Not emulated -------------------------------------------------------------------------------------


def _provider(a: Apply) -> Result:
    return a.name, dict(a.inputs)


SHELL_SEPARATORS = ("&&", "||", ";")


def _local_command(a: Apply) -> Result:
    """Parse each step of the command with the release step's own command line (``spec.ReleaseStep``, which
    the step reads too); never execute it."""
    steps: list[list[str]] = [[]]
    for token in shlex.split(a.inputs["create"]):
        if token in SHELL_SEPARATORS:
            steps.append([])
        else:
            steps[-1].append(token)
    for argv in steps:
        if "-m" not in argv or argv.index("-m") + 1 >= len(argv):
            raise UnknownResourceType(
                f"command step {argv!r} does not run a Python module: cannot rehearse it"
            )
        module = argv[argv.index("-m") + 1]
        if module != spec.RELEASE_STEP_MODULE:
            raise UnknownResourceType(
                f"command step runs {module}; only {spec.RELEASE_STEP_MODULE} is rehearsed"
            )
        try:
            step = spec.ReleaseStep.from_argv(argv[argv.index("-m") + 2 :])
        except ValueError as error:
            raise UnknownResourceType(f"{module} refuses the arguments of {argv!r}: {error}") from None
        a.emulator.check_release_step(step)
    return a.autoname(), {"stdout": "", "stderr": ""}


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


TYPES: dict[str, Row] = {
    "pulumi:providers:aws": NotEmulated(
        _provider, "no API call: its region and default tags are applied to every resource's calls"
    ),
    "aws:s3/bucket:Bucket": Emulated(_bucket, "s3 CreateBucket, PutBucketTagging"),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _bucket_call(
        "put_public_access_block", "PublicAccessBlockConfiguration"
    ),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": _bucket_call(
        "put_bucket_ownership_controls", "OwnershipControls", _ownership
    ),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": _bucket_call(
        "put_bucket_encryption", "ServerSideEncryptionConfiguration", _encryption
    ),
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": _bucket_call(  # noqa: E501
        "put_bucket_encryption", "ServerSideEncryptionConfiguration", _encryption
    ),
    "aws:s3/bucketPolicy:BucketPolicy": NotEmulated(
        _bucket_policy,
        "s3 PutBucketPolicy and GetBucketPolicy (stored as declared), then DeleteBucketPolicy: moto "
        "evaluates "
        "policies without request context, so a TLS-only Deny would refuse every request on the plain-HTTP "
        "loopback endpoint; the policy is not enforced locally",
    ),
    "aws:s3/bucketVersioning:BucketVersioning": _bucket_call(
        "put_bucket_versioning", "VersioningConfiguration", _versioning
    ),
    "aws:s3/bucketVersioningV2:BucketVersioningV2": _bucket_call(
        "put_bucket_versioning", "VersioningConfiguration", _versioning
    ),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _bucket_call(
        "put_bucket_lifecycle_configuration", "LifecycleConfiguration", _lifecycle
    ),
    "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2": _bucket_call(
        "put_bucket_lifecycle_configuration", "LifecycleConfiguration", _lifecycle
    ),
    "aws:s3/bucketNotification:BucketNotification": _bucket_call(
        "put_bucket_notification_configuration", "NotificationConfiguration", _notification
    ),
    "aws:sqs/queue:Queue": Emulated(_queue, "sqs CreateQueue (attributes, tags), GetQueueAttributes"),
    "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": _queue_attribute(
        "RedriveAllowPolicy", "redriveAllowPolicy"
    ),
    "aws:sqs/redrivePolicy:RedrivePolicy": _queue_attribute("RedrivePolicy", "redrivePolicy"),
    "aws:sqs/queuePolicy:QueuePolicy": _queue_attribute("Policy", "policy"),
    "aws:dynamodb/table:Table": Emulated(
        _table, "dynamodb CreateTable, UpdateTimeToLive, UpdateContinuousBackups"
    ),
    "aws:iam/role:Role": Emulated(_role, "iam CreateRole"),
    "aws:iam/rolePolicy:RolePolicy": Emulated(_role_policy, "iam PutRolePolicy"),
    "aws:iam/policy:Policy": Emulated(_policy, "iam CreatePolicy"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": Emulated(_attachment, "iam AttachRolePolicy"),
    "aws:lambda/layerVersion:LayerVersion": Emulated(_layer, "lambda PublishLayerVersion (the built zip)"),
    "aws:lambda/function:Function": Emulated(
        _function, "lambda CreateFunction (code zip, handler, runtime, env, layers, role)"
    ),
    "aws:lambda/alias:Alias": Emulated(_alias, "lambda CreateAlias"),
    "aws:lambda/eventSourceMapping:EventSourceMapping": Emulated(
        _event_source_mapping, "lambda CreateEventSourceMapping"
    ),
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": Emulated(
        _invoke_config, "lambda PutFunctionEventInvokeConfig"
    ),
    "aws:lambda/permission:Permission": Emulated(_permission, "lambda AddPermission"),
    "aws:apigatewayv2/api:Api": Emulated(_api, "apigatewayv2 CreateApi"),
    "aws:apigatewayv2/integration:Integration": _api_child("create_integration", "IntegrationId"),
    "aws:apigatewayv2/route:Route": _api_child("create_route", "RouteId"),
    "aws:apigatewayv2/stage:Stage": _api_child("create_stage", "StageName", {"name": "stageName"}),
    "aws:kms/key:Key": Emulated(_kms_key, "kms CreateKey (key spec, usage, description, tags)"),
    "aws:cloudwatch/logGroup:LogGroup": Emulated(_log_group, "logs CreateLogGroup, PutRetentionPolicy"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": Emulated(_alarm, "cloudwatch PutMetricAlarm"),
    "aws:cloudwatch/dashboard:Dashboard": Emulated(_dashboard, "cloudwatch PutDashboard"),
    "aws:sns/topic:Topic": Emulated(_topic, "sns CreateTopic"),
    "aws:sns/topicSubscription:TopicSubscription": Emulated(_subscription, "sns Subscribe"),
    "aws:ssm/parameter:Parameter": Emulated(_parameter, "ssm PutParameter"),
    "aws:codedeploy/application:Application": Emulated(
        _codedeploy_application, "codedeploy CreateApplication"
    ),
    "aws:codedeploy/deploymentGroup:DeploymentGroup": Emulated(
        _deployment_group, "codedeploy CreateDeploymentGroup"
    ),
    "command:local:Command": NotEmulated(
        _local_command,
        "not run (it would start a CodeDeploy deployment, which moto cannot perform): the command is parsed "
        "with the release step's own command line (infra.spec.ReleaseStep), and its function, alias, "
        "application, deployment group and target version must exist in the emulator",
    ),
}


def row(type_token: str) -> Row:
    """The table's row for a type; an unknown type stops the rehearsal."""
    try:
        return TYPES[type_token]
    except KeyError:
        raise UnknownResourceType(
            f"resource type {type_token} is not in local_stack/resource_types.TYPES: the local stack cannot "
            "rehearse it. Add a row (its API calls, or what is checked instead) and list it in "
            "docs/local-stack.md."
        ) from None


def describe() -> list[tuple[str, str, str]]:
    """(type, how, what) for every row: the docs table is checked against it."""
    return [
        (token, "emulated" if isinstance(entry, Emulated) else "not emulated",
         entry.calls if isinstance(entry, Emulated) else entry.instead)
        for token, entry in TYPES.items()
    ]  # fmt: skip
