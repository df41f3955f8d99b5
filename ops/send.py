"""``pipeline-ctl send``: POST records to the stack's ``POST {api_url}/writer`` route.

The route is API Gateway's direct SQS integration, so every accepted request is one WriterQueue message and
the records are validated later by the writer (invalid ones end in LogTable). What this module can judge is
the HTTP exchange: 2xx is accepted; 429, 5xx and connection failures are retried with exponential backoff and
full jitter (so many clients throttled at once do not retry in lock-step); any other status is final.

Numbers are parsed as :class:`~decimal.Decimal` and written back verbatim: a balance of
``12345678901234567890.12`` must reach the writer as sent, not as the nearest float.

Example::

    records = read_records("accounts.jsonl")
    report = send(target, records, options=SendOptions(batch=10))
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ops import datafiles
from ops.errors import InvalidInput, OperationError, OpsError
from ops.target import Target

WRITER_ROUTE = "/writer"
API_SIGNING_SERVICE = "execute-api"
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
CONNECTION_FAILURE = "connection error"


@dataclass(frozen=True, kw_only=True)
class SendOptions:
    """How to send: request size, parallelism and patience."""

    batch: int = 1
    """Records per request: 1 posts each record as an object, more post a JSON array (one SQS message)."""
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
            "requests": self.requests,
            "accepted": self.accepted,
            "accepted_requests": self.accepted_requests,
            "rejected": sum(self.rejected.values()),
            "rejected_by_reason": dict(self.rejected),
            "retries": self.retries,
            "details": self.details,
        }


# --- Input ----------------------------------------------------------------------------------------------


def read_records(file: str, *, stdin: TextIO | None = None) -> list[Any]:
    """Records from a file, or from ``stdin`` when ``file`` is ``-``; refused by ``ops.datafiles``' rule."""
    if file == "-":
        if stdin is None:
            raise InvalidInput("- means stdin, but no stdin was given")
        records = parse_records(stdin.read(), "<stdin>")
    else:
        records = parse_records(datafiles.read_text(Path(file)), file)
    if not records:
        raise InvalidInput(f"{'<stdin>' if file == '-' else file}: no records in it (an empty array)")
    return records


def parse_records(text: str, name: str) -> list[Any]:
    """Records from a JSON object, a JSON array of objects, or JSON Lines; bad input names ``name:line``."""
    if not text.strip():
        raise datafiles.empty(name)
    try:
        document = _loads(text)
    except json.JSONDecodeError as error:
        if error.msg != "Extra data":
            raise _bad_json(name, error) from None
        return _json_lines(text, name)
    if isinstance(document, list):
        return [_require_object(item, f"{name}: item {index}") for index, item in enumerate(document, 1)]
    return [_require_object(document, name)]


def parse_record_option(text: str, position: int) -> Any:
    """One ``--record JSON`` value."""
    name = f"--record #{position}"
    try:
        value = _loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(f"{name}: not valid JSON: {error.msg} (column {error.colno})") from None
    return _require_object(value, name)


def encode(value: Any) -> str:
    """Compact JSON in which :class:`Decimal` numbers keep every digit they were written with."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(encode(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _loads(text: str) -> Any:
    return json.loads(text, parse_float=Decimal, parse_constant=_no_constant)


def _no_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not valid JSON", name, 0)


def _json_lines(text: str, name: str) -> list[Any]:
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = _loads(line)
        except json.JSONDecodeError as error:
            raise datafiles.not_json(f"{name}:{number}", f"{error.msg} (column {error.colno})") from None
        records.append(_require_object(value, f"{name}:{number}"))
    return records


def _bad_json(name: str, error: json.JSONDecodeError) -> InvalidInput:
    return datafiles.not_json(f"{name}:{error.lineno}", f"{error.msg} (column {error.colno})")


def _require_object(value: Any, where: str) -> Any:
    if not isinstance(value, dict):
        kind = "array" if isinstance(value, list) else type(value).__name__.replace("Decimal", "number")
        raise InvalidInput(f"{where}: a record must be a JSON object, not {kind}")
    return value


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
    records: Sequence[Any],
    *,
    options: SendOptions | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> SendReport:
    """Send records to the target's API with bounded concurrency; the report counts every record."""
    options = options or SendOptions()
    if options.batch < 1 or options.concurrency < 1 or options.retries < 0:
        raise InvalidInput("--batch and --concurrency must be at least 1, --retries at least 0")
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
    sender = Sender(url, signer=signer, options=options)
    try:
        return send_with(sender, records, on_progress=on_progress)
    finally:
        sender.close()


def send_with(
    sender: Sender, records: Sequence[Any], *, on_progress: Callable[[int], None] | None = None
) -> SendReport:
    """The loop behind :func:`send`: at most ``2 × concurrency`` requests in memory at once."""
    report = SendReport(records=len(records))
    outstanding: set[Future[_Outcome]] = set()
    limit = 2 * sender.options.concurrency

    def collect(done: set[Future[_Outcome]]) -> None:
        for future in done:
            outstanding.discard(future)
            outcome = future.result()
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

    pool = ThreadPoolExecutor(max_workers=sender.options.concurrency, thread_name_prefix="send")
    try:
        for body, count in _bodies(records, sender.options.batch):
            if len(outstanding) >= limit:
                collect(wait(outstanding, return_when=FIRST_COMPLETED).done)
            outstanding.add(pool.submit(sender.post, body, count))
        collect(wait(outstanding).done)
    except KeyboardInterrupt:
        # Ctrl-C: nothing new is sent; requests already on the wire finish, so their outcome is known
        # (a second Ctrl-C gives up on them and leaves them unknown).
        for future in outstanding:
            future.cancel()
        with contextlib.suppress(KeyboardInterrupt):
            collect({future for future in wait(outstanding).done if not future.cancelled()})
        unknown = sum(1 for future in outstanding if not future.cancelled())
        raise SendInterrupted(report, unknown_requests=unknown) from None
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return report


class SendInterrupted(OpsError):
    """Ctrl-C during a send: ``report`` counts what was sent; the rest was not (the CLI exits 130)."""

    def __init__(self, report: SendReport, *, unknown_requests: int = 0) -> None:
        sent = report.accepted + sum(report.rejected.values())
        message = (
            f"interrupted: {sent} of {report.records} records sent "
            f"({report.accepted} accepted, {sum(report.rejected.values())} rejected); "
            f"{report.records - sent} not sent"
        )
        if unknown_requests:
            message += f" ({unknown_requests} requests in flight, outcome unknown)"
        super().__init__(message, hint="send the rest again; accepted records are processed anyway")
        self.report = report
        self.unknown_requests = unknown_requests

    def to_dict(self) -> dict[str, Any]:
        sent = self.report.accepted + sum(self.report.rejected.values())
        return {
            **self.report.to_dict(),
            "interrupted": True,
            "not_sent": self.report.records - sent,
            "unknown_requests": self.unknown_requests,
        }


def _bodies(records: Sequence[Any], batch: int) -> Iterator[tuple[bytes, int]]:
    for start in range(0, len(records), batch):
        chunk = records[start : start + batch]
        document = chunk[0] if batch == 1 else list(chunk)
        yield encode(document).encode("utf-8"), len(chunk)


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
