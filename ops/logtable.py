"""Reading LogTable the way the operator commands need it: by day, through the ``by_day`` index.

LogTable's only cheap access path besides GetItem is the ``by_day`` GSI (hash ``day``, range ``failed_at``),
so "the errors of the last 36 hours" is a query per calendar day (UTC), newest or oldest day first, each
with a ``failed_at`` lower bound. A Scan would read the whole table (90 days of errors by default) to answer
a question about the last hour.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from functions.model import ErrorType
from infra.spec import LOG_TABLE_DAY_INDEX
from ops.errors import InvalidInput

_deserializer = TypeDeserializer()
_serializer = TypeSerializer()


def iso(moment: datetime) -> str:
    """The pipeline's timestamp format (see docs/design.md): ``YYYY-MM-DDTHH:MM:SS.ffffffZ``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now_utc() -> datetime:
    return datetime.now(UTC)


def days_between(start: datetime, end: datetime) -> list[str]:
    """Every UTC calendar day from ``start`` to ``end`` inclusive, oldest first, as ``YYYY-MM-DD``."""
    first, last = start.astimezone(UTC).date(), end.astimezone(UTC).date()
    return [(first + timedelta(days=offset)).isoformat() for offset in range((last - first).days + 1)]


def item_to_python(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}


def to_attribute(value: Any) -> dict[str, Any]:
    attribute: dict[str, Any] = _serializer.serialize(value)
    return attribute


def check_error_types(error_types: Sequence[str]) -> None:
    """An unknown error type would silently match nothing: refuse it, naming the known ones."""
    unknown = [value for value in error_types if value not in set(ErrorType)]
    if unknown:
        known = ", ".join(member.value for member in ErrorType)
        raise InvalidInput(f"unknown error type {unknown[0]!r}", hint=f"one of {known}")


def pages(operation: Callable[..., dict[str, Any]], request: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every page of a DynamoDB ``query`` or ``scan`` (``operation``), lazily: ``request`` goes on from each
    page's ``LastEvaluatedKey`` until a page has none."""
    while True:
        page = operation(**request)
        yield page
        if "LastEvaluatedKey" not in page:
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def query_window(
    dynamodb: Any,
    table: str,
    *,
    since: datetime,
    until: datetime,
    newest_first: bool,
    status: str | None = None,
    error_types: Sequence[str] = (),
) -> Iterator[dict[str, Any]]:
    """LogTable items with ``failed_at`` in [since, until], day by day through ``by_day``, lazily.

    Filters run server-side; DynamoDB's ``Limit`` would apply before them, so the caller stops iterating
    instead of passing a limit.
    """
    requests = _window_requests(
        table, since=since, until=until, newest_first=newest_first, status=status, error_types=error_types
    )
    for request in requests:
        for page in pages(dynamodb.query, request):
            for item in page.get("Items", []):
                yield item_to_python(item)


def count_window(
    dynamodb: Any,
    table: str,
    *,
    since: datetime,
    until: datetime,
    status: str | None = None,
    error_types: Sequence[str] = (),
) -> int:
    """How many items :func:`query_window` would yield: ``Select=COUNT``, so no item crosses the wire."""
    total = 0
    for request in _window_requests(
        table, since=since, until=until, newest_first=True, status=status, error_types=error_types
    ):
        request["Select"] = "COUNT"
        total += sum(int(page.get("Count", 0)) for page in pages(dynamodb.query, request))
    return total


def _window_requests(
    table: str,
    *,
    since: datetime,
    until: datetime,
    newest_first: bool,
    status: str | None,
    error_types: Sequence[str],
) -> list[dict[str, Any]]:
    """One ``by_day`` query per UTC day of the window, in the order asked for."""
    requests = []
    days = days_between(since, until)
    if newest_first:
        days.reverse()
    lower = iso(since)
    condition = "#day = :day AND #failed_at BETWEEN :lower AND :upper"
    names = {"#day": "day", "#failed_at": "failed_at"}
    values: dict[str, Any] = {":lower": {"S": lower}, ":upper": {"S": iso(until)}}
    filters = []
    if status is not None:
        filters.append("#status = :status")
        names["#status"] = "status"
        values[":status"] = {"S": status}
    if error_types:
        placeholders = [f":type{index}" for index in range(len(error_types))]
        filters.append(f"#error_type IN ({', '.join(placeholders)})")
        names["#error_type"] = "error_type"
        for placeholder, value in zip(placeholders, error_types, strict=True):
            values[placeholder] = {"S": value}
    for day in days:
        request: dict[str, Any] = {
            "TableName": table,
            "IndexName": LOG_TABLE_DAY_INDEX,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": {**values, ":day": {"S": day}},
            "ScanIndexForward": not newest_first,
        }
        if filters:
            request["FilterExpression"] = " AND ".join(filters)
        requests.append(request)
    return requests


def get_item(dynamodb: Any, table: str, error_id: str) -> dict[str, Any] | None:
    found = dynamodb.get_item(TableName=table, Key={"error_id": {"S": error_id}}, ConsistentRead=True)
    item = found.get("Item")
    return item_to_python(item) if item else None


def ids_with_prefix(dynamodb: Any, table: str, prefix: str, *, limit: int = 10) -> list[dict[str, Any]]:
    """Items whose ``error_id`` starts with ``prefix`` (id, time, type only), at most ``limit``.

    The id is the hash key, so a prefix cannot be a key condition: this scans the table with a
    ``begins_with`` filter, projecting three attributes. Acceptable for an operator's lookup by a shortened
    id (the table holds the errors of the retention period), not for anything in a loop.
    """
    request: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "begins_with(error_id, :prefix)",
        "ProjectionExpression": "error_id, failed_at, error_type",
        "ExpressionAttributeValues": {":prefix": {"S": prefix}},
    }
    found: list[dict[str, Any]] = []
    for page in pages(dynamodb.scan, request):
        found += [item_to_python(item) for item in page.get("Items", [])]
        if len(found) >= limit:
            break
    return sorted(found, key=lambda item: str(item.get("failed_at", "")))[:limit]
