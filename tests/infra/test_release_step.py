"""The release step as ``pulumi up`` runs it: the recorded command, in its directory, against a CodeDeploy.

The command text and working directory are taken from the program's recorded ``command:local:Command``
and run through ``/bin/sh -c`` (what pulumi-command does on Linux). botocore reaches
``tests.support.codedeploy_server`` through ``AWS_ENDPOINT_URL``; a failing exit code is what makes
``pulumi up`` fail and leaves the step to run again on the next one.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator

import pytest

from tests.support.codedeploy_server import FakeAws, Scenario, fake_aws
from tests.support.infra import PUBLISHED_VERSION, Program, shared_program


@pytest.fixture
def prod(program_runner) -> Program:
    return shared_program(program_runner, "prod")


@pytest.fixture
def fake(prod: Program) -> Iterator[FakeAws]:
    """The prod Writer with ``live`` one version behind the one the program published."""
    with fake_aws() as served:
        writer = prod.function("writer_function").inputs["name"]
        served.add_function(writer, versions=int(PUBLISHED_VERSION), live=str(int(PUBLISHED_VERSION) - 1))
        yield served


def run_step(program: Program, fake: FakeAws) -> subprocess.CompletedProcess[str]:
    step = program.one("command:local:Command").inputs
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    environment |= {
        "AWS_ENDPOINT_URL": fake.endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    return subprocess.run(
        ["/bin/sh", "-c", step["create"]],
        cwd=step["dir"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def error_line(done: subprocess.CompletedProcess[str]) -> str:
    [line] = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    return line


def test_succeeded_release_exits_0_once_live_serves_the_version(prod: Program, fake: FakeAws) -> None:
    done = run_step(prod, fake)

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "Succeeded"
    assert fake.aliases[(prod.function("writer_function").inputs["name"], "live")] == PUBLISHED_VERSION


@pytest.mark.parametrize(("outcome", "reason"), [("Failed", "ALARM_ACTIVE: "), ("Stopped", "rollback: ")])
def test_failed_or_stopped_release_fails_the_step_then_the_next_run_retries(
    prod: Program, fake: FakeAws, outcome: str, reason: str
) -> None:
    fake.scenario = Scenario(outcome=outcome)

    failed = run_step(prod, fake)
    fake.scenario = Scenario(outcome="Succeeded")
    retried = run_step(prod, fake)

    assert failed.returncode == 1 and failed.stdout == ""
    assert f"ended {outcome}; " in error_line(failed) and reason in error_line(failed)
    assert retried.returncode == 0, retried.stderr
    assert fake.operations().count("CreateDeployment") == 2


def test_a_second_release_during_a_canary_fails_clearly(prod: Program, fake: FakeAws) -> None:
    writer = prod.function("writer_function").inputs["name"]
    running = fake.start_running(function_name=writer, current="5", target="6")

    done = run_step(prod, fake)

    assert done.returncode == 1
    assert error_line(done).startswith("error: CodeDeploy refused a new deployment")
    assert "DeploymentLimitExceededException" in error_line(done) and running in error_line(done)
