"""``pipeline-ctl replay-dlq``: send failed bodies back to WriterQueue, each exactly once per operator action.

From LogTable (the default), an item is replayed in three steps::

    1. claim   UpdateItem  SET replay_claim = <token>, replay_claimed_at = now
                           IF status = NEW AND (no claim OR the claim is older than CLAIM_LEASE)
    2. send    SendMessage body, MessageAttributes replay_of = <error_id>, source and the item's
               entered_at, ingest_id, ingest_position (so the records keep their ingestion time and order)
    3. mark    UpdateItem  SET status = REPLAYED, replayed_at, replay_message_id  REMOVE the claim
                           IF replay_claim = <token>

Why this order: the claim is the only step two operators can race on, and DynamoDB's conditional write lets
exactly one of them win it, so a body is never sent twice by concurrent replays (send-then-mark would let
both send before either marks). A crash never loses a body: LogTable keeps it whatever happens. A crash
between claim and send leaves a NEW item with a stale claim that a later replay takes over once the lease
has expired; a crash between send and mark can, after the lease, lead to one more send of the same body,
which the writer absorbs because its writes are conditional on ``updated_at`` and the ingestion order
(docs/design.md). If the send fails, the claim is released at once. The statuses stay those of the
contract (``NEW``, ``REPLAYED``); the claim is two extra attributes, removed when the item is marked.

A "Transformer gave up" item (its body is Lambda's invocation record about an S3 event) is not sent: step 2
copies its object onto itself instead (``ops.redrive``), which makes the Transformer read the file again, and
the item is marked only when the copy succeeded. An object that is gone is reported and the item stays NEW.

Every re-sent message fits SQS's 256 KiB, attributes included: if the body and all its attributes do not,
``replay_of`` is left out (``source`` and the ingestion attributes never are: a replay that fails again must
be logged against the file it came from); a body that does not fit even then is reported failed.

From the DLQ (``source="dlq"``): receive, re-send the body to WriterQueue with ``replay_of`` = the message id,
delete from the DLQ only after the send succeeded. moto has no ``StartMessageMoveTask``, and this path has to
work on the local stack too. A crash between send and delete leaves the message in the DLQ: at least once,
and again harmless to the writer. (In AWS the ErrorHandler consumes the DLQ continuously; this path is for
messages it could not take, e.g. while it was broken.)

Example::

    report = replay(target, since=timedelta(hours=6), error_types=["RetriesExhausted"], limit=100)
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from functions.messages.sizing import message_size, utf8_size
from functions.model import (
    DEFAULT_LOG_RETENTION_DAYS,
    MAX_MESSAGE_BYTES,
    SQS_BATCH_MAX_ENTRIES,
    ErrorType,
    LogStatus,
    MessageAttribute,
)
from infra.spec import ENTRY_TIME_KEY_OUTPUT
from ops.errors import InvalidInput, NotFound, OperationError
from ops.logtable import check_error_types, get_item, iso, now_utc, query_window
from ops.redrive import S3Object, kms_signer, redrive, s3_objects
from ops.target import Target

CLAIM_LEASE = timedelta(minutes=15)
"""How long a claim protects an item: far longer than one SendMessage, short enough to recover a crash."""

DEFAULT_WINDOW = timedelta(days=DEFAULT_LOG_RETENTION_DAYS)
"""Without ``--since``, every day LogTable still keeps (its TTL), so nothing NEW is out of reach."""

DLQ_RECEIVE_VISIBILITY_SECONDS = 60
"""Received DLQ messages stay hidden this long, so one pass never sees the same message twice."""
EMPTY_RECEIVES_TO_STOP = 3


class Source(StrEnum):
    """Where failed bodies are replayed from."""

    LOGTABLE = "logtable"
    """NEW LogTable items, marked REPLAYED once re-sent (the default)."""
    DLQ = "dlq"
    """Messages still in the DLQ, deleted once re-sent."""


class Result(StrEnum):
    WOULD_REPLAY = "would replay"
    REPLAYED = "replayed"
    REPLAYED_UNMARKED = "replayed, mark lost"
    """Sent, but the claim expired and was taken over before the mark (a replay slower than CLAIM_LEASE)."""
    ALREADY_REPLAYED = "skipped: already replayed"
    CLAIMED = "skipped: being replayed by another operator"
    NOT_FOUND = "not found"
    FILTERED = "skipped: does not match --error-type"
    FAILED = "failed"
    NOT_REPLAYABLE = "skipped: fix the file and upload it again"
    """An ``UnreadableFile`` or ``RecordTooLarge`` item: its body describes the problem, it is no message."""
    OBJECT_GONE = "refused: object gone"
    """A "Transformer gave up" item whose S3 object (or the event's version of it) no longer exists."""


FAILURES = frozenset({Result.NOT_FOUND, Result.FAILED, Result.OBJECT_GONE})

CARRIED_ATTRIBUTES = (
    MessageAttribute.SOURCE,
    MessageAttribute.ENTERED_AT,
    MessageAttribute.INGEST_ID,
    MessageAttribute.INGEST_POSITION,
)
"""Stored on a LogTable item (and a DLQ message), re-sent with its body: where the records came from (so a
replay that fails again is logged against its file, not as ``api``), their ingestion time and order."""
OPTIONAL_ATTRIBUTES = (MessageAttribute.REPLAY_OF,)
"""Left out when a body at the size limit cannot carry every attribute (the carried ones always fit: the
transformer and the API leave room for them, functions.model.REPLAY_ATTRIBUTES_BUDGET_BYTES)."""
NOT_REPLAYABLE_TYPES = frozenset({ErrorType.UNREADABLE_FILE, ErrorType.RECORD_TOO_LARGE})
"""Failures about a file rather than a message: sending their body to the writer could only fail again."""


@dataclass(kw_only=True)
class ReplayEntry:
    error_id: str
    error_type: str
    failed_at: str = ""
    source: str = ""
    result: Result
    replay_message_id: str = ""
    detail: str = ""

    def to_dict(self) -> dict[str, str]:
        """The fields in their declared order (the JSON output's order), ``result`` as its text."""
        return {**asdict(self), "result": str(self.result)}


@dataclass(kw_only=True)
class ReplayReport:
    source: str
    dry_run: bool
    entries: list[ReplayEntry] = field(default_factory=list)

    @property
    def counts(self) -> Counter[str]:
        return Counter(str(entry.result) for entry in self.entries)

    @property
    def failures(self) -> list[ReplayEntry]:
        """The entries that were asked for but not replayed: a missing --id, a failed send or copy."""
        return [entry for entry in self.entries if entry.result in FAILURES]

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "dry_run": self.dry_run,
            "counts": dict(self.counts),
            "entries": [entry.to_dict() for entry in self.entries],
        }


def replay(
    target: Target,
    *,
    source: Source | str = Source.LOGTABLE,
    dry_run: bool = False,
    limit: int | None = None,
    since: timedelta | None = None,
    error_types: Sequence[str] = (),
    ids: Sequence[str] = (),
    clock: Callable[[], datetime] = now_utc,
) -> ReplayReport:
    """Replay failed bodies from LogTable (``NEW`` items) or straight from the DLQ; see the module doc."""
    if source not in set(Source):
        raise InvalidInput(f"unknown source {source!r}", hint="use --from logtable or --from dlq")
    check_error_types(error_types)
    if limit is not None and limit < 1:
        raise InvalidInput("--limit must be at least 1")
    if any(not error_id.strip() for error_id in ids):
        raise InvalidInput("--id must not be empty")
    report = ReplayReport(source=str(source), dry_run=dry_run)
    run = _from_logtable if source == Source.LOGTABLE else _from_dlq
    run(target, report, _Selection(limit=limit, since=since, error_types=error_types, ids=ids), clock)
    return report


@dataclass(frozen=True, kw_only=True)
class _Selection:
    """Which failed bodies one replay takes: the same options whether they come from LogTable or the DLQ."""

    limit: int | None
    since: timedelta | None
    error_types: Sequence[str]
    ids: Sequence[str]


# --- LogTable -------------------------------------------------------------------------------------------


def _from_logtable(
    target: Target, report: ReplayReport, selection: _Selection, clock: Callable[[], datetime]
) -> None:
    dynamodb, table = target.client("dynamodb"), target.outputs["log_table"]
    limit = selection.limit
    for item, early in _candidates(dynamodb, table, selection, clock=clock):
        if limit is not None and len(report.entries) >= limit:
            break
        if early is not None:
            report.entries.append(early)
            continue
        entry = _entry(item)
        objects = s3_objects(item.get("body"), item.get("source"))
        if not objects and item.get("error_type") in NOT_REPLAYABLE_TYPES:
            entry.result = Result.NOT_REPLAYABLE
        elif report.dry_run:
            if objects:
                entry.detail = "would copy " + _onto_itself(objects)
        else:
            _replay_item(target, item, entry, objects, clock=clock)
        report.entries.append(entry)


def _candidates(
    dynamodb: Any, table: str, selection: _Selection, *, clock: Callable[[], datetime]
) -> Iterator[tuple[dict[str, Any], ReplayEntry | None]]:
    """(item, None) for items to replay; (item, entry) for named ids that cannot be (missing, filtered...)."""
    since, error_types, ids = selection.since, selection.error_types, selection.ids
    if ids:
        for error_id in dict.fromkeys(ids):
            item = get_item(dynamodb, table, error_id)
            if item is None:
                yield {}, ReplayEntry(error_id=error_id, error_type="", result=Result.NOT_FOUND)
            elif item.get("status") != LogStatus.NEW:
                yield item, _entry(item, Result.ALREADY_REPLAYED)
            elif error_types and item.get("error_type") not in error_types:
                yield item, _entry(item, Result.FILTERED)
            else:
                yield item, None
        return
    now = clock()
    for item in query_window(
        dynamodb,
        table,
        since=now - (since or DEFAULT_WINDOW),
        until=now,
        newest_first=False,
        status=LogStatus.NEW,
        error_types=error_types,
    ):
        yield item, None


def _replay_item(
    target: Target,
    item: dict[str, Any],
    entry: ReplayEntry,
    objects: list[S3Object] | None,
    *,
    clock: Callable[[], datetime],
) -> None:
    dynamodb, table = target.client("dynamodb"), target.outputs["log_table"]
    key = {"error_id": {"S": entry.error_id}}
    token = uuid.uuid4().hex
    now = clock()
    try:
        dynamodb.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="SET replay_claim = :token, replay_claimed_at = :now",
            ConditionExpression=(
                "#status = :new AND (attribute_not_exists(replay_claim) OR replay_claimed_at < :expired)"
            ),
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":token": {"S": token},
                ":now": {"S": iso(now)},
                ":new": {"S": LogStatus.NEW.value},
                ":expired": {"S": iso(now - CLAIM_LEASE)},
            },
        )
    except ClientError as error:
        if not _condition_failed(error):
            raise
        current = get_item(dynamodb, table, entry.error_id) or {}
        entry.result = Result.ALREADY_REPLAYED if current.get("status") != LogStatus.NEW else Result.CLAIMED
        return
    try:
        replayed_as = _resend(target, entry, objects, item["body"], item)
    except NotFound as error:
        _release(dynamodb, table, key, token)
        entry.result, entry.detail = Result.OBJECT_GONE, str(error)
        return
    except (ClientError, BotoCoreError, OperationError) as error:
        _release(dynamodb, table, key, token)
        entry.result, entry.detail = Result.FAILED, str(error)
        return
    entry.replay_message_id = replayed_as
    try:
        dynamodb.update_item(
            TableName=table,
            Key=key,
            UpdateExpression=(
                "SET #status = :replayed, replayed_at = :at, replay_message_id = :message "
                "REMOVE replay_claim, replay_claimed_at"
            ),
            ConditionExpression="replay_claim = :token",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":replayed": {"S": LogStatus.REPLAYED.value},
                ":at": {"S": iso(clock())},
                ":message": {"S": replayed_as},
                ":token": {"S": token},
            },
        )
    except ClientError as error:
        if not _condition_failed(error):
            raise
        entry.result = Result.REPLAYED_UNMARKED
        return
    entry.result = Result.REPLAYED


def _release(dynamodb: Any, table: str, key: dict[str, Any], token: str) -> None:
    """Give the claim back after a failed send so the next replay does not wait for the lease."""
    try:
        dynamodb.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="REMOVE replay_claim, replay_claimed_at",
            ConditionExpression="replay_claim = :token",
            ExpressionAttributeValues={":token": {"S": token}},
        )
    except ClientError as error:
        if not _condition_failed(error):
            raise


def _entry(item: dict[str, Any], result: Result = Result.WOULD_REPLAY) -> ReplayEntry:
    return ReplayEntry(
        error_id=str(item.get("error_id", "")),
        error_type=str(item.get("error_type", "")),
        failed_at=str(item.get("failed_at", "")),
        source=str(item.get("source", "")),
        result=result,
    )


def _condition_failed(error: ClientError) -> bool:
    code: str | None = error.response.get("Error", {}).get("Code")
    return code == "ConditionalCheckFailedException"


def _resend(
    target: Target, entry: ReplayEntry, objects: list[S3Object] | None, body: str, stored: dict[str, Any]
) -> str:
    """Step 2 for either source: copy a gave-up item's objects onto themselves, or send the body again with
    the attributes ``stored`` with it; what it was replayed as (``copy:<versions>`` or the message id)."""
    if objects:
        signer = kms_signer(target.client("kms"), _entry_time_key(target))
        copies = redrive(
            target.client("s3"), objects, entered_at=_text(stored.get("entered_at")), signer=signer
        )
        entry.detail = "copied " + _onto_itself(objects)
        return "copy:" + ",".join(copies)
    return _send(target, body, replay_attributes(entry.error_id, stored, body))


def _entry_time_key(target: Target) -> str:
    key = target.outputs.get(ENTRY_TIME_KEY_OUTPUT)
    if not key:
        raise OperationError(
            f"the stack's outputs document has no {ENTRY_TIME_KEY_OUTPUT}: the re-driven object's entry time "
            "cannot be signed",
            hint="redeploy the stack (or restart the local stack) to rewrite its outputs document",
        )
    return key


def _onto_itself(objects: list[S3Object]) -> str:
    return ", ".join(obj.uri for obj in objects) + " onto itself"


def _send(target: Target, body: str, attributes: dict[str, Any]) -> str:
    sent = target.client("sqs").send_message(
        QueueUrl=target.outputs["writer_queue_url"], MessageBody=body, MessageAttributes=attributes
    )
    return str(sent["MessageId"])


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def replay_attributes(replay_of: str, stored: dict[str, Any], body: str) -> dict[str, Any]:
    """The message attributes of a replayed body: ``replay_of``, ``source`` and the carried ones.

    ``stored`` holds the values by name (a LogTable item, or a DLQ message's attributes flattened). Raises
    :class:`~ops.errors.OperationError` when the body with its ingestion attributes exceeds SQS's limit.
    """
    values = {MessageAttribute.REPLAY_OF.value: replay_of}
    for name in CARRIED_ATTRIBUTES:
        value = _text(stored.get(name.value))
        if value is not None:
            values[name.value] = value
    for optional in (None, *OPTIONAL_ATTRIBUTES):
        if optional is not None:
            values.pop(optional.value, None)
        if message_size(body, values) <= MAX_MESSAGE_BYTES:
            return {name: {"DataType": "String", "StringValue": value} for name, value in values.items()}
    raise OperationError(
        f"the body ({utf8_size(body):,} bytes) and its ingestion attributes "
        f"exceed SQS's {MAX_MESSAGE_BYTES:,} bytes"
    )


# --- DLQ ------------------------------------------------------------------------------------------------


def _from_dlq(
    target: Target, report: ReplayReport, selection: _Selection, clock: Callable[[], datetime]
) -> None:
    """Receive → re-send → delete. Messages not taken (filtered, dry run, failed) are made visible again."""
    sqs = target.client("sqs")
    dlq = target.outputs["dlq_url"]
    limit, since, error_types, ids = selection.limit, selection.since, selection.error_types, selection.ids
    cutoff = iso(clock() - since) if since is not None else None
    wanted_ids = set(ids)
    to_release: list[str] = []
    empty_receives = 0
    try:
        while limit is None or len(report.entries) < limit:
            room = SQS_BATCH_MAX_ENTRIES
            if limit is not None:
                room = min(room, limit - len(report.entries))
            received = sqs.receive_message(
                QueueUrl=dlq,
                MaxNumberOfMessages=room,
                WaitTimeSeconds=0,
                VisibilityTimeout=DLQ_RECEIVE_VISIBILITY_SECONDS,
                MessageAttributeNames=["All"],
                AttributeNames=["All"],
            ).get("Messages", [])
            if not received:
                # A short poll samples a subset of SQS's servers and may come back empty by chance.
                empty_receives += 1
                if empty_receives >= EMPTY_RECEIVES_TO_STOP or _visible(sqs, dlq) == 0:
                    break
                continue
            empty_receives = 0
            for message in received:
                entry = _dlq_entry(message)
                full = limit is not None and len(report.entries) >= limit
                if full or not _dlq_matches(entry, cutoff=cutoff, error_types=error_types, ids=wanted_ids):
                    to_release.append(message["ReceiptHandle"])
                    continue
                objects = s3_objects(message["Body"], entry.source)
                if not objects and entry.error_type in NOT_REPLAYABLE_TYPES:
                    entry.result = Result.NOT_REPLAYABLE
                    to_release.append(message["ReceiptHandle"])
                elif report.dry_run:
                    if objects:
                        entry.detail = "would copy " + _onto_itself(objects)
                    to_release.append(message["ReceiptHandle"])
                else:
                    _replay_message(sqs, target, message, entry, objects, to_release)
                report.entries.append(entry)
    finally:
        for handle in to_release:
            sqs.change_message_visibility(QueueUrl=dlq, ReceiptHandle=handle, VisibilityTimeout=0)
    if wanted_ids:
        seen = {entry.error_id for entry in report.entries}
        for error_id in ids:
            if error_id not in seen:
                report.entries.append(ReplayEntry(error_id=error_id, error_type="", result=Result.NOT_FOUND))


def _replay_message(
    sqs: Any,
    target: Target,
    message: dict[str, Any],
    entry: ReplayEntry,
    objects: list[S3Object] | None,
    to_release: list[str],
) -> None:
    body = message["Body"]
    stored = {
        name: value.get("StringValue")
        for name, value in message.get("MessageAttributes", {}).items()
        if isinstance(value, dict)
    }
    stored[MessageAttribute.SOURCE.value] = entry.source
    try:
        replayed_as = _resend(target, entry, objects, body, stored)
    except NotFound as error:
        to_release.append(message["ReceiptHandle"])
        entry.result, entry.detail = Result.OBJECT_GONE, str(error)
        return
    except (ClientError, BotoCoreError, OperationError) as error:
        to_release.append(message["ReceiptHandle"])
        entry.result, entry.detail = Result.FAILED, str(error)
        return
    sqs.delete_message(QueueUrl=target.outputs["dlq_url"], ReceiptHandle=message["ReceiptHandle"])
    entry.result, entry.replay_message_id = Result.REPLAYED, replayed_as


def _dlq_entry(message: dict[str, Any]) -> ReplayEntry:
    attributes = message.get("MessageAttributes", {})

    def attribute(name: str) -> str:
        return str(attributes.get(name, {}).get("StringValue", ""))

    failed_at = attribute(MessageAttribute.FAILED_AT)
    if not failed_at and "SentTimestamp" in message.get("Attributes", {}):
        sent = datetime.fromtimestamp(int(message["Attributes"]["SentTimestamp"]) / 1000).astimezone()
        failed_at = iso(sent)
    return ReplayEntry(
        error_id=message["MessageId"],
        error_type=attribute(MessageAttribute.ERROR_TYPE) or ErrorType.RETRIES_EXHAUSTED.value,
        failed_at=failed_at,
        source=attribute(MessageAttribute.SOURCE),
        result=Result.WOULD_REPLAY,
    )


def _dlq_matches(
    entry: ReplayEntry, *, cutoff: str | None, error_types: Sequence[str], ids: set[str]
) -> bool:
    if ids and entry.error_id not in ids:
        return False
    if error_types and entry.error_type not in error_types:
        return False
    return cutoff is None or entry.failed_at >= cutoff


def _visible(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])
