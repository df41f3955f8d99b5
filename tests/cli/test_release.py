"""``pipeline-ctl release``: a thin adapter over ops.release, refused on the local stack."""

from __future__ import annotations

import json

import pytest
from moto.backends import get_backend
from moto.core.models import DEFAULT_ACCOUNT_ID

from infra.spec import codedeploy_names
from ops.release import appspec
from tests.support.cli import DEPLOYED_STACK, REGION, Stack

NAMES = codedeploy_names(DEPLOYED_STACK)


@pytest.fixture
def deployment(deployed: Stack) -> str:
    """A Writer deployment as the Pulumi release step creates it (status Created until finished)."""
    codedeploy = deployed.client("codedeploy")
    codedeploy.create_application(applicationName=NAMES["application"], computePlatform="Lambda")
    codedeploy.create_deployment_group(
        applicationName=NAMES["application"],
        deploymentGroupName=NAMES["deployment_group"],
        serviceRoleArn="arn:aws:iam::123456789012:role/codedeploy",
    )
    spec = appspec(function_name="writer", alias="live", current_version="1", target_version="2")
    return codedeploy.create_deployment(
        applicationName=NAMES["application"],
        deploymentGroupName=NAMES["deployment_group"],
        revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": json.dumps(spec)}},
    )["deploymentId"]


def finish(deployment_id: str, status: str) -> None:
    """Move the emulator's deployment on, as CodeDeploy would (moto never does it by itself)."""
    backend = get_backend("codedeploy")[DEFAULT_ACCOUNT_ID][REGION]
    backend.deployments[deployment_id].status = status


def test_local_stack_has_no_release(invoke, local: Stack) -> None:
    result = invoke("release")

    assert result.exit_code == 2
    assert result.stderr == "Error: the local stack has no CodeDeploy release (use --stack NAME)\n"


def test_status_without_any_deployment(invoke, deployed: Stack) -> None:
    deployed.client("codedeploy").create_application(
        applicationName=NAMES["application"], computePlatform="Lambda"
    )

    result = invoke("release", "status")

    assert (result.exit_code, result.stdout) == (0, "no deployment yet\n")


def test_status_shows_the_newest_deployment(invoke, deployment: str) -> None:
    result = invoke("release", "status", "--json")

    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["deployment_id"], document["status"], document["finished"]) == (
        deployment,
        "Created",
        False,
    )


def test_wait_times_out_then_succeeds(invoke, deployment: str) -> None:
    timed_out = invoke("release", "wait", "--timeout", "1", "--poll", "0.2")
    finish(deployment, "Succeeded")
    succeeded = invoke("release", "wait", "--timeout", "5", "--poll", "0.2")

    assert timed_out.exit_code == 1
    assert timed_out.stderr.startswith(f"Error: deployment {deployment} still Created after 1s")
    assert succeeded.exit_code == 0, succeeded.stderr
    assert f"│ deployment_id   │ {deployment}" in succeeded.stdout
    assert "│ status          │ Succeeded" in succeeded.stdout


def test_wait_on_a_failed_deployment_exits_1(invoke, deployment: str) -> None:
    finish(deployment, "Failed")

    result = invoke("release", "wait", "--poll", "0.2")

    assert result.exit_code == 1
    assert result.stderr == f"Error: deployment {deployment} ended Failed\n"


def test_stop_when_nothing_runs(invoke, deployment: str) -> None:
    finish(deployment, "Succeeded")

    result = invoke("release", "stop")

    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {NAMES['application']}/{NAMES['deployment_group']} has no deployment in progress to stop\n"
    )


def test_unknown_action_is_a_usage_error(invoke, deployed: Stack) -> None:
    result = invoke("release", "start")

    assert (result.exit_code, result.stderr) == (
        2,
        "Error: Invalid value for 'ACTION': 'start' is not one of 'status', 'wait', 'stop'. "
        "(see `pipeline-ctl release --help`)\n",
    )
