"""``pipeline-ctl account show``: one account's story — what AccountTable holds, where that value came from,
and every failure LogTable recorded for the same account id.

The item is read with a consistent GetItem. Where its value came from is already on it: ``source`` and the
order key ``ingest_order`` (``entered_at#position#ingest_id``, docs/design.md "Ingestion time and ingestion
order"), whose ``ingest_id`` names the S3 object and version, or the API message the record arrived in. The
failures are one query of LogTable's ``by_account`` index (hash ``account_id``, range ``failed_at``), newest
first; the index holds the items of one-record failures, which is how every invalid record is logged. Like
every GSI it is eventually consistent: a failure logged a moment ago may appear a moment later.

Example::

    story = account_story(target, "acct-1")
    print(story.origin.ingest_id if story.origin else "never written", len(story.failures))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from functions.model import API_SOURCE
from infra.spec import LOG_TABLE_ACCOUNT_INDEX
from ops.errors import InvalidInput, NotFound
from ops.logtable import item_to_python, pages
from ops.target import Target

VERSION_MARKER = "?versionId="

FAILURE_ATTRIBUTES = (
    "error_id",
    "failed_at",
    "error_type",
    "error_message",
    "source",
    "status",
    "replayed_at",
    "replay_of",
    "entered_at",
    "ingest_id",
    "ingest_position",
)
"""What a failure shows here; the body is left to ``pipeline-ctl errors show ID`` (it can be 256 KiB)."""


@dataclass(frozen=True, kw_only=True)
class Origin:
    """Where the stored value entered the pipeline, read from the item's ``source`` and ``ingest_order``."""

    source: str
    """``s3://bucket/key`` or ``api``."""
    entered_at: str | None
    """When the record entered the pipeline (the S3 event time, or the API message's sent time), UTC."""
    position: int | None
    """The record's position in its file (0-based), or in its API request's body."""
    ingest_id: str | None
    """The object as the Transformer named it (with ``?versionId=``), or the API message's id."""
    ingested_at: str | None
    """When the Writer wrote it."""

    @property
    def via_api(self) -> bool:
        return self.source == API_SOURCE

    @property
    def object(self) -> str | None:
        """``s3://bucket/key`` for an S3 record."""
        if self.via_api:
            return None
        if not self.ingest_id:
            return self.source
        return self.ingest_id.split(VERSION_MARKER, 1)[0]

    @property
    def version(self) -> str | None:
        """The S3 object version the record was read from, when the bucket gave one."""
        if self.via_api or not self.ingest_id or VERSION_MARKER not in self.ingest_id:
            return None
        return self.ingest_id.split(VERSION_MARKER, 1)[1]

    @property
    def message_id(self) -> str | None:
        """The WriterQueue message id of an API request (``POST /writer`` answers with it)."""
        return self.ingest_id if self.via_api else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "object": self.object,
            "version": self.version,
            "message_id": self.message_id,
            "entered_at": self.entered_at,
            "position": self.position,
            "ingest_id": self.ingest_id,
            "ingested_at": self.ingested_at,
        }


@dataclass(frozen=True, kw_only=True)
class AccountStory:
    account_id: str
    item: dict[str, Any] | None
    """The AccountTable item as stored (balance a ``Decimal``), or None when no record of it was written."""
    origin: Origin | None
    failures: list[dict[str, Any]] = field(default_factory=list)
    """LogTable items for this account id, newest first (``FAILURE_ATTRIBUTES`` of each)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            # numbers exactly as stored (a float would round a 38-digit balance)
            "item": None if self.item is None else {k: _exact(v) for k, v in self.item.items()},
            "origin": self.origin.to_dict() if self.origin else None,
            "failures": self.failures,
        }


def _exact(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def account_story(target: Target, account_id: str) -> AccountStory:
    """The account's item, its origin and its failures; :class:`NotFound` when the pipeline knows neither."""
    wanted = account_id.strip()
    if not wanted:
        raise InvalidInput("the account id is empty", hint="give the id as records carry it, e.g. acct-1")
    dynamodb = target.client("dynamodb")
    found = dynamodb.get_item(
        TableName=target.outputs["account_table"], Key={"account_id": {"S": wanted}}, ConsistentRead=True
    ).get("Item")
    item = item_to_python(found) if found else None
    failures = account_failures(dynamodb, target.outputs["log_table"], wanted)
    if item is None and not failures:
        raise NotFound(
            f"no account {wanted!r} in {target.outputs['account_table']}, and no failure recorded for it",
            hint="ids are case-sensitive; recent failures are listed by `pipeline-ctl errors tail`",
        )
    return AccountStory(
        account_id=wanted, item=item, origin=origin_of(item) if item else None, failures=failures
    )


def account_failures(dynamodb: Any, table: str, account_id: str) -> list[dict[str, Any]]:
    """Every LogTable item of ``account_id``, newest first, through ``by_account`` (all pages)."""
    names = {f"#a{index}": name for index, name in enumerate(FAILURE_ATTRIBUTES)}
    request: dict[str, Any] = {
        "TableName": table,
        "IndexName": LOG_TABLE_ACCOUNT_INDEX,
        "KeyConditionExpression": "#account = :account",
        "ExpressionAttributeNames": {"#account": "account_id", **names},
        "ExpressionAttributeValues": {":account": {"S": account_id}},
        "ProjectionExpression": ", ".join(names),
        "ScanIndexForward": False,
    }
    failures = [
        item_to_python(item) for page in pages(dynamodb.query, request) for item in page.get("Items", [])
    ]
    # failed_at is the index's range key; the id breaks ties so equal times list in a stable order
    failures.sort(
        key=lambda failure: (str(failure.get("failed_at", "")), str(failure["error_id"])), reverse=True
    )
    return failures


def origin_of(item: dict[str, Any]) -> Origin:
    """The item's origin, from ``source`` and ``ingest_order``; an item written before the order key existed
    still has its ``source`` and ``ingested_at``."""
    entered_at: str | None = None
    position: int | None = None
    ingest_id: str | None = None
    order = item.get("ingest_order")
    if isinstance(order, str) and order.count("#") >= 2:
        entered, digits, ingest_id = order.split("#", 2)
        entered_at = entered or None
        position = int(digits) if digits.isdigit() else None
    ingested = item.get("ingested_at")
    return Origin(
        source=str(item.get("source", "")),
        entered_at=entered_at,
        position=position,
        ingest_id=ingest_id or None,
        ingested_at=ingested if isinstance(ingested, str) else None,
    )
