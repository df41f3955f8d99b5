"""The record contract (functions.contract): an example per rule, and the properties that always hold."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import jsonschema
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from functions.contract import (
    FIELD_NAMES,
    FIELDS,
    NormalisedBlock,
    format_timestamp,
    json_schema,
    normalise,
    normalise_block,
    normalise_columns,
    normalise_many,
    normalise_many_with_stats,
    normalise_with_stats,
)
from functions.contract.layouts import LAYOUTS, columns_of
from functions.errors import InvalidRecord
from functions.messages.codec import decode_json, encode_columns, encode_json, encode_rows
from tests.support.functions import record

NOW = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
END_OF_TIME = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


def reasons(raw: Any) -> dict[str, str]:
    with pytest.raises(InvalidRecord) as caught:
        normalise(raw, now=NOW)
    return {error.field: error.reason for error in caught.value.errors}


# --- normalisation, field by field ---------------------------------------------------------------------


def test_valid_record_is_normalised_field_by_field() -> None:
    # GIVEN a messy but valid record in camelCase with an unknown key
    raw = {
        "accountId": "  acct_1.A-b ",
        "name": "  Ada \t  King\nLovelace ",
        "email": " Ada@Example.COM ",
        "balance": "-0012.50",
        "currency": " gbp ",
        "status": " Suspended",
        "updatedAt": "2026-01-01T01:30:00+01:30",
        "favouriteColour": "blue",
    }
    # WHEN it is normalised
    result = normalise_with_stats(raw, now=NOW)
    # THEN every field has its canonical form and the unknown key is dropped and counted
    assert result.record == {
        "account_id": "acct_1.A-b",
        "name": "Ada King Lovelace",
        "email": "ada@example.com",
        "balance": Decimal("-12.50"),
        "currency": "GBP",
        "status": "suspended",
        "updated_at": "2026-01-01T00:00:00.000000Z",
    }
    assert result.dropped == 1


def test_defaults_status_active_and_updated_at_ingestion_time() -> None:
    normalised = normalise(record(status=None, updated_at=None), now=NOW)
    assert normalised["status"] == "active"
    assert normalised["updated_at"] == "2026-03-01T12:00:00.123456Z"


def test_null_optional_fields_take_their_defaults() -> None:
    normalised = normalise(
        record(status=None, updated_at=None) | {"status": None, "updatedAt": None}, now=NOW
    )
    assert (normalised["status"], normalised["updated_at"]) == ("active", "2026-03-01T12:00:00.123456Z")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(0.1, Decimal("0.1"), id="json-float-0.1-is-exact"),
        pytest.param(Decimal("0.1"), Decimal("0.1"), id="decimal"),
        pytest.param("0.1", Decimal("0.1"), id="string"),
        pytest.param(" 1e3 ", Decimal("1E+3"), id="exponent-string"),
        pytest.param(42, Decimal(42), id="integer"),
        pytest.param("-0", Decimal("0"), id="negative-zero"),
        pytest.param(Decimal("-0.00"), Decimal("0.00"), id="negative-zero-scale-kept"),
        pytest.param("0e999999999", Decimal("0"), id="zero-with-an-exponent-dynamodb-cannot-hold"),
        pytest.param("1" + "0" * 45, Decimal("1E+45"), id="trailing-zeros-beyond-38-digits"),
        pytest.param("9" * 38, Decimal("9" * 38), id="38-digits"),
    ],
)
def test_balance_is_an_exact_decimal(value: Any, expected: Decimal) -> None:
    balance = normalise(record(balance=value), now=NOW)["balance"]
    assert isinstance(balance, Decimal)
    assert balance == expected
    assert str(balance) == str(expected)
    assert not balance.is_signed() or balance < 0


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param("abc", "not a decimal: 'abc'", id="letters"),
        pytest.param("NaN", "not a decimal: 'NaN'", id="nan-string"),
        pytest.param("Infinity", "not a decimal: 'Infinity'", id="infinity-string"),
        pytest.param("1_000", "not a decimal: '1_000'", id="underscores"),
        pytest.param(float("nan"), "not a finite decimal: nan", id="nan-float"),
        pytest.param(float("inf"), "not a finite decimal: inf", id="inf-float"),
        pytest.param(True, "not a decimal: boolean True", id="boolean"),
        pytest.param([1], "not a decimal: array", id="array"),
        pytest.param("1" * 39, "more than 38 significant digits (39): '" + "1" * 39 + "'", id="39-digits"),
        pytest.param("1e200", "outside DynamoDB's number range (1E-130 to 1E+126): '1e200'", id="too-big"),
        pytest.param(
            "1e99999999999999999999",
            "outside DynamoDB's number range (1E-130 to 1E+126): '1e99999999999999999999'",
            id="exponent-beyond-decimal",
        ),
        pytest.param(
            "-1e-99999999999999999999",
            "outside DynamoDB's number range (1E-130 to 1E+126): '-1e-99999999999999999999'",
            id="negative-exponent-beyond-decimal",
        ),
    ],
)
def test_balance_rejections_name_the_reason(value: Any, reason: str) -> None:
    assert reasons(record(balance=value)) == {"balance": reason}


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("account_id", "  ", "empty"),
        ("account_id", "a" * 65, "longer than 64 characters (65)"),
        ("account_id", "acct 1", "characters outside A-Z a-z 0-9 _ - .: 'acct 1'"),
        ("account_id", "acct/1", "characters outside A-Z a-z 0-9 _ - .: 'acct/1'"),
        ("account_id", 123, "expected a string, got number 123"),
        ("name", " \t ", "empty"),
        ("name", "x" * 201, "longer than 200 characters (201)"),
        ("name", None, "required, got null"),
        ("email", "ada.example.com", "not an email address (local@domain.tld): 'ada.example.com'"),
        ("email", "ada@localhost", "not an email address (local@domain.tld): 'ada@localhost'"),
        ("email", "a b@example.com", "not an email address (local@domain.tld): 'a b@example.com'"),
        ("email", "a@" + "b" * 250 + ".com", "longer than 254 characters (256)"),
        ("email", {"at": "x"}, "expected a string, got object"),
        ("currency", "US", "not 3 letters: 'US'"),
        ("currency", "US1", "not 3 letters: 'US1'"),
        ("currency", "€UR", "not 3 letters: '€UR'"),
        ("status", "deleted", "not one of active, suspended, closed: 'deleted'"),
        ("status", 1, "expected a string, got number 1"),
        ("updated_at", "yesterday", "not an ISO 8601 timestamp: 'yesterday'"),
        ("updated_at", "2026-02-30T00:00:00Z", "not an ISO 8601 timestamp: '2026-02-30T00:00:00Z'"),
        ("updated_at", 1767225600, "expected a string, got number 1767225600"),
        (
            "updated_at",
            "0001-01-01T00:00:00+01:00",
            "outside the representable UTC range: '0001-01-01T00:00:00+01:00'",
        ),
    ],
)
def test_each_rule_rejects_with_field_and_reason(field: str, value: Any, reason: str) -> None:
    assert reasons(record() | {field: value}) == {field: reason}


def test_every_failing_field_is_reported_in_table_order() -> None:
    # GIVEN a record failing four rules and missing one field
    raw = {"accountId": "", "name": "Ada", "balance": "abc", "currency": "US", "status": "x"}
    # WHEN it is normalised THEN the error names every failure, in the contract's field order
    with pytest.raises(InvalidRecord) as caught:
        normalise(raw, now=NOW)
    assert str(caught.value) == (
        "account_id: empty; email: required; balance: not a decimal: 'abc'; currency: not 3 letters: 'US'; "
        "status: not one of active, suspended, closed: 'x'"
    )
    assert caught.value.fields == ["account_id", "email", "balance", "currency", "status"]


def test_both_spellings_with_the_same_value_are_accepted() -> None:
    normalised = normalise(record() | {"accountId": "acct-1", "updatedAt": "2026-01-01T00:00:00Z"}, now=NOW)
    assert normalised["account_id"] == "acct-1"


def test_both_spellings_with_different_values_are_rejected_naming_the_field() -> None:
    assert reasons(record() | {"accountId": "acct-2"}) == {
        "account_id": "given twice with different values: account_id='acct-1', accountId='acct-2'"
    }


@pytest.mark.parametrize(
    ("raw", "kind"), [([], "array"), ("x", "string 'x'"), (None, "null"), (5, "number 5")]
)
def test_a_record_that_is_not_an_object_is_rejected(raw: Any, kind: str) -> None:
    assert reasons(raw) == {"record": f"expected a JSON object, got {kind}"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-01-01T00:00:00Z", "2026-01-01T00:00:00.000000Z"),
        ("2026-01-01T00:00:00", "2026-01-01T00:00:00.000000Z"),  # naive = UTC
        ("2026-01-01 00:00:00.5", "2026-01-01T00:00:00.500000Z"),
        ("2026-01-01T00:30:00+02:00", "2025-12-31T22:30:00.000000Z"),  # crosses the day: datetime arithmetic
        ("2026-01-01T12:30:00.25+02:00", "2026-01-01T10:30:00.250000Z"),  # same day: only the hour moves
        ("2026-01-01T20:30:00-03:00", "2026-01-01T23:30:00.000000Z"),
        ("2026-01-01T12:30:00+05:30", "2026-01-01T07:00:00.000000Z"),  # not a whole hour
        ("2025-12-31T20:00:00.1234567-05:00", "2026-01-01T01:00:00.123456Z"),
        ("2026-01-01", "2026-01-01T00:00:00.000000Z"),
        ("0999-01-01T00:00:00Z", "0999-01-01T00:00:00.000000Z"),  # zero padded: sorts as it should
        (datetime(2026, 1, 1, 3, tzinfo=UTC), "2026-01-01T03:00:00.000000Z"),
    ],
)
def test_updated_at_becomes_fixed_width_utc(value: Any, expected: str) -> None:
    assert normalise(record(updated_at=value), now=NOW)["updated_at"] == expected


# --- schema ----------------------------------------------------------------------------------------------


def test_json_schema_is_valid_2020_12_and_derived_from_the_table() -> None:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    for field in FIELDS:
        assert field.name in schema["properties"]
        assert field.camel in schema["properties"]
    assert schema["required"] == ["name", "email", "balance", "currency"]
    assert {"anyOf": [{"required": ["account_id"]}, {"required": ["accountId"]}]} in schema["allOf"]


def test_json_schema_rejects_what_the_contract_rejects_on_simple_cases() -> None:
    validator = jsonschema.Draft202012Validator(json_schema())
    assert validator.is_valid(record())
    for bad in (record(currency="US"), record(status="deleted"), record(account_id="a b"), record(name=None)):
        assert not validator.is_valid(bad)


# --- properties --------------------------------------------------------------------------------------------

_letters = st.characters(
    min_codepoint=33, max_codepoint=0x2FFF, blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc", "Cf")
)
_valid_records = st.fixed_dictionaries(
    {
        "account_id": st.from_regex(r"\A[A-Za-z0-9_.\-]{1,64}\Z"),
        "name": st.lists(st.text(_letters, min_size=1, max_size=12), min_size=1, max_size=8).map(" ".join),
        "email": st.from_regex(r"\A[a-zA-Z0-9._%+\-]{1,20}@[a-z0-9]{1,10}\.[a-z]{2,6}\Z"),
        "balance": st.one_of(
            st.decimals(
                allow_nan=False, allow_infinity=False, places=2, min_value=-(10**12), max_value=10**12
            ),
            st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15).map(
                lambda f: round(f, 6)
            ),
            st.integers(min_value=-(10**30), max_value=10**30),
            st.decimals(
                allow_nan=False, allow_infinity=False, places=4, min_value=-(10**6), max_value=10**6
            ).map(str),
        ),
        "currency": st.from_regex(r"\A[A-Za-z]{3}\Z"),
    },
    optional={
        "status": st.sampled_from(["active", "Suspended", "CLOSED"]),
        "updatedAt": st.datetimes(
            min_value=datetime(1970, 1, 2),
            max_value=datetime(2026, 3, 1),  # not after NOW: later ones are beyond the future-skew bound
            timezones=st.sampled_from([UTC, None]),
        ).map(lambda d: d.isoformat()),
        "extra": st.integers(),
    },
)


@settings(max_examples=60, deadline=None)
@given(_valid_records)
def test_normalising_twice_equals_normalising_once(raw: dict[str, Any]) -> None:
    once = normalise(raw, now=NOW)
    assert normalise(once, now=NOW) == once


@settings(max_examples=60, deadline=None)
@given(_valid_records)
def test_a_valid_record_survives_a_json_round_trip_unchanged(raw: dict[str, Any]) -> None:
    normalised = normalise(raw, now=NOW)
    travelled = decode_json(encode_json(normalised))
    assert normalise(travelled, now=NOW) == normalised
    assert decode_json(json.dumps(travelled)) == travelled


@settings(max_examples=60, deadline=None)
@given(_valid_records)
def test_schema_admits_every_generated_valid_record(raw: dict[str, Any]) -> None:
    normalised = normalise(raw, now=NOW)
    as_json = decode_json(encode_json(normalised))
    assert jsonschema.Draft202012Validator(json_schema()).is_valid(json.loads(json.dumps(as_json)))


# --- normalise_many: the block (columnar) path gives exactly what normalise gives, record by record ------

_whitespace = st.sampled_from([" ", "  ", "\t", "\n", "\u00a0", "\u2028", "\x1f", "\u3000"])
_wild_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
_zones = st.sampled_from(["", "Z", "z", "+00:00", "-00:00", "+02:00", "-05:00", "+23:00", "+24:00", "+05:30"])
_timestamps = st.builds(
    lambda year, month, day, sep, hour, minute, second, fraction, zone: (
        f"{year:04d}-{month:02d}-{day:02d}{sep}{hour:02d}:{minute:02d}:{second:02d}{fraction}{zone}"
    ),
    st.sampled_from([0, 1, 2024, 2025, 9999]),
    st.integers(1, 13),
    st.integers(1, 32),
    st.sampled_from(["T", "t", " ", "_"]),
    st.integers(0, 24),
    st.integers(0, 60),
    st.integers(0, 60),
    st.sampled_from(["", ".1", ".123456", ".1234567"]),
    _zones,
)


def _clean_or_wild(clean: st.SearchStrategy[Any], *wild: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly values the block path takes whole, sometimes anything, so both paths and their mix run."""
    return st.one_of(clean, clean, clean, *wild, st.none(), _wild_text, st.integers(-5, 5))


def _padded(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(lambda a, v, b: a + v + b, st.just("") | _whitespace, values, st.just("") | _whitespace)


_FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "account_id": _clean_or_wild(st.from_regex(r"\A[A-Za-z0-9_.\-]{1,65}\Z"), _padded(st.just("a b"))),
    "name": _clean_or_wild(
        st.lists(st.text(_letters, min_size=1, max_size=5), min_size=1, max_size=4).map(" ".join),
        st.lists(st.one_of(st.text(_letters, min_size=1, max_size=4), _whitespace), max_size=6).map("".join),
        st.sampled_from(["a\ud800b", "\udc00", "\ud83d\ude00 ok"]),
    ),
    "email": _clean_or_wild(
        st.from_regex(r"\A[a-zA-Z0-9.+\-]{1,8}@[a-zA-Z0-9]{1,6}\.(?:[a-zA-Z]{1,4}|xn--[a-z0-9]{1,4})\Z"),
        _padded(st.just("A@B.co")),
        st.just("\u0130@x.com"),
        st.just("a\u03a3@x.com"),
        st.just("a\udfff@x.com"),
    ),
    "balance": _clean_or_wild(
        st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-(10**9), max_value=10**9),
        st.decimals(allow_nan=True, allow_infinity=True),
        st.sampled_from([Decimal("0"), Decimal("-0.00"), Decimal("1E+5"), Decimal("0.0000001"), 1.5, True]),
        st.from_regex(r"\A\s?-?\d{1,40}(\.\d{0,3})?\Z"),
    ),
    "currency": _clean_or_wild(
        st.sampled_from(["usd", "EUR", "gbp", "Chf"]),
        _padded(st.just("usd")),
        st.sampled_from(["\ufb00a", "US", "u-d", "u\nd"]),
    ),
    "status": _clean_or_wild(
        st.sampled_from(["active", "Suspended", "CLOSED"]), _padded(st.just("closed")), st.just("gone")
    ),
    "updated_at": _clean_or_wild(_timestamps, _padded(_timestamps)),
}


@st.composite
def _mixed_record(draw: st.DrawFn) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for field in FIELDS:
        spelling = draw(st.sampled_from(["name", "camel", "both", "both-differ", "absent"]))
        value = draw(_FIELD_VALUES[field.name])
        if spelling == "absent":
            continue
        if spelling in ("name", "both", "both-differ"):
            raw[field.name] = value
        if spelling in ("camel", "both", "both-differ"):
            raw[field.camel] = draw(_FIELD_VALUES[field.name]) if spelling == "both-differ" else value
    if draw(st.booleans()):
        raw["extra"] = 1
    return raw


def _outcome(raw: Any) -> tuple[str, int]:
    try:
        record, dropped = normalise_with_stats(raw, now=NOW)
    except InvalidRecord as invalid:
        return f"invalid: {invalid}", 0
    return repr(record), dropped  # repr: Decimal('1.0') and Decimal('1.00') must not pass for each other


def _layout_columns(raws: list[Any]) -> list[list[Any]] | None:
    """The block as the reader decodes it when its records fit a layout (one spelling throughout, every
    required field, nothing else): the layout structs' columns; None when they fit none (the dict path)."""
    if not raws:
        return None
    for layout in LAYOUTS:
        attributes = dict(zip(layout.__struct_encode_fields__, layout.__struct_fields__, strict=True))
        rows = []
        for raw in raws:
            if raw.__class__ is not dict or not raw.keys() <= attributes.keys():
                break
            try:
                rows.append(layout(**{attributes[key]: value for key, value in raw.items()}))
            except TypeError:  # a required field absent
                break
        else:
            return columns_of(rows)
    return None


def _shown(block: NormalisedBlock) -> list[str]:
    return [
        f"invalid: {result}" if isinstance(result, InvalidRecord) else repr(result)
        for result in block.records()
    ]


def _normalise_block_as_record_by_record(raws: list[Any]) -> list[dict[str, Any] | InvalidRecord]:
    """Normalises the block at once and asserts each result is what normalise gives (or the InvalidRecord it
    raises, with the same reasons) and that the dropped keys add up the same; returns the results. When the
    records fit a layout, the columns the reader would decode them into give the same results."""
    expected = [_outcome(raw) for raw in raws]
    results, dropped = normalise_many_with_stats(raws, now=NOW)
    actual = [
        f"invalid: {result}" if isinstance(result, InvalidRecord) else repr(result) for result in results
    ]
    assert actual == [outcome for outcome, _ in expected]
    assert dropped == sum(unknown for _, unknown in expected)
    columns = _layout_columns(raws)
    if columns is not None:
        assert _shown(normalise_columns(columns, now=NOW)) == actual
    return results


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(
        st.lists(_mixed_record(), min_size=1, max_size=12),
        st.lists(_valid_records, min_size=1, max_size=12),
        st.lists(st.one_of(_valid_records, st.integers(), st.lists(st.integers(), max_size=2)), max_size=4),
    )
)
def test_normalise_many_equals_normalise_record_by_record(raws: list[Any]) -> None:
    # GIVEN a block of records, valid and invalid, clean and messy, in both spellings
    # WHEN the block is normalised at once
    # THEN each result is what normalise gives (or the InvalidRecord it raises, with the same reasons)
    results = _normalise_block_as_record_by_record(raws)
    assert [repr(r) for r in normalise_many(raws, now=NOW)] == [repr(r) for r in results]


def _from_rfc3339(text: str) -> datetime:
    """The oracle: ``fromisoformat``, which takes every RFC 3339 form but a lower-case ``z``."""
    return datetime.fromisoformat(text[:-1] + "Z" if text.endswith("z") else text)


@settings(max_examples=300, deadline=None)
@given(_timestamps)
def test_timestamp_fast_path_agrees_with_fromisoformat(text: str) -> None:
    try:
        expected = format_timestamp(_from_rfc3339(text))
    except (ValueError, OverflowError):
        expected = None
    # Entered at the end of time: no timestamp is beyond the future-skew bound here.
    result = normalise_many([record(updated_at=text)], now=END_OF_TIME)[0]
    if expected is None:
        assert isinstance(result, InvalidRecord)
    else:
        assert not isinstance(result, InvalidRecord)
        assert result["updated_at"] == expected
        assert normalise(record(updated_at=text), now=END_OF_TIME)["updated_at"] == expected


@settings(max_examples=100, deadline=None)
@given(st.lists(_timestamps, min_size=2, max_size=40))
def test_timestamp_column_agrees_with_fromisoformat(texts: list[str]) -> None:
    # GIVEN a block whose timestamps mix shapes, offsets across midnight and values the tables lack
    raws = [
        record(f"a{index}", status="active", updated_at=None, updatedAt=text)
        for index, text in enumerate(texts)
    ]
    # WHEN the block is normalised column by column (entered at the end of time: no bound applies)
    results = normalise_many(raws, now=END_OF_TIME)
    # THEN each value is what fromisoformat and the pipeline's format give, or the record is rejected
    for text, result in zip(texts, results, strict=True):
        try:
            expected = format_timestamp(_from_rfc3339(text))
        except (ValueError, OverflowError):
            assert isinstance(result, InvalidRecord)
        else:
            assert not isinstance(result, InvalidRecord)
            assert result["updated_at"] == expected


@pytest.mark.parametrize(
    "raws",
    [
        # Seven keys each on average, yet one record gives a field twice (differently) and another misses one.
        [
            record("a1", status="active", accountId="a2"),
            record("b1", status="active", updated_at=None),
        ],
        [record("a1", status="active", accountId="a1"), record("b1", status="active", email=None)],
        # An unknown key makes up for a missing field.
        [record("a1", extra=1), record(None, status="closed", accountId="b1")],
        # A null counts as a key.
        [record("a1", status=None, updatedAt=None) | {"status": None}, record("b1", status="closed")],
    ],
    ids=["twice-and-missing", "twice-equal-and-missing", "unknown-and-missing", "null"],
)
def test_block_with_as_many_keys_as_fields_takes_the_general_rules(raws: list[dict[str, Any]]) -> None:
    # GIVEN records holding, on average, exactly one key per field, but not one of each per record
    assert sum(map(len, raws)) == len(FIELDS) * len(raws)
    # WHEN the block is normalised at once
    # THEN conflicts, absences and dropped keys are exactly what normalise reports record by record
    _normalise_block_as_record_by_record(raws)


@st.composite
def _one_spelling_record(draw: st.DrawFn, camel: bool) -> dict[str, Any]:
    """A record spelled one way throughout, every required field given, optional ones maybe absent or
    null: what a layout decodes. Values clean or wild."""
    raw: dict[str, Any] = {}
    for field in FIELDS:
        if field.required or draw(st.booleans()):
            raw[field.camel if camel else field.name] = draw(_FIELD_VALUES[field.name])
    return raw


@settings(max_examples=150, deadline=None)
@given(st.booleans().flatmap(lambda camel: st.lists(_one_spelling_record(camel), min_size=1, max_size=12)))
def test_layout_columns_equal_normalise_record_by_record(raws: list[dict[str, Any]]) -> None:
    # GIVEN a block the reader decodes into a layout (one spelling, every required field, nothing else),
    # values valid and invalid, clean and messy, optional fields absent or null
    assert _layout_columns(raws) is not None
    # WHEN its columns are normalised (the transformer's path)
    # THEN each result is what normalise gives, and the text columns encode as the Decimal ones
    _normalise_block_as_record_by_record(raws)
    _as_text_encodes_as_the_objects(raws)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(_mixed_record(), _valid_records), min_size=1, max_size=12))
def test_block_columns_encode_as_the_records_do(raws: list[Any]) -> None:
    # GIVEN a block normalised column by column, its valid rows kept
    block = normalise_block(raws, now=NOW)
    valid = [index for index, invalid in enumerate(block.invalid) if invalid is None]
    columns = [[column[index] for index in valid] for column in block.columns]
    records = [record for record in block.records() if not isinstance(record, InvalidRecord)]
    # WHEN the columns are encoded directly (the transformer's path)
    # THEN the text is what encoding the record dicts gives, byte for byte
    assert encode_columns(FIELD_NAMES, columns) == (encode_json(records)[1:-1] if records else "")
    # ... and so is the text of the block normalised with balances as text
    _as_text_encodes_as_the_objects(raws)


_column_values = st.one_of(
    st.lists(st.text(alphabet=st.characters(codec="utf-8")), min_size=3, max_size=3),
    st.lists(st.text(alphabet=' az~"\\', max_size=3), min_size=3, max_size=3),  # printable, " and \\
    st.lists(st.from_regex(r"[A-Za-z0-9_.@:+-]{0,12}", fullmatch=True), min_size=3, max_size=3),  # plain
    st.lists(st.decimals(allow_nan=False, allow_infinity=False), min_size=3, max_size=3),
    st.lists(st.one_of(st.none(), st.integers(), st.text(max_size=3)), min_size=3, max_size=3),  # mixed
)


@given(st.lists(_column_values, min_size=1, max_size=5))
@example([['"', "a", "b"], ["a\\", "b", "c"]])
@example([["a", "b\nc", "d"], ["a", "b", "\x7f"], ["\t", "b", "c"], ["é", "b", "c"]])
def test_any_columns_encode_as_the_records_do(rows_by_column: list[list[Any]]) -> None:
    # GIVEN columns of three values each: any text, text needing no escapes, decimals, mixed kinds
    names = [f'k{index}"' if index % 2 else f"k{index}" for index in range(len(rows_by_column))]
    records = [dict(zip(names, row, strict=True)) for row in zip(*rows_by_column, strict=True)]
    # THEN encoding the columns gives what encoding the records gives, byte for byte
    assert encode_columns(names, rows_by_column) == encode_json(records)[1:-1]


@given(st.lists(_column_values, min_size=1, max_size=5), st.booleans())
@example([["a", "b", "\x7f"], ["\t", "b", "c"]], False)
@example([["é", "b", "c"], [Decimal("1E+2"), Decimal("-0.00"), Decimal("5")]], False)
def test_rows_encode_one_by_one_as_the_records_do(rows_by_column: list[list[Any]], quoted: bool) -> None:
    # GIVEN columns of three values each, under plain keys (msgspec's path) or keys needing escapes
    names = [f'k{index}"' if quoted else f"k{index}" for index in range(len(rows_by_column))]
    records = [dict(zip(names, row, strict=True)) for row in zip(*rows_by_column, strict=True)]
    # THEN each row encodes alone as its record does, byte for byte
    assert encode_rows(names, rows_by_column) == [encode_json(record) for record in records]


def test_a_json_number_beyond_decimal_is_a_field_error_not_an_unparseable_body() -> None:
    # GIVEN valid JSON whose balance no Decimal can hold (found by fuzzing POST /writer)
    [raw] = [decode_json('{"balance": 1e99999999999999999999}')["balance"]]
    # THEN the body still parses, and the record is rejected naming the balance and its value
    assert reasons(record(balance=raw)) == {
        "balance": "outside DynamoDB's number range (1E-130 to 1E+126): '1e99999999999999999999'"
    }


# --- the future-skew bound and lone surrogates -------------------------------------------------------------


@pytest.mark.parametrize("path", ["record", "block"])
def test_updated_at_beyond_the_skew_past_entry_is_invalid_naming_the_bound(
    path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN records that entered at NOW: one 23 h ahead, one 25 h ahead, one in year 9999
    monkeypatch.delenv("MAX_FUTURE_SKEW_HOURS", raising=False)
    raws = [
        record("ok", updated_at="2026-03-02T11:00:00Z"),
        record("late", updated_at="2026-03-02T13:00:00.123457Z"),
        record("never", updated_at="9999-12-31T23:59:59Z"),
    ]
    if path == "record":
        results = [_normalise_or_error(raw) for raw in raws]
    else:
        results = normalise_many(raws, now=NOW)
    # THEN only the first passes; each other one is invalid, naming updated_at, the entry time and the setting
    assert not isinstance(results[0], InvalidRecord)
    late = ["2026-03-02T13:00:00.123457Z", "9999-12-31T23:59:59.000000Z"]
    for result, value in zip(results[1:], late, strict=True):
        assert isinstance(result, InvalidRecord)
        assert str(result) == (
            f"updated_at: {value} is more than 24 hours after the record entered the pipeline "
            "(2026-03-01T12:00:00.123456Z; MAX_FUTURE_SKEW_HOURS)"
        )


def _normalise_or_error(raw: dict[str, Any]) -> dict[str, Any] | InvalidRecord:
    try:
        return normalise(raw, now=NOW)
    except InvalidRecord as error:
        return error


def test_the_skew_comes_from_the_environment_and_a_bad_value_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MAX_FUTURE_SKEW_HOURS", "1")
    with pytest.raises(InvalidRecord, match="more than 1 hours"):
        normalise(record(updated_at="2026-03-01T13:30:00Z"), now=NOW)
    monkeypatch.setenv("MAX_FUTURE_SKEW_HOURS", "soon")
    with pytest.raises(ValueError, match="MAX_FUTURE_SKEW_HOURS must be a number of hours >= 0, got 'soon'"):
        normalise(record(), now=NOW)


def test_the_default_updated_at_is_the_entry_time_on_both_paths() -> None:
    entered = datetime(2025, 6, 1, 8, 30, tzinfo=UTC)
    assert normalise(record(updated_at=None), now=entered)["updated_at"] == "2025-06-01T08:30:00.000000Z"
    [block] = normalise_many([record(updated_at=None)], now=entered)
    assert not isinstance(block, InvalidRecord)
    assert block["updated_at"] == "2025-06-01T08:30:00.000000Z"


@pytest.mark.parametrize("field", ["name", "email", "account_id", "currency", "status", "updated_at"])
@pytest.mark.parametrize("surrogate", ["\ud800", "\udc00"])
def test_a_lone_surrogate_in_any_field_is_invalid_naming_that_field_only(field: str, surrogate: str) -> None:
    # GIVEN a block whose second record carries a lone surrogate in one field
    bad = record("bad")
    bad[field] = {"email": f"a{surrogate}@example.com"}.get(field, f"x{surrogate}y")
    raws = [record("a"), bad, record("c")]
    # THEN that record alone is invalid, naming the field, on both paths; nothing is altered to '?'
    for result in (normalise_many(raws, now=NOW)[1], _normalise_or_error(bad)):
        assert isinstance(result, InvalidRecord)
        assert result.fields == [field]
    assert [r["account_id"] for r in normalise_many(raws, now=NOW) if not isinstance(r, InvalidRecord)] == [
        "a",
        "c",
    ]
    if field in ("name", "email"):
        assert "lone UTF-16 surrogate" in str(_normalise_or_error(bad))


# --- text is what it looks like: checked before case mapping, no control or invisible characters -----------

TEXT_FIELDS = ["account_id", "name", "email", "currency", "status", "updated_at", "balance"]
"""Every field whose value may be a string (a balance too, when given as one)."""
REFUSED = [
    ("\x00", "a control character (U+0000)"),
    ("\x07", "a control character (U+0007)"),
    ("\x1b", "a control character (U+001B)"),
    ("\x1f", "a control character (U+001F)"),
    ("\x7f", "a control character (U+007F)"),
    ("\x85", "a control character (U+0085)"),
    ("\x9b", "a control character (U+009B)"),
    ("\u202e", "an invisible format character (U+202E RIGHT-TO-LEFT OVERRIDE)"),
    ("\u2066", "an invisible format character (U+2066 LEFT-TO-RIGHT ISOLATE)"),
    ("\u200b", "an invisible format character (U+200B ZERO WIDTH SPACE)"),
    ("\u200d", "an invisible format character (U+200D ZERO WIDTH JOINER)"),
    ("\ufeff", "an invisible format character (U+FEFF ZERO WIDTH NO-BREAK SPACE)"),
    ("\u00ad", "an invisible format character (U+00AD SOFT HYPHEN)"),
]
_VALID_TEXT = {
    "account_id": "acct-9",
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "currency": "GBP",
    "status": "active",
    "updated_at": "2026-01-01T00:00:00Z",
    "balance": "10.50",
}


def _both_paths(raw: dict[str, Any]) -> list[dict[str, Any] | InvalidRecord]:
    """``raw`` through the writer's path and through the transformer's block path (between two valid
    records, so the block is not a single-record special case)."""
    block = normalise_many([record("before"), raw, record("after")], now=NOW)
    assert not isinstance(block[0], InvalidRecord) and not isinstance(block[2], InvalidRecord)
    return [_normalise_or_error(raw), block[1]]


@pytest.mark.parametrize("field", TEXT_FIELDS)
@pytest.mark.parametrize(("character", "named"), REFUSED, ids=[f"U+{ord(c):04X}" for c, _ in REFUSED])
@pytest.mark.parametrize("where", ["inside", "leading", "trailing"])
def test_a_control_or_format_character_in_any_text_field_is_refused_naming_field_and_character(
    field: str, character: str, named: str, where: str
) -> None:
    # GIVEN a record whose one text field holds a refused character (inside, or where trimming would cut it)
    value = _VALID_TEXT[field]
    middle = len(value) // 2
    bad = {
        "inside": value[:middle] + character + value[middle:],
        "leading": character + value,
        "trailing": value + character,
    }[where]
    # WHEN it is normalised, one record at a time and in a block
    for result in _both_paths(record() | {field: bad}):
        # THEN it is invalid, naming that field only and the character
        assert isinstance(result, InvalidRecord)
        assert result.fields == [field]
        assert str(result) == f"{field}: holds {named}"


def test_every_field_holding_a_refused_character_is_reported() -> None:
    raw = record(name="Ada\u202eLovelace", email="ada\u200b@example.com", currency="GB\x00P")
    for result in _both_paths(raw):
        assert isinstance(result, InvalidRecord)
        assert result.fields == ["name", "email", "currency"]


def test_the_first_refused_character_is_the_one_named() -> None:
    assert reasons(record(name="a\u200bb\x1bc")) == {
        "name": "holds an invisible format character (U+200B ZERO WIDTH SPACE)"
    }


@pytest.mark.parametrize("whitespace", ["\t", "\n", "\r", "\x0b", "\x0c", "\u00a0", "\u3000"])
def test_whitespace_is_trimmed_and_collapsed_not_refused(whitespace: str) -> None:
    raw = record(
        account_id=f"{whitespace}acct-ws{whitespace}",
        name=f"{whitespace}Ada{whitespace}{whitespace}Lovelace{whitespace}",
        email=f"{whitespace}Ada@Example.com{whitespace}",
        currency=f"{whitespace}gbp",
        status=f"Closed{whitespace}",
        balance=f"{whitespace}10.50",
        updated_at=f"2026-01-01T00:00:00Z{whitespace}",
    )
    for result in _both_paths(raw):
        assert not isinstance(result, InvalidRecord)
        assert (result["name"], result["email"], result["currency"], result["status"]) == (
            "Ada Lovelace",
            "ada@example.com",
            "GBP",
            "closed",
        )


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("currency", "u\u017fd", "not 3 letters: 'uſd'"),  # long s upper-cases to S
        ("currency", "\ufb00i", "not 3 letters: 'ﬀi'"),  # the ff ligature upper-cases to FF
        ("currency", "\u0131nr", "not 3 letters: 'ınr'"),  # dotless i upper-cases to I
        ("currency", "\uff55sd", "not 3 letters: 'ｕsd'"),  # fullwidth u
        ("email", "ada@\u212aelvin.com", "not an email address (local@domain.tld): 'ada@\u212aelvin.com'"),
        ("email", "ada@example.\u212az", "not an email address (local@domain.tld): 'ada@example.\u212az'"),
        ("email", "ada@exa\u0131mple.com", "not an email address (local@domain.tld): 'ada@exaımple.com'"),
        ("status", "\u017fuspended", "not one of active, suspended, closed: 'ſuspended'"),
        ("status", "CLO\u017fED", "not one of active, suspended, closed: 'CLOſED'"),
    ],
)
def test_values_are_checked_before_case_mapping(field: str, value: str, reason: str) -> None:
    # GIVEN a value that case mapping would fold into a valid ASCII one
    for result in _both_paths(record() | {field: value}):
        # THEN it is refused as received, on both paths
        assert isinstance(result, InvalidRecord)
        assert str(result) == f"{field}: {reason}"


def test_ascii_case_is_still_mapped_after_the_check() -> None:
    raw = record(email=" Ada@EXAMPLE.Com ", currency=" gBp ", status="SUSPENDED")
    for result in _both_paths(raw):
        assert not isinstance(result, InvalidRecord)
        assert (result["email"], result["currency"], result["status"]) == (
            "ada@example.com",
            "GBP",
            "suspended",
        )


def test_a_non_ascii_local_part_is_lower_cased_and_its_length_held_after_case_mapping() -> None:
    assert normalise(record(email="JOSÉ@Example.com"), now=NOW)["email"] == "josé@example.com"
    # 'İ' lower-cases to two characters: 254 as received, 255 as it would be stored
    long_local = "\u0130" + "a" * (254 - len("@example.com") - 1)
    assert reasons(record(email=long_local + "@example.com")) == {"email": "longer than 254 characters (255)"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-01-01t10:00:00z", "2026-01-01T10:00:00.000000Z"),
        ("2026-01-01T10:00:00z", "2026-01-01T10:00:00.000000Z"),
        ("2026-01-01t10:00:00.5z", "2026-01-01T10:00:00.500000Z"),
        ("2026-01-01t23:30:00-02:00", "2026-01-02T01:30:00.000000Z"),
        ("2026-01-01T10:00:00.123456789Z", "2026-01-01T10:00:00.123456Z"),  # cut, not rounded
        ("2026-01-01T10:00:00.999999999z", "2026-01-01T10:00:00.999999Z"),
        ("2026-01-01T10:00:00.1234567+01:30", "2026-01-01T08:30:00.123456Z"),
    ],
)
def test_lower_case_t_and_z_are_rfc_3339_and_digits_past_microseconds_are_cut(
    value: str, expected: str
) -> None:
    for result in _both_paths(record(updated_at=value)):
        assert not isinstance(result, InvalidRecord)
        assert result["updated_at"] == expected


def test_the_schema_states_the_limits_the_rules_hold() -> None:
    from functions.contract import MAX_BALANCE_DIGITS, MAX_EMAIL_LENGTH, MAX_NAME_LENGTH, STATUSES

    properties = json_schema()["properties"]
    assert properties["name"]["maxLength"] == MAX_NAME_LENGTH
    assert f"1-{MAX_NAME_LENGTH} characters" in properties["name"]["description"]
    assert f"at most {MAX_EMAIL_LENGTH} characters" in properties["email"]["description"]
    assert f"at most {MAX_BALANCE_DIGITS} significant digits" in properties["balance"]["description"]
    assert ", ".join(STATUSES) in properties["status"]["description"]
    assert "cut" in properties["updated_at"]["description"]
    validator = jsonschema.Draft202012Validator(json_schema())
    assert not validator.is_valid(record(currency="u\u017fd"))
    assert not validator.is_valid(record(email="ada@\u212aelvin.com"))


_refused_characters = st.sampled_from([character for character, _ in REFUSED] + ["\ud800", "\U000e0001"])


@settings(max_examples=80, deadline=None)
@given(
    field=st.sampled_from(TEXT_FIELDS),
    character=_refused_characters,
    position=st.integers(0, 40),
    others=st.lists(_valid_records, min_size=0, max_size=6),
)
def test_a_refused_character_anywhere_fails_that_record_alone(
    field: str, character: str, position: int, others: list[dict[str, Any]]
) -> None:
    # GIVEN a valid block, and one record with a refused character anywhere in one text field
    value = _VALID_TEXT[field]
    position = min(position, len(value))
    bad = record("bad") | {field: value[:position] + character + value[position:]}
    raws = [*others, bad]
    # WHEN the block is normalised
    results = _normalise_block_as_record_by_record(raws)
    # THEN that record is invalid naming that field only (as normalise says), and every other stays valid
    assert isinstance(results[-1], InvalidRecord)
    assert results[-1].fields == [field]
    assert not any(isinstance(result, InvalidRecord) for result in results[:-1])


# --- the block path's column shortcuts, on the record shapes the benchmark matrix runs ---------------------

_spaces = st.sampled_from(["", " ", "  ", "\t"])


def _padded_with(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(lambda a, v, b: a + v + b, _spaces, values, _spaces)


_BALANCE_COLUMNS = st.one_of(
    st.lists(st.integers(-(10**39), 10**39), min_size=1, max_size=8),
    st.lists(st.integers(-1000, 1000), min_size=1, max_size=8),
    st.lists(_padded_with(st.from_regex(r"\A[+-]?\d{0,40}(\.\d{0,4})?\Z")), min_size=1, max_size=8),
    st.lists(
        st.sampled_from(["1.50", "-0", "-0.00", "007", "1e5", "NaN", " 12.5 ", "1_000", "٣"]),
        min_size=1,
        max_size=8,
    ),
    st.lists(
        st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-(10**40), max_value=10**40),
        min_size=1,
        max_size=8,
    ),
)
_EMAIL_COLUMNS = st.lists(
    _padded_with(
        st.from_regex(
            r"\A[a-zA-Z0-9.+\-]{1,8}@[a-zA-Z0-9\-]{1,6}\.(?:[a-zA-Z]{1,4}|[xX][nN]--[a-zA-Z0-9]{1,4})\Z"
        )
        | st.sampled_from(["a b@x.com", "a@x.com b@y.com", "a@\u212a.com", "é@x.com", "   ", "a\x00@x.com"])
    ),
    min_size=1,
    max_size=8,
)
_CODE_COLUMNS = st.lists(
    _padded_with(
        st.sampled_from(
            [
                "usd",
                "EUR",
                "gBp",
                "u\u017fd",
                "US",
                "u d",
                "us1",
                "U$D",
                "active",
                "CLOSED",
                "Suspended",
                "gone",
            ]
        )
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=120, deadline=None)
@given(balances=_BALANCE_COLUMNS, emails=_EMAIL_COLUMNS, codes=_CODE_COLUMNS, camel=st.booleans())
@example(  # two values in one, and an empty one beside it: the count of values alone would not tell
    balances=["1 2", " "], emails=["a@x.com b@y.com", "  "], codes=["usd eur", " "], camel=False
)
@example(  # codes of 2 and 4 letters: as long together as two of 3, the newline out of place
    balances=["1", "2"], emails=["a@x.com", "b@y.com"], codes=["US", "gone"], camel=True
)
def test_homogeneous_columns_take_the_shortcuts_with_the_per_record_results(
    balances: list[Any], emails: list[str], codes: list[str], camel: bool
) -> None:
    # GIVEN blocks whose columns are all of one kind (integer, string or decimal balances; padded emails and
    # codes), in one key spelling: the shapes the column shortcuts take whole
    count = min(len(balances), len(emails), len(codes))
    raws = []
    for index in range(count):
        raw = record(f"c{index}", balance=balances[index], email=emails[index], currency=codes[index])
        raw["status"] = codes[index]
        if camel:
            raw["accountId"] = raw.pop("account_id")
            raw["updatedAt"] = raw.pop("updated_at")
        raws.append(raw)
    # THEN the block gives, record by record, exactly what normalise gives
    _normalise_block_as_record_by_record(raws)
    _as_text_encodes_as_the_objects(raws)


def _as_text_encodes_as_the_objects(raws: list[Any]) -> None:
    """Asserts ``normalise_block(..., as_text=True)`` (the transformer's call) finds the same records invalid
    for the same reasons, gives each balance as its Decimal or that Decimal's ``str()``, and encodes every
    valid row to the same bytes as the Decimal columns."""
    objects = normalise_block(raws, now=NOW)
    texts = normalise_block(raws, now=NOW, as_text=True)
    assert [str(invalid) for invalid in texts.invalid] == [str(invalid) for invalid in objects.invalid]
    balances = FIELD_NAMES.index("balance")
    for text, number in zip(texts.columns[balances], objects.columns[balances], strict=True):
        assert text == number if not isinstance(text, str) else text == str(number)
    valid = [index for index, invalid in enumerate(objects.invalid) if invalid is None]
    as_objects = [[column[index] for index in valid] for column in objects.columns]
    as_texts = [[column[index] for index in valid] for column in texts.columns]
    assert encode_columns(FIELD_NAMES, as_texts) == encode_columns(FIELD_NAMES, as_objects)
    assert encode_rows(FIELD_NAMES, as_texts) == encode_rows(FIELD_NAMES, as_objects)
    # Fields the block says no record gives: no record gives them, and their columns hold the default
    assert texts.left_out == objects.left_out
    for name in texts.left_out:
        field = FIELDS[FIELD_NAMES.index(name)]
        assert all(raw.get(field.name) is None and raw.get(field.camel) is None for raw in raws)
        assert field.default is not None
        assert set(texts.columns[FIELD_NAMES.index(name)]) <= {None, field.default(NOW)}  # None: invalid rows
    columns = _layout_columns(raws)
    if columns is not None:  # the reader's columns, as the transformer normalises them: the same text
        decoded = normalise_columns(columns, now=NOW, as_text=True)
        assert [str(invalid) for invalid in decoded.invalid] == [str(invalid) for invalid in texts.invalid]
        assert decoded.columns == texts.columns
        assert decoded.left_out == texts.left_out


@settings(max_examples=120, deadline=None)
@given(
    st.lists(
        _padded_with(
            st.from_regex(r"\A-?(?:0|[1-9]\d{0,38})(?:\.\d{0,9})?\Z")
            | st.sampled_from(["0.0000001", "0.000001", "0.00000010", "-0.000", "1E5", "0120.5", "+1"])
        ),
        min_size=1,
        max_size=8,
    )
)
def test_balance_strings_as_text_are_what_str_of_the_decimal_gives(balances: list[str]) -> None:
    # GIVEN a block of string balances, most already written as str(Decimal) writes them, some not (a
    # leading zero or sign, a zero, an exponent, 1E-7 written out, 39 digits)
    raws = [record(f"b{index}", balance=balance) for index, balance in enumerate(balances)]
    # WHEN the transformer normalises it with balances as text
    # THEN each record is what normalise gives, and encodes to the same bytes as the Decimal would
    _normalise_block_as_record_by_record(raws)
    _as_text_encodes_as_the_objects(raws)


_whole_hour_zones = st.sampled_from(
    ["Z", "+00:00", "-00:00", "+02:00", "-05:00", "+14:00", "-12:00", "+23:00"]
)


@st.composite
def _fixed_width_column(draw: st.DrawFn) -> list[str]:
    """A column written one way throughout (``YYYY-MM-DDTHH:MM:SS`` and ``Z`` or a whole-hour offset), in one
    year or several: the shapes the column shortcuts take whole, their edges (29 February, the turn of the
    year, years 1 and 9999) included."""
    years = draw(st.lists(st.sampled_from([1, 2000, 2023, 2024, 2100, 9999]), min_size=1, max_size=2))
    zone = draw(_whole_hour_zones)
    zones = (
        [zone]
        if zone == "Z"
        else draw(st.lists(_whole_hour_zones.filter(lambda z: z != "Z"), min_size=1, max_size=2))
    )
    count = draw(st.integers(1, 30))
    return [
        f"{draw(st.sampled_from(years)):04d}-{draw(st.sampled_from([1, 2, 3, 12])):02d}-"
        f"{draw(st.sampled_from([1, 2, 28, 29, 30, 31])):02d}T"
        f"{draw(st.sampled_from([0, 1, 11, 22, 23])):02d}:"
        f"{draw(st.integers(0, 59)):02d}:{draw(st.integers(0, 59)):02d}{draw(st.sampled_from(zones))}"
        for _ in range(count)
    ]


@settings(max_examples=150, deadline=None)
@given(_fixed_width_column())
def test_fixed_width_timestamp_columns_agree_with_fromisoformat(texts: list[str]) -> None:
    # GIVEN a block whose timestamps are all written one way (the fixed-width shortcuts' shapes)
    raws = [record(f"f{index}", updated_at=text) for index, text in enumerate(texts)]
    # WHEN it is normalised column by column (entered at the end of time: no bound applies)
    results = normalise_many(raws, now=END_OF_TIME)
    # THEN each value is what fromisoformat and the pipeline's format give, or the record is rejected
    for text, result in zip(texts, results, strict=True):
        try:
            expected = format_timestamp(_from_rfc3339(text))
        except (ValueError, OverflowError):
            assert isinstance(result, InvalidRecord), text
        else:
            assert not isinstance(result, InvalidRecord), text
            assert result["updated_at"] == expected


@pytest.mark.parametrize(
    "odd",
    [
        "2025-03-01T12:00:00+24:00",  # a zone no table knows
        "2025-03-01T12:00:00+99:00",
        "2025-13-01T12:00:00+02:00",  # month 13
        "2025-02-30T12:00:00+02:00",
        "2025-02-29T01:00:00+02:00",  # not a leap year
        "2024-02-29T01:00:00+02:00",  # a leap year, the day moving back
        "2025-03-01T24:00:00+02:00",  # hour 24
        "2025-03-01T12:60:00+02:00",
        "2025-03-01T12:00:60+02:00",
        "0000-03-01T12:00:00+02:00",  # year 0
        "0001-01-01T01:00:00+02:00",  # before year 1 in UTC
        "9999-12-31T22:00:00-05:00",  # after 9999 in UTC
        "2025-03-01T1٣:00:00+02:00",  # a digit that is not ASCII
        "2025-03-01t12:00:00+02:00",  # lower-case t: the same width, not the column's shape
        "2025-03-01T12:00:00+02:30",  # not a whole hour
        "2025-0a-01T12:00:00+02:00",  # ASCII where the tables expect digits
        "2025-03-01T1x:00:00+02:00",
        "2025-03-01T12:00:00+0x:00",
        "2025-03-01T12:00:00+-2:00",
        "2025-03-01T12:00:00*02:00",
        "2025-03-01T12:00:2025-:00",
    ],
)
def test_odd_values_in_a_fixed_width_offset_column_get_the_per_record_results(odd: str) -> None:
    # GIVEN a column of whole-hour offsets, one value of the same width odd (a moment that does not exist, a
    # zone no table knows, a character out of place)
    texts = [f"2025-0{month}-1{month}T0{month}:3{month}:0{month}-05:00" for month in range(1, 8)]
    raws = [record(f"o{index}", updated_at=text) for index, text in enumerate([*texts, odd, *texts])]
    # WHEN the block is normalised column by column
    # THEN each record is what normalise gives, the odd one included
    expected = [_outcome(raw) for raw in raws]
    results, _ = normalise_many_with_stats(raws, now=NOW)
    assert [f"invalid: {r}" if isinstance(r, InvalidRecord) else repr(r) for r in results] == [
        outcome for outcome, _ in expected
    ]
