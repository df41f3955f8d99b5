"""Security checks over the whole program, for every committed stack and config variant.

These look at every resource of a kind rather than at named ones, so a resource added later is held to
the same rules without anyone remembering to write a test for it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.infra import Program

UNSCOPABLE_ACTIONS = {
    # AWS defines no resource type for these actions, so "*" is the only possible Resource
    # (test_iam_reference.py checks every action against AWS's data; this is the program's own rule).
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
}

VARIANTS = [
    pytest.param(("dev", {}), id="dev"),
    pytest.param(("prod", {"alarmEmail": "ops@example.com", "maxReceiveCount": "2"}), id="prod-with-email"),
]


@pytest.fixture(params=VARIANTS)
def program(request: pytest.FixtureRequest, program_runner) -> Program:
    stack, config = request.param
    return program_runner(stack, config)


def policy_statements(program: Program) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every statement of every identity policy the program creates."""
    for policy in program.resources_of_type("aws:iam/rolePolicy:RolePolicy"):
        for statement in json.loads(policy.inputs["policy"])["Statement"]:
            yield policy.name, statement


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def test_permissions_are_inline_and_reviewable(program: Program) -> None:
    """No managed-policy attachments: every grant is in a document these tests read."""
    assert not program.resources_of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert not program.resources_of_type("aws:iam/policyAttachment:PolicyAttachment")
    roles = program.resources_of_type("aws:iam/role:Role")
    assert not [role.name for role in roles if role.inputs.get("managedPolicyArns")]
    policies = program.resources_of_type("aws:iam/rolePolicy:RolePolicy")
    assert {policy.inputs["role"] for policy in policies} == {role.outputs["name"] for role in roles}


def test_no_statement_allows_every_action(program: Program) -> None:
    for policy, statement in policy_statements(program):
        for action in as_list(statement["Action"]):
            assert "*" not in action, f"{policy} allows {action}"
        assert "NotAction" not in statement, policy


def test_no_resource_wildcard_except_for_unscopable_actions(program: Program) -> None:
    for policy, statement in policy_statements(program):
        resources = as_list(statement["Resource"])
        if "*" in resources:
            assert set(as_list(statement["Action"])) <= UNSCOPABLE_ACTIONS, f"{policy}: {statement}"
        for resource in resources:
            # "<bucket>/*" or "<log-group>:*" stay within one resource; bare wildcards do not.
            assert resource == "*" or resource.startswith("arn:aws:"), f"{policy}: {resource}"
            assert ":*:" not in resource and not resource.endswith(":::*"), f"{policy}: {resource}"


def test_every_bucket_blocks_public_access_and_denies_plain_http(program: Program) -> None:
    buckets = program.resources_of_type("aws:s3/bucket:Bucket")
    blocks = {b.inputs["bucket"]: b.inputs for b in program.resources_of_type(
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")}  # fmt: skip
    policies = {p.inputs["bucket"]: json.loads(p.inputs["policy"]) for p in program.resources_of_type(
        "aws:s3/bucketPolicy:BucketPolicy")}  # fmt: skip

    assert buckets
    for bucket in buckets:
        name = bucket.outputs["bucket"]
        block = blocks[name]
        assert all(
            block[key] is True
            for key in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        ), name
        denies = [
            s
            for s in policies[name]["Statement"]
            if s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        ]
        assert denies, f"{name} accepts plain HTTP"


def test_every_data_store_is_encrypted(program: Program) -> None:
    encrypted_buckets = {
        c.inputs["bucket"]
        for c in program.resources_of_type(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
        )
        if c.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] in ("AES256", "aws:kms")
    }
    for bucket in program.resources_of_type("aws:s3/bucket:Bucket"):
        assert bucket.outputs["bucket"] in encrypted_buckets
    for queue in program.resources_of_type("aws:sqs/queue:Queue"):
        assert queue.inputs.get("sqsManagedSseEnabled") is True or queue.inputs.get("kmsMasterKeyId"), (
            queue.name
        )
    for table in program.resources_of_type("aws:dynamodb/table:Table"):
        assert table.inputs["serverSideEncryption"]["enabled"] is True, table.name


def test_writer_route_requires_sigv4(program: Program) -> None:
    for route in program.resources_of_type("aws:apigatewayv2/route:Route"):
        assert route.inputs["authorizationType"] == "AWS_IAM", route.inputs["routeKey"]


def test_open_route_only_when_configured(program_runner) -> None:
    program = program_runner("prod", {"apiAuth": "NONE"})
    assert [
        r.inputs["authorizationType"] for r in program.resources_of_type("aws:apigatewayv2/route:Route")
    ] == ["NONE"]


def test_every_stage_throttles_at_a_non_zero_rate(program: Program) -> None:
    stages = program.resources_of_type("aws:apigatewayv2/stage:Stage")
    assert stages
    for stage in stages:
        settings = stage.inputs["defaultRouteSettings"]
        assert settings["throttlingRateLimit"] > 0 and settings["throttlingBurstLimit"] > 0, stage.name
