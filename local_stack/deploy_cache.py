"""The applied program, cached: a later start replays the emulator's state instead of running Pulumi's engine.

Applying ``__main__.py`` costs seconds (Pulumi's engine, ``pulumi_aws``, every botocore service model, moto's
backends); restoring what it left in the emulator costs a fraction of one. The cache holds, per key, the
emulator's state right after the apply (``local_stack.snapshot``) and the :class:`Deployment` record.

What keeps the guarantee that what runs is what the program declares: the key is a hash of everything the
apply's outcome depends on — the program's sources (``__main__.py``, ``Pulumi.yaml``, ``infra/``, the
``functions/`` code that goes into the zip), the local stack's own code that performs the calls
(``local_stack/``), the stack name and its full config (``Pulumi.<stack>.yaml`` plus overrides), and the
versions of Python and of every package in the loop (moto, botocore, boto3, Pulumi, its AWS and command
providers, Powertools). Any change to any of them is another key, hence a real apply. A tampered program
(the rehearsal's broken variants) is never cached.

Where: ``build/local-stack/`` (beside the cached layer zip, ``$PIPELINE_BUILD_DIR`` overrides it), shared by
every working directory of the checkout; entries are written atomically, and a file that does not load is
ignored (and replaced by the next apply). Entries are sealed under this user's key (``local_stack.seal``,
the purpose naming the cache key) and checked before anything is unpickled: an entry this user's own local
stack did not write — planted in the checkout, or another user's — is never loaded.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
from collections.abc import Iterator, Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from infra.layer import build_dir
from infra.private_files import NotPrivate
from local_stack import seal, snapshot
from local_stack.deployment import PROJECT_DIR, Deployment

CACHE_FORMAT = 2
"""2: entries are sealed (local_stack.seal)."""

KEEP = 6
"""Entries kept (the newest): each is under a megabyte, and every edit of the program makes one."""

PACKAGES = (
    "moto",
    "botocore",
    "boto3",
    "pulumi",
    "pulumi_aws",
    "pulumi_command",
    "aws-lambda-powertools",
    "cryptography",
)
"""Whose versions are part of the key: the engine, the provider schemas, the emulator and the SDK."""

SOURCES = ("__main__.py", "Pulumi.yaml", "infra", "functions", "local_stack")
"""Files and trees (relative to the project) whose content is part of the key."""


def cache_dir() -> Path:
    return build_dir() / "local-stack"


def _files(root: Path = PROJECT_DIR) -> Iterator[Path]:
    for name in SOURCES:
        path = root / name
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from sorted(
                item
                for item in path.rglob("*")
                if item.is_file()
                and "__pycache__" not in item.parts
                and item.suffix not in (".pyc", ".pyo")
                and not item.name.startswith(".")
            )


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "-"


def program_key(stack: str, config: Mapping[str, str], *, root: Path = PROJECT_DIR) -> str:
    """The hash of everything the apply's outcome depends on (see the module docstring)."""
    digest = hashlib.sha256()

    def add(*parts: str | bytes) -> None:
        for part in parts:
            data = part.encode() if isinstance(part, str) else part
            digest.update(len(data).to_bytes(8, "big"))
            digest.update(data)

    add(f"cache {CACHE_FORMAT} snapshot {snapshot.FORMAT_VERSION}", sys.version, stack)
    for key, value in sorted(config.items()):
        add(key, value)
    for package in PACKAGES:
        add(package, _version(package))
    for path in _files(root):
        add(path.relative_to(root).as_posix(), path.read_bytes())
    return digest.hexdigest()[:32]


def _purpose(key: str) -> str:
    return f"deploy-cache {key}"


def _path(key: str) -> Path:
    return cache_dir() / f"deploy-{key}.pickle"


def replay(key: str, *, endpoint: str) -> Deployment | None:
    """Restore the emulator to the cached state of ``key``; its deployment, or None (no usable entry)."""
    path = _path(key)
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    try:
        data = seal.unseal(blob, _purpose(key))
    except (seal.Unsealed, NotPrivate) as error:
        logging.getLogger("local_stack.deploy_cache").warning("%s not loaded: %s", path, error)
        seal.remove_quietly(path)
        return None
    try:
        deployment, _ = snapshot.loads(data, endpoint=endpoint)
    except snapshot.SnapshotError:
        path.unlink(missing_ok=True)
        return None
    if not isinstance(deployment, Deployment):
        return None
    deployment.replayed = True
    return deployment


def store(key: str, deployment: Deployment, *, endpoint: str) -> None:
    """Cache the emulator's current state (right after the apply) under ``key``; quietly skipped if it
    cannot be saved (the next start applies again)."""
    try:
        data = seal.seal(snapshot.dumps(deployment, endpoint=endpoint), _purpose(key))
    except (snapshot.SnapshotError, seal.Unsealed, NotPrivate, OSError) as error:
        logging.getLogger("local_stack.deploy_cache").warning("deployment not cached: %s", error)
        return
    path = _path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
    _prune()


def _prune() -> None:
    """Keep the :data:`KEEP` newest entries (another process may be pruning too: a vanished file is fine)."""
    entries = []
    for entry in cache_dir().glob("deploy-*.pickle"):
        try:
            entries.append((entry.stat().st_mtime, entry))
        except FileNotFoundError:
            continue
    for _, old in sorted(entries)[:-KEEP]:
        old.unlink(missing_ok=True)
