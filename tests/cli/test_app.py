"""The app as a whole: every command documented with an example, one-line usage errors, schema, completion."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from cli.app import app
from functions.contract import json_schema
from ops.target import start_hint

ROOT = Path(__file__).resolve().parents[2]


def command_paths() -> list[tuple[str, ...]]:
    group = typer.main.get_command(app)
    paths: list[tuple[str, ...]] = []

    def walk(command, path: tuple[str, ...]) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, (*path, name))
        else:
            paths.append(path)

    walk(group, ())
    return paths


@pytest.mark.parametrize("path", command_paths(), ids=" ".join)
def test_every_command_has_help_with_an_example(invoke, path: tuple[str, ...]) -> None:
    result = invoke(*path, "--help")

    assert result.exit_code == 0
    assert re.search(rf"Example: pipeline-ctl( --stack \w+)? {re.escape(' '.join(path))}", result.stdout), (
        result.stdout
    )


def test_every_command_is_in_the_cli_reference() -> None:
    reference = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    documented = [" ".join(path) for path in command_paths()]
    missing = [path for path in documented if f"pipeline-ctl {path}" not in reference]
    assert missing == [], f"undocumented in docs/cli.md: {missing}"


def test_usage_errors_are_one_line_with_a_hint(invoke) -> None:
    result = invoke("replay-dlq", "--limit", "0")

    assert result.exit_code == 2
    assert result.stderr == (
        "Error: Invalid value for '--limit': Input should be greater than or equal to 1 "
        "(see `pipeline-ctl replay-dlq --help`)\n"
    )


def test_unknown_command_is_a_usage_error(invoke) -> None:
    result = invoke("replay")

    assert result.exit_code == 2
    assert result.stderr.startswith("Error: No such command 'replay'.")
    assert result.stderr.count("\n") == 1


def test_schema_prints_the_contracts_json_schema(invoke) -> None:
    result = invoke("schema")

    assert result.exit_code == 0
    assert json.loads(result.stdout) == json_schema()


def test_shell_completion_is_available(runner, invoke) -> None:
    script = invoke("--show-completion", "bash")

    def complete(words: str, index: int) -> str:
        env = {"_PIPELINE_CTL_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(index)}
        return runner.invoke(app, [], prog_name="pipeline-ctl", env=env).stdout

    assert script.exit_code == 0
    assert "complete -o default -F _pipeline_ctl_completion pipeline-ctl" in script.stdout
    assert complete("pipeline-ctl err", 1) == "errors\n"
    assert complete("pipeline-ctl replay-dlq --fr", 2) == "--from\n"


def test_console_script_prints_one_line_and_no_traceback(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from cli.app import main; main()", "errors", "tail"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)},
        timeout=60,
    )

    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == f"Error: no local stack of yours is running ({start_hint()})\n"
