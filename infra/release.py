"""The Writer's canary release: CodeDeploy application and group, and the step that runs a deployment.

Pulumi publishes a Writer version on every code change but never moves the ``live`` alias after creating it
(``ignore_changes`` in ``infra.functions``). The release step, a local command, hands the shift to CodeDeploy
through ``ops.release`` (the code ``pipeline-ctl release`` uses too) and waits until the deployment ends.

When the step runs again: its trigger is the published version, so a new version replaces the step, which
runs the command. The command exits non-zero unless ``live`` ends up serving that version (deployment
Failed or Stopped, CodeDeploy refusing a second deployment, waiting timed out); a failed step leaves no new
state in Pulumi, so the next ``pulumi up`` sees the same change and runs it again, and the command resumes
(an already-served version is a no-op, a deployment to the same version still running is waited for).

The command reaches AWS exactly as the stack's provider does (region, profile, assumed roles) and runs in the
project directory, with the project's virtualenv. Any other change of the step's inputs (another checkout
path, another profile) re-runs the same command, which then finds ``live`` serving the version: a no-op.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_command as command

from infra import spec
from infra.config import AwsAccess, StackConfig
from infra.iam import Statement, assume_role_policy, role_with_policy
from infra.layer import PROJECT_DIR
from ops.release import DEFAULT_POLL_SECONDS, wait_timeout

AUTO_ROLLBACK_EVENTS = ("DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM", "DEPLOYMENT_STOP_ON_REQUEST")
RELEASE_PYTHON = ".venv/bin/python"
"""Relative to the project directory (the command's working directory), as ``Pulumi.yaml``'s virtualenv."""
TIMEOUT_MARGIN_SECONDS = 300
"""Pulumi's own limit on the step exceeds the command's wait by this much, so the command's message wins."""


def access_arguments(access: AwsAccess) -> list[str]:
    """Command-line options giving ``ops.release`` the same AWS access as the stack's provider."""
    argv = ["--region", access.region]
    if access.profile:
        argv += ["--profile", access.profile]
    for role in access.assume_roles:
        option = role.role_arn
        if role.session_name:
            option += f",session={role.session_name}"
        if role.external_id:
            option += f",external-id={role.external_id}"
        argv += ["--assume-role", option]
    return argv


def release_command(
    *, config: StackConfig, function_name: str, version: str, application: str, deployment_group: str
) -> str:
    """The shell command releasing ``version`` and waiting for its deployment (no-op if ``live`` has it)."""
    argv = [
        RELEASE_PYTHON, "-m", "ops.release",
        *access_arguments(config.aws),
        "--application", application,
        "--deployment-group", deployment_group,
        "deploy",
        "--function", function_name,
        "--alias", spec.WRITER_ALIAS,
        "--target-version", version,
        "--timeout", f"{wait_timeout(config.deployment_config_name):g}",
        "--poll", f"{DEFAULT_POLL_SECONDS:g}",
    ]  # fmt: skip
    return shlex.join(argv)


@dataclass(frozen=True, kw_only=True)
class ReleaseArgs:
    config: StackConfig
    writer_function: aws.lambda_.Function
    writer_alias: aws.lambda_.Alias
    alarms: Sequence[aws.cloudwatch.MetricAlarm]


class Release(pulumi.ComponentResource):
    """CodeDeploy application + deployment group (explicit names) and the release trigger."""

    application: aws.codedeploy.Application
    deployment_group: aws.codedeploy.DeploymentGroup
    trigger: command.local.Command

    def __init__(self, name: str, args: ReleaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("serverless-pipeline:infra:Release", name, None, opts)
        config = args.config
        names = spec.codedeploy_names(config.stack)
        child = pulumi.ResourceOptions(parent=self)

        self.application = aws.codedeploy.Application(
            f"{name}-app", name=names["application"], compute_platform="Lambda", opts=child
        )
        # AWSCodeDeployRoleForLambda's grants, narrowed to our Writer and its alarms (no hooks, S3 revisions
        # or triggers). GetAlias/UpdateAlias are authorised on the function, not the alias: IAM's resource
        # type for both is `function` (only GetProvisionedConcurrencyConfig takes the alias-qualified ARN).
        # DescribeAlarms is authorised on the alarms it reads.
        self.role, self.role_policy = role_with_policy(
            f"{name}-codedeploy",
            trust=assume_role_policy("codedeploy.amazonaws.com"),
            statements=[
                Statement(
                    sid="ShiftLiveAlias",
                    actions=("lambda:GetAlias", "lambda:UpdateAlias"),
                    resources=[args.writer_function.arn],
                ),
                Statement(
                    sid="ReadAliasConcurrency",
                    actions=("lambda:GetProvisionedConcurrencyConfig",),
                    resources=[args.writer_alias.arn],
                ),
                Statement(
                    sid="ReadAlarms",
                    actions=("cloudwatch:DescribeAlarms",),
                    resources=[alarm.arn for alarm in args.alarms],
                ),
            ],
            opts=child,
        )
        self.deployment_group = aws.codedeploy.DeploymentGroup(
            f"{name}-group",
            app_name=self.application.name,
            deployment_group_name=names["deployment_group"],
            service_role_arn=self.role.arn,
            deployment_config_name=config.deployment_config_name,
            deployment_style={"deployment_type": "BLUE_GREEN", "deployment_option": "WITH_TRAFFIC_CONTROL"},
            auto_rollback_configuration={"enabled": True, "events": list(AUTO_ROLLBACK_EVENTS)},
            alarm_configuration={"enabled": True, "alarms": [alarm.name for alarm in args.alarms]},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.role_policy]),
        )

        version = args.writer_function.version
        timeout = f"{int(wait_timeout(config.deployment_config_name)) + TIMEOUT_MARGIN_SECONDS}s"
        self.trigger = command.local.Command(
            f"{name}-writer-release",
            create=pulumi.Output.all(args.writer_function.name, version).apply(
                lambda values: release_command(
                    config=config,
                    function_name=values[0],
                    version=values[1],
                    application=names["application"],
                    deployment_group=names["deployment_group"],
                )
            ),
            dir=str(PROJECT_DIR),
            # Replaced (so run) exactly when a new version is published; an unchanged tree publishes none.
            triggers=[version],
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[self.deployment_group, args.writer_alias],
                custom_timeouts=pulumi.CustomTimeouts(create=timeout, update=timeout),
                # Its first name: renaming it would replace it, i.e. run the release once for nothing.
                aliases=[pulumi.Alias(name=f"{name}-start-canary")],
            ),
        )
        self.register_outputs(
            {
                "application": self.application.name,
                "deployment_group": self.deployment_group.deployment_group_name,
                "writer_version": version,
                "release_output": self.trigger.stdout,
            }
        )
