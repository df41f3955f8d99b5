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
from tests.support.cli import Stack, write_local_document
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


@pytest.fixture
def two_stacks(local: Stack, tmp_path_factory, monkeypatch) -> Iterator[tuple[Path, Path, int]]:
    """The ``local`` stack (this process) and a second one registered by another live process of ours,
    whose document points at an endpoint nobody serves; the working directory is neither's."""
    first = Path.cwd()
    second = tmp_path_factory.mktemp("two")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        write_local_document(second, {**local.outputs, "endpoint_url": "http://127.0.0.1:9"}, pid=sleeper.pid)
        local_registry.register(second, pid=sleeper.pid)
        monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
        yield first, second, sleeper.pid
    finally:
        sleeper.kill()
        sleeper.wait()


def test_several_running_elsewhere_is_a_usage_error_naming_local_dir(invoke, two_stacks) -> None:
    first, second, pid = two_stacks

    result = invoke("errors", "tail")

    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: 2 local stacks are running: {first} (pid {os.getpid()}), {second} (pid {pid}) "
        "(choose one with --local-dir DIR (or PIPELINE_LOCAL_DIR), run the command inside its directory, "
        "or stop the others with `pipeline-ctl local down` there)\n"
    )


@pytest.mark.parametrize("how", ["option", "after the command", "environment"])
def test_local_dir_picks_one_of_several_running_stacks(invoke, local: Stack, two_stacks, how: str) -> None:
    first, second, _ = two_stacks
    args = {
        "option": ["--local-dir", str(first), "status", "--json"],
        "after the command": ["status", "--json", "--local-dir", str(first)],
        "environment": ["status", "--json"],
    }[how]
    env = {"PIPELINE_LOCAL_DIR": str(first)} if how == "environment" else None

    chosen = invoke(*args, env=env)
    other = invoke("--local-dir", str(second), "status")

    assert chosen.exit_code == 0, chosen.stderr
    assert json.loads(chosen.stdout)["queues"]["dlq"]["url"] == local.outputs["dlq_url"]
    assert other.exit_code == 1
    assert other.stderr.startswith("Error: the local stack does not answer at http://127.0.0.1:9/")


def test_local_dir_where_no_stack_of_yours_runs_is_not_found(invoke, local: Stack, tmp_path_factory) -> None:
    nowhere = tmp_path_factory.mktemp("nowhere")

    result = invoke("--local-dir", str(nowhere), "status")

    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: no local stack of yours was started in {nowhere.resolve()} (")


def test_a_document_planted_in_a_parent_directory_is_ignored(
    invoke, local: Stack, tmp_path_factory, monkeypatch
) -> None:
    """A shared parent (``/tmp/try``) holding a ``.pipeline/local.json`` someone else put there: even one
    naming this very process, it is not what this user's ``local up`` registered, so it receives nothing."""
    shared = tmp_path_factory.mktemp("shared")
    planted = {**local.outputs, "api_url": "http://127.0.0.1:9", "dlq_url": "http://evil.example/dlq"}
    write_local_document(shared, planted)
    below = shared / "project"
    below.mkdir()
    monkeypatch.chdir(below)

    result = invoke("status", "--json")

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["queues"]["dlq"]["url"] == local.outputs["dlq_url"]


def test_a_planted_document_alone_is_no_stack(invoke, tmp_path: Path, monkeypatch) -> None:
    write_local_document(tmp_path, {"endpoint_url": "http://evil.example"})
    monkeypatch.chdir(tmp_path)

    result = invoke("status")

    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: no local stack of yours is running; {tmp_path / LOCAL_OUTPUTS_PATH} was ignored: no running "
        "`local up` of yours registered it"
    )


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
OTHER_UID = 65534


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda entry: os.chown(entry.path, OTHER_UID, -1), marks=needs_root, id="entry-owner"),
        pytest.param(lambda entry: os.chmod(entry.path, 0o666), id="entry-writable-by-others"),
        pytest.param(
            lambda entry: os.chown(entry.outputs_path, OTHER_UID, -1), marks=needs_root, id="document-owner"
        ),
        pytest.param(lambda entry: os.chmod(entry.outputs_path, 0o620), id="document-writable-by-group"),
        pytest.param(lambda entry: os.chmod(local_registry.registry_dir(), 0o777), id="registry-dir-shared"),
        pytest.param(
            lambda entry: os.chown(local_registry.registry_dir(), OTHER_UID, -1),
            marks=needs_root,
            id="registry-dir-owner",
        ),
    ],
)
def test_a_record_that_is_not_this_users_alone_is_ignored(invoke, local: Stack, spoil) -> None:
    [entry] = local_registry.running()
    spoil(entry)

    result = invoke("status")

    assert local_registry.running() == [] or [e.outputs() for e in local_registry.running()] == [None]
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: no local stack of yours is running")


@needs_root
def test_an_entry_naming_another_users_process_is_ignored(invoke, local: Stack) -> None:
    other = subprocess.Popen(["sleep", "60"], user=OTHER_UID)
    try:
        [entry] = local_registry.running()
        local_registry.unregister(entry)
        write_local_document(Path.cwd(), local.outputs, pid=other.pid)
        local_registry.register(Path.cwd(), pid=other.pid)

        assert local_registry.running() == []
    finally:
        other.kill()
        other.wait()


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
        "Error: no local stack of yours is running (start it with `pipeline-ctl local up --port 0 "
        f"--api-port 0` (port {DEFAULT_EMULATOR_PORT} is in use by another program))\n"
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
        outputs = wait_for(
            lambda: next(filter(None, (e.outputs() for e in local_registry.running())), None),
            what="`local up` to start",
        )
        endpoint = outputs["endpoint_url"]
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
    shown = up.stdout.read()  # type: ignore[union-attr]
    assert "Local stack stopped" in shown
    lines = shown[shown.index("Local stack up") :].split("\n")
    # Up to the last line of the banner, however many lines the (long, temporary) paths fold into.
    banner = lines[: next(i for i, line in enumerate(lines) if "any access key" in line) + 1]
    assert max(len(line) for line in banner) <= 80  # nothing folds mid-command at 80 columns
    assert "  try:  pipeline-ctl upload accounts.json --wait" in banner  # works pasted
    assert any("AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local" in line for line in banner)
    assert row["started_at"].endswith("Z")
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


@needs_root
def test_local_up_refuses_a_state_directory_of_another_user(invoke, tmp_path: Path, monkeypatch) -> None:
    shared = tmp_path / "shared-state"
    (shared / "serverless-pipeline").mkdir(parents=True)
    os.chown(shared / "serverless-pipeline", OTHER_UID, -1)
    monkeypatch.setenv("XDG_STATE_HOME", str(shared))
    monkeypatch.chdir(tmp_path)

    result = invoke("local", "up", "--port", "0", "--api-port", "0")

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.startswith(
        f"Error: cannot record the local stack: {shared / 'serverless-pipeline'} belongs to uid {OTHER_UID}"
    )
    assert result.stderr.count("\n") == 1


def test_an_own_state_directory_others_could_write_is_tightened(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    (tmp_path / "serverless-pipeline").mkdir(mode=0o777)
    (tmp_path / "serverless-pipeline").chmod(0o777)

    entry = local_registry.register(tmp_path)

    assert (tmp_path / "serverless-pipeline").stat().st_mode & 0o777 == 0o700
    assert entry.path.stat().st_mode & 0o777 == 0o600
    assert local_registry.running() == [entry]


def test_local_down_picks_one_of_several_by_local_dir(invoke, tmp_path_factory, monkeypatch) -> None:
    first, second = tmp_path_factory.mktemp("one"), tmp_path_factory.mktemp("two")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        for directory, pid in ((first, os.getpid()), (second, sleeper.pid)):
            (directory / ".pipeline").mkdir()
            (directory / LOCAL_OUTPUTS_PATH).write_text("{}", encoding="utf-8")
            local_registry.register(directory, pid=pid)
        monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))

        ambiguous = invoke("local", "down")
        picked = invoke("local", "down", "--local-dir", str(second), "--timeout", "10")
    finally:
        sleeper.kill()
        sleeper.wait()
        for entry in local_registry.running():
            if entry.pid == os.getpid():
                local_registry.unregister(entry)

    assert ambiguous.exit_code == 2
    assert "(pass --local-dir DIR (one of those directories), run it inside one of them, or pass --all)" in (
        ambiguous.stderr
    )
    assert (picked.exit_code, picked.stdout) == (
        0,
        f"stopped the local stack in {second} (pid {sleeper.pid})\n",
    )
