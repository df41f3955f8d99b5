"""Fixtures for tests/infra, defined in tests/support/infra.py."""

from tests.support.infra import (  # noqa: F401 (pytest finds fixtures by name)
    dev,
    local_wheels,
    prod,
    program_runner,
    pytest_configure,
    seeded_build_dir,
)
