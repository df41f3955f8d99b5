"""Transformer throughput on every record shape, against plain ``json.loads`` + ``json.dumps`` of the data.

Run from the repository root: ``python -m bench.transformer_throughput`` (``--records N``, ``--runs N``,
``--only string snake clean absent lines``, ``--memory-only``).

Records come in many shapes, and each takes its own paths through the contract, so one figure for one shape
says little. The bench times a **matrix** (``bench.transformer_data.SHAPES``): balances as JSON numbers with
a fraction, as strings (``"120.50"``) and as integers; snake_case and camelCase keys; clean text and text as
people type it (padded names and emails, mixed-case emails, currencies and statuses); ``Z`` and whole-hour
offsets, or no ``updated_at`` and ``status`` at all (the defaults apply); the records in one JSON array or
as JSON Lines. The README tour's records are the cell ``string snake clean absent lines``. Each cell is
measured two ways, in alternating rounds, and each is judged against the target:

* **memory**: the file's bytes in memory through ``transform_stream`` into a counting sink (the real packing
  and batching code; only the network call is gone), against the stdlib reading the same bytes the way the
  file needs, and writing them back: ``json.dumps(json.loads(data))`` for an array, ``json.loads`` of each
  line then one ``json.dumps`` for JSON Lines (the stdlib has no one-call JSON Lines reader: a line at a
  time is what a JSON Lines file costs any reader that keeps one broken line from costing the file);
* **S3 + handler**, as Lambda runs it: the file is an object in moto (in a child process, so its server
  work is not counted: in AWS it is the services' work, not the function's) and the real handler
  (``functions.transformer.handler.handler``) runs on an S3 event naming it, reading the object as a stream
  and sending to an SQS queue. Its baseline does what any transformer must do at least on the same
  object: ``GetObject`` and read, the stdlib's reading as above, ``json.dumps``, and the result sent to a
  queue in messages of the same size limit, ``SendMessageBatch`` calls of the same limits.

The baseline validates nothing: the transformer does all the contract's work (every rule, the columns and
per-value reasons) and is held to at least the speed of stdlib JSON that does none. That is stricter than a
baseline that would run the contract over stdlib-parsed records.

Every cell is run once untimed first (a warm Lambda: the offset tables are built once per process, see
``functions/contract/utc.py``); then the rounds go through the whole matrix one round at a time, so a noisy
moment on the shared machine costs one round of a few cells, which the median drops, not every round of one
cell. The machine is shared and noisy, so every side is timed in CPU time (``process_time``: single-threaded
CPU work; wall time on a shared machine mostly measures the neighbours), each round times the two sides back
to back (the baseline first in one round, second in the next) and its ratio is baseline time ÷ transformer
time (records/s over records/s); min / median / max over ``--runs`` rounds are printed per cell. Targets:
ratio >= 1.0 in every cell; SendMessageBatch calls per 1,000 records <= 1. Prints PASS/FAIL and the machine
load; exits 0 either way (a measurement, not a test).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.lambda_context import BenchContext
from bench.transformer_data import SHAPES, Shape, shaped_file
from functions.model import MAX_MESSAGE_BYTES, SQS_BATCH_MAX_BYTES, SQS_BATCH_MAX_ENTRIES
from functions.transformer.core import transform_stream

RECORDS = 20_000
RUNS = 3
TARGET_RATIO = 1.0
TARGET_CALLS_PER_1000 = 1.0
BUCKET = "bench-data"
REGION = "us-east-1"


class CountingSink:
    """Stands in for SendMessageBatch: counts calls, entries and bytes, accepts everything."""

    def __init__(self) -> None:
        self.calls = 0
        self.entries = 0
        self.bytes = 0

    def __call__(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self.calls += 1
        self.entries += len(entries)
        self.bytes += sum(len(entry["MessageBody"]) for entry in entries)
        return []


CONTEXT = BenchContext("bench-transformer", memory_limit_in_mb=512)


def _cpu(work: Any) -> float:
    start = time.process_time()
    work()
    return time.process_time() - start


class MotoServer:
    """moto in server mode in a child process on 127.0.0.1: S3 and SQS over HTTP, its CPU not ours."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.1)

    def quiet(self, *, poll: float = 0.05, limit: float = 3.0) -> None:
        """Wait until the server's process has used no CPU for one poll: on two shared cores its leftover
        work would otherwise slow whichever side runs next (CPU time included)."""
        stat = Path(f"/proc/{self.process.pid}/stat")
        deadline = time.monotonic() + limit
        before = None
        while time.monotonic() < deadline:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            ticks = int(fields[11]) + int(fields[12])  # utime + stime
            if ticks == before:
                return
            before = ticks
            time.sleep(poll)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


class S3Side:
    """The object in moto, the real handler on an S3 event, and the stdlib baseline on the same object."""

    def __init__(self, server: MotoServer) -> None:
        os.environ.update(
            AWS_ENDPOINT_URL=server.url,
            AWS_REGION=REGION,
            AWS_DEFAULT_REGION=REGION,
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",
            POWERTOOLS_LOG_LEVEL="WARNING",
        )
        from functions import aws
        from functions.transformer.handler import handler

        self.handler = handler
        self.s3 = aws.client("s3")
        self.sqs = aws.client("sqs")
        self.s3.create_bucket(Bucket=BUCKET)

    def put(self, key: str, data: bytes) -> None:
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=data)

    def delete(self, key: str) -> None:
        """A cell's object gone once it is measured: the server holds one file at a time."""
        self.s3.delete_object(Bucket=BUCKET, Key=key)

    def _queue(self) -> str:
        """A fresh queue per run: moto's SQS costs grow with the messages a queue holds."""
        return str(self.sqs.create_queue(QueueName=f"bench-{uuid.uuid4().hex[:12]}")["QueueUrl"])

    def transformer(self, key: str, records: int) -> float:
        queue_url = self._queue()
        os.environ["WRITER_QUEUE_URL"] = queue_url
        event = {
            "Records": [
                {
                    "eventSource": "aws:s3",
                    "eventName": "ObjectCreated:Put",
                    "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                    "s3": {"bucket": {"name": BUCKET}, "object": {"key": key}},
                }
            ]
        }
        result: dict[str, Any] = {}
        seconds = _cpu(lambda: result.update(self.handler(event, CONTEXT)))
        [report] = result["objects"]
        assert report["valid"] == records, report
        self.sqs.delete_queue(QueueUrl=queue_url)
        return seconds

    def baseline(self, key: str, file: str) -> float:
        queue_url = self._queue()

        def work() -> None:
            body = self.s3.get_object(Bucket=BUCKET, Key=key)["Body"]
            text = stdlib(body.read(), file)
            body.close()
            limit = MAX_MESSAGE_BYTES - 1024  # room for attributes, as the transformer leaves
            per_batch = min(SQS_BATCH_MAX_ENTRIES, SQS_BATCH_MAX_BYTES // MAX_MESSAGE_BYTES)
            chunks = [text[start : start + limit] for start in range(0, len(text), limit)]
            for first in range(0, len(chunks), per_batch):
                entries = [
                    {"Id": str(index), "MessageBody": chunk}
                    for index, chunk in enumerate(chunks[first : first + per_batch])
                ]
                self.sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)

        seconds = _cpu(work)
        self.sqs.delete_queue(QueueUrl=queue_url)
        return seconds


def stdlib(data: bytes, file: str) -> str:
    """The baseline's work on a file: read by the stdlib as the file needs (the whole array at once, JSON
    Lines a line at a time), written back as one JSON text."""
    if file == "lines":
        return json.dumps([json.loads(line) for line in data.splitlines()])
    return json.dumps(json.loads(data))


def _memory_round(
    data: bytes,
    file: str,
    key: str,
    count: int,
    *,
    baseline_first: bool = True,
    settle: Callable[[], None] | None = None,
) -> tuple[float, float, int]:
    """One round in memory: (baseline CPU seconds, transformer CPU seconds, SendMessageBatch calls)."""
    sink = CountingSink()
    reports: list[Any] = []

    def transformer() -> float:
        return _cpu(
            lambda: reports.append(
                transform_stream(io.BytesIO(data), source=f"s3://{BUCKET}/{key}", sink=sink)
            )
        )

    baseline, transformed = _in_order(
        lambda: _cpu(lambda: stdlib(data, file)), transformer, baseline_first, settle
    )
    assert reports[0].valid == count, reports[0]
    return baseline, transformed, sink.calls


def _s3_round(
    s3: S3Side, key: str, file: str, count: int, *, baseline_first: bool, settle: Callable[[], None] | None
) -> tuple[float, float]:
    """One round from S3 through the handler: (baseline CPU seconds, transformer CPU seconds)."""
    return _in_order(
        lambda: s3.baseline(key, file), lambda: s3.transformer(key, count), baseline_first, settle
    )


def _in_order(
    baseline: Any, transformer: Any, baseline_first: bool, settle: Any = None
) -> tuple[float, float]:
    """Both sides' seconds, the baseline's run first or second: rounds alternate, so whatever the first run
    leaves behind (warm caches, garbage to collect) falls on each side as often. ``settle`` (when given)
    runs before each side: the moto server's leftover work must not overlap a timed run."""
    sides = [baseline, transformer] if baseline_first else [transformer, baseline]
    seconds = []
    for side in sides:
        if settle is not None:
            settle()
        seconds.append(side())
    return (seconds[0], seconds[1]) if baseline_first else (seconds[1], seconds[0])


def _spread(ratios: list[float]) -> str:
    return f"{min(ratios):5.2f} {statistics.median(ratios):5.2f} {max(ratios):5.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=RECORDS, help="records per cell (default %(default)s)")
    parser.add_argument("--runs", type=int, default=RUNS, help="rounds per cell (default %(default)s)")
    parser.add_argument("--only", nargs="*", default=[], help="cells whose label holds all these words")
    parser.add_argument("--memory-only", action="store_true", help="skip the S3 + handler measurement")
    options = parser.parse_args(argv)
    shapes = [shape for shape in SHAPES if all(word in shape.label.split() for word in options.only)]
    count = options.records
    print(f"{len(shapes)} cells, {count:,} records each, {options.runs} rounds; CPU time")
    print(f"load before: {Path('/proc/loadavg').read_text().strip()}")
    server = None if options.memory_only else MotoServer()
    try:
        s3 = None if server is None else S3Side(server)
        settle = None if server is None else server.quiet
        header = f"{'balance keys  text   zone   file':<34} {'memory min   med   max':>22}"
        if s3 is not None:
            header += f"  {'S3 + handler min  med   max':>28}  {'records/s':>10}"
        files = {shape: shaped_file(count, shape) for shape in shapes}
        keys = {shape: f"bench/{'-'.join(shape.label.split())}.json" for shape in shapes}
        if s3 is not None:
            for shape in shapes:
                s3.put(keys[shape], files[shape])
        memory: dict[Shape, list[float]] = {shape: [] for shape in shapes}
        handler: dict[Shape, list[float]] = {shape: [] for shape in shapes}
        rates: dict[Shape, list[float]] = {shape: [] for shape in shapes}
        calls_per_1000 = 0.0
        for shape in shapes:  # untimed, as a warm Lambda has run: tables built once per process (zones)
            _memory_round(files[shape], shape.file, keys[shape], count)
        for round_number in range(options.runs):  # a round of every cell, then the next round
            first = round_number % 2 == 0  # the baseline runs first in even rounds, second in odd ones
            for shape in shapes:
                data, key = files[shape], keys[shape]
                baseline, transformer, calls = _memory_round(
                    data, shape.file, key, count, baseline_first=first, settle=settle
                )
                memory[shape].append(baseline / transformer)
                calls_per_1000 = max(calls_per_1000, calls / count * 1000)
                if s3 is not None:
                    baseline, transformer = _s3_round(
                        s3, key, shape.file, count, baseline_first=first, settle=settle
                    )
                    handler[shape].append(baseline / transformer)
                    rates[shape].append(count / transformer)
            print(f"# round {round_number + 1} of {options.runs} done", file=sys.stderr, flush=True)
        if s3 is not None:
            for shape in shapes:
                s3.delete(keys[shape])
        print(header)
        worst: dict[str, tuple[float, str]] = {}
        for shape in shapes:
            row = f"{shape.label:<34} {_spread(memory[shape]):>22}"
            for side, ratios in (("memory", memory[shape]), ("S3 + handler", handler[shape])):
                if ratios and (side not in worst or statistics.median(ratios) < worst[side][0]):
                    worst[side] = (statistics.median(ratios), shape.label)
            if handler[shape]:
                row += f"  {_spread(handler[shape]):>28}  {statistics.median(rates[shape]):>10,.0f}"
            print(row, flush=True)
        for side, (ratio, label) in worst.items():
            verdict = "PASS" if ratio >= TARGET_RATIO else "FAIL"
            print(
                f"worst median, {side:<12}: {ratio:.2f} ({' '.join(label.split())})  "
                f"target >= {TARGET_RATIO}  {verdict}"
            )
        verdict = "PASS" if calls_per_1000 <= TARGET_CALLS_PER_1000 else "FAIL"
        print(
            f"SendMessageBatch calls per 1,000 records (most of any cell): {calls_per_1000:.3f}  "
            f"target <= {TARGET_CALLS_PER_1000}  {verdict}"
        )
    finally:
        if server is not None:
            server.stop()
    print(f"load after: {Path('/proc/loadavg').read_text().strip()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
