"""Normalising records: one at a time (the writer) or a block column by column (the transformer), with the
same results and reasons; both read the table in :mod:`functions.contract.fields`.

* Every failing field is reported (``balance: not a decimal: 'abc'; currency: not 3 letters: 'US'``), so one
  LogTable entry tells the whole story of a record.
* ``normalise`` is idempotent (its output is a valid input that normalises to itself): the writer re-checks
  records the transformer already normalised, and replays re-send stored bodies.
* ``updated_at`` may not lie further in the future than the allowed skew past the moment the record
  entered the pipeline (``MAX_FUTURE_SKEW_HOURS``): a far-future timestamp would win every later
  conditional write and freeze the account.
* No generated code: a per-record normaliser generated with ``exec`` measured no faster than the loop
  over the table it replaced (docs/benchmarks.md, "Generated code").
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import repeat
from operator import contains, is_
from typing import Any, NamedTuple

from functions.contract.fields import FIELD_NAMES, FIELDS, Field
from functions.contract.layouts import ABSENT
from functions.contract.rules import DEFAULT_MAX_FUTURE_SKEW_HOURS, MAX_FUTURE_SKEW_HOURS_VARIABLE
from functions.contract.values import Reject, describe, show
from functions.errors import FieldError, InvalidRecord
from functions.timestamps import format_timestamp

_LATEST_TIMESTAMP = "9999-12-31T23:59:59.999999Z"


class FutureBound(NamedTuple):
    """The latest ``updated_at`` allowed for records that entered the pipeline at ``entered``."""

    latest: str
    entered: str
    hours: float


def max_future_skew_hours() -> float:
    """``MAX_FUTURE_SKEW_HOURS`` from the environment (default 24). Raises ``ValueError`` naming the
    variable when it is not a non-negative number: a typo must not silently allow any future."""
    text = os.environ.get(MAX_FUTURE_SKEW_HOURS_VARIABLE, "").strip()
    if not text:
        return DEFAULT_MAX_FUTURE_SKEW_HOURS
    try:
        hours = float(text)
    except ValueError:
        hours = -1.0
    if not hours >= 0:
        raise ValueError(f"{MAX_FUTURE_SKEW_HOURS_VARIABLE} must be a number of hours >= 0, got {text!r}")
    return hours


def future_bound(entered: datetime) -> FutureBound:
    """The bound for records that entered at ``entered``, under the current ``MAX_FUTURE_SKEW_HOURS``."""
    return _future_bound(entered, os.environ.get(MAX_FUTURE_SKEW_HOURS_VARIABLE))


@lru_cache(maxsize=64)
def _future_bound(entered: datetime, setting: str | None) -> FutureBound:
    """Cached: the writer normalises record after record with the same entry time and setting."""
    hours = max_future_skew_hours()
    try:
        latest = format_timestamp(entered + timedelta(hours=hours))
    except OverflowError:
        latest = _LATEST_TIMESTAMP
    return FutureBound(latest, format_timestamp(entered), hours)


def _too_late(errors: list[FieldError] | None, name: str, value: str, bound: FutureBound) -> list[FieldError]:
    errors = errors or []
    reason = (
        f"{value} is more than {bound.hours:g} hours after the record entered the pipeline "
        f"({bound.entered}; {MAX_FUTURE_SKEW_HOURS_VARIABLE})"
    )
    errors.append(FieldError(name, reason))
    return errors


def _check_bound(
    field: Field, column: list[Any], errors: list[list[FieldError] | None], bound: FutureBound
) -> None:
    try:
        latest = max(column, default="")  # a column without None (nearly every one): no copy of it
    except TypeError:  # None beside a str
        latest = None
    if latest is None:  # ... or a column of one None
        latest = max((value for value in column if value is not None), default="")
    if latest <= bound.latest:
        return
    for index, value in enumerate(column):
        if value is not None and value > bound.latest:
            errors[index] = _too_late(errors[index], field.name, value, bound)


_ALIASES: dict[str, str] = {}
for _field in FIELDS:
    _ALIASES[_field.name] = _field.name
    _ALIASES[_field.camel] = _field.name
_KNOWN_KEYS = frozenset(_ALIASES)
_MISSING: Any = ABSENT
"""A field the record does not give: the ``dict.get`` default here, and what a decoded layout holds."""
_CONFLICT: Any = object()


class Normalised(NamedTuple):
    """A normalised record and how many unknown keys were dropped from it (counted, never an error)."""

    record: dict[str, Any]
    dropped: int


def unknown_keys(raw: Mapping[str, Any]) -> list[str]:
    """The keys of ``raw`` the contract does not know (and :func:`normalise` drops), for logs."""
    return [key for key in raw if key not in _ALIASES]


def _not_an_object(raw: Any) -> InvalidRecord:
    return InvalidRecord([FieldError("record", f"expected a JSON object, got {describe(raw)}")])


def _conflict(
    errors: list[FieldError] | None, name: str, camel: str, value: Any, other: Any
) -> list[FieldError]:
    errors = errors or []
    shown = f"{name}={show(value)}, {camel}={show(other)}"
    errors.append(FieldError(name, f"given twice with different values: {shown}"))
    return errors


def _absent(errors: list[FieldError] | None, name: str, value: Any) -> list[FieldError]:
    errors = errors or []
    errors.append(FieldError(name, "required" if value is _MISSING else "required, got null"))
    return errors


def _rejected(errors: list[FieldError] | None, name: str, reject: Reject) -> list[FieldError]:
    errors = errors or []
    errors.append(FieldError(name, str(reject)))
    return errors


_ROWS = tuple(
    (field.name, field.camel if field.camel != field.name else None, field, field.convert, field.bounded)
    for field in FIELDS
)
"""The table as plain tuples, unpacked once per field in the loop below."""


def normalise_with_stats(raw: Any, *, now: datetime | None = None) -> Normalised:
    """Normalise one input record (see :func:`normalise`) and count the unknown keys it dropped.

    A loop over the table. It used to be generated as straight-line code per field (``exec``); measured
    against this loop it was no faster (docs/benchmarks.md, "Generated code"), so the package generates none.
    """
    if raw.__class__ is not dict and not isinstance(raw, Mapping):
        raise _not_an_object(raw)
    entered = now or datetime.now(UTC)
    bound = future_bound(entered)
    get = raw.get
    errors: list[FieldError] | None = None
    record: dict[str, Any] = {}
    for name, camel, field, convert, bounded in _ROWS:
        value = get(name, _MISSING)
        if camel is not None:
            other = get(camel, _MISSING)
            if other is not _MISSING:
                if value is _MISSING:
                    value = other
                elif value != other:
                    errors = _conflict(errors, name, camel, value, other)
                    continue
        if value is _MISSING or value is None:
            if field.default is None:
                errors = _absent(errors, name, value)
            else:
                record[name] = field.default(entered)
            continue
        try:
            converted = convert(value)
        except Reject as reject:
            errors = _rejected(errors, name, reject)
            continue
        if bounded and converted > bound.latest:
            errors = _too_late(errors, name, converted, bound)
        record[name] = converted
    if errors:
        raise InvalidRecord(errors)
    return Normalised(record, len(raw.keys() - _KNOWN_KEYS))


def normalise(raw: Mapping[str, Any], *, now: datetime | None = None) -> dict[str, Any]:
    """The normalised record (docs/design.md, "The record contract"), keys in snake_case, ``balance`` a
    ``Decimal``.

    ``now`` is when the record entered the pipeline (the message's ``entered_at``; default: the current
    UTC time): the default ``updated_at``, and the base of the future-skew bound.
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
    default = None if field.default is None else field.default(now)  # the same for every record of a block
    converted: list[Any] = []
    for index, value in enumerate(values):
        if value is _MISSING or value is None:
            if field.default is None:
                errors[index] = _absent(errors[index], name, value)
                converted.append(None)
            else:
                converted.append(default)
        elif value is _CONFLICT:
            converted.append(None)
        else:
            try:
                converted.append(convert(value))
            except Reject as reject:
                errors[index] = _rejected(errors[index], name, reject)
                converted.append(None)
    return converted


def _left_out(values: list[Any]) -> bool:
    """Whether no record gives the field: every value absent, or every value null."""
    first = values[0]
    return (first is _MISSING or first is None) and all(map(is_, values, repeat(first, len(values))))


def _defaulted(
    field: Field, values: list[Any], now: datetime, column: Callable[[list[Any]], list[Any] | None]
) -> list[Any] | None:
    """An optional field's column, absent or null in some records: the default (the same for every record
    of a block) where it is absent or null, the others through the column converter; None when the
    converter declines them (the per-value path decides).

    Why: records that leave optional fields out (``status``, ``updated_at``: the README tour's records)
    would otherwise send the whole column value by value."""
    if field.default is None:
        return None
    count = len(values)
    missing = {index for index, value in enumerate(values) if value is _MISSING or value is None}
    if not missing:
        return None
    given = [index for index in range(count) if index not in missing]
    converted = column([values[index] for index in given])
    if converted is None:
        return None
    filled = [field.default(now)] * count
    for index, value in zip(given, converted, strict=True):
        filled[index] = value
    return filled


def _declined(
    field: Field,
    values: list[Any],
    errors: list[list[FieldError] | None],
    now: datetime,
    column: Callable[[list[Any]], list[Any] | None],
) -> tuple[list[Any], bool]:
    """A column its converter (``column``) declined: an optional field's default throughout when no record
    gives it, else its defaults filled in around the converted rest (:func:`_defaulted`), else value by
    value. And whether no record gives the field."""
    if field.default is not None:
        if _left_out(values):
            return [field.default(now)] * len(values), True
        defaulted = _defaulted(field, values, now, column)
        if defaulted is not None:
            return defaulted, False
    return _convert_each(field, values, errors, now), False


class NormalisedBlock(NamedTuple):
    """A block of records normalised column by column (:func:`normalise_block`)."""

    columns: list[list[Any]]
    """One list per field (``FIELD_NAMES`` order), a value per record; ``None`` in an invalid record's row."""
    invalid: list[InvalidRecord | None]
    """Per record: why it failed the contract, or None when it is valid."""
    dropped: int
    """Unknown keys the valid records dropped, in all."""
    left_out: frozenset[str] = frozenset()
    """Optional fields no record of the block gives (absent or null): their columns hold the default.

    A caller that only passes the records on to another normaliser with the same ``now`` may leave these
    fields out: it gives them the same defaults (the transformer's messages, which the writer normalises
    with the message's entry time, are smaller for it)."""

    def records(self) -> list[dict[str, Any] | InvalidRecord]:
        """Per record: the normalised record, or its :class:`InvalidRecord`."""
        records: list[dict[str, Any] | InvalidRecord] = [
            dict(zip(FIELD_NAMES, row, strict=True)) for row in zip(*self.columns, strict=True)
        ]
        if any(self.invalid):
            records = [
                record if invalid is None else invalid
                for record, invalid in zip(records, self.invalid, strict=True)
            ]
        return records


def _gather(raws: Sequence[dict[str, Any]]) -> list[list[Any]]:
    """The block's columns (``FIELDS`` order), each record's value its snake_case one, else its camelCase one,
    else None; all in C. Exact when every record gives every field exactly once, not null, and nothing else:
    see :func:`_exact`."""
    count = len(raws)
    gathered = []
    for field in FIELDS:
        name, camel = field.name, field.camel
        if camel == name:
            values = list(map(dict.get, raws, repeat(name, count)))
        else:
            others = map(dict.get, raws, repeat(camel, count))
            values = list(map(dict.get, raws, repeat(name, count), others))
        gathered.append(values)
    return gathered


def _exact(gathered: list[list[Any]]) -> bool:
    """Whether :func:`_gather`'s columns are exact, for a block whose records hold ``len(FIELDS)`` keys each
    on average.

    Why that is enough: a column without a None means each record holds at least one spelling of every field
    (``dict.get`` gives None for an absent key), so at least ``len(FIELDS)`` keys; with that many on average,
    each record holds exactly one spelling of each field and no unknown key. So no conflict to look for, no
    default, no dropped key. Every column converter declines a None, so only a column it declined needs this
    check (:func:`normalise_block`).
    """
    return not any(any(map(is_, values, repeat(None, len(values)))) for values in gathered)


def _invalid(columns: list[list[Any]], errors: list[list[FieldError] | None]) -> list[InvalidRecord | None]:
    """Per record, its InvalidRecord or None; an invalid record's row in ``columns`` is set to None throughout
    (it held partial values)."""
    if not any(errors):
        return [None] * len(errors)
    for column in columns:
        for index, reasons in enumerate(errors):
            if reasons is not None:
                column[index] = None
    return [None if reasons is None else InvalidRecord(reasons) for reasons in errors]


def _convert_columns(
    gathered: list[list[Any]],
    now: datetime,
    bound: FutureBound,
    as_text: bool,
    check: Callable[[list[list[Any]]], bool] | None = None,
) -> NormalisedBlock | None:
    """Exact columns (each record gives each field at most once, in one spelling, and nothing else; an
    optional field absent is ``_MISSING``) converted by the column converters, a column they decline value
    by value. ``check`` (when given) must hold before the first value-by-value conversion, else None."""
    errors: list[list[FieldError] | None] = [None] * len(gathered[0])
    columns = []
    left_out: set[str] = set()
    for field, values in zip(FIELDS, gathered, strict=True):
        column = field.column_for(as_text)
        converted = column(values)
        if converted is None:
            if check is not None:
                if not check(gathered):
                    return None
                check = None
            converted, given_by_none = _declined(field, values, errors, now, column)
            if given_by_none:  # the default throughout: the entry time is never beyond its own bound
                left_out.add(field.name)
                columns.append(converted)
                continue
        if field.bounded:
            _check_bound(field, converted, errors, bound)
        columns.append(converted)
    return NormalisedBlock(columns, _invalid(columns, errors), 0, frozenset(left_out))


def normalise_columns(
    gathered: list[list[Any]], *, now: datetime | None = None, as_text: bool = False
) -> NormalisedBlock:
    """:func:`normalise_block` for records a reader already decoded into columns
    (:mod:`functions.contract.layouts`): one list per field in ``FIELDS`` order, each record giving every
    field at most once in one spelling and nothing else, :data:`~functions.contract.layouts.ABSENT` where
    an optional field is absent. Same values and reasons as :func:`normalise_block` on the records."""
    now = now or datetime.now(UTC)
    if not gathered[0]:
        return NormalisedBlock([[] for _ in FIELDS], [], 0)
    result = _convert_columns(gathered, now, future_bound(now), as_text)
    assert result is not None  # no check: never declined
    return result


def normalise_block(
    raws: Sequence[Any], *, now: datetime | None = None, as_text: bool = False
) -> NormalisedBlock:
    """Normalise a block of records column by column; every value is what :func:`normalise` gives.

    Why columns: the transformer normalises every record of large files, and per record the bookkeeping
    (lookups, calls, error handling) costs more than the checks. Here each field is gathered into a column
    and checked by its ``Field.column`` converter in a few C-level calls for the whole block; a column it
    declines goes through ``Field.convert`` value by value, with the same defaults and reasons. The
    transformer encodes the columns as they are (``functions.messages.encode_columns``), without a dict per
    record.

    ``as_text`` is for callers that only encode the values: a column may then hold a value as the text its
    JSON encoding carries (a balance as ``str(Decimal)``, ``Field.text_column``), which encodes to the same
    bytes and skips building an object only to print it again.
    """
    count = len(raws)
    now = now or datetime.now(UTC)
    bound = future_bound(now)
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
    if sum(map(len, raws)) == len(FIELDS) * count:
        gathered = _gather(raws)
        exact = _convert_columns(gathered, now, bound, as_text, check=_exact)
        if exact is not None:
            return exact
    columns = []
    left_out: set[str] = set()
    known = 0  # known keys present, over the block
    for field in FIELDS:
        name, camel = field.name, field.camel
        # map(dict.get, ...) reads a column without a Python frame per record (every raw is a dict here).
        values = list(map(dict.get, raws, repeat(name, count)))
        # `is` (not `in`, which compares with ==: a Decimal compared with None runs ABC instance checks).
        absent = any(map(is_, values, repeat(None, count)))
        camel_given = camel != name and any(map(contains, raws, repeat(camel, count)))
        if absent and camel_given:
            # Some records spell it one way, some the other: each record's value is its snake_case one, else
            # its camelCase one (dict.get's default), all in C; exact when each record has exactly one.
            others = list(map(dict.get, raws, repeat(camel, count)))
            merged = list(map(dict.get, raws, repeat(name, count), others))
            given = sum(map(contains, raws, repeat(name, count)))
            given += sum(map(contains, raws, repeat(camel, count)))
            if given == count and not any(map(is_, merged, repeat(None, count))):
                values, absent, camel_given = merged, False, False
        if not absent and not camel_given:
            # The common case: every record gives the field exactly once, not null.
            known += count
            converter = field.column_for(as_text)
            column = converter(values)
            if column is None:
                column, _ = _declined(field, values, errors, now, converter)
            if field.bounded:
                _check_bound(field, column, errors, bound)
            columns.append(column)
            continue
        # Presence is counted with `in` (list.count would compare every value with ==: slow for Decimals).
        given = sum(map(contains, raws, repeat(name, count)))
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
        converter = field.column_for(as_text)
        column, given_by_none = converter(values), False
        if column is None:
            column, given_by_none = _declined(field, values, errors, now, converter)
        if given_by_none:
            left_out.add(field.name)
        elif field.bounded:
            _check_bound(field, column, errors, bound)
        columns.append(column)
    invalid = _invalid(columns, errors)
    if sum(map(len, raws)) == known:  # no record has a key the contract does not know
        return NormalisedBlock(columns, invalid, 0, frozenset(left_out))
    dropped = sum(
        len(raw.keys() - _KNOWN_KEYS) for raw, error in zip(raws, errors, strict=True) if error is None
    )
    return NormalisedBlock(columns, invalid, dropped, frozenset(left_out))


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
