"""Stack outputs, the SSM outputs document, and the provider's default tags."""

from __future__ import annotations

import json

import pytest

from infra import spec
from tests.support.infra import Program


def test_stack_outputs_are_exactly_the_design_keys(dev: Program) -> None:
    assert set(dev.outputs) == set(spec.OUTPUT_KEYS) | set(spec.OPTIONAL_OUTPUT_KEYS)


def test_the_alarm_topic_arn_is_in_the_outputs_document(prod: Program) -> None:
    document = json.loads(prod.one("aws:ssm/parameter:Parameter").inputs["insecureValue"])
    assert document["alarm_topic_arn"] == prod.one("aws:sns/topic:Topic").outputs["arn"]
    assert prod.outputs["alarm_topic_arn"] == document["alarm_topic_arn"]


def test_outputs_document_requires_every_key_and_allows_only_the_optional_ones() -> None:
    from infra.outputs import outputs_document

    required = dict.fromkeys(spec.OUTPUT_KEYS, "x")
    assert json.loads(outputs_document(required)) == required
    assert json.loads(outputs_document({**required, "alarm_topic_arn": "arn"}))["alarm_topic_arn"] == "arn"
    with pytest.raises(KeyError, match="missing \\['dlq_url'\\]"):
        outputs_document({key: value for key, value in required.items() if key != "dlq_url"})
    with pytest.raises(KeyError, match="unexpected \\['topic'\\]"):
        outputs_document({**required, "topic": "arn"})


def test_outputs_point_at_the_created_resources(dev: Program) -> None:
    queues = {q.name: q for q in dev.resources_of_type("aws:sqs/queue:Queue")}
    tables = {t.name: t for t in dev.resources_of_type("aws:dynamodb/table:Table")}

    assert dev.outputs["stack"] == "dev" and dev.outputs["region"] == "eu-west-1"
    assert dev.outputs["data_bucket"] == dev.one("aws:s3/bucket:Bucket").outputs["bucket"]
    assert dev.outputs["writer_queue_url"] == queues["serverless-pipeline-dev-writer-queue"].outputs["url"]
    assert dev.outputs["dlq_url"] == queues["serverless-pipeline-dev-dlq"].outputs["url"]
    assert dev.outputs["account_table"] == tables["serverless-pipeline-dev-accounts"].outputs["name"]
    assert dev.outputs["log_table"] == tables["serverless-pipeline-dev-errors"].outputs["name"]
    for key in ("transformer_function", "writer_function", "error_handler_function"):
        assert dev.outputs[key] == dev.function(key).inputs["name"] == spec.resource_names("dev")[key]


def test_ssm_parameter_holds_the_same_document(dev: Program) -> None:
    parameter = dev.one("aws:ssm/parameter:Parameter")
    document = json.loads(parameter.inputs["insecureValue"])

    assert (
        parameter.inputs["name"] == spec.outputs_parameter_name("dev") == "/serverless-pipeline/dev/outputs"
    )
    assert parameter.inputs["type"] == "String"
    assert set(document) == set(spec.OUTPUT_KEYS) | set(spec.OPTIONAL_OUTPUT_KEYS)
    assert document == dev.outputs


def test_provider_tags_every_resource_with_project_and_stack(prod: Program) -> None:
    provider = prod.one("pulumi:providers:aws")
    assert json.loads(provider.inputs["defaultTags"]) == {"tags": {"project": spec.PROJECT, "stack": "prod"}}
    assert provider.inputs["region"] == "eu-west-1"


def test_forwarded_aws_keys_reach_the_provider(program_runner) -> None:
    """aws:allowedAccountIds is the wrong-account guard: an explicit provider ignores it unless given it."""
    program = program_runner(
        "prod",
        {"aws:allowedAccountIds": '["012345678901"]', "aws:maxRetries": "7", "aws:retryMode": "adaptive"},
    )
    provider = program.one("pulumi:providers:aws")

    assert json.loads(provider.inputs["allowedAccountIds"]) == ["012345678901"]
    assert (provider.inputs["maxRetries"], provider.inputs["retryMode"]) == ("7", "adaptive")


def test_an_aws_key_the_program_does_not_forward_stops_the_program(program_runner) -> None:
    with pytest.raises(Exception, match="aws:skipRequestingAccountId is not supported"):
        program_runner("prod", {"aws:skipRequestingAccountId": "true"})


def test_every_aws_resource_goes_through_that_provider(prod: Program) -> None:
    provider = prod.one("pulumi:providers:aws")
    aws_resources = [r for r in prod.resources if r.type.startswith("aws:")]

    assert len(aws_resources) > 40
    for resource in aws_resources:
        assert resource.provider.startswith(f"{provider.urn}::"), resource.name
