"""Text SQS would refuse in a body or an attribute value, escaped."""

from __future__ import annotations

import re

_SQS_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""Characters SQS refuses in a body or attribute value: the complement of its allowed set (#x9 | #xA | #xD |
#x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF), spelled out because a negated class spanning the whole of
Unicode is slow to compile, and this one compiles at every cold start."""


def sqs_text(text: str) -> str:
    """``text`` with every character SQS would refuse written as a ``\\uXXXX`` escape (reasons quote
    record values, which may hold lone surrogates or U+FFFF from JSON escapes)."""
    if text.isascii() and text.isprintable():
        return text
    return _SQS_REFUSED.sub(lambda match: f"\\u{ord(match.group()):04x}", text)
