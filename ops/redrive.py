"""Replaying a "Transformer gave up" failure: process its S3 object again, never send the record anywhere.

When the Transformer fails on an S3 event until Lambda gives up, Lambda's on-failure destination (the DLQ)
receives an *invocation record*: ``requestContext`` (the function, the condition) and ``requestPayload``
(the original S3 event). Sending that record to WriterQueue would only produce a bogus ``InvalidRecord``
and leave the file's records unwritten. What re-processes the file is a new ``ObjectCreated`` event for the
same object, and the one way to cause it without the original file is to copy the object onto itself:

    CopyObject  Bucket/Key  CopySource = the event's bucket, key and versionId (the exact version)
                MetadataDirective = REPLACE, Metadata = its metadata + pipeline-entered-at = event time
                                                      + pipeline-entered-at-mac = KMS GenerateMac of it

S3 refuses a copy onto itself that changes nothing, hence ``REPLACE`` (the content type and the other user
metadata are carried over from a HeadObject). ``pipeline-entered-at`` is what the Transformer reads to keep
the records' ingestion time: the original event's time, not the time of the replay. The Transformer believes
it only with the MAC made by the stack's entry-time key (the outputs document's ``entry_time_key``;
``functions.entry_time``), so the operator needs ``kms:GenerateMac`` on that key; a value already on the
object (an uploader's) is never carried over. An object (or the
event's version of it) that is gone cannot be re-driven: :class:`~ops.errors.NotFound`, and the LogTable
item stays ``NEW``.

Example::

    objects = s3_objects(item["body"])      # None: not an invocation record
    if objects: redrive(target.client("s3"), objects, entered_at=item.get("entered_at"), signer=signer)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote_plus

from botocore.exceptions import ClientError

from functions.entry_time import ENTERED_AT_MAC_METADATA, sign
from functions.model import API_SOURCE, ENTERED_AT_METADATA
from ops.errors import NotFound
from ops.logtable import iso

GONE_CODES = frozenset({"404", "NoSuchKey", "NoSuchVersion", "NoSuchBucket", "NotFound"})


@dataclass(frozen=True, kw_only=True)
class S3Object:
    """One object named by the S3 event inside an invocation record."""

    bucket: str
    key: str
    version_id: str | None
    event_time: str | None
    """The event's ``eventTime`` in the pipeline's format, when it has a readable one."""

    @property
    def uri(self) -> str:
        shown = f"s3://{self.bucket}/{self.key}"
        return f"{shown}?versionId={self.version_id}" if self.version_id else shown


def s3_objects(body: Any, source: Any = None) -> list[S3Object] | None:
    """The objects of a Lambda invocation record about an S3 event; ``None`` for any other body, and for a
    body that came through the API (``source`` ``api``): a client can post bytes shaped like an invocation
    record, and a replay must not copy objects, with a signed entry time, on a client's say-so."""
    if source == API_SOURCE or not isinstance(body, str) or '"requestPayload"' not in body:
        return None
    try:
        record = json.loads(body)
        events = record["requestPayload"]["Records"]
        if not isinstance(record.get("requestContext"), dict) or not isinstance(events, list) or not events:
            return None
        return [_object(event["s3"], event.get("eventTime")) for event in events]
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _object(s3: dict[str, Any], event_time: Any) -> S3Object:
    bucket, key = s3["bucket"]["name"], s3["object"]["key"]
    if not isinstance(bucket, str) or not isinstance(key, str):
        raise TypeError("bucket and key must be strings")
    version = s3["object"].get("versionId")
    return S3Object(
        bucket=bucket,
        key=unquote_plus(key),  # S3 event keys are URL-encoded (a space is '+')
        version_id=version if isinstance(version, str) and version else None,
        event_time=_pipeline_time(event_time),
    )


def _pipeline_time(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return iso(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except (ValueError, OverflowError):
        return None


Signer = Callable[[S3Object, str], dict[str, str]]
"""Makes the signed entry-time metadata of one object: (object, entry time) → metadata entries."""


def kms_signer(kms: Any, key_id: str) -> Signer:
    """The :data:`Signer` of a stack: its entry-time KMS key, through ``kms`` (a KMS client)."""

    def signed(obj: S3Object, entered_at: str) -> dict[str, str]:
        return sign(kms, key_id, bucket=obj.bucket, key=obj.key, entered_at=entered_at)

    return signed


def redrive(
    s3: Any, objects: Sequence[S3Object], *, signer: Signer, entered_at: str | None = None
) -> list[str]:
    """Copy each object onto itself so the Transformer processes it again; the new versions (or ETags).

    Every object is checked first, so that a gone one refuses the whole replay before anything is copied.
    """
    heads = [_head(s3, obj) for obj in objects]
    copied = []
    for obj, head in zip(objects, heads, strict=True):
        metadata = {
            name: value
            for name, value in (head.get("Metadata") or {}).items()
            if name not in (ENTERED_AT_METADATA, ENTERED_AT_MAC_METADATA)
        }
        original = _pipeline_time(entered_at) or obj.event_time
        if original:
            metadata.update(signer(obj, original))
        source: dict[str, str] = {"Bucket": obj.bucket, "Key": obj.key}
        if obj.version_id:
            source["VersionId"] = obj.version_id
        request: dict[str, Any] = {
            "Bucket": obj.bucket,
            "Key": obj.key,
            "CopySource": source,
            "MetadataDirective": "REPLACE",
            "Metadata": {name: value for name, value in metadata.items() if value},
        }
        if head.get("ContentType"):
            request["ContentType"] = head["ContentType"]
        try:
            done = s3.copy_object(**request)
        except ClientError as error:
            if _gone(error):
                raise _gone_error(obj) from None
            raise
        etag = str(done.get("CopyObjectResult", {}).get("ETag", "")).strip('"')
        copied.append(str(done.get("VersionId") or etag))
    return copied


def _head(s3: Any, obj: S3Object) -> dict[str, Any]:
    request = {"Bucket": obj.bucket, "Key": obj.key}
    if obj.version_id:
        request["VersionId"] = obj.version_id
    try:
        head: dict[str, Any] = s3.head_object(**request)
    except ClientError as error:
        if _gone(error):
            raise _gone_error(obj) from None
        raise
    return head


def _gone(error: ClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code")) in GONE_CODES


def _gone_error(obj: S3Object) -> NotFound:
    return NotFound(
        f"{obj.uri} is gone: the Transformer's failure cannot be replayed",
        hint="upload the file again; the LogTable item stays NEW",
    )
