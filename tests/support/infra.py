"""One recording Mocks class and a fixture that runs the real Pulumi program (``__main__.py``) under it.

How a program run (``local_stack.deploy.run_main``, which the emulator's deploy uses too) works under mocks
with pulumi 3.272 (found by reading ``pulumi.runtime.mocks``/``stack``):
  0. each run gets its own thread, event loop and copy of the context variables Pulumi keeps its state in;
  1. ``pulumi.runtime.set_all_config`` installs the stack's config (``project:key`` → string);
  2. the root-resource context variable is cleared, then ``pulumi.runtime.set_mocks(mocks, monitor=...)``
     creates a fresh root ``Stack`` wired to a ``MockMonitor``;
  3. ``_sync_await(run_pulumi_func(lambda: runpy.run_path("__main__.py")))`` runs the program, then
     pumps the event loop until every registration RPC and every pending Output has finished — the same
     wait the real entry point (``run_in_stack``) does, so all resources are recorded when it returns;
  4. stack exports are read from the root stack's ``outputs`` and resolved with ``Output.future()``.
``MockResourceArgs`` carries no dependency/parent/ignore-changes/protect data, so ``RecordingMonitor`` (a
``MockMonitor``) adds what the engine would see on the wire for each registration.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor

from infra import layer, spec
from local_stack.deploy import run_main
from local_stack.deployment import stack_config

PROJECT_DIR = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
REGION = "eu-west-1"
POWERTOOLS_ARN = f"arn:aws:lambda:{REGION}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:27"
SSM_PARAMETERS_BY_PATH_TOKEN = "aws:ssm/getParametersByPath:getParametersByPath"
CALLER_IDENTITY_TOKEN = "aws:index/getCallerIdentity:getCallerIdentity"
PUBLISHED_VERSION = "7"
"""The version a published function reports (a stack that has released a few times already)."""


@dataclass
class Recorded:
    """One resource registration: what AWS would be asked to create, and how it hangs in the graph."""

    type: str
    name: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    provider: str = ""
    urn: str = ""
    parent: str = ""
    dependencies: list[str] = field(default_factory=list)
    ignore_changes: list[str] = field(default_factory=list)
    custom_timeouts: dict[str, str] = field(default_factory=dict)
    protect: bool = False
    """Pulumi's ``protect`` option as registered (``pulumi destroy`` refuses to delete the resource)."""


class RecordingMocks(pulumi.runtime.Mocks):
    """Answers like AWS would (ARNs, URLs, names derived from the inputs) and records every call."""

    def __init__(self, region: str, ssm_parameters: Mapping[str, str] | None = None) -> None:
        self.region = region
        self.ssm_parameters = dict(ssm_parameters) if ssm_parameters is not None else default_ssm_parameters()
        self.resources: list[Recorded] = []
        self.invokes: list[tuple[str, dict[str, Any]]] = []

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{ACCOUNT}:{resource}"

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        inputs = dict(args.inputs)
        out = dict(inputs)
        name = args.name
        physical = inputs.get("name") or f"{name}-0a1b2c3"
        resource_id = f"{name}-id"
        typ = args.typ
        if typ == "aws:s3/bucket:Bucket":
            out["bucket"] = resource_id = f"{name}-0a1b2c3"
            out["arn"] = f"arn:aws:s3:::{out['bucket']}"
        elif typ == "aws:sqs/queue:Queue":
            out["name"] = physical
            out["arn"] = self._arn("sqs", physical)
            out["url"] = resource_id = f"https://sqs.{self.region}.amazonaws.com/{ACCOUNT}/{physical}"
        elif typ == "aws:dynamodb/table:Table":
            out["name"] = resource_id = physical
            out["arn"] = self._arn("dynamodb", f"table/{physical}")
        elif typ == "aws:lambda/function:Function":
            out["arn"] = self._arn("lambda", f"function:{physical}")
            out["version"] = PUBLISHED_VERSION if inputs.get("publish") else "$LATEST"
            out["qualifiedArn"] = f"{out['arn']}:{out['version']}"
            resource_id = physical
        elif typ == "aws:lambda/alias:Alias":
            out["arn"] = self._arn("lambda", f"function:{inputs['functionName']}:{inputs['name']}")
        elif typ == "aws:lambda/layerVersion:LayerVersion":
            out["arn"] = self._arn("lambda", f"layer:{inputs['layerName']}:1")
        elif typ == "aws:iam/role:Role":
            out["name"] = resource_id = physical
            out["arn"] = f"arn:aws:iam::{ACCOUNT}:role{inputs.get('path') or '/'}{physical}"
        elif typ == "aws:cloudwatch/logGroup:LogGroup":
            out["name"] = resource_id = physical
            out["arn"] = self._arn("logs", f"log-group:{physical}")
        elif typ == "aws:apigatewayv2/api:Api":
            resource_id = "a1b2c3d4e5"
            out["apiEndpoint"] = f"https://{resource_id}.execute-api.{self.region}.amazonaws.com"
            out["executionArn"] = self._arn("execute-api", resource_id)
        elif typ == "aws:apigatewayv2/integration:Integration":
            resource_id = "integ01"
        elif typ == "aws:sns/topic:Topic":
            out["name"] = physical
            out["arn"] = self._arn("sns", physical)
        elif typ == "aws:cloudwatch/metricAlarm:MetricAlarm":
            out["name"] = physical
            out["arn"] = self._arn("cloudwatch", f"alarm:{physical}")
        elif typ == "aws:kms/key:Key":
            out["keyId"] = resource_id = "1234abcd-12ab-34cd-56ef-1234567890ab"
            out["arn"] = self._arn("kms", f"key/{resource_id}")
        elif typ == "command:local:Command":
            out["stdout"] = ""
        else:
            out.setdefault("arn", self._arn("mock", name))
        self.resources.append(
            Recorded(type=typ, name=name, inputs=inputs, outputs=out, provider=args.provider or "")
        )
        return resource_id, out

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        self.invokes.append((args.token, dict(args.args)))
        if args.token == SSM_PARAMETERS_BY_PATH_TOKEN:
            path = args.args["path"].rstrip("/") + "/"
            listed = {name: value for name, value in self.ssm_parameters.items() if name.startswith(path)}
            return {
                "path": args.args["path"],
                "names": list(listed),
                "values": list(listed.values()),
                "types": ["String"] * len(listed),
                "arns": [f"arn:aws:ssm:{self.region}::parameter{name}" for name in listed],
                "id": args.args["path"],
            }, []
        if args.token == CALLER_IDENTITY_TOKEN:
            return {
                "accountId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:user/test",
                "userId": "AIDTEST",
                "id": ACCOUNT,
            }, []
        raise AssertionError(f"unexpected invoke {args.token}: add an answer to RecordingMocks.call")


class RecordingMonitor(MockMonitor):
    """Adds the registration metadata the mocks do not see: parent, dependencies, ignore_changes."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.meta: dict[tuple[str, str], dict[str, Any]] = {}
        self.registered_outputs: dict[str, dict[str, Any]] = {}

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        self.meta[(request.type, request.name)] = {
            "urn": response.urn,
            "parent": request.parent,
            "dependencies": list(request.dependencies),
            "ignore_changes": list(request.ignoreChanges),
            "custom_timeouts": {
                key: getattr(request.customTimeouts, key)
                for key in ("create", "update", "delete")
                if getattr(request.customTimeouts, key)
            },
            "protect": bool(request.protect),
        }
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        self.registered_outputs[request.urn] = rpc.deserialize_properties(request.outputs)
        return super().RegisterResourceOutputs(request)


@dataclass
class Program:
    """The result of one program run: recorded resources, invokes and resolved stack outputs."""

    mocks: RecordingMocks
    outputs: dict[str, Any]
    config: dict[str, str]
    component_outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """``register_outputs`` of each component, by URN (values as sent on the wire)."""

    @property
    def resources(self) -> list[Recorded]:
        return self.mocks.resources

    def resources_of_type(self, typ: str) -> list[Recorded]:
        return [resource for resource in self.resources if resource.type == typ]

    def one(self, typ: str, name_contains: str = "") -> Recorded:
        matches = [r for r in self.resources_of_type(typ) if name_contains in r.name]
        assert len(matches) == 1, (
            f"expected one {typ} named *{name_contains}*, got {[r.name for r in matches]}"
        )
        return matches[0]

    def by_urn(self, urn: str) -> Recorded:
        return next(resource for resource in self.resources if resource.urn == urn)

    def created_functions(self) -> dict[str, Recorded]:
        """Lambda functions by their physical name."""
        return {r.inputs["name"]: r for r in self.resources_of_type("aws:lambda/function:Function")}

    def function(self, key: str) -> Recorded:
        """A function by its ``spec.resource_names`` key, e.g. ``writer_function``."""
        return self.created_functions()[spec.resource_names(self.outputs["stack"])[key]]

    def depends_on(self, resource: Recorded, other: Recorded) -> bool:
        return other.urn in resource.dependencies

    def policy_of_role(self, role: Recorded) -> dict[str, Any]:
        policies = [
            p
            for p in self.resources_of_type("aws:iam/rolePolicy:RolePolicy")
            if p.inputs["role"] == role.outputs["name"]
        ]
        assert len(policies) == 1, f"role {role.name} should have exactly one inline policy"
        return json.loads(policies[0].inputs["policy"])

    def role_of_function(self, function: Recorded) -> Recorded:
        return next(
            r
            for r in self.resources_of_type("aws:iam/role:Role")
            if r.outputs["arn"] == function.inputs["role"]
        )


def default_ssm_parameters() -> dict[str, str]:
    """What AWS publishes under the Powertools path: the pinned release and ``latest``."""
    from infra.functions import POWERTOOLS_LAYER_PARAMETER, POWERTOOLS_LAYER_PATH

    return {
        POWERTOOLS_LAYER_PARAMETER: POWERTOOLS_ARN,
        f"{POWERTOOLS_LAYER_PATH}/latest": POWERTOOLS_ARN.replace(":27", ":28"),
    }


def run_program(
    stack: str = "dev",
    config: Mapping[str, str | None] | None = None,
    *,
    ssm_parameters: Mapping[str, str] | None = None,
) -> Program:
    """Run ``__main__.py`` once under fresh mocks with the stack's YAML config plus ``config`` overrides.

    ``config`` keys are bare ``serverless-pipeline`` keys (or ``aws:...``); a ``None`` value removes the key.
    ``ssm_parameters`` replaces the public SSM parameters the mocks know (default: the Powertools ones).
    """
    values = stack_config(stack, config)
    values.setdefault("aws:region", REGION)
    region = values["aws:region"]

    mocks = RecordingMocks(region, ssm_parameters)
    monitor = RecordingMonitor(mocks)
    outputs = run_main(values, mocks, stack=stack, monitor=monitor)

    for resource in mocks.resources:
        meta = monitor.meta.get((resource.type, resource.name), {})
        resource.urn = meta.get("urn", "")
        resource.parent = meta.get("parent", "")
        resource.dependencies = meta.get("dependencies", [])
        resource.ignore_changes = meta.get("ignore_changes", [])
        resource.custom_timeouts = meta.get("custom_timeouts", {})
        resource.protect = meta.get("protect", False)
    return Program(mocks=mocks, outputs=outputs, config=values, component_outputs=monitor.registered_outputs)


_SHARED: dict[tuple[str, tuple[tuple[str, str | None], ...]], Program] = {}


def shared_program(
    runner: Callable[..., Program], stack: str, config: Mapping[str, str | None] | None = None
) -> Program:
    """One run per (stack, config) for the tests that only read it: the judges look at every resource of
    the same runs, so each test need not pay for its own. Never mutate what it returns."""
    key = (stack, tuple(sorted((config or {}).items())))
    if key not in _SHARED:
        _SHARED[key] = runner(stack, config)
    return _SHARED[key]


def pytest_configure(config: pytest.Config) -> None:
    # pulumi_aws announces its deprecated aliases at import; they are not ours to fix.
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:pulumi_aws.*")


# --- the layer cache: pre-seeded so the program never runs pip under test ----------------------------


TINY_PACKAGE = "pipeline_layer_probe"


def make_local_wheel(directory: Path) -> Path:
    """Build a tiny pure-Python wheel with pip (offline), to feed pip --no-index --find-links."""
    source = directory / "src"
    (source / TINY_PACKAGE).mkdir(parents=True)
    (source / TINY_PACKAGE / "__init__.py").write_text(
        '"""Probe package for layer build tests."""\nVALUE = 1\n'
    )
    (source / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
        f'[project]\nname = "{TINY_PACKAGE}"\nversion = "1.0"\n'
    )
    # A self-contained PEP 517 backend: no setuptools download, no network.
    (source / "backend.py").write_text(_BACKEND)
    wheels = directory / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "-w", str(wheels), str(source)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return wheels


_BACKEND = """
import base64, hashlib, os, zipfile

NAME, VERSION = "pipeline_layer_probe", "1.0"
DIST = f"{NAME}-{VERSION}"


def _record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    files = {
        f"{NAME}/__init__.py": open(os.path.join(NAME, "__init__.py"), "rb").read(),
        f"{DIST}.dist-info/METADATA": f"Metadata-Version: 2.1\\nName: {NAME}\\nVersion: {VERSION}\\n"
        .encode(),
        f"{DIST}.dist-info/WHEEL": b"Wheel-Version: 1.0\\nGenerator: probe\\nRoot-Is-Purelib: true\\n"
        b"Tag: py3-none-any\\n",
    }
    lines = [*(_record_line(p, d) for p, d in files.items()), f"{DIST}.dist-info/RECORD,,"]
    record = "\\n".join(lines) + "\\n"
    name = f"{DIST}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as wheel:
        for path, data in files.items():
            wheel.writestr(path, data)
        wheel.writestr(f"{DIST}.dist-info/RECORD", record)
    return name
"""


@pytest.fixture(scope="session")
def local_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_local_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="session")
def seeded_build_dir(tmp_path_factory: pytest.TempPathFactory, local_wheels: Path) -> Path:
    """A build dir whose cache already holds the layer zip for ``LAYER_REQUIREMENTS``.

    The zip is made by our own ``build_layer`` from the local probe wheel, then placed under the production
    requirements' cache key: the program finds it and does not run pip (no network in tests).
    """
    directory = tmp_path_factory.mktemp("build")
    built = layer.build_layer(
        [f"{TINY_PACKAGE}==1.0"],
        directory=directory,
        index_args=["--no-index", "--find-links", str(local_wheels)],
    )
    seeded = layer.layer_zip_path(layer.LAYER_REQUIREMENTS, directory=directory)
    seeded.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(built, seeded)
    return directory


@pytest.fixture
def program_runner(
    seeded_build_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Program]]:
    """``program_runner(stack="dev", config={...})`` → a fresh run of the real program under mocks."""
    monkeypatch.setenv(layer.BUILD_DIR_VARIABLE, str(seeded_build_dir))
    monkeypatch.chdir(PROJECT_DIR)
    yield run_program


@pytest.fixture
def dev(program_runner: Callable[..., Program]) -> Program:
    """The dev stack as committed in ``Pulumi.dev.yaml``."""
    return program_runner("dev")


@pytest.fixture
def prod(program_runner: Callable[..., Program]) -> Program:
    """The prod stack as committed in ``Pulumi.prod.yaml``."""
    return program_runner("prod")
