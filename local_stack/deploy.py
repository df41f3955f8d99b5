"""Apply the real Pulumi program (``__main__.py``) to the emulator, through Pulumi's own engine in test mode.

``pulumi.runtime.set_mocks`` runs the program exactly as ``pulumi up`` would evaluate it — config, components,
``apply`` chains, dependencies, invokes — but hands each resource registration to :class:`EmulatorMocks`
instead of a provider. Its ``new_resource`` performs the resource's real AWS API calls against the emulator
through boto3 (the calls are in the one table, ``local_stack.resource_types``) and answers with the ids and
ARNs the emulator returned, so every later reference in the program is a real ARN of something that exists.
Invokes (data sources) are answered from the emulator too: ``getCallerIdentity`` is STS's answer,
``ssm.getParameter`` is SSM's — except AWS's own public parameters, which the emulator cannot hold
(``AWS_PUBLIC``).

The program's stack exports are the outputs document (``Deployment.exports``).
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import io
import json
import runpy
import threading
import time
import zipfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pulumi

from infra import spec
from infra.sessions import local_session
from local_stack.deployment import MAIN, Applied, Deployment, Tamper, stack_config  # noqa: F401 (re-exported)
from local_stack.moto_hooks import detach_moto_pollers, keep_mapping_target
from local_stack.resource_types import UnknownResourceType, row
from local_stack.session import local_client
from local_stack.shapes import coerce, from_pulumi

if TYPE_CHECKING:
    from pulumi.runtime.mocks import MockMonitor

POWERTOOLS_PARAMETER_PREFIX = "/aws/service/powertools/python/"
POWERTOOLS_ACCOUNT = "017000801446"
"""The AWS account that publishes the Powertools layers."""


class DeployError(RuntimeError):
    """The program could not be applied to the emulator (the message names the resource and the call)."""


class Emulator:
    """The emulator as the resource table sees it: clients in the stack's region, and checks across calls."""

    def __init__(self, endpoint_url: str, region: str) -> None:
        self.endpoint_url = endpoint_url
        self.region = region
        self._session = local_session(region)
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        # Pulumi registers resources from many threads; a boto3 session is not thread-safe.
        with self._lock:
            if service not in self._clients:
                self._clients[service] = local_client(
                    service, self.endpoint_url, region=self.region, session=self._session
                )
            return self._clients[service]

    def detach_moto_pollers(self) -> None:
        detach_moto_pollers()

    def keep_mapping_target(self, uuid: str, function_arn: str) -> None:
        keep_mapping_target(uuid, function_arn)

    def check_release_step(self, step: spec.ReleaseStep) -> None:
        """The release command's function, alias, version, application and group exist in the emulator."""
        lam = self.client("lambda")
        lam.get_alias(FunctionName=step.function_name, Name=step.alias)
        lam.get_function(FunctionName=step.function_name, Qualifier=step.target_version)
        self.client("codedeploy").get_deployment_group(
            applicationName=step.application, deploymentGroupName=step.deployment_group
        )


class Apply:
    """What one row of the resource table works with."""

    def __init__(
        self,
        *,
        type_token: str,
        name: str,
        inputs: dict[str, Any],
        stack: str,
        account: str,
        tags: dict[str, str],
        emulator: Emulator,
    ) -> None:
        self.type = type_token
        self.name = name
        self.inputs = inputs
        self.stack = stack
        self.account = account
        self.region = emulator.region
        self.tags = {**tags, **(inputs.get("tags") or {})}
        self.emulator = emulator

    def call(self, service: str, operation: str, **params: Any) -> Any:
        client = self.emulator.client(service)
        shape = client.meta.service_model.operation_model(_operation_name(client, operation)).input_shape
        try:
            return getattr(client, operation)(**coerce(params, shape))
        except Exception as error:
            raise DeployError(f"{self.type} {self.name}: {service} {operation} failed: {error}") from error

    def translate(self, service: str, operation: str, member: str, value: Any) -> Any:
        shape = self._input_shape(service, operation).members[member]
        return from_pulumi(value, shape, where=f"{self.type} {self.name}: {member}")

    def translate_params(self, service: str, operation: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
        result = from_pulumi(
            {k: v for k, v in inputs.items() if k != "tags"},
            self._input_shape(service, operation),
            where=f"{self.type} {self.name}",
        )
        return dict(result)

    def _input_shape(self, service: str, operation: str) -> Any:
        client = self.emulator.client(service)
        return client.meta.service_model.operation_model(_operation_name(client, operation)).input_shape

    def autoname(self, *, lower: bool = False) -> str:
        """Pulumi's auto-name (logical name + 7 characters), stable for a stack so reruns name alike."""
        suffix = hashlib.sha256(f"{self.stack}/{self.type}/{self.name}".encode()).hexdigest()[:7]
        name = f"{self.name}-{suffix}"
        return name.lower() if lower else name

    def archive(self, key: str) -> bytes:
        """A Pulumi archive input as zip bytes (an ``AssetArchive`` is zipped here, deterministically)."""
        return archive_bytes(self.inputs[key])


def _operation_name(client: Any, method: str) -> str:
    return str(client.meta.method_to_api_mapping[method])


def archive_bytes(archive: Any) -> bytes:
    if isinstance(archive, pulumi.FileArchive):
        return Path(archive.path).read_bytes()
    if isinstance(archive, pulumi.AssetArchive):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
            for entry in sorted(archive.assets):
                asset = archive.assets[entry]
                if not isinstance(asset, pulumi.FileAsset):
                    raise DeployError(f"archive entry {entry} is a {type(asset).__name__}, not a file")
                info = zipfile.ZipInfo(entry, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                zipped.writestr(info, Path(asset.path).read_bytes())
        return buffer.getvalue()
    raise DeployError(f"unsupported archive {type(archive).__name__}")


class EmulatorMocks(pulumi.runtime.Mocks):
    """Pulumi's mock interface, answered by the emulator (see the module docstring)."""

    def __init__(self, emulator: Emulator, *, stack: str, tamper: Tamper | None = None) -> None:
        self.emulator = emulator
        self.stack = stack
        self.tamper = tamper
        self.applied: list[Applied] = []
        self.default_tags: dict[str, dict[str, str]] = {}
        self._account: str | None = None

    @property
    def account(self) -> str:
        if self._account is None:
            self._account = str(self.emulator.client("sts").get_caller_identity()["Account"])
        return self._account

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        inputs = dict(args.inputs)
        if not args.custom:  # a component: a grouping in Pulumi's graph, nothing in AWS
            return f"{args.name}-component", inputs
        if self.tamper is not None:
            inputs = self.tamper(args.typ, args.name, inputs)
        if args.typ == "pulumi:providers:aws":
            self.default_tags[args.name] = _provider_tags(inputs)
        entry = row(args.typ)
        provider = (args.provider or "").split("::")
        tags = self.default_tags.get(provider[-2] if len(provider) >= 2 else "", {})
        apply = Apply(
            type_token=args.typ,
            name=args.name,
            inputs=inputs,
            stack=self.stack,
            account=self.account,
            tags=tags,
            emulator=self.emulator,
        )
        try:
            resource_id, outputs = entry.apply(apply)
        except (DeployError, UnknownResourceType):
            raise
        except Exception as error:
            raise DeployError(f"{args.typ} {args.name}: {type(error).__name__}: {error}") from error
        state = {**inputs, **outputs}
        self.applied.append(
            Applied(
                type=args.typ,
                name=args.name,
                inputs=inputs,
                id=resource_id,
                outputs=state,
                emulated=type(entry).__name__ == "Emulated",
            )
        )
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        token, params = args.token, dict(args.args)
        region = self.emulator.region
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            identity = self.emulator.client("sts").get_caller_identity()
            return {
                "accountId": identity["Account"],
                "arn": identity["Arn"],
                "userId": identity["UserId"],
                "id": identity["Account"],
            }, []
        if token == "aws:index/getRegion:getRegion":
            return {
                "name": region,
                "region": region,
                "id": region,
                "endpoint": f"ec2.{region}.amazonaws.com",
            }, []
        if token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}, []
        if token == "aws:ssm/getParameter:getParameter":
            name = params["name"]
            if name.startswith(POWERTOOLS_PARAMETER_PREFIX):
                value = powertools_layer(self.emulator, name)
                parameter = {"Name": name, "Type": "String", "Value": value, "Version": 1}
            else:
                parameter = self.emulator.client("ssm").get_parameter(
                    Name=name, WithDecryption=bool(params.get("withDecryption", True))
                )["Parameter"]
            return {
                "name": parameter["Name"],
                "type": parameter["Type"],
                "value": parameter["Value"],
                "insecureValue": parameter["Value"],
                "version": parameter.get("Version", 1),
                "arn": f"arn:aws:ssm:{region}:{self.account}:parameter{name}",
                "id": name,
                "withDecryption": bool(params.get("withDecryption", True)),
            }, []
        if token == "aws:ssm/getParametersByPath:getParametersByPath":
            return self._parameters_by_path(params), []
        raise UnknownResourceType(
            f"invoke {token} has no answer in local_stack.deploy.EmulatorMocks.call: "
            "add one (from the emulator)"
        )

    def _parameters_by_path(self, params: dict[str, Any]) -> dict[str, Any]:
        """SSM's listing under a path: AWS's public Powertools path lists the installed release only (what the
        local stack runs), any other path is the emulator's own listing."""
        from importlib.metadata import version

        path, region = str(params["path"]).rstrip("/"), self.emulator.region
        if (path + "/").startswith(POWERTOOLS_PARAMETER_PREFIX):
            name = f"{path}/{version('aws-lambda-powertools')}"
            listed = [{"Name": name, "Type": "String", "Value": powertools_layer(self.emulator, name)}]
        else:
            listed = self.emulator.client("ssm").get_parameters_by_path(
                Path=path, Recursive=bool(params.get("recursive", False))
            )["Parameters"]
        return {
            "path": path,
            "names": [parameter["Name"] for parameter in listed],
            "types": [parameter["Type"] for parameter in listed],
            "values": [parameter["Value"] for parameter in listed],
            "arns": [f"arn:aws:ssm:{region}:{self.account}:parameter{p['Name']}" for p in listed],
            "id": path,
        }


def _provider_tags(inputs: Mapping[str, Any]) -> dict[str, str]:
    tags = inputs.get("defaultTags")
    if isinstance(tags, str):
        tags = json.loads(tags)
    return dict((tags or {}).get("tags") or {})


def powertools_layer(emulator: Emulator, parameter: str) -> str:
    """AWS's public Powertools parameter, answered with a layer of the same name published in the emulator.

    The layer's account and content cannot be AWS's here; what is checked instead: the parameter names the
    Powertools version the handlers run locally (the installed package), so AWS and the laptop run the same.
    """
    from importlib.metadata import version

    architecture, runtime, wanted = parameter.removeprefix(POWERTOOLS_PARAMETER_PREFIX).split("/")
    installed = version("aws-lambda-powertools")
    if installed != wanted:
        raise DeployError(
            f"the program pins Powertools {wanted} ({parameter}) but the local stack runs {installed}: "
            "align infra.functions.POWERTOOLS_VERSION and the installed aws-lambda-powertools"
        )
    layer_name = f"AWSLambdaPowertoolsPythonV3-{runtime.replace('.', '')}-{architecture}"
    lam = emulator.client("lambda")
    existing = lam.list_layer_versions(LayerName=layer_name).get("LayerVersions", [])
    if existing:
        arn = str(existing[0]["LayerVersionArn"])
    else:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zipped:
            zipped.writestr(
                "python/STAND-IN.txt",
                f"Stand-in for AWS's {layer_name} (Powertools {wanted}); "
                "the local stack runs the installed one.\n",
            )
        arn = str(
            lam.publish_layer_version(
                LayerName=layer_name,
                Content={"ZipFile": buffer.getvalue()},
                CompatibleRuntimes=[runtime],
                CompatibleArchitectures=[architecture],
            )["LayerVersionArn"]
        )
    parts = arn.split(":")
    parts[4] = POWERTOOLS_ACCOUNT
    return ":".join(parts)


def run_main(
    config: Mapping[str, str],
    mocks: pulumi.runtime.Mocks,
    *,
    stack: str,
    monitor: MockMonitor | None = None,
) -> dict[str, Any]:
    """Run ``__main__.py`` once under ``mocks`` (and ``monitor``, if given) with ``config``; its exports.

    Shared by ``deploy`` and the infra tests' recording run, so that both run the program the same way.
    """
    from pulumi.runtime import settings as pulumi_settings
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    def program() -> None:
        runpy.run_path(str(MAIN), run_name="__main__")

    def run_in_loop() -> dict[str, Any]:
        pulumi.runtime.set_all_config(dict(config))
        pulumi_settings.ROOT.set(None)
        pulumi_settings.SETTINGS.outputs.clear()
        pulumi.runtime.set_mocks(mocks, project=spec.PROJECT, stack=stack, preview=False, monitor=monitor)
        root = pulumi_settings.get_root_resource()
        _sync_await(run_pulumi_func(program))
        exported = getattr(root, "outputs", {}) or {}
        return {key: _sync_await(pulumi.Output.from_input(value).future()) for key, value in exported.items()}

    def run() -> dict[str, Any]:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            return run_in_loop()
        finally:
            asyncio.set_event_loop(None)
            loop.close()

    # A fresh thread and context: Pulumi keeps its settings (config, root stack) in context variables, which
    # the copy keeps away from the caller, and walks the Python stack on each registration to record source
    # positions (a shallow stack is faster; under pytest's ~50 frames it was a quarter of each run).
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(contextvars.copy_context().run, run).result()


def deploy(
    endpoint_url: str,
    *,
    stack: str,
    config: Mapping[str, str],
    tamper: Tamper | None = None,
) -> Deployment:
    """Run ``__main__.py`` under Pulumi's engine with :class:`EmulatorMocks`; the applied deployment."""
    region = config.get("aws:region") or "us-east-1"
    emulator = Emulator(endpoint_url, region)
    mocks = EmulatorMocks(emulator, stack=stack, tamper=tamper)
    started = time.perf_counter()
    exports = run_main(config, mocks, stack=stack)
    return Deployment(
        stack=stack,
        region=region,
        account=mocks.account,
        exports=exports,
        resources=mocks.applied,
        seconds=time.perf_counter() - started,
    )
