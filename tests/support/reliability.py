"""One local stack per test module, started clean.

moto's backends live in the process, and every LocalStack uses the same resource names: a module that
followed another would otherwise inherit its accounts and LogTable items, and the accounting checks ("every
LogTable item belongs to a case") would blame the wrong test. So each module's stack starts, wipes moto
through its own reset endpoint, and starts again on empty resources.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_stack.stack import LocalStack

IDLE_TIMEOUT = 90.0


def fresh_stack(workdir: Path, **options: Any) -> LocalStack:
    """A started LocalStack whose buckets, queues and tables are new and empty (options: LocalStack's)."""
    stack = LocalStack(workdir, **options)
    stack.start()
    request = urllib.request.Request(f"{stack.endpoint_url}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass
    stack.stop()
    stack.start()
    return stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    local = fresh_stack(tmp_path_factory.mktemp("reliability-stack"))
    try:
        yield local
    finally:
        local.stop()
