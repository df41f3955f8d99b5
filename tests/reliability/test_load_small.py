"""``bench/load.py`` in small: the same core, ground truth and verdict (nothing lost or doubled).

200 mixed records (valid, invalid, duplicates, out of order) through POST and S3 at once, with 10 % of
writes throttled and one account (2 %) refused (5xx) until the faults are cleared, then one replay.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from local_stack.stack import LocalStack

BENCH = Path(__file__).resolve().parents[2] / "bench" / "load.py"


def _load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_load", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


def test_small_load_with_faults_loses_and_duplicates_nothing(stack: LocalStack) -> None:
    bench = _load_bench()
    plan = bench.plan_load(200, seed=3)
    # The refused account answers 5xx, whose SDK retries back off in milliseconds (a throttle's take seconds):
    # the same path to the DLQ and the replay, in a fraction of the wall time. The 10 % stay throttles.
    accounting = bench.run_load(
        stack,
        plan,
        fault_rate=0.1,
        sticky_share=0.02,
        sticky_error="InternalServerError",
        seed=3,
        idle_timeout=120,
    )
    summary = accounting.to_dict()
    assert accounting.lost == 0, summary
    assert accounting.duplicated == 0, summary
    assert accounting.unexpected_log == 0, summary
    # The run exercised what it claims to: faults happened, some messages needed the DLQ and the replay.
    assert accounting.faulted > 0 and accounting.retries_exhausted > 0 and accounting.replayed > 0, summary
    assert accounting.logged_invalid == sum(plan.invalid.values()), summary
    assert accounting.accounts_stored == len(plan.newest), summary
