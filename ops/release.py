"""The Writer's CodeDeploy release: start it, wait for it, report it, stop it. Plain boto3, no Pulumi.

Two callers share this library, so what an operator sees is what the deployment step did:

- ``pulumi up``'s release step (``ops.release_step``, the module the program names) calls :func:`deploy`
  whenever the Writer publishes a new version: it starts a deployment that shifts the alias ``live`` to that
  version and *waits* for it, through the whole canary. ``deploy`` is idempotent: when ``live`` already serves
  the version it does nothing, and when a deployment to that very version is still running (a ``pulumi up``
  interrupted, or whose credentials expired while it waited) it waits for that one instead of starting a
  second.
- ``pipeline-ctl release [status|wait|stop]`` calls :func:`release`.

The AppSpec is built from what AWS says *now* (the version ``live`` serves, the newest published version),
never from what Pulumi last saw: CodeDeploy may have rolled back since, and ``$LATEST`` is not a release.

Example::

    result = deploy(function_name="serverless-pipeline-dev-writer", alias="live", target_version="7",
                    application=..., deployment_group=..., session=sessions.session(region="eu-west-1"))
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from infra.spec import RELEASE_POLL_SECONDS, codedeploy_names
from ops.errors import OperationError

if TYPE_CHECKING:
    from ops.target import Target

TERMINAL_STATUSES = frozenset({"Succeeded", "Failed", "Stopped"})
"""CodeDeploy statuses after which nothing more happens to a deployment."""
ACTIVE_STATUSES = ("Created", "Queued", "InProgress", "Baking", "Ready")
"""Every status before a terminal one (``Baking``/``Ready`` belong to other platforms; harmless to ask)."""

DEFAULT_WAIT_TIMEOUT = 900.0
"""How long ``pipeline-ctl release wait`` waits unless told otherwise (the release step is told, by the
program, from the deployment configuration: ``infra.spec.release_wait_seconds``)."""

LIMIT_EXCEEDED = "DeploymentLimitExceededException"


class ReleaseError(RuntimeError):
    """The release could not be started, read or stopped, or it failed; the message says why in one line."""

    expired_credentials: bool = False
    """AWS refused the call because the caller's credentials expired (the deployment itself goes on)."""


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
    """The alarms on the target version alone that CodeDeploy watched (set by ``ops.release_step``)."""

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


# --- calls --------------------------------------------------------------------------------


def _client(service: str, session: boto3.Session | None, endpoint_url: str | None) -> Any:
    if session is None:
        # boto3's default session keeps its loaded service models: cheap to call repeatedly while polling.
        return boto3.client(service, endpoint_url=endpoint_url)
    return session.client(service, endpoint_url=endpoint_url)


EXPIRED_CREDENTIALS = frozenset({"ExpiredToken", "ExpiredTokenException", "RequestExpired"})
"""Error codes AWS answers when the caller's session credentials ran out (STS sessions last an hour or so)."""


def _failed(what: str, error: ClientError) -> ReleaseError:
    info = error.response.get("Error", {})
    code = info.get("Code", "Error")
    failed = ReleaseError(f"{what} failed: {code}: {info.get('Message', '')}")
    failed.expired_credentials = code in EXPIRED_CREDENTIALS
    return failed


def aws_call(what: str, operation: Callable[..., Any], **kwargs: Any) -> Any:
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
        page = aws_call(
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
    info = aws_call(
        f"reading deployment {deployment_id}", codedeploy.get_deployment, deploymentId=deployment_id
    )
    return _status_of(info["deploymentInfo"])


def active_deployment_ids(codedeploy: Any, application: str, deployment_group: str) -> list[str]:
    """The group's deployments CodeDeploy still counts as running (``ACTIVE_STATUSES``)."""
    return list(
        aws_call(
            f"listing deployments of {application}/{deployment_group}",
            codedeploy.list_deployments,
            applicationName=application,
            deploymentGroupName=deployment_group,
            includeOnlyStatuses=list(ACTIVE_STATUSES),
        ).get("deployments", [])
    )


def _active_deployment(codedeploy: Any, application: str, deployment_group: str) -> ReleaseStatus | None:
    ids = active_deployment_ids(codedeploy, application, deployment_group)
    if not ids:
        return None
    infos = aws_call("reading deployments", codedeploy.batch_get_deployments, deploymentIds=ids[:25]).get(
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
    ids = aws_call(
        where, codedeploy.list_deployments, **group, includeOnlyStatuses=list(ACTIVE_STATUSES)
    ).get("deployments", []) or aws_call(where, codedeploy.list_deployments, **group).get("deployments", [])
    infos: list[dict[str, Any]] = []
    for start in range(0, len(ids), 25):  # BatchGetDeployments takes at most 25 ids
        chunk = ids[start : start + 25]
        infos += aws_call("reading deployments", codedeploy.batch_get_deployments, deploymentIds=chunk).get(
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
    current = aws_call(
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
        reason=f"shifting {alias} from version {current} to {target}",
    )


class DeploymentInProgress(ReleaseError):
    """CodeDeploy refused a new deployment because ``running`` has not finished."""

    def __init__(self, message: str, running: ReleaseStatus | None) -> None:
        super().__init__(message)
        self.running = running


def _limit_exceeded(codedeploy: Any, application: str, deployment_group: str) -> DeploymentInProgress:
    running = _active_deployment(codedeploy, application, deployment_group)
    return _busy(application, deployment_group, running, refused=True)


def _busy(
    application: str, deployment_group: str, running: ReleaseStatus | None, *, refused: bool = False
) -> DeploymentInProgress:
    """A group runs one deployment at a time: say which one blocks it (and whether CodeDeploy already
    refused ours) and what to do."""
    what = (
        f"deployment {running.deployment_id} ({running.status}, version {running.current_version} -> "
        f"{running.target_version})"
        if running
        else "another deployment"
    )
    why = (
        f"CodeDeploy refused a new deployment ({LIMIT_EXCEEDED})" if refused else "a group runs one at a time"
    )
    return DeploymentInProgress(
        f"{application}/{deployment_group} is busy: {what} is still running ({why}). Wait for it "
        "(`pipeline-ctl release wait`) or stop it, which rolls it back (`pipeline-ctl release stop`), "
        "then run `pulumi up` again",
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
    poll: float = RELEASE_POLL_SECONDS,
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
    poll: float = RELEASE_POLL_SECONDS,
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
    aws_call(
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
    poll: float = RELEASE_POLL_SECONDS
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
    codedeploy = _client("codedeploy", session, endpoint_url)
    running = _active_deployment(codedeploy, application, deployment_group)
    if running is not None:
        result = _resume(running, function_name=function_name, alias=alias, target_version=target_version,
                         busy=_busy(application, deployment_group, running))  # fmt: skip
    else:
        try:
            result = start_release(
                function_name=function_name,
                alias=alias,
                application=application,
                deployment_group=deployment_group,
                target_version=target_version,
                **common,
            )
        except DeploymentInProgress as busy:  # one started between our look and our start
            if busy.running is None:
                raise
            result = _resume(busy.running, function_name=function_name, alias=alias,
                             target_version=target_version, busy=busy)  # fmt: skip
    if not result.started or result.deployment_id is None:
        return result
    try:
        final = wait_for_deployment(
            result.deployment_id,
            timeout=waiting.timeout,
            poll=waiting.poll,
            sleep=waiting.sleep,
            progress=waiting.progress,
            **common,
        )
    except ReleaseError as error:
        if not error.expired_credentials:
            raise
        raise ReleaseError(
            f"{error}; the credentials expired while waiting for deployment {result.deployment_id}, which "
            "continues in AWS: run `pulumi up` again with fresh credentials and the release step waits for "
            "that deployment instead of starting another"
        ) from error
    if not final.succeeded:
        raise ReleaseFailed(final.failure(application, deployment_group), final)
    return ReleaseResult(**{**asdict(result), "status": final.status})


def _resume(
    running: ReleaseStatus,
    *,
    function_name: str,
    alias: str,
    target_version: str | None,
    busy: DeploymentInProgress,
) -> ReleaseResult:
    """A deployment to ``target_version`` already runs (an earlier step that stopped waiting): wait for it.
    Any other running deployment blocks the group: ``busy`` says which and what to do."""
    if target_version is None or running.target_version != target_version:
        raise busy
    return ReleaseResult(
        started=True,
        function_name=function_name,
        alias=alias,
        current_version=running.current_version or "",
        target_version=target_version,
        deployment_id=running.deployment_id,
        reason=f"resuming deployment {running.deployment_id} to version {target_version}",
    )


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
    poll: float = RELEASE_POLL_SECONDS,
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
