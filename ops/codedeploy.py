"""Start, follow and stop the Writer's CodeDeploy release. Plain boto3: no Pulumi import.

Two callers share this module: the Pulumi program, which runs ``python -m ops.codedeploy start ...`` when it
publishes a new Writer version, and ``pipeline-ctl release`` for operators. The AppSpec is built from what AWS
says *now* (the alias's current version, the newest published version), never from what Pulumi last saw:
CodeDeploy may have rolled back since, and a release from ``$LATEST`` is not a release at all.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

TERMINAL_STATUSES = frozenset({"Succeeded", "Failed", "Stopped"})
ACTIVE_STATUSES = ("Created", "Queued", "InProgress", "Baking", "Ready")
"""Every status before a terminal one (``Baking``/``Ready`` belong to other platforms; harmless to ask)."""
"""CodeDeploy statuses after which nothing more happens to a deployment."""

DEFAULT_WAIT_TIMEOUT = 900.0
DEFAULT_POLL_SECONDS = 10.0


class ReleaseError(RuntimeError):
    """The release could not be started, read or stopped; the message says why in one line."""


class ReleaseTimeout(ReleaseError, TimeoutError):
    """``wait_release`` gave up before the deployment finished (the deployment itself continues)."""


@dataclass(frozen=True, kw_only=True)
class ReleaseResult:
    """What ``start_release`` did: started a deployment, or skipped because the alias already serves it."""

    started: bool
    function_name: str
    alias: str
    current_version: str
    target_version: str
    deployment_id: str | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class ReleaseStatus:
    """The newest deployment of the group, as CodeDeploy reports it."""

    deployment_id: str
    status: str
    created_at: str | None = None
    completed_at: str | None = None
    current_version: str | None = None
    target_version: str | None = None
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def succeeded(self) -> bool:
        return self.status == "Succeeded"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "finished": self.finished}


def _client(service: str, session: boto3.Session | None, endpoint_url: str | None) -> Any:
    if session is None:
        # boto3's default session keeps its loaded service models: cheap to call repeatedly while polling.
        return boto3.client(service, endpoint_url=endpoint_url)
    return session.client(service, endpoint_url=endpoint_url)


def _call(what: str, operation: Callable[..., Any], **kwargs: Any) -> Any:
    """Run one AWS call; an AWS or transport error becomes a one-line ``ReleaseError``."""
    try:
        return operation(**kwargs)
    except ClientError as error:
        info = error.response.get("Error", {})
        raise ReleaseError(
            f"{what} failed: {info.get('Code', 'Error')}: {info.get('Message', '')}"
        ) from error
    except BotoCoreError as error:
        raise ReleaseError(f"{what} failed: {error}") from error


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
    """Shift ``alias`` to ``target_version`` (default: the newest published version) through CodeDeploy."""
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
    response = _call(
        f"starting a deployment of {application}/{deployment_group}",
        codedeploy.create_deployment,
        applicationName=application,
        deploymentGroupName=deployment_group,
        revision={
            "revisionType": "AppSpecContent",
            "appSpecContent": {"content": content, "sha256": hashlib.sha256(content.encode()).hexdigest()},
        },
        description=f"{function_name}:{alias} {current} -> {target}",
    )
    return ReleaseResult(
        started=True,
        function_name=function_name,
        alias=alias,
        current_version=current,
        target_version=target,
        deployment_id=response["deploymentId"],
        reason=f"shifting {alias} from version {current} to {target}",
    )


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
    return ReleaseStatus(
        deployment_id=info["deploymentId"],
        status=info.get("status", "Unknown"),
        created_at=_iso(info.get("createTime")),
        completed_at=_iso(info.get("completeTime")),
        current_version=current,
        target_version=target,
        error=error.get("message") or None,
    )


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
    """Poll until the newest deployment finishes; ``ReleaseTimeout`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        status = release_status(
            application=application,
            deployment_group=deployment_group,
            session=session,
            endpoint_url=endpoint_url,
        )
        if status is None:
            raise ReleaseError(f"{application}/{deployment_group} has no deployment to wait for")
        if status.finished:
            return status
        if time.monotonic() >= deadline:
            raise ReleaseTimeout(
                f"deployment {status.deployment_id} still {status.status} after {timeout:g}s "
                "(it continues; run `pipeline-ctl release wait` again or `release stop`)"
            )
        sleep(max(0.0, min(poll, deadline - time.monotonic())))


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


# --- `python -m ops.codedeploy`: what the Pulumi program's release command runs ----------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ops.codedeploy",
        description="Release the Writer through CodeDeploy (prints one JSON document).",
    )
    parser.add_argument("--region", help="AWS region (default: the environment's)")
    parser.add_argument("--profile", help="AWS profile")
    parser.add_argument("--endpoint-url", help="AWS endpoint (tests, emulators)")
    parser.add_argument("--application", required=True)
    parser.add_argument("--deployment-group", required=True)
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start", help="start a deployment to the newest (or given) version")
    start.add_argument("--function", required=True, dest="function_name")
    start.add_argument("--alias", required=True)
    start.add_argument("--target-version")
    commands.add_parser("status", help="the newest deployment")
    wait = commands.add_parser("wait", help="wait until the newest deployment finishes")
    wait.add_argument("--timeout", type=float, default=DEFAULT_WAIT_TIMEOUT)
    wait.add_argument("--poll", type=float, default=DEFAULT_POLL_SECONDS)
    commands.add_parser("stop", help="stop the running deployment (the alias rolls back)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Exit 0 on success, 1 when the operation failed (one line on stderr), 2 on bad usage (argparse)."""
    args = _parser().parse_args(argv)
    session = boto3.Session(region_name=args.region, profile_name=args.profile)
    common: dict[str, Any] = {
        "application": args.application,
        "deployment_group": args.deployment_group,
        "session": session,
        "endpoint_url": args.endpoint_url,
    }
    document: dict[str, Any] | None
    try:
        if args.command == "start":
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
                print(f"error: deployment {finished.deployment_id} ended {finished.status}", file=sys.stderr)
                return 1
        else:
            document = stop_release(**common).to_dict()
    except ReleaseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(document, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
