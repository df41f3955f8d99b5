"""Fixtures for tests/e2e, defined in tests/support/e2e.py."""

from tests.support.e2e import (  # noqa: F401 (pytest finds fixtures by name)
    in_stack_dir,
    pipeline,
    prefix,
)
