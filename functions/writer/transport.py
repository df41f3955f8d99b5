"""PutItem without botocore's per-call machinery: a pre-serialised body, SigV4 by hand, kept-alive sockets.

Why: the writer's ceiling in Lambda is CPU (a small function gets a fraction of a vCPU), and a boto3
``put_item`` spends most of its CPU on parameter validation, serialisation, endpoint rules, event hooks,
signing through generic code and urllib3, many times the wire work. This module sends the same request,
signed the same way (AWS Signature Version 4), for a small fraction of that CPU (the figures are in
docs/benchmarks.md, "Writer throughput and CPU"). What it keeps from botocore:

* the client's **credentials** (refreshed by botocore when they are refreshable), **region** and **endpoint**
  (``AWS_ENDPOINT_URL``, so the local stack's moto server gets the same requests);
* botocore's ``before-send.dynamodb.PutItem`` **event**, emitted before each attempt as botocore's endpoint
  emits it: the first handler that answers (moto's in-process mock, the local stack's in-process road, a
  test's fault registered first) answers for the wire, and the handlers after it are not called;
* the **retry** rule of standard mode: throttling and 5xx retried up to ``functions.aws.MAX_ATTEMPTS`` with
  jittered exponential backoff (1 s base for throttling, 25 ms otherwise), connect and read timeouts of
  ``functions.aws``.

One connection per writer thread (``threading.local``), so the writer's pool bound is the connection bound.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

from functions import aws

if TYPE_CHECKING:  # imported when the first connection opens: the cold start does not pay for them
    import http.client

TARGET = "DynamoDB_20120810.PutItem"
CONTENT_TYPE = "application/x-amz-json-1.0"
THROTTLING = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
    }
)
TRANSIENT = frozenset({"InternalServerError", "ServiceUnavailable", "TransactionConflictException"})
THROTTLING_BACKOFF_SECONDS = 1.0
OTHER_BACKOFF_SECONDS = 0.025
MAX_BACKOFF_SECONDS = 20.0
"""As botocore's standard retry mode (botocore.retries.standard.ExponentialBackoff) for DynamoDB."""


class Answer(NamedTuple):
    status: int
    """The HTTP status, or 0 when no answer came (connection failure, timeout)."""
    code: str = ""
    """The error's ``__type`` after the ``#`` (``ConditionalCheckFailedException``...), "" on success."""
    message: str = ""


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


class PutItemSender:
    """Sends PutItem bodies for one botocore DynamoDB client (its credentials, region, endpoint, events)."""

    def __init__(self, client: Any, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._client = client
        self._credentials = aws.credentials()  # refreshable ones refresh themselves when frozen
        self._events = client.meta.events
        self._region = client.meta.region_name
        self._url = client.meta.endpoint_url.rstrip("/") + "/"
        parts = urlsplit(self._url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if self._https else 80)
        self._netloc = parts.netloc
        self._path = parts.path or "/"
        self._scope_tail = f"/{self._region}/dynamodb/aws4_request"
        self._keys: dict[tuple[str, str], bytes] = {}
        self._local = threading.local()
        self._sleep = sleep
        self._ssl: Any = None

    # --- signing ------------------------------------------------------------------------------------------

    def _signing_key(self, secret: str, day: str) -> bytes:
        key = self._keys.get((secret, day))
        if key is None:
            key = _hmac(("AWS4" + secret).encode(), day)
            for part in (self._region, "dynamodb", "aws4_request"):
                key = _hmac(key, part)
            self._keys = {(secret, day): key}  # one day, one secret at a time
        return key

    def headers(self, body: bytes, *, now: float | None = None) -> dict[str, str]:
        """The request headers, ``Authorization`` included (SigV4 over host, content type, date, target and
        the session token when there is one)."""
        credentials = self._credentials.get_frozen_credentials()
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
        headers = {
            "Content-Type": CONTENT_TYPE,
            "Host": self._netloc,
            "X-Amz-Date": stamp,
            "X-Amz-Target": TARGET,
        }
        if credentials.token:
            headers["X-Amz-Security-Token"] = credentials.token
        names = sorted(headers, key=str.lower)
        signed = ";".join(name.lower() for name in names)
        canonical = "\n".join(
            [
                "POST",
                self._path,
                "",
                *(f"{name.lower()}:{headers[name].strip()}" for name in names),
                "",
                signed,
                hashlib.sha256(body).hexdigest(),
            ]
        )
        scope = stamp[:8] + self._scope_tail
        to_sign = f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        signature = hmac.new(
            self._signing_key(credentials.secret_key, stamp[:8]), to_sign.encode(), hashlib.sha256
        ).hexdigest()
        headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{scope}, "
            f"SignedHeaders={signed}, Signature={signature}"
        )
        return headers

    # --- sending ------------------------------------------------------------------------------------------

    def put(self, body: bytes) -> Answer:
        """Send one PutItem body, retrying throttling, 5xx and connection failures like standard mode."""
        answer = Answer(0)
        for attempt in range(1, aws.MAX_ATTEMPTS + 1):
            answer = self._attempt(body)
            throttled = answer.code in THROTTLING
            if not (throttled or answer.code in TRANSIENT or answer.status == 0 or answer.status >= 500):
                return answer
            if attempt < aws.MAX_ATTEMPTS:
                scale = THROTTLING_BACKOFF_SECONDS if throttled else OTHER_BACKOFF_SECONDS
                self._sleep(random.random() * min(scale * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS))
        return answer

    def _attempt(self, body: bytes) -> Answer:
        headers = self.headers(body)
        stubbed = self._from_events(body, headers)
        if stubbed is not None:
            return stubbed
        import http.client

        try:
            connection = self._connection()
            connection.request("POST", self._path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as error:
            self._drop()
            return Answer(0, type(error).__name__, str(error) or "connection failed")
        return _answer(response.status, payload)

    def _from_events(self, body: bytes, headers: dict[str, str]) -> Answer | None:
        """botocore's ``before-send`` extension point (module docstring): an answer from a handler, if any."""
        from botocore.awsrequest import AWSPreparedRequest

        request = AWSPreparedRequest("POST", self._url, headers, body, False)
        _, response = self._events.emit_until_response("before-send.dynamodb.PutItem", request=request)
        return None if response is None else _answer(response.status_code, response.content)

    def _connection(self) -> http.client.HTTPConnection:
        import http.client
        import socket

        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            if self._https:
                if self._ssl is None:
                    import ssl

                    self._ssl = ssl.create_default_context(cafile=_ca_bundle())
                connection = http.client.HTTPSConnection(
                    self._host, self._port, timeout=aws.CONNECT_TIMEOUT_SECONDS, context=self._ssl
                )
            else:
                connection = http.client.HTTPConnection(
                    self._host, self._port, timeout=aws.CONNECT_TIMEOUT_SECONDS
                )
            connection.connect()
            if connection.sock is not None:
                connection.sock.settimeout(aws.READ_TIMEOUT_SECONDS)
                connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._local.connection = connection
        return connection

    def _drop(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            connection.close()


def _answer(status: int, payload: bytes) -> Answer:
    if status == 200:
        return Answer(200)
    try:
        error = json.loads(payload)
        code = str(error.get("__type", "")).rpartition("#")[2]
        message = str(error.get("message") or error.get("Message") or "")
    except (ValueError, AttributeError):
        code, message = "", payload[:200].decode("utf-8", "replace")
    return Answer(status, code or f"HTTP{status}", message)


def _ca_bundle() -> str | None:
    from botocore.httpsession import get_cert_path

    path = get_cert_path(True)
    return path if isinstance(path, str) else None


_sender: PutItemSender | None = None
_sender_lock = threading.Lock()


def sender() -> PutItemSender:
    """The sender for the current cached DynamoDB client (functions.aws): a new client, a new sender."""
    global _sender
    client = aws.client("dynamodb")
    found = _sender
    if found is None or found._client is not client:
        with _sender_lock:
            found = _sender
            if found is None or found._client is not client:
                found = _sender = PutItemSender(client)
    return found
