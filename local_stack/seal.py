"""Sealed files: what this user's own local stack wrote, proven before a byte of it is unpickled.

The local stack saves pickles — the emulator's state on a clean stop (``.pipeline/local-state.pickle``) and
the deploy cache (``build/local-stack/``) — and unpickling runs whatever code the file names. A file planted
there (committed to a repository, dropped in a directory others can write) would run as the developer the
next time ``local up`` starts. So every such file is sealed: an HMAC-SHA256 over its purpose and its bytes,
under a per-user key kept owner-only (0600) in the user's state directory (``infra.private_files``). A file is
unpickled only after its seal verifies; anything else — no seal, another user's key, one flipped byte, a key
file others could read or write — is refused with a reason, never loaded.

Format: ``MAGIC`` + 32-byte HMAC + payload. The purpose (``local-state``, ``deploy-cache <key>``) is in the
MAC, so a sealed file cannot be moved to serve as another.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from infra.private_files import NotPrivate, private_dir, read_private, user_state_dir, write_private

MAGIC = b"serverless-pipeline sealed 1\n"
KEY_FILE = "local-seal.key"
KEY_BYTES = 32
MAC_BYTES = hashlib.sha256().digest_size


class Unsealed(Exception):
    """A file whose seal does not prove this user's local stack wrote it (the message says why)."""


def key_path() -> Path:
    return user_state_dir() / KEY_FILE


def _key(*, create: bool) -> bytes:
    """The per-user key; created (0600, in a 0700 directory) on first use when ``create``."""
    path = key_path()
    try:
        key = read_private(path, limit=KEY_BYTES + 1, secret=True)
    except FileNotFoundError:
        if not create:
            raise Unsealed(f"no key of yours to check it with ({path} does not exist)") from None
        private_dir(path.parent)
        # FileExistsError: another local stack created it at the same moment: use it (same user)
        with contextlib.suppress(FileExistsError):
            write_private(path, secrets.token_bytes(KEY_BYTES), exclusive=True)
        return _key(create=False)
    except NotPrivate as error:
        if not create:
            raise Unsealed(f"your key is not yours alone: {error}") from None
        path.unlink()  # a key others could read or write proves nothing: replace it
        return _key(create=True)
    if len(key) != KEY_BYTES:
        raise Unsealed(f"{path} is not a key this version writes")
    return key


def _mac(key: bytes, purpose: str, payload: bytes) -> bytes:
    return hmac.new(key, MAGIC + purpose.encode() + b"\n" + payload, hashlib.sha256).digest()


def seal(payload: bytes, purpose: str) -> bytes:
    """``payload`` sealed under this user's key for ``purpose``."""
    return MAGIC + _mac(_key(create=True), purpose, payload) + payload


def unseal(blob: bytes, purpose: str) -> bytes:
    """The payload of a file this user's local stack sealed for ``purpose``; Unsealed otherwise."""
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + MAC_BYTES:
        raise Unsealed("it carries no seal")
    mac = blob[len(MAGIC) : len(MAGIC) + MAC_BYTES]
    payload = blob[len(MAGIC) + MAC_BYTES :]
    if not hmac.compare_digest(mac, _mac(_key(create=False), purpose, payload)):
        raise Unsealed("its seal does not verify under your key")
    return payload


def remove_quietly(path: Path) -> None:
    """Remove a refused file when we may (it would be refused again); another user's stays where it is."""
    with contextlib.suppress(OSError):
        os.unlink(path)
