"""The policy builder refuses what the security checks forbid, before any document is rendered."""

from __future__ import annotations

import pytest

from infra.iam import Statement, UnscopedStatement


@pytest.mark.parametrize("action", ["*", "sqs:*", "dynamodb:Put*"])
def test_wildcard_actions_are_refused(action: str) -> None:
    with pytest.raises(ValueError, match="wildcard action"):
        Statement(actions=(action,), resources=["arn:aws:sqs:eu-west-1:123456789012:q"])


def test_statements_need_actions_and_resources() -> None:
    with pytest.raises(ValueError, match="at least one action and one resource"):
        Statement(actions=("sqs:SendMessage",), resources=[])


def test_only_unscopable_actions_may_be_granted_on_everything() -> None:
    assert UnscopedStatement(actions=("xray:PutTraceSegments",)).resources == ("*",)
    with pytest.raises(ValueError, match=r"\['sqs:SendMessage'\] support resource-level permissions"):
        UnscopedStatement(actions=("xray:PutTraceSegments", "sqs:SendMessage"))


def test_every_role_lives_under_the_stack_s_path(prod) -> None:
    """The deployer's IAM grants and iam:PassRole are scoped to this path (docs/iam/), not to every role."""
    roles = prod.resources_of_type("aws:iam/role:Role")
    assert len(roles) >= 5
    for role in roles:
        assert role.inputs["path"] == "/serverless-pipeline/prod/", role.name
        assert role.outputs["arn"].startswith("arn:aws:iam::123456789012:role/serverless-pipeline/prod/")
