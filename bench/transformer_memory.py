"""Transformer peak memory and time: a 10k-record file against a 1M-record file and hostile files, each in a
fresh process.

Run from the repository root: ``python -m bench.transformer_memory`` (``--quick`` skips the 1M-record file).
Each child process imports the transformer, streams one generated file on disk through ``transform_stream``
with a counting sink instead of SQS, and reports its peak RSS (``ru_maxrss``) and time. Streaming means no
figure may grow with the file: **target ratio (file / 10k records) <= 1.2** for the 1M-record array and for
each hostile file (a 200 MB string value between two records, in an array and as one JSON line; a record
nested 100,000 levels; an integer of 100,000 digits), and the hostile files' time must stay linear (their
MB/s is printed beside the ordinary file's). Prints PASS/FAIL; exits 0 either way.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

SIZES = (10_000, 1_000_000)
TARGET_RATIO = 1.2
HUGE_BYTES = 200_000_000
NESTING = 100_000


def _record(account_id: str) -> bytes:
    return json.dumps(
        {"account_id": account_id, "name": "N", "email": "n@e.io", "balance": "1", "currency": "EUR"}
    ).encode()


def _write_huge_string(path: Path, *, lines: bool) -> None:
    """A record whose unknown field is a ``HUGE_BYTES`` string, between two ordinary records."""
    with path.open("wb") as out:
        out.write(_record("before") + b"\n" if lines else b"[" + _record("before") + b",")
        out.write(b'{"account_id": "huge", "blob": "')
        chunk = b"x" * 1_000_000
        for _ in range(HUGE_BYTES // len(chunk)):
            out.write(chunk)
        out.write(b'"}')
        out.write(b"\n" + _record("after") + b"\n" if lines else b"," + _record("after") + b"]")


def _write_nested(path: Path) -> None:
    path.write_bytes(
        b"[" + _record("before") + b"," + b"[" * NESTING + b"]" * NESTING + b"," + _record("after") + b"]"
    )


def _write_long_integer(path: Path) -> None:
    """The middle record's balance is 100,000 digits: an invalid record, the other two flow."""
    digits = b"9" * 100_000
    middle = _record("long")[:-1] + b', "balance": ' + digits + b"}"
    path.write_bytes(b"[" + _record("before") + b"," + middle + b"," + _record("after") + b"]")


HOSTILE = {
    "200 MB string in an array": lambda path: _write_huge_string(path, lines=False),
    "200 MB string as a JSON line": lambda path: _write_huge_string(path, lines=True),
    "100,000 nesting levels": _write_nested,
    "100,000-digit integer": _write_long_integer,
}


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


def _run(path: Path) -> dict[str, Any]:
    output = subprocess.run(
        [sys.executable, "-m", "bench.transformer_memory", "--child", str(path)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    figures: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return figures


def _line(label: str, figures: dict[str, Any], base: dict[str, Any] | None) -> None:
    ratio = "" if base is None else f"  ratio {figures['peak_rss_kib'] / base['peak_rss_kib']:.2f}"
    verdict = (
        ""
        if base is None
        else ("  PASS" if figures["peak_rss_kib"] / base["peak_rss_kib"] <= TARGET_RATIO else "  FAIL")
    )
    print(
        f"{label:<30} {figures['bytes'] / 1e6:8.1f} MB: peak RSS {figures['peak_rss_kib'] / 1024:7.1f} MiB, "
        f"{figures['seconds']:6.2f} s ({figures['bytes'] / 1e6 / figures['seconds']:6.1f} MB/s), "
        f"records {figures['records']}, valid {figures['valid']}{ratio}{verdict}"
    )


def main() -> int:
    from bench.transformer_data import write_array

    quick = "--quick" in sys.argv
    print(f"load: {Path('/proc/loadavg').read_text().strip()}")
    with tempfile.TemporaryDirectory(prefix="transformer-memory-") as workdir:
        base = None
        for count in SIZES[:1] if quick else SIZES:
            path = Path(workdir) / f"records-{count}.json"
            write_array(path, count)
            figures = _run(path)
            path.unlink()
            assert figures["valid"] == count, figures
            _line(f"{count:,} records", figures, base)
            base = base or figures
        for label, write in HOSTILE.items():
            path = Path(workdir) / "hostile.json"
            write(path)
            figures = _run(path)
            path.unlink()
            assert figures["valid"] == 2, figures  # the records before and after still flow
            _line(label, figures, base)
    print(f"target: peak RSS ratio <= {TARGET_RATIO} against the 10k-record file")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        raise SystemExit(main())
