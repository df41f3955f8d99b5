"""Create the local stack's resources in the emulator, from the same definitions the Pulumi program uses.

Names, queue attributes, table keys, the GSI and TTL all come from ``infra.spec``; nothing here restates them.
Every step is idempotent, so starting again in the same process (moto keeps its state) finds what exists.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from infra import spec

LOCAL_REGION = "us-east-1"
"""moto serves any region; one fixed region keeps the outputs document and the ARNs predictable."""

LOCAL_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
"""moto checks no signature, but botocore refuses to sign without credentials; these are never real."""

NOTIFICATION_QUEUE_SUFFIX = "s3-events"
"""The internal queue S3 notifies: the stand-in for S3 invoking the Transformer asynchronously."""

NOTIFICATION_VISIBILITY_SECONDS = spec.TRANSFORMER_TIMEOUT_SECONDS
WIRING_CHECK_SECONDS = 5.0


@dataclass(frozen=True)
class LocalResources:
    """Names, URLs and ARNs of everything the local stack created."""

    data_bucket: str
    writer_queue_url: str
    writer_queue_arn: str
    dlq_url: str
    dlq_arn: str
    notification_queue_url: str
    notification_queue_arn: str
    account_table: str
    log_table: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def local_session() -> boto3.Session:
    """A session that never reads the developer's AWS config: fixed fake credentials and region."""
    return boto3.Session(region_name=LOCAL_REGION, **LOCAL_CREDENTIALS)


def local_client(service: str, endpoint_url: str, *, session: boto3.Session | None = None) -> Any:
    """A botocore client for the emulator (a connection pool big enough for the dispatcher's threads)."""
    return (session or local_session()).client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint_url,
        config=Config(max_pool_connections=32, retries={"mode": "standard", "max_attempts": 3}),
    )


def ensure_resources(endpoint_url: str, *, stack: str = spec.LOCAL_STACK) -> LocalResources:
    """Create (or find) the bucket, three queues, both tables and the S3 notification; verify the wiring."""
    names = spec.resource_names(stack)
    session = local_session()
    sqs = local_client("sqs", endpoint_url, session=session)
    s3 = local_client("s3", endpoint_url, session=session)
    dynamodb = local_client("dynamodb", endpoint_url, session=session)

    dlq_url, dlq_arn = _queue(sqs, names["dlq"], spec.dlq_attributes())
    writer_url, writer_arn = _queue(sqs, names["writer_queue"], spec.writer_queue_attributes(dlq_arn))
    sqs.set_queue_attributes(
        QueueUrl=dlq_url, Attributes={"RedriveAllowPolicy": spec.redrive_allow_policy(writer_arn)}
    )
    notify_url, notify_arn = _queue(
        sqs,
        f"{spec.PROJECT}-{stack}-{NOTIFICATION_QUEUE_SUFFIX}",
        {"VisibilityTimeout": str(NOTIFICATION_VISIBILITY_SECONDS)},
    )

    _table(dynamodb, spec.ACCOUNT_TABLE, names["account_table"])
    _table(dynamodb, spec.LOG_TABLE, names["log_table"])

    _bucket(s3, names["data_bucket"])
    _notify(s3, sqs, names["data_bucket"], notify_url, notify_arn)

    return LocalResources(
        data_bucket=names["data_bucket"],
        writer_queue_url=writer_url,
        writer_queue_arn=writer_arn,
        dlq_url=dlq_url,
        dlq_arn=dlq_arn,
        notification_queue_url=notify_url,
        notification_queue_arn=notify_arn,
        account_table=names["account_table"],
        log_table=names["log_table"],
    )


def _queue(sqs: Any, name: str, attributes: dict[str, str]) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def _table(dynamodb: Any, table: spec.TableSpec, name: str) -> None:
    try:
        dynamodb.create_table(**spec.create_table_kwargs(table, name))
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceInUseException":
            raise
        return
    if table.ttl_attribute:
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute}
        )
    if table.point_in_time_recovery:
        dynamodb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )


def _bucket(s3: Any, name: str) -> None:
    try:
        s3.create_bucket(Bucket=name)
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise


def _notify(s3: Any, sqs: Any, bucket: str, queue_url: str, queue_arn: str) -> None:
    """Wire ObjectCreated on ``*.json`` to the notification queue, then prove it works.

    moto accepts a notification to a missing queue and later drops events silently (DESIGN.md section 10), so
    the queue is created first and the ``s3:TestEvent`` S3 sends on every configuration change is read back as
    the proof. Other messages seen meanwhile (uploads queued before a restart) are made visible again.
    """
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": "transformer",
                    "QueueArn": queue_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    # moto answers 500 unless the rule name is lower-case.
                    "Filter": {"Key": {"FilterRules": [{"Name": "suffix", "Value": spec.DATA_SUFFIX}]}},
                }
            ]
        },
    )
    deadline = time.monotonic() + WIRING_CHECK_SECONDS
    while time.monotonic() < deadline:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=30
        ).get("Messages", [])
        found = False
        for message in messages:
            if is_test_event(message["Body"]):
                found = True
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            else:
                sqs.change_message_visibility(
                    QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
        if found:
            return
    raise RuntimeError(
        f"S3 bucket {bucket} does not notify {queue_arn}: "
        f"no s3:TestEvent arrived within {WIRING_CHECK_SECONDS}s"
    )


def is_test_event(body: str) -> bool:
    """S3 sends ``{"Event": "s3:TestEvent", ...}`` (no ``Records``) when a notification is configured."""
    try:
        document = json.loads(body)
    except ValueError:
        return False
    return isinstance(document, dict) and document.get("Event") == "s3:TestEvent"
