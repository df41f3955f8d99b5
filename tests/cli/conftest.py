"""Fixtures for tests/cli, defined in tests/support/cli.py."""

from tests.support.cli import (  # noqa: F401 (pytest finds fixtures by name)
    aws,
    deployed,
    invoke,
    local,
    moto_server,
    runner,
)
