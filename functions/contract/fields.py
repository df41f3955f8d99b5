"""The contract as one table, :data:`FIELDS`: names, required or not, per-value and column converters,
default, schema fragment and description of each field. The normaliser, the block normaliser and the JSON
Schema are all generated from it, so they cannot drift apart."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from functions.contract import columns, values
from functions.contract.rules import (
    ACCOUNT_ID_CHARS,
    ACCOUNT_ID_CHARS_SHOWN,
    CURRENCY_PATTERN,
    DECIMAL_PATTERN,
    DEFAULT_MAX_FUTURE_SKEW_HOURS,
    DEFAULT_STATUS,
    EMAIL_SCHEMA_PATTERN,
    MAX_ACCOUNT_ID_LENGTH,
    MAX_BALANCE_DIGITS,
    MAX_EMAIL_LENGTH,
    MAX_FUTURE_SKEW_HOURS_VARIABLE,
    MAX_NAME_LENGTH,
    STATUSES,
)
from functions.timestamps import format_timestamp


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
    bounded: bool = False
    """The value may not lie beyond the future-skew bound (``updated_at``)."""
    text_column: Callable[[list[Any]], list[Any] | None] | None = None
    """``column`` for callers that only encode (``normalise_block(..., as_text=True)``): a value may be given
    as the text its JSON encoding carries (a balance as ``str(Decimal)``) rather than as the object."""

    def column_for(self, as_text: bool) -> Callable[[list[Any]], list[Any] | None]:
        """The column converter: ``text_column`` for callers that only encode (when the field has one),
        else ``column``."""
        return self.text_column if as_text and self.text_column is not None else self.column


def _row(
    name: str,
    convert: Callable[[Any], Any],
    column: Callable[[list[Any]], list[Any] | None],
    *,
    camel: str | None = None,
    required: bool = True,
    schema: Mapping[str, Any],
    description: str,
    default: Callable[[datetime | None], Any] | None = None,
    bounded: bool = False,
    text_column: Callable[[list[Any]], list[Any] | None] | None = None,
) -> Field:
    """A row of :data:`FIELDS`: the camelCase spelling is the name itself unless given, and a field is
    required unless it says otherwise, so each row states only what is its own."""
    return Field(
        name=name,
        camel=name if camel is None else camel,
        required=required,
        convert=convert,
        schema=schema,
        description=description,
        column=column,
        default=default,
        bounded=bounded,
        text_column=text_column,
    )


_DECIMAL_SCHEMA_PATTERN = rf"^\s*{DECIMAL_PATTERN}\s*$"
_VISIBLE = "no control or invisible format characters (Unicode Cc, bar whitespace; Cf)"
"""Said of every text field (functions.contract.values refuses them); a schema pattern cannot say it in the
dialect every validator shares."""

FIELDS: tuple[Field, ...] = (
    _row(
        "account_id",
        values.account_id,
        columns.account_id_column,
        camel="accountId",
        schema={"type": "string", "pattern": f"^[{ACCOUNT_ID_CHARS}]{{1,{MAX_ACCOUNT_ID_LENGTH}}}$"},
        description=f"Account key; trimmed; 1-{MAX_ACCOUNT_ID_LENGTH} characters of {ACCOUNT_ID_CHARS_SHOWN}",
    ),
    _row(
        "name",
        values.name,
        columns.name_column,
        schema={"type": "string", "minLength": 1, "maxLength": MAX_NAME_LENGTH, "pattern": r"^\S+(?: \S+)*$"},
        description=(
            f"Trimmed, inner whitespace collapsed to one space; 1-{MAX_NAME_LENGTH} characters; {_VISIBLE}."
        ),
    ),
    _row(
        "email",
        values.email,
        columns.email_column,
        schema={
            "type": "string",
            "format": "email",
            "maxLength": MAX_EMAIL_LENGTH,
            "pattern": EMAIL_SCHEMA_PATTERN,
        },
        description=(
            f"Trimmed, lower-cased; local@domain.tld as received (ASCII domain), at most {MAX_EMAIL_LENGTH} "
            f"characters; {_VISIBLE}."
        ),
    ),
    _row(
        "balance",
        values.balance,
        columns.balance_column,
        text_column=columns.balance_text_column,
        schema={"oneOf": [{"type": "number"}, {"type": "string", "pattern": _DECIMAL_SCHEMA_PATTERN}]},
        description=(
            f"Exact decimal (JSON number or string); finite, at most {MAX_BALANCE_DIGITS} significant digits."
        ),
    ),
    _row(
        "currency",
        values.currency,
        columns.currency_column,
        schema={"type": "string", "pattern": f"^{CURRENCY_PATTERN}$"},
        description="Trimmed, upper-cased; 3 ASCII letters as received (ISO 4217 shaped).",
    ),
    _row(
        "status",
        values.status,
        columns.status_column,
        required=False,
        schema={"type": "string", "enum": list(STATUSES), "default": DEFAULT_STATUS},
        description=f"Lower-cased; one of {', '.join(STATUSES)}. Default {DEFAULT_STATUS}.",
        default=lambda now: DEFAULT_STATUS,
    ),
    _row(
        "updated_at",
        values.updated_at,
        columns.updated_at_column,
        camel="updatedAt",
        required=False,
        schema={"type": "string", "format": "date-time"},
        description=(
            "ISO 8601 / RFC 3339 ('T' or 't', 'Z' or 'z' or an offset); converted to UTC "
            "YYYY-MM-DDTHH:MM:SS.ffffffZ, digits past microseconds cut; naive times are UTC; at most "
            f"{MAX_FUTURE_SKEW_HOURS_VARIABLE} (default {DEFAULT_MAX_FUTURE_SKEW_HOURS}) hours past the time "
            "the record entered the pipeline. Default: that time."
        ),
        default=lambda now: format_timestamp(now or datetime.now(UTC)),
        bounded=True,
    ),
)

_ALIASES: dict[str, str] = {}
for _field in FIELDS:
    _ALIASES[_field.name] = _field.name
    _ALIASES[_field.camel] = _field.name

FIELD_NAMES: tuple[str, ...] = tuple(field.name for field in FIELDS)
"""The normalised record's keys, in table order."""
