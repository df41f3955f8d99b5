"""The Writer's release library (``ops.release``) and the release step's entry point (``ops.release_step``).

Two kinds of AWS stand in for the real one. The release step itself (``deploy``: start, wait through the
canary, fail with CodeDeploy's reasons) runs against ``tests.support.codedeploy_server``, a real HTTP
server speaking CodeDeploy's and Lambda's protocols whose deployments end Succeeded, Failed or Stopped, or
which refuses a second deployment. The group-level reads (status, wait, stop) run against moto's Lambda and
CodeDeploy (``mock_aws``).

moto 5.2.6 implements CreateDeployment, GetDeployment, BatchGetDeployments and ListDeployments but not
StopDeployment, and its deployments never leave ``Created``. So there: a finished deployment is set up by
writing the fake's state (as AWS would after the canary), and StopDeployment's answer is supplied through
botocore's ``before-call`` event on the session (AWS's reply, not our code, is what is stood in for).
"""

from __future__ import annotations

import functools
import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any, TypedDict

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws
from moto.codedeploy.models import codedeploy_backends

from infra import sessions, spec
from infra.spec import AssumeRole, ReleaseStep
from ops import release, release_step
from ops.release import ReleaseError, ReleaseTimeout
from tests.support.codedeploy_server import ROLLBACK_MESSAGE, FakeAws, Scenario, fake_aws

REGION = "us-east-1"
ACCOUNT = "123456789012"
FUNCTION = "serverless-pipeline-dev-writer"
NAMES = spec.codedeploy_names("dev")


class Group(TypedDict):
    application: str
    deployment_group: str


GROUP: Group = {"application": NAMES["application"], "deployment_group": NAMES["deployment_group"]}


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


def start(**kwargs: Any) -> release.ReleaseResult:
    return release.start_release(function_name=FUNCTION, alias="live", **GROUP, **kwargs)


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
        release.start_release(function_name=FUNCTION, alias="canary", **GROUP)


def test_status_is_none_before_any_release_then_the_newest(aws: dict[str, Any]) -> None:
    assert release.release_status(**GROUP) is None

    result = start()
    status = release.release_status(**GROUP)

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

    running = release.release_status(**GROUP)
    _set_status(second.deployment_id or "", "Failed")
    finished = release.release_status(**GROUP)

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

    status = release.wait_release(**GROUP, timeout=60, poll=5, sleep=finish_after_first_poll)

    assert status.succeeded and status.finished
    assert polls == [5]


def test_wait_times_out_with_what_to_do_next(aws: dict[str, Any]) -> None:
    result = start()
    with pytest.raises(ReleaseTimeout, match=f"deployment {result.deployment_id} still Created after 0s"):
        release.wait_release(**GROUP, timeout=0, poll=0)


def test_wait_without_any_deployment_fails_clearly(aws: dict[str, Any]) -> None:
    with pytest.raises(ReleaseError, match="has no deployment to wait for"):
        release.wait_release(**GROUP, timeout=1, poll=0)


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
    status = release.stop_release(**GROUP, session=session)

    assert calls == [{"deploymentId": result.deployment_id, "autoRollbackEnabled": True}]
    assert status.status == "Stopped"


def test_stop_without_a_running_deployment_fails_clearly(aws: dict[str, Any]) -> None:
    with pytest.raises(ReleaseError, match="has no deployment in progress to stop"):
        release.stop_release(**GROUP)


def step_argv(**changes: Any) -> list[str]:
    step = ReleaseStep(
        region=REGION,
        application=NAMES["application"],
        deployment_group=NAMES["deployment_group"],
        function_name=FUNCTION,
        alias="live",
        target_version="2",
        timeout_seconds=60,
        poll_seconds=0,
    )
    return ReleaseStep(**{**step.__dict__, **changes}).argv()


def test_step_entry_point_failure_is_one_line_exit_1(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code = release_step.main(step_argv(alias="missing"))

    captured = capsys.readouterr()
    assert code == 1 and captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("error: reading alias")


def test_step_entry_point_bad_command_line_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code = release_step.main(["--region", REGION])

    assert code == 2
    assert "error: the following arguments are required: --application" in capsys.readouterr().err


# --- the release step against a CodeDeploy that finishes deployments -----------------------------------


@pytest.fixture
def fake() -> Iterator[FakeAws]:
    """The Writer at versions 1..3 with ``live`` on 2: releasing 3 is a real shift."""
    with fake_aws() as served:
        served.add_function(FUNCTION, versions=3, live="2")
        yield served


@functools.cache
def fake_session() -> boto3.Session:
    """One session for every test: botocore then loads each service model once."""
    return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)


def deploy(fake: FakeAws, *, sleeps: list[float] | None = None, **waiting: Any) -> release.ReleaseResult:
    recorded = sleeps if sleeps is not None else []
    return release.deploy(
        function_name=FUNCTION,
        alias="live",
        target_version="3",
        waiting=release.Waiting(sleep=recorded.append, **{"poll": 7.0, **waiting}),
        session=fake_session(),
        endpoint_url=fake.endpoint_url,
        **GROUP,
    )


def test_deploy_waits_through_the_canary_until_succeeded(fake: FakeAws) -> None:
    fake.scenario = Scenario(outcome="Succeeded", in_progress_polls=2)
    sleeps: list[float] = []
    seen: list[str] = []

    result = deploy(fake, sleeps=sleeps, progress=lambda status: seen.append(status.status))

    assert result.started and result.status == "Succeeded"
    assert (result.current_version, result.target_version) == ("2", "3")
    assert sleeps == [7.0, 7.0]  # two InProgress answers, one wait after each
    assert seen == ["InProgress", "Succeeded"]
    assert fake.aliases[(FUNCTION, "live")] == "3"
    assert fake.operations().count("GetDeployment") == 3


@pytest.mark.parametrize(
    ("outcome", "reason"),
    [
        ("Failed", "ALARM_ACTIVE: One or more alarms have been activated"),
        ("Stopped", "rollback: Deployment was stopped by a user; rolling back"),
    ],
)
def test_deploy_that_does_not_succeed_raises_codedeploys_reasons(
    fake: FakeAws, outcome: str, reason: str
) -> None:
    fake.scenario = Scenario(outcome=outcome, in_progress_polls=1)

    with pytest.raises(release.ReleaseFailed) as raised:
        deploy(fake)

    message = str(raised.value)
    [deployment_id] = list(fake.deployments)
    assert message.startswith(
        f"deployment {deployment_id} of {NAMES['application']}/{NAMES['deployment_group']} ended {outcome}; "
    )
    assert reason in message
    assert "(rollback deployment d-FAKE00002)" in message
    assert message.endswith("run `pulumi up` again: it retries the release (version 3 is not served)")
    assert raised.value.status.status == outcome
    assert fake.aliases[(FUNCTION, "live")] == "2"


def test_failed_release_names_the_alarm_rollback(fake: FakeAws) -> None:
    fake.scenario = Scenario(outcome="Failed")

    with pytest.raises(release.ReleaseFailed, match=f"rollback: {ROLLBACK_MESSAGE}"):
        deploy(fake)


def test_the_next_run_after_a_failure_releases_again(fake: FakeAws) -> None:
    """What the next `pulumi up` does: the step runs again and starts a new deployment of the same version."""
    fake.scenario = Scenario(outcome="Failed")
    with pytest.raises(release.ReleaseFailed):
        deploy(fake)

    fake.scenario = Scenario(outcome="Succeeded")
    result = deploy(fake)

    assert result.status == "Succeeded" and fake.aliases[(FUNCTION, "live")] == "3"
    assert fake.operations().count("CreateDeployment") == 2


def test_a_release_already_served_touches_no_deployment(fake: FakeAws) -> None:
    fake.aliases[(FUNCTION, "live")] = "3"

    result = deploy(fake)

    assert not result.started and result.reason == "alias live already serves version 3"
    assert fake.operations() == ["ListDeployments", "GetAlias"]  # is one running? which version is live?


def test_another_running_deployment_blocks_the_release_clearly(fake: FakeAws) -> None:
    running = fake.start_running(function_name=FUNCTION, current="1", target="2")

    with pytest.raises(release.DeploymentInProgress) as raised:
        deploy(fake)

    message = str(raised.value)
    assert f"deployment {running} (InProgress, version 1 -> 2) is still running" in message
    assert "`pipeline-ctl release wait`" in message and "`pipeline-ctl release stop`" in message
    assert message.endswith("then run `pulumi up` again")
    assert "CreateDeployment" not in fake.operations()  # seen before starting, not after a refusal
    assert list(fake.deployments) == [running]


def test_codedeploys_refusal_names_the_running_deployment(fake: FakeAws) -> None:
    """Started without looking first (or raced by another release): CodeDeploy's own refusal."""
    running = fake.start_running(function_name=FUNCTION, current="1", target="2")

    with pytest.raises(release.DeploymentInProgress) as raised:
        release.start_release(
            function_name=FUNCTION,
            alias="live",
            session=fake_session(),
            endpoint_url=fake.endpoint_url,
            **GROUP,
        )

    assert "(CodeDeploy refused a new deployment (DeploymentLimitExceededException))" in str(raised.value)
    assert f"deployment {running} (InProgress, version 1 -> 2)" in str(raised.value)


def test_a_running_deployment_of_the_same_version_is_waited_for(fake: FakeAws) -> None:
    """An interrupted `pulumi up` left the release running: the next one resumes waiting for it."""
    running = fake.start_running(function_name=FUNCTION, current="2", target="3")
    fake.scenario = Scenario(outcome="Succeeded", in_progress_polls=1)

    result = deploy(fake)

    assert result.deployment_id == running and result.status == "Succeeded"
    assert list(fake.deployments) == [running]


def test_waiting_gives_up_with_what_to_do(fake: FakeAws) -> None:
    fake.scenario = Scenario(in_progress_polls=1000)

    with pytest.raises(
        ReleaseTimeout, match=r"still InProgress after 0s; it continues in AWS: run `pulumi up`"
    ):
        deploy(fake, timeout=0)


def test_module_entry_point_deploy_failure_exits_1_with_one_line(
    fake: FakeAws, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.scenario = Scenario(outcome="Failed")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    argv = step_argv(endpoint_url=fake.endpoint_url, target_version="3")

    code = release_step.main(argv)

    captured = capsys.readouterr()
    errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert code == 1 and captured.out == ""
    assert len(errors) == 1 and "ended Failed; ALARM_ACTIVE" in errors[0]


@pytest.mark.parametrize(
    ("name", "minutes"),
    [
        ("CodeDeployDefault.LambdaCanary10Percent5Minutes", 5),
        ("CodeDeployDefault.LambdaCanary10Percent30Minutes", 30),
        ("CodeDeployDefault.LambdaLinear10PercentEvery1Minute", 9),
        ("CodeDeployDefault.LambdaLinear10PercentEvery10Minutes", 90),
        ("CodeDeployDefault.LambdaAllAtOnce", 0),
    ],
)
def test_the_wait_covers_the_deployment_configuration(name: str, minutes: int) -> None:
    assert spec.deployment_minutes(name) == minutes
    assert spec.release_wait_seconds(name) == minutes * 60 + spec.RELEASE_WAIT_MARGIN_SECONDS


def test_session_assumes_the_provider_role_chain() -> None:
    """The release step reaches AWS as the stack's provider does: profile/region, then each role in order."""
    with mock_aws():
        iam = boto3.client("iam", region_name=REGION)
        trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
            "AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]})  # fmt: skip
        first = iam.create_role(RoleName="deployer", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        second = iam.create_role(RoleName="releaser", AssumeRolePolicyDocument=trust)["Role"]["Arn"]

        session = sessions.session(
            region=REGION,
            assume_roles=[
                AssumeRole(role_arn=first, external_id="x-1"),
                AssumeRole(role_arn=second, session_name="release-step"),
            ],
        )
        identity = session.client("sts").get_caller_identity()

    assert session.region_name == REGION
    assert identity["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/releaser/release-step"
