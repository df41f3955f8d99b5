"""A per-user record of the local stacks running on this machine: the only way the CLI finds one.

``pipeline-ctl local up`` writes its outputs document to ``.pipeline/local.json`` under the directory it was
started in, and drops one small JSON file per running stack into the user's state directory
(``$XDG_STATE_HOME/serverless-pipeline/local-stacks/``, else ``~/.local/state/serverless-pipeline/...``):
its pid, its working directory and where its outputs document is. One file per pid, written atomically, so
two stacks starting at once never overwrite each other's entry.

What is believed (docs/security.md): the record is this user's alone — the directory and every entry owned
by this user and writable by nobody else (``infra.private_files``), else it is not read at all. An entry is
alive while its process is, and that process must be this user's and the very one that registered (its start
time, Linux ``/proc/PID/stat``, so a recycled pid is not mistaken for the stack): a stack killed with
``kill -9`` leaves its file behind, and the next reader prunes it. Its outputs document must be this user's
alone too and name that pid. A ``.pipeline/local.json`` found anywhere else — a parent directory, a shared
``/tmp`` — is never used: a document planted there would otherwise receive every record ``send`` posts.

Example::

    entry = register(Path.cwd())          # in `local up`, before the stack starts
    [stack] = running()                   # anywhere else
    stack.outputs_path.read_text()
    unregister(entry)                     # when `local up` ends
"""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from infra.private_files import (
    STATE_HOME_VARIABLE,
    NotPrivate,
    private_dir,
    problem,
    read_private,
    user_state_dir,
    write_private,
)
from infra.spec import LOCAL_OUTPUTS_PATH
from ops.errors import OperationError

REGISTRY_DIR = "local-stacks"
MAX_DOCUMENT_BYTES = 1024 * 1024


def registry_dir() -> Path:
    """``$XDG_STATE_HOME/serverless-pipeline/local-stacks`` (XDG Base Directory spec), else under ~/.local."""
    return user_state_dir() / REGISTRY_DIR


def registry_problem() -> str | None:
    """Why the record cannot be believed (a directory on its path not this user's alone), or None."""
    for directory in (user_state_dir(), registry_dir()):
        try:
            info = os.lstat(directory)
        except FileNotFoundError:
            return None
        reason = problem(info, str(directory))
        if reason is not None:
            return reason
    return None


@dataclass(frozen=True, kw_only=True)
class RunningStack:
    """One ``local up`` process and where its outputs document lives."""

    pid: int
    workdir: str
    outputs_path: str
    started_at: str
    process_start: str | None = None
    """Start time of the process as the kernel counts it; None where /proc is not available."""

    @property
    def path(self) -> Path:
        return registry_dir() / f"{self.pid}.json"

    def outputs(self) -> dict[str, Any] | None:
        """The stack's outputs document, or None while it is still starting (or after it was removed), and
        when it is not provably this stack's: not this user's alone, or naming another pid."""
        try:
            document = json.loads(read_private(Path(self.outputs_path), limit=MAX_DOCUMENT_BYTES))
        except (OSError, ValueError, NotPrivate):
            return None
        if not isinstance(document, dict) or str(document.get("pid")) != str(self.pid):
            return None
        return document

    def contains(self, directory: Path) -> bool:
        """True when ``directory`` is the stack's working directory or below it."""
        return directory.resolve().is_relative_to(Path(self.workdir))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def register(workdir: Path, *, pid: int | None = None) -> RunningStack:
    """Record a local stack about to start in ``workdir`` (the calling process unless ``pid`` is given)."""
    pid = os.getpid() if pid is None else pid
    workdir = workdir.resolve()
    entry = RunningStack(
        pid=pid,
        workdir=str(workdir),
        outputs_path=str(workdir / LOCAL_OUTPUTS_PATH),
        started_at=datetime.now(UTC).isoformat(timespec="microseconds"),
        process_start=_process_start(pid),
    )
    try:
        private_dir(user_state_dir())
        private_dir(registry_dir())
    except NotPrivate as error:
        raise OperationError(
            f"cannot record the local stack: {error}",
            hint=f"make it yours alone (chmod go-w), or point {STATE_HOME_VARIABLE} at a directory of yours",
        ) from None
    write_private(entry.path, (json.dumps(entry.to_dict(), indent=2) + "\n").encode())
    return entry


def unregister(entry: RunningStack) -> None:
    entry.path.unlink(missing_ok=True)


def running() -> list[RunningStack]:
    """Every registered stack whose process still runs, oldest first; dead entries are removed on the way.

    Only this user's own record counts: nothing at all when its directory is not this user's alone, and
    an entry file that is not (or that names another file than its pid's) is skipped."""
    directory = registry_dir()
    if not directory.is_dir() or registry_problem() is not None:
        return []
    alive = []
    for path in sorted(directory.glob("*.json")):
        try:
            entry = _read(path)
        except NotPrivate:
            continue
        if entry is None or entry.path != path or not _alive(entry):
            path.unlink(missing_ok=True)
            continue
        alive.append(entry)
    return sorted(alive, key=lambda entry: (entry.started_at, int(entry.process_start or 0)))


def owning(directory: Path, stacks: list[RunningStack] | None = None) -> RunningStack | None:
    """The running stack whose working directory holds ``directory`` (the innermost one), if any."""
    candidates = [entry for entry in (running() if stacks is None else stacks) if entry.contains(directory)]
    return max(candidates, key=lambda entry: len(entry.workdir), default=None)


def _read(path: Path) -> RunningStack | None:
    """The entry in ``path``; None when it does not parse; NotPrivate when it is not this user's alone."""
    try:
        document = json.loads(read_private(path, limit=MAX_DOCUMENT_BYTES))
        entry = RunningStack(**document)
    except (OSError, ValueError, TypeError):
        return None
    return entry if isinstance(entry.pid, int) and isinstance(entry.workdir, str) else None


def _alive(entry: RunningStack) -> bool:
    """The entry's process runs, is this user's, and is the one that registered (not a recycled pid)."""
    try:
        os.kill(entry.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # another user's process: not a stack of ours, whatever the entry says
    if Path("/proc/self").is_dir():  # Linux: whose process it is (root may signal anyone's)
        try:
            if os.stat(f"/proc/{entry.pid}").st_uid != os.geteuid():
                return False
        except OSError:
            return False
    fields = _stat_fields(entry.pid)
    if fields is None:
        return True  # no /proc here: the signal test is all there is
    state, start = fields[0], fields[19]
    # A zombie has exited (its parent has not reaped it yet); a different start time is a recycled pid.
    return state != "Z" and (entry.process_start is None or start == entry.process_start)


def _process_start(pid: int) -> str | None:
    """Field 22 of ``/proc/PID/stat`` (start time in clock ticks since boot); None off Linux."""
    fields = _stat_fields(pid)
    return None if fields is None else fields[19]


def _stat_fields(pid: int) -> list[str] | None:
    """``/proc/PID/stat`` from field 3 (the state) on; None off Linux or when the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after its closing one.
    return stat.rsplit(")", 1)[1].split()


def stop(entry: RunningStack, *, timeout: float = 30.0, poll: float = 0.1) -> bool:
    """Ask a running ``local up`` to stop as Ctrl-C would (SIGTERM: it saves its state and removes its
    outputs document), and wait until its process is gone. False if it is still running at ``timeout``."""
    try:
        os.kill(entry.pid, signal.SIGTERM)
    except ProcessLookupError:
        unregister(entry)
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(entry):
            unregister(entry)
            return True
        time.sleep(poll)
    return False


def holder_of_port(port: int, stacks: list[RunningStack] | None = None) -> RunningStack | None:
    """The running local stack that serves ``port`` (emulator or API), according to its outputs document."""
    for entry in running() if stacks is None else stacks:
        outputs = entry.outputs() or {}
        for key in ("endpoint_url", "api_url"):
            if urlsplit(str(outputs.get(key, ""))).port == port:
                return entry
    return None
