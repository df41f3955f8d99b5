"""POST /writer: direct SQS integration, its narrow role, route authorisation, throttling and access logs."""

from __future__ import annotations

import json

import pytest

from tests.support.infra import Program

QUEUE = "aws:sqs/queue:Queue"


def test_route_posts_the_raw_body_to_writer_queue(dev: Program) -> None:
    api = dev.one("aws:apigatewayv2/api:Api")
    integration = dev.one("aws:apigatewayv2/integration:Integration")
    route = dev.one("aws:apigatewayv2/route:Route")
    writer_queue = dev.one(QUEUE, "writer-queue")

    assert api.inputs["protocolType"] == "HTTP"
    assert integration.inputs["apiId"] == route.inputs["apiId"] == "a1b2c3d4e5"
    assert integration.inputs["integrationType"] == "AWS_PROXY"
    assert integration.inputs["integrationSubtype"] == "SQS-SendMessage"
    assert integration.inputs["requestParameters"] == {
        "QueueUrl": writer_queue.outputs["url"],
        "MessageBody": "$request.body",
    }
    assert route.inputs["routeKey"] == "POST /writer"
    assert route.inputs["target"] == "integrations/integ01"


def test_integration_role_may_only_send_to_writer_queue(dev: Program) -> None:
    integration = dev.one("aws:apigatewayv2/integration:Integration")
    role = dev.one("aws:iam/role:Role", "api-sqs-role")
    document = dev.policy_of_role(role)

    assert integration.inputs["credentialsArn"] == role.outputs["arn"]
    assert '"Service": "apigateway.amazonaws.com"' in role.inputs["assumeRolePolicy"]
    assert [(s["Action"], s["Resource"]) for s in document["Statement"]] == [
        (["sqs:SendMessage"], [dev.one(QUEUE, "writer-queue").outputs["arn"]])
    ]


def test_api_gateway_may_assume_the_role_without_source_conditions(dev: Program) -> None:
    """API Gateway leaves ``aws:SourceAccount``/``aws:SourceArn`` unset when it assumes an integration's
    credentials role: a condition on either refuses the AssumeRole and every POST /writer answers 500.
    The guard against another API using the role is ``iam:PassRole`` on it (docs/deploy.md)."""
    role = dev.one("aws:iam/role:Role", "api-sqs-role")

    assert json.loads(role.inputs["assumeRolePolicy"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "apigateway.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }


@pytest.mark.parametrize(("auth", "expected"), [(None, "AWS_IAM"), ("AWS_IAM", "AWS_IAM"), ("NONE", "NONE")])
def test_route_authorisation_follows_api_auth(program_runner, auth: str | None, expected: str) -> None:
    program = program_runner("dev", {"apiAuth": auth})

    assert program.one("aws:apigatewayv2/route:Route").inputs["authorizationType"] == expected
    assert program.outputs["api_auth"] == expected


def test_default_stage_sets_both_throttling_limits(dev: Program) -> None:
    stage = dev.one("aws:apigatewayv2/stage:Stage")

    assert stage.inputs["name"] == "$default"
    assert stage.inputs["autoDeploy"] is True
    assert stage.inputs["defaultRouteSettings"] == {
        "throttlingRateLimit": float(dev.config["serverless-pipeline:apiThrottleRate"]),
        "throttlingBurstLimit": int(dev.config["serverless-pipeline:apiThrottleBurst"]),
    }


def test_throttling_limits_come_from_config(program_runner) -> None:
    stage = program_runner("dev", {"apiThrottleRate": "7.5", "apiThrottleBurst": "9"}).one(
        "aws:apigatewayv2/stage:Stage"
    )
    assert stage.inputs["defaultRouteSettings"] == {"throttlingRateLimit": 7.5, "throttlingBurstLimit": 9}


def test_access_logs_go_to_their_own_log_group(dev: Program) -> None:
    stage = dev.one("aws:apigatewayv2/stage:Stage")
    log_group = dev.one("aws:cloudwatch/logGroup:LogGroup", "api-access-logs")

    assert stage.inputs["accessLogSettings"]["destinationArn"] == log_group.outputs["arn"]
    fields = json.loads(stage.inputs["accessLogSettings"]["format"])
    assert {"requestId", "status", "routeKey", "integrationError"} <= set(fields)
    assert log_group.inputs["retentionInDays"] == int(dev.config["serverless-pipeline:logRetentionDays"])


def test_api_url_output_is_the_base_endpoint(dev: Program) -> None:
    api = dev.one("aws:apigatewayv2/api:Api")
    assert dev.outputs["api_url"] == api.outputs["apiEndpoint"]
    assert not dev.outputs["api_url"].endswith("/")
