"""What a JSON value is, as the pipeline reads it: a record, an array of records, or an envelope.

One function decides (:func:`classify`), for a WriterQueue body (the writer, :func:`parse_body`) and for each
value of an S3 object (the transformer's reader: a JSON Lines line, a lone object, a top-level value), so the
two paths read the same bytes the same way (docs/design.md, "Body shapes"):

* a JSON array: its items are records;
* an object whose keys are ``records``, holding an array, and optionally ``source``: an **envelope**; its
  ``records`` are the records;
* any other object: **one record** (a ``records`` key inside it is an unknown key, dropped by the contract);
* an envelope-shaped object with a duplicated key (``{"records": [A], "records": [B]}``): neither; a JSON
  parser keeps one of the two arrays and silently loses the other, so the object is **ambiguous**, and
  becomes one InvalidRecord whose body is the object verbatim.

**Provenance.** Where records came from is the message's ``source`` *attribute*, never the body: the
transformer sets it on every message it sends (``s3://bucket/key``), replays keep it, and a message without
one came through ``POST /writer`` (API Gateway's SQS integration sends the body alone), so its records are
``api`` whatever an envelope in the body claims. Otherwise a client of the API could make its records look
like a bucket's in AccountTable and LogTable.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any, NamedTuple

from functions.errors import MalformedMessage
from functions.messages.codec import decode_json
from functions.model import API_SOURCE, MessageAttribute

RECORDS = "records"
ENVELOPE_KEYS = frozenset({"source", RECORDS})


class Shape(StrEnum):
    RECORD = "record"
    ARRAY = "array"
    ENVELOPE = "envelope"
    AMBIGUOUS = "ambiguous"
    """An envelope-shaped object with a duplicated key: one InvalidRecord, the body verbatim."""


class Body(NamedTuple):
    """A classified value: its records, the source an envelope names (informative, not trusted: see
    :func:`resolve_source`), and its :class:`Shape`; ``problem`` says why an ambiguous one is refused."""

    records: list[Any]
    source: str | None
    shape: Shape
    problem: str | None = None


def classify(value: Any, raw: str | bytes) -> Body | None:
    """What ``value`` (decoded from ``raw``, its JSON text) is: module docstring. None for a JSON scalar,
    which is neither a record nor a container of records (the caller says what that means for it).

    ``raw`` is read again only for an envelope-shaped object that may repeat a key (decoding keeps one value
    per key, so only the text can show it): an envelope written by the pipeline is checked with two
    substring counts.
    """
    if isinstance(value, list):
        return Body(value, None, Shape.ARRAY)
    if not isinstance(value, dict):
        return None
    if not envelope_shaped(value):
        return Body([value], None, Shape.RECORD)
    keys = _keys_as_written(raw) or list(value)
    shape = object_shape(keys, records_is_array=isinstance(value[RECORDS], list))
    if shape == Shape.AMBIGUOUS:
        return Body([], None, shape, _ambiguity(keys))
    if shape == Shape.RECORD:
        return Body([value], None, shape)
    source = value.get("source")
    return Body(value[RECORDS], source if isinstance(source, str) else None, shape)


def object_shape(keys: Sequence[str], *, records_is_array: bool) -> Shape:
    """The rule itself, on an object's top-level keys as written (a repeated key listed each time) and
    whether its (first) ``records`` value is an array. The transformer's reader applies it to an object it
    streams without decoding it whole."""
    distinct = set(keys)
    if RECORDS not in distinct or not distinct <= ENVELOPE_KEYS:
        return Shape.RECORD
    if len(distinct) != len(keys):
        return Shape.AMBIGUOUS
    return Shape.ENVELOPE if records_is_array else Shape.RECORD


def _ambiguity(keys: Sequence[str]) -> str:
    counts = Counter(keys)
    listed = ", ".join(f"{key!r} {count} times" for key, count in counts.items() if count > 1)
    return (
        f"envelope with a duplicated key ({listed}): a JSON parser keeps one value per key, so records would "
        f"be lost; the body is kept verbatim (send one 'records' array, or several envelopes)"
    )


def envelope_shaped(value: dict[str, Any]) -> bool:
    """Whether an object's distinct keys are an envelope's: ``records`` and optionally ``source`` (any other
    object is a record, whatever :func:`object_shape` would find in its text)."""
    return RECORDS in value and value.keys() <= ENVELOPE_KEYS


def _keys_as_written(raw: str | bytes) -> list[str] | None:
    """The top-level keys of the object ``raw``, a repeated one each time; None when no key can repeat."""
    text = raw.decode("utf-8", "surrogatepass") if isinstance(raw, bytes) else raw
    # A key spelled "records" or "source" twice, or one spelled with \u escapes: otherwise no key repeats.
    if text.count('"records"') < 2 and text.count('"source"') < 2 and "\\u" not in text:
        return None
    top: list[list[tuple[str, Any]]] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        top[:] = [items]  # objects close innermost first: the last one seen is the top level
        return dict(items)

    try:
        decode_json(text, object_pairs_hook=pairs)
    except (ValueError, RecursionError):  # the caller decoded it already: a deeper parser did
        return None
    return [key for key, _ in top[0]] if top else None


def parse_body(body: str) -> Body:
    """Parse and :func:`classify` one WriterQueue body. Raises :class:`MalformedMessage` when it is not JSON
    or is a JSON scalar."""
    try:
        value = decode_json(body)
    except ValueError as error:  # JSONDecodeError, and int-too-long / NaN refusals
        raise MalformedMessage(f"body is not JSON: {error}") from None
    except RecursionError:  # a permanent property of the body: retrying would cycle it through the DLQ
        raise MalformedMessage("body is nested too deeply to parse") from None
    classified = classify(value, body)
    if classified is None:
        raise MalformedMessage(
            f"body is a JSON {json_kind(value)}: expected a record object, an array of records or an envelope"
        )
    return classified


def json_kind(value: Any) -> str:
    """The JSON type name of a decoded value, for reasons."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "number"


def string_attributes(message_attributes: Mapping[str, Any] | None) -> dict[str, str]:
    """String values of an SQS message's attributes, from either the Lambda event shape (``stringValue``) or
    the ReceiveMessage API shape (``StringValue``)."""
    values: dict[str, str] = {}
    if not isinstance(message_attributes, Mapping):
        return values
    for name, attribute in message_attributes.items():
        if not isinstance(attribute, Mapping):  # never raise on a malformed event: skip what is not ours
            continue
        value = attribute.get("stringValue", attribute.get("StringValue"))
        if isinstance(name, str) and isinstance(value, str):
            values[name] = value
    return values


def resolve_source(attributes: Mapping[str, str]) -> str:
    """Where records came from: the ``source`` attribute, else the API (module docstring, "Provenance")."""
    return attributes.get(MessageAttribute.SOURCE) or API_SOURCE
