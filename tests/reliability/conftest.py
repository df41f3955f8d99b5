"""Fixtures for tests/reliability, defined in tests/support/reliability.py."""

from tests.support.reliability import (  # noqa: F401 (pytest finds fixtures by name)
    stack,
)
