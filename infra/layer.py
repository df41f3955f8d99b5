"""The Lambda layer with the handlers' third-party dependencies, built with pip for Lambda's platform.

Why this much care: Pulumi hashes the layer zip. If two builds of the same requirements differed by a single
byte (a timestamp, a ``.pyc``, directory order) every ``pulumi up`` would publish a new layer version, hence a
new Writer version, hence a CodeDeploy canary, for no change at all. So the zip is built once per hash of its
requirements, cached under ``build/``, and written deterministically (sorted entries, fixed timestamps and
permissions, no bytecode).

boto3 ships with the python3.13 runtime and Powertools comes from AWS's managed layer, so the layer only
carries what neither has: msgspec (the functions' JSON decoder and encoder; a C extension, hence the
manylinux aarch64 wheels).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from infra import spec

LAYER_REQUIREMENTS: tuple[str, ...] = ("msgspec==0.23.0",)
"""Pinned: the cache key is the requirement text, so an unpinned spec could hide a version change. The
version is the one the tests and the local stack run (a test compares it with the installed one)."""

PIP_PLATFORM_ARGS: tuple[str, ...] = (
    "--platform",
    "manylinux2014_aarch64",
    "--only-binary=:all:",
    "--python-version",
    spec.LAMBDA_RUNTIME.removeprefix("python"),
    "--implementation",
    "cp",
)
"""Wheels for Lambda's arm64 python3.13 runtime, whatever machine runs ``pulumi up``."""

BUILD_DIR_VARIABLE = "PIPELINE_BUILD_DIR"
"""Overrides where built artefacts are cached (default: ``build/`` beside ``__main__.py``)."""

PROJECT_DIR = Path(__file__).resolve().parent.parent

_FIXED_DATE = (1980, 1, 1, 0, 0, 0)
"""The earliest timestamp a zip entry can hold; any fixed value works, this one is conventional."""


class LayerBuildError(RuntimeError):
    """pip could not produce the layer (no matching wheel, no network...)."""


def build_dir() -> Path:
    """Where layer zips are cached: ``$PIPELINE_BUILD_DIR`` or ``<project>/build``."""
    override = os.environ.get(BUILD_DIR_VARIABLE)
    return Path(override) if override else PROJECT_DIR / "build"


def requirements_hash(requirements: Sequence[str]) -> str:
    """Cache key: the requirements and the target platform, order-insensitive."""
    text = "\n".join([*sorted(requirements), *PIP_PLATFORM_ARGS])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def layer_zip_path(
    requirements: Sequence[str] = LAYER_REQUIREMENTS, *, directory: Path | None = None
) -> Path:
    """The cached zip for these requirements (it may not exist yet)."""
    return (directory or build_dir()) / "layer" / f"deps-{requirements_hash(requirements)}.zip"


def deterministic_zip(source: Path, destination: Path, *, prefix: str = "python") -> None:
    """Zip ``source`` into ``destination`` under ``prefix/`` so that equal trees give equal bytes.

    Lambda adds ``/opt/python`` to ``sys.path``, hence the ``python/`` prefix. Bytecode is left out: the
    runtime compiles on import, and ``.pyc`` files embed timestamps.
    """
    files = sorted(
        (
            path
            for path in source.rglob("*")
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
        ),
        key=lambda path: path.relative_to(source).as_posix(),  # by entry name, independent of the filesystem
    )
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in files:
            info = zipfile.ZipInfo(f"{prefix}/{path.relative_to(source).as_posix()}", date_time=_FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so the permission bits below are honoured
            mode = 0o755 if os.access(path, os.X_OK) else 0o644
            info.external_attr = (0o100000 | mode) << 16
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    partial.replace(destination)  # atomic: a crash never leaves a half-written cache entry


def build_layer(
    requirements: Sequence[str] = LAYER_REQUIREMENTS,
    *,
    directory: Path | None = None,
    index_args: Sequence[str] = (),
    force: bool = False,
) -> Path:
    """Return the cached layer zip for ``requirements``, building it with pip only when it is missing.

    ``index_args`` chooses where packages come from (e.g. ``--no-index --find-links DIR`` for an offline
    build); the platform flags are always applied.
    """
    target_zip = layer_zip_path(requirements, directory=directory)
    if target_zip.exists() and not force:
        return target_zip
    with tempfile.TemporaryDirectory(prefix="layer-") as scratch:
        site = Path(scratch) / "site"
        command = [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
            *PIP_PLATFORM_ARGS, *index_args, "--target", str(site), *requirements,
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            raise LayerBuildError(
                f"pip could not build the layer for {', '.join(requirements)}: "
                f"{detail[-1] if detail else f'exit {result.returncode}'}"
            )
        # pip records where it installed from; that path differs per build and is not needed at runtime.
        for direct_url in site.glob("*.dist-info/direct_url.json"):
            direct_url.unlink()
        deterministic_zip(site, target_zip)
    return target_zip


def clear_cache(directory: Path | None = None) -> None:
    """Remove every cached layer zip (the next ``pulumi up`` rebuilds with pip)."""
    shutil.rmtree((directory or build_dir()) / "layer", ignore_errors=True)
