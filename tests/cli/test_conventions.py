"""Command-line conventions: clean help (no type noise), -h, --version, -q/-v, global options anywhere."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.cli.test_app import command_paths
from tests.support.cli import DEPLOYED_STACK, Stack


@pytest.mark.parametrize("path", [(), *command_paths()], ids=lambda path: " ".join(path) or "root")
def test_help_has_no_type_noise_and_clean_usage(invoke, path: tuple[str, ...]) -> None:
    result = invoke(*path, "-h", env={"COLUMNS": "120"})

    assert result.exit_code == 0, result.stderr
    assert "Usage: pipeline-ctl" in result.stdout
    for noise in ("<bool>", "<str>", "<int", "<float", "<list[", "<Path>", "[[", "{FILE", "}..."):
        assert noise not in result.stdout, f"{noise!r} in help of {' '.join(path)}"


def test_usage_lines_name_arguments_plainly(invoke) -> None:
    usage = {
        name: invoke(name, "--help").stdout.split("\n")[1].strip()
        for name in ("send", "upload", "release", "replay-dlq")
    }

    assert usage == {
        "send": "Usage: pipeline-ctl send [OPTIONS] [FILE]",
        "upload": "Usage: pipeline-ctl upload [OPTIONS] FILE...",
        "release": "Usage: pipeline-ctl release [OPTIONS] [ACTION]",
        "replay-dlq": "Usage: pipeline-ctl replay-dlq [OPTIONS]",
    }


def test_version(invoke) -> None:
    result = invoke("--version")

    assert result.exit_code == 0
    assert re.fullmatch(r"pipeline-ctl \d+\.\d+\.\d+\S*\n", result.stdout)


def test_global_options_before_or_after_the_command(invoke, deployed: Stack) -> None:
    before = invoke("--json", "status")
    after = invoke("status", "--json")

    assert json.loads(before.stdout)["stack"] == json.loads(after.stdout)["stack"] == DEPLOYED_STACK


def test_quiet_leaves_only_the_result_and_verbose_names_the_target(invoke, deployed: Stack) -> None:
    quiet = invoke("errors", "tail", "-q")
    verbose = invoke("errors", "tail", "-v")

    assert (quiet.exit_code, quiet.stdout, quiet.stderr) == (0, "", "")  # "no errors" is a summary
    assert verbose.stdout == "no errors\n"
    assert verbose.stderr == f"stack {DEPLOYED_STACK} in us-east-1 at AWS\n"


def test_error_type_is_checked_and_completed(runner, invoke, deployed: Stack) -> None:
    from cli.app import app

    typo = invoke("errors", "tail", "--error-type", "InvalidRecords")
    env = {
        "_PIPELINE_CTL_COMPLETE": "complete_bash",
        "COMP_WORDS": "pipeline-ctl replay-dlq --error-type Inv",
        "COMP_CWORD": "3",
    }
    completed = runner.invoke(app, [], prog_name="pipeline-ctl", env=env).stdout

    assert typo.exit_code == 2
    assert typo.stderr.startswith("Error: Invalid value for '--error-type': 'InvalidRecords' is not one of ")
    assert typo.stderr.count("\n") == 1
    assert completed.split() == ["InvalidRecord"]


def test_json_demo_prints_one_json_document(invoke, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)

    result = invoke("--json", "demo", "--records", "100")

    assert result.exit_code == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    assert summary["accounting_adds_up"] is True
    first = summary["first_pass"]
    assert first["written"] + first["stale"] + first["logged"] == summary["sent"]
    assert {entry["result"] for entry in summary["replayed"]} == {"replayed"}


def test_every_command_follows_the_help_conventions() -> None:
    import typer

    from cli.app import app
    from cli.help import check_conventions

    check_conventions(typer.main.get_command(app))  # raises, naming a command declared without cls=Command


def test_the_cli_uses_only_public_typer_api() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "cli"
    for path in root.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        for private in ("typer._click", "from typer import _", "__class__ ="):
            assert private not in text, f"{private} in {path.name}"


def test_local_dir_picks_the_local_stack_from_anywhere(
    invoke, local: Stack, tmp_path_factory, monkeypatch
) -> None:
    stack_dir = Path.cwd()
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))

    after = invoke("status", "--json", "--local-dir", str(stack_dir))
    from_env = invoke("--json", "status", env={"PIPELINE_LOCAL_DIR": str(stack_dir)})

    assert after.exit_code == 0, after.stderr
    assert from_env.exit_code == 0, from_env.stderr
    assert json.loads(after.stdout)["stack"] == json.loads(from_env.stdout)["stack"] == "local"


def test_other_clis_machine_output_option_points_at_json(invoke) -> None:
    result = invoke("status", "--output", "json")

    assert result.exit_code == 2
    assert result.stderr == (
        "Error: No such option: --output (machine output is --json, e.g. `pipeline-ctl status --json`)\n"
    )


@pytest.mark.parametrize("group", ["errors", "local"])
def test_every_group_help_has_an_example(invoke, group: str) -> None:
    result = invoke(group, "-h")

    assert result.exit_code == 0
    assert f"Example: pipeline-ctl {group} " in result.stdout


def test_logs_completes_function_names(runner) -> None:
    from cli.app import app

    def complete(words: str, index: int) -> list[str]:
        env = {"_PIPELINE_CTL_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(index)}
        return runner.invoke(app, [], prog_name="pipeline-ctl", env=env).stdout.split()

    assert complete("pipeline-ctl logs ", 2) == ["transformer", "writer", "error-handler"]
    assert complete("pipeline-ctl logs wr", 2) == ["writer"]
