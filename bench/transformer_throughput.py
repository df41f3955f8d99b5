"""Transformer throughput: parse → normalise → pack, against plain json.loads + json.dumps of the same bytes.

Run from the repository root: ``python -m bench.transformer_throughput``. SQS is replaced by a counting sink
(the real packing and batching code runs; only the network call is gone). The baseline is the least any
transformer must do: ``json.dumps(json.loads(data))`` of the whole file in C.

The machine is shared and noisy, so every side is timed in CPU time (``process_time``: all three are
single-threaded CPU work, and wall time on a shared machine mostly measures the neighbours), the sides run
in alternating rounds (``RUNS`` times) and two ratios are printed: best transformer run over best baseline
run (the least disturbed run of each side), and the median of the per-round ratios (each round's two runs
are adjacent in time, so a busy spell tends to slow both). What is measured is the same in both: the same
bytes, the same code. The target is judged on each; a PASS on one and FAIL on the other says the result is
within the noise.

A third side is measured for the record, not as a target: msgspec ``decode`` + ``encode`` of the same bytes,
about the least a Python transformer could spend (the ratio against it is the distance to that limit).

Targets: throughput ratio (transformer / stdlib baseline) >= 1.0; SendMessageBatch calls per 1,000 records
<= 1. Prints PASS/FAIL per target and the machine load; exits 0 either way (a measurement, not a test).
"""

from __future__ import annotations

import io
import json
import statistics
import time
from pathlib import Path
from typing import Any

import msgspec

from bench.transformer_data import records
from functions.transformer.core import transform_stream

RECORDS = 200_000
RUNS = 7
TARGET_RATIO = 1.0
TARGET_CALLS_PER_1000 = 1.0


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


def main() -> int:
    data = ("[" + ",".join(json.dumps(record) for record in records(RECORDS)) + "]").encode()
    print(f"input: {RECORDS:,} records, {len(data):,} bytes ({len(data) / RECORDS:.0f} bytes/record)")
    print(f"load before: {Path('/proc/loadavg').read_text().strip()}")
    baseline_times, transformer_times, limit_times = [], [], []
    sink = CountingSink()
    for _ in range(RUNS):
        start = time.process_time()
        msgspec.json.encode(msgspec.json.decode(data))
        limit_times.append(time.process_time() - start)
        start = time.process_time()
        json.dumps(json.loads(data))
        baseline_times.append(time.process_time() - start)
        sink = CountingSink()
        start = time.process_time()
        report = transform_stream(io.BytesIO(data), source="s3://bench/records.json", sink=sink)
        transformer_times.append(time.process_time() - start)
        assert report.valid == RECORDS, report
    baseline = RECORDS / min(baseline_times)
    transformer = RECORDS / min(transformer_times)
    ratio = transformer / baseline
    paired = statistics.median(b / t for b, t in zip(baseline_times, transformer_times, strict=True))
    calls_per_1000 = sink.calls / RECORDS * 1000
    limit = RECORDS / min(limit_times)
    print(f"json.loads + json.dumps : {baseline:12,.0f} records/s (best of {RUNS})")
    print(f"msgspec decode + encode : {limit:12,.0f} records/s (best of {RUNS})")
    print(f"transformer             : {transformer:12,.0f} records/s (best of {RUNS})")
    for label, value in (("ratio, best of each", ratio), ("ratio, median of rounds", paired)):
        verdict = "PASS" if value >= TARGET_RATIO else "FAIL"
        print(f"{label:<24}: {value:.3f}  target >= {TARGET_RATIO}  {verdict}")
    to_limit = statistics.median(m / t for m, t in zip(limit_times, transformer_times, strict=True))
    best_to_limit = transformer / limit
    print(f"ratio to msgspec        : {best_to_limit:.3f} best of each, {to_limit:.3f} median of rounds")
    average = sink.bytes / max(sink.entries, 1)
    print(
        f"messages                : {sink.entries:,} ({average:,.0f} bytes each), "
        f"SendMessageBatch calls: {sink.calls:,}"
    )
    print(
        f"calls per 1,000 records : {calls_per_1000:.3f}  target <= {TARGET_CALLS_PER_1000}  "
        f"{'PASS' if calls_per_1000 <= TARGET_CALLS_PER_1000 else 'FAIL'}"
    )
    print(f"load after: {Path('/proc/loadavg').read_text().strip()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
