"""``make demo`` is the README's first command: run it as a newcomer would, in a separate process.

A smaller sample than the default keeps the suite fast; the flow and the checks are the same.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

PIPELINE_CTL = Path(sys.executable).parent / "pipeline-ctl"


def test_demo_runs_end_to_end_and_its_accounting_adds_up(tmp_path: Path) -> None:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    environment["HOME"] = str(tmp_path)  # no ~/.aws: the demo must not need an AWS account
    environment["COLUMNS"] = "160"
    result = subprocess.run(
        [str(PIPELINE_CTL), "demo", "--records", "300"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "accounting adds up" in out
    assert "Newest version kept for" in out and " — wrong:" not in out
    assert "RetriesExhausted" in out and "InvalidRecord" in out
    for line in [line for line in out.splitlines() if line.strip().startswith("demo-api-000")]:
        assert line.strip().endswith("written"), line
    assert result.stderr == ""
    # it says its stack is gone with it, and where a lasting one comes from
    assert "error ids above cannot be looked up" in out and "pipeline-ctl local up" in out
    assert list(tmp_path.iterdir()) == [], "the demo leaves nothing behind in the working directory"
