"""Generated account files for the transformer benchmarks (deterministic, no network, no fixtures on disk)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import product
from pathlib import Path


def records(count: int, *, seed: int = 7) -> Iterator[dict[str, object]]:
    """Realistic ~200-byte records: mixed key spellings, float balances, varied timestamps and offsets."""
    rng = random.Random(seed)
    for index in range(count):
        camel = index % 2 == 0
        yield {
            ("accountId" if camel else "account_id"): f"acct-{index:09d}",
            "name": f"  Customer {rng.choice(['Ann', 'Bo', 'Chen', 'Dara'])}   No {index} ",
            "email": f"User.{index}@Example.com",
            "balance": round(rng.uniform(-5_000, 250_000), 2),
            "currency": rng.choice(["usd", "EUR", "gbp"]),
            "status": rng.choice(["Active", "suspended", "closed"]),
            ("updatedAt" if camel else "updated_at"): (
                f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:"
                f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}{rng.choice(['Z', '+02:00', '-05:00'])}"
            ),
        }


@dataclass(frozen=True)
class Shape:
    """One cell of the record-shape matrix: how balances, keys, text and timestamps are written, and how
    the file holds the records."""

    balance: str
    """``float`` (a JSON number with a fraction), ``string`` (``"120.50"``) or ``integer``."""
    keys: str
    """``snake`` (``account_id``, ``updated_at``) or ``camel`` (``accountId``, ``updatedAt``)."""
    text: str
    """``clean`` (already normalised) or ``padded`` (spaces around and inside names and emails, mixed case in
    emails, currencies and statuses)."""
    zone: str
    """``Z``, ``offset`` (``+02:00`` / ``-05:00``), or ``absent``: no ``updated_at`` and no ``status``, so the
    defaults apply (the README tour's records leave both out)."""
    file: str = "array"
    """``array`` (one JSON array) or ``lines`` (JSON Lines, one record a line: the README tour's file)."""

    @property
    def label(self) -> str:
        return f"{self.balance:<7} {self.keys:<5} {self.text:<6} {self.zone:<6} {self.file}"


SHAPES = tuple(
    Shape(*cell)
    for cell in product(
        ("float", "string", "integer"),
        ("snake", "camel"),
        ("clean", "padded"),
        ("Z", "offset", "absent"),
        ("array", "lines"),
    )
)
"""The matrix ``bench/transformer_throughput.py`` times: every combination, 72 cells. The README tour's
records are ``string snake clean absent lines``."""


def shaped_records(count: int, shape: Shape, *, seed: int = 7) -> Iterator[dict[str, object]]:
    """``count`` valid records of one :class:`Shape` (deterministic)."""
    rng = random.Random(seed)
    camel = shape.keys == "camel"
    padded = shape.text == "padded"
    for index in range(count):
        cents = rng.randint(-500_000, 25_000_000)
        balance: object
        if shape.balance == "float":
            balance = round(cents / 100, 2)
        elif shape.balance == "string":
            balance = f"{cents / 100:.2f}"
        else:
            balance = cents // 100
        first = rng.choice(["Ann", "Bo", "Chen", "Dara"])
        if padded:
            name = f"  Customer {first}   No {index} "
            email = f" User.{index}@Example.com "
            currency = rng.choice(["usd", "Eur", "gbp"])
            status = rng.choice(["Active", "SUSPENDED", "closed"])
        else:
            name = f"Customer {first} No {index}"
            email = f"user.{index}@example.com"
            currency = rng.choice(["USD", "EUR", "GBP"])
            status = rng.choice(["active", "suspended", "closed"])
        zone = "Z" if shape.zone == "Z" else rng.choice(["+02:00", "-05:00"])
        updated_at = (
            f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:"
            f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}{zone}"
        )
        record: dict[str, object] = {
            ("accountId" if camel else "account_id"): f"acct-{index:09d}",
            "name": name,
            "email": email,
            "balance": balance,
            "currency": currency,
        }
        if shape.zone != "absent":
            record["status"] = status
            record["updatedAt" if camel else "updated_at"] = updated_at
        yield record


def shaped_file(count: int, shape: Shape) -> bytes:
    """The records of one :class:`Shape` as the file its ``file`` names."""
    records = (json.dumps(record) for record in shaped_records(count, shape))
    if shape.file == "lines":
        return ("\n".join(records) + "\n").encode()
    return ("[" + ",".join(records) + "]").encode()


def write_array(path: Path, count: int) -> int:
    """Write ``count`` records as one JSON array, streamed: the file may be larger than memory should hold."""
    with path.open("w", encoding="utf-8") as out:
        out.write("[")
        for index, record in enumerate(records(count)):
            if index:
                out.write(",\n")
            out.write(json.dumps(record))
        out.write("]\n")
    return path.stat().st_size
