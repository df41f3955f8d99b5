"""What survives a restart of ``pipeline-ctl local up``: the emulator's state, saved on a clean stop.

A clean stop (Ctrl-C, SIGTERM) saves the whole emulator — the deployment, AccountTable and LogTable items,
bucket objects, queued messages — to ``.pipeline/local-state.pickle`` (owner-only: it holds record values),
through ``local_stack.snapshot``. The next start restores it and, once serving, removes the file (``--fresh``
discards it instead). So a crash (kill -9, power loss) can never resurrect an older state behind newer work:
there is no file left, and the outputs document of the dead run, which records its pid, says that it did not
stop cleanly; the next start says so in one line and starts clean.

A saved state is loaded only when this user's own local stack provably wrote it: the file is sealed under a
per-user key (``local_stack.seal``) and the seal is checked before anything in it is unpickled; a file that
fails (planted, copied from another user, edited) is refused in one line, removed, and the stack starts clean.

A saved state is restored only onto the same program: its key is the deploy cache's
(``local_stack.deploy_cache.program_key``: sources, config, versions). After an edit of the program, the state
is discarded with a line saying what it held, and the new program is applied (carrying data across two
deployments would mean guessing which old table is which new one).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from infra.private_files import NotPrivate
from local_stack import seal, snapshot
from local_stack.deployment import Deployment

if TYPE_CHECKING:  # moto is imported where it is used: the CLI starts without it
    from moto.core.base_backend import BackendDict, BaseBackend

STATE_PATH = ".pipeline/local-state.pickle"
PURPOSE = "local-state"
"""What the seal of a saved state says it is (a sealed deploy-cache entry cannot pass for one)."""


@dataclass
class Saved:
    """What the state file holds beside moto's backends."""

    key: str
    deployment: Deployment
    saved_at: str
    summary: dict[str, int] = field(default_factory=dict)


@dataclass
class Restored:
    deployment: Deployment | None
    """None: nothing restored (the caller deploys)."""
    notice: str | None
    """One line for the user (restored, discarded and why), or None when there was nothing."""


def summarize() -> dict[str, int]:
    """Tables, items, objects and messages the emulator holds now (from moto's own objects)."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.s3.models import s3_backends
    from moto.sqs.models import sqs_backends

    summary = {"tables": 0, "items": 0, "objects": 0, "messages": 0}
    for dynamodb in _backends(dynamodb_backends):
        for table in dynamodb.tables.values():
            summary["tables"] += 1
            summary["items"] += len(table)
    for s3 in _backends(s3_backends):
        for bucket in s3.buckets.values():
            summary["objects"] += len(bucket.keys)
    for sqs in _backends(sqs_backends):
        for queue in sqs.queues.values():
            summary["messages"] += len(queue._messages)
    return summary


def describe(summary: dict[str, int]) -> str:
    def plural(count: int, noun: str) -> str:
        return f"{count} {noun}{'' if count == 1 else 's'}"

    items, tables = plural(summary.get("items", 0), "item"), plural(summary.get("tables", 0), "table")
    objects = plural(summary.get("objects", 0), "object")
    messages = plural(summary.get("messages", 0), "queued message")
    return f"{items} in {tables}, {objects}, {messages}"


def save(path: Path, *, key: str, deployment: Deployment, endpoint: str) -> dict[str, int]:
    """Write the emulator's state (atomically, owner-only); what it holds. SnapshotError if it cannot."""
    summary = summarize()
    saved = Saved(
        key=key,
        deployment=deployment,
        saved_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        summary=summary,
    )
    try:
        data = seal.seal(snapshot.dumps(saved, endpoint=endpoint), PURPOSE)
    except (seal.Unsealed, NotPrivate) as error:
        raise snapshot.SnapshotError(f"cannot seal the state: {error}") from error
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    os.replace(temporary, path)
    return summary


def discard(path: Path, why: str) -> str | None:
    """Remove a saved state; the line saying so (None when there was none)."""
    if not path.exists():
        return None
    path.unlink()
    return f"Discarded the saved local state ({why}); starting clean."


def restore(path: Path, *, key: str, endpoint: str) -> Restored:
    """Restore the saved state if it belongs to this program (``key``). A discarded file is removed at once;
    a restored one by the caller once the stack serves (:func:`consumed`): a start interrupted before that
    (Ctrl-C while starting) leaves it for the next start."""
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        return Restored(None, None)
    try:
        data = seal.unseal(blob, PURPOSE)
    except (seal.Unsealed, NotPrivate) as error:
        seal.remove_quietly(path)
        return Restored(
            None,
            f"The saved local state {path} was not written by your own local stack ({error}): not loaded; "
            "starting clean.",
        )
    try:
        saved, _ = snapshot.loads(data, endpoint=endpoint)
    except snapshot.SnapshotError as error:
        path.unlink()
        return Restored(None, f"The saved local state could not be restored ({error}): starting clean.")
    if not isinstance(saved, Saved):
        path.unlink()
        snapshot.wipe_backends()
        return Restored(None, "The saved local state is not one this version writes: starting clean.")
    if saved.key != key:
        path.unlink()
        snapshot.wipe_backends()
        return Restored(
            None,
            f"The local state saved {saved.saved_at} ({describe(saved.summary)}) was of another version of "
            "the program or its config: discarded; the program is applied afresh.",
        )
    _make_messages_visible()
    return Restored(
        saved.deployment,
        f"Restored the local state saved {saved.saved_at}: {describe(saved.summary)} (--fresh starts empty).",
    )


def consumed(path: Path) -> None:
    """The restored state now lives in the running emulator: the file goes, so that after a crash nothing
    older than the lost run can come back."""
    path.unlink(missing_ok=True)


def _make_messages_visible() -> None:
    """Messages that were in flight when the stack stopped are visible again (their receive count kept):
    the handler that held them is gone, as after a Lambda timeout."""
    from moto.sqs.models import sqs_backends

    for sqs in _backends(sqs_backends):
        for queue in sqs.queues.values():
            for message in queue._messages:
                message.visible_at = 0.0


def unclean_stop(outputs_path: Path) -> str | None:
    """If the outputs document was left by a process that is gone, the line saying what was lost (and the
    document is removed); None if there is none, or it belongs to a live process (this one included)."""
    try:
        document: dict[str, Any] = json.loads(outputs_path.read_text())
    except (OSError, ValueError):
        return None
    pid = int(document.get("pid") or 0)
    if pid == os.getpid() or (pid and process_alive(pid)):
        return None
    outputs_path.unlink(missing_ok=True)
    since = f", up since {document['started_at']}" if document.get("started_at") else ""
    who = f"pid {pid}" if pid else "an older version"
    return (
        f"The last local stack here ({who}{since}) did not stop cleanly (killed or crashed): its tables, "
        "objects and queued messages were not saved and are lost; starting clean."
    )


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


Backend = TypeVar("Backend", bound="BaseBackend")


def _backends(backends: BackendDict[Backend]) -> Iterator[Backend]:
    """Every account's and region's backend of one service, typed as that service's (moto's own
    ``iter_backends`` gives them as ``BaseBackend``)."""
    for per_account in backends.values():
        yield from per_account.values()
