"""The record contract (DESIGN.md section 3): the only place where field rules live.

One table, ``FIELDS``, drives :func:`normalise` (the writer, one record at a time), :func:`normalise_block` /
:func:`normalise_many` (the transformer, 512 records at a time, column by column, with the same results) and
:func:`json_schema` (what ``pipeline-ctl schema`` prints), so they cannot drift apart.

Why it is written the way it is:

* Balances are exact :class:`~decimal.Decimal` values. JSON is parsed with ``parse_float=Decimal`` upstream,
  and a Python ``float`` that still reaches here is converted through its shortest ``repr`` (``0.1`` →
  ``'0.1'``), never ``Decimal(float)`` (``0.1000000000000000055…``). boto3 refuses floats anyway; DynamoDB
  stores up to 38 significant digits, so more is a rejection rather than a silent rounding.
* Every failing field is reported (``balance: not a decimal: 'abc'; currency: not 3 letters: 'US'``), so one
  LogTable entry tells the whole story of a record.
* The transformer runs this on every record of large files: regexes are compiled once, the table is walked
  with plain function calls and no per-record objects beyond the output ``dict``.
* ``normalise`` is idempotent (its output is a valid input that normalises to itself): the writer re-checks
  records the transformer already normalised, and replays re-send stored bodies.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from itertools import pairwise, repeat
from operator import contains, is_
from typing import Any, NamedTuple

from functions.errors import FieldError, InvalidRecord
from functions.timestamps import format_timestamp

MAX_ACCOUNT_ID_LENGTH = 64
MAX_NAME_LENGTH = 200
MAX_EMAIL_LENGTH = 254
MAX_BALANCE_DIGITS = 38
"""DynamoDB numbers carry up to 38 significant digits."""
MIN_BALANCE_ADJUSTED_EXPONENT = -130
MAX_BALANCE_ADJUSTED_EXPONENT = 125
"""DynamoDB's number range (1E-130 to 9.99…E+125): outside it PutItem fails, so the contract rejects first."""
STATUSES = ("active", "suspended", "closed")
DEFAULT_STATUS = "active"

_ACCOUNT_ID_RE = re.compile(r"[A-Za-z0-9_.\-]+", re.ASCII)
# Possessive quantifiers (Python 3.11+): the same language, without backtracking through domain labels.
_EMAIL_RE = re.compile(
    r"[^\s@]++@(?:[a-z0-9](?:[a-z0-9\-]*+(?<=[a-z0-9]))?\.)++(?:[a-z]{2,63}|xn--[a-z0-9\-]{1,59})"
)
_EMAIL_SCHEMA_PATTERN = (
    r"^[^\s@]+@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.)+(?:[A-Za-z]{2,63}|xn--[a-z0-9\-]{1,59})$"
)
_CURRENCY_RE = re.compile(r"[A-Z]{3}", re.ASCII)
_DECIMAL_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_TIMESTAMP_RE = re.compile(
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
_STATUS_SET = frozenset(STATUSES)
_MAX_SHOWN = 60
"""Values quoted in a reason are cut to this many characters: reasons travel in 256 KiB messages."""


class _Reject(Exception):
    """Raised by a field converter; becomes one :class:`FieldError`. Internal: never escapes this module."""


def _show(value: Any) -> str:
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


def _describe(value: Any) -> str:
    """``number 5`` / ``array`` / ``object``: the JSON type, plus the value when it is short and scalar."""
    kind = _json_type(value)
    if kind in ("array", "object", "null"):
        return kind
    return f"{kind} {_show(value)}"


def _require_str(value: Any) -> str:
    if not isinstance(value, str):
        raise _Reject(f"expected a string, got {_describe(value)}")
    return value


# --- field converters: value in, normalised value out, or _Reject(reason) ------------------------------


def _account_id(value: Any) -> str:
    text = (value if isinstance(value, str) else _require_str(value)).strip()
    if not text:
        raise _Reject("empty")
    if len(text) > MAX_ACCOUNT_ID_LENGTH:
        raise _Reject(f"longer than {MAX_ACCOUNT_ID_LENGTH} characters ({len(text)})")
    if _ACCOUNT_ID_RE.fullmatch(text) is None:
        raise _Reject(f"characters outside A-Z a-z 0-9 _ - .: {_show(text)}")
    return text


def _name(value: Any) -> str:
    text = " ".join((value if isinstance(value, str) else _require_str(value)).split())
    if not text:
        raise _Reject("empty")
    if len(text) > MAX_NAME_LENGTH:
        raise _Reject(f"longer than {MAX_NAME_LENGTH} characters ({len(text)})")
    return text


def _email(value: Any) -> str:
    text = (value if isinstance(value, str) else _require_str(value)).strip().lower()
    if len(text) > MAX_EMAIL_LENGTH:
        raise _Reject(f"longer than {MAX_EMAIL_LENGTH} characters ({len(text)})")
    if _EMAIL_RE.fullmatch(text) is None:
        raise _Reject(f"not an email address (local@domain.tld): {_show(value)}")
    return text


def _balance(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        # Decimal() alone would also take 'NaN', 'Infinity' and '1_000': only plain decimal notation passes.
        if _DECIMAL_RE.fullmatch(text) is None:
            raise _Reject(f"not a decimal: {_show(value)}")
        try:
            number = Decimal(text)
        except InvalidOperation:  # an exponent beyond what Decimal can hold at all (|e| > 10**18)
            raise _Reject(f"outside DynamoDB's number range (1E-130 to 1E+126): {_show(value)}") from None
    elif isinstance(value, bool):
        raise _Reject(f"not a decimal: {_describe(value)}")
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        # repr gives the shortest string that round-trips: 0.1 -> '0.1', never 0.1000000000000000055...
        number = Decimal(repr(value))
    else:
        raise _Reject(f"not a decimal: {_describe(value)}")
    if not number.is_finite():
        raise _Reject(f"not a finite decimal: {_show(value)}")
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
                raise _Reject(
                    f"more than {MAX_BALANCE_DIGITS} significant digits ({significant}): {_show(value)}"
                )
            # Only trailing zeros beyond 38 digits: drop them (exact) so DynamoDB accepts the number.
            number = Decimal((sign, digits[:significant], int(digits_exponent) + len(digits) - significant))
    if not MIN_BALANCE_ADJUSTED_EXPONENT <= number.adjusted() <= MAX_BALANCE_ADJUSTED_EXPONENT:
        raise _Reject(f"outside DynamoDB's number range (1E-130 to 1E+126): {_show(value)}")
    return number


def _currency(value: Any) -> str:
    text = (value if isinstance(value, str) else _require_str(value)).strip().upper()
    if _CURRENCY_RE.fullmatch(text) is None:
        raise _Reject(f"not 3 letters: {_show(value)}")
    return text


def _status(value: Any) -> str:
    text = (value if isinstance(value, str) else _require_str(value)).strip().lower()
    if text not in _STATUS_SET:
        raise _Reject(f"not one of {', '.join(STATUSES)}: {_show(value)}")
    return text


def _updated_at(value: Any) -> str:
    if value.__class__ is str:
        fast = _fast_utc(value)
        if fast is not None:
            return fast
    if isinstance(value, datetime):
        moment = value
    else:
        text = (value if isinstance(value, str) else _require_str(value)).strip()
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise _Reject(f"not an ISO 8601 timestamp: {_show(value)}") from None
    try:
        return format_timestamp(moment)
    except (OverflowError, ValueError):
        raise _Reject(f"outside the representable UTC range: {_show(value)}") from None


def _fast_utc(text: str) -> str | None:
    """The common shapes (``…T12:00:00Z``, ``…+02:00``, naive) rewritten from tables, without parsing; None
    for anything else (the general path decides)."""
    fast = _TIMESTAMP_RE.fullmatch(text)
    if fast is None:
        return None
    date, hour, rest, fraction, zone = fast.groups()
    shift = _UTC_SHIFT.get((hour, zone or ""))
    if shift is None or date[:4] == "0000":
        return None
    month_day = _SHIFTED_MONTH_DAY.get((date[5:], shift[1]))
    if month_day is None:
        return None
    return (
        f"{date[:5]}{month_day}T{shift[0]}{rest}.{'000000' if fraction is None else fraction.ljust(6, '0')}Z"
    )


# --- column converters: a whole column of values in, the converted column out, or None ---------------------
#
# Used by normalise_many (the transformer's path): one C-level call over the column joined with newlines does
# what the per-value converter does to each value. Each returns None whenever a value needs the per-value
# path (not a str, a newline inside, anything the fast shape does not cover, anything rejected); the caller
# then runs the per-value converter on that column, so results and reasons are always the per-value ones.
# Why this is exact: each value is joined with "\n", which none of these patterns admits inside a value, and
# the split must give back as many values as went in.

_ACCOUNT_ID_BLOCK_RE = re.compile(r"[A-Za-z0-9_.\-]{1,64}(?:\n[A-Za-z0-9_.\-]{1,64})*", re.ASCII)
_EMAIL_BLOCK_RE = re.compile(rf"{_EMAIL_RE.pattern}(?:\n{_EMAIL_RE.pattern})*")
_CURRENCY_BLOCK_RE = re.compile(r"[A-Z]{3}(?:\n[A-Z]{3})*", re.ASCII)
_STATUS_ALTERNATIVES = "|".join(STATUSES)
_STATUS_BLOCK_RE = re.compile(rf"(?:{_STATUS_ALTERNATIVES})(?:\n(?:{_STATUS_ALTERNATIVES}))*")
_PLAIN_DECIMALS_BLOCK_RE = re.compile(r"-?[0-9.]+(?:\n-?[0-9.]+)*", re.ASCII)
_ZERO = Decimal(0)


def _joined(values: list[Any]) -> str | None:
    """The column as one newline-separated str, or None when a value is not a str or holds a newline."""
    try:
        text = "\n".join(values)
    except TypeError:  # a missing value, null, a number...
        return None
    return text if text.count("\n") == len(values) - 1 else None


def _account_id_column(values: list[Any]) -> list[Any] | None:
    text = _joined(values)
    # Nothing to trim (the class has no whitespace), 1-64 allowed characters each: the values stand as is.
    return values if text is not None and _ACCOUNT_ID_BLOCK_RE.fullmatch(text) is not None else None


def _name_column(values: list[Any]) -> list[Any] | None:
    # Measured: a comprehension beats any whole-column rewrite here (split and join are C calls already).
    if set(map(type, values)) != {str}:
        return None
    names = [" ".join(value.split()) for value in values]
    if "" in names or max(map(len, names)) > MAX_NAME_LENGTH:
        return None
    return names


def _email_column(values: list[Any]) -> list[Any] | None:
    text = _joined(values)
    if text is None:
        return None
    text = text.lower()
    if _EMAIL_BLOCK_RE.fullmatch(text) is None:  # also when a value has whitespace to trim
        return None
    emails = text.split("\n")
    if len(emails) != len(values) or max(map(len, emails)) > MAX_EMAIL_LENGTH:
        return None
    return emails


def _balance_column(values: list[Any]) -> list[Any] | None:
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


def _currency_column(values: list[Any]) -> list[Any] | None:
    text = _joined(values)
    if text is None:
        return None
    text = text.upper()
    if _CURRENCY_BLOCK_RE.fullmatch(text) is None:
        return None
    currencies = text.split("\n")
    return currencies if len(currencies) == len(values) else None


def _status_column(values: list[Any]) -> list[Any] | None:
    text = _joined(values)
    if text is None:
        return None
    text = text.lower()
    if _STATUS_BLOCK_RE.fullmatch(text) is None:
        return None
    statuses = text.split("\n")
    return statuses if len(statuses) == len(values) else None


def _updated_at_column(values: list[Any]) -> list[Any] | None:
    text = _joined(values)
    if text is None:
        return None
    matches = _TIMESTAMP_RE.findall(text)
    if len(matches) != len(values):  # one match per line at most: every line has the fast shape
        return None
    shifts, month_days = _UTC_SHIFT, _SHIFTED_MONTH_DAY
    timestamps = []
    for index, (date, hour, rest, fraction, zone) in enumerate(matches):
        shift = shifts.get((hour, zone))
        if shift is not None and date[:4] != "0000":
            month_day = month_days.get((date[5:], shift[1]))
            if month_day is not None:
                timestamps.append(f"{date[:5]}{month_day}T{shift[0]}{rest}.{fraction.ljust(6, '0')}Z")
                continue
        try:  # a new year, 29 February, an hour or offset out of range: the per-value path decides
            timestamps.append(_updated_at(values[index]))
        except _Reject:  # out of range near year 1 or 9999: the per-value path reports it
            return None
    return timestamps


# --- the table -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Field:
    """One row of the contract: names, required or not, how it normalises, how the schema shows it."""

    name: str
    camel: str
    required: bool
    convert: Callable[[Any], Any]
    schema: Mapping[str, Any]
    description: str
    column: Callable[[list[Any]], list[Any] | None]
    """The same conversion over a whole column (:func:`normalise_many`); None sends it to ``convert``."""
    default: Callable[[datetime | None], Any] | None = None
    """For optional fields: the value when absent or null, given the ingestion time (``now``)."""


_DECIMAL_PATTERN = r"^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$"

FIELDS: tuple[Field, ...] = (
    Field(
        name="account_id",
        camel="accountId",
        required=True,
        convert=_account_id,
        column=_account_id_column,
        schema={"type": "string", "pattern": r"^[A-Za-z0-9_.\-]{1,64}$"},
        description="Account key; trimmed; 1-64 characters of A-Z a-z 0-9 _ - .",
    ),
    Field(
        name="name",
        camel="name",
        required=True,
        convert=_name,
        column=_name_column,
        schema={"type": "string", "minLength": 1, "maxLength": MAX_NAME_LENGTH, "pattern": r"^\S+(?: \S+)*$"},
        description="Trimmed, inner whitespace collapsed to one space; 1-200 characters.",
    ),
    Field(
        name="email",
        camel="email",
        required=True,
        convert=_email,
        column=_email_column,
        schema={
            "type": "string",
            "format": "email",
            "maxLength": MAX_EMAIL_LENGTH,
            "pattern": _EMAIL_SCHEMA_PATTERN,
        },
        description="Trimmed, lower-cased; local@domain.tld, at most 254 characters.",
    ),
    Field(
        name="balance",
        camel="balance",
        required=True,
        convert=_balance,
        column=_balance_column,
        schema={"oneOf": [{"type": "number"}, {"type": "string", "pattern": _DECIMAL_PATTERN}]},
        description="Exact decimal (JSON number or string); finite, at most 38 significant digits.",
    ),
    Field(
        name="currency",
        camel="currency",
        required=True,
        convert=_currency,
        column=_currency_column,
        schema={"type": "string", "pattern": "^[A-Za-z]{3}$"},
        description="Trimmed, upper-cased; 3 letters (ISO 4217 shaped).",
    ),
    Field(
        name="status",
        camel="status",
        required=False,
        convert=_status,
        column=_status_column,
        schema={"type": "string", "enum": list(STATUSES), "default": DEFAULT_STATUS},
        description="Lower-cased; one of active, suspended, closed. Default active.",
        default=lambda now: DEFAULT_STATUS,
    ),
    Field(
        name="updated_at",
        camel="updatedAt",
        required=False,
        convert=_updated_at,
        column=_updated_at_column,
        schema={"type": "string", "format": "date-time"},
        description="ISO 8601; converted to UTC; naive times are UTC. Default: the ingestion time.",
        default=lambda now: format_timestamp(now or datetime.now(UTC)),
    ),
)

_ALIASES: dict[str, str] = {}
for _field in FIELDS:
    _ALIASES[_field.name] = _field.name
    _ALIASES[_field.camel] = _field.name
_KNOWN_KEYS = frozenset(_ALIASES)
_MISSING: Any = object()
_CONFLICT: Any = object()


class Normalised(NamedTuple):
    """A normalised record and how many unknown keys were dropped from it (counted, never an error)."""

    record: dict[str, Any]
    dropped: int


def unknown_keys(raw: Mapping[str, Any]) -> list[str]:
    """The keys of ``raw`` the contract does not know (and :func:`normalise` drops), for logs."""
    return [key for key in raw if key not in _ALIASES]


def _not_an_object(raw: Any) -> InvalidRecord:
    return InvalidRecord([FieldError("record", f"expected a JSON object, got {_describe(raw)}")])


def _conflict(
    errors: list[FieldError] | None, name: str, camel: str, value: Any, other: Any
) -> list[FieldError]:
    errors = errors or []
    shown = f"{name}={_show(value)}, {camel}={_show(other)}"
    errors.append(FieldError(name, f"given twice with different values: {shown}"))
    return errors


def _absent(errors: list[FieldError] | None, name: str, value: Any) -> list[FieldError]:
    errors = errors or []
    errors.append(FieldError(name, "required" if value is _MISSING else "required, got null"))
    return errors


def _rejected(errors: list[FieldError] | None, name: str, reject: _Reject) -> list[FieldError]:
    errors = errors or []
    errors.append(FieldError(name, str(reject)))
    return errors


def _generate_normaliser(fields: tuple[Field, ...]) -> tuple[str, Callable[..., Normalised]]:
    """Build ``normalise_with_stats`` from the table as straight-line code, one block per field.

    Why generate code (as :mod:`dataclasses` does) instead of looping over the table: the transformer runs
    this on every record of large files, and a loop over seven rows with tuple unpacking and per-row
    bookkeeping cost about as much as the field checks themselves. The generated source is kept in
    ``NORMALISER_SOURCE`` for reading and debugging; the table stays the only place the rules live.
    """
    namespace: dict[str, Any] = {
        "Mapping": Mapping,
        "Normalised": Normalised,
        "InvalidRecord": InvalidRecord,
        "_Reject": _Reject,
        "M": _MISSING,
        "CONFLICT": _CONFLICT,
        "KNOWN": _KNOWN_KEYS,
        "_not_an_object": _not_an_object,
        "_conflict": _conflict,
        "_absent": _absent,
        "_rejected": _rejected,
    }
    lines = [
        "def normalise_with_stats(raw, *, now=None):",
        "    if raw.__class__ is not dict and not isinstance(raw, Mapping):",
        "        raise _not_an_object(raw)",
        "    get = raw.get",
        "    errors = None",
    ]
    for index, field in enumerate(fields):
        namespace[f"convert{index}"] = field.convert
        namespace[f"default{index}"] = field.default
        out, name, camel = f"f{index}", repr(field.name), repr(field.camel)
        lines.append(f"    v = get({name}, M)")
        if field.camel != field.name:
            lines += [
                f"    o = get({camel}, M)",
                "    if o is not M:",
                "        if v is M:",
                "            v = o",
                "        elif v != o:",
                f"            errors = _conflict(errors, {name}, {camel}, v, o)",
                "            v = CONFLICT",
            ]
        lines.append("    if v is M or v is None:")
        if field.required:
            lines += [f"        errors = _absent(errors, {name}, v)", f"        {out} = None"]
        else:
            lines.append(f"        {out} = default{index}(now)")
        lines += [
            "    elif v is CONFLICT:",
            f"        {out} = None",
            "    else:",
            "        try:",
            f"            {out} = convert{index}(v)",
            "        except _Reject as reject:",
            f"            errors = _rejected(errors, {name}, reject)",
        ]
    record = ", ".join(f"{field.name!r}: f{index}" for index, field in enumerate(fields))
    lines += [
        "    if errors:",
        "        raise InvalidRecord(errors)",
        f"    return Normalised({{{record}}}, len(raw.keys() - KNOWN))",
    ]
    source = "\n".join(lines) + "\n"
    exec(compile(source, "<functions.contract normaliser>", "exec"), namespace)
    return source, namespace["normalise_with_stats"]


NORMALISER_SOURCE, normalise_with_stats = _generate_normaliser(FIELDS)
normalise_with_stats.__doc__ = """normalise_with_stats(raw, *, now=None) -> Normalised

Normalise one input record (see :func:`normalise`) and count the unknown keys it dropped."""


def normalise(raw: Mapping[str, Any], *, now: datetime | None = None) -> dict[str, Any]:
    """The normalised record (DESIGN.md section 3), keys in snake_case, ``balance`` a ``Decimal``.

    ``now`` is the ingestion time used when ``updated_at`` is absent (default: the current UTC time).
    Raises :class:`functions.errors.InvalidRecord` naming every failing field and why.
    """
    return normalise_with_stats(raw, now=now).record


def _merge_spellings(
    field: Field, values: list[Any], others: list[Any], given: int, errors: list[list[FieldError] | None]
) -> list[Any]:
    """One column from the snake_case and camelCase columns (``given`` values in both together), with the
    per-record rules for a field given twice."""
    merged = [value if other is _MISSING else other for value, other in zip(values, others, strict=True)]
    if given == len(values) and not any(map(is_, merged, repeat(_MISSING))):
        return merged  # every record spells the field exactly one way
    merged = []
    for index, (value, other) in enumerate(zip(values, others, strict=True)):
        if other is not _MISSING:
            if value is _MISSING:
                value = other
            elif value != other:
                errors[index] = _conflict(errors[index], field.name, field.camel, value, other)
                value = _CONFLICT
        merged.append(value)
    return merged


def _convert_each(
    field: Field, values: list[Any], errors: list[list[FieldError] | None], now: datetime | None
) -> list[Any]:
    """The column value by value, exactly as the per-record normaliser does it (defaults, reasons)."""
    convert, name = field.convert, field.name
    converted: list[Any] = []
    for index, value in enumerate(values):
        if value is _MISSING or value is None:
            if field.default is None:
                errors[index] = _absent(errors[index], name, value)
                converted.append(None)
            else:
                converted.append(field.default(now))
        elif value is _CONFLICT:
            converted.append(None)
        else:
            try:
                converted.append(convert(value))
            except _Reject as reject:
                errors[index] = _rejected(errors[index], name, reject)
                converted.append(None)
    return converted


def _generate_assembler(fields: tuple[Field, ...]) -> Callable[[list[list[Any]]], list[dict[str, Any]]]:
    """``[{"account_id": c0, ...} for c0, ... in zip(*columns)]`` from the table: a dict display per record
    is the cheapest way to build them (``dict(zip(names, row))`` costs twice as much)."""
    names = ", ".join(f"c{index}" for index in range(len(fields)))
    record = ", ".join(f"{field.name!r}: c{index}" for index, field in enumerate(fields))
    source = f"def assemble(columns):\n    return [{{{record}}} for {names} in zip(*columns)]\n"
    namespace: dict[str, Any] = {}
    exec(compile(source, "<functions.contract assembler>", "exec"), namespace)
    return namespace["assemble"]


_assemble = _generate_assembler(FIELDS)


FIELD_NAMES: tuple[str, ...] = tuple(field.name for field in FIELDS)
"""The normalised record's keys, in table order: the order of :class:`NormalisedBlock` columns."""


class NormalisedBlock(NamedTuple):
    """A block of records normalised column by column (:func:`normalise_block`)."""

    columns: list[list[Any]]
    """One list per field (``FIELD_NAMES`` order), a value per record; ``None`` in an invalid record's row."""
    invalid: list[InvalidRecord | None]
    """Per record: why it failed the contract, or None when it is valid."""
    dropped: int
    """Unknown keys the valid records dropped, in all."""

    def records(self) -> list[dict[str, Any] | InvalidRecord]:
        """Per record: the normalised record, or its :class:`InvalidRecord`."""
        records: list[dict[str, Any] | InvalidRecord] = list(_assemble(self.columns))
        if any(self.invalid):
            records = [
                record if invalid is None else invalid
                for record, invalid in zip(records, self.invalid, strict=True)
            ]
        return records


def normalise_block(raws: Sequence[Any], *, now: datetime | None = None) -> NormalisedBlock:
    """Normalise a block of records column by column; every value is what :func:`normalise` gives.

    Why columns: the transformer normalises every record of large files, and per record the bookkeeping
    (lookups, calls, error handling) costs more than the checks. Here each field is gathered into a column
    and checked by its ``Field.column`` converter in a few C-level calls for the whole block; a column it
    declines goes through ``Field.convert`` value by value, with the same defaults and reasons. The
    transformer encodes the columns as they are (``functions.messages.encode_columns``), without a dict per
    record.
    """
    count = len(raws)
    if set(map(type, raws)) != {dict}:  # not objects, other mappings, or an empty block: one at a time
        rows: list[dict[str, Any] | None] = []
        invalid: list[InvalidRecord | None] = []
        dropped = 0
        for raw in raws:
            try:
                record, unknown = normalise_with_stats(raw, now=now)
            except InvalidRecord as error:
                rows.append(None)
                invalid.append(error)
            else:
                rows.append(record)
                invalid.append(None)
                dropped += unknown
        columns = [[None if row is None else row[name] for row in rows] for name in FIELD_NAMES]
        return NormalisedBlock(columns, invalid, dropped)
    errors: list[list[FieldError] | None] = [None] * count
    columns = []
    known = 0  # known keys present, over the block
    for field in FIELDS:
        # Presence is counted with `in` (list.count would compare every value with ==: slow for Decimals).
        name, camel = field.name, field.camel
        given = sum(map(contains, raws, repeat(name, count)))
        # map(dict.get, ...) reads a column without a Python frame per record (every raw is a dict here).
        values = list(map(dict.get, raws, repeat(name, count), repeat(_MISSING, count)))
        known += given
        if camel != name:
            given_camel = sum(map(contains, raws, repeat(camel, count)))
            if given_camel:
                known += given_camel
                others = list(map(dict.get, raws, repeat(camel, count), repeat(_MISSING, count)))
                values = (
                    _merge_spellings(field, values, others, given + given_camel, errors) if given else others
                )
        converted = field.column(values)
        columns.append(_convert_each(field, values, errors, now) if converted is None else converted)
    if not any(errors):
        invalid = [None] * count
    else:
        invalid = [None if reasons is None else InvalidRecord(reasons) for reasons in errors]
        for column in columns:  # an invalid record's row holds partial values: None throughout instead
            for index, reasons in enumerate(errors):
                if reasons is not None:
                    column[index] = None
    if sum(map(len, raws)) == known:  # no record has a key the contract does not know
        return NormalisedBlock(columns, invalid, 0)
    dropped = sum(
        len(raw.keys() - _KNOWN_KEYS) for raw, error in zip(raws, errors, strict=True) if error is None
    )
    return NormalisedBlock(columns, invalid, dropped)


def normalise_many_with_stats(
    raws: Sequence[Any], *, now: datetime | None = None
) -> tuple[list[dict[str, Any] | InvalidRecord], int]:
    """:func:`normalise_many`, and how many unknown keys the valid records dropped in all."""
    block = normalise_block(raws, now=now)
    return block.records(), block.dropped


def normalise_many(
    raws: Sequence[Any], *, now: datetime | None = None
) -> list[dict[str, Any] | InvalidRecord]:
    """Normalise a block of records at once: for each, what :func:`normalise` returns, or the
    :class:`~functions.errors.InvalidRecord` it raises (returned, not raised), in order."""
    return normalise_many_with_stats(raws, now=now)[0]


def json_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of an input record, generated from ``FIELDS``.

    The schema is deliberately the *canonical* shape: every record it admits, the contract accepts. The
    contract is more lenient than the schema says in ways a schema cannot express cheaply (surrounding
    whitespace, inner whitespace runs, case of email, currency and status).
    """
    properties: dict[str, Any] = {}
    all_of: list[dict[str, Any]] = []
    required: list[str] = []
    for field in FIELDS:
        spellings = [field.name] if field.camel == field.name else [field.name, field.camel]
        for spelling in spellings:
            properties[spelling] = {**field.schema, "description": field.description}
        if field.required:
            if len(spellings) == 1:
                required.append(field.name)
            else:
                all_of.append({"anyOf": [{"required": [spelling]} for spelling in spellings]})
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://serverless-pipeline/schemas/account-record.json",
        "title": "Account record",
        "description": (
            "One account record as accepted by POST /writer and in uploaded files. Keys in snake_case or "
            "camelCase; unknown keys are dropped (counted, never an error)."
        ),
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": True,
    }
    if all_of:
        schema["allOf"] = all_of
    return schema
