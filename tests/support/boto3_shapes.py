"""The stack's queues and tables in boto3 API form, for tests that build them straight in moto.

The stack itself never needs these shapes (the Pulumi program, and through it the local stack, builds from
``infra.spec``); tests that skip the program to set up a queue or a table in ``mock_aws`` do.
"""

from __future__ import annotations

from typing import Any

from infra import spec
from infra.messaging import redrive_policy


def queue_attributes(queue: spec.QueueSpec) -> dict[str, str]:
    """``CreateQueue`` ``Attributes`` for a queue of the table of facts."""
    return {
        "VisibilityTimeout": str(queue.visibility_timeout_seconds),
        "MessageRetentionPeriod": str(queue.retention_seconds),
        "MaximumMessageSize": str(queue.max_message_bytes),
        "SqsManagedSseEnabled": "true" if queue.sqs_managed_sse else "false",
    }


def dlq_attributes() -> dict[str, str]:
    return queue_attributes(spec.DLQ)


def writer_queue_attributes(
    dlq_arn: str, max_receive_count: int = spec.DEFAULT_MAX_RECEIVE_COUNT
) -> dict[str, str]:
    """WriterQueue's attributes with its redrive to ``dlq_arn`` (the program's own redrive policy)."""
    return {
        **queue_attributes(spec.WRITER_QUEUE),
        "RedrivePolicy": redrive_policy(dlq_arn, max_receive_count),
    }


def create_table_kwargs(table: spec.TableSpec, table_name: str) -> dict[str, Any]:
    """boto3 ``create_table`` arguments for a table of the table of facts (on-demand billing, as in AWS)."""
    key_schema = [{"AttributeName": table.hash_key, "KeyType": "HASH"}]
    if table.range_key:
        key_schema.append({"AttributeName": table.range_key, "KeyType": "RANGE"})
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": "S"} for name in table.key_attributes()
        ],
        "KeySchema": key_schema,
    }
    if table.indexes:
        kwargs["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": [{"AttributeName": index.hash_key, "KeyType": "HASH"}]
                + ([{"AttributeName": index.range_key, "KeyType": "RANGE"}] if index.range_key else []),
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in table.indexes
        ]
    return kwargs
