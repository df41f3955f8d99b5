"""The Lambda code archive: the ``functions/`` package as explicit file assets.

Only source files go in, listed in sorted order and never ``__pycache__``/``*.pyc``: running the tests or the
local stack writes bytecode into the tree, and a ``FileArchive`` of the directory would then hash differently,
publish a new Writer version and start a canary on every ``pulumi up``.
"""

from __future__ import annotations

from pathlib import Path

import pulumi

from infra.layer import PROJECT_DIR

PACKAGE = "functions"


def source_files(root: Path = PROJECT_DIR, package: str = PACKAGE) -> list[Path]:
    """Every file of the package that Lambda needs, relative to ``root``, sorted."""
    base = root / package
    return sorted(
        path.relative_to(root)
        for path in base.rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and path.suffix not in (".pyc", ".pyo")
        and not path.name.startswith(".")
    )


def code_archive(root: Path = PROJECT_DIR) -> pulumi.AssetArchive:
    """An archive whose entries keep the package path, so ``functions.writer.handler.handler`` resolves."""
    files = source_files(root)
    if not any(path.name == "__init__.py" and len(path.parts) == 2 for path in files):
        raise FileNotFoundError(
            f"{root / PACKAGE}/__init__.py not found: is the program run from the project?"
        )
    return pulumi.AssetArchive({path.as_posix(): pulumi.FileAsset(str(root / path)) for path in files})
