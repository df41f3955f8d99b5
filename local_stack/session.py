"""boto3 clients for the emulator: sessions from ``infra.sessions`` (fixed fake credentials, never the
developer's AWS config), with a connection pool big enough for the dispatcher's threads."""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

from infra.sessions import local_session

_shared_lock = threading.Lock()
_shared: dict[str, boto3.Session] = {}


def local_client(
    service: str, endpoint_url: str, *, region: str, session: boto3.Session | None = None
) -> Any:
    """A botocore client for the emulator (a connection pool big enough for the dispatcher's threads).

    Without ``session``, clients share one session per region: creating a session costs more than the
    client (its event handlers are registered one by one), and a session only needs a lock to be shared."""
    config = Config(max_pool_connections=32, retries={"mode": "standard", "max_attempts": 3})
    if session is not None:
        return session.client(service, endpoint_url=endpoint_url, config=config)
    with _shared_lock:
        if region not in _shared:
            _shared[region] = local_session(region)
        return _shared[region].client(service, endpoint_url=endpoint_url, config=config)
