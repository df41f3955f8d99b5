"""A slow AWS endpoint on 127.0.0.1: moto's server behind a proxy that delays chosen operations.

The writer's deadline is about real time spent in real calls, so its tests need a store that answers late
(or not before the SDK gives up) while every answer is still moto's: the proxy holds a request whose
``X-Amz-Target`` ends with a delayed operation (``PutItem``...) for the given time, then forwards it to moto
and relays the answer, status line, headers and body in one write.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from moto.server import ThreadedMotoServer


@dataclass
class SlowEndpoint:
    url: str
    """Where the writer's clients go (the proxy)."""
    moto_url: str
    """moto itself, for the test's own set-up and checks."""
    delays: dict[str, float]
    """Operation name (the end of ``X-Amz-Target``) → seconds held; change it while running."""


def _proxy_handler(upstream: tuple[str, int], delays: Mapping[str, float], stop: threading.Event) -> type:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            operation = (self.headers.get("X-Amz-Target") or "").rpartition(".")[2]
            if stop.wait(delays.get(operation, 0.0)):
                self.close_connection = True
                return
            connection = http.client.HTTPConnection(*upstream, timeout=30)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                connection.request("POST", self.path, body=body, headers=headers)
                answer = connection.getresponse()
                payload = answer.read()
                status, reason, answer_headers = answer.status, answer.reason, answer.getheaders()
            finally:
                connection.close()
            head = [f"HTTP/1.1 {status} {reason}"]
            head += [
                f"{name}: {value}"
                for name, value in answer_headers
                if name.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date")
            ]
            head.append(f"Content-Length: {len(payload)}")
            self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@contextmanager
def slow_endpoint(delays: dict[str, float] | None = None) -> Iterator[SlowEndpoint]:
    """moto on an ephemeral port and the delaying proxy in front of it; both stopped on exit."""
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    _reset(host, port)  # moto's backends live in the process: start empty, whatever ran before
    delays = dict(delays or {})
    stop = threading.Event()
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), _proxy_handler((host, port), delays, stop))
    proxy.daemon_threads = True
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        yield SlowEndpoint(f"http://127.0.0.1:{proxy.server_port}", f"http://{host}:{port}", delays)
    finally:
        stop.set()  # held requests end now: the writer's abandoned calls fail fast instead of waiting
        proxy.shutdown()
        proxy.server_close()
        _reset(host, port)
        moto.stop()


def _reset(host: str, port: int) -> None:
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        connection.request("POST", "/moto-api/reset")
        connection.getresponse().read()
    finally:
        connection.close()
