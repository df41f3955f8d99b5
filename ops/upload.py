"""``pipeline-ctl upload``: put data files into DataBucket, and optionally wait until they are processed.

Only keys ending in ``.json`` (case-sensitive, like the bucket's S3 filter) reach the transformer, so any
other name is refused unless ``--force``, which uploads it under its name with ``.json`` appended: an upload
that silently never gets processed is worse than an error. boto3's managed transfer switches to multipart
above ``MULTIPART_THRESHOLD``.

``--wait`` follows the files until their records are accounted for, by the rule in ``ops.accounting``: the
writer's logged outcomes (written, stale, invalid) for the file's source reach what the transformer read.
Otherwise the wait also ends once the pipeline is drained and settled: WriterQueue and DLQ hold nothing,
visible or in flight, and the accounts have not moved for ``settle`` seconds after some of the upload was
seen; the remainder is then reported as unaccounted. With no activity at all it goes on until the timeout
(the S3 notification may be late or missing), which raises :class:`WaitTimedOut` carrying what was seen.

Example::

    uploaded = upload(target, [Path("accounts.json")], prefix="incoming")
    report = wait_processed(target, uploaded, timeout=300)
"""

from __future__ import annotations

import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError

from functions.model import DATA_SUFFIX
from functions.transformer.reader import FileShape, survey
from ops import datafiles
from ops.accounting import FileAccount, account_for
from ops.errors import InvalidInput, OperationError, OpsError
from ops.logtable import iso, now_utc
from ops.target import Target

MULTIPART_THRESHOLD = 16 * 1024 * 1024
TRANSFER = TransferConfig(multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=MULTIPART_THRESHOLD)
DEFAULT_TIMEOUT = 300.0
LOCAL_POLL, DEPLOYED_POLL = 0.5, 3.0
LOCAL_SETTLE, DEPLOYED_SETTLE = 3.0, 30.0
"""Quiet time before the remainder is called stale: the local dispatcher reacts in well under a second, an
S3-triggered Lambda in AWS can take seconds to start and a large file minutes to stream."""


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
class WaitReport:
    files: list[FileAccount] = field(default_factory=list)
    settled: bool = False
    """True when the wait ended on a drained, quiet pipeline rather than on every record accounted for."""
    queued: int | None = None
    """Messages in WriterQueue and the DLQ (visible + in flight) at the last look."""
    elapsed: float = 0.0

    @property
    def accounted(self) -> int:
        return sum(file.accounted for file in self.files)

    @property
    def expected(self) -> int:
        return sum(file.expected or 0 for file in self.files)

    def to_dict(self) -> dict[str, Any]:
        return {
            "settled": self.settled,
            "accounted": self.accounted,
            "expected": self.expected,
            "queued": self.queued,
            "elapsed_seconds": round(self.elapsed, 3),
            "files": [file.to_dict() for file in self.files],
        }


class WaitTimedOut(OperationError):
    """The wait ran out of time; ``report`` is what had been accounted for by then."""

    def __init__(self, report: WaitReport, timeout: float) -> None:
        super().__init__(
            f"timed out after {timeout:g} s: {report.accounted} of {report.expected} records accounted for",
            hint="it may still be working: see `pipeline-ctl status` and `pipeline-ctl logs writer`",
        )
        self.report = report


def object_key(path: Path, prefix: str) -> str:
    """The file's key under ``prefix``. A name not ending in ``.json`` (uploaded only with ``force``) gets
    ``.json`` appended: only such keys trigger the Transformer, so no upload is silently left unprocessed."""
    prefix = prefix.strip("/")
    name = path.name if path.name.endswith(DATA_SUFFIX) else f"{path.name}{DATA_SUFFIX}"
    return f"{prefix}/{name}" if prefix else name


@dataclass(frozen=True, kw_only=True)
class DataFile:
    """A local file checked for upload: its size and its records, counted the way the transformer reads."""

    path: Path
    size: int
    records: int | None
    """What the pipeline will account for (:func:`count_records`): records, and unreadable parts of a file
    uploaded with ``force`` (the transformer logs each)."""


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
        require_regular(path)
        if not force and not path.name.endswith(DATA_SUFFIX):
            raise InvalidInput(
                f"{path}: only keys ending in {DATA_SUFFIX} trigger the Transformer, so it would never be "
                "read",
                hint=f"rename it to {path.stem}{DATA_SUFFIX} (any accepted shape, JSON Lines too), or pass "
                f"--force to upload it as {path.name}{DATA_SUFFIX}",
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


def count_records(path: Path, *, strict: bool = False) -> int:
    """What the pipeline will account for in a data file: the records the transformer will send on and the
    parts of the file it cannot read (each logged once), read by the transformer's own reader
    (functions.transformer.reader.survey), streaming, in bounded memory, whatever the bytes.

    With ``strict``, a file the transformer could not read whole raises ``InvalidInput`` naming the first
    place it fails (and an empty one says so).
    """
    with path.open("rb") as stream:
        found = survey(stream)
    if strict and found.failures:
        if found.shape == FileShape.EMPTY:
            raise datafiles.empty(path)
        first = found.failures[0]
        raise datafiles.not_json(path, f"{first.reason} at {first.position}")
    return found.records + len(found.failures)


_KINDS = (
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
)


def require_regular(path: Path) -> None:
    """Only a regular file can be uploaded: a device (``/dev/zero``), a FIFO or a socket has no size to
    upload and may never end."""
    mode = path.stat().st_mode
    if stat.S_ISREG(mode):
        return
    kind = next((name for test, name in _KINDS if test(mode)), "not a file")
    raise InvalidInput(
        f"{path}: not a regular file ({kind})", hint="write the data to a file, then upload that file"
    )


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
    uploaded: list[UploadedFile] = []
    for index, file in enumerate(checked):
        key = object_key(file.path, prefix)
        started = iso(clock())
        done = UploadedFile(
            path=str(file.path),
            bucket=bucket,
            key=key,
            size=file.size,
            records=file.records,
            uploaded_at=started,
        )
        try:
            s3.upload_file(str(file.path), bucket, key, Config=TRANSFER, Callback=on_bytes)
        except KeyboardInterrupt:
            landed = _landed(s3, bucket, key, size=file.size, since=started)
            raise UploadInterrupted(
                [*uploaded, done] if landed else uploaded,
                current=str(file.path),
                landed=landed,
                remaining=[str(later.path) for later in checked[index + 1 :]],
            ) from None
        uploaded.append(done)
    return uploaded


class UploadInterrupted(OpsError):
    """Ctrl-C during the upload: what was uploaded, whether the file in transfer landed, what was not sent
    (the CLI exits 130)."""

    def __init__(
        self, uploaded: list[UploadedFile], *, current: str, landed: bool, remaining: list[str]
    ) -> None:
        not_sent = ([] if landed else [current]) + remaining
        super().__init__(
            f"interrupted: {len(uploaded)} of {len(uploaded) + len(not_sent)} files uploaded"
            + (f"; not uploaded: {_some(not_sent)}" if not_sent else ""),
            hint="uploaded files are processed anyway; upload the others again",
        )
        self.uploaded = uploaded
        self.current = current
        self.landed = landed
        self.not_uploaded = not_sent

    def to_dict(self) -> dict[str, Any]:
        return {
            "interrupted": True,
            "uploaded": [file.to_dict() for file in self.uploaded],
            "in_transfer": {"path": self.current, "landed": self.landed},
            "not_uploaded": self.not_uploaded,
        }


def _some(names: Sequence[str], shown: int = 3) -> str:
    """A few names for a one-line message: ``a.json, b.json, c.json and 12 more``."""
    listed = ", ".join(names[:shown])
    return listed + (f" and {len(names) - shown} more" if len(names) > shown else "")


def _landed(s3: Any, bucket: str, key: str, *, size: int, since: str) -> bool:
    """Did the object being sent when Ctrl-C came arrive whole? (a PUT can finish as the signal lands)."""
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except (ClientError, BotoCoreError):
        return False
    return int(head["ContentLength"]) == size and iso(head["LastModified"]) >= since[:19]


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
    started = time.monotonic()
    deadline = started + timeout
    last_seen: tuple[Any, ...] | None = None
    quiet_since = started
    while True:
        report = WaitReport(
            files=[
                account_for(
                    target, file.uri, since=_parse(file.uploaded_at), records=file.records, clock=clock
                )
                for file in uploaded
            ]
        )
        if all(file.done for file in report.files):
            report.elapsed = time.monotonic() - started
            _notify(on_poll, report)
            return report
        report.queued = _queued(target)
        report.elapsed = time.monotonic() - started
        _notify(on_poll, report)
        seen = tuple((file.read, file.accounted) for file in report.files)
        if seen != last_seen:
            last_seen, quiet_since = seen, time.monotonic()
        active = any(file.read is not None or file.accounted for file in report.files)
        if active and report.queued == 0 and time.monotonic() - quiet_since >= settle:
            report.settled = True
            return report
        if time.monotonic() >= deadline:
            raise WaitTimedOut(report, timeout)
        time.sleep(poll)


def _notify(on_poll: Callable[[WaitReport], None] | None, report: WaitReport) -> None:
    if on_poll is not None:
        on_poll(report)


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _queued(target: Target) -> int:
    """Messages in WriterQueue and the DLQ, visible or in flight: zero when the pipeline is drained."""
    sqs = target.client("sqs")
    total = 0
    for url in (target.outputs["writer_queue_url"], target.outputs["dlq_url"]):
        attributes = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        total += int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )
    return total
