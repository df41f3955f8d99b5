"""boto3 clients for the handlers: created on first use, cached per (service, region, endpoint).

Why this shape:

* Not at import: a client costs tens of milliseconds, and the cold start should only pay for it when a handler
  actually talks to AWS. boto3 itself is imported here lazily for the same reason.
* Cached: Lambda keeps the module alive between invocations (freeze/thaw), so the connection pool and the
  credentials are reused instead of being rebuilt for every event.
* Keyed by the region and ``AWS_ENDPOINT_URL`` *read at call time*: tests (moto) and the local stack point the
  same process at different endpoints; a changed endpoint must yield a fresh client, not a stale one.
* One ``Config``: standard retry mode (exponential backoff with jitter, throttling-aware), short connect and
  read timeouts so a stuck call fails inside the Lambda timeout (:func:`worst_case_call_seconds`: every
  attempt stalled to its timeouts, every backoff at its cap; a test holds it below the writer's timeout),
  and a connection pool as large as the writer's thread pool so concurrent PutItems do not queue for
  connections. DynamoDB and SQS answer in milliseconds: a 2 s read timeout is a hundred times their
  tail latency, and a stalled connection costs one attempt, not the invocation.
"""

from __future__ import annotations

import os
import threading
from typing import Any

MAX_POOL_CONNECTIONS = 16
"""Connections per client; at least the writer's concurrency (functions.writer.store.MAX_WORKERS)."""
CONNECT_TIMEOUT_SECONDS = 1
READ_TIMEOUT_SECONDS = 2
MAX_ATTEMPTS = 3
"""Standard retry mode: 1 call + 2 retries with backoff on throttling and 5xx, then the error surfaces."""

_clients: dict[tuple[str, str | None, str | None], Any] = {}
_sessions: dict[str | None, Any] = {}
_lock = threading.Lock()


def _region() -> str | None:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None


def client(service: str) -> Any:
    """The cached botocore client for ``service`` in the current region and endpoint (thread-safe)."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or None
    key = (service, _region(), endpoint)
    cached = _clients.get(key)
    if cached is not None:
        return cached
    with _lock:  # botocore sessions are not thread-safe while creating clients
        cached = _clients.get(key)
        if cached is None:
            cached = _clients[key] = _create(service, region=key[1], endpoint=endpoint)
        return cached


def _create(service: str, *, region: str | None, endpoint: str | None) -> Any:
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS},
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        max_pool_connections=MAX_POOL_CONNECTIONS,
    )
    return _session(region).client(service, endpoint_url=endpoint, config=config)


def _session(region: str | None) -> Any:
    """Our own session (boto3's default one is shared, mutable module state), one per region and reused:
    a session caches the parsed service models, which are most of what creating a client costs. Called
    under ``_lock``."""
    import boto3.session

    session = _sessions.get(region)
    if session is None:
        session = _sessions[region] = boto3.session.Session(region_name=region)
    return session


def credentials() -> Any:
    """The credentials of the current region's session (the ones its clients sign with; botocore refreshes
    them when they are refreshable), for code that signs its own requests (functions.writer.transport)."""
    with _lock:
        found = _session(_region()).get_credentials()
    if found is None:
        raise RuntimeError("no AWS credentials found (environment, config files or instance role)")
    return found


def worst_case_call_seconds() -> float:
    """The longest one SDK call can take with this module's settings: every attempt connects and reads up to
    its timeouts, and every retry waits the standard mode's longest backoff (throttling base 1 s doubling,
    capped, plus what an ``x-amz-retry-after`` header may add). Read from botocore's own constants so an
    SDK upgrade that changes them changes this figure too."""
    from botocore.retries.standard import ExponentialBackoff

    backoff: float = sum(
        min(2**retry, ExponentialBackoff._MAX_BACKOFF) + ExponentialBackoff._RETRY_AFTER_MAX_ADDITIONAL
        for retry in range(MAX_ATTEMPTS - 1)
    )
    return MAX_ATTEMPTS * (CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS) + backoff


def clear_cache() -> None:
    """Forget every cached client (tests that install fault hooks on a client start clean)."""
    with _lock:
        _clients.clear()
