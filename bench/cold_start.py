"""Cold start: import time of each handler module against ``import boto3``, fresh processes, median of runs.

Run from the repository root: ``python bench/cold_start.py``. Every measurement is a new interpreter that
times its imports in CPU time (``process_time``; interpreter start-up excluded, the same for both sides):
on a shared machine wall time mostly measures the neighbours, CPU time measures the imports. A handler
imports boto3 lazily (on its first AWS call), so its side is measured as ``import handler; import boto3``:
the figure is what a cold start really pays before the first call, not a number flattered by laziness.

**Target: (handler + boto3) / boto3 <= 1.3** for each handler. Prints PASS/FAIL; exits 0 either way.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 9
TARGET_RATIO = 1.3
HANDLERS = (
    "functions.transformer.handler",
    "functions.writer.handler",
    "functions.error_handler.handler",
)
PROGRAM = "import time; start = time.process_time(); {imports}; print(time.process_time() - start)"


def run_once(imports: str) -> float:
    """Seconds a fresh interpreter spends executing ``imports``."""
    output = subprocess.run(
        [sys.executable, "-c", PROGRAM.format(imports=imports)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    return float(output.strip().splitlines()[-1])


def main() -> int:
    programs = {"boto3": "import boto3", **{module: f"import {module}; import boto3" for module in HANDLERS}}
    times: dict[str, list[float]] = {name: [] for name in programs}
    for _ in range(RUNS):  # interleaved, so a busy moment on a shared machine hits every side alike
        for name, imports in programs.items():
            times[name].append(run_once(imports))
    baseline = statistics.median(times["boto3"])
    print(f"import boto3                                    : {baseline * 1000:7.1f} ms (median of {RUNS})")
    for module in HANDLERS:
        seconds = statistics.median(times[module])
        ratio = seconds / baseline
        verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
        print(
            f"import {module:<32} + boto3 : {seconds * 1000:7.1f} ms  ratio {ratio:.2f}  "
            f"target <= {TARGET_RATIO}  {verdict}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
