"""A message's size as SQS counts it: the body plus every attribute's name, data type and value, in UTF-8
bytes, against the queue's ``MaximumMessageSize`` (:data:`functions.model.MAX_MESSAGE_BYTES`).

The one home of that rule: the functions pack and forward messages with it, and ``pipeline-ctl replay-dlq``
checks a re-sent body with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

STRING = "String"
"""The data type of every attribute the pipeline sets."""


def utf8_size(text: str) -> int:
    """Bytes of ``text`` in UTF-8 (a lone surrogate counted as SQS would see its three bytes)."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def attributes_size(attributes: Mapping[str, str]) -> int:
    """SQS counts each attribute's name, data type (``String``) and value."""
    return sum(utf8_size(name) + len(STRING) + utf8_size(value) for name, value in attributes.items())


def message_size(body: str, attributes: Mapping[str, str] | None = None) -> int:
    """Bytes SQS counts against the maximum message size for ``body`` with String ``attributes``."""
    return utf8_size(body) + attributes_size(attributes or {})


class OutgoingMessage(NamedTuple):
    """A message to send: body, String attributes, and its size as SQS counts it."""

    body: str
    attributes: Mapping[str, str]
    size: int


def message(body: str, attributes: Mapping[str, str] | None = None) -> OutgoingMessage:
    attributes = attributes or {}
    return OutgoingMessage(body, attributes, message_size(body, attributes))
