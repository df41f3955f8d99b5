"""Which stack ``pipeline-ctl`` talks to, and how: one resolution shared by every command.

A stack is known to the CLI only through its outputs document, so the CLI never guesses a resource name.
The local stack writes it to ``.pipeline/local.json`` under the directory ``local up`` ran in, and the CLI
uses it only through the per-user record of running local stacks (``ops.local_registry``): a document this
user's own running ``local up`` registered, never one merely found in a parent directory. It is found from
a subdirectory and from elsewhere; ``--local-dir`` picks one when several run. The
local stack always runs in one region with dummy credentials, so ``--region``/``--profile`` are ignored for
it and the target carries a note saying so (the CLI prints it once on stderr);
a deployed stack's Pulumi program writes it to the SSM parameter ``/serverless-pipeline/<stack>/outputs``;
when that parameter cannot be read and the Pulumi CLI is installed, ``pulumi stack output --json`` is the
fallback (a developer who deployed from this checkout has it, a CI runner with only AWS access does not).

Example::

    target = resolve_target("dev", region="eu-west-1")
    target.client("sqs").get_queue_attributes(QueueUrl=target.outputs["writer_queue_url"], ...)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from infra import sessions
from infra.private_files import NotPrivate, read_private
from infra.spec import (
    DEFAULT_EMULATOR_PORT,
    LOCAL_HOST,
    LOCAL_OUTPUTS_PATH,
    LOCAL_STACK,
    OPTIONAL_OUTPUT_KEYS,
    OUTPUT_KEYS,
    outputs_parameter_name,
)
from ops import local_registry
from ops.errors import InvalidInput, NotFound, OperationError

PULUMI_TIMEOUT_SECONDS = 120
LOCAL_HINT = "start it with `pipeline-ctl local up`"
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, user_agent_extra="pipeline-ctl")


@dataclass(kw_only=True)
class Target:
    """A resolved stack: its outputs document and a session to call its resources with."""

    stack: str
    outputs: dict[str, str]
    session: boto3.Session
    endpoint_url: str | None
    region: str
    workdir: Path | None = None
    """The local stack's working directory (where ``local up`` ran); None for a deployed stack."""
    notes: list[str] = field(default_factory=list)
    """What the operator should know about how the target was resolved (options that were ignored)."""
    _clients: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def is_local(self) -> bool:
        return self.stack == LOCAL_STACK

    def client(self, service: str) -> Any:
        """A botocore client for the stack's region and endpoint, created once per service.

        botocore clients are thread-safe but sessions are not, hence the lock around creation only.
        """
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self.session.client(
                    service, region_name=self.region, endpoint_url=self.endpoint_url, config=CLIENT_CONFIG
                )
            return self._clients[service]


def resolve_target(
    stack: str = LOCAL_STACK,
    *,
    region: str | None = None,
    profile: str | None = None,
    workdir: Path | None = None,
    local_dir: Path | None = None,
) -> Target:
    """Find a stack's outputs document and build a :class:`Target` for it.

    For the local stack: ``local_dir`` picks a running one by the directory it was started in
    (``--local-dir``); ``workdir`` names the one this process itself runs (the demo); without either, the
    one whose directory holds the current one, else the only one running (:func:`find_local_stack`).

    Raises :class:`~ops.errors.NotFound` when the stack cannot be found, :class:`~ops.errors.OperationError`
    when its document is unreadable or incomplete; botocore's ``ProfileNotFound`` for an unknown profile.
    """
    if stack == LOCAL_STACK:
        found = in_process_stack(workdir) if workdir else find_local_stack(Path.cwd(), local_dir=local_dir)
        ignored = [flag for flag, value in (("--region", region), ("--profile", profile)) if value]
        notes = []
        if ignored:
            notes.append(
                f"{' and '.join(ignored)} ignored: the local stack always runs in "
                f"{found.outputs['region']} with dummy credentials"
            )
        # The session, not only the clients, must be in the stack's region: ops.release takes a session.
        return Target(
            stack=stack,
            outputs=found.outputs,
            session=sessions.local_session(found.outputs["region"]),
            endpoint_url=found.outputs["endpoint_url"],
            region=found.outputs["region"],
            workdir=found.workdir,
            notes=notes,
        )
    endpoint_url = os.environ.get("AWS_ENDPOINT_URL") or None
    lookup = sessions.session(profile=profile, region=region)
    if lookup.region_name is None:
        lookup = sessions.session(profile=profile, region=_stack_region(stack))
    outputs = read_deployed_outputs(stack, lookup, endpoint_url=endpoint_url)
    region = region or outputs["region"]
    return Target(
        stack=stack,
        outputs=outputs,
        session=sessions.session(profile=profile, region=region),
        endpoint_url=endpoint_url,
        region=region,
    )


@dataclass(frozen=True, kw_only=True)
class LocalStackFound:
    outputs: dict[str, str]
    workdir: Path


LOCAL_DIR_VARIABLE = "PIPELINE_LOCAL_DIR"
"""The environment variable of ``--local-dir`` (read by the CLI layer, passed as ``local_dir``)."""


def find_local_stack(start: Path, *, local_dir: Path | None = None) -> LocalStackFound:
    """The local stack to talk to, among those this user's own ``local up`` registered (and only those:
    ``ops.local_registry``): the one started in ``local_dir`` when given; else the one whose directory holds
    ``start``; else the only one running. Several running elsewhere is a usage error that lists them and
    names ``--local-dir``."""
    start = start.resolve()
    stacks = [entry for entry in local_registry.running() if entry.outputs() is not None]
    if local_dir is not None:
        wanted = local_dir.expanduser().resolve()
        chosen = next((entry for entry in stacks if Path(entry.workdir) == wanted), None)
        if chosen is None:
            raise NotFound(
                f"no local stack of yours was started in {wanted} ({_listing(stacks) or 'none is running'})",
                hint="run `pipeline-ctl local up` there, or pick a running one with --local-dir",
            )
        return _found(chosen)
    owner = local_registry.owning(start, stacks)
    if owner is not None:
        return _found(owner)
    if len(stacks) == 1:
        return _found(stacks[0])
    if stacks:
        raise InvalidInput(
            f"{len(stacks)} local stacks are running: {_listing(stacks)}",
            hint=f"choose one with --local-dir DIR (or {LOCAL_DIR_VARIABLE}), run the command inside its "
            "directory, or stop the others with `pipeline-ctl local down` there",
        )
    planted = next(
        (directory for directory in (start, *start.parents) if (directory / LOCAL_OUTPUTS_PATH).is_file()),
        None,
    )
    ignored = (
        f"; {planted / LOCAL_OUTPUTS_PATH} was ignored: no running `local up` of yours registered it"
        if planted is not None
        else ""
    )
    problem = local_registry.registry_problem()
    if problem is not None:
        ignored += f"; the record of running stacks was not read: {problem}"
    raise NotFound(f"no local stack of yours is running{ignored}", hint=start_hint())


def _listing(stacks: list[local_registry.RunningStack]) -> str:
    return ", ".join(f"{entry.workdir} (pid {entry.pid})" for entry in stacks)


def _found(entry: local_registry.RunningStack) -> LocalStackFound:
    document = entry.outputs()
    if document is None:  # it stopped between the listing and now
        raise NotFound(f"the local stack in {entry.workdir} has stopped", hint=start_hint())
    where = str(entry.outputs_path)
    return LocalStackFound(
        outputs=validate_outputs(document, stack=LOCAL_STACK, where=where), workdir=Path(entry.workdir)
    )


def in_process_stack(workdir: Path) -> LocalStackFound:
    """The local stack this very process runs in ``workdir`` (``pipeline-ctl demo``, tests): its document
    is used only when this process wrote it (owner-only, naming this pid)."""
    path = workdir.resolve() / LOCAL_OUTPUTS_PATH
    try:
        text = read_private(path, limit=local_registry.MAX_DOCUMENT_BYTES)
    except FileNotFoundError:
        raise NotFound(f"no local stack ({path} not found)", hint=start_hint()) from None
    except NotPrivate as error:
        raise OperationError(f"{path} is not used: {error}") from None
    except OSError as error:
        raise OperationError(f"cannot read {path}: {error.strerror}") from None
    document = _parse(text.decode("utf-8", "replace"), where=str(path))
    if not isinstance(document, dict) or str(document.get("pid")) != str(os.getpid()):
        raise OperationError(f"{path} is not used: it was not written by this process's local stack")
    return LocalStackFound(
        outputs=validate_outputs(document, stack=LOCAL_STACK, where=str(path)), workdir=workdir.resolve()
    )


def start_hint() -> str:
    """How to start a local stack that will actually start: free ports when the default one is taken."""
    if port_in_use(DEFAULT_EMULATOR_PORT):
        return (
            f"start it with `pipeline-ctl local up --port 0 --api-port 0` "
            f"(port {DEFAULT_EMULATOR_PORT} is in use by another program)"
        )
    return LOCAL_HINT


def port_in_use(port: int) -> bool:
    """True when something accepts connections on 127.0.0.1:``port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((LOCAL_HOST, port)) == 0


def read_deployed_outputs(stack: str, session: boto3.Session, *, endpoint_url: str | None) -> dict[str, str]:
    """SSM first (what every deployed stack writes), then ``pulumi stack output`` if Pulumi is installed."""
    name = outputs_parameter_name(stack)
    try:
        ssm = session.client("ssm", endpoint_url=endpoint_url, config=CLIENT_CONFIG)
        text = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    except (ClientError, BotoCoreError) as error:
        pulumi = shutil.which("pulumi")
        if pulumi is None:
            if isinstance(error, ClientError) and error.response["Error"]["Code"] == "ParameterNotFound":
                raise NotFound(
                    f"no stack {stack!r}: SSM parameter {name} not found in {session.region_name}",
                    hint="check --stack, --region and --profile, or deploy it with `pulumi up`",
                ) from None
            raise
        return _from_pulumi(pulumi, stack)
    return validate_outputs(_parse(text, where=f"SSM {name}"), stack=stack, where=f"SSM {name}")


def _stack_region(stack: str) -> str:
    """With no region given anywhere: the ``aws:region`` of the project's ``Pulumi.<stack>.yaml``.

    Without it the outputs parameter cannot even be looked up; saying "no AWS region configured" for a
    mistyped stack name sends the operator after the wrong problem, so the error names the stack and the
    parameter, and lists the stacks the project does know.
    """
    project = _pulumi_project()
    name = outputs_parameter_name(stack)
    if project is None:
        raise InvalidInput(
            f"no stack {stack!r}: its outputs parameter {name} cannot be looked up without a region",
            hint="pass --region or set AWS_REGION",
        )
    config = project / f"Pulumi.{stack}.yaml"
    known = sorted(path.name[len("Pulumi.") : -len(".yaml")] for path in project.glob("Pulumi.*.yaml"))
    try:
        match = _REGION_LINE.search(config.read_text(encoding="utf-8"))
    except OSError:
        raise NotFound(
            f"no stack {stack!r}: its outputs parameter {name} was not found "
            f"(no {config.name} in {project}; known stacks: {', '.join(known) or 'none'})",
            hint="check --stack, or pass --region to look it up in AWS",
        ) from None
    if match is None:
        raise InvalidInput(
            f"no region for stack {stack!r}: {config} sets no aws:region",
            hint="pass --region or set AWS_REGION",
        )
    return match.group(1)


_REGION_LINE = re.compile(r"^\s*aws:region:\s*[\"']?([a-z0-9-]+)", re.MULTILINE)


def _pulumi_project() -> Path | None:
    """The directory holding ``Pulumi.yaml``: the current directory or a parent, else this checkout."""
    start = Path.cwd().resolve()
    for directory in (start, *start.parents, Path(__file__).resolve().parents[1]):
        if (directory / "Pulumi.yaml").is_file():
            return directory
    return None


def validate_outputs(document: Any, *, stack: str, where: str) -> dict[str, str]:
    """Check the the outputs document keys are all there, so a command never fails half-way on a KeyError."""
    if not isinstance(document, dict):
        raise OperationError(f"{where}: the outputs document is not a JSON object")
    required = list(OUTPUT_KEYS) + (["endpoint_url"] if stack == LOCAL_STACK else [])
    missing = [key for key in required if not document.get(key)]
    # Optional keys (absent from documents written before they existed) are still checked when present.
    missing += [key for key in OPTIONAL_OUTPUT_KEYS if key in document and not document[key]]
    if missing:
        raise OperationError(
            f"{where}: the outputs document lacks {', '.join(missing)}",
            hint="redeploy the stack (or restart the local stack) to rewrite it",
        )
    return {key: str(value) for key, value in document.items()}


def _parse(text: str, *, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise OperationError(f"{where}: not valid JSON ({error.msg} at line {error.lineno})") from None


def _from_pulumi(pulumi: str, stack: str) -> dict[str, str]:
    command = [pulumi, "stack", "output", "--json", "--stack", stack]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PULUMI_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        shown = " ".join(command[1:])
        raise OperationError(f"`pulumi {shown}` did not answer in {PULUMI_TIMEOUT_SECONDS} s") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise NotFound(
            f"no stack {stack!r}: neither SSM nor `pulumi stack output` has its outputs ({last})",
            hint="check --stack, --region and --profile",
        )
    where = f"pulumi stack output --stack {stack}"
    return validate_outputs(_parse(done.stdout, where=where), stack=stack, where=where)


def require_deployed(target: Target, what: str) -> None:
    """For commands that only make sense on AWS (CodeDeploy): a usage error on the local stack."""
    if target.is_local:
        raise InvalidInput(f"the local stack has no {what}", hint="use --stack NAME")
