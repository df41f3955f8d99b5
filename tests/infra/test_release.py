"""The Writer's canary: CodeDeploy application, group and role, and the release step's command."""

from __future__ import annotations

import json
import shlex

import pytest

from infra import spec
from infra.spec import AssumeRole
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
    # A canary stack needs somewhere for its alarms to go (infra/config.py refuses one without).
    group = program_runner("dev", {"deploymentPreference": None, "alarmEmail": "ops@example.com"}).one(GROUP)
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


def step_of(program: Program) -> spec.ReleaseStep:
    """The command's options, read the way the release step reads them."""
    argv = argv_of(program)
    assert argv[:3] == [".venv/bin/python", "-m", spec.RELEASE_STEP_MODULE]
    return spec.ReleaseStep.from_argv(argv[3:])


def test_a_new_writer_version_runs_the_release_step_and_waits(prod: Program) -> None:
    release = prod.one(COMMAND)
    writer = prod.function("writer_function")
    names = spec.codedeploy_names("prod")
    step = step_of(prod)

    assert release.inputs["triggers"] == [writer.outputs["version"]]
    assert "update" not in release.inputs  # an input change re-runs `create`, which is idempotent
    assert (step.application, step.deployment_group) == (names["application"], names["deployment_group"])
    assert (step.function_name, step.alias, step.target_version) == (
        writer.inputs["name"],
        "live",
        writer.outputs["version"],
    )


def test_release_command_holds_no_path_of_this_checkout(prod: Program) -> None:
    """pulumi-command runs a command without ``dir`` in the provider's working directory, which Pulumi sets
    to the project directory: the relative interpreter is the project's virtualenv from any checkout, and
    `pulumi up` from another path sees the same inputs (no change, no re-run)."""
    release = prod.one(COMMAND)

    assert "dir" not in release.inputs
    assert str(PROJECT_DIR) not in json.dumps(release.inputs)
    assert (PROJECT_DIR / argv_of(prod)[0]).parent.name == "bin"


@pytest.mark.parametrize(("stack", "canary_minutes"), [("prod", 5), ("dev", 0)])
def test_the_steps_own_timeout_is_its_only_limit(program_runner, stack: str, canary_minutes: int) -> None:
    """pulumi-command runs the command under the provider's request context, which carries no deadline
    from ``customTimeouts`` (its Create never sees the request's timeout): declaring one would promise a
    limit nothing enforces. The step's ``--timeout`` covers the canary plus a margin."""
    program = program_runner(stack)

    assert step_of(program).timeout_seconds == canary_minutes * 60 + spec.RELEASE_WAIT_MARGIN_SECONDS
    assert program.one(COMMAND).custom_timeouts == {}


def test_release_uses_the_providers_region_profile_and_roles(program_runner) -> None:
    roles = (
        '[{"roleArn": "arn:aws:iam::210987654321:role/deployer", "sessionName": "ci,run=7",'
        ' "externalId": "x1,tenant=a:b/c"}, {"roleArn": "arn:aws:iam::210987654321:role/releaser"}]'
    )
    program = program_runner(
        "prod", {"aws:region": "us-west-2", "aws:profile": "ops", "aws:assumeRoles": roles}
    )
    provider = program.one("pulumi:providers:aws")
    step = step_of(program)

    assert (provider.inputs["region"], provider.inputs["profile"]) == ("us-west-2", "ops")
    assert json.loads(provider.inputs["assumeRoles"]) == json.loads(roles)
    assert (step.region, step.profile) == ("us-west-2", "ops")
    # STS allows , = : / in external ids and session names: they reach the step intact.
    assert step.assume_roles == (
        AssumeRole(
            role_arn="arn:aws:iam::210987654321:role/deployer",
            session_name="ci,run=7",
            external_id="x1,tenant=a:b/c",
        ),
        AssumeRole(role_arn="arn:aws:iam::210987654321:role/releaser"),
    )


def test_release_without_profile_or_roles_passes_only_the_region(dev: Program) -> None:
    step = step_of(dev)
    assert (step.region, step.profile, step.assume_roles) == ("eu-west-1", None, ())


def test_release_waits_for_the_group_and_the_alias(prod: Program) -> None:
    release = prod.one(COMMAND)
    assert prod.depends_on(release, prod.one(GROUP))
    assert prod.depends_on(release, prod.one("aws:lambda/alias:Alias"))
