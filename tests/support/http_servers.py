"""Small real HTTP servers on 127.0.0.1 standing in for API Gateway's ``POST /writer`` in send tests.

``SigV4Gateway`` does what API Gateway's IAM authoriser does: it recomputes the SigV4 signature of each
request from the request as received (method, path, signed headers, body, X-Amz-Date) with botocore's own
signer and the expected credentials, answers 403 on a mismatch, and otherwise SendMessage's the raw body
into WriterQueue, as the direct SQS integration does. ``ScriptedGateway`` answers a scripted sequence of
statuses (e.g. 429 then 200) to exercise the client's retries.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 "
    r"Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request, "
    r"SignedHeaders=(?P<signed>[^,]+), Signature=(?P<signature>[0-9a-f]{64})"
)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verdict: str = ""


@dataclass
class Gateway:
    url: str = ""
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def respond(self, received: Received) -> tuple[int, dict[str, Any]]:
        raise NotImplementedError


@dataclass
class SigV4Gateway(Gateway):
    queue_url: str = ""
    access_key: str = "testing"
    secret_key: str = "testing"
    region: str = "us-east-1"

    def respond(self, received: Received) -> tuple[int, dict[str, Any]]:
        received.verdict = self.verify(received)
        if received.verdict != "valid":
            return 403, {"message": received.verdict}
        sent = boto3.client("sqs", region_name=self.region).send_message(
            QueueUrl=self.queue_url, MessageBody=received.body.decode("utf-8")
        )
        return 200, {"SendMessageResponse": {"SendMessageResult": {"MessageId": sent["MessageId"]}}}

    def verify(self, received: Received) -> str:
        match = _AUTHORIZATION.fullmatch(received.headers.get("authorization", ""))
        if match is None:
            return "missing or malformed Authorization header"
        if (match["key"], match["region"], match["service"]) != (self.access_key, self.region, "execute-api"):
            return f"wrong credential scope {match['key']}/{match['region']}/{match['service']}"
        signed = match["signed"].split(";")
        request = AWSRequest(
            method="POST",
            url=f"http://{received.headers['host']}{received.path}",
            data=received.body,
            headers={name: received.headers[name] for name in signed if name != "host"},
        )
        request.context["timestamp"] = received.headers["x-amz-date"]
        signer = SigV4Auth(Credentials(self.access_key, self.secret_key), "execute-api", self.region)
        canonical = signer.canonical_request(request)
        expected = signer.signature(signer.string_to_sign(request, canonical), request)
        return "valid" if expected == match["signature"] else "signature mismatch"


@dataclass
class ScriptedGateway(Gateway):
    statuses: Sequence[int] = (200,)
    """Answered in order; the last one repeats."""

    def respond(self, received: Received) -> tuple[int, dict[str, Any]]:
        with self.lock:
            index = min(len(self.requests) - 1, len(self.statuses) - 1)
        status = self.statuses[index]
        return status, {"message": "Too Many Requests" if status == 429 else f"status {status}"}


G = TypeVar("G", bound=Gateway)


@contextmanager
def serve(gateway: G) -> Iterator[G]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as API Gateway

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            with gateway.lock:
                gateway.requests.append(received)
            status, document = gateway.respond(received)
            payload = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    gateway.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield gateway
    finally:
        server.shutdown()
        server.server_close()
