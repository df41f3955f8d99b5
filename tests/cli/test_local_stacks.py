"""Finding the local stack from anywhere (the per-user record), `local status|down`, and what the local stack
ignores (--region, --profile)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.spec import DEFAULT_EMULATOR_PORT, LOCAL_OUTPUTS_PATH
from ops import local_registry
from tests.support.cli import Stack
from tests.support.processes import ROOT, spawn, wait_for


def test_found_from_a_subdirectory(invoke, local: Stack, tmp_path: Path, monkeypatch) -> None:
    deep = tmp_path / "data" / "2026"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)

    result = invoke("status", "--json")

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["queues"]["dlq"]["url"] == local.outputs["dlq_url"]


def test_found_from_elsewhere_through_the_registry(
    invoke, local: Stack, tmp_path_factory, monkeypatch
) -> None:
    local_registry.register(Path.cwd())  # this (live) process plays `local up` in the stack's directory
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    monkeypatch.chdir(elsewhere)

    result = invoke("status", "--json")

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["queues"]["writer_queue"]["url"] == local.outputs["writer_queue_url"]


def test_entries_of_dead_processes_are_pruned(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead = local_registry.register(tmp_path, pid=int(done.stdout))
    alive = local_registry.register(tmp_path)

    assert local_registry.running() == [alive]
    assert not dead.path.exists()


def test_several_running_elsewhere_is_a_usage_error(invoke, tmp_path_factory, monkeypatch) -> None:
    first, second = tmp_path_factory.mktemp("one"), tmp_path_factory.mktemp("two")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        for directory, pid in ((first, os.getpid()), (second, sleeper.pid)):
            (directory / ".pipeline").mkdir()
            (directory / LOCAL_OUTPUTS_PATH).write_text("{}", encoding="utf-8")
            local_registry.register(directory, pid=pid)
        monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))

        result = invoke("errors", "tail")
    finally:
        sleeper.kill()
        sleeper.wait()

    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: 2 local stacks are running: {first} (pid {os.getpid()}), {second} (pid {sleeper.pid}) "
        "(run the command inside one of those directories, or stop the others with "
        "`pipeline-ctl local down` there)\n"
    )


@pytest.fixture
def default_port_taken() -> Iterator[None]:
    """Port 4580 held by something that is not a local stack (unless something already holds it)."""
    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", DEFAULT_EMULATOR_PORT))
        holder.listen()
    except OSError:
        pass  # already taken: just as good
    try:
        yield
    finally:
        holder.close()


def test_no_stack_hint_avoids_a_busy_default_port(
    invoke, tmp_path: Path, monkeypatch, default_port_taken
) -> None:
    monkeypatch.chdir(tmp_path)

    result = invoke("status")

    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: no local stack found (no {LOCAL_OUTPUTS_PATH} in {tmp_path} or its parents, and no running "
        f"`pipeline-ctl local up`) (start it with `pipeline-ctl local up --port 0 --api-port 0` "
        f"(port {DEFAULT_EMULATOR_PORT} is in use by another program))\n"
    )


def test_local_up_on_a_busy_port_is_one_line(invoke, tmp_path: Path, monkeypatch, default_port_taken) -> None:
    monkeypatch.chdir(tmp_path)

    result = invoke("local", "up", "--api-port", "0")

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"Error: port {DEFAULT_EMULATOR_PORT} (--port) is in use by another program "
        "(pass --port 0 --api-port 0)\n"
    )
    assert local_registry.running() == []


@pytest.mark.parametrize(
    ("args", "env", "ignored"),
    [
        (["--region", "mars-1"], {}, "--region"),
        ([], {"PIPELINE_REGION": "eu-central-1", "PIPELINE_PROFILE": "prod"}, "--region and --profile"),
    ],
    ids=["option", "environment"],
)
def test_region_and_profile_are_ignored_for_the_local_stack(invoke, local: Stack, args, env, ignored) -> None:
    result = invoke(*args, "status", "--json", env=env)

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["stack"] == "local"
    assert result.stderr == (
        f"Note: {ignored} ignored: the local stack always runs in us-east-1 with dummy credentials\n"
    )


def test_a_second_stack_in_the_same_directory_is_refused(invoke, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    local_registry.register(tmp_path)  # this live process plays the `local up` already running here

    result = invoke("local", "up", "--port", "0", "--api-port", "0")

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"Error: a local stack is already running in {tmp_path.resolve()} (pid {os.getpid()}) "
        "(use it, or stop it with `pipeline-ctl local down`)\n"
    )


def test_local_up_listed_and_stopped_from_another_directory(invoke, tmp_path_factory, monkeypatch) -> None:
    """A real `local up` process, seen and stopped from elsewhere; its registry entry goes with it."""
    home, elsewhere = tmp_path_factory.mktemp("stack-home"), tmp_path_factory.mktemp("elsewhere")
    up = spawn("local", "up", "--port", "0", "--api-port", "0", cwd=home)
    try:
        entry = wait_for(
            lambda: next((e for e in local_registry.running() if e.outputs()), None),
            what="`local up` to start",
        )
        endpoint = entry.outputs()["endpoint_url"]  # type: ignore[union-attr]
        monkeypatch.chdir(elsewhere)

        listed = invoke("--json", "local", "status")
        down = invoke("local", "down", env={"COLUMNS": "80"})
        code = up.wait(timeout=30)
        after = invoke("local", "status")
    finally:
        if up.poll() is None:
            up.send_signal(signal.SIGKILL)
            up.wait()

    assert listed.exit_code == 0, listed.stderr
    [row] = json.loads(listed.stdout)["stacks"]
    assert (row["pid"], row["workdir"], row["endpoint_url"], row["state"]) == (
        up.pid,
        str(home.resolve()),
        endpoint,
        "running",
    )
    assert (down.exit_code, down.stdout) == (
        0,
        f"stopped the local stack in {home.resolve()} (pid {up.pid})\n",
    )
    assert code == 0
    assert "Local stack stopped" in up.stdout.read()  # type: ignore[union-attr]
    assert not (home / LOCAL_OUTPUTS_PATH).exists()
    assert local_registry.running() == []
    assert (after.exit_code, after.stdout) == (1, "")
    assert after.stderr == "Error: no local stack is running (start one with `pipeline-ctl local up`)\n"


def test_mistyped_stack_without_a_region_names_the_parameter(invoke, deployed: Stack, monkeypatch) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.chdir(ROOT)

    result = invoke("--stack", "prdo", "status")

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: no stack 'prdo': its outputs parameter /serverless-pipeline/prdo/outputs was not found "
        f"(no Pulumi.prdo.yaml in {ROOT}; known stacks: dev, prod) "
        "(check --stack, or pass --region to look it up in AWS)\n"
    )
