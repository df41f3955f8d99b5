"""``sqs_text`` escapes exactly the characters SQS refuses, over every code point.

The allowed set is SQS's documented one (SendMessage, ``MessageBody``): #x9 | #xA | #xD | #x20-#xD7FF |
#xE000-#xFFFD | #x10000-#x10FFFF. The module spells out its complement; this checks the two agree.
"""

from __future__ import annotations

import sys

from functions.messages.sqs_text import sqs_text


def sqs_allows(code: int) -> bool:
    return (
        code in (0x9, 0xA, 0xD)
        or 0x20 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )


def test_every_refused_code_point_and_only_those_is_escaped() -> None:
    codes = range(sys.maxunicode + 1)
    every = "".join(map(chr, codes))
    expected = "".join(chr(code) if sqs_allows(code) else f"\\u{code:04x}" for code in codes)
    assert sqs_text(every) == expected


def test_printable_ascii_is_returned_as_is() -> None:
    text = "plain text, 100 % ASCII"
    assert sqs_text(text) is text
