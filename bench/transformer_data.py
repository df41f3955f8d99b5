"""Generated account files for the transformer benchmarks (deterministic, no network, no fixtures on disk)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
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
