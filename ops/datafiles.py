"""One rule for a data file given to ``send`` or ``upload``: what makes it unusable, said the same way.

A file is refused (``InvalidInput``, before anything is sent or uploaded) when it does not exist, is a
directory, cannot be read, is empty (nothing but whitespace), or is not JSON in one of the accepted shapes.
``send`` parses the text it sends; ``upload`` streams the file through the transformer's own reader
(``ops.upload.count_records``), because an uploaded file may be far larger than memory. ``upload
--force`` uploads a refused file anyway (it then ends in LogTable as an ``UnreadableFile``), but a missing
file or a directory cannot be uploaded at all.
"""

from __future__ import annotations

import os
from pathlib import Path

from ops.errors import InvalidInput

SHAPES_HINT = "input is a JSON object, a JSON array, or JSON Lines (one object per line)"


def check_readable(path: Path) -> int:
    """The file's size; ``InvalidInput`` when it is missing, a directory or unreadable."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InvalidInput(f"{path}: no such file") from None
    except OSError as error:
        raise InvalidInput(f"{path}: {error.strerror}") from None
    if path.is_dir():
        raise InvalidInput(f"{path}: is a directory", hint="give the data files inside it, e.g. dir/*.json")
    if not os.access(path, os.R_OK):
        raise InvalidInput(f"{path}: permission denied")
    return size


def read_text(path: Path) -> str:
    """The whole file as text, refused by the rule above (and when it is not UTF-8, or empty)."""
    check_readable(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(f"{path}: not UTF-8 text") from None
    except OSError as error:
        raise InvalidInput(f"{path}: {error.strerror}") from None
    if not text.strip():
        raise empty(path)
    return text


BLANK_CHECK_BYTES = 1 << 20
"""A file larger than this is not read whole just to see whether it is only whitespace."""


def is_blank(path: Path, size: int) -> bool:
    """True for an empty file or one holding only whitespace (read only when it is small)."""
    if size == 0:
        return True
    if size > BLANK_CHECK_BYTES:
        return False
    return not path.read_bytes().strip()


def empty(name: Path | str, *, hint: str | None = None) -> InvalidInput:
    return InvalidInput(f"{name}: no records (the file is empty)", hint=hint)


def not_json(name: Path | str, detail: str) -> InvalidInput:
    return InvalidInput(f"{name}: not valid JSON: {detail}", hint=SHAPES_HINT)
