"""Fixtures for tests/functions, defined in tests/support/functions.py."""

from tests.support.functions import (  # noqa: F401 (pytest finds fixtures by name)
    context,
    fail_put_items,
    world,
)
