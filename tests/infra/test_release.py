"""The Writer's canary: CodeDeploy application and group, and the command that starts a deployment."""

from __future__ import annotations

import shlex

import pytest

from infra import spec
from tests.support.infra import Program

GROUP = "aws:codedeploy/deploymentGroup:DeploymentGroup"


def test_application_and_group_have_the_names_the_cli_looks_up(dev: Program) -> None:
    names = spec.codedeploy_names("dev")
    application = dev.one("aws:codedeploy/application:Application")
    group = dev.one(GROUP)

    assert application.inputs["name"] == names["application"]
    assert application.inputs["computePlatform"] == "Lambda"
    assert group.inputs["appName"] == names["application"]
    assert group.inputs["deploymentGroupName"] == names["deployment_group"]


@pytest.mark.parametrize(
    ("stack", "config_name"),
    [
        ("prod", "CodeDeployDefault.LambdaCanary10Percent5Minutes"),
        ("dev", "CodeDeployDefault.LambdaAllAtOnce"),
    ],
)
def test_deployment_config_follows_the_stack(program_runner, stack: str, config_name: str) -> None:
    assert program_runner(stack).one(GROUP).inputs["deploymentConfigName"] == config_name


def test_default_preference_is_the_canary(program_runner) -> None:
    group = program_runner("dev", {"deploymentPreference": None}).one(GROUP)
    assert group.inputs["deploymentConfigName"] == "CodeDeployDefault.LambdaCanary10Percent5Minutes"


def test_group_is_blue_green_with_traffic_control_and_rolls_back(prod: Program) -> None:
    group = prod.one(GROUP)

    assert group.inputs["deploymentStyle"] == {
        "deploymentType": "BLUE_GREEN",
        "deploymentOption": "WITH_TRAFFIC_CONTROL",
    }
    assert group.inputs["autoRollbackConfiguration"]["enabled"] is True
    assert set(group.inputs["autoRollbackConfiguration"]["events"]) == {
        "DEPLOYMENT_FAILURE",
        "DEPLOYMENT_STOP_ON_ALARM",
        "DEPLOYMENT_STOP_ON_REQUEST",
    }


def test_group_rolls_back_on_the_alias_scoped_and_record_alarms(prod: Program) -> None:
    group = prod.one(GROUP)
    prefix = spec.alarm_prefix("prod")

    assert group.inputs["alarmConfiguration"]["enabled"] is True
    assert sorted(group.inputs["alarmConfiguration"]["alarms"]) == sorted(
        f"{prefix}{suffix}"
        for suffix in ("writer-errors", "writer-throttles", "writer-failed-records", "writer-invalid-records")
    )


def test_codedeploy_role_may_only_shift_the_live_alias(prod: Program) -> None:
    group = prod.one(GROUP)
    role = prod.one("aws:iam/role:Role", "codedeploy-role")
    alias = prod.one("aws:lambda/alias:Alias")
    statements = prod.policy_of_role(role)["Statement"]

    assert group.inputs["serviceRoleArn"] == role.outputs["arn"]
    assert '"Service": "codedeploy.amazonaws.com"' in role.inputs["assumeRolePolicy"]
    scoped = {
        (a, r) for s in statements if s["Resource"] != ["*"] for a in s["Action"] for r in s["Resource"]
    }
    assert scoped == {
        ("lambda:GetAlias", alias.outputs["arn"]),
        ("lambda:UpdateAlias", alias.outputs["arn"]),
        ("lambda:GetProvisionedConcurrencyConfig", alias.outputs["arn"]),
    }


def test_a_new_writer_version_runs_our_release_code(prod: Program) -> None:
    release = prod.one("command:local:Command")
    writer = prod.function("writer_function")
    names = spec.codedeploy_names("prod")
    argv = shlex.split(release.inputs["create"])

    assert release.inputs["triggers"] == [writer.outputs["version"]]
    assert argv[:3] == [".venv/bin/python", "-m", "ops.codedeploy"]
    assert argv[argv.index("--application") + 1] == names["application"]
    assert argv[argv.index("--deployment-group") + 1] == names["deployment_group"]
    assert argv[argv.index("--region") + 1] == "eu-west-1"
    start = argv.index("start")
    assert argv[start + 1 :] == [
        "--function", writer.inputs["name"], "--alias", "live", "--target-version", writer.outputs["version"],
    ]  # fmt: skip


def test_release_waits_for_the_group_and_the_alias(prod: Program) -> None:
    release = prod.one("command:local:Command")
    assert prod.depends_on(release, prod.one(GROUP))
    assert prod.depends_on(release, prod.one("aws:lambda/alias:Alias"))
