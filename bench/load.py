"""Load with faults: mixed records through both entry points at once, 10 % failed writes, then replay-dlq.

    .venv/bin/python -m bench.load                 # 20,000 records, 10 % injected write failures
    .venv/bin/python -m bench.load --records 2000  # a quick run

What it does, on a local stack started in-process:

1. Generates the records and, from the same data, the ground truth: the account pool gets several updates
   each, sent in shuffled order (out-of-order), some sent twice (duplicates), some invalid (a bad currency,
   email, balance or status). Every record carries a unique tag as its ``name``, so the tables can be
   checked record by record.
2. Turns on the local stack's fault switch: each AccountTable ``PutItem`` fails with probability
   ``--fault-rate`` (throttling, which the SDK retries), and every write of ``--sticky-share`` of the
   accounts fails until cleared (so some messages surely exhaust their one receive and reach the DLQ).
3. Sends half the records with ``ops.send`` (the library behind ``pipeline-ctl send``; arrays of
   ``--batch`` records, concurrency 8, waiting out the API's 429 backpressure) while uploading the other
   half as S3 files (arrays, JSON Lines, envelopes), at the same time; waits until the stack is idle.
4. Clears the faults, runs ``ops.replay.replay`` on the ``RetriesExhausted`` LogTable items (what
   ``pipeline-ctl replay-dlq --error-type RetriesExhausted`` does), waits until idle.
5. Accounts, from the ground truth (definitions in :class:`Accounting`), and prints the figures.

Exit status 1 when anything is lost or duplicated.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from functions.model import ErrorType
from local_stack.stack import LocalStack
from ops.replay import replay
from ops.send import SendOptions, send
from ops.target import resolve_target

BASE_TIME = datetime(2024, 1, 1, tzinfo=UTC)
INVALID_MUTATIONS: tuple[tuple[str, Any], ...] = (
    ("currency", "XX"),
    ("email", "no-at-sign.example.com"),
    ("balance", "12,50"),
    ("status", "deleted"),
)
S3_FILE_RECORDS = 500
FILE_SHAPES = ("array", "lines", "envelope")
IDLE_TIMEOUT = 3600.0
SEND_RETRIES = 200
"""Retries per POST on 429/5xx: the local API answers 429 while WriterQueue holds a backlog (API Gateway's
throttling, locally), and a bulk sender faster than the writer must wait for it, not give up."""


# --- the records and their ground truth ------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """One record as sent, with what the pipeline must make of it."""

    tag: str
    account_id: str
    record: dict[str, Any]
    valid: bool
    updated_at: datetime


@dataclass
class LoadPlan:
    api: list[Sent]
    s3: list[Sent]
    newest: dict[str, Sent]
    """Per account: the valid update with the newest ``updated_at`` (what AccountTable must end with)."""
    invalid: dict[str, int]
    """Tag of every invalid record → how many times it was sent (= InvalidRecord items it must leave)."""

    @property
    def sent(self) -> int:
        return len(self.api) + len(self.s3)


def plan_load(
    records: int, *, seed: int = 1, invalid_share: float = 0.1, duplicate_share: float = 0.05
) -> LoadPlan:
    """``records`` sends over ``records // 4`` accounts, shuffled; duplicates re-send valid records."""
    rng = random.Random(seed)
    accounts = max(1, records // 4)
    unique = records - int(records * duplicate_share)
    versions: defaultdict[str, int] = defaultdict(int)
    produced: list[Sent] = []
    for index in range(unique):
        account_id = f"load-{rng.randrange(accounts):06d}"
        versions[account_id] += 1
        # Distinct per account (the version number), in no particular order once shuffled.
        updated_at = BASE_TIME + timedelta(seconds=versions[account_id] * 60 + rng.randrange(60))
        tag = f"L{seed}-{index:07d}"
        record: dict[str, Any] = {
            "account_id": account_id,
            "name": tag,
            "email": f"{account_id}@example.com",
            "balance": f"{rng.randrange(10**7)}.{rng.randrange(100):02d}",
            "currency": rng.choice(("EUR", "USD", "GBP")),
            "updated_at": updated_at.isoformat(),
        }
        valid = rng.random() >= invalid_share
        if not valid:
            name, value = rng.choice(INVALID_MUTATIONS)
            record[name] = value
        produced.append(Sent(tag, account_id, record, valid, updated_at))
    valid_sends = [sent for sent in produced if sent.valid]
    produced += [rng.choice(valid_sends) for _ in range(records - unique)] if valid_sends else []
    rng.shuffle(produced)
    newest: dict[str, Sent] = {}
    invalid: Counter[str] = Counter()
    for sent in produced:
        if not sent.valid:
            invalid[sent.tag] += 1
        elif sent.account_id not in newest or sent.updated_at > newest[sent.account_id].updated_at:
            newest[sent.account_id] = sent
    half = len(produced) // 2
    return LoadPlan(api=produced[:half], s3=produced[half:], newest=newest, invalid=dict(invalid))


def s3_files(sends: list[Sent], *, prefix: str = "load/") -> Iterator[tuple[str, bytes]]:
    """The S3 half as files of ``S3_FILE_RECORDS`` records, rotating through the accepted shapes."""
    for number, start in enumerate(range(0, len(sends), S3_FILE_RECORDS)):
        records = [sent.record for sent in sends[start : start + S3_FILE_RECORDS]]
        shape = FILE_SHAPES[number % len(FILE_SHAPES)]
        if shape == "lines":
            body = "".join(json.dumps(record) + "\n" for record in records)
        elif shape == "envelope":
            body = json.dumps({"source": "bench", "records": records})
        else:
            body = json.dumps(records)
        yield f"{prefix}part-{number:04d}-{shape}.json", body.encode()


# --- running it ---------------------------------------------------------------------------------------------


@dataclass
class Accounting:
    """The figures, each defined from the ground truth.

    * ``lost``: accounts whose stored value is not their newest valid update (missing, or an older or
      invalid one won), + invalid records with no ``InvalidRecord`` LogTable item, + ``RetriesExhausted``
      items still ``NEW`` after the replay (failures nobody resolved).
    * ``duplicated``: LogTable items beyond one per send of an invalid record (the same rejection logged
      twice), + AccountTable items for accounts that were never validly sent.
    * ``unexpected_log``: LogTable items that are neither of the above kinds (``MalformedMessage``,
      ``UnreadableFile``: the generator sends none).
    """

    sent: int = 0
    sent_api: int = 0
    sent_s3: int = 0
    accounts_expected: int = 0
    accounts_stored: int = 0
    written: int = 0
    stale: int = 0
    faulted: int = 0
    logged_invalid: int = 0
    retries_exhausted: int = 0
    replayed: int = 0
    lost: int = 0
    duplicated: int = 0
    unexpected_log: int = 0
    seconds: float = 0.0
    replay_seconds: float = 0.0
    examples: list[str] = field(default_factory=list)

    @property
    def records_per_second(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict[str, Any]:
        values = {k: v for k, v in self.__dict__.items() if k != "examples"}
        values["records_per_second"] = round(self.records_per_second, 1)
        values["examples"] = self.examples[:10]
        return values


_DESERIALIZER = TypeDeserializer()


def _scan(stack: LocalStack, table: str) -> list[dict[str, Any]]:
    client = stack.client("dynamodb")
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=table):
        items += [{k: _DESERIALIZER.deserialize(v) for k, v in item.items()} for item in page["Items"]]
    return items


def account_for(stack: LocalStack, plan: LoadPlan, accounting: Accounting) -> None:
    """Fill ``lost`` / ``duplicated`` / ``unexpected_log`` by comparing both tables with the plan."""
    stored = {item["account_id"]: item for item in _scan(stack, stack.outputs["account_table"])}
    accounting.accounts_expected = len(plan.newest)
    accounting.accounts_stored = len(stored)
    for account_id, want in plan.newest.items():
        got = stored.get(account_id)
        if got is None or got.get("name") != want.tag:
            accounting.lost += 1
            found = None if got is None else got.get("name")
            accounting.examples.append(f"lost: {account_id} holds {found!r}, expected {want.tag}")
    phantoms = set(stored) - set(plan.newest)
    accounting.duplicated += len(phantoms)
    accounting.examples += [f"unexpected account: {account_id}" for account_id in sorted(phantoms)[:5]]

    logged: Counter[str] = Counter()
    for item in _scan(stack, stack.outputs["log_table"]):
        error_type = item.get("error_type")
        if error_type == ErrorType.RETRIES_EXHAUSTED:
            accounting.retries_exhausted += 1
            if item.get("status") != "REPLAYED":
                accounting.lost += 1
                accounting.examples.append(f"unreplayed RetriesExhausted {item.get('error_id')}")
        elif error_type == ErrorType.INVALID_RECORD:
            tag = _tag(str(item.get("body", "")))
            if tag in plan.invalid:
                logged[tag] += 1
            else:
                accounting.unexpected_log += 1
                accounting.examples.append(f"InvalidRecord for a valid record: {str(item.get('body'))[:120]}")
        else:
            accounting.unexpected_log += 1
            accounting.examples.append(f"{error_type}: {str(item.get('error_message'))[:120]}")
    accounting.logged_invalid = sum(min(logged[tag], times) for tag, times in plan.invalid.items())
    for tag, times in plan.invalid.items():
        if logged[tag] < times:
            accounting.lost += times - logged[tag]
            accounting.examples.append(f"invalid record {tag} not in LogTable")
        elif logged[tag] > times:
            accounting.duplicated += logged[tag] - times
            accounting.examples.append(f"invalid record {tag} logged {logged[tag]} times, sent {times}")


def _tag(body: str) -> str | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    return document.get("name") if isinstance(document, dict) else None


def run_load(
    stack: LocalStack,
    plan: LoadPlan,
    *,
    fault_rate: float = 0.1,
    sticky_share: float = 0.01,
    concurrency: int = 8,
    batch: int = 25,
    send_retries: int = SEND_RETRIES,
    sticky_error: str = "ProvisionedThroughputExceededException",
    seed: int = 1,
    idle_timeout: float = IDLE_TIMEOUT,
) -> Accounting:
    """Push ``plan`` through both entry points at once under faults, replay, and account for every record."""
    accounting = Accounting(sent=plan.sent, sent_api=len(plan.api), sent_s3=len(plan.s3))
    before = stack.counters()
    target = resolve_target("local", workdir=stack.workdir)
    rng = random.Random(seed)
    accounts = sorted(plan.newest)
    # At least one account when asked for any: a small run must still exercise the DLQ and the replay.
    sticky = rng.sample(accounts, k=max(1, int(len(accounts) * sticky_share))) if sticky_share else []
    stack.faults.fail_writes(fault_rate, seed=seed)
    stack.faults.fail_account_ids(sticky, error=sticky_error)

    started = time.monotonic()
    upload_error: list[BaseException] = []

    def upload() -> None:
        try:
            s3 = stack.client("s3")
            for key, body in s3_files(plan.s3):
                s3.put_object(Bucket=stack.outputs["data_bucket"], Key=key, Body=body)
        except BaseException as error:  # reported after the join, not lost in the thread
            upload_error.append(error)

    uploader = threading.Thread(target=upload, name="bench-upload")
    uploader.start()
    options = SendOptions(batch=batch, concurrency=concurrency, retries=send_retries)
    report = send(target, [sent.record for sent in plan.api], options=options)
    uploader.join()
    if upload_error:
        raise upload_error[0]
    if not report.ok:
        raise RuntimeError(f"POST /writer refused records: {report.to_dict()}")
    stack.wait_until_idle(timeout=idle_timeout)

    stack.faults.clear()
    replay_started = time.monotonic()
    replayed = replay(target, error_types=[ErrorType.RETRIES_EXHAUSTED.value])
    if not replayed.ok:
        raise RuntimeError(f"replay failed: {replayed.to_dict()['counts']}")
    accounting.replayed = replayed.counts.get("replayed", 0)
    stack.wait_until_idle(timeout=idle_timeout)
    finished = time.monotonic()
    accounting.seconds = finished - started
    accounting.replay_seconds = finished - replay_started

    after = stack.counters()
    accounting.written = after.get("dynamodb.written", 0) - before.get("dynamodb.written", 0)
    accounting.stale = after.get("dynamodb.stale", 0) - before.get("dynamodb.stale", 0)
    accounting.faulted = after.get("dynamodb.faulted", 0) - before.get("dynamodb.faulted", 0)
    account_for(stack, plan, accounting)
    return accounting


def _print(accounting: Accounting, *, records: int, fault_rate: float) -> None:
    a = accounting
    rows = [
        ("sent", f"{a.sent:,} ({a.sent_api:,} via POST /writer, {a.sent_s3:,} in S3 files)"),
        ("written", f"{a.written:,} PutItem successes; {a.accounts_stored:,} accounts stored"),
        ("stale", f"{accounting.stale:,} (older or duplicate updates refused by the condition)"),
        ("logged", f"{accounting.logged_invalid:,} invalid records in LogTable"),
        ("faulted", f"{a.faulted:,} PutItem attempts refused by the fault switch ({fault_rate:.0%})"),
        ("retries exhausted", f"{accounting.retries_exhausted:,} messages through the DLQ redrive"),
        ("replayed", f"{accounting.replayed:,}"),
        ("lost", f"{accounting.lost}"),
        ("duplicated", f"{accounting.duplicated}"),
        ("unexpected log items", f"{accounting.unexpected_log}"),
        ("wall time", f"{a.seconds:.1f} s (replay and its drain: {a.replay_seconds:.1f} s)"),
        ("records/s", f"{accounting.records_per_second:.0f}"),
    ]
    print(f"bench/load.py: {records:,} records, fault rate {fault_rate:.0%}")
    for name, value in rows:
        print(f"  {name:<22}{value}")
    for example in accounting.examples[:10]:
        print(f"  ! {example}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--fault-rate", type=float, default=0.1)
    parser.add_argument("--sticky-share", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--batch", type=int, default=25, help="records per POST (a JSON array)")
    parser.add_argument("--send-retries", type=int, default=SEND_RETRIES, help="retries per POST on 429/5xx")
    parser.add_argument("--idle-timeout", type=float, default=IDLE_TIMEOUT, help="drain wait (s)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON document")
    args = parser.parse_args(argv)
    plan = plan_load(args.records, seed=args.seed)
    with tempfile.TemporaryDirectory(prefix="bench-load-") as workdir, LocalStack(Path(workdir)) as stack:
        try:
            accounting = run_load(
                stack,
                plan,
                fault_rate=args.fault_rate,
                sticky_share=args.sticky_share,
                concurrency=args.concurrency,
                batch=args.batch,
                send_retries=args.send_retries,
                seed=args.seed,
                idle_timeout=args.idle_timeout,
            )
        except TimeoutError as error:  # the pipeline did not drain: a figure in itself, not a crash
            print(f"bench/load.py: {args.records:,} records did not drain: {error}", file=sys.stderr)
            print(f"  counters at that point: {stack.counters()}", file=sys.stderr)
            return 1
    if args.json:
        print(json.dumps(accounting.to_dict(), indent=2))
    else:
        _print(accounting, records=args.records, fault_rate=args.fault_rate)
    return 1 if accounting.lost or accounting.duplicated or accounting.unexpected_log else 0


if __name__ == "__main__":
    sys.exit(main())
