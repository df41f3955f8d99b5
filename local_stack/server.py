"""moto in server mode on 127.0.0.1, behind a thin WSGI layer that the local stack owns.

Why not plain ``ThreadedMotoServer``: the local stack needs two things at the emulator's door, outside every
Lambda code path — the fault switch (refuse chosen AccountTable ``PutItem`` calls with DynamoDB's own error
JSON) and an account of what DynamoDB answered (written / stale / logged), which the live panel and the demo
print. So this builds the same parts ``ThreadedMotoServer`` does (moto's ``DomainDispatcherApplication``,
werkzeug's threaded server, ``MotoRequestHandler``) and wraps the app in :class:`EmulatorGate`, itself
behind :class:`CrossSiteGate` (no web page in the developer's browser reaches the emulator).

Everything else (``pipeline-ctl``, the ``aws`` CLI, tests, the API stand-in, the dispatcher's own queue
calls) reaches moto through this server. The handlers' calls may take a shortcut into the same backends
(``local_stack.inprocess``); they meet the same :class:`PutItemWatch` there.
"""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from infra.spec import LOCAL_HOST
from local_stack.faults import Fault, FaultSwitch
from local_stack.serving import BackgroundServer, cross_site

PUT_ITEM_TARGET = "DynamoDB_20120810.PutItem"
DYNAMODB_WRITE_TARGETS = frozenset(
    f"DynamoDB_20120810.{operation}"
    for operation in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
)

DYNAMODB_WRITES = threading.Lock()
"""One DynamoDB write at a time, at both doors of the emulator (HTTP here, ``local_stack.inprocess``).

moto evaluates a ``ConditionExpression`` and then writes, with nothing in between to stop a concurrent
write: two conditional writes can both pass their check. DynamoDB makes each conditional write atomic, and
the pipeline relies on it twice — the writer's ``updated_at`` guard and ``replay-dlq``'s claim on a LogTable
item (two operators replaying at once must not both win). Serialising writes costs little here: moto runs
under one GIL anyway.
"""

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def silence_werkzeug() -> None:
    """One log line per request would drown the live panel and the demo's output."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)


class WriteTally:
    """What the emulator's DynamoDB answered to ``PutItem`` on the two pipeline tables (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = {"written": 0, "stale": 0, "logged": 0, "faulted": 0}

    def add(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)


class PutItemWatch:
    """What the local stack does with a DynamoDB ``PutItem``: refuse it (fault switch) and tally its answer.

    Shared by the HTTP gate below and the in-process bridge (``local_stack.inprocess``), so a write meets the
    same faults and is counted the same way whichever road it takes.
    """

    def __init__(
        self, *, faults: FaultSwitch, tally: WriteTally, account_table: str = "", log_table: str = ""
    ) -> None:
        self._faults = faults
        self._tally = tally
        self._account_table = account_table
        self._log_table = log_table

    def watch_tables(self, *, account_table: str, log_table: str) -> None:
        """The tables to watch, known once the program is applied (their names are the program's)."""
        self._account_table = account_table
        self._log_table = log_table

    def admit(self, body: bytes | str | None) -> tuple[Fault | None, tuple[str, str | None] | None]:
        """Before the write: a fault to answer with, or the tally names (ok, refused) to count its answer."""
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return None, None
        table = request.get("TableName") if isinstance(request, dict) else None
        if table == self._account_table:
            account_id = request.get("Item", {}).get("account_id", {}).get("S")
            fault = self._faults.decide(account_id)
            if fault is not None:
                self._tally.add("faulted")
                return fault, None
            return None, ("written", "stale")
        if table == self._log_table:
            return None, ("logged", None)
        return None, None

    def answered(self, names: tuple[str, str | None], status: int, body: bytes) -> None:
        ok, refused = names
        if status == 200:
            self._tally.add(ok)
        elif refused and b"ConditionalCheckFailedException" in body:
            self._tally.add(refused)


class EmulatorGate:
    """WSGI middleware in front of moto: applies :class:`PutItemWatch` to DynamoDB ``PutItem`` requests and
    runs every DynamoDB write under :data:`DYNAMODB_WRITES`.

    Only those are looked at (their ``X-Amz-Target`` header says so); everything else goes straight to moto
    with its body untouched.
    """

    def __init__(self, app: WsgiApp, *, watch: PutItemWatch) -> None:
        self._app = app
        self._watch = watch

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target not in DYNAMODB_WRITE_TARGETS:
            return self._app(environ, start_response)
        with DYNAMODB_WRITES:
            if target != PUT_ITEM_TARGET:
                return list(self._app(environ, start_response))
            return self._put_item(environ, start_response)

    def _put_item(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        fault, names = self._watch.admit(body)
        if fault is not None:
            return _refuse(fault, start_response)
        if names is None:
            return list(self._app(environ, start_response))
        status: list[str] = []

        def capture(status_line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status.append(status_line)
            return start_response(status_line, headers, exc_info)

        chunks = b"".join(self._app(environ, capture))
        self._watch.answered(names, int(status[0].split()[0]) if status else 500, chunks)
        return [chunks]


def fault_response(fault: Fault) -> tuple[int, dict[str, str], bytes]:
    """DynamoDB's own error response, so botocore parses it (and retries it) as it would in AWS."""
    payload = json.dumps({"__type": fault.type_name, "message": fault.message}).encode()
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "Content-Length": str(len(payload)),
        "x-amzn-RequestId": "local-stack-fault",
    }
    return fault.status, headers, payload


def _refuse(fault: Fault, start_response: StartResponse) -> Iterable[bytes]:
    status, headers, payload = fault_response(fault)
    reason = "Bad Request" if status == 400 else "Internal Server Error"
    start_response(f"{status} {reason}", list(headers.items()))
    return [payload]


class CrossSiteGate:
    """WSGI middleware at the emulator's door: no browser on another site gets in, and nobody gets CORS.

    moto's server app enables CORS for every route and origin (flask-cors echoes the request's ``Origin``),
    which would let any web page a developer visits ``PUT`` an object into the local bucket and list its
    keys. Here a cross-site request (:func:`local_stack.serving.cross_site`, the API stand-in's rule) is
    answered 403 before moto sees it, and every ``Access-Control-*`` header is taken off every answer, so no
    origin is ever granted anything. Plain WSGI: nothing of moto's is reached into.
    """

    def __init__(self, app: WsgiApp) -> None:
        self._app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        port = int(environ.get("SERVER_PORT") or 0)
        if cross_site(environ.get("HTTP_ORIGIN"), environ.get("HTTP_SEC_FETCH_SITE"), port):
            body = b"Forbidden: cross-site requests are refused"
            start_response(
                "403 Forbidden",
                [("Content-Type", "text/plain"), ("Content-Length", str(len(body))), ("Connection", "close")],
            )
            return [body]

        def without_cors(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            kept = [
                (name, value) for name, value in headers if not name.lower().startswith("access-control-")
            ]
            return start_response(status, kept, exc_info)

        return self._app(environ, without_cors)


class EmulatorServer(BackgroundServer[BaseWSGIServer]):
    """moto's server app behind :class:`EmulatorGate`, served by werkzeug on its own thread.

    moto's backends are module-level in the process, so stopping this server keeps every bucket, queue and
    item; a new server started later in the same process serves them again.
    """

    thread_name = "local-emulator"
    what = "the emulator"

    def __init__(self, *, port: int = 0, watch: PutItemWatch) -> None:
        super().__init__(port=port)
        self._watch = watch

    def _make_server(self) -> BaseWSGIServer:
        # Imported here: moto's server app pulls in Flask and every backend index, which the CLI's other
        # commands never need.
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )

        silence_werkzeug()
        app = CrossSiteGate(EmulatorGate(DomainDispatcherApplication(create_backend_app), watch=self._watch))
        return make_server(LOCAL_HOST, self._port, app, threaded=True, request_handler=MotoRequestHandler)

    @property
    def endpoint_url(self) -> str:
        return self.url
