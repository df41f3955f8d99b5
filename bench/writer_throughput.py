"""Writer throughput and CPU: the real handler against a DynamoDB with a fixed latency, vs bare boto3.

Run from the repository root: ``python -m bench.writer_throughput [--runs N] [--latencies 10,50]``.

The store is this script in a child process (DynamoDB's JSON protocol on 127.0.0.1, a fixed latency per
request, so its CPU is not counted here; see "the store" below). The writer's input is what the
transformer sends: a generated file run through the real transformer (``transform_stream``), its messages
taken ten at a time as one WriterQueue event (ten full envelopes, ~13,000 records), invoked through the
real handler.

Measured, per latency, in alternating rounds:

* **CPU per written record** of the writer (``process_time`` of this process: every thread, the parse, the
  contract, the requests) against a **bare boto3 ``put_item`` loop** on the same items and the same number
  of threads (the writer's in-flight limit), measured in the same round: the least any boto3 writer pays
  per record. Target: writer / bare ≤ 0.5.
* **In-flight utilisation**: the writer's records per second ÷ (in-flight limit ÷ latency), the most a
  writer with that many requests in flight can pass. Target at 50 ms: ≥ 0.8. The bare loop's own
  utilisation is printed beside it: on a loaded machine neither reaches 1.0 (a thread woken by its answer
  waits for a core), and the bare loop shows how much of the shortfall is the machine's.

Each figure is printed per round and as min / median / max. Exits 0 either way (a measurement).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench.lambda_context import BenchContext
from bench.transformer_data import records
from functions import aws
from functions.transformer.core import transform_stream

TARGET_CPU_RATIO = 0.5
TARGET_UTILISATION_AT_50_MS = 0.8
BARE_RECORDS = 3_000


CONTEXT = BenchContext("bench-writer", memory_limit_in_mb=256)


def writer_event(count_envelopes: int = 10) -> tuple[dict[str, Any], int]:
    """One WriterQueue event of ``count_envelopes`` full transformer envelopes, and its record count."""
    per_envelope = 1_400
    data = json.dumps(list(records(per_envelope * count_envelopes))).encode()
    sent: list[dict[str, Any]] = []

    def sink(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        sent.extend(entries)
        return []

    transform_stream(io.BytesIO(data), source="s3://bench/records.json", sink=sink)
    chosen = sent[:count_envelopes]
    event = {
        "Records": [
            {
                "messageId": f"bench-{index}",
                "receiptHandle": "bench",
                "body": entry["MessageBody"],
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1772359200000"},
                "messageAttributes": {
                    name: {"stringValue": value["StringValue"], "dataType": "String"}
                    for name, value in entry.get("MessageAttributes", {}).items()
                },
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:writer-queue",
                "awsRegion": "us-east-1",
            }
            for index, entry in enumerate(chosen)
        ]
    }
    total = sum(len(json.loads(entry["MessageBody"])["records"]) for entry in chosen)
    return event, total


def bare_items(event: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """The writer's own items for the first ``count`` records (so both sides send the same requests)."""
    from functions.contract import normalise
    from functions.writer.store import to_item

    raws = json.loads(event["Records"][0]["body"])["records"]
    raws = (raws * (count // len(raws) + 1))[:count]
    return [
        to_item(
            normalise(raw),
            source="s3://bench/records.json",
            ingested_at="2026-03-01T10:00:00.000000Z",
            order="2026-03-01T10:00:00.000000Z#0000000000#s3://bench/records.json",
        )
        for raw in raws
    ]


def bare_loop(items: list[dict[str, Any]], threads: int) -> tuple[float, float]:
    """CPU seconds and wall seconds of ``put_item`` for every item, on ``threads`` threads."""
    from functions.writer.store import CONDITION

    client = aws.client("dynamodb")
    shares = [items[index::threads] for index in range(threads)]

    def work(share: list[dict[str, Any]]) -> None:
        for item in share:
            client.put_item(
                TableName="accounts",
                Item=item,
                ConditionExpression=CONDITION,
                ExpressionAttributeValues={":updated": item["updated_at"], ":order": item["ingest_order"]},
            )

    workers = [threading.Thread(target=work, args=(share,)) for share in shares]
    cpu, wall = time.process_time(), time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return time.process_time() - cpu, time.perf_counter() - wall


def run_writer(event: dict[str, Any]) -> tuple[float, float, dict[str, Any]]:
    from functions.writer import handler

    with contextlib.redirect_stdout(io.StringIO()):  # the metrics document is not what is measured
        cpu, wall = time.process_time(), time.perf_counter()
        response = handler.handler(event, CONTEXT)
    return time.process_time() - cpu, time.perf_counter() - wall, response


# --- the store: run by this script in a child process (``--serve-store LATENCY_MS``) -----------------------
#
# DynamoDB's JSON protocol on 127.0.0.1 with a fixed latency per request, in its own process so that its CPU
# never counts in the measured one; asyncio serves every connection on one thread, so holding a request
# for the latency costs nothing. It answers ``{}`` (written) to every request, after the latency; the status
# line, headers and body go out in one write (a response split in two writes meets the client's delayed ACK
# under Nagle and waits ~40 ms that belong to no real service). It prints its port, then serves until its
# stdin closes.

_OK = b"{}"


def _response(body: bytes) -> bytes:
    head = (
        "HTTP/1.1 200 OK\r\n"
        "Content-Type: application/x-amz-json-1.0\r\n"
        "x-amzn-RequestId: bench\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, latency: float) -> None:
    counts = _COUNTS
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            await asyncio.sleep(latency)
            counts[0] += 1
            writer.write(_response(_OK))
    except (asyncio.IncompleteReadError, asyncio.CancelledError, ConnectionError):
        pass
    finally:
        writer.close()


_COUNTS = [0]


async def _serve_store(latency: float) -> None:
    server = await asyncio.start_server(lambda r, w: _serve(r, w, latency), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the bench closes our stdin
    server.close()


def start_store(latency_ms: int) -> tuple[subprocess.Popen[str], int]:
    store = subprocess.Popen(
        [sys.executable, "-m", "bench.writer_throughput", "--serve-store", str(latency_ms)],
        cwd=Path(__file__).resolve().parent.parent,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert store.stdout is not None
    return store, int(store.stdout.readline())


def spread(values: list[float], fmt: str) -> str:
    return " / ".join(format(v, fmt) for v in (min(values), statistics.median(values), max(values)))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latencies", default="10,50")
    parser.add_argument("--envelopes", type=int, default=10)
    parser.add_argument("--serve-store", type=float, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve_store is not None:
        asyncio.run(_serve_store(options.serve_store / 1000))
        return 0
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_REGION="us-east-1",
        ACCOUNT_TABLE="accounts",
        DLQ_URL="http://127.0.0.1:9/unused",
        WRITER_QUEUE_URL="http://127.0.0.1:9/unused",
        POWERTOOLS_METRICS_NAMESPACE="bench",
    )
    import logging

    logging.disable(logging.INFO)  # the handler's per-message log lines are not what is measured
    event, total = writer_event(options.envelopes)
    items = bare_items(event, BARE_RECORDS)
    limit = aws.MAX_POOL_CONNECTIONS
    print(f"load: {Path('/proc/loadavg').read_text().strip()}")
    print(f"event: {len(event['Records'])} envelopes, {total:,} records; bare loop: {len(items):,} put_item")
    for latency_ms in (int(v) for v in options.latencies.split(",")):
        store, port = start_store(latency_ms)
        os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"
        aws.clear_cache()
        try:
            run_writer(writer_event(1)[0])  # warm: clients, connections, imports
            bare_loop(items[:200], limit)
            ratios, utilisations, bare_cpu, writer_cpu, bare_use = [], [], [], [], []
            for round_number in range(1, options.runs + 1):
                cpu_bare, wall_bare = bare_loop(items, limit)
                bare_use.append((len(items) / wall_bare) / (limit / (latency_ms / 1000)))
                cpu_writer, wall_writer, response = run_writer(event)
                assert response["batchItemFailures"] == [], response
                per_bare = cpu_bare / len(items) * 1000
                per_writer = cpu_writer / total * 1000
                utilisation = (total / wall_writer) / (limit / (latency_ms / 1000))
                bare_cpu.append(per_bare)
                writer_cpu.append(per_writer)
                ratios.append(per_writer / per_bare)
                utilisations.append(utilisation)
                print(
                    f"{latency_ms:>3} ms round {round_number}: bare put_item {per_bare:.3f} ms CPU/record, "
                    f"writer {per_writer:.3f} ms CPU/record (ratio {per_writer / per_bare:.2f}), "
                    f"{total / wall_writer:,.0f} records/s = {utilisation:.2f} of the in-flight limit "
                    f"(bare loop: {bare_use[-1]:.2f})"
                )
        finally:
            assert store.stdin is not None
            store.stdin.close()
            store.wait(timeout=10)
        ratio_verdict = "PASS" if statistics.median(ratios) <= TARGET_CPU_RATIO else "FAIL"
        print(f"{latency_ms:>3} ms bare put_item ms CPU/record, min/median/max : {spread(bare_cpu, '.3f')}")
        print(f"{latency_ms:>3} ms writer ms CPU/record, min/median/max        : {spread(writer_cpu, '.3f')}")
        print(
            f"{latency_ms:>3} ms CPU ratio writer/bare, min/median/max       : {spread(ratios, '.2f')}  "
            f"target <= {TARGET_CPU_RATIO}  {ratio_verdict}"
        )
        print(f"{latency_ms:>3} ms bare loop's utilisation, min/median/max    : {spread(bare_use, '.2f')}")
        used = spread(utilisations, ".2f")
        line = f"{latency_ms:>3} ms in-flight utilisation, min/median/max      : {used}"
        if latency_ms == 50:
            verdict = "PASS" if statistics.median(utilisations) >= TARGET_UTILISATION_AT_50_MS else "FAIL"
            line += f"  target >= {TARGET_UTILISATION_AT_50_MS}  {verdict}"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
