"""A shortcut for the handlers' AWS calls: straight into moto's backends, in this process, no socket.

Why: the emulator's write rate bounds everything here (a few hundred ``PutItem``/s over HTTP on two cores),
and a good part of an HTTP call's cost is the HTTP — botocore's urllib3 on one side, werkzeug and Flask on
the other, all under one GIL — not moto's work. ``bench/local_e2e.py`` measures the upload path both ways
(figures in docs/benchmarks.md). moto's request routing and DynamoDB model still run on this road; only the
transport is saved.

How, and why it stays honest:

* The handlers are given their own address for the emulator: ``AWS_ENDPOINT_URL=http://localhost:PORT``
  where every other client uses ``http://127.0.0.1:PORT``. A botocore ``before-send`` hook (the mechanism
  ``mock_aws`` itself uses) answers requests addressed to ``localhost:PORT`` only — so it covers the threads a
  handler starts itself (the writer's PutItem pool), and nothing else: ``pipeline-ctl``, tests, the API
  stand-in and other processes go over HTTP as before. Nothing in ``functions/`` knows about it — the handlers
  still build their clients from ``AWS_ENDPOINT_URL`` and see botocore's retries, errors and parsing.
* The request is handed to moto's own request processing (``BotocoreStubber.process_request``, what
  ``mock_aws`` runs), against the same module-level backends the server serves: one state, two doors.
  ``mock_aws`` itself is never started — it would reset the backends and capture every client.
* Faults and the write tally are applied by the same :class:`~local_stack.server.PutItemWatch` as on the HTTP
  door, so an injected throttle reaches the writer exactly as before.

``LocalStack(in_process=False)`` turns it off (every call over HTTP); ``bench/local_e2e.py`` measures both.
"""

from __future__ import annotations

import re
import threading
from typing import Any
from urllib.parse import urlsplit

from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from local_stack.server import (
    DYNAMODB_WRITE_TARGETS,
    DYNAMODB_WRITES,
    PUT_ITEM_TARGET,
    PutItemWatch,
    fault_response,
)

BRIDGE_HOST = "localhost"
"""The handlers' name for the emulator. Should the bridge ever decline a request, it still reaches the same
server over HTTP (localhost is loopback)."""

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request")

_lock = threading.Lock()
_bridges: dict[str, InProcessBridge] = {}
_installed = False


class InProcessBridge:
    """Answers requests addressed to one emulator endpoint from moto's backends directly."""

    def __init__(self, port: int, *, watch: PutItemWatch) -> None:
        from moto.core.botocore_stubber import BotocoreStubber

        self.endpoint_url = f"http://{BRIDGE_HOST}:{port}"
        """The address to give the handlers: requests to it are answered in-process."""
        self.netloc = urlsplit(self.endpoint_url).netloc
        self._watch = watch
        self._stubber = BotocoreStubber()
        self._count_lock = threading.Lock()
        self.requests = 0
        """Requests answered in-process so far (the panel and the tests show it)."""

    def send(self, request: AWSPreparedRequest) -> AWSResponse | None:
        scope = _SCOPE.search(str(request.headers.get("Authorization", "")))
        if scope is None:
            return None  # unsigned: let it go over HTTP, where moto's server knows what to do
        with self._count_lock:
            self.requests += 1
        target = request.headers.get("X-Amz-Target")
        if isinstance(target, bytes):
            target = target.decode()
        if target in DYNAMODB_WRITE_TARGETS:
            with DYNAMODB_WRITES:
                return self._answer(request, scope, target)
        return self._answer(request, scope, target)

    def _answer(
        self, request: AWSPreparedRequest, scope: re.Match[str], target: str | None
    ) -> AWSResponse | None:
        original_url = request.url
        names = None
        if target == PUT_ITEM_TARGET:
            fault, names = self._watch.admit(_body(request))
            if fault is not None:
                return _response(original_url, *fault_response(fault))
        request.url = aws_url(original_url, service=scope["service"], region=scope["region"])
        try:
            answer = self._stubber.process_request(request)
        finally:
            request.url = original_url
        if answer is None:
            return None
        status, headers, body = answer
        payload = body.encode() if isinstance(body, str) else bytes(body or b"")
        if names is not None:
            self._watch.answered(names, int(status), payload)
        return _response(original_url, int(status), dict(headers), payload)


def aws_url(url: str, *, service: str, region: str) -> str:
    """The AWS address moto's request routing expects for a request sent to the local endpoint."""
    parts = urlsplit(url)
    host = "s3.amazonaws.com" if service == "s3" else f"{service}.{region}.amazonaws.com"
    return f"https://{host}{parts.path or '/'}" + (f"?{parts.query}" if parts.query else "")


def _body(request: AWSPreparedRequest) -> bytes:
    body = request.body
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode()
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    data = body.read()
    body.seek(0)
    return data if isinstance(data, bytes) else str(data).encode()


def _response(url: str, status: int, headers: dict[str, Any], payload: bytes) -> AWSResponse:
    from moto.core.botocore_stubber import MockRawResponse

    return AWSResponse(url, status, headers, MockRawResponse(payload))


def _before_send(request: AWSPreparedRequest, **kwargs: Any) -> AWSResponse | None:
    bridge = _bridges.get(urlsplit(request.url).netloc)
    return bridge.send(request) if bridge is not None else None


def attach(bridge: InProcessBridge) -> None:
    """Route handler threads' calls to the bridge's endpoint through it (clients created from now on)."""
    global _installed
    with _lock:
        if not _installed:
            from botocore.handlers import BUILTIN_HANDLERS

            BUILTIN_HANDLERS.append(("before-send", _before_send))
            _installed = True
        _bridges[bridge.netloc] = bridge


def detach(bridge: InProcessBridge) -> None:
    with _lock:
        if _bridges.get(bridge.netloc) is bridge:
            del _bridges[bridge.netloc]
