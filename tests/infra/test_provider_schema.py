"""Every recorded resource input, nested keys included, judged by the installed providers' input types.

The mocks accept any input, so a mistyped key (``key_schema`` for ``key_schemas``) or a missing required
argument would pass every other test here and fail only in ``pulumi up``. The judge reads the ``*Args``
types of pulumi_aws and pulumi_command, not anything this program wrote.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.support.infra import Program, shared_program
from tests.support.judges import args_class, input_problems

VARIANTS = [
    pytest.param(("dev", {}), id="dev"),
    pytest.param(
        ("prod", {"alarmEmail": "ops@example.com", "powertoolsLayerArn": None, "writerBatchSize": "50"}),
        id="prod",
    ),
]


@pytest.fixture(params=VARIANTS)
def program(request: pytest.FixtureRequest, program_runner) -> Program:
    stack, config = request.param
    return shared_program(program_runner, stack, config)


def provider_resources(program: Program) -> list[Any]:
    return [r for r in program.resources if r.type.startswith(("aws:", "command:", "pulumi:providers:"))]


def test_every_input_matches_the_provider_types(program: Program) -> None:
    problems = [
        f"{resource.name}: {problem}"
        for resource in provider_resources(program)
        for problem in input_problems(resource.type, resource.inputs)
    ]
    assert problems == []


def test_every_provider_resource_has_a_type_to_check_against(program: Program) -> None:
    resources = provider_resources(program)
    assert len(resources) > 40
    assert [r.type for r in resources if args_class(r.type) is None] == []


# --- the judge itself: a wrong input fails it -------------------------------------------------------------


def mutated(program: Program, typ: str, name_contains: str, change: Any) -> dict[str, Any]:
    inputs = copy.deepcopy(program.one(typ, name_contains).inputs)
    change(inputs)
    return inputs


def rename(mapping: dict[str, Any], old: str, new: str) -> None:
    mapping[new] = mapping.pop(old)


STAGE = "aws:apigatewayv2/stage:Stage"
TABLE = "aws:dynamodb/table:Table"


@pytest.mark.parametrize(
    ("typ", "name", "change", "problem"),
    [
        pytest.param(
            STAGE,
            "",
            lambda i: rename(i["defaultRouteSettings"], "throttlingRateLimit", "throttlingRateLimt"),
            "Stage.defaultRouteSettings.throttlingRateLimt: not an input of StageDefaultRouteSettingsArgs",
            id="nested-typo",
        ),
        pytest.param(
            TABLE,
            "errors",
            lambda i: rename(i["globalSecondaryIndexes"][0], "keySchemas", "keySchema"),
            "Table.globalSecondaryIndexes[0].keySchema: not an input of TableGlobalSecondaryIndexArgs",
            id="gsi-key-schema",
        ),
        pytest.param(
            STAGE, "", lambda i: i.pop("apiId"), "Stage: required apiId (StageArgs) is missing", id="required"
        ),
        pytest.param(
            "aws:lambda/function:Function",
            "writer",
            lambda i: i.__setitem__("timeout", "30"),
            "Function.timeout: expected an integer, got '30'",
            id="kind",
        ),
        pytest.param(
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
            "",
            lambda i: rename(i["rules"][0]["noncurrentVersionExpiration"], "noncurrentDays", "days"),
            "noncurrentVersionExpiration: required noncurrentDays",
            id="nested-required",
        ),
        pytest.param(
            "command:local:Command",
            "",
            lambda i: i.__setitem__("workingDir", "/tmp"),
            "Command.workingDir: not an input of CommandArgs",
            id="command",
        ),
    ],
)
def test_the_judge_rejects_a_wrong_input(
    program_runner, typ: str, name: str, change: Any, problem: str
) -> None:
    dev = shared_program(program_runner, "dev", {})
    original = dev.one(typ, name).inputs
    assert input_problems(typ, original) == []

    found = input_problems(typ, mutated(dev, typ, name, change))

    assert any(problem in entry for entry in found), found
