"""Transformer peak memory: a 10k-record file against a 1M-record file, each in a fresh process.

Run from the repository root: ``python bench/transformer_memory.py``. Each child process imports the
transformer, streams one generated file (a JSON array on disk) through ``transform_stream`` with a counting
sink instead of SQS, and reports its peak RSS (``ru_maxrss``). Streaming means the second figure should not
grow with the file: **target ratio (1M / 10k) <= 1.2**. Prints PASS/FAIL; exits 0 either way.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZES = (10_000, 1_000_000)
TARGET_RATIO = 1.2


def child(path: str) -> None:
    """Runs in the fresh process: transform one file, print the figures as JSON."""
    from functions.transformer.core import transform_stream

    calls = 0

    def sink(entries: list[dict[str, object]]) -> list[dict[str, object]]:
        nonlocal calls
        calls += 1
        return []

    start = time.perf_counter()
    with open(path, "rb") as stream:
        report = transform_stream(stream, source=f"s3://bench/{Path(path).name}", sink=sink)
    print(
        json.dumps(
            {
                "records": report.records,
                "valid": report.valid,
                "seconds": time.perf_counter() - start,
                "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,  # KiB on Linux
                "bytes": Path(path).stat().st_size,
            }
        )
    )


def main() -> int:
    from bench.transformer_data import write_array

    results = {}
    with tempfile.TemporaryDirectory(prefix="transformer-memory-") as workdir:
        for count in SIZES:
            path = Path(workdir) / f"records-{count}.json"
            write_array(path, count)
            output = subprocess.run(
                [sys.executable, __file__, "--child", str(path)],
                check=True,
                capture_output=True,
                text=True,
                cwd=ROOT,
            ).stdout
            results[count] = json.loads(output.strip().splitlines()[-1])
            path.unlink()
            figures = results[count]
            print(
                f"{count:>9,} records, {figures['bytes'] / 1e6:8.1f} MB file: peak RSS "
                f"{figures['peak_rss_kib'] / 1024:7.1f} MiB ({figures['records'] / figures['seconds']:,.0f} "
                f"records/s)"
            )
            assert figures["valid"] == count, figures
    small, large = (results[count]["peak_rss_kib"] for count in SIZES)
    ratio = large / small
    verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
    print(f"ratio (1M / 10k peak RSS): {ratio:.2f}  target <= {TARGET_RATIO}  {verdict}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        raise SystemExit(main())
