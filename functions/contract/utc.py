"""Timestamps in the common shapes rewritten to the pipeline's UTC format from fixed tables, without parsing.

``…T12:00:00Z``, ``…+02:00`` and naive times make up nearly every ``updated_at``; rewriting them from tables
costs a fraction of ``datetime.fromisoformat`` + formatting. Anything the tables do not cover (a new year,
29 February, odd offsets) returns None and the caller takes the general path, so results never differ.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import pairwise, repeat
from typing import Any

TIMESTAMP_RE = re.compile(
    r"^(\d{4}-)(\d\d-\d\d)[Tt ](\d\d)(:[0-5]\d:[0-5]\d)(?:\.(\d{1,6}))?([Zz]|[+-]\d\d:00)?$",
    re.ASCII | re.MULTILINE,
)
"""The common timestamp shapes (groups: year and dash, month-day, hour, minutes and seconds, fraction, zone);
date and hour ranges are left to the tables below (cheaper than in the
pattern). ``fullmatch`` checks one value; with MULTILINE, ``findall`` checks a newline-joined column."""
_MONTH_DAYS = frozenset(
    f"{month:02d}-{day:02d}"
    for month, days in enumerate((31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31), 1)
    for day in range(1, days + 1)
)
"""Month-days valid in every year (29 February is left to the per-value path)."""
_HOURS = [f"{hour:02d}" for hour in range(24)]
_ZONES = [(0, ""), (0, "Z"), (0, "z")] + [
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


_PLACEHOLDER_SHIFT = ("00", 0)


def rewrite_all(matches: list[tuple[str, ...]]) -> list[str | None]:
    """:data:`TIMESTAMP_RE` matches' groups (``findall`` shape: '' for an absent group) in UTC; None for each
    one the tables do not cover (the caller takes the general path for those).

    Column-wise: the groups become columns (one ``zip``), the hour and zone of every value are looked up in
    one ``map``, and the strings are joined by one ``map``; Python steps only for the values whose date moves
    (an offset across midnight) or that the tables lack. Measured slower (bench/transformer_throughput.py's
    records): one loop with local names over the values (what this replaced), a date lookup for every value
    with one join over the whole column, a cache of UTC hours per (date, hour, zone) with a join, and a
    function call per value.
    """
    if not matches:
        return []
    years, given_month_days, hours, rests, fractions, zones = zip(*matches, strict=True)
    shifts = list(map(_UTC_SHIFT.get, zip(hours, zones, strict=True)))
    slow = none_indexes(shifts)  # an hour or zone the table lacks
    for index in slow:
        shifts[index] = _PLACEHOLDER_SHIFT
    utc_hours, days = zip(*shifts, strict=True)
    month_days = list(given_month_days)
    if _MONTH_DAYS.issuperset(month_days):  # every date exists in every year: only moved ones are looked up
        for index in none_indexes(list(days), 1) + none_indexes(list(days), -1):
            shifted = _SHIFTED_MONTH_DAY.get((month_days[index], days[index]))
            if shifted is None:
                slow.append(index)
            else:
                month_days[index] = shifted
    else:
        looked_up = list(map(_SHIFTED_MONTH_DAY.get, zip(month_days, days, strict=True)))
        for index in none_indexes(looked_up):
            slow.append(index)
            looked_up[index] = ""
        month_days = looked_up
    if "0000-" in years:
        slow += none_indexes(list(years), "0000-")
    tails: Iterable[str] = (
        [f".{fraction.ljust(6, '0')}Z" for fraction in fractions] if any(fractions) else repeat(".000000Z")
    )
    rewritten: list[str | None] = list(
        map("".join, zip(years, month_days, repeat("T"), utc_hours, rests, tails))
    )
    for index in slow:
        rewritten[index] = None
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


# --- whole columns of one fixed-width shape: checked whole, no match object per value ---

_VALID_MONTH_DAY = (
    r"(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
)
"""The month-days of :data:`_MONTH_DAYS` as a pattern (29 February left out, as there)."""
_SECONDS_SHAPE = rf"(?!0000)\d{{4}}-{_VALID_MONTH_DAY}T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d"
"""``YYYY-MM-DDTHH:MM:SS`` with a valid date (year 0 is none), hour, minute and second: 19 characters."""
_Z_COLUMN_RE = re.compile(f"{_SECONDS_SHAPE}Z(?:\\n{_SECONDS_SHAPE}Z)*", re.ASCII)
_OFFSET_WIDTH = len("YYYY-MM-DDTHH:MM:SS+hh:00\n")
_OFFSET_FIXED = ((4, "-"), (7, "-"), (10, "T"), (13, ":"), (16, ":"), (22, ":"), (23, "0"), (24, "0"))
"""Where a ``YYYY-MM-DDTHH:MM:SS+hh:00`` value holds the same character whatever its moment."""
_OFFSET_DIGITS = (0, 1, 2, 3, 15, 18)
"""The year's and the units of minutes' and seconds' positions. The month-day's, hour's and zone's are left
to the tables, whose keys hold only digits that make a date, an hour and a zone: a value with anything else
there is one the tables lack."""
_OFFSET_SIXTIES = (14, 17)
"""The tens of minutes and of seconds: 0-5."""
_NO_FRACTION_Z = ".000000Z"
MAX_ZONE_TABLES = 4
"""Whole-hour zones with a table of their own (:func:`_zone_table`, ≈ 9,000 entries each); columns in other
zones take the general path."""
_OFFSETS = frozenset(zone for _, zone in _ZONES if zone[:1] in ("+", "-"))
"""The whole-hour zones the tables know (``+00:00`` to ``+23:00``, ``-00:00`` to ``-23:00``)."""
_ZONE_UTC: dict[str, str] = {}
"""``MM-DDTHH±hh:00`` (local month-day, hour and zone) → ``MM-DDTHH`` in UTC, for the zones built so far;
entries whose date would cross a year or 29 February are absent (the general path decides those)."""
_ZONES_BUILT: set[str] = set()


def _zone_table(zone: str) -> None:
    """Add ``zone``'s entries to :data:`_ZONE_UTC` (every month-day and hour; built once per zone)."""
    for hour in _HOURS:
        utc_hour, days = _UTC_SHIFT[(hour, zone)]
        for month_day in _ORDERED_MONTH_DAYS:
            shifted = _SHIFTED_MONTH_DAY.get((month_day, days))
            if shifted is None or (days, month_day) in ((1, "12-31"), (-1, "01-01")):
                continue
            _ZONE_UTC[f"{month_day}T{hour}{zone}"] = f"{shifted}T{utc_hour}"
    _ZONES_BUILT.add(zone)


_MISSING_HOUR = "?"
"""Stands in the rewritten value for a date the tables lack; no rewritten value holds it otherwise."""


def _offsets_to_utc(values: list[str], *, built: bool = False) -> list[Any] | None:
    get = _ZONE_UTC.get
    rewritten: list[Any] = [
        value[:5] + get(value[5:13] + value[19:], _MISSING_HOUR) + value[13:19] + _NO_FRACTION_Z
        for value in values
    ]
    if _MISSING_HOUR not in "".join(rewritten):
        return rewritten
    missing = {value[19:] for value in values} - _ZONES_BUILT
    if missing and not built:  # a zone seen for the first time: its table, then again
        if len(_ZONES_BUILT) + len(missing) > MAX_ZONE_TABLES or not _OFFSETS.issuperset(missing):
            return None
        for zone in missing:
            _zone_table(zone)
        return _offsets_to_utc(values, built=True)
    for index, value in enumerate(rewritten):  # a new year or 29 February: left to the caller
        if _MISSING_HOUR in value:
            rewritten[index] = None
    return rewritten


_YEAR_TABLES: dict[str, dict[str, str]] = {}
"""``YYYY-`` → {``MM-DDTHH±hh:00`` (local) → ``YYYY-MM-DDTHH`` (UTC)}, for the (year, zone) pairs built."""
_YEAR_ZONES_BUILT: set[tuple[str, str]] = set()
MAX_YEAR_ZONE_TABLES = 8
"""(year, zone) tables kept (≈ 8,800 entries each): a column in another year or zone takes another path."""


def _year_zone_table(year: str, zone: str) -> None:
    """Every local hour of ``year`` in ``zone`` with its UTC hour, date and year: exact, 29 February and the
    turn of the year included. Built from the hour table and the year's list of days (no datetime per
    entry: a few milliseconds per table)."""
    number = int(year[:4])
    leap = number % 4 == 0 and (number % 100 != 0 or number % 400 == 0)
    lengths = (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    days = [
        f"{month:02d}-{day:02d}" for month, length in enumerate(lengths, 1) for day in range(1, length + 1)
    ]
    dated = [year + day for day in days]
    before = f"{number - 1:04d}-12-31" if number > 1 else None  # year 0 is none: the general path says so
    after = f"{number + 1:04d}-01-01" if number < 9999 else None
    table = _YEAR_TABLES.setdefault(year, {})
    last = len(days) - 1
    for hour in _HOURS:
        utc_hour, shift = _UTC_SHIFT[(hour, zone)]
        for index, day in enumerate(days):
            moved = index + shift
            target = dated[moved] if 0 <= moved <= last else (before if moved < 0 else after)
            if target is not None:
                table[f"{day}T{hour}{zone}"] = f"{target}T{utc_hour}"
    _YEAR_ZONES_BUILT.add((year, zone))


def _one_year_to_utc(values: list[str], text: str) -> list[str] | None:
    """A column of whole-hour offsets all in one year: one lookup and one concatenation per value, the
    fraction and ``Z`` added to the whole column at once; None when the year is not one, or its tables
    cannot be built (too many), or a value lies outside them."""
    year = values[0][:5]
    if text.count(year) != len(values):  # "YYYY-" stands nowhere else in a line of this shape
        return None
    table = _YEAR_TABLES.get(year, {})
    try:
        hours = [table[value[5:13] + value[19:]] + value[13:19] for value in values]
    except KeyError:  # a zone not built yet for this year (or a value outside the tables)
        needed = {zone for zone in {value[19:] for value in values} if (year, zone) not in _YEAR_ZONES_BUILT}
        if (
            not needed
            or len(_YEAR_ZONES_BUILT) + len(needed) > MAX_YEAR_ZONE_TABLES
            or not _OFFSETS.issuperset(needed)
        ):
            return None
        for zone in needed:
            _year_zone_table(year, zone)
        return _one_year_to_utc(values, text)
    return ("\n".join(hours) + "\n").replace("\n", _NO_FRACTION_Z + "\n").split("\n")[:-1]


def fixed_width_column(values: list[str], text: str) -> list[Any] | None:
    """``values`` (``text``: them joined with newlines) in UTC when every one is ``YYYY-MM-DDTHH:MM:SSZ``, or
    every one has a whole-hour offset (``+02:00``); None otherwise. A value whose date the tables lack (a new
    year, 29 February) is None in the list: the caller converts it on its own.

    Why: most files write every timestamp the same way, and for such a column one pattern without groups
    (``Z``) or a few extended slices (:func:`_offset_layout`) check every value, and the rewrite is a replace
    (``Z``) or one table lookup per value (offsets), where the general path (:func:`rewrite_all`) builds a
    match tuple per value and transposes them."""
    if _Z_COLUMN_RE.fullmatch(text) is not None:
        return text.replace("Z", _NO_FRACTION_Z).split("\n")
    if _offset_layout(text, len(values)):
        return _offsets_by_slices(values, text) or _one_year_to_utc(values, text) or _offsets_to_utc(values)
    return None


def _offset_layout(text: str, count: int) -> bool:
    """Whether every line of ``text`` (``count`` lines) is ``YYYY-MM-DDTHH:MM:SS±hh:00`` as far as the tables
    do not check it: ASCII, the separators in place, a sign, the year's digits (not 0000), minutes and seconds
    below 60. Whether the month-day, hour and zone are digits that exist is left to the tables, which hold
    only those (a value they lack is None, and an unknown zone sends the column on). With the separators
    and the sign in place, ``YYYY-`` can stand only at the start of a line, which
    :func:`_one_year_to_utc`'s count relies on.

    Why not one pattern like the ``Z`` column's: the lines have one width, so each position of every line is
    one extended slice of the column (``text[4::26]``), and a slice compared with a run of its character, or
    checked by ``isdigit``, costs about half the pattern's match."""
    if len(text) != _OFFSET_WIDTH * count - 1 or not text.isascii() or "0000-" in text:
        return False
    if text[_OFFSET_WIDTH - 1 :: _OFFSET_WIDTH] != "\n" * (count - 1):
        return False
    for position, character in _OFFSET_FIXED:
        if text[position::_OFFSET_WIDTH] != character * count:
            return False
    if not all(text[position::_OFFSET_WIDTH].isdigit() for position in _OFFSET_DIGITS):
        return False
    tens = (text[position::_OFFSET_WIDTH].strip("012345") for position in _OFFSET_SIXTIES)
    return not any(tens) and not text[19::_OFFSET_WIDTH].strip("+-")


_LOCAL_TO_UTC: dict[str, str] = {}
"""The characters of a local month-day, hour and zone without separators (``MMDDHH±hh``, as the slices of a
column put them together) → ``MM-DDTHH`` in UTC, for the zones built so far; a move across the turn of the
year or 29 February is absent (the per-value path decides those)."""
_LOCAL_ZONES_BUILT: set[str] = set()
MAX_LOCAL_ZONES = 4
"""Zones with entries in :data:`_LOCAL_TO_UTC` (≈ 8,700 each); a column in others takes another path."""


def _local_zone(zone: str) -> None:
    """Add ``zone``'s entries to :data:`_LOCAL_TO_UTC`: every month-day and hour, from the hour and day
    tables."""
    for hour in _HOURS:
        utc_hour, days = _UTC_SHIFT[(hour, zone)]
        for month_day in _ORDERED_MONTH_DAYS:
            shifted = _SHIFTED_MONTH_DAY.get((month_day, days))  # lacks the year's turn and 29 February
            if shifted is not None:
                _LOCAL_TO_UTC[f"{month_day[:2]}{month_day[3:]}{hour}{zone[:3]}"] = f"{shifted}T{utc_hour}"
    _LOCAL_ZONES_BUILT.add(zone)


_KEY_POSITIONS = (5, 6, 8, 9, 11, 12, 19, 20, 21)
"""Where the characters of a :data:`_LOCAL_TO_UTC` key stand in a ``YYYY-MM-DDTHH:MM:SS±hh:00`` line."""
_KEY_WIDTH = len(_KEY_POSITIONS) + 1
_UTC_LINE = b"0000-00-00T00:00:00.000000Z\n"
"""A line of the rewritten column; the digits are written over it."""
_UTC_WIDTH = len(_UTC_LINE)
_KEPT_POSITIONS = (0, 1, 2, 3, 14, 15, 17, 18)
"""The year's, minutes' and seconds' digits: the same place in a local line and in a UTC line."""
_PLACEHOLDER_DAY_HOUR = "00-00T00"
_DAY_HOUR_POSITIONS = ((5, 0), (6, 1), (8, 3), (9, 4), (11, 6), (12, 7))
"""Where each digit of ``MM-DDTHH`` stands in a line, and in that string."""


def _offsets_by_slices(values: list[str], text: str) -> list[Any] | None:
    """A column that passed :func:`_offset_layout` in UTC, worked on as extended slices of the column rather
    than value by value: each value's lookup key put together from nine slices into a ``bytearray`` and split
    into strings, the UTC month-day and hour of every value looked up in one ``map``, and the lines of the
    output written by fourteen slice assignments over a ``bytearray`` of blank lines: the year, minutes and
    seconds from the column, the month-day and hour from the lookups.
    A value the table lacks (a move across the turn of the year or 29 February, a month-day or hour that does
    not exist) is None, as in :func:`_offsets_to_utc`: the caller converts it on its own. None when a zone
    is unknown or its entries cannot be built (too many zones): the other paths decide."""
    width, count = _OFFSET_WIDTH, len(values)
    local = text.encode("ascii")
    keys = bytearray(b"\n" * (_KEY_WIDTH * count))
    for index, position in enumerate(_KEY_POSITIONS):
        keys[index::_KEY_WIDTH] = local[position::width]
    split = keys.decode("ascii").split("\n")
    split.pop()  # after the last newline
    day_hours: list[Any] = list(map(_LOCAL_TO_UTC.get, split))
    lacking = none_indexes(day_hours)
    if lacking:  # a zone seen for the first time, or a value the tables lack
        new = {f"{split[index][6:]}:00" for index in lacking} - _LOCAL_ZONES_BUILT
        if new:
            if not _OFFSETS.issuperset(new) or len(_LOCAL_ZONES_BUILT) + len(new) > MAX_LOCAL_ZONES:
                return None
            for zone in new:
                _local_zone(zone)
            for index in lacking:
                day_hours[index] = _LOCAL_TO_UTC.get(split[index])
            lacking = none_indexes(day_hours)
        for index in lacking:
            day_hours[index] = _PLACEHOLDER_DAY_HOUR
    characters = "".join(day_hours).encode("ascii")
    lines = bytearray(_UTC_LINE * count)
    for position in _KEPT_POSITIONS:
        lines[position::_UTC_WIDTH] = local[position::width]
    for position, offset in _DAY_HOUR_POSITIONS:
        lines[position::_UTC_WIDTH] = characters[offset :: len(_PLACEHOLDER_DAY_HOUR)]
    rewritten: list[Any] = lines.decode("ascii").split("\n")
    rewritten.pop()  # after the last newline
    for index in lacking:
        rewritten[index] = None
    return rewritten
