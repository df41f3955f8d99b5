"""Small helpers the reliability tests share: real HTTP to the API stand-in, real boto3 to the emulator.

Nothing here knows how the pipeline works inside; it only sends through the two entry points and reads the
two tables, the way an operator would.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from boto3.dynamodb.types import TypeDeserializer

from local_stack.stack import LocalStack

_DESERIALIZER = TypeDeserializer()
WRITER_PATH = "/writer"


def post(api_url: str, body: bytes, *, timeout: float = 30.0) -> tuple[int, bytes]:
    """POST exactly these bytes to ``{api_url}/writer``; returns (status, response body)."""
    parts = urlsplit(api_url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=timeout)
    try:
        path = parts.path.rstrip("/") + WRITER_PATH
        connection.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def put_object(
    stack: LocalStack, key: str, body: bytes, *, metadata: Mapping[str, str] | None = None
) -> None:
    """Upload as any client can: the bytes, and the user metadata (``x-amz-meta-*``) it chooses."""
    stack.client("s3").put_object(
        Bucket=stack.outputs["data_bucket"], Key=key, Body=body, Metadata=dict(metadata or {})
    )


UNREADABLE = "_unreadable"
"""Key under which :func:`_scan` lists attributes boto3's own deserializer refuses (with why)."""


def _deserialize(item: dict[str, Any]) -> dict[str, Any]:
    """Like boto3's resource layer, but a value boto3 cannot read (a number outside its decimal context,
    e.g. ``0E+999999999``) is kept as its raw string and named under ``_unreadable`` instead of raising:
    an operator's boto3 script would crash on it, which the tests report as a finding, not a crash."""
    values: dict[str, Any] = {}
    unreadable: dict[str, str] = {}
    for name, value in item.items():
        try:
            values[name] = _DESERIALIZER.deserialize(value)
        except ArithmeticError as error:  # decimal.Clamped / Inexact / Overflow under DYNAMODB_CONTEXT
            values[name] = next(iter(value.values()))
            unreadable[name] = f"{value} ({type(error).__name__})"
    if unreadable:
        values[UNREADABLE] = unreadable
    return values


def _scan(stack: LocalStack, table: str) -> list[dict[str, Any]]:
    client = stack.client("dynamodb")
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=table):
        items += [_deserialize(item) for item in page["Items"]]
    return items


def accounts(stack: LocalStack) -> dict[str, dict[str, Any]]:
    """AccountTable, keyed by account id."""
    return {item["account_id"]: item for item in _scan(stack, stack.outputs["account_table"])}


def log_items(stack: LocalStack) -> list[dict[str, Any]]:
    """Every LogTable item."""
    return _scan(stack, stack.outputs["log_table"])


def as_decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def record_mismatches(stored: Mapping[str, Any] | None, expected: Mapping[str, Any]) -> list[str]:
    """Differences between an AccountTable item and the expected normalised record (empty = equal).

    ``balance`` is compared as an exact decimal (``0.1`` must not come back as ``0.1000000000000000055…``,
    ``10.00`` may come back as ``10``: DynamoDB numbers do not keep trailing zeros).
    """
    if stored is None:
        return ["not in AccountTable"]
    problems = []
    for name, want in expected.items():
        got = stored.get(name)
        if name == "balance":
            equal = as_decimal(got) is not None and as_decimal(got) == Decimal(str(want))
        else:
            equal = got == want
        if not equal:
            problems.append(f"{name}: stored {got!r}, expected {want!r}")
    if not stored.get("ingested_at"):
        problems.append("ingested_at missing")
    for name, why in stored.get(UNREADABLE, {}).items():
        problems.append(f"{name}: boto3 cannot read the stored value {why}")
    return problems


def count_by(items: Iterable[Mapping[str, Any]], key: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[str(item.get(key))] = counts.get(str(item.get(key)), 0) + 1
    return counts
