"""Field converters: one value in, the normalised value out, or :class:`Reject` with the reason.

These are the contract's rules; the column converters (:mod:`functions.contract.columns`) are shortcuts that
must give the same results, and fall back to these whenever they are unsure.

Why each is written the way it is:

* Balances are exact :class:`~decimal.Decimal` values. JSON is parsed with ``parse_float=Decimal`` upstream,
  and a Python ``float`` that still reaches here is converted through its shortest ``repr`` (``0.1`` →
  ``'0.1'``), never ``Decimal(float)`` (``0.1000000000000000055…``). DynamoDB stores up to 38 significant
  digits, so more is a rejection rather than a silent rounding.
* Text is checked *before* any case mapping: ``str.upper`` and ``str.lower`` fold some non-ASCII characters
  into ASCII (``ſ`` → ``S``, ``ﬀ`` → ``FF``, the Kelvin sign → ``k``), so a value checked after them could be
  stored as something its sender never wrote.
* Every text value is refused when it holds a control character (Unicode Cc, bar the ASCII whitespace the
  contract trims or collapses), an invisible format character (Cf: bidi overrides, zero-width characters,
  U+FEFF) or a lone surrogate: they would reach an operator's terminal or make a value look like another.
  ``str.isprintable`` (one C-level scan) clears nearly every value; only a value it flags is looked at
  character by character.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from functions.contract.rules import (
    ACCOUNT_ID_CHARS,
    ACCOUNT_ID_CHARS_SHOWN,
    ALLOWED_CONTROLS,
    CURRENCY_PATTERN,
    DECIMAL_PATTERN,
    EMAIL_PATTERN,
    MAX_ACCOUNT_ID_LENGTH,
    MAX_BALANCE_ADJUSTED_EXPONENT,
    MAX_BALANCE_DIGITS,
    MAX_EMAIL_LENGTH,
    MAX_NAME_LENGTH,
    MIN_BALANCE_ADJUSTED_EXPONENT,
    STATUSES,
)
from functions.contract.utc import fast_utc
from functions.timestamps import format_timestamp

_ACCOUNT_ID_RE = re.compile(f"[{ACCOUNT_ID_CHARS}]+", re.ASCII)
_EMAIL_RE = re.compile(EMAIL_PATTERN)
_CURRENCY_RE = re.compile(CURRENCY_PATTERN, re.ASCII)
_DECIMAL_RE = re.compile(DECIMAL_PATTERN, re.ASCII)
_STATUS_SET = frozenset(STATUSES)
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})
_MAX_SHOWN = 60
"""Values quoted in a reason are cut to this many characters: reasons travel in 256 KiB messages."""


class Reject(Exception):
    """Raised by a field converter; becomes one :class:`~functions.errors.FieldError`. Never escapes the
    package."""


def show(value: Any) -> str:
    text = repr(value) if not isinstance(value, Decimal) else str(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def describe(value: Any) -> str:
    """``number 5`` / ``array`` / ``object``: the JSON type, plus the value when it is short and scalar."""
    kind = _json_type(value)
    if kind in ("array", "object", "null"):
        return kind
    return f"{kind} {show(value)}"


def refused_character(text: str) -> str | None:
    """The first character of ``text`` no text field may hold (a control character other than ASCII
    whitespace, a format character, a lone surrogate), or None. Callers skip it when ``text.isprintable()``,
    which no such character passes."""
    refused = [
        character
        for character in set(text)
        if not character.isprintable()
        and character not in ALLOWED_CONTROLS
        and unicodedata.category(character) in _REFUSED_CATEGORIES
    ]
    return min(refused, key=text.index) if refused else None


def _require_visible(text: str) -> None:
    """Reject ``text`` when it holds a refused character, naming it.

    A lone surrogate (JSON ``"\\ud800"`` decodes to one) is no character: DynamoDB and SQS refuse it, and
    boto3 would store ``?`` in its place. Control characters (ESC, C1 controls such as U+009B) can rewrite an
    operator's terminal; format characters (U+202E, U+200B, U+FEFF) make one value look like another."""
    character = refused_character(text)
    if character is None:
        return
    code = ord(character)
    category = unicodedata.category(character)
    if category == "Cs":
        raise Reject(f"holds a lone UTF-16 surrogate (\\u{code:04x}), which is not a character")
    kind = "a control character" if category == "Cc" else "an invisible format character"
    label = unicodedata.name(character, "")
    raise Reject(f"holds {kind} (U+{code:04X}{' ' + label if label else ''})")


def _require_text(value: Any) -> str:
    """``value`` when it is a str holding no refused character."""
    if value.__class__ is not str and not isinstance(value, str):
        raise Reject(f"expected a string, got {describe(value)}")
    if not value.isprintable():
        _require_visible(value)
    return value


def _within(
    text: str, limit: int, pattern: re.Pattern[str] | None = None, complaint: str = "", shown: Any = None
) -> str:
    """``text`` when it has at most ``limit`` characters and, given a ``pattern``, matches it whole. The
    length comes first, so an oversized value costs a length read rather than a regex run; ``shown`` is what
    the reason quotes (the value as received, when the text is already normalised)."""
    if len(text) > limit:
        raise Reject(f"longer than {limit} characters ({len(text)})")
    if pattern is not None and pattern.fullmatch(text) is None:
        raise Reject(f"{complaint}: {show(text if shown is None else shown)}")
    return text


_ACCOUNT_ID_COMPLAINT = f"characters outside {ACCOUNT_ID_CHARS_SHOWN}"


def account_id(value: Any) -> str:
    text = _require_text(value).strip()
    if not text:
        raise Reject("empty")
    return _within(text, MAX_ACCOUNT_ID_LENGTH, _ACCOUNT_ID_RE, _ACCOUNT_ID_COMPLAINT)


def name(value: Any) -> str:
    text = " ".join(_require_text(value).split())
    if not text:
        raise Reject("empty")
    return _within(text, MAX_NAME_LENGTH)


_EMAIL_COMPLAINT = "not an email address (local@domain.tld)"


def email(value: Any) -> str:
    """Shape checked on the value as received, then lower-cased; the length limit holds for both (lower-casing
    can lengthen a value: ``İ`` becomes two characters)."""
    text = _within(_require_text(value).strip(), MAX_EMAIL_LENGTH, _EMAIL_RE, _EMAIL_COMPLAINT, shown=value)
    lowered = text.lower()
    return lowered if text.isascii() else _within(lowered, MAX_EMAIL_LENGTH)


def balance(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, str):
        text = _require_text(value).strip()
        # Decimal() alone would also take 'NaN', 'Infinity' and '1_000': only plain decimal notation passes.
        if _DECIMAL_RE.fullmatch(text) is None:
            raise Reject(f"not a decimal: {show(value)}")
        try:
            number = Decimal(text)
        except InvalidOperation:  # an exponent beyond what Decimal can hold at all (|e| > 10**18)
            raise Reject(f"outside DynamoDB's number range (1E-130 to 1E+126): {show(value)}") from None
    elif isinstance(value, bool):
        raise Reject(f"not a decimal: {describe(value)}")
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        # repr gives the shortest string that round-trips: 0.1 -> '0.1', never 0.1000000000000000055...
        number = Decimal(repr(value))
    else:
        raise Reject(f"not a decimal: {describe(value)}")
    if not number.is_finite():
        raise Reject(f"not a finite decimal: {show(value)}")
    if number.is_zero():
        # -0 and 0 are the same balance; keep a sensible scale ('0.00') but drop the sign. A zero with an
        # exponent outside DynamoDB's range ('0e999999999') is stored as 0: boto3 could not read it back.
        exponent = int(number.as_tuple().exponent)
        in_range = MIN_BALANCE_ADJUSTED_EXPONENT <= exponent <= MAX_BALANCE_ADJUSTED_EXPONENT
        return number.copy_abs() if in_range else Decimal(0)
    # Every coefficient digit appears in str(number), so a short string means few digits: the common case
    # skips as_tuple(), which costs more than all the other checks together.
    if len(str(number)) > MAX_BALANCE_DIGITS:
        sign, digits, digits_exponent = number.as_tuple()
        if len(digits) > MAX_BALANCE_DIGITS:
            significant = len(digits)
            while digits[significant - 1] == 0:
                significant -= 1
            if significant > MAX_BALANCE_DIGITS:
                raise Reject(
                    f"more than {MAX_BALANCE_DIGITS} significant digits ({significant}): {show(value)}"
                )
            # Only trailing zeros beyond 38 digits: drop them (exact) so DynamoDB accepts the number.
            number = Decimal((sign, digits[:significant], int(digits_exponent) + len(digits) - significant))
    if not MIN_BALANCE_ADJUSTED_EXPONENT <= number.adjusted() <= MAX_BALANCE_ADJUSTED_EXPONENT:
        raise Reject(f"outside DynamoDB's number range (1E-130 to 1E+126): {show(value)}")
    return number


def currency(value: Any) -> str:
    text = _require_text(value).strip()
    if _CURRENCY_RE.fullmatch(text) is None:  # before upper-casing: 'uſd' is not 'USD'
        raise Reject(f"not 3 letters: {show(value)}")
    return text.upper()


def status(value: Any) -> str:
    text = _require_text(value).strip()
    lowered = text.lower() if text.isascii() else ""  # before lower-casing: only ASCII can be a status
    if lowered not in _STATUS_SET:
        raise Reject(f"not one of {', '.join(STATUSES)}: {show(value)}")
    return lowered


def updated_at(value: Any) -> str:
    """ISO 8601 / RFC 3339 (``T`` or ``t`` or a space; ``Z`` or ``z`` or an offset; naive read as UTC) to the
    pipeline's fixed-width UTC. Fractions beyond microseconds are cut, not rounded (``.123456789`` →
    ``.123456``): the stored format has six digits, and DynamoDB compares the strings."""
    if value.__class__ is str:
        fast = fast_utc(value)
        if fast is not None:
            return fast
    if isinstance(value, datetime):
        moment = value
    else:
        text = _require_text(value).strip()
        if text[-1:] == "z":  # RFC 3339 allows a lower-case 'z' (and 't'); fromisoformat takes only 'Z'
            text = text[:-1] + "Z"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise Reject(f"not an ISO 8601 timestamp: {show(value)}") from None
    try:
        return format_timestamp(moment)
    except (OverflowError, ValueError):
        raise Reject(f"outside the representable UTC range: {show(value)}") from None
