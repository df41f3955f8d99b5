"""The release step as ``pulumi up`` runs it: the recorded command, in its directory, against a CodeDeploy.

The command text is taken from the program's recorded ``command:local:Command`` and run through
``/bin/sh -c`` in the project directory (what pulumi-command does on Linux: the command declares no ``dir``,
so it runs in the provider's working directory, the directory holding ``Pulumi.yaml``). botocore reaches
``tests.support.codedeploy_server`` through ``AWS_ENDPOINT_URL``; a failing exit code is what makes
``pulumi up`` fail and leaves the step to run again on the next one.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator

import pytest

from infra import spec
from tests.support.codedeploy_server import FakeAws, Scenario, fake_aws
from tests.support.infra import PROJECT_DIR, PUBLISHED_VERSION, Program, shared_program


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
        cwd=PROJECT_DIR,
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
    assert error_line(done).startswith(f"error: {spec.codedeploy_names('prod')['application']}/")
    assert f"is busy: deployment {running} (InProgress, version 5 -> 6) is still running" in error_line(done)
    assert "CreateDeployment" not in fake.operations()


def test_credentials_expiring_during_the_canary_fail_the_step_then_the_next_run_resumes(
    prod: Program, fake: FakeAws
) -> None:
    """A canary longer than the CI session's credentials: the step stops waiting with a line saying what to
    do; the deployment goes on in AWS, and the next `pulumi up` waits for it instead of starting another."""
    fake.scenario = Scenario(outcome="Succeeded", in_progress_polls=5, credentials_expire_after_polls=1)

    expired = run_step(prod, fake)
    fake.scenario = Scenario(outcome="Succeeded", in_progress_polls=0)
    resumed = run_step(prod, fake)

    assert expired.returncode == 1 and expired.stdout == ""
    assert "ExpiredTokenException" in error_line(expired)
    assert "run `pulumi up` again with fresh credentials" in error_line(expired)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["reason"].startswith("resuming deployment d-")
    assert fake.operations().count("CreateDeployment") == 1
    assert fake.aliases[(prod.function("writer_function").inputs["name"], "live")] == PUBLISHED_VERSION
