"""boto3 sessions and clients for the emulator: fixed fake credentials, never the developer's AWS config."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

LOCAL_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
"""moto checks no signature, but botocore refuses to sign without credentials; these are never real."""


def local_session(region: str) -> boto3.Session:
    return boto3.Session(region_name=region, **LOCAL_CREDENTIALS)


def local_client(
    service: str, endpoint_url: str, *, region: str, session: boto3.Session | None = None
) -> Any:
    """A botocore client for the emulator (a connection pool big enough for the dispatcher's threads)."""
    return (session or local_session(region)).client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint_url,
        config=Config(max_pool_connections=32, retries={"mode": "standard", "max_attempts": 3}),
    )
