"""The Writer's canary release: CodeDeploy application and group, and the step that starts a deployment.

Pulumi publishes a Writer version on every code change but never moves the ``live`` alias after creating it
(``ignore_changes`` in ``infra.functions``); a local command, re-run whenever the published version changes,
hands the shift to CodeDeploy through ``ops.codedeploy`` — the same code ``pipeline-ctl release`` uses.
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
from infra.iam import Statement, UnscopedStatement, assume_role_policy, policy_document

AUTO_ROLLBACK_EVENTS = ("DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM", "DEPLOYMENT_STOP_ON_REQUEST")
RELEASE_PYTHON = ".venv/bin/python"
"""Relative to the project directory (the command's working directory), as ``Pulumi.yaml``'s virtualenv.

A relative path keeps the command text identical on every machine, so it never shows as a diff."""


def release_command(
    *, config: StackConfig, function_name: str, version: str, application: str, deployment_group: str
) -> str:
    """The shell command starting the deployment of ``version`` (skipped when ``live`` already serves it)."""
    argv = [
        RELEASE_PYTHON, "-m", "ops.codedeploy",
        "--region", config.region,
        "--application", application,
        "--deployment-group", deployment_group,
        "start",
        "--function", function_name,
        "--alias", spec.WRITER_ALIAS,
        "--target-version", version,
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
        # AWSCodeDeployRoleForLambda's grants, narrowed to our alias (no hooks, S3 revisions or triggers).
        self.role = aws.iam.Role(
            f"{name}-codedeploy-role",
            assume_role_policy=assume_role_policy("codedeploy.amazonaws.com"),
            opts=child,
        )
        alias_arn = args.writer_alias.arn
        self.role_policy = aws.iam.RolePolicy(
            f"{name}-codedeploy-policy",
            role=self.role.id,
            policy=policy_document(
                [
                    Statement(
                        sid="ShiftLiveAlias",
                        actions=(
                            "lambda:GetAlias",
                            "lambda:UpdateAlias",
                            "lambda:GetProvisionedConcurrencyConfig",
                        ),
                        resources=[alias_arn],
                    ),
                    UnscopedStatement(sid="ReadAlarms", actions=("cloudwatch:DescribeAlarms",)),
                ]
            ),
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
            f"{name}-start-canary",
            create=pulumi.Output.all(args.writer_function.name, version).apply(
                lambda values: release_command(
                    config=config,
                    function_name=values[0],
                    version=values[1],
                    application=names["application"],
                    deployment_group=names["deployment_group"],
                )
            ),
            # Re-run exactly when a new version is published; an unchanged tree publishes none.
            triggers=[version],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.deployment_group, args.writer_alias]),
        )
        self.register_outputs(
            {
                "application": self.application.name,
                "deployment_group": self.deployment_group.deployment_group_name,
                "writer_version": version,
                "release_output": self.trigger.stdout,
            }
        )
