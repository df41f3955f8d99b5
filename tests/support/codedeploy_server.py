"""A real HTTP server on 127.0.0.1 answering as CodeDeploy and Lambda do, for the Writer's release code.

Why not moto: its deployments never leave ``Created``, it has no StopDeployment, and it never refuses a second
deployment with ``DeploymentLimitExceededException``. Here each deployment plays a script chosen by the test
(``Scenario``): some polls ``InProgress`` (the canary), then ``Succeeded`` (and the alias moves, as CodeDeploy
moves it), ``Failed`` or ``Stopped`` with the error and rollback information CodeDeploy returns. botocore
talks to it with ``endpoint_url`` over real HTTP, so requests are serialised and answers parsed by botocore:

- CodeDeploy: JSON 1.1 protocol, ``POST /`` with ``X-Amz-Target: CodeDeploy_20141006.<Operation>``; errors are
  HTTP 400 with ``{"__type": <code>, "message": ...}``.
- Lambda: REST-JSON, ``GET /2015-03-31/functions/<name>/aliases/<alias>`` and ``.../versions``; errors carry
  ``x-amzn-ErrorType``.

``CanaryAws`` plays the canary itself against another AWS (moto) instead of a script: it routes part of the
alias's invocations to the new version, reads the deployment group's alarms on each poll and rolls the alias
back when one is in ALARM (``GetDeploymentGroup`` answers with the alarm list the test gives).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

TARGET_PREFIX = "CodeDeploy_20141006."
ROLLBACK_MESSAGE = (
    "Automatic rollback triggered: CloudWatch alarm serverless-pipeline-prod-writer-errors fired"
)


@dataclass
class Scenario:
    """How the next deployments end: ``in_progress_polls`` GetDeployment answers, then ``outcome``."""

    outcome: str = "Succeeded"
    in_progress_polls: int = 0
    error_code: str = "ALARM_ACTIVE"
    error_message: str = "One or more alarms have been activated according to the Amazon CloudWatch metrics"
    credentials_expire_after_polls: int | None = None
    """After this many GetDeployment answers, the caller's credentials have expired: every further call
    is answered as AWS answers a request signed with an expired session token (the deployment goes on)."""


@dataclass
class FakeAws:
    """The state both services share: versions, aliases and deployments of one account."""

    scenario: Scenario = field(default_factory=Scenario)
    versions: dict[str, list[str]] = field(default_factory=dict)
    aliases: dict[tuple[str, str], str] = field(default_factory=dict)
    deployments: dict[str, dict[str, Any]] = field(default_factory=dict)
    polls: dict[str, int] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    group_alarms: list[str] = field(default_factory=list)
    """The alarm names the deployment group watches (GetDeploymentGroup's ``alarmConfiguration``)."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    endpoint_url: str = ""

    def add_function(self, name: str, *, versions: int, live: str) -> None:
        self.versions[name] = [str(number) for number in range(1, versions + 1)]
        self.aliases[(name, "live")] = live

    def operations(self) -> list[str]:
        return [operation for operation, _ in self.calls]

    def start_running(
        self, *, function_name: str, current: str, target: str, status: str = "InProgress"
    ) -> str:
        """A deployment already in progress (e.g. left by an interrupted ``pulumi up``)."""
        deployment_id = self._new_id()
        self.deployments[deployment_id] = self._info(deployment_id, function_name, current, target, status)
        return deployment_id

    # --- CodeDeploy ---------------------------------------------------------------------------------

    def _new_id(self) -> str:
        return f"d-FAKE{next(self._ids):05d}"

    @staticmethod
    def _info(deployment_id: str, function: str, current: str, target: str, status: str) -> dict[str, Any]:
        content = {
            "version": 0.0,
            "Resources": [
                {
                    "writer": {
                        "Type": "AWS::Lambda::Function",
                        "Properties": {
                            "Name": function,
                            "Alias": "live",
                            "CurrentVersion": current,
                            "TargetVersion": target,
                        },
                    }
                }
            ],
        }
        return {
            "deploymentId": deployment_id,
            "status": status,
            "createTime": time.time(),
            "revision": {
                "revisionType": "AppSpecContent",
                "appSpecContent": {"content": json.dumps(content)},
            },
        }

    def _active(self) -> list[str]:
        return [
            deployment_id
            for deployment_id, info in self.deployments.items()
            if info["status"] in ("Created", "Queued", "InProgress", "Ready", "Baking")
        ]

    def codedeploy(self, operation: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if operation == "CreateDeployment":
            running = self._active()
            if running:
                return 400, {
                    "__type": "DeploymentLimitExceededException",
                    "message": f"The Deployment Group '{body['deploymentGroupName']}' already has an active "
                    f"Deployment '{running[0]}'",
                }
            properties = next(
                iter(json.loads(body["revision"]["appSpecContent"]["content"])["Resources"][0].values())
            )["Properties"]
            deployment_id = self._new_id()
            self.deployments[deployment_id] = self._info(
                deployment_id,
                properties["Name"],
                properties["CurrentVersion"],
                properties["TargetVersion"],
                "Created",
            )
            return 200, {"deploymentId": deployment_id}
        if operation == "GetDeployment":
            expire_after = self.scenario.credentials_expire_after_polls
            if expire_after is not None and sum(self.polls.values()) >= expire_after:
                return 400, {
                    "__type": "ExpiredTokenException",
                    "message": "The security token included in the request is expired",
                }
            deployment_id = body["deploymentId"]
            if deployment_id not in self.deployments:
                return 400, {"__type": "DeploymentDoesNotExistException", "message": deployment_id}
            self._advance(deployment_id)
            return 200, {"deploymentInfo": self.deployments[deployment_id]}
        if operation == "BatchGetDeployments":
            return 200, {"deploymentsInfo": [self.deployments[i] for i in body["deploymentIds"]]}
        if operation == "ListDeployments":
            wanted = body.get("includeOnlyStatuses")
            ids = [i for i, info in self.deployments.items() if not wanted or info["status"] in wanted]
            return 200, {"deployments": ids}
        if operation == "GetDeploymentGroup":
            alarms = [{"name": name} for name in self.group_alarms]
            return 200, {
                "deploymentGroupInfo": {
                    "applicationName": body["applicationName"],
                    "deploymentGroupName": body["deploymentGroupName"],
                    "alarmConfiguration": {"enabled": bool(alarms), "alarms": alarms},
                }
            }
        if operation == "StopDeployment":
            info = self.deployments[body["deploymentId"]]
            info["status"] = "Stopped"
            return 200, {"status": "Succeeded", "statusMessage": "stopped"}
        return 400, {"__type": "InvalidOperationException", "message": f"{operation} not served here"}

    def _advance(self, deployment_id: str) -> None:
        """One GetDeployment of a running deployment: the scenario's next step."""
        info = self.deployments[deployment_id]
        if info["status"] in ("Succeeded", "Failed", "Stopped"):
            return
        polls = self.polls.get(deployment_id, 0)
        self.polls[deployment_id] = polls + 1
        if polls < self.scenario.in_progress_polls:
            info["status"] = "InProgress"
            return
        properties = next(
            iter(json.loads(info["revision"]["appSpecContent"]["content"])["Resources"][0].values())
        )["Properties"]
        outcome = self.scenario.outcome
        info["status"] = outcome
        info["completeTime"] = time.time()
        if outcome == "Succeeded":
            self.aliases[(properties["Name"], properties["Alias"])] = properties["TargetVersion"]
            return
        rollback_id = self._new_id()
        if outcome == "Failed":
            info["errorInformation"] = {
                "code": self.scenario.error_code,
                "message": self.scenario.error_message,
            }
            message = ROLLBACK_MESSAGE
        else:
            message = "Deployment was stopped by a user; rolling back"
        info["rollbackInfo"] = {"rollbackDeploymentId": rollback_id, "rollbackMessage": message}

    # --- Lambda -------------------------------------------------------------------------------------

    def lambda_get(self, path: str) -> tuple[int, dict[str, Any], str | None]:
        parts = [unquote(part) for part in path.strip("/").split("/")]
        # ["2015-03-31", "functions", NAME, "aliases", ALIAS] or [..., NAME, "versions"]
        if len(parts) >= 4 and parts[:2] == ["2015-03-31", "functions"]:
            name = parts[2]
            if name not in self.versions:
                return (
                    404,
                    {"Type": "User", "Message": f"Function not found: {name}"},
                    "ResourceNotFoundException",
                )
            if parts[3] == "aliases" and len(parts) == 5:
                version = self.aliases.get((name, parts[4]))
                if version is None:
                    return (
                        404,
                        {"Type": "User", "Message": f"Alias not found: {parts[4]}"},
                        "ResourceNotFoundException",
                    )
                return (
                    200,
                    {"Name": parts[4], "FunctionVersion": version, "AliasArn": f"arn:{name}:{parts[4]}"},
                    None,
                )
            if parts[3] == "versions":
                listed = [{"Version": "$LATEST"}] + [{"Version": v} for v in self.versions[name]]
                return 200, {"Versions": listed}, None
        return 400, {"Type": "User", "Message": f"not served here: {path}"}, "InvalidParameterValueException"


class _Handler(BaseHTTPRequestHandler):
    fake: FakeAws

    def log_message(self, format: str, *args: Any) -> None:  # quiet: pytest shows failures, not access logs
        return

    def _send(
        self, status: int, body: dict[str, Any], content_type: str, error_type: str | None = None
    ) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        if error_type:
            self.send_header("x-amzn-ErrorType", error_type)
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        target = self.headers.get("X-Amz-Target", "")
        operation = target.removeprefix(TARGET_PREFIX)
        with self.fake.lock:
            self.fake.calls.append((operation, body))
            status, answer = self.fake.codedeploy(operation, body)
        self._send(status, answer, "application/x-amz-json-1.1")

    def do_GET(self) -> None:
        with self.fake.lock:
            operation = "GetAlias" if "/aliases/" in self.path else "ListVersionsByFunction"
            self.fake.calls.append((operation, {"path": self.path}))
            status, answer, error_type = self.fake.lambda_get(self.path.split("?")[0])
        self._send(status, answer, "application/json", error_type)


@dataclass
class CanaryAws(FakeAws):
    """CodeDeploy running a Lambda canary for real against another AWS (moto): it moves the alias and
    watches the group's alarms, as CodeDeploy does.

    ``CreateDeployment`` routes ``canary_weight`` of the alias's invocations to the target version
    (``UpdateAlias`` with ``RoutingConfig``). Each ``GetDeployment`` is one look at the alarms the deployment
    group names (``DescribeAlarms``): one in ``ALARM`` ends the deployment ``Failed`` with ``ALARM_ACTIVE``
    and the alias goes back to the version it served, with no routing; after ``canary_polls`` looks without
    one, the alias moves to the target (``Succeeded``). Only CodeDeploy is served here: Lambda and CloudWatch
    are the other AWS's (botocore reaches this server through ``AWS_ENDPOINT_URL_CODEDEPLOY``).
    """

    lambda_client: Any = None
    cloudwatch: Any = None
    canary_weight: float = 0.1
    canary_polls: int = 2
    alarm_looks: list[dict[str, str]] = field(default_factory=list)
    """Each look at the alarms: name -> state."""

    def codedeploy(self, operation: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        status, answer = super().codedeploy(operation, body)
        if operation == "CreateDeployment" and status == 200:
            properties = self._properties(answer["deploymentId"])
            self.lambda_client.update_alias(
                FunctionName=properties["Name"],
                Name=properties["Alias"],
                FunctionVersion=properties["CurrentVersion"],
                RoutingConfig={"AdditionalVersionWeights": {properties["TargetVersion"]: self.canary_weight}},
            )
            self.deployments[answer["deploymentId"]]["status"] = "InProgress"
        return status, answer

    def _properties(self, deployment_id: str) -> dict[str, str]:
        content = json.loads(self.deployments[deployment_id]["revision"]["appSpecContent"]["content"])
        properties: dict[str, str] = next(iter(content["Resources"][0].values()))["Properties"]
        return properties

    def _advance(self, deployment_id: str) -> None:
        info = self.deployments[deployment_id]
        if info["status"] in ("Succeeded", "Failed", "Stopped"):
            return
        properties = self._properties(deployment_id)
        polls = self.polls.get(deployment_id, 0)
        self.polls[deployment_id] = polls + 1
        alarms = self.cloudwatch.describe_alarms(AlarmNames=self.group_alarms)["MetricAlarms"]
        states = {alarm["AlarmName"]: alarm["StateValue"] for alarm in alarms}
        self.alarm_looks.append(states)
        firing = sorted(name for name, state in states.items() if state == "ALARM")
        alias = {"FunctionName": properties["Name"], "Name": properties["Alias"]}
        no_routing: dict[str, dict[str, float]] = {"AdditionalVersionWeights": {}}
        if firing:
            self.lambda_client.update_alias(
                **alias, FunctionVersion=properties["CurrentVersion"], RoutingConfig=no_routing
            )
            info.update(
                status="Failed",
                completeTime=time.time(),
                errorInformation={
                    "code": "ALARM_ACTIVE",
                    "message": "One or more alarms have been activated according to the Amazon CloudWatch "
                    f"metrics. Alarms: {', '.join(firing)}",
                },
                rollbackInfo={
                    "rollbackDeploymentId": self._new_id(),
                    "rollbackMessage": "Automatic rollback triggered: CloudWatch alarm "
                    f"{', '.join(firing)} fired",
                },
            )
        elif polls >= self.canary_polls:
            self.lambda_client.update_alias(
                **alias, FunctionVersion=properties["TargetVersion"], RoutingConfig=no_routing
            )
            info.update(status="Succeeded", completeTime=time.time())


@contextmanager
def fake_aws(fake: FakeAws | None = None) -> Iterator[FakeAws]:
    """Serve ``fake`` (default: a fresh ``FakeAws``) on 127.0.0.1 (a free port) for the block's duration."""
    fake = fake if fake is not None else FakeAws()
    handler = type("Handler", (_Handler,), {"fake": fake})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    fake.endpoint_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="fake-codedeploy", daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
