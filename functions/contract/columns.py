"""Column converters: a whole column of values in, the converted column out, or None.

Used by :func:`functions.contract.normalise.normalise_block` (the transformer's path): one C-level call over
the column joined with a separator does what the per-value converter (:mod:`functions.contract.values`) does
to each value. Each returns None whenever a value needs the per-value path (not a str, a separator inside,
anything the fast shape does not cover, anything rejected); the caller then runs the per-value converter on
that column, so results and reasons are always the per-value ones. Why this is exact: each value is joined
with "\\n", which none of these patterns admits inside a value, and the split must give back as many values
as went in.

Columns whose values may be padded (email, balance strings, currency, status) are matched by a pattern that
admits spaces around each value (and only spaces: the patterns' classes are printable ASCII), and trimmed
only when a space is there. Only ASCII is taken here, and checked *before* any case mapping (the per-value
rule); anything else goes to the per-value path.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from functions.contract import values as values_
from functions.contract.rules import (
    ACCOUNT_ID_CHARS,
    CURRENCY_LENGTH,
    CURRENCY_PATTERN,
    EMAIL_DOMAIN_PATTERN,
    MAX_ACCOUNT_ID_LENGTH,
    MAX_BALANCE_DIGITS,
    MAX_EMAIL_LENGTH,
    MAX_NAME_LENGTH,
    STATUSES,
)
from functions.contract.utc import TIMESTAMP_RE, fixed_width_column, none_indexes, rewrite_all
from functions.contract.values import Reject


def _block_pattern(one: str, flags: int = 0) -> re.Pattern[str]:
    """``one`` value, then any number of newline-separated others."""
    return re.compile(f"(?:{one})(?:\\n(?:{one}))*", flags)


def _spaced_pattern(one: str, flags: int = 0) -> re.Pattern[str]:
    """``one`` value, then any number of newline-separated others, each with spaces around it or not."""
    return re.compile(f" *(?:{one}) *(?:\\n *(?:{one}) *)*", flags)


_ACCOUNT_ID_BLOCK_RE = _block_pattern(f"[{ACCOUNT_ID_CHARS}]{{1,{MAX_ACCOUNT_ID_LENGTH}}}", re.ASCII)
_EMAIL_SPACED_RE = _spaced_pattern(f"[!-?A-~]++@{EMAIL_DOMAIN_PATTERN}", re.ASCII)
"""EMAIL_PATTERN for ASCII: ``[!-?A-~]`` (every printable ASCII character but space and ``@``) is ``[^\\s@]``
less the control characters the contract refuses, and a class is cheaper to match than a negated escape. A
non-ASCII address takes the per-value path."""
_CURRENCY_SPACED_RE = _spaced_pattern(CURRENCY_PATTERN, re.ASCII)
_STATUS_SPACED_RE = _spaced_pattern("|".join(STATUSES), re.ASCII | re.IGNORECASE)
"""Either case, ASCII only (``re.ASCII`` keeps IGNORECASE from folding ``K``, U+212A, into ``k``)."""
_DECIMAL_TEXTS_BLOCK_RE = _block_pattern(f"-?[0-9.]{{1,{MAX_BALANCE_DIGITS - 1}}}", re.ASCII)
"""``str(Decimal)`` in plain notation, sign included at most 38 characters (so at most 38 digits)."""
_PLAIN_DECIMALS_SPACED_RE = _spaced_pattern("-?[0-9]+(?:[.][0-9]+)?", re.ASCII)
_CANONICAL_DECIMALS_SPACED_RE = _spaced_pattern(
    "-?(?:[1-9][0-9]*+(?:[.][0-9]++)?|0[.]0{0,5}[1-9][0-9]*+)", re.ASCII
)
"""Plain decimals that ``str(Decimal(text))`` gives back unchanged: no leading zero, no ``+``, not zero (the
per-value path drops a zero's sign), and below 1 at most five zeros after the point (``str`` writes
``1E-7``, not ``0.0000001``)."""
_LARGEST_INTEGER = 10**MAX_BALANCE_DIGITS
"""Integers strictly between minus this and this have at most 38 digits."""


def _longest(values: list[str]) -> int:
    """The length of the longest value (measured: cheaper than ``max(map(len, values))``)."""
    return len(max(values, key=len))


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
    try:
        spaced = " ".join(values)
    except TypeError:  # a missing value, null, a number...
        return None
    if not spaced.isprintable():  # a tab or newline to collapse, a refused character: the per-value path
        return None
    # Printable: a space is the only whitespace left. A value with a run of spaces, a space at either end,
    # or none at all puts two spaces together in the column joined by one (or a space at its ends); without
    # those, the column is already collapsed and stands as is (no new string per value).
    if "  " in spaced or spaced[:1] == " " or spaced[-1:] == " ":
        names = [" ".join(value.split()) for value in values]
        if "" in names:
            return None
    elif not spaced:  # one empty value
        return None
    else:
        names = values
    return names if _longest(names) <= MAX_NAME_LENGTH else None


def _spaced(
    values: list[Any],
    pattern: re.Pattern[str],
    case: Callable[[str], str] | None = None,
    *,
    text: str | None = None,
) -> list[str] | None:
    """The values trimmed (and cased by ``case``), when every one is a str that ``pattern`` (a
    :func:`_spaced_pattern` of printable ASCII classes only: no control character, no other whitespace)
    admits, as received, with spaces around it; None otherwise. ASCII, so casing maps one character to one.
    Newlines separate the values (one inside a value makes one line too many), spaces only pad them.
    ``text``: the values already joined with newlines, when the caller has them."""
    if text is None:
        try:
            text = "\n".join(values)
        except TypeError:  # a missing value, null, a number...
            return None
    if pattern.fullmatch(text) is None:
        return None
    if " " in text:  # the patterns admit spaces only around a value, never inside: drop them all at once
        text = text.replace(" ", "")
    elif case is None:  # nothing to trim or case: the values stand as they are
        return values
    lines = (text if case is None else case(text)).split("\n")
    return lines if len(lines) == len(values) else None


def email_column(values: list[Any]) -> list[Any] | None:
    emails = _spaced(values, _EMAIL_SPACED_RE, str.lower)  # lower-cased only after the check
    if emails is None or _longest(emails) > MAX_EMAIL_LENGTH:
        return None
    return emails


def balance_column(values: list[Any]) -> list[Any] | None:
    # Decimals (what the parser gives for a fraction), integers, or strings, in plain notation of at most 38
    # characters: finite, at most 38 digits, well inside DynamoDB's range, so the per-value converter would
    # give each one the same Decimal. Zeros lose their sign there: left to it (``all``: a zero is falsy, and
    # truth is a C slot, where ``Decimal(0) in column`` would compare every value).
    kinds = set(map(type, values))
    if kinds == {Decimal}:
        if _DECIMAL_TEXTS_BLOCK_RE.fullmatch("\n".join(map(str, values))) is None or not all(values):
            return None
        return values
    if kinds == {str}:
        texts = _spaced(values, _PLAIN_DECIMALS_SPACED_RE)
        if texts is None or _longest(texts) > MAX_BALANCE_DIGITS:
            return None
        numbers = list(map(Decimal, texts))
        return numbers if all(numbers) else None
    if kinds == {int}:  # bool is a type of its own: never here
        if min(values) <= -_LARGEST_INTEGER or max(values) >= _LARGEST_INTEGER or not all(values):
            return None
        return list(map(Decimal, values))
    return None


def balance_text_column(values: list[Any]) -> list[Any] | None:
    """:func:`balance_column` for callers that only encode (the transformer): each balance as ``str()`` of the
    ``Decimal`` the per-value converter gives, which is how a ``Decimal`` is encoded (as a JSON string), or
    that ``Decimal``; None when unsure.

    Why: a string already written the way ``str(Decimal)`` writes it (``"120.50"``) is its own encoding, so
    building the ``Decimal`` only for the encoder to print it again is skipped; integers print as their
    ``Decimal`` does. Every check of :func:`balance_column` still runs."""
    texts = _spaced(values, _CANONICAL_DECIMALS_SPACED_RE)  # None unless every value is a str
    if texts is not None and _longest(texts) <= MAX_BALANCE_DIGITS:
        return texts
    kinds = set(map(type, values))
    if kinds == {Decimal}:
        texts = list(map(str, values))
        if _DECIMAL_TEXTS_BLOCK_RE.fullmatch("\n".join(texts)) is None or not all(values):
            return None
        return texts
    elif kinds == {int}:  # bool is a type of its own: never here
        if min(values) <= -_LARGEST_INTEGER or max(values) >= _LARGEST_INTEGER or not all(values):
            return None
        return list(map(str, values))
    return balance_column(values)


_CURRENCY_LINE = CURRENCY_LENGTH + 1
_STATUS_SET = frozenset(STATUSES)


def currency_column(values: list[Any]) -> list[Any] | None:
    # Unpadded (nearly every file): each value is 3 ASCII letters exactly when the column joined with
    # newlines has a newline at every 4th place and only ASCII letters elsewhere (a newline inside a value,
    # or a value of another length, puts a character out of place). Cheaper than the pattern.
    text = _joined(values)
    if text is None:
        return None
    if (
        len(text) == _CURRENCY_LINE * len(values) - 1
        and text[CURRENCY_LENGTH::_CURRENCY_LINE] == "\n" * (len(values) - 1)
        and text.isascii()
        and text.replace("\n", "").isalpha()
    ):
        return text.upper().split("\n")
    return _spaced(values, _CURRENCY_SPACED_RE, str.upper, text=text)  # padded: checked by the pattern


def status_column(values: list[Any]) -> list[Any] | None:
    # Unpadded: an ASCII column lower-cased maps one character to one, so each value lower-cased being a
    # status is the pattern's verdict (checked before case mapping: ASCII only). Cheaper than the pattern.
    text = _joined(values)
    if text is None:
        return None
    if text.isascii():
        statuses = text.lower().split("\n")
        if _STATUS_SET.issuperset(statuses):
            return statuses
    return _spaced(values, _STATUS_SPACED_RE, str.lower, text=text)  # padded: checked by the pattern


def updated_at_column(values: list[Any]) -> list[Any] | None:
    text = _joined(values)
    if text is None:
        return None
    timestamps = fixed_width_column(values, text)
    if timestamps is None:
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
