"""The record as a msgspec ``Struct``, one per key spelling, so a reader can decode records straight into
fields when every record of a run of them is spelled one way.

Why: decoding into a dict per record, then gathering each field's column from the dicts, was a third of the
transformer's time per record. A ``Struct`` decode builds no dict (no key hashing, no per-record table),
and its fields come out as columns with one transposition in C. The structs accept exactly what the dict
path reads as "every field given once, in one spelling, and nothing else": any other key, or a required
field absent, fails the decode (``forbid_unknown_fields``, no default), and the caller decodes the same
bytes into dicts and takes the general path. Values are ``Any``, decoded as the untyped decoder decodes
them (the caller's ``float_hook`` included), so every rule of the contract still runs on the columns.

A key given twice keeps its last value, as a dict does; an optional field absent is :data:`ABSENT`.
"""

from __future__ import annotations

from typing import Any

import msgspec

from functions.contract.fields import FIELDS

ABSENT: Any = msgspec.UNSET
"""An optional field the record does not give (what ``dict.get(name, default)`` reads as absent)."""


def _layout(name: str, *, camel: bool) -> type[msgspec.Struct]:
    """The record with every field under its snake_case (``camel=False``) or camelCase spelling."""
    fields = [(field.name, Any) if field.required else (field.name, Any, ABSENT) for field in FIELDS]
    rename = {field.name: field.camel for field in FIELDS} if camel else None
    return msgspec.defstruct(
        name, fields, rename=rename, forbid_unknown_fields=True, gc=False, module=__name__
    )


SnakeRecord = _layout("SnakeRecord", camel=False)
CamelRecord = _layout("CamelRecord", camel=True)
LAYOUTS: tuple[type[msgspec.Struct], ...] = (
    (SnakeRecord, CamelRecord) if any(field.camel != field.name for field in FIELDS) else (SnakeRecord,)
)
"""Each spelling a file may use throughout. A record mixing them (``accountId`` beside ``updated_at``)
decodes into neither and takes the dict path."""


def columns_of(rows: list[Any]) -> list[list[Any]]:
    """The fields of ``rows`` (instances of one of :data:`LAYOUTS`) as columns, in ``FIELDS`` order."""
    if not rows:
        return [[] for _ in FIELDS]
    return list(map(list, zip(*map(msgspec.structs.astuple, rows), strict=True)))
