"""Pulumi inputs → boto3 parameters, guided by botocore's service model.

Pulumi hands a resource's inputs over in its own spelling (``camelCase`` keys, every number a float); the AWS
APIs want ``PascalCase`` members and integers where the model says integer. Rather than a hand-written
translation per field, :func:`from_pulumi` walks the operation's input shape: a key is matched to the member
of the same name (case-insensitively: ``noncurrentDays`` → ``NoncurrentDays``, ``id`` → ``ID``), a number is
converted to what the member's type is. A key with no member fails loudly — a Pulumi input the emulator
would silently drop is exactly what a rehearsal must not hide. botocore then validates the result as it
validates every call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape


class UntranslatableInput(ValueError):
    """A Pulumi input has no counterpart in the AWS API's model."""


def from_pulumi(value: Any, shape: Shape, *, where: str = "") -> Any:
    """``value`` (Pulumi's spelling) as the API member ``shape`` expects it."""
    if value is None:
        return None
    if isinstance(shape, StructureShape):
        if not isinstance(value, Mapping):
            raise UntranslatableInput(f"{where or shape.name}: expected an object, got {value!r}")
        members = {name.lower(): name for name in shape.members}
        result: dict[str, Any] = {}
        for key, item in value.items():
            if item is None:
                continue
            member = members.get(key.lower().replace("_", ""))
            if member is None:
                raise UntranslatableInput(
                    f"{where or shape.name}.{key}: no member of {shape.name} "
                    f"({', '.join(shape.members)}) takes it"
                )
            result[member] = from_pulumi(item, shape.members[member], where=f"{where}.{member}")
        return result
    if isinstance(shape, ListShape):
        return [from_pulumi(item, shape.member, where=f"{where}[]") for item in value]
    if isinstance(shape, MapShape):
        return {
            str(key): from_pulumi(item, shape.value, where=f"{where}.{key}") for key, item in value.items()
        }
    return scalar(value, shape)


def scalar(value: Any, shape: Shape) -> Any:
    """A Pulumi scalar as the shape's type: integral floats become ints, numbers become strings where the
    model wants a string. Anything else is passed through for botocore to judge."""
    kind = shape.type_name
    if kind in ("integer", "long") and isinstance(value, float) and value.is_integer():
        return int(value)
    if kind in ("double", "float") and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind == "string" and isinstance(value, int | float) and not isinstance(value, bool):
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    return value


def coerce(params: Mapping[str, Any], shape: StructureShape | None) -> dict[str, Any]:
    """Already API-shaped parameters with their numbers fixed up (keys are left alone)."""
    if shape is None:
        return dict(params)
    coerced: dict[str, Any] = _coerce(dict(params), shape)
    return coerced


def _coerce(value: Any, shape: Shape) -> Any:
    if isinstance(shape, StructureShape) and isinstance(value, Mapping):
        return {
            key: _coerce(item, shape.members[key]) if key in shape.members else item
            for key, item in value.items()
        }
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [_coerce(item, shape.member) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, Mapping):
        return {key: _coerce(item, shape.value) for key, item in value.items()}
    return scalar(value, shape)
