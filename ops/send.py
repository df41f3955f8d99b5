"""``pipeline-ctl send``: POST records to the stack's ``POST {api_url}/writer`` route.

The route is API Gateway's direct SQS integration, so every accepted request is one WriterQueue message and
the records are validated later by the writer (invalid ones end in LogTable). What this module can judge is
the HTTP exchange: 2xx is accepted; 429, 5xx and connection failures are retried with exponential backoff and
full jitter (so many clients throttled at once do not retry in lock-step); any other status is final.

Records are batched: by default each request carries as many as fit ``MAX_REPLAYABLE_BODY_BYTES`` (a
failed request still fits one DLQ message with its verdict, so it is replayed whole), since per-request
overhead dominates a one-record POST;
``batch`` caps the records per request (1 posts each record as an object). Input is a stream
(:mod:`ops.send_input`): a reader thread feeds a bounded queue, the sender packs and posts while it reads,
and a batch that has waited ``LINGER_SECONDS`` for more input leaves as it is, so records from a slow pipe
are not held back. Memory is bounded by the queue, the batch being packed and the requests in flight.

Numbers are parsed as :class:`~decimal.Decimal` and written back verbatim: a balance of
``12345678901234567890.12`` must reach the writer as sent, not as the nearest float.

Example::

    with open("accounts.jsonl", encoding="utf-8") as stream:
        report = send(target, stream_records(stream, "accounts.jsonl"))
"""

from __future__ import annotations

import contextlib
import json
import queue
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sized
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from functions.model import MAX_REPLAYABLE_BODY_BYTES
from ops.errors import InvalidInput, OperationError, OpsError
from ops.send_input import loads, require_object
from ops.target import Target

WRITER_ROUTE = "/writer"
API_SIGNING_SERVICE = "execute-api"
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
CONNECTION_FAILURE = "connection error"
LINGER_SECONDS = 0.2
"""How long a partly filled batch waits for more input before it is sent as it is."""
QUEUE_RECORDS = 1000
"""Records read ahead of the sender, at most: the reader waits when the sender falls behind."""


@dataclass(frozen=True, kw_only=True)
class SendOptions:
    """How to send: request size, parallelism and patience."""

    batch: int | None = None
    """Records per request at most: None fills each request up to ``MAX_REPLAYABLE_BODY_BYTES``; 1 posts each
    record as an object, more post a JSON array (one SQS message either way)."""
    max_body_bytes: int = MAX_REPLAYABLE_BODY_BYTES
    concurrency: int = 8
    retries: int = 5
    """Retries after the first attempt, for 429/5xx/connection failures only."""
    backoff_base: float = 0.2
    backoff_cap: float = 10.0
    timeout: float = 30.0


@dataclass(kw_only=True)
class SendReport:
    """What happened to the records, counted in records (and requests, which is what API Gateway bills)."""

    records: int = 0
    """Records sent (read from the input after the skipped ones)."""
    skipped: int = 0
    """Records at the start of the input passed over (``--skip``)."""
    requests: int = 0
    accepted: int = 0
    accepted_requests: int = 0
    retries: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    """Records finally rejected, by reason (``HTTP 403``, ``connection error``)."""
    details: dict[str, str] = field(default_factory=dict)
    """The last response body (or error) seen for each rejection reason, shortened."""

    @property
    def ok(self) -> bool:
        return not self.rejected

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "skipped": self.skipped,
            "requests": self.requests,
            "accepted": self.accepted,
            "accepted_requests": self.accepted_requests,
            "rejected": sum(self.rejected.values()),
            "rejected_by_reason": dict(self.rejected),
            "retries": self.retries,
            "details": self.details,
        }


# --- Input ----------------------------------------------------------------------------------------------


def parse_record_option(text: str, position: int) -> Any:
    """One ``--record JSON`` value."""
    name = f"--record #{position}"
    try:
        value = loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(f"{name}: not valid JSON: {error.msg} (column {error.colno})") from None
    return require_object(value, name)


def encode(value: Any) -> str:
    """Compact JSON in which :class:`Decimal` numbers keep every digit they were written with."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(encode(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


# --- Signing --------------------------------------------------------------------------------------------


class SigV4Signer:
    """Signs each request for API Gateway's IAM authoriser with the session's (refreshable) credentials."""

    def __init__(self, credentials: Credentials, region: str) -> None:
        self._credentials = credentials
        self._region = region

    def headers(self, url: str, body: bytes, headers: dict[str, str]) -> dict[str, str]:
        request = AWSRequest(method="POST", url=url, data=body, headers=dict(headers))
        frozen = self._credentials.get_frozen_credentials()
        SigV4Auth(frozen, API_SIGNING_SERVICE, self._region).add_auth(request)
        return dict(request.headers.items())


# --- Sending --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Outcome:
    records: int
    rejected: str | None
    retries: int
    detail: str = ""


class Sender:
    """POSTs bodies over one keep-alive connection pool, retrying what is worth retrying."""

    def __init__(self, url: str, *, signer: SigV4Signer | None, options: SendOptions) -> None:
        self.url = url
        self.signer = signer
        self.options = options
        self._pool = urllib3.PoolManager(
            maxsize=options.concurrency,
            block=True,
            retries=False,
            timeout=urllib3.Timeout(connect=min(5.0, options.timeout), read=options.timeout),
        )
        self._random = random.Random()
        self._random_lock = threading.Lock()

    def post(self, body: bytes, records: int) -> _Outcome:
        detail = ""
        for attempt in range(self.options.retries + 1):
            headers = {"Content-Type": "application/json"}
            if self.signer is not None:
                headers = self.signer.headers(self.url, body, headers)
            retry_after: float | None = None
            try:
                response = self._pool.request("POST", self.url, body=body, headers=headers)
            except (urllib3.exceptions.HTTPError, OSError) as error:
                reason, detail = CONNECTION_FAILURE, f"{type(error).__name__}: {error}"
            else:
                if 200 <= response.status < 300:
                    return _Outcome(records, None, attempt)
                reason = f"HTTP {response.status}"
                detail = response.data.decode("utf-8", "replace").strip()[:200]
                if response.status not in RETRYABLE_STATUSES:
                    return _Outcome(records, reason, attempt, detail)
                retry_after = _retry_after(response.headers.get("Retry-After"))
            if attempt < self.options.retries:
                time.sleep(self._delay(attempt, retry_after))
        return _Outcome(records, reason, self.options.retries, detail)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"); Retry-After is a floor."""
        ceiling = min(self.options.backoff_cap, self.options.backoff_base * 2**attempt)
        with self._random_lock:
            delay = self._random.uniform(0, ceiling)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.options.backoff_cap))
        return delay

    def close(self) -> None:
        self._pool.clear()


def send(
    target: Target,
    records: Iterable[Any],
    *,
    options: SendOptions | None = None,
    on_progress: Callable[[int], None] | None = None,
    skip: int = 0,
    total: int | None = None,
) -> SendReport:
    """Send records to the target's API with bounded concurrency; the report counts every record.

    ``records`` may be any iterable, an endless one included: it is read on a thread of its own as the
    requests go. The first ``skip`` records are read and passed over; ``total`` (the input's record count,
    when known) only makes an interruption's message exact."""
    options = options or SendOptions()
    if (options.batch is not None and options.batch < 1) or options.concurrency < 1 or options.retries < 0:
        raise InvalidInput("--batch and --concurrency must be at least 1, --retries at least 0")
    if skip < 0:
        raise InvalidInput("--skip must be at least 0")
    url = target.outputs["api_url"].rstrip("/") + WRITER_ROUTE
    signer = None
    if target.outputs["api_auth"] == "AWS_IAM":
        credentials = target.session.get_credentials()
        if credentials is None:
            raise OperationError(
                "the API needs SigV4 (api_auth AWS_IAM) but no AWS credentials were found",
                hint="set AWS_PROFILE or pass --profile",
            )
        signer = SigV4Signer(credentials, target.region)
    if total is None and isinstance(records, Sized):
        total = len(records)
    sender = Sender(url, signer=signer, options=options)
    try:
        return send_with(sender, records, on_progress=on_progress, skip=skip, total=total)
    finally:
        sender.close()


def send_with(
    sender: Sender,
    records: Iterable[Any],
    *,
    on_progress: Callable[[int], None] | None = None,
    skip: int = 0,
    total: int | None = None,
) -> SendReport:
    """The loop behind :func:`send`: at most ``2 × concurrency`` requests and ``QUEUE_RECORDS`` records in
    memory at once, whatever the input's length."""
    report = SendReport(skipped=0)
    outstanding: dict[Future[_Outcome], int] = {}
    """Each request in flight, and the input position of its first record."""
    frontier = _Frontier(skip)
    limit = 2 * sender.options.concurrency

    def collect(done: set[Future[_Outcome]]) -> None:
        for future in done:
            start = outstanding.pop(future)
            outcome = future.result()
            frontier.done(start, outcome.records)
            report.requests += 1
            report.retries += outcome.retries
            if outcome.rejected is None:
                report.accepted += outcome.records
                report.accepted_requests += 1
            else:
                report.rejected[outcome.rejected] += outcome.records
                report.details[outcome.rejected] = outcome.detail
            if on_progress is not None:
                on_progress(outcome.records)

    def submit(body: bytes, start: int, count: int) -> None:
        if len(outstanding) >= limit:
            collect(wait(outstanding, return_when=FIRST_COMPLETED).done)
        outstanding[pool.submit(sender.post, body, count)] = start
        report.records += count

    feed = _Feed(records, skip=skip)
    pool = ThreadPoolExecutor(max_workers=sender.options.concurrency, thread_name_prefix="send")
    try:
        try:
            _pack(feed, sender.options, submit)
        finally:
            report.skipped = feed.skipped
        collect(wait(outstanding).done)
    except KeyboardInterrupt:
        # Ctrl-C: nothing new is sent; requests already on the wire finish, so their outcome is known
        # (a second Ctrl-C gives up on them and leaves them unknown).
        for future in outstanding:
            future.cancel()
        with contextlib.suppress(KeyboardInterrupt):
            collect({future for future in wait(outstanding).done if not future.cancelled()})
        unknown = sum(1 for future in outstanding if not future.cancelled())
        raise SendInterrupted(
            report, unknown_requests=unknown, resume_at=frontier.position, total=total
        ) from None
    except InvalidInput as error:  # the input broke part way (stdin): what was read before it still goes
        collect(wait(outstanding).done)
        raise InputBroken(error, report, resume_at=frontier.position) from None
    finally:
        feed.stop()
        pool.shutdown(wait=False, cancel_futures=True)
    return report


class _Frontier:
    """The input position before which every record's request has ended (accepted or rejected): resuming
    there with ``--skip`` re-sends nothing that is lost and at most the requests that ended out of order
    (harmless: the writer's conditional writes make a repeat stale)."""

    def __init__(self, start: int) -> None:
        self.position = start
        self._ended: dict[int, int] = {}

    def done(self, start: int, count: int) -> None:
        self._ended[start] = count
        while self.position in self._ended:
            self.position += self._ended.pop(self.position)


_END = object()


class _Failed(NamedTuple):
    error: BaseException


class _Feed:
    """The input, read on a thread of its own into a bounded queue, so that a slow or endless input is read
    while requests go, and the sender can tell "no record yet" from "no record ever"."""

    def __init__(self, records: Iterable[Any], *, skip: int) -> None:
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=QUEUE_RECORDS)
        self.skip = skip
        self.skipped = 0
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(records,), name="send-input", daemon=True)
        self._thread.start()

    def _put(self, item: Any) -> bool:
        while not self._stopped.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _read(self, records: Iterable[Any]) -> None:
        try:
            for record in records:
                if self.skipped < self.skip:
                    self.skipped += 1
                    continue
                if not self._put(record):
                    return
        except BaseException as error:  # handed to the sender, which raises it in its own thread
            self._put(_Failed(error))
            return
        self._put(_END)

    def get(self, timeout: float | None) -> Any:
        """The next record, ``_END``, or a ``_Failed``; ``queue.Empty`` after ``timeout`` seconds."""
        return self.queue.get(timeout=timeout)

    def stop(self) -> None:
        self._stopped.set()


def _pack(feed: _Feed, options: SendOptions, submit: Callable[[bytes, int, int], None]) -> None:
    """Read the feed and submit bodies: one record per request with ``batch`` 1, otherwise JSON arrays of up
    to ``batch`` records and ``max_body_bytes`` bytes, each sent when full, when the input pauses for
    ``LINGER_SECONDS``, or at its end."""
    position = feed.skip
    pending: list[bytes] = []
    size = 2  # the brackets
    start = position

    def flush() -> None:
        nonlocal pending, size, start
        if pending:
            submit(b"[" + b",".join(pending) + b"]", start, len(pending))
        pending, size, start = [], 2, position

    while True:
        try:
            item = feed.get(LINGER_SECONDS if pending else None)
        except queue.Empty:
            flush()
            continue
        if item is _END:
            flush()
            return
        if isinstance(item, _Failed):
            flush()
            raise item.error
        body = encode(item).encode("utf-8")
        if options.batch == 1:
            submit(body, position, 1)
            position += 1
            start = position
            continue
        full = options.batch is not None and len(pending) >= options.batch
        if pending and (full or size + 1 + len(body) > options.max_body_bytes):
            flush()
        if not pending:
            start = position
        pending.append(body)
        size += len(body) + (1 if len(pending) > 1 else 0)
        position += 1


class SendInterrupted(OpsError):
    """Ctrl-C during a send: ``report`` counts what was sent; the rest was not (the CLI exits 130).

    ``resume_at`` is the ``--skip`` that sends the rest: every record before it has had its answer."""

    def __init__(
        self,
        report: SendReport,
        *,
        unknown_requests: int = 0,
        resume_at: int | None = None,
        total: int | None = None,
    ) -> None:
        sent = report.accepted + sum(report.rejected.values())
        to_send = None if total is None else total - report.skipped
        message = (
            f"interrupted: {sent} of {to_send} records sent"
            if to_send is not None
            else f"interrupted: {sent} records sent"
        )
        message += f" ({report.accepted} accepted, {sum(report.rejected.values())} rejected)"
        message += (
            f"; {to_send - sent} not sent" if to_send is not None else "; the rest of the input not sent"
        )
        if unknown_requests:
            message += f" ({unknown_requests} requests in flight, outcome unknown)"
        resume = report.skipped + sent if resume_at is None else resume_at
        super().__init__(message, hint=f"resume with --skip {resume}; accepted records are processed anyway")
        self.report = report
        self.unknown_requests = unknown_requests
        self.resume_at = resume
        self.not_sent = None if to_send is None else to_send - sent

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.report.to_dict(),
            "interrupted": True,
            "not_sent": self.not_sent,
            "unknown_requests": self.unknown_requests,
            "resume_skip": self.resume_at,
        }


class InputBroken(InvalidInput):
    """The input turned out bad part way (a stream cannot be checked first): what was read before the bad
    record was sent, and ``resume_at`` is the ``--skip`` that goes on from the bad record once fixed."""

    def __init__(self, error: InvalidInput, report: SendReport, *, resume_at: int) -> None:
        sent = report.accepted + sum(report.rejected.values())
        super().__init__(
            f"{error.message}; the {sent} records before it were sent ({report.accepted} accepted)",
            hint=f"fix the input, then resume with --skip {resume_at}",
        )
        self.cause = error
        self.report = report
        self.resume_at = resume_at

    def to_dict(self) -> dict[str, Any]:
        return {**self.report.to_dict(), "error": self.cause.message, "resume_skip": self.resume_at}


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
