"""The Writer's canary: CodeDeploy application, group and role, and the release step's command."""

from __future__ import annotations

import json
import shlex

import pytest

from infra import spec
from tests.support.infra import PROJECT_DIR, Program

GROUP = "aws:codedeploy/deploymentGroup:DeploymentGroup"
COMMAND = "command:local:Command"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


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
        for suffix in (
            "writer-errors",
            "writer-throttles",
            "writer-failed-records",
            "writer-invalid-records",
            "writer-version-invalid-records",
            "writer-version-failed-messages",
            "writer-version-errors",
        )
    )


def test_codedeploy_role_may_only_shift_the_live_alias(prod: Program) -> None:
    """GetAlias/UpdateAlias are authorised on the unqualified function ARN (IAM resource type ``function``);
    only GetProvisionedConcurrencyConfig takes the alias-qualified one. tests/infra/test_iam_reference.py
    checks the same against AWS's published data."""
    group = prod.one(GROUP)
    role = prod.one("aws:iam/role:Role", "codedeploy-role")
    alias = prod.one("aws:lambda/alias:Alias")
    writer = prod.function("writer_function")
    alarms = {a.outputs["name"]: a.outputs["arn"] for a in prod.resources_of_type(ALARM)}
    statements = prod.policy_of_role(role)["Statement"]

    assert group.inputs["serviceRoleArn"] == role.outputs["arn"]
    assert '"Service": "codedeploy.amazonaws.com"' in role.inputs["assumeRolePolicy"]
    granted = {(a, r) for s in statements for a in s["Action"] for r in s["Resource"]}
    assert writer.outputs["arn"] == alias.outputs["arn"].removesuffix(":live")
    assert granted == {
        ("lambda:GetAlias", writer.outputs["arn"]),
        ("lambda:UpdateAlias", writer.outputs["arn"]),
        ("lambda:GetProvisionedConcurrencyConfig", alias.outputs["arn"]),
        *(("cloudwatch:DescribeAlarms", alarms[n]) for n in group.inputs["alarmConfiguration"]["alarms"]),
    }


def argv_of(program: Program) -> list[str]:
    return shlex.split(program.one(COMMAND).inputs["create"])


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_a_new_writer_version_runs_our_release_code_and_waits(prod: Program) -> None:
    release = prod.one(COMMAND)
    writer = prod.function("writer_function")
    names = spec.codedeploy_names("prod")
    argv = argv_of(prod)

    assert release.inputs["triggers"] == [writer.outputs["version"]]
    assert "update" not in release.inputs  # an input change re-runs `create`, which is idempotent
    assert argv[:3] == [".venv/bin/python", "-m", "ops.release"]
    assert option(argv, "--application") == names["application"]
    assert option(argv, "--deployment-group") == names["deployment_group"]
    step = argv.index("deploy")
    assert argv[step + 1 : step + 7] == [
        "--function", writer.inputs["name"], "--alias", "live", "--target-version", writer.outputs["version"],
    ]  # fmt: skip


def test_release_runs_in_the_project_directory(prod: Program) -> None:
    release = prod.one(COMMAND)
    assert release.inputs["dir"] == str(PROJECT_DIR)
    assert (PROJECT_DIR / argv_of(prod)[0]).parent.name == "bin"


@pytest.mark.parametrize(("stack", "canary_minutes"), [("prod", 5), ("dev", 0)])
def test_release_waits_longer_than_the_canary(program_runner, stack: str, canary_minutes: int) -> None:
    program = program_runner(stack)
    waited = float(option(argv_of(program), "--timeout"))
    pulumi_limit = program.one(COMMAND).custom_timeouts

    assert waited >= canary_minutes * 60 + 300
    assert pulumi_limit["create"] == pulumi_limit["update"]
    assert float(pulumi_limit["create"].removesuffix("s")) > waited


def test_release_uses_the_providers_region_profile_and_roles(program_runner) -> None:
    roles = (
        '[{"roleArn": "arn:aws:iam::210987654321:role/deployer", "sessionName": "ci", "externalId": "x1"},'
        ' {"roleArn": "arn:aws:iam::210987654321:role/releaser"}]'
    )
    program = program_runner(
        "prod", {"aws:region": "us-west-2", "aws:profile": "ops", "aws:assumeRoles": roles}
    )
    provider = program.one("pulumi:providers:aws")
    argv = argv_of(program)

    assert (provider.inputs["region"], provider.inputs["profile"]) == ("us-west-2", "ops")
    assert json.loads(provider.inputs["assumeRoles"]) == [
        {"roleArn": "arn:aws:iam::210987654321:role/deployer", "sessionName": "ci", "externalId": "x1"},
        {"roleArn": "arn:aws:iam::210987654321:role/releaser"},
    ]
    assert (option(argv, "--region"), option(argv, "--profile")) == ("us-west-2", "ops")
    assert [argv[i + 1] for i, arg in enumerate(argv) if arg == "--assume-role"] == [
        "arn:aws:iam::210987654321:role/deployer,session=ci,external-id=x1",
        "arn:aws:iam::210987654321:role/releaser",
    ]


def test_release_without_profile_or_roles_passes_only_the_region(dev: Program) -> None:
    argv = argv_of(dev)
    assert option(argv, "--region") == "eu-west-1"
    assert "--profile" not in argv and "--assume-role" not in argv


def test_release_waits_for_the_group_and_the_alias(prod: Program) -> None:
    release = prod.one(COMMAND)
    assert prod.depends_on(release, prod.one(GROUP))
    assert prod.depends_on(release, prod.one("aws:lambda/alias:Alias"))
