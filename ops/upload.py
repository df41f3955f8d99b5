"""``pipeline-ctl upload``: put data files into DataBucket, and optionally wait until they are processed.

Only keys ending in ``.json`` (case-sensitive, like the bucket's S3 filter) reach the transformer, so any
other name is refused unless ``--force``: an upload that silently never gets processed is worse than an
error. boto3's managed transfer switches to multipart above ``MULTIPART_THRESHOLD``.

How ``--wait`` decides a file is processed, honestly. Each record ends as exactly one of: *written* (an
AccountTable item whose ``source`` is the file's ``s3://bucket/key`` and whose ``ingested_at`` is after the
upload), *logged* (a LogTable item with that source; a record rejected by the writer is one item, a message
redriven after retries is one item holding all its records, counted by its records), or *stale* (an older
update or a duplicate: the conditional write did nothing and leaves no trace anywhere). Stale records cannot
be observed, and a written item can also be superseded by a later upload (its ``source`` changes). So:

- the records are counted locally first, streaming, with the shapes the transformer accepts;
- a file is done when written + logged reaches its record count, or an ``UnreadableFile`` error names it;
- otherwise the wait is over once the queues are drained (WriterQueue and DLQ, visible and in flight) and the
  counts have not moved for ``settle`` seconds after at least one record of the upload was seen; the
  remainder is reported as ``stale_or_superseded``. With no activity at all the wait goes on until
  ``--timeout`` (the S3 notification may be late, or missing): a timeout is an error, exit 1.

Counting written items scans AccountTable (``Select=COUNT``, the source has no index): fine for the local
stack and development tables, costly on a large production table, where ``errors tail`` and metrics are
the better tools.

Example::

    uploaded = upload(target, [Path("accounts.json")], prefix="incoming")
    report = wait_processed(target, uploaded, timeout=300)
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import ijson
from boto3.s3.transfer import TransferConfig

from functions.model import ErrorType
from infra.spec import DATA_SUFFIX
from ops import datafiles
from ops.errors import InvalidInput, OperationError
from ops.logtable import iso, now_utc, query_window
from ops.target import Target

MULTIPART_THRESHOLD = 16 * 1024 * 1024
TRANSFER = TransferConfig(multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=MULTIPART_THRESHOLD)
DEFAULT_TIMEOUT = 300.0
LOCAL_POLL, DEPLOYED_POLL = 0.5, 3.0
LOCAL_SETTLE, DEPLOYED_SETTLE = 3.0, 30.0
"""Quiet time before the remainder is called stale: the local dispatcher reacts in well under a second, an
S3-triggered Lambda in AWS can take seconds to start and a large file minutes to stream."""

_SCALARS = frozenset({"string", "number", "boolean", "null"})
_VALUE_STARTS = _SCALARS | {"start_map", "start_array"}


@dataclass(kw_only=True)
class UploadedFile:
    path: str
    bucket: str
    key: str
    size: int
    records: int | None
    """Records counted locally; None when the file is not valid JSON (the transformer will log it)."""
    uploaded_at: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "uri": self.uri}


@dataclass(kw_only=True)
class FileProgress:
    uri: str
    records: int | None
    written: int = 0
    logged: int = 0
    unreadable: bool = False

    @property
    def done(self) -> bool:
        return self.unreadable or (self.records is not None and self.written + self.logged >= self.records)

    @property
    def stale_or_superseded(self) -> int:
        if self.records is None or self.unreadable:
            return 0
        return max(0, self.records - self.written - self.logged)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "stale_or_superseded": self.stale_or_superseded, "done": self.done}


@dataclass(kw_only=True)
class WaitReport:
    files: list[FileProgress] = field(default_factory=list)
    settled: bool = False
    """True when the wait ended on quiet queues rather than on every record being accounted for."""

    def to_dict(self) -> dict[str, Any]:
        return {"settled": self.settled, "files": [progress.to_dict() for progress in self.files]}


def object_key(path: Path, prefix: str) -> str:
    prefix = prefix.strip("/")
    return f"{prefix}/{path.name}" if prefix else path.name


@dataclass(frozen=True, kw_only=True)
class DataFile:
    """A local file checked for upload: its size and its records, counted the way the transformer reads."""

    path: Path
    size: int
    records: int | None
    """None when the file is not valid JSON (uploaded only with ``force``; the transformer will log it)."""


def check_files(paths: Sequence[Path], *, force: bool = False) -> list[DataFile]:
    """Refuse, before anything is sent, what cannot be uploaded or would fail: the rule of ``ops.datafiles``.

    A missing file or a directory is always refused; a name not ending in ``.json``, an empty file, a file
    without records or one that is not valid JSON is refused unless ``force``.
    """
    if not paths:
        raise InvalidInput("no files to upload")
    checked = []
    for path in paths:
        size = datafiles.check_readable(path)
        if not force and not path.name.endswith(DATA_SUFFIX):
            raise InvalidInput(
                f"{path}: only *{DATA_SUFFIX} keys are processed (the S3 filter is case-sensitive)",
                hint="rename the file, or pass --force to upload it anyway",
            )
        if datafiles.is_blank(path, size):
            if not force:
                raise datafiles.empty(path, hint="pass --force to upload it anyway")
            checked.append(DataFile(path=path, size=size, records=0))
            continue
        try:
            records = count_records(path, strict=True)
        except InvalidInput:
            if not force:
                raise
            records = count_records(path)
        if not force and not records:
            raise InvalidInput(f"{path}: no records in it", hint="pass --force to upload it anyway")
        checked.append(DataFile(path=path, size=size, records=records))
    return checked


def count_records(path: Path, *, strict: bool = False) -> int | None:
    """Records in a data file, streaming: array, object, envelope or JSON Lines.

    Memory stays constant whatever the file holds: events are read without ijson's prefixes (which grow
    with the nesting depth) and an integer literal of any length is accepted (ijson's C backend crashes the
    process on one longer than Python's 4,300-digit default limit). A file that is not valid JSON (or not
    UTF-8) counts as ``None``, or raises ``InvalidInput`` naming the problem when ``strict``.
    """
    counter = _RecordCounter()
    try:
        with path.open("rb") as stream, _any_integer_length():
            for event, value in ijson.basic_parse(stream, multiple_values=True):
                counter.see(event, value)
    except (ijson.JSONError, UnicodeDecodeError) as error:
        if strict:
            detail = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise datafiles.not_json(path, detail) from None
        return None
    return counter.count


@contextmanager
def _any_integer_length() -> Iterator[None]:
    previous = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(previous)


class _RecordCounter:
    """Counts records from ``basic_parse`` events the way the transformer reads a file's shapes."""

    def __init__(self) -> None:
        self.count = 0
        self.depth = 0
        self.top = ""
        self.key: str | None = None
        self.in_records = False
        self.envelope: int | None = None

    def see(self, event: str, value: Any) -> None:
        if event in _VALUE_STARTS:
            self._value(event)
        if event == "map_key" and self.depth == 1:
            self.key = value
        elif event in ("start_map", "start_array"):
            self.depth += 1
        elif event in ("end_map", "end_array"):
            self.depth -= 1
            if self.depth == 1 and event == "end_array":
                self.in_records = False
            if self.depth == 0 and event == "end_map":
                self.count += 1 if self.envelope is None else self.envelope

    def _value(self, event: str) -> None:
        if self.depth == 0:
            self.top, self.envelope, self.key = event, None, None
            if event in _SCALARS:
                self.count += 1  # a top-level scalar: a record the writer will reject
        elif self.depth == 1 and self.top == "start_array":
            self.count += 1
        elif self.depth == 1 and self.top == "start_map" and self.key == "records" and event == "start_array":
            self.in_records, self.envelope = True, 0
        elif self.depth == 2 and self.in_records and self.envelope is not None:
            self.envelope += 1


def upload(
    target: Target,
    files: Sequence[Path | DataFile],
    *,
    prefix: str = "",
    force: bool = False,
    on_bytes: Callable[[int], None] | None = None,
    clock: Callable[[], datetime] = now_utc,
) -> list[UploadedFile]:
    """Upload files (paths are checked first with :func:`check_files`; ``DataFile`` s already were)."""
    paths = [file for file in files if not isinstance(file, DataFile)]
    fresh = iter(check_files(paths, force=force) if paths else [])
    checked = [file if isinstance(file, DataFile) else next(fresh) for file in files]
    bucket = target.outputs["data_bucket"]
    s3 = target.client("s3")
    uploaded = []
    for file in checked:
        key = object_key(file.path, prefix)
        started = iso(clock())
        s3.upload_file(str(file.path), bucket, key, Config=TRANSFER, Callback=on_bytes)
        uploaded.append(
            UploadedFile(
                path=str(file.path),
                bucket=bucket,
                key=key,
                size=file.size,
                records=file.records,
                uploaded_at=started,
            )
        )
    return uploaded


def wait_processed(
    target: Target,
    uploaded: Sequence[UploadedFile],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    poll: float | None = None,
    settle: float | None = None,
    clock: Callable[[], datetime] = now_utc,
    on_poll: Callable[[WaitReport], None] | None = None,
) -> WaitReport:
    """Follow the uploaded files until their records are accounted for (see the module doc)."""
    poll = poll if poll is not None else (LOCAL_POLL if target.is_local else DEPLOYED_POLL)
    settle = settle if settle is not None else (LOCAL_SETTLE if target.is_local else DEPLOYED_SETTLE)
    deadline = time.monotonic() + timeout
    since = min(datetime.fromisoformat(file.uploaded_at.replace("Z", "+00:00")) for file in uploaded)
    last_counts: tuple[int, ...] | None = None
    quiet_since = time.monotonic()
    while True:
        report = WaitReport(files=[_progress(target, file, since, clock) for file in uploaded])
        if on_poll is not None:
            on_poll(report)
        if all(progress.done for progress in report.files):
            return report
        counts = tuple(n for progress in report.files for n in (progress.written, progress.logged))
        if counts != last_counts:
            last_counts, quiet_since = counts, time.monotonic()
        active = any(counts)
        if active and time.monotonic() - quiet_since >= settle and _queues_drained(target):
            report.settled = True
            return report
        if time.monotonic() >= deadline:
            seen = sum(progress.written + progress.logged for progress in report.files)
            expected = sum(progress.records or 0 for progress in report.files)
            raise OperationError(
                f"timed out after {timeout:g} s: {seen} of {expected} records accounted for",
                hint="it may still be working: see `pipeline-ctl status` and `pipeline-ctl errors tail`",
            )
        time.sleep(poll)


def _progress(
    target: Target, file: UploadedFile, since: datetime, clock: Callable[[], datetime]
) -> FileProgress:
    progress = FileProgress(uri=file.uri, records=file.records)
    progress.written = _count_written(target, file)
    for item in query_window(
        target.client("dynamodb"),
        target.outputs["log_table"],
        since=since - timedelta(seconds=1),
        until=clock(),
        newest_first=False,
    ):
        body_source, body_records = _body_shape(item.get("body"))
        if item.get("source") != file.uri and body_source != file.uri:
            continue
        if item.get("error_type") == ErrorType.UNREADABLE_FILE:
            progress.unreadable = True
        progress.logged += body_records
    return progress


def _count_written(target: Target, file: UploadedFile) -> int:
    request: dict[str, Any] = {
        "TableName": target.outputs["account_table"],
        "Select": "COUNT",
        "FilterExpression": "#source = :source AND ingested_at >= :since",
        "ExpressionAttributeNames": {"#source": "source"},
        "ExpressionAttributeValues": {":source": {"S": file.uri}, ":since": {"S": file.uploaded_at}},
    }
    total = 0
    while True:
        page = target.client("dynamodb").scan(**request)
        total += int(page.get("Count", 0))
        if "LastEvaluatedKey" not in page:
            return total
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _body_shape(body: Any) -> tuple[str | None, int]:
    """(envelope source, number of records) of a LogTable body; an unparseable body counts as one."""
    try:
        document = json.loads(body) if isinstance(body, str) else body
    except json.JSONDecodeError:
        return None, 1
    if isinstance(document, dict) and isinstance(document.get("records"), list):
        return document.get("source"), len(document["records"])
    if isinstance(document, list):
        return None, len(document)
    return None, 1


def _queues_drained(target: Target) -> bool:
    sqs = target.client("sqs")
    for url in (target.outputs["writer_queue_url"], target.outputs["dlq_url"]):
        attributes = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        if int(attributes["ApproximateNumberOfMessages"]) or int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        ):
            return False
    return True
