"""The checks ``make lint`` runs: pre-commit runs the same ones, and mypy holds code and tests to the rules
pyproject.toml's ``[tool.mypy]`` sets (strict on the code, the tests type-checked without strict's
annotation rules)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
MYPY = Path(sys.executable).with_name("mypy")


def make_lint_commands() -> list[str]:
    """The recipe of the Makefile's ``lint`` target, each command without ``$(BIN)/``."""
    recipe = re.search(r"^lint:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M)
    assert recipe is not None, "the Makefile has no lint target"
    return [line.strip().removeprefix("$(BIN)/") for line in recipe[1].splitlines()]


def pre_commit_commands() -> list[str]:
    """Each hook's command without ``.venv/bin/``; a hook given the changed files stands for the same
    command run on the whole tree (``.``)."""
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    commands = []
    for repo in config["repos"]:
        for hook in repo["hooks"]:
            command = hook["entry"].removeprefix(".venv/bin/")
            commands.append(command if hook.get("pass_filenames") is False else f"{command} .")
    return commands


def test_pre_commit_runs_what_make_lint_runs() -> None:
    assert pre_commit_commands() == make_lint_commands()


def test_mypy_is_strict_on_the_code_and_checks_the_tests(tmp_path: Path) -> None:
    # GIVEN an unannotated function in a package and in a test module, the test module also assigning a
    # string to an int
    unannotated = "def double(x):\n    return x * 2\n"
    for package in ("ops", "tests"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "ops" / "probe.py").write_text(unannotated)
    (tmp_path / "tests" / "test_probe.py").write_text(unannotated + "\n\ncount: int = 'one'\n")
    # WHEN mypy checks them with the project's configuration
    config = ["--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(tmp_path / "cache")]
    done = subprocess.run(
        [str(MYPY), *config, "ops", "tests"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    errors = sorted(line for line in done.stdout.splitlines() if ": error: " in line)
    # THEN the package's function is refused for its missing annotations, the test's is not, and the test's
    # bad assignment is found all the same
    assert errors == [
        "ops/probe.py:1: error: Function is missing a type annotation  [no-untyped-def]",
        'tests/test_probe.py:5: error: Incompatible types in assignment (expression has type "str", '
        'variable has type "int")  [assignment]',
    ], done.stdout + done.stderr
