"""The Pulumi packages' pins, and the check `make install` runs on an existing .venv."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

import pytest

from infra import pins
from tests.support.infra import PROJECT_DIR


def test_the_installed_packages_are_the_tested_ones() -> None:
    assert pins.out_of_range(pins.pinned()) == []


def test_pulumi_aws_pin_has_gsi_key_schemas() -> None:
    """GSI ``key_schemas`` (what infra/storage.py declares) exists from pulumi-aws 7.17."""
    [aws] = [requirement for requirement in pins.pinned() if requirement.name == "pulumi-aws"]
    assert not aws.specifier.contains("7.16.0") and aws.specifier.contains("7.51.1")
    assert not aws.specifier.contains("8.0.0")


@pytest.mark.parametrize(
    ("versions", "problem"),
    [
        ({"pulumi-aws": "7.10.0"}, "pulumi-aws 7.10.0 is outside <8,>=7.51 (pyproject.toml)"),
        ({"pulumi": "4.0.0"}, "pulumi 4.0.0 is outside <4,>=3.272 (pyproject.toml)"),
        ({"pulumi-command": None}, "pulumi-command is not installed (pyproject.toml wants <2,>=1.2)"),
    ],
)
def test_an_old_venv_is_noticed(versions: dict[str, str | None], problem: str) -> None:
    def version_of(name: str) -> str:
        value = versions.get(name, importlib.metadata.version(name))
        if value is None:
            raise importlib.metadata.PackageNotFoundError(name)
        return value

    assert pins.out_of_range(pins.pinned(), version_of) == [problem]


def test_make_install_runs_the_check() -> None:
    makefile = (PROJECT_DIR / "Makefile").read_text(encoding="utf-8")
    assert "-m infra.pins" in makefile
    done = subprocess.run(
        [sys.executable, "-m", "infra.pins"], cwd=PROJECT_DIR, capture_output=True, text=True
    )
    assert (done.returncode, done.stderr) == (0, "")
