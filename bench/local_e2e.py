"""Throughput of the whole pipeline on the local stack, next to the emulator's own write limit.

Three figures from one run, on one in-process local stack (moto server + dispatcher + real handlers):

1. ``PutItem`` limit: plain conditional ``PutItem`` calls (the writer's exact condition) from a client pool,
   straight at the emulator — the unavoidable cost of one record (a few hundred per second over HTTP on two
   cores).
2. Upload path: one S3 object of N records → notification → transformer → WriterQueue → writer → AccountTable;
   records/s from the upload to "every queue drained".
3. API path: the same number of records POSTed one per request with ``pipeline-ctl send``'s library function
   at concurrency 8 → WriterQueue → writer → AccountTable.

Target: upload path ≥ 0.7 × the PutItem limit — the pipeline's own overhead (S3 read, queues, dispatch) stays
small next to the writes it cannot avoid. The handlers' calls take the in-process road by default
(``inprocess``); the upload path is also measured with every call over HTTP (``in_process=False``),
which is the like-for-like comparison with the PutItem limit.

Run: ``.venv/bin/python bench/local_e2e.py [--records 5000]``
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from local_stack.sample import generate_sample
from local_stack.stack import LocalStack

TARGET_RATIO = 0.7
CONDITION = "attribute_not_exists(account_id) OR updated_at < :new"


def put_item_rate(stack: LocalStack, count: int, concurrency: int) -> float:
    """Conditional PutItems/s against the emulator (a table of its own, so the pipeline's stays clean)."""
    dynamodb = stack.client("dynamodb")
    table = f"bench-putitem-{concurrency}"
    dynamodb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "account_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "account_id", "KeyType": "HASH"}],
    )

    def put(n: int) -> None:
        dynamodb.put_item(
            TableName=table,
            Item={
                "account_id": {"S": f"bench-{n:06d}"},
                "name": {"S": "Bench Customer"},
                "email": {"S": f"bench{n}@example.com"},
                "balance": {"N": "1234.56"},
                "currency": {"S": "EUR"},
                "status": {"S": "active"},
                "updated_at": {"S": "2026-01-01T00:00:00.000000Z"},
            },
            ConditionExpression=CONDITION,
            ExpressionAttributeValues={":new": {"S": "2026-01-01T00:00:00.000000Z"}},
        )

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(put, range(count)))
    return count / (time.perf_counter() - started)


def upload_rate(stack: LocalStack, records: list[dict[str, Any]], workdir: Path) -> tuple[float, int]:
    path = workdir / "bench-upload.json"
    path.write_text(json.dumps(records))
    before = stack.counters()
    started = time.perf_counter()
    stack.client("s3").upload_file(str(path), stack.outputs["data_bucket"], "bench/upload.json")
    stack.wait_until_idle(600)
    elapsed = time.perf_counter() - started
    written = stack.counters()["dynamodb.written"] - before["dynamodb.written"]
    return len(records) / elapsed, written


def api_rate(stack: LocalStack, records: list[dict[str, Any]], workdir: Path) -> tuple[float, int, int]:
    from ops.send import SendOptions, send
    from ops.target import resolve_target

    target = resolve_target(workdir=workdir)
    before = stack.counters()
    started = time.perf_counter()
    report = send(target, records, options=SendOptions(batch=1, concurrency=8))  # the one-record path
    stack.wait_until_idle(600)
    elapsed = time.perf_counter() - started
    written = stack.counters()["dynamodb.written"] - before["dynamodb.written"]
    return len(records) / elapsed, report.accepted, written


def valid_records(count: int, prefix: str) -> list[dict[str, Any]]:
    """New accounts only: every record is one write, so records/s compares with PutItem/s."""
    return generate_sample(
        count, prefix=prefix, invalid_share=0.0, duplicate_share=0.0, out_of_order_share=0.0
    ).records


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5000, help="records per path")
    parser.add_argument("--putitems", type=int, default=2000, help="PutItem calls per measurement")
    args = parser.parse_args()
    upload_records, api_records, http_records = (
        valid_records(args.records, p) for p in ("up", "api", "http")
    )
    print(
        f"local stack, {args.records} records per path (moto server on 127.0.0.1, real handlers)", flush=True
    )
    written: list[int] = []
    with tempfile.TemporaryDirectory(prefix="bench-local-") as directory:
        workdir = Path(directory)
        with LocalStack(workdir, fresh=True) as stack:
            limits = {c: put_item_rate(stack, args.putitems, c) for c in (1, 8)}
            for concurrency, rate in limits.items():
                print(f"  conditional PutItem, {concurrency} client thread(s):  {rate:6.0f} /s", flush=True)
            limit = max(limits.values())
            upload, count = upload_rate(stack, upload_records, workdir)
            written.append(count)
            print(f"  upload → AccountTable, handlers in-process: {upload:6.0f} records/s", flush=True)
        with LocalStack(workdir, in_process=False) as stack:
            over_http, count = upload_rate(stack, http_records, workdir)
            written.append(count)
            print(f"  upload → AccountTable, all calls over HTTP: {over_http:6.0f} records/s", flush=True)
        with LocalStack(workdir) as stack:
            api, accepted, count = api_rate(stack, api_records, workdir)
            written.append(count)
            print(f"  POST /writer (send, concurrency 8) → table: {api:6.0f} records/s", flush=True)

    ratio = upload / limit
    verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
    print(f"  PutItem limit (best of the above): {limit:.0f} /s")
    print(f"  upload / PutItem limit = {ratio:.2f}  (target ≥ {TARGET_RATIO}: {verdict})")
    print(f"  upload over HTTP / PutItem limit = {over_http / limit:.2f}")
    print(f"  POST / PutItem limit = {api / limit:.2f}  ({accepted} accepted)")
    complete = written == [args.records] * 3
    if not complete:
        print(f"  ERROR: not every record was written: {written}", file=sys.stderr)
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
