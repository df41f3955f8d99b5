"""Generated account records for the demo, the end-to-end tests and the benchmark — with known answers.

The mix is what production sends: mostly valid records, some invalid ones (each breaking the contract in a
way with a known reason), exact duplicates (SQS delivers at least once) and out-of-order updates (an older
version of an account arriving after a newer one). :class:`Sample` keeps what the pipeline must end with, so a
caller can check the result instead of trusting counters.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)

INVALID_VARIANTS: tuple[tuple[dict[str, Any], str], ...] = (
    ({"balance": "abc"}, "balance"),
    ({"currency": "US"}, "currency"),
    ({"email": "not-an-email"}, "email"),
    ({"status": "frozen"}, "status"),
    ({"account_id": "has spaces!"}, "account_id"),
)
"""How an invalid record is broken, and the field its rejection reason must name."""


@dataclass
class Sample:
    records: list[dict[str, Any]] = field(default_factory=list)
    newest: dict[str, datetime] = field(default_factory=dict)
    """For every account with at least one valid record: the ``updated_at`` AccountTable must end with."""
    invalid: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    """Each invalid record with the field its LogTable reason must name."""
    duplicates: int = 0
    out_of_order: int = 0

    @property
    def valid_count(self) -> int:
        return len(self.records) - len(self.invalid)


def account_record(account_id: str, version: int, when: datetime, rng: random.Random) -> dict[str, Any]:
    """One valid record, alternating snake_case and camelCase keys as clients do."""
    id_key, updated_key = ("accountId", "updatedAt") if version % 2 else ("account_id", "updated_at")
    return {
        id_key: account_id,
        "name": f"  Customer   {account_id.split('-')[-1]} ",
        "email": f"{account_id}@Example.COM",
        "balance": f"{rng.randint(0, 10**7) / 100:.2f}",
        "currency": rng.choice(["eur", "USD", "gbp"]),
        "status": rng.choice(["active", "active", "suspended"]),
        updated_key: when.isoformat(),
    }


def generate_sample(
    count: int,
    *,
    seed: int = 7,
    prefix: str = "acct",
    invalid_share: float = 0.02,
    duplicate_share: float = 0.04,
    out_of_order_share: float = 0.04,
) -> Sample:
    """``count`` records: new accounts, with a share of invalid, duplicate and out-of-order ones mixed in."""
    rng = random.Random(seed)
    sample = Sample()
    stored: list[dict[str, Any]] = []
    held_back: list[dict[str, Any]] = []
    serial = 0
    while len(sample.records) < count:
        roll = rng.random()
        if roll < invalid_share:
            serial += 1
            change, field_name = INVALID_VARIANTS[serial % len(INVALID_VARIANTS)]
            record = account_record(f"{prefix}-bad-{serial:06d}", 0, BASE_TIME, rng)
            record.update(change)
            sample.invalid.append((record, field_name))
            sample.records.append(record)
        elif roll < invalid_share + duplicate_share and stored:
            sample.records.append(dict(rng.choice(stored)))
            sample.duplicates += 1
        elif roll < invalid_share + duplicate_share + out_of_order_share and held_back:
            sample.records.append(held_back.pop(rng.randrange(len(held_back))))
            sample.out_of_order += 1
        else:
            serial += 1
            account_id = f"{prefix}-{serial:06d}"
            newer_at = BASE_TIME + timedelta(minutes=serial)
            record = account_record(account_id, 2, newer_at, rng)
            sample.records.append(record)
            stored.append(record)
            sample.newest[account_id] = newer_at
            # An older version of the same account, sent later: it must never overwrite this one.
            held_back.append(account_record(account_id, 1, newer_at - timedelta(days=1), rng))
    return sample


def parse_time(value: str) -> datetime:
    """An ``updated_at`` as stored (``...Z``) or as sent (``+00:00``), as an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
