"""Column converters: a whole column of values in, the converted column out, or None.

Used by :func:`functions.contract.normalise.normalise_block` (the transformer's path): one C-level call over
the column joined with a separator does what the per-value converter (:mod:`functions.contract.values`) does
to each value. Each returns None whenever a value needs the per-value path (not a str, a separator inside,
anything the fast shape does not cover, anything rejected); the caller then runs the per-value converter on
that column, so results and reasons are always the per-value ones. Why this is exact: each value is joined
with "\\n" (or a space), which none of these patterns admits inside a value, and the split must give back as
many values as went in.

Columns whose values may be padded (email, balance strings, currency, status) are joined with spaces and
matched by a pattern that admits spaces around each value: ``str.split()`` then gives the trimmed values in
one C call. Only ASCII is taken here, and checked *before* any case mapping (the per-value rule); anything
else goes to the per-value path.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from functions.contract import values as values_
from functions.contract.rules import (
    ACCOUNT_ID_CHARS,
    CURRENCY_PATTERN,
    EMAIL_PATTERN,
    MAX_ACCOUNT_ID_LENGTH,
    MAX_BALANCE_DIGITS,
    MAX_EMAIL_LENGTH,
    MAX_NAME_LENGTH,
    STATUSES,
)
from functions.contract.utc import TIMESTAMP_RE, none_indexes, rewrite_all
from functions.contract.values import Reject


def _block_pattern(one: str, flags: int = 0) -> re.Pattern[str]:
    """``one`` value, then any number of newline-separated others."""
    return re.compile(f"(?:{one})(?:\\n(?:{one}))*", flags)


def _spaced_pattern(one: str, flags: int = 0) -> re.Pattern[str]:
    """``one`` value, then any number of others, each with spaces around it (a value joined with spaces)."""
    return re.compile(f" *(?:{one})(?: +(?:{one}))* *", flags)


_ACCOUNT_ID_BLOCK_RE = _block_pattern(f"[{ACCOUNT_ID_CHARS}]{{1,{MAX_ACCOUNT_ID_LENGTH}}}", re.ASCII)
_EMAIL_SPACED_RE = _spaced_pattern(EMAIL_PATTERN, re.ASCII)
_CURRENCY_SPACED_RE = _spaced_pattern(CURRENCY_PATTERN, re.ASCII)
_STATUS_SPACED_RE = _spaced_pattern("|".join(STATUSES), re.ASCII | re.IGNORECASE)
"""Either case, ASCII only (``re.ASCII`` keeps IGNORECASE from folding ``K``, U+212A, into ``k``)."""
_PLAIN_DECIMALS_BLOCK_RE = _block_pattern("-?[0-9.]+", re.ASCII)
_PLAIN_DECIMALS_SPACED_RE = _spaced_pattern("-?[0-9]+(?:[.][0-9]+)?", re.ASCII)
_ZERO = Decimal(0)
_LARGEST_INTEGER = 10**MAX_BALANCE_DIGITS
"""Integers strictly between minus this and this have at most 38 digits."""


def _joined(values: list[Any]) -> str | None:
    """The column as one newline-separated str, or None when a value is not a str or holds a newline."""
    try:
        text = "\n".join(values)
    except TypeError:  # a missing value, null, a number...
        return None
    return text if text.count("\n") == len(values) - 1 else None


def account_id_column(values: list[Any]) -> list[Any] | None:
    text = _joined(values)
    # Nothing to trim (the class has no whitespace), 1-64 allowed characters each: the values stand as is.
    return values if text is not None and _ACCOUNT_ID_BLOCK_RE.fullmatch(text) is not None else None


def name_column(values: list[Any]) -> list[Any] | None:
    # Measured: a comprehension beats any whole-column rewrite here (split and join are C calls already).
    if set(map(type, values)) != {str}:
        return None
    if not "".join(values).isprintable():  # a tab to collapse, a refused character: the per-value path
        return None
    names = [" ".join(value.split()) for value in values]
    if "" in names or max(map(len, names)) > MAX_NAME_LENGTH:
        return None
    return names


def _spaced(values: list[Any], pattern: re.Pattern[str]) -> list[str] | None:
    """The values trimmed, when every one is a str that ``pattern`` (a :func:`_spaced_pattern`) admits with
    spaces around it; None otherwise. ASCII and printable, so spaces are the only whitespace to trim."""
    try:
        text = " ".join(values)
    except TypeError:  # a missing value, null, a number...
        return None
    if not (text.isascii() and text.isprintable()) or pattern.fullmatch(text) is None:
        return None
    trimmed = text.split()
    return trimmed if len(trimmed) == len(values) else None


def email_column(values: list[Any]) -> list[Any] | None:
    emails = _spaced(values, _EMAIL_SPACED_RE)
    if emails is None or max(map(len, emails)) > MAX_EMAIL_LENGTH:
        return None
    return " ".join(emails).lower().split()  # lower-cased only after the check, and ASCII: one for one


def balance_column(values: list[Any]) -> list[Any] | None:
    # Decimals (what the parser gives for a fraction), integers, or strings, in plain notation of at most 38
    # characters: finite, at most 38 digits, well inside DynamoDB's range, so the per-value converter would
    # give each one the same Decimal. Zeros lose their sign there: left to it.
    kinds = set(map(type, values))
    if kinds == {Decimal}:
        if (
            _PLAIN_DECIMALS_BLOCK_RE.fullmatch("\n".join(map(str, values))) is None
            or max(map(len, map(str, values))) > MAX_BALANCE_DIGITS
        ):
            return None
        numbers = values
    elif kinds == {str}:
        texts = _spaced(values, _PLAIN_DECIMALS_SPACED_RE)
        if texts is None or max(map(len, texts)) > MAX_BALANCE_DIGITS:
            return None
        numbers = list(map(Decimal, texts))
    elif kinds == {int}:  # bool is a type of its own: never here
        if min(values) <= -_LARGEST_INTEGER or max(values) >= _LARGEST_INTEGER:
            return None
        numbers = list(map(Decimal, values))
    else:
        return None
    return None if _ZERO in numbers else numbers


def _cased_column(
    values: list[Any], case: Callable[[str], str], pattern: re.Pattern[str]
) -> list[Any] | None:
    """A column of short codes (currency, status): checked by one regex over the whole block as received,
    then cased once (ASCII: one for one), rather than value by value; None sends the block to the per-value
    path."""
    codes = _spaced(values, pattern)
    return None if codes is None else case(" ".join(codes)).split()


def currency_column(values: list[Any]) -> list[Any] | None:
    return _cased_column(values, str.upper, _CURRENCY_SPACED_RE)


def status_column(values: list[Any]) -> list[Any] | None:
    return _cased_column(values, str.lower, _STATUS_SPACED_RE)


def updated_at_column(values: list[Any]) -> list[Any] | None:
    text = _joined(values)
    if text is None:
        return None
    matches = TIMESTAMP_RE.findall(text)
    if len(matches) != len(values):  # one match per line at most: every line has the fast shape
        return None
    timestamps = rewrite_all(matches)
    for index in none_indexes(timestamps):
        try:  # a new year, 29 February, an hour or offset out of range: the per-value path decides
            timestamps[index] = values_.updated_at(values[index])
        except Reject:  # out of range near year 1 or 9999: the per-value path reports it
            return None
    return timestamps
