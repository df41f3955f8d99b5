"""Whether ``.venv`` holds the Pulumi packages the program was tested with (pyproject's ``infra`` extra).

``make install`` runs this on an existing ``.venv``: one created before a pin moved would otherwise keep, say,
a pulumi-aws without GSI ``key_schemas`` and fail only in ``pulumi preview``. Out of range means reinstall;
still out of range after installing means a clear failure naming each package. Plain Python, no Pulumi import
(it must run where Pulumi is missing or broken).

Usage: ``python -m infra.pins`` (exit 0: all in range; 1: each problem on its own line).
"""

from __future__ import annotations

import importlib.metadata
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
EXTRA = "infra"

try:
    from packaging.requirements import Requirement
except ImportError:  # a bare .venv: pip vendors the same library
    from pip._vendor.packaging.requirements import Requirement  # type: ignore[assignment]


def pinned(pyproject: Path = PYPROJECT) -> list[Requirement]:
    """The requirements of the ``infra`` extra."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    return [Requirement(text) for text in project["optional-dependencies"][EXTRA]]


def out_of_range(
    requirements: list[Requirement], version_of: Callable[[str], str] = importlib.metadata.version
) -> list[str]:
    """One line per package that is missing or whose installed version the pin does not allow."""
    problems = []
    for requirement in requirements:
        try:
            installed = version_of(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            problems.append(
                f"{requirement.name} is not installed (pyproject.toml wants {requirement.specifier})"
            )
            continue
        if not requirement.specifier.contains(installed, prereleases=True):
            problems.append(
                f"{requirement.name} {installed} is outside {requirement.specifier} (pyproject.toml)"
            )
    return problems


def main() -> int:
    problems = out_of_range(pinned())
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
