"""Is the generated per-record normaliser worth its ``exec``? Against a plain loop over the same table.

Run from the repository root: ``python bench/contract_normaliser.py``. The contract's one generated function
(``functions.contract.normalise``, used by the writer for every record and by the transformer for blocks that
are not all objects) is compared with the obvious alternative, a loop over ``FIELDS`` with the same rules
(written here, checked to give the same results on every record), on the transformer benchmark's records.
Alternating rounds, best of each and median of the per-round ratios. The code generation stays only while
the ratio (loop time / generated time) is clearly above 1; docs/benchmarks.md ("Generated code") keeps the
figures. Exits 0 either way.
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.transformer_data import records
from functions.contract import FIELDS, future_bound, normalise_with_stats
from functions.contract.values import Reject
from functions.errors import FieldError, InvalidRecord

RECORDS = 20_000
RUNS = 7
_MISSING: Any = object()


def loop_normalise(raw: dict[str, Any], now: datetime) -> tuple[dict[str, Any], int]:
    """The contract as a loop over the table (no conflict detail needed here: the bench has none)."""
    bound = future_bound(now)
    errors: list[FieldError] = []
    record: dict[str, Any] = {}
    known = 0
    for field in FIELDS:
        value = raw.get(field.name, _MISSING)
        other = raw.get(field.camel, _MISSING) if field.camel != field.name else _MISSING
        known += (value is not _MISSING) + (other is not _MISSING)
        if value is _MISSING:
            value = other
        if value is _MISSING or value is None:
            if field.default is None:
                errors.append(FieldError(field.name, "required"))
                continue
            record[field.name] = field.default(now)
            continue
        try:
            record[field.name] = converted = field.convert(value)
        except Reject as reject:
            errors.append(FieldError(field.name, str(reject)))
            continue
        if field.bounded and converted > bound.latest:
            errors.append(FieldError(field.name, "late"))
    if errors:
        raise InvalidRecord(errors)
    return record, len(raw) - known


def main() -> int:
    now = datetime.now(UTC)
    raws = list(records(RECORDS))
    for raw in raws:
        assert loop_normalise(raw, now)[0] == normalise_with_stats(raw, now=now).record
    generated_times, loop_times = [], []
    for _ in range(RUNS):
        start = time.perf_counter()
        for raw in raws:
            normalise_with_stats(raw, now=now)
        generated_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        for raw in raws:
            loop_normalise(raw, now)
        loop_times.append(time.perf_counter() - start)
    best = min(loop_times) / min(generated_times)
    paired = statistics.median(loop / gen for loop, gen in zip(loop_times, generated_times, strict=True))
    print(f"generated normaliser : {RECORDS / min(generated_times):10,.0f} records/s (best of {RUNS})")
    print(f"loop over the table  : {RECORDS / min(loop_times):10,.0f} records/s (best of {RUNS})")
    print(f"loop time / generated time: {best:.2f} best of each, {paired:.2f} median of rounds")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
