"""What the dispatcher and the API stand-in run, read from the emulator's state, never declared twice.

After the program is applied (``local_stack.deploy``) the emulator holds its wiring as AWS would: event source
mappings (queue, function or alias, batch size, response types, enabled), each function's configuration
(handler, timeout, memory, environment), the asynchronous-invoke settings (retries, on-failure destination),
the buckets' notification configurations and the HTTP API's routes and integrations. This module reads them
back with the same API calls an operator would make, and turns them into the dispatcher's ``Route`` list and
the stand-in's ``ApiRoute``. A change to the program therefore changes what runs locally, with no other edit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ASYNC_QUEUE_PREFIX = "local-async-"
"""Lambda's internal queue of asynchronous events (S3 → function), one per function: a local stand-in."""

DEFAULT_ASYNC_RETRIES = 2
"""Lambda's default for asynchronous invokes when no event-invoke configuration says otherwise."""

ASYNC_VISIBILITY_SECONDS = 900


class WiringError(RuntimeError):
    """The deployed state holds something the local stack cannot run (named in the message)."""


@dataclass(frozen=True)
class FunctionConfig:
    name: str
    arn: str
    handler: str
    timeout: int
    memory: int
    environment: dict[str, str]
    role: str
    """The function's key in the outputs document without ``_function`` (``writer``), or its name."""


@dataclass(frozen=True)
class QueueSource:
    queue_url: str
    queue_arn: str
    function: FunctionConfig
    batch_size: int
    batching_window: int
    report_failures: bool
    alias: str | None
    enabled: bool


@dataclass(frozen=True)
class AsyncTarget:
    function: FunctionConfig
    queue_url: str
    queue_arn: str
    max_attempts: int
    on_failure_arn: str | None
    on_failure_url: str | None


@dataclass(frozen=True)
class ApiRoute:
    """An HTTP API route whose integration sends the body to SQS (``SQS-SendMessage``)."""

    method: str
    path: str
    authorization: str
    queue_url: str
    message_body: str
    api_id: str


@dataclass
class Wiring:
    queue_sources: list[QueueSource] = field(default_factory=list)
    async_targets: list[AsyncTarget] = field(default_factory=list)
    api_routes: list[ApiRoute] = field(default_factory=list)
    functions: dict[str, FunctionConfig] = field(default_factory=dict)

    def queue_urls(self) -> dict[str, str]:
        """Every polled queue by a short name for panels (``writer``, ``error_handler``, ``async-...``)."""
        names: dict[str, str] = {}
        for source in self.queue_sources:
            names[source.function.role] = source.queue_url
        for target in self.async_targets:
            names[f"async-{target.function.role}"] = target.queue_url
        return names


def _queue_url(sqs: Any, arn: str) -> str:
    parts = arn.split(":")
    return str(sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"])


def _roles(outputs: Mapping[str, Any]) -> dict[str, str]:
    return {
        str(value): key.removesuffix("_function")
        for key, value in outputs.items()
        if key.endswith("_function") and isinstance(value, str)
    }


def discover(clients: Mapping[str, Any], outputs: Mapping[str, Any]) -> Wiring:
    """Read the wiring from the emulator (``clients``: lambda, sqs, s3, apigatewayv2 by service name)."""
    lam, sqs, s3, apigw = clients["lambda"], clients["sqs"], clients["s3"], clients["apigatewayv2"]
    roles = _roles(outputs)
    wiring = Wiring()

    def function(arn_or_name: str) -> FunctionConfig:
        config = lam.get_function_configuration(FunctionName=arn_or_name)
        name = config["FunctionName"]
        if name not in wiring.functions:
            wiring.functions[name] = FunctionConfig(
                name=name,
                arn=config["FunctionArn"].split(":function:")[0] + f":function:{name}",
                handler=config["Handler"],
                timeout=int(config["Timeout"]),
                memory=int(config["MemorySize"]),
                environment=dict(config.get("Environment", {}).get("Variables", {})),
                role=roles.get(name, name),
            )
        return wiring.functions[name]

    for page in lam.get_paginator("list_event_source_mappings").paginate():
        for mapping in page["EventSourceMappings"]:
            source_arn = mapping["EventSourceArn"]
            if source_arn.split(":")[2] != "sqs":
                raise WiringError(f"event source {source_arn}: only SQS mappings run locally")
            target = function(mapping["FunctionArn"])
            # What the mapping invokes, as declared: an alias (resolved per invocation by the dispatcher),
            # a version, or the function itself (local_stack.moto_hooks keeps the alias moto would drop).
            alias = mapping["FunctionArn"].split(":")[7] if mapping["FunctionArn"].count(":") >= 7 else None
            wiring.queue_sources.append(
                QueueSource(
                    queue_url=_queue_url(sqs, source_arn),
                    queue_arn=source_arn,
                    function=target,
                    batch_size=int(mapping.get("BatchSize") or 10),
                    batching_window=int(mapping.get("MaximumBatchingWindowInSeconds") or 0),
                    report_failures="ReportBatchItemFailures" in (mapping.get("FunctionResponseTypes") or []),
                    alias=alias,
                    enabled=mapping.get("State", "Enabled") in ("Enabled", "Enabling", "Creating"),
                )
            )

    targets: dict[str, FunctionConfig] = {}
    for bucket in s3.list_buckets().get("Buckets", []):
        configuration = s3.get_bucket_notification_configuration(Bucket=bucket["Name"])
        for entry in configuration.get("LambdaFunctionConfigurations", []):
            config = function(entry["LambdaFunctionArn"])
            targets[config.name] = config
        if configuration.get("QueueConfigurations") or configuration.get("TopicConfigurations"):
            raise WiringError(f"bucket {bucket['Name']}: only notifications to functions run locally")
    for config in targets.values():
        wiring.async_targets.append(_async_target(lam, sqs, config))

    for api in apigw.get_apis().get("Items", []):
        integrations = {
            i["IntegrationId"]: i for i in apigw.get_integrations(ApiId=api["ApiId"]).get("Items", [])
        }
        for route in apigw.get_routes(ApiId=api["ApiId"]).get("Items", []):
            wiring.api_routes.append(_api_route(sqs, api["ApiId"], route, integrations))
    return wiring


def _async_target(lam: Any, sqs: Any, config: FunctionConfig) -> AsyncTarget:
    retries, destination = DEFAULT_ASYNC_RETRIES, None
    try:
        invoke_config = lam.get_function_event_invoke_config(FunctionName=config.name)
    except lam.exceptions.ResourceNotFoundException:
        invoke_config = {}
    if invoke_config:
        retries = int(invoke_config.get("MaximumRetryAttempts", DEFAULT_ASYNC_RETRIES))
        destination = invoke_config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    if destination and destination.split(":")[2] != "sqs":
        raise WiringError(
            f"{config.name}: on-failure destination {destination} is not a queue; not run locally"
        )
    url = sqs.create_queue(
        QueueName=f"{ASYNC_QUEUE_PREFIX}{config.name}"[:80],
        Attributes={"VisibilityTimeout": str(ASYNC_VISIBILITY_SECONDS)},
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return AsyncTarget(
        function=config,
        queue_url=url,
        queue_arn=arn,
        max_attempts=retries + 1,
        on_failure_arn=destination,
        on_failure_url=_queue_url(sqs, destination) if destination else None,
    )


def _api_route(sqs: Any, api_id: str, route: Mapping[str, Any], integrations: Mapping[str, Any]) -> ApiRoute:
    key = route["RouteKey"]
    target = route.get("Target", "")
    integration = integrations.get(target.removeprefix("integrations/"))
    if integration is None:
        raise WiringError(f"route {key!r}: target {target!r} is no integration of API {api_id}")
    if integration.get("IntegrationSubtype") != "SQS-SendMessage":
        raise WiringError(
            f"route {key!r}: integration {integration.get('IntegrationType')}/"
            f"{integration.get('IntegrationSubtype')} is not served locally (only SQS-SendMessage)"
        )
    parameters = dict(integration.get("RequestParameters") or {})
    unknown = sorted(set(parameters) - {"QueueUrl", "MessageBody"})
    if unknown:
        raise WiringError(f"route {key!r}: integration parameters {unknown} are not served locally")
    if parameters.get("MessageBody") != "$request.body":
        raise WiringError(
            f"route {key!r}: MessageBody {parameters.get('MessageBody')!r} is not served locally"
        )
    queue_url = parameters.get("QueueUrl", "")
    # The queue must exist: a wrong URL is a deploy error in AWS only when the first request fails.
    sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    method, _, path = key.partition(" ")
    return ApiRoute(
        method=method,
        path=path,
        authorization=route.get("AuthorizationType", "NONE"),
        queue_url=queue_url,
        message_body=parameters["MessageBody"],
        api_id=api_id,
    )
