"""The stand-in for API Gateway's HTTP API: ``POST /writer`` → SQS ``SendMessage`` of the raw body.

In AWS the route is a direct service integration (no Lambda): the body goes to WriterQueue untouched and the
client gets SQS's answer. This server does the same over real HTTP on 127.0.0.1, with the same refusals — an
empty body (400), one over SQS's 256 KiB limit (413), any other path (404) or method (405). ``GET
/openapi.json`` serves the route's description when the repository ships one.

Backpressure, the local counterpart of API Gateway's throttling: while WriterQueue holds more than
``max_backlog`` messages the route answers 429 ``Too Many Requests`` with ``Retry-After`` (clients such as
``pipeline-ctl send`` retry it). moto's SQS scans every stored message on each send and receive, so an
unbounded backlog slows the whole emulator down quadratically (DESIGN.md section 10); a bounded one keeps
intake at the pace the local writer drains.
"""

from __future__ import annotations

import json
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from infra.spec import MAX_MESSAGE_BYTES
from local_stack.ports import HOST

DEFAULT_MAX_BACKLOG = 200
"""WriterQueue depth above which POST /writer answers 429: a few seconds of the local writer's work."""
BACKLOG_CHECK_SECONDS = 0.1
"""How stale the depth the route looks at may be (each look costs moto a scan of the queue)."""
RETRY_AFTER_SECONDS = 1

WRITER_ROUTE = "/writer"
OPENAPI_ROUTE = "/openapi.json"
_OPENAPI_CANDIDATES = (Path(__file__).resolve().parents[1] / "openapi.json",)


def openapi_document() -> bytes | None:
    """The OpenAPI description, from the repository root, if one exists."""
    for path in _OPENAPI_CANDIDATES:
        if path.is_file():
            return path.read_bytes()
    return None


class _ApiHandler(BaseHTTPRequestHandler):
    server: _ApiServer
    protocol_version = "HTTP/1.1"
    server_version = "local-api-gateway"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet, like the emulator: one line per request would drown the live panel."""

    def do_POST(self) -> None:
        if self.path.split("?", 1)[0] != WRITER_ROUTE:
            self._drain()
            self._reply(HTTPStatus.NOT_FOUND, {"message": "Not Found"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_MESSAGE_BYTES:
            self.close_connection = True
            self._reply(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                {"message": f"Request body is {length} bytes; the limit is {MAX_MESSAGE_BYTES} (256 KiB)"},
            )
            return
        raw = self.rfile.read(length) if length else b""
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
        try:
            sent = self.server.sqs.send_message(QueueUrl=self.server.queue_url, MessageBody=body)
        except Exception as error:  # the integration's answer when SQS refuses: a 5xx, never a hang
            self._reply(HTTPStatus.INTERNAL_SERVER_ERROR, {"message": f"SendMessage failed: {error}"})
            return
        self.server.count_accepted()
        self._reply(
            HTTPStatus.OK, {"MessageId": sent["MessageId"], "MD5OfMessageBody": sent["MD5OfMessageBody"]}
        )

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        document = openapi_document() if path == OPENAPI_ROUTE else None
        if document is not None:
            self._send(HTTPStatus.OK, document)
        elif path == WRITER_ROUTE:
            self._reply(HTTPStatus.METHOD_NOT_ALLOWED, {"message": "Method Not Allowed"}, allow="POST")
        else:
            self._reply(HTTPStatus.NOT_FOUND, {"message": "Not Found"})

    def _other(self) -> None:
        self._drain()
        if self.path.split("?", 1)[0] == WRITER_ROUTE:
            self._reply(HTTPStatus.METHOD_NOT_ALLOWED, {"message": "Method Not Allowed"}, allow="POST")
        else:
            self._reply(HTTPStatus.NOT_FOUND, {"message": "Not Found"})

    do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _other

    def _drain(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if 0 < length <= MAX_MESSAGE_BYTES:
            self.rfile.read(length)
        elif length:
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

    def __init__(self, port: int, *, sqs: Any, queue_url: str, max_backlog: int | None) -> None:
        super().__init__((HOST, port), _ApiHandler)
        self.sqs = sqs
        self.queue_url = queue_url
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


class ApiServer:
    """Serves the route on its own thread until :meth:`stop`."""

    def __init__(
        self, *, port: int = 0, sqs: Any, queue_url: str, max_backlog: int | None = DEFAULT_MAX_BACKLOG
    ) -> None:
        self._port = port
        self._sqs = sqs
        self._queue_url = queue_url
        self._max_backlog = max_backlog
        self._server: _ApiServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._server = _ApiServer(
            self._port, sqs=self._sqs, queue_url=self._queue_url, max_backlog=self._max_backlog
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="local-api", daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the API stand-in is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

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

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None
