"""`upload --wait` and `logs` on a real local stack (the real handlers): records accounted for from the
functions' own log lines, stale re-uploads included; the live view on a pseudo-terminal."""

# ruff: noqa: F811 (pytest fixtures imported from tests.support are parameters here)
from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_stack.stack import LocalStack
from ops import local_registry
from tests.support.cli import ctrl_c_after
from tests.support.e2e import pipeline, prefix  # noqa: F401 (fixtures)
from tests.support.processes import Terminal, cli_env, run


@pytest.fixture
def stack_dir(pipeline: LocalStack) -> Iterator[Path]:
    """The stack's directory, registered by this process as `local up` registers it. The commands run as
    real processes: in-process, Click's test runner would swap ``sys.stdout`` under the handlers' threads (the
    local stack points the handlers' loggers at its functions' log, whoever imported them first)."""
    entry = local_registry.register(pipeline.workdir)
    yield pipeline.workdir
    local_registry.unregister(entry)


def bucket(stack_dir: Path) -> str:
    """The data bucket of the stack, from its outputs document (the name is the program's)."""
    return str(json.loads((stack_dir / ".pipeline" / "local.json").read_text())["data_bucket"])


def cli(stack_dir: Path, *args: str, columns: int = 200) -> subprocess.CompletedProcess[str]:
    return run(*args, cwd=stack_dir, env=cli_env(COLUMNS=str(columns)))


NEWER, OLDER = "2026-06-01T00:00:00Z", "2026-01-01T00:00:00Z"


def records(prefix: str, updated_at: str, *, invalid: int = 0) -> list[dict[str, str]]:
    good = [
        {
            "account_id": f"{prefix}-{n}",
            "name": "Ada",
            "email": "ada@example.com",
            "balance": "10.5",
            "currency": "EUR",
            "updated_at": updated_at,
        }
        for n in range(5)
    ]
    return good + [{"account_id": f"{prefix}-bad-{n}", "balance": "abc"} for n in range(invalid)]


def processed_row(stdout: str, needle: str) -> list[str]:
    """The row of the final "processed" table (after the "uploaded" one) that holds ``needle``."""
    after = stdout[stdout.index("processed (") :]
    line = next(line for line in after.splitlines() if needle in line and "│" in line)
    return [cell.strip() for cell in line.strip("│ ").split("│")]


def test_wait_accounts_written_invalid_then_a_stale_reupload(stack_dir: Path, prefix: str) -> None:
    path = stack_dir / f"{prefix}.json"
    path.write_text(json.dumps(records(prefix, NEWER, invalid=1)), encoding="utf-8")
    first = cli(stack_dir, "upload", path.name, "--prefix", "in", "--wait", "--timeout", "60")
    path.write_text(json.dumps(records(prefix, OLDER)), encoding="utf-8")
    again = cli(stack_dir, "upload", path.name, "--prefix", "in", "--wait", "--timeout", "60")

    assert first.returncode == 0, first.stderr
    assert first.stdout.index("uploaded") < first.stdout.index("processed (done after")
    uri = f"s3://{bucket(stack_dir)}/in/{prefix}.json"
    #                                   object, done, written, stale, invalid, state
    assert processed_row(first.stdout, uri)[1:] == ["6/6", "5", "0", "1", "done"]
    assert again.returncode == 0, again.stderr
    assert processed_row(again.stdout, uri)[1:] == ["5/5", "0", "5", "0", "done"]


def test_quiet_strict_wait_prints_only_the_result_and_fails_on_a_rejected_record(
    stack_dir: Path, prefix: str
) -> None:
    path = stack_dir / f"{prefix}-strict.json"
    path.write_text(json.dumps(records(prefix, NEWER, invalid=1)), encoding="utf-8")

    result = cli(
        stack_dir, "-q", "upload", path.name, "--prefix", "in", "--wait", "--strict", "--timeout", "60"
    )

    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("processed (done after")  # no "uploaded" table: -q keeps the result only
    assert result.stderr == (
        "Error: --strict: 1 of 6 records not stored (1 invalid) (see `pipeline-ctl errors tail`)\n"
    )


def test_strict_needs_wait(stack_dir: Path) -> None:
    result = cli(stack_dir, "upload", "whatever.json", "--strict")

    assert (result.returncode, result.stderr) == (
        2,
        "Error: --strict needs --wait (records are judged after the upload: add --wait)\n",
    )


def test_wait_json_is_one_document(stack_dir: Path, prefix: str) -> None:
    (stack_dir / "a.json").write_text(json.dumps(records(prefix, NEWER)), encoding="utf-8")

    result = cli(stack_dir, "--json", "upload", "a.json", "--prefix", prefix, "--wait", "--timeout", "60")

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    [uploaded] = document["uploaded"]
    [file] = document["wait"]["files"]
    assert (uploaded["key"], uploaded["records"]) == (f"{prefix}/a.json", 5)
    assert (document["wait"]["outcome"], file["written"], file["accounted"], file["state"]) == (
        "done",
        5,
        5,
        "done",
    )


def test_logs_shows_the_functions_lines(
    invoke, stack_dir: Path, pipeline: LocalStack, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline.client("s3").put_object(
        Bucket=pipeline.outputs["data_bucket"],
        Key=f"{prefix}/l.json",
        Body=json.dumps(records(prefix, NEWER, invalid=1)),
    )
    pipeline.wait_until_idle(timeout=60)
    uri = f"s3://{bucket(stack_dir)}/{prefix}/l.json"
    # In-process from here: the pipeline is idle, nothing prints under the test runner's swapped stdout.
    monkeypatch.chdir(stack_dir)

    human = invoke("logs", "writer", "--since", "5m", "--filter", uri, env={"COLUMNS": "80"})
    machine = invoke("logs", "--json", "--since", "5m", "--filter", uri)
    unknown = invoke("logs", "lambda")

    assert human.exit_code == 0, human.stderr
    [line] = [line for line in human.stdout.splitlines() if "message processed" in line]
    assert " writer INFO message processed message_id=" in line
    assert f"source={uri} shape=envelope written=5 stale=0 invalid=1 failed=0" in line
    events = [json.loads(line) for line in machine.stdout.splitlines()]
    lines = [(e["function"], e["message"]["message"]) for e in events if isinstance(e["message"], dict)]
    assert sorted(lines) == [  # in time order, which the three functions' threads do not fix
        ("error-handler", "error logged"),
        ("transformer", "transformed"),
        ("writer", "message processed"),
    ]
    assert all(event["timestamp"].endswith("Z") for event in events)  # machine times: ISO 8601 with Z
    assert (unknown.exit_code, unknown.stderr) == (
        2,
        "Error: unknown function 'lambda' "
        "(use one of transformer, writer, error-handler (or none for all))\n",
    )


def test_logs_follow_prints_new_lines_until_ctrl_c(
    stack_dir: Path,
    pipeline: LocalStack,
    prefix: str,
) -> None:
    follower = Terminal("logs", "writer", "--follow", "--since", "2m", "--interval", "0.2", cwd=stack_dir)

    def follow() -> None:
        for name in ("first.json", "second.json"):  # the second is written while the follower runs
            pipeline.client("s3").put_object(
                Bucket=pipeline.outputs["data_bucket"],
                Key=f"{prefix}/{name}",
                Body=json.dumps(records(prefix, NEWER)),
            )
            follower.read_until(f"{prefix}/{name}".encode(), timeout=30)

    code = ctrl_c_after(follower, follow)

    assert code == 0
    assert "message processed" in follower.text
    assert "Traceback" not in follower.text
