"""S3 event records → the objects to transform (bucket, key), with the quirks AWS and moto really send.

* Keys are URL-encoded, spaces as ``+`` (``my+file%C3%A7.json`` → ``my fileç.json``); moto also encodes
  ``/`` as ``%2F``. ``unquote_plus`` undoes both.
* Right after a notification is configured, S3 sends an ``s3:TestEvent`` (no ``Records``): nothing to do.
* Only keys ending in ``.json`` (case-sensitive, like the S3 filter) are data; others are skipped, logged.
* An S3 event may also arrive wrapped in an SQS message (S3 → SQS → Lambda): its body is unwrapped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple, TypedDict
from urllib.parse import unquote_plus

from functions.model import DATA_SUFFIX


class S3Object(TypedDict, total=False):
    key: str
    versionId: str


class S3Bucket(TypedDict):
    name: str


class S3Entity(TypedDict):
    bucket: S3Bucket
    object: S3Object


class S3EventRecord(TypedDict, total=False):
    eventSource: str
    eventName: str
    eventTime: str
    s3: S3Entity


class ObjectRef(NamedTuple):
    """One object an event asks to transform: the exact version when the bucket is versioned, and when the
    event happened (the records' ``entered_at`` unless the object says otherwise)."""

    bucket: str
    key: str
    version_id: str | None = None
    event_time: str | None = None

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def ingest_id(self) -> str:
        """``s3://bucket/key``, plus ``?versionId=…`` when the event names a version."""
        return self.url + (f"?versionId={self.version_id}" if self.version_id else "")


class Skipped(NamedTuple):
    """An event record that names no data object, and why (for the log)."""

    reason: str
    key: str | None = None


def object_refs(event: Mapping[str, Any]) -> Iterator[ObjectRef | Skipped]:
    """Each object an S3 event (or an SQS event carrying S3 events) asks to transform, in order."""
    if event.get("Event") == "s3:TestEvent":
        yield Skipped("s3:TestEvent")
        return
    for record in event.get("Records") or []:
        if record.get("eventSource") == "aws:sqs":
            try:
                inner = json.loads(record.get("body") or "{}")
            except ValueError:
                yield Skipped("SQS message whose body is not an S3 event")
                continue
            yield from object_refs(inner)
            continue
        s3 = record.get("s3") or {}
        bucket = (s3.get("bucket") or {}).get("name")
        raw_key = (s3.get("object") or {}).get("key")
        if not bucket or raw_key is None:
            yield Skipped("record without s3.bucket.name / s3.object.key")
            continue
        if not str(record.get("eventName", "ObjectCreated")).startswith("ObjectCreated"):
            yield Skipped(f"event {record.get('eventName')}", raw_key)
            continue
        key = unquote_plus(raw_key)
        if not key.endswith(DATA_SUFFIX):
            yield Skipped(f"key does not end in {DATA_SUFFIX}", key)
            continue
        version_id = (s3.get("object") or {}).get("versionId") or None
        yield ObjectRef(bucket, key, version_id, record.get("eventTime") or None)
