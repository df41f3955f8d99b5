"""Transformer Lambda: S3 ObjectCreated → records normalised and packed into WriterQueue messages.

Entry point ``functions.transformer.handler.handler``. Settings: ``WRITER_QUEUE_URL``. The work on one object
is :func:`functions.transformer.core.transform_stream`; this module only wires S3 and SQS to it. A failure to
send raises, so Lambda's asynchronous retry runs the event again (the writer's conditional writes make the
duplicates harmless).
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.logging import Logger

from functions import aws
from functions.errors import MissingSetting
from functions.messages import sqs_sink
from functions.model import Service
from functions.transformer.core import TransformReport, transform_stream
from functions.transformer.events import ObjectRef, Skipped, object_refs

logger = Logger(service=Service.TRANSFORMER)


def transform_object(ref: ObjectRef, queue_url: str) -> TransformReport | None:
    """Stream one S3 object through the transformer into ``queue_url``; None if the object is gone.

    An object deleted (or overwritten by a delete marker) before its event is handled holds no records to
    lose: that is logged and skipped. Any other S3 error raises, so Lambda retries the event.
    """
    from botocore.exceptions import ClientError

    try:
        body = aws.client("s3").get_object(Bucket=ref.bucket, Key=ref.key)["Body"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            logger.warning("object no longer exists: skipped", extra={"source": ref.url})
            return None
        raise
    try:
        return transform_stream(body, source=ref.url, sink=sqs_sink(queue_url, aws.client("sqs")))
    finally:
        body.close()


def process_event(event: dict[str, Any]) -> list[TransformReport]:
    """Transform every object the event names; skipped records are logged, not errors."""
    queue_url = os.environ.get("WRITER_QUEUE_URL") or ""
    reports = []
    for ref in object_refs(event):
        if isinstance(ref, Skipped):
            logger.info("skipped", extra={"reason": ref.reason, "key": ref.key})
            continue
        if not queue_url:
            raise MissingSetting("WRITER_QUEUE_URL", "the WriterQueue URL the transformer sends records to")
        report = transform_object(ref, queue_url)
        if report is not None:
            logger.info("transformed", extra=report.to_dict())
            reports.append(report)
    return reports


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    reports = process_event(event)
    return {"objects": [report.to_dict() for report in reports]}
