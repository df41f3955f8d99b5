"""One local stack per test module, started clean.

moto's backends live in the process, and every LocalStack applies the same program (same names): a module
that followed another would otherwise inherit its accounts and LogTable items, and the accounting checks
("every LogTable item belongs to a case") would blame the wrong test. So each module's stack starts fresh:
moto is wiped and the program applied again.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_stack.stack import LocalStack

IDLE_TIMEOUT = 90.0


def fresh_stack(workdir: Path, **options: Any) -> LocalStack:
    """A started LocalStack whose buckets, queues and tables are new and empty (options: LocalStack's)."""
    stack = LocalStack(workdir, fresh=True, **options)
    stack.start()
    return stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    local = fresh_stack(tmp_path_factory.mktemp("reliability-stack"))
    try:
        yield local
    finally:
        local.stop()
