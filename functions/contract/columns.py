"""Column converters: a whole column of values in, the converted column out, or None.

Used by :func:`functions.contract.normalise.normalise_block` (the transformer's path): one C-level call over
the column joined with newlines does what the per-value converter (:mod:`functions.contract.values`) does to
each value. Each returns None whenever a value needs the per-value path (not a str, a newline inside,
anything the fast shape does not cover, anything rejected); the caller then runs the per-value converter on
that column, so results and reasons are always the per-value ones. Why this is exact: each value is joined
with "\\n", which none of these patterns admits inside a value, and the split must give back as many values
as went in.
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
from functions.contract.values import SURROGATE_RE, Reject


def _block_pattern(one: str, flags: int = 0) -> re.Pattern[str]:
    """``one`` value, then any number of newline-separated others."""
    return re.compile(f"(?:{one})(?:\\n(?:{one}))*", flags)


_ACCOUNT_ID_BLOCK_RE = _block_pattern(f"[{ACCOUNT_ID_CHARS}]{{1,{MAX_ACCOUNT_ID_LENGTH}}}", re.ASCII)
_EMAIL_BLOCK_RE = _block_pattern(EMAIL_PATTERN)
_CURRENCY_BLOCK_RE = _block_pattern(CURRENCY_PATTERN, re.ASCII)
_STATUS_BLOCK_RE = _block_pattern("|".join(STATUSES))
_PLAIN_DECIMALS_BLOCK_RE = _block_pattern("-?[0-9.]+", re.ASCII)
_ZERO = Decimal(0)


def _has_surrogate(text: str) -> bool:
    return not text.isascii() and SURROGATE_RE.search(text) is not None


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
    names = [" ".join(value.split()) for value in values]
    if "" in names or max(map(len, names)) > MAX_NAME_LENGTH or _has_surrogate("".join(names)):
        return None
    return names


def email_column(values: list[Any]) -> list[Any] | None:
    text = _joined(values)
    if text is None:
        return None
    text = text.lower()
    if (
        _has_surrogate(text) or _EMAIL_BLOCK_RE.fullmatch(text) is None
    ):  # also when a value has whitespace to trim
        return None
    emails = text.split("\n")
    if len(emails) != len(values) or max(map(len, emails)) > MAX_EMAIL_LENGTH:
        return None
    return emails


def balance_column(values: list[Any]) -> list[Any] | None:
    # Decimals (what the parser gives) in plain notation of at most 38 characters: finite, at most 38 digits,
    # well inside DynamoDB's range, so the per-value converter would return each one unchanged. Zeros lose
    # their sign there: left to it.
    if set(map(type, values)) != {Decimal}:
        return None
    texts = list(map(str, values))
    if (
        _PLAIN_DECIMALS_BLOCK_RE.fullmatch("\n".join(texts)) is None
        or max(map(len, texts)) > MAX_BALANCE_DIGITS
        or _ZERO in values
    ):
        return None
    return values


def _cased_column(
    values: list[Any], case: Callable[[str], str], block_re: re.Pattern[str]
) -> list[Any] | None:
    """A column of short codes (currency, status): cased once and checked by one regex over the whole
    block, rather than value by value; None sends the block to the per-value path."""
    text = _joined(values)
    if text is None:
        return None
    text = case(text)
    if block_re.fullmatch(text) is None:
        return None
    codes = text.split("\n")
    return codes if len(codes) == len(values) else None


def currency_column(values: list[Any]) -> list[Any] | None:
    return _cased_column(values, str.upper, _CURRENCY_BLOCK_RE)


def status_column(values: list[Any]) -> list[Any] | None:
    return _cased_column(values, str.lower, _STATUS_BLOCK_RE)


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
