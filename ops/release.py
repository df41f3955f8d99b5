"""The Writer's CodeDeploy release: start it, wait for it, report it, stop it. Plain boto3, no Pulumi.

Two callers share this module, so what an operator sees is what the deployment step did:

- ``pulumi up``'s release step runs ``python -m ops.release deploy ...`` whenever the Writer publishes a new
  version. ``deploy`` starts a deployment that shifts the alias ``live`` to that version and *waits* for it
  (through the whole canary), so ``pulumi up`` succeeds only when the deployment succeeded. A failed or
  stopped deployment exits 1 with CodeDeploy's own error and rollback reason; Pulumi then records no new
  state for the step, and the next ``pulumi up`` runs it again. ``deploy`` is idempotent: when ``live``
  already serves the version it does nothing, and when a deployment to that very version is still running
  (an interrupted ``pulumi up``) it waits for that one instead of starting a second.
- ``pipeline-ctl release [status|wait|stop]`` calls :func:`release`.

The AppSpec is built from what AWS says *now* (the version ``live`` serves, the newest published version),
never from what Pulumi last saw: CodeDeploy may have rolled back since, and ``$LATEST`` is not a release.

Example::

    result = deploy(function_name="serverless-pipeline-dev-writer", alias="live", target_version="7",
                    application=..., deployment_group=..., session=session_for(AwsAccess(region="eu-west-1")))
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from infra.config import AssumeRole
from infra.spec import codedeploy_names
from ops.errors import OperationError
from ops.release_alarms import ReleaseAlarmError, point_version_alarms

if TYPE_CHECKING:
    from ops.target import Target

TERMINAL_STATUSES = frozenset({"Succeeded", "Failed", "Stopped"})
"""CodeDeploy statuses after which nothing more happens to a deployment."""
ACTIVE_STATUSES = ("Created", "Queued", "InProgress", "Baking", "Ready")
"""Every status before a terminal one (``Baking``/``Ready`` belong to other platforms; harmless to ask)."""

DEFAULT_WAIT_TIMEOUT = 900.0
DEFAULT_POLL_SECONDS = 10.0
WAIT_MARGIN_SECONDS = 600.0
"""Added to a deployment configuration's own duration: CodeDeploy's start-up, alarm checks, final shift."""

LIMIT_EXCEEDED = "DeploymentLimitExceededException"


class ReleaseError(RuntimeError):
    """The release could not be started, read or stopped, or it failed; the message says why in one line."""


class ReleaseTimeout(ReleaseError, TimeoutError):
    """Waiting gave up before the deployment finished (the deployment itself continues in AWS)."""


class ReleaseFailed(ReleaseError):
    """The deployment ended Failed or Stopped; ``status`` carries CodeDeploy's error and rollback."""

    def __init__(self, message: str, status: ReleaseStatus) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, kw_only=True)
class ReleaseResult:
    """What ``start_release``/``deploy`` did: started (and maybe finished) a deployment, or skipped."""

    started: bool
    function_name: str
    alias: str
    current_version: str
    target_version: str
    deployment_id: str | None = None
    reason: str = ""
    status: str | None = None
    """The deployment's final status when ``deploy`` waited for it."""
    judged_by: tuple[str, ...] = ()
    """The alarms on the target version alone that CodeDeploy watches (``ops.release_alarms``)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class ReleaseStatus:
    """One deployment of the group, as CodeDeploy reports it."""

    deployment_id: str
    status: str
    created_at: str | None = None
    completed_at: str | None = None
    current_version: str | None = None
    target_version: str | None = None
    error: str | None = None
    error_code: str | None = None
    rollback: str | None = None
    """CodeDeploy's rollback message, e.g. why the alias went back, and the rollback deployment's id."""

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def succeeded(self) -> bool:
        return self.status == "Succeeded"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "finished": self.finished}

    def failure(self, application: str, deployment_group: str) -> str:
        """One line: which deployment ended how, CodeDeploy's reason and rollback, and what to do next."""
        parts = [f"deployment {self.deployment_id} of {application}/{deployment_group} ended {self.status}"]
        if self.error_code or self.error:
            parts.append(f"{self.error_code or 'error'}: {self.error or '(no message)'}")
        if self.rollback:
            parts.append(f"rollback: {self.rollback}")
        versions = f" (version {self.target_version} is not served)" if self.target_version else ""
        parts.append(f"fix the cause, then run `pulumi up` again: it retries the release{versions}")
        return "; ".join(parts)


# --- sessions and calls --------------------------------------------------------------------------------


def session_for(
    *,
    region: str | None,
    profile: str | None = None,
    assume_roles: Sequence[AssumeRole] = (),
    endpoint_url: str | None = None,
) -> boto3.Session:
    """A session with the stack's AWS access: region, profile, then each role of the chain in order."""
    session = boto3.Session(region_name=region, profile_name=profile)
    for number, role in enumerate(assume_roles):
        kwargs: dict[str, Any] = {
            "RoleArn": role.role_arn,
            "RoleSessionName": role.session_name or f"serverless-pipeline-release-{number}",
        }
        if role.external_id:
            kwargs["ExternalId"] = role.external_id
        sts = session.client("sts", endpoint_url=endpoint_url)
        credentials = _call(f"assuming role {role.role_arn}", sts.assume_role, **kwargs)["Credentials"]
        session = boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=region,
        )
    return session


def _client(service: str, session: boto3.Session | None, endpoint_url: str | None) -> Any:
    if session is None:
        # boto3's default session keeps its loaded service models: cheap to call repeatedly while polling.
        return boto3.client(service, endpoint_url=endpoint_url)
    return session.client(service, endpoint_url=endpoint_url)


def _failed(what: str, error: ClientError) -> ReleaseError:
    info = error.response.get("Error", {})
    return ReleaseError(f"{what} failed: {info.get('Code', 'Error')}: {info.get('Message', '')}")


def _call(what: str, operation: Callable[..., Any], **kwargs: Any) -> Any:
    """Run one AWS call; an AWS or transport error becomes a one-line ``ReleaseError``."""
    try:
        return operation(**kwargs)
    except ClientError as error:
        raise _failed(what, error) from error
    except BotoCoreError as error:
        raise ReleaseError(f"{what} failed: {error}") from error


# --- versions and the AppSpec --------------------------------------------------------------------------


def _version_number(version: str) -> int:
    return int(version) if version.isdigit() else -1


def latest_published_version(lambda_client: Any, function_name: str) -> str:
    """The highest numbered version of the function (``$LATEST`` is not a published version)."""
    versions: list[str] = []
    marker: str | None = None
    while True:
        kwargs: dict[str, Any] = {"FunctionName": function_name}
        if marker:
            kwargs["Marker"] = marker
        page = _call(
            f"listing versions of {function_name}", lambda_client.list_versions_by_function, **kwargs
        )
        versions += [entry["Version"] for entry in page.get("Versions", []) if entry["Version"].isdigit()]
        marker = page.get("NextMarker")
        if not marker:
            break
    if not versions:
        raise ReleaseError(f"{function_name} has no published version: deploy it with publish=True first")
    return max(versions, key=_version_number)


def appspec(*, function_name: str, alias: str, current_version: str, target_version: str) -> dict[str, Any]:
    """The AppSpec CodeDeploy needs to shift ``alias`` from one version to another."""
    return {
        "version": 0.0,
        "Resources": [
            {
                "writer": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {
                        "Name": function_name,
                        "Alias": alias,
                        "CurrentVersion": current_version,
                        "TargetVersion": target_version,
                    },
                }
            }
        ],
    }


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


def wait_timeout(deployment_config_name: str) -> float:
    """Seconds the release step waits: the configuration's own duration plus ``WAIT_MARGIN_SECONDS``."""
    return deployment_minutes(deployment_config_name) * 60.0 + WAIT_MARGIN_SECONDS


# --- deployments -----------------------------------------------------------------------------------------


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None


def _status_of(info: dict[str, Any]) -> ReleaseStatus:
    current = target = None
    content = info.get("revision", {}).get("appSpecContent", {}).get("content")
    if content:
        try:
            properties = next(iter(json.loads(content)["Resources"][0].values()))["Properties"]
            current, target = str(properties["CurrentVersion"]), str(properties["TargetVersion"])
        except (ValueError, KeyError, IndexError, StopIteration, TypeError):
            pass  # a deployment started by someone else, with another AppSpec shape: versions unknown
    error = info.get("errorInformation") or {}
    rollback_info = info.get("rollbackInfo") or {}
    rollback = rollback_info.get("rollbackMessage") or None
    if rollback_info.get("rollbackDeploymentId"):
        rollback = (
            f"{rollback or 'rolled back'} (rollback deployment {rollback_info['rollbackDeploymentId']})"
        )
    return ReleaseStatus(
        deployment_id=info["deploymentId"],
        status=info.get("status", "Unknown"),
        created_at=_iso(info.get("createTime")),
        completed_at=_iso(info.get("completeTime")),
        current_version=current,
        target_version=target,
        error=error.get("message") or None,
        error_code=error.get("code") or None,
        rollback=rollback,
    )


def deployment_status(
    deployment_id: str, *, session: boto3.Session | None = None, endpoint_url: str | None = None
) -> ReleaseStatus:
    """One deployment, now."""
    codedeploy = _client("codedeploy", session, endpoint_url)
    info = _call(f"reading deployment {deployment_id}", codedeploy.get_deployment, deploymentId=deployment_id)
    return _status_of(info["deploymentInfo"])


def _active_deployment(codedeploy: Any, application: str, deployment_group: str) -> ReleaseStatus | None:
    ids = _call(
        f"listing deployments of {application}/{deployment_group}",
        codedeploy.list_deployments,
        applicationName=application,
        deploymentGroupName=deployment_group,
        includeOnlyStatuses=list(ACTIVE_STATUSES),
    ).get("deployments", [])
    if not ids:
        return None
    infos = _call("reading deployments", codedeploy.batch_get_deployments, deploymentIds=ids[:25]).get(
        "deploymentsInfo", []
    )
    running = [_status_of(info) for info in infos]
    return next((status for status in running if not status.finished), None)


def release_status(
    *,
    application: str,
    deployment_group: str,
    session: boto3.Session | None = None,
    endpoint_url: str | None = None,
) -> ReleaseStatus | None:
    """The group's running deployment if there is one, else its newest, else ``None``.

    ListDeployments promises no order and pages 100 ids at a time, so the running one is asked for first
    (a group runs at most one deployment at a time); otherwise the newest of the first page is reported.
    """
    codedeploy = _client("codedeploy", session, endpoint_url)
    where = f"listing deployments of {application}/{deployment_group}"
    group = {"applicationName": application, "deploymentGroupName": deployment_group}
    ids = _call(where, codedeploy.list_deployments, **group, includeOnlyStatuses=list(ACTIVE_STATUSES)).get(
        "deployments", []
    ) or _call(where, codedeploy.list_deployments, **group).get("deployments", [])
    infos: list[dict[str, Any]] = []
    for start in range(0, len(ids), 25):  # BatchGetDeployments takes at most 25 ids
        chunk = ids[start : start + 25]
        infos += _call("reading deployments", codedeploy.batch_get_deployments, deploymentIds=chunk).get(
            "deploymentsInfo", []
        )
    if not infos:
        return None
    newest = max(infos, key=lambda info: info.get("createTime") or datetime.min.replace(tzinfo=UTC))
    return _status_of(newest)


def start_release(
    *,
    function_name: str,
    alias: str,
    application: str,
    deployment_group: str,
    target_version: str | None = None,
    session: boto3.Session | None = None,
    endpoint_url: str | None = None,
) -> ReleaseResult:
    """Start shifting ``alias`` to ``target_version`` (default: the newest published version).

    Skipped when ``alias`` already serves it. While another deployment runs, CodeDeploy refuses a new one
    (``DeploymentLimitExceededException``); the error then names the running deployment and what to do."""
    if target_version is not None and not target_version.isdigit():
        raise ReleaseError(f"target version must be a published version number, got {target_version!r}")
    lambda_client = _client("lambda", session, endpoint_url)
    current = _call(
        f"reading alias {function_name}:{alias}",
        lambda_client.get_alias,
        FunctionName=function_name,
        Name=alias,
    )["FunctionVersion"]
    target = target_version or latest_published_version(lambda_client, function_name)
    if not current.isdigit():
        raise ReleaseError(f"alias {alias} points at {current!r}; it must point at a published version")
    if current == target:
        return ReleaseResult(
            started=False,
            function_name=function_name,
            alias=alias,
            current_version=current,
            target_version=target,
            reason=f"alias {alias} already serves version {target}",
        )
    content = json.dumps(
        appspec(function_name=function_name, alias=alias, current_version=current, target_version=target),
        sort_keys=True,
    )
    codedeploy = _client("codedeploy", session, endpoint_url)
    try:  # the new version's own alarms, pointed at it before CodeDeploy starts watching them
        judged = point_version_alarms(
            codedeploy=codedeploy,
            cloudwatch=_client("cloudwatch", session, endpoint_url),
            application=application,
            deployment_group=deployment_group,
            version=target,
        )
    except ReleaseAlarmError as error:
        raise ReleaseError(str(error)) from error
    where = f"starting a deployment of {application}/{deployment_group}"
    try:
        response = codedeploy.create_deployment(
            applicationName=application,
            deploymentGroupName=deployment_group,
            revision={
                "revisionType": "AppSpecContent",
                "appSpecContent": {
                    "content": content,
                    "sha256": hashlib.sha256(content.encode()).hexdigest(),
                },
            },
            description=f"{function_name}:{alias} {current} -> {target}",
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == LIMIT_EXCEEDED:
            raise _limit_exceeded(codedeploy, application, deployment_group) from error
        raise _failed(where, error) from error
    except BotoCoreError as error:
        raise ReleaseError(f"{where} failed: {error}") from error
    return ReleaseResult(
        started=True,
        function_name=function_name,
        alias=alias,
        current_version=current,
        target_version=target,
        deployment_id=response["deploymentId"],
        reason=f"shifting {alias} from version {current} to {target}"
        + ("" if judged.alarms else f" (no alarm of the group watches version {target} alone)"),
        judged_by=judged.alarms,
    )


class DeploymentInProgress(ReleaseError):
    """CodeDeploy refused a new deployment because ``running`` has not finished."""

    def __init__(self, message: str, running: ReleaseStatus | None) -> None:
        super().__init__(message)
        self.running = running


def _limit_exceeded(codedeploy: Any, application: str, deployment_group: str) -> DeploymentInProgress:
    running = _active_deployment(codedeploy, application, deployment_group)
    what = (
        f"deployment {running.deployment_id} ({running.status}, version {running.current_version} -> "
        f"{running.target_version})"
        if running
        else "another deployment"
    )
    return DeploymentInProgress(
        f"CodeDeploy refused a new deployment of {application}/{deployment_group} ({LIMIT_EXCEEDED}): "
        f"{what} is still running. Wait for it (`pipeline-ctl release wait`) or stop it, which rolls it back "
        "(`pipeline-ctl release stop`), then run `pulumi up` again",
        running,
    )


def _poll_until_finished(
    look: Callable[[], ReleaseStatus],
    *,
    timeout: float,
    poll: float,
    sleep: Callable[[float], None],
    late: Callable[[ReleaseStatus], str],
    progress: Callable[[ReleaseStatus], None] | None = None,
) -> ReleaseStatus:
    """``look`` every ``poll`` seconds until its status is finished; ``ReleaseTimeout(late(status))`` after
    ``timeout`` seconds. ``progress``, if given, is told each change of status."""
    deadline = time.monotonic() + timeout
    last = ""
    while True:
        status = look()
        if progress is not None and status.status != last:
            progress(status)
            last = status.status
        if status.finished:
            return status
        if time.monotonic() >= deadline:
            raise ReleaseTimeout(late(status))
        sleep(max(0.0, min(poll, deadline - time.monotonic())))


def wait_for_deployment(
    deployment_id: str,
    *,
    timeout: float = DEFAULT_WAIT_TIMEOUT,
    poll: float = DEFAULT_POLL_SECONDS,
    session: boto3.Session | None = None,
    endpoint_url: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[ReleaseStatus], None] | None = None,
) -> ReleaseStatus:
    """Poll one deployment until it finishes; ``ReleaseTimeout`` after ``timeout`` seconds.

    ``progress`` is told each status change (the release step prints them, so ``pulumi up`` shows the canary).
    """
    return _poll_until_finished(
        lambda: deployment_status(deployment_id, session=session, endpoint_url=endpoint_url),
        timeout=timeout,
        poll=poll,
        sleep=sleep,
        progress=progress,
        late=lambda status: (
            f"deployment {deployment_id} still {status.status} after {timeout:g}s; it continues in AWS: "
            "run `pulumi up` again to keep waiting for it, or `pipeline-ctl release stop` to roll it back"
        ),
    )


def wait_release(
    *,
    application: str,
    deployment_group: str,
    timeout: float = DEFAULT_WAIT_TIMEOUT,
    poll: float = DEFAULT_POLL_SECONDS,
    session: boto3.Session | None = None,
    endpoint_url: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> ReleaseStatus:
    """Poll until the group's newest deployment finishes; ``ReleaseTimeout`` after ``timeout`` seconds."""

    def newest() -> ReleaseStatus:
        status = release_status(
            application=application,
            deployment_group=deployment_group,
            session=session,
            endpoint_url=endpoint_url,
        )
        if status is None:
            raise ReleaseError(f"{application}/{deployment_group} has no deployment to wait for")
        return status

    return _poll_until_finished(
        newest,
        timeout=timeout,
        poll=poll,
        sleep=sleep,
        late=lambda status: (
            f"deployment {status.deployment_id} still {status.status} after {timeout:g}s "
            "(it continues; run `pipeline-ctl release wait` again or `release stop`)"
        ),
    )


def stop_release(
    *,
    application: str,
    deployment_group: str,
    session: boto3.Session | None = None,
    endpoint_url: str | None = None,
) -> ReleaseStatus:
    """Stop the running deployment and roll the alias back to the version it served before."""
    status = release_status(
        application=application, deployment_group=deployment_group, session=session, endpoint_url=endpoint_url
    )
    if status is None or status.finished:
        raise ReleaseError(f"{application}/{deployment_group} has no deployment in progress to stop")
    codedeploy = _client("codedeploy", session, endpoint_url)
    _call(
        f"stopping deployment {status.deployment_id}",
        codedeploy.stop_deployment,
        deploymentId=status.deployment_id,
        autoRollbackEnabled=True,
    )
    stopped = release_status(
        application=application, deployment_group=deployment_group, session=session, endpoint_url=endpoint_url
    )
    return stopped or status


# --- the release step ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Waiting:
    """How ``deploy`` waits: for how long, how often it asks, how it sleeps and whom it tells."""

    timeout: float = DEFAULT_WAIT_TIMEOUT
    poll: float = DEFAULT_POLL_SECONDS
    sleep: Callable[[float], None] = field(default=time.sleep)
    progress: Callable[[ReleaseStatus], None] | None = None


def deploy(
    *,
    function_name: str,
    alias: str,
    application: str,
    deployment_group: str,
    target_version: str | None = None,
    waiting: Waiting | None = None,
    session: boto3.Session | None = None,
    endpoint_url: str | None = None,
) -> ReleaseResult:
    """Release ``target_version`` and wait until CodeDeploy says how it ended.

    Returns when ``live`` serves the version (now or already). Raises ``ReleaseFailed`` when the deployment
    ended Failed/Stopped, ``DeploymentInProgress`` when another version's deployment blocks the group, and
    ``ReleaseTimeout`` when waiting gave up; each message is one line saying what to do."""
    waiting = waiting or Waiting()
    common = {"session": session, "endpoint_url": endpoint_url}
    try:
        result = start_release(
            function_name=function_name,
            alias=alias,
            application=application,
            deployment_group=deployment_group,
            target_version=target_version,
            **common,
        )
    except DeploymentInProgress as busy:
        running = busy.running
        # An interrupted `pulumi up` left this very release running: wait for it rather than fail.
        if running is None or target_version is None or running.target_version != target_version:
            raise
        result = ReleaseResult(
            started=True,
            function_name=function_name,
            alias=alias,
            current_version=running.current_version or "",
            target_version=target_version,
            deployment_id=running.deployment_id,
            reason=f"resuming deployment {running.deployment_id} to version {target_version}",
        )
    if not result.started or result.deployment_id is None:
        return result
    final = wait_for_deployment(
        result.deployment_id,
        timeout=waiting.timeout,
        poll=waiting.poll,
        sleep=waiting.sleep,
        progress=waiting.progress,
        **common,
    )
    if not final.succeeded:
        raise ReleaseFailed(final.failure(application, deployment_group), final)
    return ReleaseResult(**{**asdict(result), "status": final.status})


# --- pipeline-ctl release --------------------------------------------------------------------------------


class Action(StrEnum):
    STATUS = "status"
    WAIT = "wait"
    STOP = "stop"


def release(
    target: Target,
    action: Action = Action.STATUS,
    *,
    timeout: float = DEFAULT_WAIT_TIMEOUT,
    poll: float = DEFAULT_POLL_SECONDS,
) -> ReleaseStatus | None:
    """The newest Writer deployment after ``action``; ``None`` for ``status`` when there never was one.

    The local stack has no CodeDeploy: that is a usage error."""
    from ops.target import require_deployed

    require_deployed(target, "CodeDeploy release")
    names = codedeploy_names(target.stack)
    common = {
        "application": names["application"],
        "deployment_group": names["deployment_group"],
        "session": target.session,
        "endpoint_url": target.endpoint_url,
    }
    try:
        if action is Action.WAIT:
            return wait_release(**common, timeout=timeout, poll=poll)
        if action is Action.STOP:
            return stop_release(**common)
        return release_status(**common)
    except ReleaseError as error:
        raise OperationError(str(error)) from None


# --- `python -m ops.release`: what the Pulumi program's release step runs --------------------------------


def _assumed_role(text: str) -> AssumeRole:
    """``ROLE_ARN[,session=NAME][,external-id=ID]`` (one ``--assume-role`` per role of the chain)."""
    arn, *options = text.split(",")
    values: dict[str, str] = {}
    for option in options:
        key, _, value = option.partition("=")
        if key not in ("session", "external-id") or not value:
            raise argparse.ArgumentTypeError(f"unknown role option {option!r} (session=, external-id=)")
        values[key] = value
    return AssumeRole(role_arn=arn, session_name=values.get("session"), external_id=values.get("external-id"))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ops.release",
        description="Release the Writer through CodeDeploy (prints one JSON document).",
    )
    parser.add_argument("--region", help="AWS region (default: the environment's)")
    parser.add_argument("--profile", help="AWS profile")
    parser.add_argument(
        "--assume-role",
        action="append",
        default=[],
        type=_assumed_role,
        metavar="ARN[,session=NAME][,external-id=ID]",
        help="a role to assume, in chain order (the stack's aws:assumeRoles)",
    )
    parser.add_argument("--endpoint-url", help="AWS endpoint (tests, emulators)")
    parser.add_argument("--application", required=True)
    parser.add_argument("--deployment-group", required=True)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("deploy", "start a deployment to the given version and wait until it ends (the release step)"),
        ("start", "start a deployment to the newest (or given) version, without waiting"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("--function", required=True, dest="function_name")
        command.add_argument("--alias", required=True)
        command.add_argument("--target-version", required=name == "deploy")
        if name == "deploy":
            command.add_argument("--timeout", type=float, default=DEFAULT_WAIT_TIMEOUT)
            command.add_argument("--poll", type=float, default=DEFAULT_POLL_SECONDS)
    commands.add_parser("status", help="the newest deployment")
    wait = commands.add_parser("wait", help="wait until the newest deployment finishes")
    wait.add_argument("--timeout", type=float, default=DEFAULT_WAIT_TIMEOUT)
    wait.add_argument("--poll", type=float, default=DEFAULT_POLL_SECONDS)
    commands.add_parser("stop", help="stop the running deployment (the alias rolls back)")
    return parser


def _print_progress(status: ReleaseStatus) -> None:
    print(
        f"deployment {status.deployment_id}: {status.status} "
        f"(version {status.current_version} -> {status.target_version})",
        file=sys.stderr,
        flush=True,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Exit 0 on success, 1 when the release failed (one line on stderr), 2 on bad usage (argparse)."""
    args = _parser().parse_args(argv)
    document: dict[str, Any] | None
    try:
        session = session_for(
            region=args.region,
            profile=args.profile,
            assume_roles=args.assume_role,
            endpoint_url=args.endpoint_url,
        )
        common: dict[str, Any] = {
            "application": args.application,
            "deployment_group": args.deployment_group,
            "session": session,
            "endpoint_url": args.endpoint_url,
        }
        if args.command == "deploy":
            document = deploy(
                function_name=args.function_name,
                alias=args.alias,
                target_version=args.target_version,
                waiting=Waiting(timeout=args.timeout, poll=args.poll, progress=_print_progress),
                **common,
            ).to_dict()
        elif args.command == "start":
            document = start_release(
                function_name=args.function_name,
                alias=args.alias,
                target_version=args.target_version,
                **common,
            ).to_dict()
        elif args.command == "status":
            found = release_status(**common)
            document = found.to_dict() if found else None
        elif args.command == "wait":
            finished = wait_release(timeout=args.timeout, poll=args.poll, **common)
            document = finished.to_dict()
            if not finished.succeeded:
                print(json.dumps(document, sort_keys=True))
                print(f"error: {finished.failure(args.application, args.deployment_group)}", file=sys.stderr)
                return 1
        else:
            document = stop_release(**common).to_dict()
    except ReleaseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except BotoCoreError as error:  # e.g. a profile that does not exist, no credentials at all
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(document, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
