"""Flow under load on the local stack: one 100,000-record file and a concurrent ``send`` of 10,000 records.

The product's promise, checked on one in-process local stack (moto server + dispatcher + the real handlers)
under its default configuration: every valid record lands in AccountTable; LogTable holds the invalid
records and nothing else (no ``DeadlineExceeded``, no ``RetriesExhausted``: the DLQ held failures only);
the DLQ is empty at the end; nobody replays anything. Records are shaped like the README's tour — balances
as strings, camelCase and snake_case keys, padded and mixed-case names and emails, timestamps with offsets —
with a known share that breaks the contract, each on its own account id so the check is per record.

Printed: the emulator's conditional-PutItem rate (the baseline, measured first in the same run), the time
from the upload's start until everything has landed, records/s, and their ratio. Exit 1 when the promise
fails (what failed is printed), 0 otherwise.

Run: ``.venv/bin/python -m bench.flow [--file-records 100000] [--send-records 10000]`` (heavy: minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.local_e2e import put_item_rate
from local_stack.stack import LocalStack

INVALID_SHARE = 0.02
INVALID_CHANGES: tuple[dict[str, str], ...] = (
    {"balance": "12,50"},
    {"currency": "EURO"},
    {"email": "no-at-sign.example.com"},
    {"status": "frozen"},
)
"""Ways a record breaks the contract (each kept on its own account id, so its LogTable item is findable)."""
OFFSETS = ("+02:00", "-05:00", "Z", "+05:30")
BASE = datetime(2026, 1, 1, tzinfo=UTC)
LAND_TIMEOUT_SECONDS = 3600
PUTITEM_CALLS = 2000


def tour_record(account_id: str, number: int, rng: random.Random) -> dict[str, Any]:
    """A valid record as the README's tour writes them, with the variety clients send."""
    camel = number % 2 == 0
    when = (BASE + timedelta(seconds=number)).isoformat().replace("+00:00", "")
    offset = OFFSETS[number % len(OFFSETS)]
    return {
        ("accountId" if camel else "account_id"): account_id,
        "name": f"  Ada   Lovelace {number} ",
        "email": f" Ada.{number}@Example.COM ",
        "balance": f"{rng.randint(0, 10**7) / 100:.2f}",
        "currency": rng.choice(("eur", "USD", "Gbp")),
        ("updatedAt" if camel else "updated_at"): when + offset,
    }


def generate(prefix: str, count: int, seed: int) -> tuple[list[dict[str, Any]], set[str], set[str]]:
    """Records, the ids of the valid ones, the ids of the invalid ones."""
    rng = random.Random(seed)
    records, valid, invalid = [], set(), set()
    for number in range(count):
        account_id = f"{prefix}-{number:06d}"
        record = tour_record(account_id, number, rng)
        if rng.random() < INVALID_SHARE:
            record.update(INVALID_CHANGES[number % len(INVALID_CHANGES)])
            invalid.add(account_id)
        else:
            valid.add(account_id)
        records.append(record)
    return records, valid, invalid


def scan(stack: LocalStack, table: str, projection: str) -> list[dict[str, Any]]:
    pages = (
        stack.client("dynamodb")
        .get_paginator("scan")
        .paginate(TableName=table, ProjectionExpression=projection)
    )
    return [item for page in pages for item in page["Items"]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file-records", type=int, default=100_000)
    parser.add_argument("--send-records", type=int, default=10_000)
    args = parser.parse_args()
    file_records, file_valid, file_invalid = generate("file", args.file_records, seed=1)
    sent_records, sent_valid, sent_invalid = generate("sent", args.send_records, seed=2)
    valid, invalid = file_valid | sent_valid, file_invalid | sent_invalid
    total = len(file_records) + len(sent_records)
    print(
        f"flow bench, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load {os.getloadavg()[0]:.1f}, "
        f"{os.cpu_count()} cores: {len(file_records):,} records in one file + {len(sent_records):,} sent "
        f"concurrently ({len(invalid):,} invalid by contract)",
        flush=True,
    )
    from ops.send import send
    from ops.target import resolve_target
    from ops.upload import upload

    with tempfile.TemporaryDirectory(prefix="bench-flow-") as directory:
        workdir = Path(directory)
        path = workdir / "accounts.json"
        with path.open("w", encoding="utf-8") as out:
            for record in file_records:
                out.write(json.dumps(record, separators=(",", ":")) + "\n")
        print(f"  file: {path.stat().st_size / 1e6:.1f} MB of JSON Lines", flush=True)
        with LocalStack(workdir, fresh=True) as stack:
            baseline = put_item_rate(stack, PUTITEM_CALLS, 8)
            print(
                f"  conditional PutItem straight at the emulator (8 threads): {baseline:6.0f} /s", flush=True
            )
            target = resolve_target(workdir=workdir)
            before = stack.counters()
            sender_result: dict[str, Any] = {}

            def send_all() -> None:
                try:
                    sender_result["report"] = send(target, iter(sent_records))
                except Exception as error:  # reported below, the bench fails
                    sender_result["error"] = error

            started = time.perf_counter()
            sender = threading.Thread(target=send_all, name="bench-send")
            sender.start()
            upload(target, [path], prefix="bench")
            sender.join()
            stack.wait_until_idle(LAND_TIMEOUT_SECONDS)
            elapsed = time.perf_counter() - started
            counters = stack.counters()
            dlq = stack.client("sqs").get_queue_attributes(
                QueueUrl=stack.outputs["dlq_url"],
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            landed = {
                item["account_id"]["S"] for item in scan(stack, stack.outputs["account_table"], "account_id")
            }
            logged = scan(stack, stack.outputs["log_table"], "error_type, account_id")

    logged_ids = Counter(item.get("account_id", {}).get("S") for item in logged)
    accounted = len(landed & valid) + len(set(logged_ids) & invalid)
    rate = accounted / elapsed
    print(
        f"  time until the stack was idle: {elapsed:.1f} s; {accounted:,} of {total:,} records accounted for"
    )
    print(f"  (landed, or logged as invalid): {rate:.0f} records/s")
    print(f"  records/s ÷ conditional PutItem/s = {rate / baseline:.2f}")
    written = counters["dynamodb.written"] - before["dynamodb.written"]
    stale = counters["dynamodb.stale"] - before["dynamodb.stale"]
    print(f"  AccountTable writes: {written:,} written, {stale:,} stale; {len(landed):,} accounts")
    types = Counter(item["error_type"]["S"] for item in logged)
    kinds = ", ".join(f"{count:,} {kind}" for kind, count in types.most_common()) or "none"
    print(f"  LogTable: {len(logged):,} items ({kinds})")

    failures = []
    if "error" in sender_result:
        failures.append(f"send failed: {sender_result['error']!r}")
    elif not sender_result["report"].ok:
        failures.append(f"send: records rejected by the API: {dict(sender_result['report'].rejected)}")
    missing = valid - landed
    if missing:
        failures.append(f"{len(missing):,} valid records did not land (e.g. {sorted(missing)[:3]})")
    if landed - valid:
        failures.append(f"{len(landed - valid):,} accounts landed that are invalid by contract")
    other = {kind: count for kind, count in types.items() if kind != "InvalidRecord"}
    if other:
        failures.append(f"LogTable holds failures that are not invalid records: {other}")
    unlogged = invalid - set(logged_ids)
    twice = [key for key, count in logged_ids.items() if key is not None and count > 1]
    wrongly = set(logged_ids) - invalid - {None}
    if unlogged or twice or wrongly:
        failures.append(
            f"LogTable is not exactly the invalid records: {len(unlogged):,} invalid not logged, "
            f"{len(twice):,} logged more than once, {len(wrongly):,} valid ones logged"
        )
    left = int(dlq["ApproximateNumberOfMessages"]) + int(dlq["ApproximateNumberOfMessagesNotVisible"])
    if left:
        failures.append(f"the DLQ still holds {left} messages")
    if failures:
        for failure in failures:
            print(f"  PROMISE FAILED: {failure}", file=sys.stderr)
        return 1
    print("  promise held: every valid record landed, LogTable = the invalid records, DLQ empty, no replay")
    return 0


if __name__ == "__main__":
    sys.exit(main())
