"""The Writer's canary release: CodeDeploy application and group, and the step that runs a deployment.

Pulumi publishes a Writer version on every code change but never moves the ``live`` alias after creating it
(``ignore_changes`` in ``infra.functions``). The release step, a local command, hands the shift to CodeDeploy:
it runs ``python -m ops.release_step`` (the operator library's entry point, which this module only names,
``spec.RELEASE_STEP_MODULE``) and waits until the deployment ends.

When the step runs again: its trigger is the published version, so a new version replaces the step, which
runs the command. The command exits non-zero unless ``live`` ends up serving that version (deployment
Failed or Stopped, another deployment blocking the group, waiting timed out, credentials expired); a failed
step leaves no new state in Pulumi, so the next ``pulumi up`` sees the same change and runs it again, and the
command resumes (an already-served version is a no-op, a deployment to the same version still running is
waited for).

The command's inputs hold no path: pulumi-command runs it with the provider's working directory, which
Pulumi sets to the project directory (the one holding ``Pulumi.yaml``), so ``.venv/bin/python`` is the
project's virtualenv from every checkout and ``pulumi up`` from another path shows no change. The command
reaches AWS exactly as the stack's provider does (region, profile, assumed roles). Its ``--timeout`` is its
only time limit: pulumi-command does not apply Pulumi's ``customTimeouts`` to the command it runs.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_command as command

from infra import spec
from infra.config import StackConfig
from infra.iam import Statement, assume_role_policy, role_with_policy

AUTO_ROLLBACK_EVENTS = ("DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM", "DEPLOYMENT_STOP_ON_REQUEST")
RELEASE_PYTHON = ".venv/bin/python"
"""Relative to the project directory (the command's working directory), as ``Pulumi.yaml``'s virtualenv."""


def release_command(
    *, config: StackConfig, function_name: str, version: str, application: str, deployment_group: str
) -> str:
    """The shell command releasing ``version`` and waiting for its deployment (no-op if ``live`` has it)."""
    step = spec.ReleaseStep(
        region=config.aws.region,
        profile=config.aws.profile,
        assume_roles=config.aws.assume_roles,
        application=application,
        deployment_group=deployment_group,
        function_name=function_name,
        alias=spec.WRITER_ALIAS,
        target_version=version,
        timeout_seconds=spec.release_wait_seconds(config.deployment_config_name),
    )
    return shlex.join([RELEASE_PYTHON, "-m", spec.RELEASE_STEP_MODULE, *step.argv()])


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
            # Replaced (so run) exactly when a new version is published; an unchanged tree publishes none.
            triggers=[version],
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[self.deployment_group, args.writer_alias],
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
