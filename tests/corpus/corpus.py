"""The bad-input corpus: ``manifest.json`` cases, their files, and the generators for the big ones.

The expected outcomes live in the manifest as data, decided from the contract (docs/design.md, docs/cli.md)
and not from what the code happens to do; each case's ``why`` cites the clause, or says the contract is silent
and which behaviour was chosen. Big inputs (a 256 KiB body, 100,000 nesting levels, 100k records) are
generated here at run time instead of being committed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from functions.model import MAX_MESSAGE_BYTES

CORPUS_DIR = Path(__file__).resolve().parent
MANIFEST = CORPUS_DIR / "manifest.json"

NESTING_LEVELS = 100_000
S3_NESTING_LEVELS = 5_000
"""Deeper than any recursive parser's limit (Python's is 1,000)."""
HUGE_FIELD_CHARS = 300_000
"""Over the 256 KiB message limit on its own."""
HUGE_STRING_CHARS = 2_000_000
"""Over the transformer's read limit for one record (functions.transformer.reader.RAW_RECORD_LIMIT_BYTES)."""


def base_record(account_id: str, **overrides: Any) -> dict[str, Any]:
    """A record that passes the contract; the corpus varies one thing at a time from it."""
    record: dict[str, Any] = {
        "account_id": account_id,
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "balance": "10.00",
        "currency": "GBP",
        "updated_at": "2024-01-01T00:00:00Z",
    }
    record.update(overrides)
    return record


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _padded(account_id: str, size: int) -> bytes:
    """A valid record padded with insignificant whitespace to exactly ``size`` bytes."""
    body = _compact(base_record(account_id)).encode()
    pad = size - len(body)
    if pad < 0:
        raise ValueError(f"record already {len(body)} bytes")
    return b"{" + b" " * pad + body[1:]


def deeply_nested(account_id: str, *, as_array: bool, levels: int = NESTING_LEVELS) -> bytes:
    """A valid record whose unknown field ``extra`` is ``levels`` nested arrays."""
    prefix = _compact(base_record(account_id))[:-1] + ', "extra": '
    body = prefix + "[" * levels + "]" * levels + "}"
    return (f"[{body}]" if as_array else body).encode()


def _between(prefix: str, middle: str) -> bytes:
    """An array of three records ``{prefix}-a``, ``{prefix}-b`` and ``{prefix}-c``; ``middle`` is appended to
    the second record's members."""
    second = _compact(base_record(f"{prefix}-b"))[:-1] + ", " + middle + "}"
    records = [_compact(base_record(f"{prefix}-a")), second, _compact(base_record(f"{prefix}-c"))]
    return ("[" + ",\n".join(records) + "]").encode()


GENERATORS: dict[str, Callable[[], bytes]] = {
    "huge_string_s3": lambda: _between("c-s3-hugestr", '"blob": "' + "x" * HUGE_STRING_CHARS + '"'),
    "deep_nesting_s3_100k": lambda: _between(
        "c-s3-deep100k", '"extra": ' + "[" * NESTING_LEVELS + "]" * NESTING_LEVELS
    ),
    "body_at_limit": lambda: _padded("c-api-256k", MAX_MESSAGE_BYTES),
    "body_over_limit": lambda: _padded("c-api-over-256k", MAX_MESSAGE_BYTES + 1),
    "deep_nesting": lambda: deeply_nested("c-api-deep100k", as_array=False),
    "deep_nesting_s3": lambda: deeply_nested("c-s3-deep5k", as_array=True, levels=S3_NESTING_LEVELS),
    "record_over_limit": lambda: _compact(
        [base_record("c-s3-huge-name", name="N" * HUGE_FIELD_CHARS)]
    ).encode(),
    "unknown_field_over_limit": lambda: _compact(
        [base_record("c-s3-huge-unknown", blob="x" * HUGE_FIELD_CHARS)]
    ).encode(),
}


def big_array_records(count: int, *, prefix: str = "big-") -> Iterator[dict[str, Any]]:
    """Small valid records (~120 bytes) for the 100k-record array; balance = index, to check values."""
    for index in range(count):
        yield {
            "account_id": f"{prefix}{index:06d}",
            "name": "N",
            "email": "n@e.io",
            "balance": str(index),
            "currency": "EUR",
            "updated_at": "2024-01-01T00:00:00Z",
        }


def write_big_array(path: Path, count: int, *, prefix: str = "big-") -> int:
    """Write a JSON array of ``count`` records to ``path`` without building it in memory; returns its size."""
    with path.open("w", encoding="utf-8") as out:
        out.write("[")
        for index, record in enumerate(big_array_records(count, prefix=prefix)):
            if index:
                out.write(",\n")
            out.write(json.dumps(record, separators=(",", ":")))
        out.write("]\n")
    return path.stat().st_size


@dataclass(frozen=True)
class Case:
    """One manifest entry. ``payload()``: the exact bytes to upload or POST (None for most CLI cases)."""

    id: str
    kind: str
    entry: dict[str, Any]
    expect: dict[str, Any]
    why: str

    @property
    def via(self) -> str:
        return str(self.entry["via"])

    @property
    def file(self) -> Path | None:
        name = self.entry.get("file")
        return CORPUS_DIR / name if name else None

    def payload(self) -> bytes | None:
        generator = self.entry.get("generate")
        if generator:
            return GENERATORS[generator]() if generator in GENERATORS else None
        return self.file.read_bytes() if self.file else None

    @property
    def separate(self) -> bool:
        """Cases too big for the shared corpus run (the 100k array) have their own test."""
        return bool(self.expect.get("separate_test"))

    @property
    def alternatives(self) -> list[dict[str, Any]]:
        """The acceptable outcomes: ``expect`` itself, or each of ``expect["any_of"]`` where the contract
        allows more than one."""
        return list(self.expect.get("any_of", [self.expect]))

    def markers(self) -> list[str]:
        """Substrings that pick this case's LogTable items out of the others' (account ids, body snippets)."""
        found: list[str] = []
        for expect in self.alternatives:
            found += expect.get("absent", [])
            found += [item["account_id"].strip() for item in expect.get("written", [])]
            found += [log["body_contains"] for log in expect.get("logged", []) if "body_contains" in log]
        return list(dict.fromkeys(found))


def load_cases() -> list[Case]:
    document = json.loads(MANIFEST.read_text(encoding="utf-8"))
    return [Case(**raw) for raw in document["cases"]]
