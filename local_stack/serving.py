"""A socket server on its own daemon thread: what the emulator and the API stand-in both are.

Each subclass says how to build its server (moto's WSGI app under werkzeug, or the API's ``http.server``);
starting, the bound port, and stopping cleanly are the same for both and written here once.
"""

from __future__ import annotations

import socketserver
import threading
from typing import Generic, TypeVar

from infra.spec import LOCAL_HOST

S = TypeVar("S", bound=socketserver.TCPServer)


def cross_site(origin: str | None, fetch_site: str | None, port: int) -> bool:
    """True for a browser's request from another site: an ``Origin`` other than this server's own, or
    ``Sec-Fetch-Site: cross-site``. Both servers of the local stack refuse such requests (and grant no CORS),
    so a web page a developer visits can neither write to the local pipeline nor read from it — ``text/plain``
    simple requests included, which a browser sends without asking first. Programs (boto3, pipeline-ctl,
    curl) send no ``Origin`` and are unaffected."""
    own = {f"http://{LOCAL_HOST}:{port}", f"http://localhost:{port}"}
    return (origin is not None and origin not in own) or fetch_site == "cross-site"


POLL_SECONDS = 0.05
"""How often ``serve_forever`` looks for a shutdown request: ``stop`` returns within about this long."""


class BackgroundServer(Generic[S]):
    """Serves on a daemon thread named ``thread_name`` from :meth:`start` until :meth:`stop`."""

    thread_name = "local-server"
    what = "the server"
    """Named in the error raised when the port is asked for before start."""

    def __init__(self, *, port: int = 0) -> None:
        self._port = port
        self._server: S | None = None
        self._thread: threading.Thread | None = None

    def _make_server(self) -> S:
        raise NotImplementedError

    def start(self) -> None:
        self._server = self._make_server()
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(POLL_SECONDS,), name=self.thread_name, daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{self.what} is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{LOCAL_HOST}:{self.port}"

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None
