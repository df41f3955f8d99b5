"""The HTTP API: ``POST /writer`` sends the raw body straight to WriterQueue, no Lambda in between.

The integration's role may do exactly one thing, ``sqs:SendMessage`` on WriterQueue. Its trust names
``apigateway.amazonaws.com`` with no ``aws:SourceAccount``/``aws:SourceArn`` condition: API Gateway does not
set those keys when it assumes an integration's credentials role, so the condition would refuse every
request (500). What keeps another API from using the role is ``iam:PassRole``: attaching it to an
integration needs that permission on the role in this account. The ``$default`` stage
sets BOTH throttling limits: an HTTP API stage with route settings but no limits throttles at 0, i.e. answers
429 to every request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.config import StackConfig
from infra.iam import Statement, assume_role_policy, role_with_policy

ROUTE_KEY = "POST /writer"
STAGE = "$default"

ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "caller": "$context.identity.caller",
        "requestTime": "$context.requestTime",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "responseLength": "$context.responseLength",
        "integrationStatus": "$context.integrationStatus",
        "integrationError": "$context.integrationErrorMessage",
        "latency": "$context.responseLatency",
    },
    sort_keys=True,
)


@dataclass(frozen=True, kw_only=True)
class ApiArgs:
    config: StackConfig
    writer_queue: aws.sqs.Queue


class Api(pulumi.ComponentResource):
    """HTTP API, its SQS integration and role, the route and the throttled, logged ``$default`` stage."""

    api: aws.apigatewayv2.Api
    stage: aws.apigatewayv2.Stage

    def __init__(self, name: str, args: ApiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("serverless-pipeline:infra:Api", name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)

        self.api = aws.apigatewayv2.Api(name, protocol_type="HTTP", opts=child)
        self.role, self.role_policy = role_with_policy(
            f"{name}-sqs",
            trust=assume_role_policy("apigateway.amazonaws.com"),
            statements=[
                Statement(
                    sid="SendToWriterQueue", actions=("sqs:SendMessage",), resources=[args.writer_queue.arn]
                )
            ],
            opts=child,
        )
        self.integration = aws.apigatewayv2.Integration(
            f"{name}-writer-queue",
            api_id=self.api.id,
            integration_type="AWS_PROXY",
            integration_subtype="SQS-SendMessage",
            credentials_arn=self.role.arn,
            payload_format_version="1.0",
            request_parameters={"QueueUrl": args.writer_queue.url, "MessageBody": "$request.body"},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.role_policy]),
        )
        self.route = aws.apigatewayv2.Route(
            f"{name}-post-writer",
            api_id=self.api.id,
            route_key=ROUTE_KEY,
            target=self.integration.id.apply(lambda integration_id: f"integrations/{integration_id}"),
            authorization_type=config.api_auth.value,
            opts=child,
        )
        self.access_logs = aws.cloudwatch.LogGroup(
            f"{name}-access-logs", retention_in_days=config.log_retention_days, opts=child
        )
        self.stage = aws.apigatewayv2.Stage(
            f"{name}-default-stage",
            api_id=self.api.id,
            name=STAGE,
            auto_deploy=True,
            default_route_settings={
                "throttling_rate_limit": config.api_throttle_rate,
                "throttling_burst_limit": config.api_throttle_burst,
            },
            access_log_settings={"destination_arn": self.access_logs.arn, "format": ACCESS_LOG_FORMAT},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.route]),
        )

        self.url = self.api.api_endpoint
        self.register_outputs({"api_url": self.url, "api_id": self.api.id, "stage": self.stage.name})
