"""Fixtures for tests/ops, defined in tests/support/cli.py (the library and the CLI share the stacks)."""

from tests.support.cli import (  # noqa: F401 (pytest finds fixtures by name)
    aws,
    deployed,
)
