"""``pipeline-ctl errors tail|show``: read LogTable, newest first, and follow it.

``tail`` walks the ``by_day`` index backwards day by day from today to the ``--since`` window, so an error
from 23:59 yesterday and one from 00:01 today come out in the right order. ``follow`` keeps polling: the GSI
is eventually consistent and items can become visible a little after newer ones, so each poll looks back
``FOLLOW_OVERLAP`` before the newest item seen and drops the ids it already printed, rather than asking
only for ``failed_at > newest`` and missing the late ones.

Example::

    for item in tail(target, since=timedelta(hours=1), limit=20):
        print(item["error_id"], item["error_message"])
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from ops.errors import InvalidInput, NotFound
from ops.logtable import (
    check_error_types,
    count_window,
    get_item,
    ids_with_prefix,
    iso,
    now_utc,
    query_window,
)
from ops.target import Target

DEFAULT_SINCE = timedelta(hours=24)
DEFAULT_LIMIT = 20
FOLLOW_INTERVAL_SECONDS = 2.0
FOLLOW_OVERLAP = timedelta(minutes=2)
"""How far back each follow poll looks again for items the eventually consistent index showed late."""


def tail(
    target: Target,
    *,
    since: timedelta = DEFAULT_SINCE,
    limit: int | None = DEFAULT_LIMIT,
    error_types: Sequence[str] = (),
    clock: Callable[[], datetime] = now_utc,
) -> list[dict[str, Any]]:
    """The newest LogTable items within ``since``, newest first, at most ``limit`` of them."""
    if limit is not None and limit < 1:
        raise InvalidInput("--limit must be at least 1")
    check_error_types(error_types)
    now = clock()
    items = query_window(
        target.client("dynamodb"),
        target.outputs["log_table"],
        since=now - since,
        until=now,
        newest_first=True,
        error_types=error_types,
    )
    return list(islice(items, limit))


def count(
    target: Target,
    *,
    since: timedelta = DEFAULT_SINCE,
    error_types: Sequence[str] = (),
    clock: Callable[[], datetime] = now_utc,
) -> int:
    """How many items :func:`tail` without a limit would return (so a limited tail can say what it left)."""
    check_error_types(error_types)
    now = clock()
    return count_window(
        target.client("dynamodb"),
        target.outputs["log_table"],
        since=now - since,
        until=now,
        error_types=error_types,
    )


def follow(
    target: Target,
    *,
    start: datetime,
    on_item: Callable[[dict[str, Any]], None],
    seen: set[str] | None = None,
    error_types: Sequence[str] = (),
    interval: float = FOLLOW_INTERVAL_SECONDS,
    stop: threading.Event | None = None,
    clock: Callable[[], datetime] = now_utc,
) -> None:
    """Poll for items newer than ``start`` and hand each to ``on_item`` once, oldest first, until stopped.

    Runs until ``stop`` is set or the caller's thread gets KeyboardInterrupt (the CLI's Ctrl-C).
    """
    dynamodb, table = target.client("dynamodb"), target.outputs["log_table"]
    printed: dict[str, str] = {error_id: iso(start) for error_id in seen or ()}
    newest = iso(start)
    while stop is None or not stop.is_set():
        now = clock()
        lower = min(datetime.fromisoformat(newest.replace("Z", "+00:00")), now) - FOLLOW_OVERLAP
        for item in query_window(
            dynamodb, table, since=lower, until=now, newest_first=False, error_types=error_types
        ):
            error_id = str(item["error_id"])
            failed_at = str(item.get("failed_at", ""))
            if error_id in printed or failed_at < iso(start):
                continue
            printed[error_id] = failed_at
            newest = max(newest, failed_at)
            on_item(item)
        horizon = iso(datetime.fromisoformat(newest.replace("Z", "+00:00")) - 2 * FOLLOW_OVERLAP)
        printed = {key: value for key, value in printed.items() if value >= horizon}
        if stop is not None:
            stop.wait(interval)
        else:
            time.sleep(interval)


def show(target: Target, error_id: str) -> dict[str, Any]:
    """One LogTable item, whole."""
    if not error_id.strip():
        raise InvalidInput("the error id is empty", hint="list recent ones with `pipeline-ctl errors tail`")
    dynamodb, table = target.client("dynamodb"), target.outputs["log_table"]
    item = get_item(dynamodb, table, error_id)
    if item is None and len(error_id) >= MIN_ID_PREFIX:
        # A shortened id, as tables and the demo print them: a unique prefix is as good as the id.
        candidates = ids_with_prefix(dynamodb, table, error_id)
        if len(candidates) == 1:
            item = get_item(dynamodb, table, str(candidates[0]["error_id"]))
        elif candidates:
            listed = ", ".join(
                f"{found['error_id']} ({found.get('error_type', '?')}, {found.get('failed_at', '?')})"
                for found in candidates
            )
            more = " or more" if len(candidates) >= 10 else ""
            raise InvalidInput(
                f"{error_id!r} matches {len(candidates)}{more} errors: {listed}", hint="give more of the id"
            )
    if item is None:
        raise NotFound(
            f"no error {error_id} in {table}",
            hint="list recent ones with `pipeline-ctl errors tail`",
        )
    return item


MIN_ID_PREFIX = 4
"""Shorter prefixes are not looked up: they would match half the table."""
