"""Timestamps in the common shapes rewritten to the pipeline's UTC format from fixed tables, without parsing.

``…T12:00:00Z``, ``…+02:00`` and naive times make up nearly every ``updated_at``; rewriting them from tables
costs a fraction of ``datetime.fromisoformat`` + formatting. Anything the tables do not cover (a new year,
29 February, odd offsets) returns None and the caller takes the general path, so results never differ.
"""

from __future__ import annotations

import re
from itertools import pairwise
from typing import Any

TIMESTAMP_RE = re.compile(
    r"^(\d{4}-\d\d-\d\d)[Tt ](\d\d)(:[0-5]\d:[0-5]\d)(?:\.(\d{1,6}))?(Z|[+-]\d\d:00)?$",
    re.ASCII | re.MULTILINE,
)
"""The common timestamp shapes; date and hour ranges are left to the tables below (cheaper than in the
pattern). ``fullmatch`` checks one value; with MULTILINE, ``findall`` checks a newline-joined column."""
_MONTH_DAYS = frozenset(
    f"{month:02d}-{day:02d}"
    for month, days in enumerate((31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31), 1)
    for day in range(1, days + 1)
)
"""Month-days valid in every year (29 February is left to the per-value path)."""
_HOURS = [f"{hour:02d}" for hour in range(24)]
_ZONES = [(0, ""), (0, "Z")] + [
    (sign * int(hour), f"{'+' if sign > 0 else '-'}{hour}:00") for hour in _HOURS for sign in (1, -1)
]
_UTC_SHIFT: dict[tuple[str, str], tuple[str, int]] = {
    (_HOURS[hour], zone): (_HOURS[(hour - shift) % 24], (hour - shift) // 24)
    for hour in range(24)
    for shift, zone in _ZONES
}
"""(local hour, whole-hour zone) → (UTC hour, days to add: -1, 0 or 1): a fixed table, built once."""
_ORDERED_MONTH_DAYS = sorted(_MONTH_DAYS)
_SHIFTED_MONTH_DAY: dict[tuple[str, int], str] = {
    **{(month_day, 0): month_day for month_day in _MONTH_DAYS},
    **{
        (month_day, 1): following
        for month_day, following in pairwise(_ORDERED_MONTH_DAYS)
        if month_day != "02-28"  # 29 February or 1 March: the year decides
    },
    **{
        (month_day, -1): previous
        for previous, month_day in pairwise(_ORDERED_MONTH_DAYS)
        if month_day != "03-01"
    },
}
"""(month-day, days to add) → month-day, within one year and never across 29 February: a fixed table.
What it lacks (a new year, a leap day) takes the per-value path."""


def fast_utc(text: str) -> str | None:
    """The common shapes rewritten; None for anything else (the general path decides)."""
    fast = TIMESTAMP_RE.fullmatch(text)
    if fast is None:
        return None
    return rewrite_all([fast.groups(default="")])[0]


def rewrite_all(matches: list[tuple[str, ...]]) -> list[str | None]:
    """:data:`TIMESTAMP_RE` matches' groups (``findall`` shape: '' for an absent group) in UTC; None for each
    one the tables do not cover (the caller takes the general path for those).

    One loop with local names. Measured slower (bench/transformer_throughput.py's records, 200k values):
    maps over the whole column and one join (more intermediate lists), a cache of UTC hours per (date,
    hour, zone) with a join (about 2x this loop), and a function call per value.
    """
    shifts, month_days = _UTC_SHIFT, _SHIFTED_MONTH_DAY
    rewritten: list[str | None] = []
    append = rewritten.append
    for date, hour, rest, fraction, zone in matches:
        shift = shifts.get((hour, zone))
        if shift is not None and date[:4] != "0000":
            month_day = month_days.get((date[5:], shift[1]))
            if month_day is not None:
                append(f"{date[:5]}{month_day}T{shift[0]}{rest}.{fraction.ljust(6, '0')}Z")
                continue
        append(None)
    return rewritten


def none_indexes(values: list[Any], wanted: Any = None) -> list[int]:
    """Where ``wanted`` stands in ``values`` (a C-level search per hit, not a Python step per value)."""
    found: list[int] = []
    start = 0
    while True:
        try:
            start = values.index(wanted, start)
        except ValueError:
            return found
        found.append(start)
        start += 1


_YEAR = slice(0, 5)
_MONTH_DAY = slice(5, None)
