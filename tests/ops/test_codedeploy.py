"""The Writer's release code against moto's Lambda and CodeDeploy (``mock_aws``).

moto 5.2.5 implements CreateDeployment, GetDeployment, BatchGetDeployments and ListDeployments but not
StopDeployment, and its deployments never leave ``Created``. So: a finished deployment is set up by writing
the fake's state (as AWS would after the canary), and StopDeployment's answer is supplied through botocore's
``before-call`` event on the session — AWS's reply, not our code, is what is stood in for.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws
from moto.codedeploy.models import codedeploy_backends

from infra import spec
from ops import codedeploy
from ops.codedeploy import ReleaseError, ReleaseTimeout

REGION = "us-east-1"
ACCOUNT = "123456789012"
FUNCTION = "serverless-pipeline-dev-writer"
NAMES = spec.codedeploy_names("dev")
GROUP = {"application": NAMES["application"], "deployment_group": NAMES["deployment_group"]}


def _code(text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("functions/writer/handler.py", text)
    return buffer.getvalue()


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    """A Writer at version 1 behind alias ``live``, version 2 published, and the CodeDeploy group."""
    with mock_aws():
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="writer", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lam = boto3.client("lambda", region_name=REGION)
        lam.create_function(
            FunctionName=FUNCTION,
            Runtime="python3.13",
            Role=role,
            Handler="functions.writer.handler.handler",
            Code={"ZipFile": _code("v1")},
            Publish=True,
        )
        lam.create_alias(FunctionName=FUNCTION, Name="live", FunctionVersion="1")
        lam.update_function_code(FunctionName=FUNCTION, ZipFile=_code("v2"))
        lam.publish_version(FunctionName=FUNCTION)
        deploy = boto3.client("codedeploy", region_name=REGION)
        deploy.create_application(applicationName=NAMES["application"], computePlatform="Lambda")
        deploy.create_deployment_group(
            applicationName=NAMES["application"],
            deploymentGroupName=NAMES["deployment_group"],
            serviceRoleArn=role,
            deploymentConfigName="CodeDeployDefault.LambdaCanary10Percent5Minutes",
            deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        )
        yield {"lambda": lam, "codedeploy": deploy}


def start(**kwargs: Any) -> codedeploy.ReleaseResult:
    return codedeploy.start_release(function_name=FUNCTION, alias="live", **GROUP, **kwargs)


def appspec_of(client: Any, deployment_id: str) -> dict[str, Any]:
    revision = client.get_deployment(deploymentId=deployment_id)["deploymentInfo"]["revision"]
    assert revision["revisionType"] == "AppSpecContent"
    return json.loads(revision["appSpecContent"]["content"])


def test_start_shifts_live_from_its_current_version_to_the_newest(aws: dict[str, Any]) -> None:
    result = start()

    assert result.started and result.deployment_id
    assert (result.current_version, result.target_version) == ("1", "2")
    [resource] = appspec_of(aws["codedeploy"], result.deployment_id)["Resources"]
    assert next(iter(resource.values())) == {
        "Type": "AWS::Lambda::Function",
        "Properties": {"Name": FUNCTION, "Alias": "live", "CurrentVersion": "1", "TargetVersion": "2"},
    }


def test_current_version_is_read_live_from_the_alias(aws: dict[str, Any]) -> None:
    """After a rollback or a manual change, the AppSpec must start from what ``live`` serves now."""
    aws["lambda"].update_function_code(FunctionName=FUNCTION, ZipFile=_code("v3"))
    aws["lambda"].publish_version(FunctionName=FUNCTION)
    aws["lambda"].update_alias(FunctionName=FUNCTION, Name="live", FunctionVersion="2")

    result = start()

    assert (result.current_version, result.target_version) == ("2", "3")


def test_start_is_skipped_when_live_already_serves_the_target(aws: dict[str, Any]) -> None:
    result = start(target_version="1")

    assert not result.started and result.deployment_id is None
    assert result.reason == "alias live already serves version 1"
    assert (
        aws["codedeploy"].list_deployments(
            applicationName=NAMES["application"], deploymentGroupName=NAMES["deployment_group"]
        )["deployments"]
        == []
    )


@pytest.mark.parametrize("target", ["$LATEST", "latest", "2a"])
def test_latest_or_garbage_is_never_a_target(aws: dict[str, Any], target: str) -> None:
    with pytest.raises(ReleaseError, match="must be a published version number"):
        start(target_version=target)


def test_missing_alias_is_one_clear_error(aws: dict[str, Any]) -> None:
    with pytest.raises(
        ReleaseError, match=f"reading alias {FUNCTION}:canary failed: ResourceNotFoundException"
    ):
        codedeploy.start_release(function_name=FUNCTION, alias="canary", **GROUP)


def test_status_is_none_before_any_release_then_the_newest(aws: dict[str, Any]) -> None:
    assert codedeploy.release_status(**GROUP) is None

    result = start()
    status = codedeploy.release_status(**GROUP)

    assert status is not None
    assert status.deployment_id == result.deployment_id
    assert (status.current_version, status.target_version) == ("1", "2")
    assert status.status == "Created" and not status.finished
    assert status.to_dict()["finished"] is False


def _set_status(deployment_id: str, status: str) -> None:
    codedeploy_backends[ACCOUNT][REGION].deployments[deployment_id].status = status


def test_status_follows_the_running_deployment_then_the_newest(aws: dict[str, Any]) -> None:
    first = start()
    _set_status(first.deployment_id or "", "Succeeded")
    aws["lambda"].update_alias(FunctionName=FUNCTION, Name="live", FunctionVersion="2")
    aws["lambda"].update_function_code(FunctionName=FUNCTION, ZipFile=_code("v3"))
    aws["lambda"].publish_version(FunctionName=FUNCTION)
    second = start()

    running = codedeploy.release_status(**GROUP)
    _set_status(second.deployment_id or "", "Failed")
    finished = codedeploy.release_status(**GROUP)

    assert running and running.deployment_id == second.deployment_id and running.status == "Created"
    assert (running.current_version, running.target_version) == ("2", "3")
    assert finished and finished.deployment_id == second.deployment_id and finished.status == "Failed"


def test_wait_returns_the_finished_deployment(aws: dict[str, Any]) -> None:
    result = start()
    assert result.deployment_id
    polls: list[float] = []

    def finish_after_first_poll(seconds: float) -> None:
        polls.append(seconds)
        _set_status(result.deployment_id or "", "Succeeded")

    status = codedeploy.wait_release(**GROUP, timeout=60, poll=5, sleep=finish_after_first_poll)

    assert status.succeeded and status.finished
    assert polls == [5]


def test_wait_times_out_with_what_to_do_next(aws: dict[str, Any]) -> None:
    result = start()
    with pytest.raises(ReleaseTimeout, match=f"deployment {result.deployment_id} still Created after 0s"):
        codedeploy.wait_release(**GROUP, timeout=0, poll=0)


def test_wait_without_any_deployment_fails_clearly(aws: dict[str, Any]) -> None:
    with pytest.raises(ReleaseError, match="has no deployment to wait for"):
        codedeploy.wait_release(**GROUP, timeout=1, poll=0)


def test_stop_asks_codedeploy_to_roll_back(aws: dict[str, Any]) -> None:
    result = start()
    session = boto3.Session(region_name=REGION)
    calls: list[dict[str, Any]] = []

    def codedeploy_answers_stop(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        request = json.loads(params["body"])  # the serialised request, as it would go to AWS
        calls.append(request)
        _set_status(request["deploymentId"], "Stopped")
        return AWSResponse("https://codedeploy", 200, {}, None), {"status": "Pending"}

    session.events.register("before-call.codedeploy.StopDeployment", codedeploy_answers_stop)
    status = codedeploy.stop_release(**GROUP, session=session)

    assert calls == [{"deploymentId": result.deployment_id, "autoRollbackEnabled": True}]
    assert status.status == "Stopped"


def test_stop_without_a_running_deployment_fails_clearly(aws: dict[str, Any]) -> None:
    with pytest.raises(ReleaseError, match="has no deployment in progress to stop"):
        codedeploy.stop_release(**GROUP)


def test_module_entry_point_starts_and_reports(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    common = [
        "--region",
        REGION,
        "--application",
        NAMES["application"],
        "--deployment-group",
        NAMES["deployment_group"],
    ]
    assert (
        codedeploy.main(
            [*common, "start", "--function", FUNCTION, "--alias", "live", "--target-version", "2"]
        )
        == 0
    )
    started = json.loads(capsys.readouterr().out)
    assert started["started"] is True and started["target_version"] == "2"

    assert codedeploy.main([*common, "status"]) == 0
    assert json.loads(capsys.readouterr().out)["deployment_id"] == started["deployment_id"]


def test_module_entry_point_failure_is_one_line_exit_1(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code = codedeploy.main(
        ["--region", REGION, "--application", "nope", "--deployment-group", "nope", "start",
         "--function", FUNCTION, "--alias", "missing"]
    )  # fmt: skip

    captured = capsys.readouterr()
    assert code == 1 and captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("error: reading alias")
