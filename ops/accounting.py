"""What became of an uploaded file's records, read from the functions' own log lines.

Every record of a data file ends in exactly one writer outcome, and the writer logs one ``message processed``
line per WriterQueue message with the message's ``source`` (``s3://bucket/key``) and its counts: ``written``,
``stale`` (the conditional write found a newer or equal item: a re-upload of stored records is all stale),
``invalid`` (sent on to the DLQ, hence to LogTable) and ``failed`` (retried; redriven to the DLQ after
``maxReceiveCount``). What the transformer could not turn into records (an unreadable part of a file, a
record too large for a message) also reaches the writer, as a pre-failed message it counts as invalid. The
transformer logs one ``transformed`` line per object with how many records it read.

So a file is accounted for when the writer's ``written + stale + invalid`` for its source reaches what the
transformer read (``records + unreadable``; the locally counted records until that line shows up). This is
the same in AWS (the lines are in CloudWatch Logs, found with ``FilterLogEvents`` and the source as a quoted
term) and on the local stack (its functions' log file): one rule, no scan of AccountTable, and stale records,
which leave no trace in any table, are counted too. A message redelivered by SQS logs a second line: the
lines are keyed by message id, the latest wins. A message that failed and was redriven is found in LogTable
as a ``RetriesExhausted`` item holding its envelope, counted by its records (``redriven``).

Example::

    account = account_for(target, "s3://bucket/accounts.json", since=uploaded_at, expected=4)
    account.accounted, account.done
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from functions.errors import MalformedMessage
from functions.messages.bodies import Shape, parse_body
from functions.model import ErrorType, Service
from ops.logs import LogEvent, read_events
from ops.logtable import now_utc, query_window
from ops.target import Target

TRANSFORMED = "transformed"
MESSAGE_PROCESSED = "message processed"
VANISHED = "object no longer exists: skipped"
DEPLOYED_CLOCK_SLACK = timedelta(seconds=1)
"""How far before the upload a deployed stack's lines are read: Lambda's clock and this machine's agree only
to NTP's precision. Not more: a re-upload of the same key must not count the previous upload's lines, and
those end at least a wait (plus CloudWatch's ingestion delay) earlier. The local stack shares this machine's
clock and needs none."""


@dataclass(kw_only=True)
class FileAccount:
    uri: str
    records: int | None
    """Records counted locally before the upload; None when the file is not valid JSON."""
    read: int | None = None
    """What the transformer read (records + unreadable parts); None until its line is seen."""
    written: int = 0
    stale: int = 0
    invalid: int = 0
    failed: int = 0
    redriven: int = 0
    """Records of this file in RetriesExhausted LogTable items (messages redriven after failing)."""
    vanished: bool = False
    """The object was gone (deleted or overwritten) before the transformer read it."""
    messages: dict[str, tuple[int, int, int, int]] = field(default_factory=dict, repr=False)

    @property
    def expected(self) -> int | None:
        return self.read if self.read is not None else self.records

    @property
    def accounted(self) -> int:
        total = self.written + self.stale + self.invalid + self.redriven
        return total if self.expected is None else min(total, self.expected)

    @property
    def done(self) -> bool:
        if self.vanished:
            return True
        return self.read is not None and self.accounted >= self.read

    @property
    def state(self) -> str:
        if self.vanished:
            return "vanished"
        if self.done:
            return "done"
        return "waiting" if self.read is None else "processing"

    def to_dict(self) -> dict[str, Any]:
        document = {key: value for key, value in asdict(self).items() if key != "messages"}
        return {**document, "accounted": self.accounted, "expected": self.expected, "state": self.state}


def account_for(
    target: Target,
    uri: str,
    *,
    since: datetime,
    records: int | None,
    clock: Callable[[], datetime] = now_utc,
) -> FileAccount:
    """The file's account from the transformer's and writer's lines and LogTable, since ``since``."""
    account = FileAccount(uri=uri, records=records)
    start = since if target.is_local else since - DEPLOYED_CLOCK_SLACK
    events = read_events(target, [Service.TRANSFORMER.value, Service.WRITER.value], since=start, contains=uri)
    for event in events:
        add_event(account, event)
    for item in query_window(
        target.client("dynamodb"), target.outputs["log_table"], since=start, until=clock(), newest_first=False
    ):
        if item.get("error_type") != ErrorType.RETRIES_EXHAUSTED:
            continue
        body_source, body_records = _body_shape(item.get("body"))
        if uri in (item.get("source"), body_source):
            account.redriven += body_records
    return account


def add_event(account: FileAccount, event: LogEvent) -> None:
    """Fold one log line into the account (lines of other sources and other messages are ignored)."""
    fields = event.fields
    if fields is None or fields.get("source") != account.uri:
        return
    message = fields.get("message")
    if event.function == Service.TRANSFORMER and message == TRANSFORMED:
        account.read = _int(fields.get("records")) + _int(fields.get("unreadable"))
    elif event.function == Service.TRANSFORMER and message == VANISHED:
        account.vanished = True
    elif event.function == Service.WRITER and message == MESSAGE_PROCESSED:
        counts = (
            _int(fields.get("written")),
            _int(fields.get("stale")),
            _int(fields.get("invalid")),
            _int(fields.get("failed")),
        )
        account.messages[str(fields.get("message_id", event.event_id))] = counts
        totals = [sum(values) for values in zip(*account.messages.values(), strict=True)]
        account.written, account.stale, account.invalid, account.failed = totals


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def _body_shape(body: Any) -> tuple[str | None, int]:
    """(envelope source, number of records) of a LogTable body, read as the writer reads a body
    (functions.messages.bodies); an unparseable body, or an ambiguous envelope, counts as one."""
    if not isinstance(body, str):
        return None, 1
    try:
        parsed = parse_body(body)
    except MalformedMessage:
        return None, 1
    if parsed.shape == Shape.AMBIGUOUS:
        return None, 1
    return parsed.source, len(parsed.records)
