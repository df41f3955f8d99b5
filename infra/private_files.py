"""Files only this user wrote: the per-user state directory, and owner-only reads and writes.

What the local stack and ``pipeline-ctl`` keep between runs — the record of running local stacks, the key
that seals saved states — sits in ``$XDG_STATE_HOME/serverless-pipeline`` (the XDG Base Directory spec; else
``~/.local/state/...``). A file there is believed only when this user owns it and nobody else may write it,
and the directories on the way are held to the same rule: another user who could write there could replace
what we read. A path that fails the rule is reported with the reason (:class:`NotPrivate`), never followed.

Reads open with ``O_NOFOLLOW`` and check the opened file (``fstat``), so a symlink or a swap between the
check and the read cannot change what is read. No Pulumi here: the CLI and the local stack import it.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from infra.spec import PROJECT

STATE_HOME_VARIABLE = "XDG_STATE_HOME"
SHARED_BITS = stat.S_IWGRP | stat.S_IWOTH
"""Write permission for anyone but the owner: what makes a file or directory not provably ours."""


class NotPrivate(Exception):
    """A path this user does not own, or that others may write (the message says which and why)."""


def user_state_dir() -> Path:
    """``$XDG_STATE_HOME/serverless-pipeline`` (relative values are ignored, as the spec says)."""
    base = os.environ.get(STATE_HOME_VARIABLE) or ""
    root = Path(base) if os.path.isabs(base) else Path.home() / ".local" / "state"
    return root / PROJECT


SECRET_BITS = stat.S_IRWXG | stat.S_IRWXO
"""Any access for anyone but the owner: what a key may not allow."""


def problem(info: os.stat_result, what: str, *, secret: bool = False) -> str | None:
    """Why a file or directory with this ``stat`` is not this user's alone (a ``secret`` one: not even
    readable by others), or None."""
    if info.st_uid != os.geteuid():
        return f"{what} belongs to uid {info.st_uid}, not to you (uid {os.geteuid()})"
    if info.st_mode & (SECRET_BITS if secret else SHARED_BITS):
        kind = "may be read or written by others" if secret else "may be written by others"
        return f"{what} {kind} (mode {stat.filemode(info.st_mode)})"
    return None


def private_dir(path: Path) -> Path:
    """Create ``path`` (mode 0700) if needed and check it is this user's alone; NotPrivate otherwise.

    A directory of this user's that others may write (made under a permissive umask) is tightened to 0700:
    what others may have put there is refused file by file, as it would be anyway."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(path)
    if stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and info.st_mode & SHARED_BITS:
        os.chmod(path, 0o700)
    reason = problem(os.lstat(path), f"{path}")
    if reason is None and not stat.S_ISDIR(os.lstat(path).st_mode):
        reason = f"{path} is not a directory"
    if reason is not None:
        raise NotPrivate(reason)
    return path


def read_private(path: Path, *, limit: int = 64 * 1024 * 1024, secret: bool = False) -> bytes:
    """The bytes of a regular file this user owns and only this user may write (a ``secret``: read either);
    NotPrivate otherwise (FileNotFoundError when it does not exist)."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        if error.errno == errno.ELOOP:  # the last component is a symbolic link
            raise NotPrivate(f"{path} is a symbolic link") from None
        raise
    with os.fdopen(descriptor, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise NotPrivate(f"{path} is not a regular file")
        reason = problem(info, str(path), secret=secret)
        if reason is not None:
            raise NotPrivate(reason)
        return file.read(limit)


def write_private(path: Path, data: bytes, *, exclusive: bool = False) -> None:
    """Write ``data`` to ``path`` atomically, owner-only (0600) from its creation; with ``exclusive``, only
    if ``path`` does not exist yet (FileExistsError otherwise: two processes creating one key)."""
    if exclusive:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        return
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    os.replace(temporary, path)
