"""Suite-wide hygiene: no test may reach a real AWS account or read the developer's AWS config."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.private_files import STATE_HOME_VARIABLE, user_state_dir
from local_stack.seal import KEY_FILE

SUITE_SEAL_KEY = hashlib.sha256(b"serverless-pipeline test suite: the one user's seal key").digest()
"""The suite's local stacks seal their saved states and deploy-cache entries as one user's do: with one key,
the same in every test, xdist worker and run, so the shared deploy cache (build/local-stack) is not refused
and re-applied from one test to the next. Tests that need another user's key make their own."""


def _state_home(directory: Path) -> Path:
    """A fresh ``$XDG_STATE_HOME``: empty but for the suite's seal key (0600 in a 0700 directory)."""
    state = directory / "serverless-pipeline"
    state.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = state / KEY_FILE
    if not key.exists():
        descriptor = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(SUITE_SEAL_KEY)
    return directory


@pytest.fixture(scope="session", autouse=True)
def _session_state_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Module- and session-scoped fixtures (the e2e local stacks) start before the per-test environment: they
    get a state directory of the suite's too, never the developer's own."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(STATE_HOME_VARIABLE, str(_state_home(tmp_path_factory.mktemp("session-state"))))
        assert user_state_dir().is_relative_to(tmp_path_factory.getbasetemp())
        yield


@pytest.fixture(autouse=True)
def _fake_aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    inherited = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL")
    for name in (*inherited, "PIPELINE_STACK"):
        monkeypatch.delenv(name, raising=False)
    # The terminal the suite runs in (or none, in CI and xdist workers) must not decide how wide the CLI's
    # tables are: without COLUMNS, piped output has the CLI's documented width.
    for name in ("COLUMNS", "LINES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    empty = tmp_path_factory.getbasetemp() / "no-aws-config"
    empty.mkdir(exist_ok=True)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty / "credentials"))
    # The per-user record of running local stacks: a developer's own `local up` must not be found by tests.
    monkeypatch.setenv(STATE_HOME_VARIABLE, str(_state_home(tmp_path_factory.mktemp("state"))))
    # Powertools: metrics need a namespace, and tests should not print EMF blobs for every record.
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "ServerlessPipeline")
    monkeypatch.setenv("POWERTOOLS_DEV", "false")
