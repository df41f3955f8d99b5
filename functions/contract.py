"""The record contract (DESIGN.md section 3): the only place where field rules live.

One table, ``FIELDS``, drives both :func:`normalise` (used by the transformer and the writer) and
:func:`json_schema` (what ``pipeline-ctl schema`` prints), so the two cannot drift apart.

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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
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
_UTC_TIMESTAMP_RE = re.compile(
    r"(\d{4}-\d\d-\d\d)[Tt ](\d\d:\d\d:\d\d)(?:\.(\d{1,6})\d*)?(?:[Zz]|[+-]00:00)?", re.ASCII
)
"""Timestamps already in UTC (or naive): rewritten by slicing, no datetime arithmetic or formatting."""
_WHOLE_HOUR_OFFSET_RE = re.compile(
    r"(\d{4}-\d\d-\d\d)[Tt ](\d\d)(:\d\d:\d\d)(?:\.(\d{1,6})\d*)?([+-])(\d\d):00", re.ASCII
)
"""Offsets of whole hours (most of them): when the shift stays within the day, only the hour changes."""
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
        number = Decimal(text)
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
        sign, digits, exponent = number.as_tuple()
        if len(digits) > MAX_BALANCE_DIGITS:
            significant = len(digits)
            while digits[significant - 1] == 0:
                significant -= 1
            if significant > MAX_BALANCE_DIGITS:
                raise _Reject(
                    f"more than {MAX_BALANCE_DIGITS} significant digits ({significant}): {_show(value)}"
                )
            # Only trailing zeros beyond 38 digits: drop them (exact) so DynamoDB accepts the number.
            number = Decimal((sign, digits[:significant], int(exponent) + len(digits) - significant))
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
    if isinstance(value, datetime):
        moment = value
    else:
        text = (value if isinstance(value, str) else _require_str(value)).strip()
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise _Reject(f"not an ISO 8601 timestamp: {_show(value)}") from None
        utc = _UTC_TIMESTAMP_RE.fullmatch(text)
        if utc is not None:  # fromisoformat validated the values; only the shape needs rewriting
            date, time, fraction = utc.groups()
            return f"{date}T{time}.{(fraction or '').ljust(6, '0')}Z"
        shifted = _WHOLE_HOUR_OFFSET_RE.fullmatch(text)
        if shifted is not None:
            date, hour, rest, fraction, sign, offset = shifted.groups()
            utc_hour = int(hour) - int(offset) if sign == "+" else int(hour) + int(offset)
            if 0 <= utc_hour < 24:  # same UTC day: no date arithmetic needed
                return f"{date}T{utc_hour:02d}{rest}.{(fraction or '').ljust(6, '0')}Z"
    try:
        return format_timestamp(moment)
    except (OverflowError, ValueError):
        raise _Reject(f"outside the representable UTC range: {_show(value)}") from None


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
    default: Callable[[datetime | None], Any] | None = None
    """For optional fields: the value when absent or null, given the ingestion time (``now``)."""


_DECIMAL_PATTERN = r"^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$"

FIELDS: tuple[Field, ...] = (
    Field(
        name="account_id",
        camel="accountId",
        required=True,
        convert=_account_id,
        schema={"type": "string", "pattern": r"^[A-Za-z0-9_.\-]{1,64}$"},
        description="Account key; trimmed; 1-64 characters of A-Z a-z 0-9 _ - .",
    ),
    Field(
        name="name",
        camel="name",
        required=True,
        convert=_name,
        schema={"type": "string", "minLength": 1, "maxLength": MAX_NAME_LENGTH, "pattern": r"^\S+(?: \S+)*$"},
        description="Trimmed, inner whitespace collapsed to one space; 1-200 characters.",
    ),
    Field(
        name="email",
        camel="email",
        required=True,
        convert=_email,
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
        schema={"oneOf": [{"type": "number"}, {"type": "string", "pattern": _DECIMAL_PATTERN}]},
        description="Exact decimal (JSON number or string); finite, at most 38 significant digits.",
    ),
    Field(
        name="currency",
        camel="currency",
        required=True,
        convert=_currency,
        schema={"type": "string", "pattern": "^[A-Za-z]{3}$"},
        description="Trimmed, upper-cased; 3 letters (ISO 4217 shaped).",
    ),
    Field(
        name="status",
        camel="status",
        required=False,
        convert=_status,
        schema={"type": "string", "enum": list(STATUSES), "default": DEFAULT_STATUS},
        description="Lower-cased; one of active, suspended, closed. Default active.",
        default=lambda now: DEFAULT_STATUS,
    ),
    Field(
        name="updated_at",
        camel="updatedAt",
        required=False,
        convert=_updated_at,
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
