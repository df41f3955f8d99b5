"""Suite-wide hygiene: no test may reach a real AWS account or read the developer's AWS config."""

from __future__ import annotations

import pytest


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
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
    # Powertools: metrics need a namespace, and tests should not print EMF blobs for every record.
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "ServerlessPipeline")
    monkeypatch.setenv("POWERTOOLS_DEV", "false")
