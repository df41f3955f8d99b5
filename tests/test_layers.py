"""The layering contract (pyproject.toml, ``[tool.importlinter]``) holds on this tree and catches a backwards
import: the same check ``make lint`` runs, on the tree and on a throwaway copy with one import reversed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("cli", "ops", "local_stack", "infra", "functions")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on ``tree`` alone (its packages first on the path, no cache shared between trees),
    checking only ``contracts`` (their ids in pyproject.toml) when given."""
    environment = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", *(f"--contract={contract}" for contract in contracts)],
        cwd=tree,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_tree_keeps_every_layer_contract() -> None:
    done = lint_imports(ROOT)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.fixture
def copy_of_the_tree(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize(
    ("module", "backwards_import", "contract"),
    [
        # The cycle the contract was written against: a Pulumi component importing the operator library.
        ("infra/release.py", "import ops.release", "components-not-ops"),
        ("infra/release.py", "import ops.release", "layers"),
        ("ops/target.py", "import local_stack.stack", "layers"),
        ("local_stack/resource_types.py", "import ops.release", "layers"),
        ("functions/model.py", "import infra.spec", "layers"),
        ("ops/release.py", "import infra.config", "ops-reads-facts-only"),
        ("infra/spec.py", "import infra.config", "infra-layers"),
        ("ops/status.py", "import pulumi", "no-pulumi-in-ops-or-lambda"),
    ],
)
def test_a_backwards_import_breaks_the_contract(
    copy_of_the_tree: Path, module: str, backwards_import: str, contract: str
) -> None:
    path = copy_of_the_tree / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{backwards_import}  # deliberately backwards\n")

    done = lint_imports(copy_of_the_tree, contract)

    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 broken" in done.stdout
    assert f"{module.removesuffix('.py').replace('/', '.')} -> " in done.stdout
