"""IAM policy documents built from typed statements, so every grant names its exact resources.

Resources are Pulumi inputs (ARNs of resources created in the same program); the document is rendered once
all of them are known. ``UNSCOPED_ACTIONS`` is the closed list of actions AWS offers no resource-level
permission for: only they may be granted on ``"*"``, and the security tests hold the program to it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from infra import spec

UNSCOPED_ACTIONS: frozenset[str] = frozenset(
    {
        # X-Ray's trace upload APIs have no resource types.
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }
)


@dataclass(frozen=True, kw_only=True)
class Statement:
    """One ``Allow`` statement: exact actions on exact resources."""

    actions: Sequence[str]
    resources: Sequence[pulumi.Input[str]]
    sid: str | None = None

    def __post_init__(self) -> None:
        if not self.actions or not self.resources:
            raise ValueError("an IAM statement needs at least one action and one resource")
        for action in self.actions:
            if "*" in action:
                raise ValueError(f"wildcard action {action!r}: grant the exact actions")


@dataclass(frozen=True, kw_only=True)
class UnscopedStatement:
    """A statement on ``"*"``, allowed only for the actions listed in ``UNSCOPED_ACTIONS``."""

    actions: Sequence[str]
    sid: str | None = None
    resources: tuple[str, ...] = field(default=("*",), init=False)

    def __post_init__(self) -> None:
        scoped = sorted(set(self.actions) - UNSCOPED_ACTIONS)
        if scoped:
            raise ValueError(f"{scoped} support resource-level permissions: grant them on exact ARNs")


def policy_document(statements: Sequence[Statement | UnscopedStatement]) -> pulumi.Output[str]:
    """Render statements to a JSON policy document once every resource ARN is known."""
    resolved = [pulumi.Output.all(*statement.resources) for statement in statements]

    def render(resource_lists: list[list[str]]) -> str:
        rendered: list[dict[str, Any]] = []
        for statement, resources in zip(statements, resource_lists, strict=True):
            entry: dict[str, Any] = {
                "Effect": "Allow",
                "Action": sorted(statement.actions),
                "Resource": list(resources),
            }
            if statement.sid:
                entry["Sid"] = statement.sid
            rendered.append(entry)
        return json.dumps({"Version": "2012-10-17", "Statement": rendered}, sort_keys=True)

    return pulumi.Output.all(*resolved).apply(render)


def assume_role_policy(service: str) -> str:
    """Trust policy letting one AWS service principal assume a role.

    No ``aws:SourceAccount``/``aws:SourceArn`` condition: Lambda and CodeDeploy do not need one, and API
    Gateway does not populate either key when it assumes an integration's credentials role, so such a
    condition makes every request through the integration fail with 500 (docs/deploy.md)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


def role_path(stack: str) -> str:
    """Every role of a stack lives under ``/serverless-pipeline/<stack>/``: the deployer's IAM grants (and
    its ``iam:PassRole``) are scoped to that path instead of to every role of the account (docs/iam/)."""
    return f"/{spec.PROJECT}/{stack}/"


def role_with_policy(
    prefix: str,
    *,
    trust: pulumi.Input[str],
    statements: Sequence[Statement | UnscopedStatement],
    opts: pulumi.ResourceOptions,
) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
    """A service role and its one inline policy, ``<prefix>-role`` and ``<prefix>-policy``.

    Every role of the program is this pair; an inline policy (rather than a managed one) lives and dies with
    its role, so no grant outlasts the component that needed it.
    """
    role = aws.iam.Role(
        f"{prefix}-role", path=role_path(pulumi.get_stack()), assume_role_policy=trust, opts=opts
    )
    policy = aws.iam.RolePolicy(
        f"{prefix}-policy", role=role.id, policy=policy_document(statements), opts=opts
    )
    return role, policy
