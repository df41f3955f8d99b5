"""JSON with exact decimals: numbers are read as ``Decimal`` and written as exact strings, never floats.

Written text is ASCII (``ensure_ascii``), so its length *is* its UTF-8 size (no encode per record) and no
character SQS refuses (lone surrogates, U+FFFF…) reaches a message. msgspec writes it when it can (one C call,
no encoder to build per call); the standard library's ``json`` when msgspec's bytes would differ from what
``ensure_ascii`` gives (non-ASCII text, DEL), cannot be written (a lone surrogate), or might hide a ``NaN``
(msgspec writes it as ``null``; ``json`` refuses it, as the JSON grammar does).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from functools import cache
from itertools import chain, repeat
from json.encoder import encode_basestring_ascii
from keyword import iskeyword
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported on first use at run time (_fast_encoder)
    import msgspec

TEXT_KINDS = frozenset({str, Decimal})
"""Value types the fast path of :func:`encode_columns` takes (a normalised record holds only these)."""


# --- reading ------------------------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _decimal(text: str) -> Decimal | str:
    """A JSON number with a fraction or exponent as an exact ``Decimal``.

    A number whose exponent ``Decimal`` cannot hold at all (``1e99999999999999999999``) is valid JSON but no
    decimal: it stays text, so the record is rejected naming the field and the value, instead of the whole
    message failing to parse.
    """
    try:
        return Decimal(text)
    except InvalidOperation:
        return text


def _integer(text: str) -> int | Decimal:
    """A JSON integer as an ``int``; one longer than Python converts (4,300 digits by default) as an exact
    ``Decimal``, so the record is judged field by field (a balance that long is rejected, an unknown field is
    dropped) instead of the whole body failing to parse."""
    try:
        return int(text)
    except ValueError:
        return Decimal(text)


def decode_json(text: str | bytes, **hooks: Any) -> Any:
    """``json.loads`` with numbers as exact ``Decimal``; ``NaN``/``Infinity`` refused (they are not JSON).
    ``hooks`` go to ``json.loads`` as they are (``object_pairs_hook``)."""
    return json.loads(
        text, parse_float=_decimal, parse_int=_integer, parse_constant=_reject_constant, **hooks
    )


# --- writing ------------------------------------------------------------------------------------------------


def _encode_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # A string keeps every digit (a float would not); the contract accepts string balances.
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


_STDLIB = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True, allow_nan=False, default=_encode_default)
_MSGSPEC_REFUSES = (TypeError, ValueError, UnicodeEncodeError, OverflowError)


@cache
def _fast_encoder() -> msgspec.json.Encoder:
    """msgspec's encoder: compact JSON, ``Decimal`` as the string ``str()`` gives. Imported on first use: the
    writer and the error handler never pay for it at a cold start."""
    import msgspec

    return msgspec.json.Encoder(decimal_format="string")


def _plain(encoded: bytes) -> bool:
    """Whether msgspec's bytes are what ``ensure_ascii`` JSON would be: ASCII with no DEL (which
    ``ensure_ascii`` escapes and msgspec does not)."""
    return encoded.isascii() and b"\x7f" not in encoded


def encode_json(value: Any) -> str:
    """Compact, ASCII-only JSON (``len(text)`` is its UTF-8 size), ``Decimal`` as exact strings;
    ``ValueError`` for a ``NaN`` or an infinity (module docstring)."""
    try:
        encoded = _fast_encoder().encode(value)
    except _MSGSPEC_REFUSES:
        return _STDLIB.encode(value)
    if _plain(encoded) and b"null" not in encoded:
        return encoded.decode("ascii")
    return _STDLIB.encode(value)


_ROW_TYPES: dict[tuple[str, ...], type | None] = {}
"""One msgspec ``Struct`` type per record shape (field names in order), made once."""


def _row_type(names: tuple[str, ...]) -> type | None:
    """The ``Struct`` type for records with these keys, or None when they cannot be attribute names."""
    if names not in _ROW_TYPES:
        plain = len(set(names)) == len(names) and all(
            name.isidentifier() and not iskeyword(name) and not name.startswith("_") for name in names
        )
        if plain:
            import msgspec

            _ROW_TYPES[names] = msgspec.defstruct("Row", [(name, Any) for name in names])
        else:
            _ROW_TYPES[names] = None
    return _ROW_TYPES[names]


def encode_columns(names: Sequence[str], columns: Sequence[Sequence[Any]], *, text_only: bool = False) -> str:
    """Records given column by column, encoded exactly as ``encode_json(records)[1:-1]`` would encode them
    (``records[i] = {names[k]: columns[k][i]}``), without building the dicts.

    Why: the transformer has its records as columns (``functions.contract.normalise_block``). When every
    value is a string or a ``Decimal`` (``text_only``: the caller checked it for a larger block), the rows
    become msgspec ``Struct`` instances (one C-level ``map``) encoded in one call, and the bytes are kept
    when they are plain ASCII; otherwise each column is encoded with one ``map`` of the stdlib's C string
    encoder, the keys once, and the whole joined in one call.
    """
    if not columns or not columns[0]:
        return ""
    if text_only or all(set(map(type, column)) <= TEXT_KINDS for column in columns):
        row = _row_type(tuple(names))
        if row is not None:
            encoded = _fast_encoder().encode(list(map(row, *columns)))
            if _plain(encoded):
                return encoded[1:-1].decode("ascii")
    kinds = [set(map(type, column)) for column in columns]
    parts: list[Iterable[str]] = []
    for index, (name, column, kind) in enumerate(zip(names, columns, kinds, strict=True)):
        parts.append(repeat(("{" if index == 0 else ",") + encode_basestring_ascii(name) + ":"))
        if kind == {str}:
            parts.append(map(encode_basestring_ascii, column))
        elif kind == {Decimal}:
            parts.append(map(encode_basestring_ascii, map(str, column)))  # as _encode_default renders them
        else:
            parts.append([encode_json([value])[1:-1] for value in column])
    parts.append(repeat("},"))
    return "".join(chain.from_iterable(zip(*parts, strict=False)))[:-1]  # the repeats end with the columns


def encode_rows(names: Sequence[str], columns: Sequence[Sequence[Any]]) -> list[str]:
    """Records given column by column, each encoded alone exactly as ``encode_json(record)`` would encode it,
    for values that are all strings or ``Decimal`` (a normalised record).

    Why: at an envelope's edge the transformer adds records one at a time; msgspec encodes each row in one
    C-level ``map``, with no dict per record, and the bytes are kept when they are plain ASCII, as in
    :func:`encode_columns`.
    """
    row = _row_type(tuple(names))
    if row is not None:
        encoded = list(map(_fast_encoder().encode, map(row, *columns)))
        if _plain(b"".join(encoded)):
            return [text.decode("ascii") for text in encoded]
    return [encode_json(dict(zip(names, values, strict=True))) for values in zip(*columns, strict=True)]
