"""The stand-in for API Gateway's HTTP API: the program's route (``POST /writer``) → SQS ``SendMessage``.

moto stores HTTP APIs but does not serve them, so this server serves the one route the emulator holds, as
its integration says (``SQS-SendMessage`` of ``$request.body`` to the integration's ``QueueUrl``: read from
the emulator's state, ``local_stack.discovery``). The client gets SQS's answer, and the refusals API Gateway
or SQS would give, as JSON: an empty body (400), one over SQS's 256 KiB limit (413), a body SQS refuses
(U+FFFF and other characters outside its allowed set: 400), a malformed ``Content-Length`` or chunked body
(400), an unsigned request when the route's authorization is ``AWS_IAM`` (403; the signature itself is not
verified), a cross-site browser request (403), any other path (404) or method (405). ``GET /openapi.json``
serves the route's description when the repository ships one.

Backpressure, the local counterpart of API Gateway's throttling: while WriterQueue holds more than
``max_backlog`` messages the route answers 429 ``Too Many Requests`` with ``Retry-After`` (clients such as
``pipeline-ctl send`` retry it). moto's SQS scans every stored message on each send and receive, so an
unbounded backlog slows the whole emulator down quadratically; a bounded one keeps intake at the pace the
local writer drains.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from functions.model import MAX_MESSAGE_BYTES
from infra.spec import LOCAL_HOST
from local_stack.discovery import ApiRoute
from local_stack.serving import BackgroundServer, cross_site

DEFAULT_MAX_BACKLOG = 200
"""WriterQueue depth above which POST /writer answers 429: a few seconds of the local writer's work."""
BACKLOG_CHECK_SECONDS = 0.1
"""How stale the depth the route looks at may be (each look costs moto a scan of the queue)."""
RETRY_AFTER_SECONDS = 1

MAX_CHUNK_LINE = 1024
MAX_TRAILERS = 32
OPENAPI_ROUTE = "/openapi.json"
_OPENAPI_CANDIDATES = (Path(__file__).resolve().parents[1] / "openapi.json",)


def openapi_document() -> bytes | None:
    """The OpenAPI description, from the repository root, if one exists."""
    for path in _OPENAPI_CANDIDATES:
        if path.is_file():
            return path.read_bytes()
    return None


class BadRequest(Exception):
    """The request cannot be answered with anything but this status and message."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def sqs_refusal(body: str) -> str | None:
    """Why SQS would refuse this body (``InvalidMessageContents``), or None.

    SQS accepts only #x9, #xA, #xD, #x20-#xD7FF, #xE000-#xFFFD and #x10000-#x10FFFF.
    """
    match = _SQS_INVALID.search(body)
    if match is None:
        return None
    return (
        f"Invalid characters found in the message body: U+{ord(match.group()):04X} at character "
        f"{match.start()} (SQS accepts #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD "
        "| #x10000 to #x10FFFF)"
    )


_SQS_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class _ApiHandler(BaseHTTPRequestHandler):
    server: _ApiServer
    protocol_version = "HTTP/1.1"
    server_version = "local-api-gateway"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet, like the emulator: one line per request would drown the live panel."""

    def do_POST(self) -> None:
        try:
            self._post()
        except BadRequest as refusal:
            self.close_connection = True  # whatever is left of the body cannot be trusted to frame a request
            self._reply(refusal.status, {"message": refusal.message})

    def _post(self) -> None:
        route = self.server.route
        self._refuse_cross_site()
        if self.path.split("?", 1)[0] != route.path:
            self._drain()
            self._reply(HTTPStatus.NOT_FOUND, {"message": "Not Found"})
            return
        if route.authorization == "AWS_IAM" and not str(self.headers.get("Authorization", "")).startswith(
            "AWS4-HMAC-SHA256 "
        ):
            self._drain()
            self._reply(HTTPStatus.FORBIDDEN, {"message": "Forbidden"})
            return
        raw = self._read_body()
        if not raw.strip():
            self._reply(HTTPStatus.BAD_REQUEST, {"message": "Request body is empty"})
            return
        if self.server.over_backlog():
            self._reply(
                HTTPStatus.TOO_MANY_REQUESTS,
                {"message": "Too Many Requests"},
                retry_after=RETRY_AFTER_SECONDS,
            )
            return
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            self._reply(HTTPStatus.BAD_REQUEST, {"message": "Request body is not UTF-8 text"})
            return
        refusal = sqs_refusal(body)
        if refusal is not None:
            self._reply(HTTPStatus.BAD_REQUEST, {"message": refusal})
            return
        try:
            sent = self.server.sqs.send_message(QueueUrl=route.queue_url, MessageBody=body)
        except Exception as error:  # the integration's answer when SQS refuses: a 5xx, never a hang
            self._reply(HTTPStatus.INTERNAL_SERVER_ERROR, {"message": f"SendMessage failed: {error}"})
            return
        self.server.count_accepted()
        self._reply(
            HTTPStatus.OK, {"MessageId": sent["MessageId"], "MD5OfMessageBody": sent["MD5OfMessageBody"]}
        )

    def _refuse_cross_site(self) -> None:
        """A browser's request from another site: refused (:func:`local_stack.serving.cross_site`)."""
        port = int(self.server.server_address[1])
        if cross_site(self.headers.get("Origin"), self.headers.get("Sec-Fetch-Site"), port):
            raise BadRequest(HTTPStatus.FORBIDDEN, "Forbidden: cross-site requests are refused")

    def _content_length(self) -> int | None:
        values = self.headers.get_all("Content-Length") or []
        if not values:
            return None
        if len(set(values)) > 1 or not values[0].strip().isdigit():
            raise BadRequest(HTTPStatus.BAD_REQUEST, f"Invalid Content-Length: {', '.join(values)!r}")
        return int(values[0])

    def _read_body(self) -> bytes:
        """The body, framed as HTTP/1.1 says (Content-Length or chunked), never over SQS's limit."""
        encoding = self.headers.get("Transfer-Encoding")
        length = self._content_length()
        if encoding is not None:
            if length is not None:
                raise BadRequest(
                    HTTPStatus.BAD_REQUEST, "Both Content-Length and Transfer-Encoding were sent"
                )
            if encoding.strip().lower() != "chunked":
                raise BadRequest(
                    HTTPStatus.NOT_IMPLEMENTED, f"Transfer-Encoding {encoding!r} is not supported"
                )
            return self._read_chunked()
        length = length or 0
        if length > MAX_MESSAGE_BYTES:
            raise BadRequest(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"Request body is {length} bytes; the limit is {MAX_MESSAGE_BYTES} (256 KiB)",
            )
        raw = self.rfile.read(length) if length else b""
        if len(raw) != length:
            raise BadRequest(HTTPStatus.BAD_REQUEST, "Request body is shorter than its Content-Length")
        return raw

    def _read_chunked(self) -> bytes:
        body = bytearray()
        while True:
            line = self.rfile.readline(MAX_CHUNK_LINE + 1)
            size_text = line.split(b";", 1)[0].strip()
            if (
                len(line) > MAX_CHUNK_LINE
                or not size_text
                or any(c not in b"0123456789abcdefABCDEF" for c in size_text)
            ):
                raise BadRequest(HTTPStatus.BAD_REQUEST, "Malformed chunked body")
            size = int(size_text, 16)
            if size == 0:
                break
            if len(body) + size > MAX_MESSAGE_BYTES:
                raise BadRequest(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                    f"Request body is over the limit of {MAX_MESSAGE_BYTES} bytes (256 KiB)",
                )
            chunk = self.rfile.read(size)
            if len(chunk) != size or self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise BadRequest(HTTPStatus.BAD_REQUEST, "Malformed chunked body")
            body += chunk
        for _ in range(MAX_TRAILERS):  # trailers, up to the blank line that ends the request
            if self.rfile.readline(MAX_CHUNK_LINE + 1) in (b"\r\n", b"\n", b""):
                return bytes(body)
        raise BadRequest(HTTPStatus.BAD_REQUEST, "Malformed chunked body")

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        document = openapi_document() if path == OPENAPI_ROUTE else None
        if document is not None:
            self._send(HTTPStatus.OK, document)
        elif path == self.server.route.path:
            self._reply(HTTPStatus.METHOD_NOT_ALLOWED, {"message": "Method Not Allowed"}, allow="POST")
        else:
            self._reply(HTTPStatus.NOT_FOUND, {"message": "Not Found"})

    def _other(self) -> None:
        try:
            self._refuse_cross_site()
        except BadRequest as refusal:
            self.close_connection = True
            self._reply(refusal.status, {"message": refusal.message})
            return
        self._drain()
        if self.path.split("?", 1)[0] == self.server.route.path:
            self._reply(HTTPStatus.METHOD_NOT_ALLOWED, {"message": "Method Not Allowed"}, allow="POST")
        else:
            self._reply(HTTPStatus.NOT_FOUND, {"message": "Not Found"})

    do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _other

    def _drain(self) -> None:
        """Read and forget the body of a request answered without it (or drop the connection after)."""
        try:
            self._read_body()
        except BadRequest:
            self.close_connection = True

    def _reply(
        self,
        status: HTTPStatus,
        document: dict[str, Any],
        *,
        allow: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        self._send(status, json.dumps(document).encode(), allow=allow, retry_after=retry_after)

    def _send(
        self, status: HTTPStatus, payload: bytes, *, allow: str | None = None, retry_after: int | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        if allow:
            self.send_header("Allow", allow)
        if retry_after is not None:
            self.send_header("Retry-After", str(retry_after))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)


class _ApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, *, sqs: Any, route: ApiRoute, max_backlog: int | None) -> None:
        super().__init__((LOCAL_HOST, port), _ApiHandler)
        self.sqs = sqs
        self.route = route
        self.queue_url = route.queue_url
        self.max_backlog = max_backlog
        self.accepted = 0
        self.throttled = 0
        self._lock = threading.Lock()
        self._depth = 0
        self._depth_at = 0.0

    def over_backlog(self) -> bool:
        """True (and counted) when WriterQueue holds more than ``max_backlog`` visible messages."""
        if self.max_backlog is None:
            return False
        with self._lock:
            if time.monotonic() - self._depth_at >= BACKLOG_CHECK_SECONDS:
                attributes = self.sqs.get_queue_attributes(
                    QueueUrl=self.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
                )["Attributes"]
                self._depth = int(attributes["ApproximateNumberOfMessages"])
                self._depth_at = time.monotonic()
            over = self._depth > self.max_backlog
            if over:
                self.throttled += 1
            return over

    def count_accepted(self) -> None:
        with self._lock:
            self.accepted += 1


class ApiServer(BackgroundServer[_ApiServer]):
    """Serves the route on its own thread until :meth:`stop`."""

    thread_name = "local-api"
    what = "the API stand-in"

    def __init__(
        self, *, port: int = 0, sqs: Any, route: ApiRoute, max_backlog: int | None = DEFAULT_MAX_BACKLOG
    ) -> None:
        super().__init__(port=port)
        self._sqs = sqs
        self._route = route
        self._max_backlog = max_backlog

    def _make_server(self) -> _ApiServer:
        return _ApiServer(self._port, sqs=self._sqs, route=self._route, max_backlog=self._max_backlog)

    @property
    def accepted(self) -> int:
        """Bodies sent to WriterQueue since start."""
        return self._server.accepted if self._server else 0

    @property
    def throttled(self) -> int:
        """Requests answered 429 since start."""
        return self._server.throttled if self._server else 0

    @property
    def max_backlog(self) -> int | None:
        return self._max_backlog

    @max_backlog.setter
    def max_backlog(self, value: int | None) -> None:
        self._max_backlog = value
        if self._server is not None:
            self._server.max_backlog = value
