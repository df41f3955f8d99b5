"""Messages sent with as few ``SendMessageBatch`` calls as SQS's limits allow, failed entries retried."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from functions.errors import SendFailed
from functions.messages.sizing import STRING, OutgoingMessage
from functions.model import SQS_BATCH_MAX_BYTES, SQS_BATCH_MAX_ENTRIES

SEND_ATTEMPTS = 4
"""SendMessageBatch calls per entry (the SDK already retries whole calls; this retries failed entries)."""
SEND_BACKOFF_SECONDS = 0.1


class BatchSink(Protocol):
    """Sends up to 10 entries (SendMessageBatch ``Entries`` shape); returns the entries SQS reported failed
    (``Failed`` shape: ``Id``, ``Code``, ``Message``, ``SenderFault``)."""

    def __call__(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]: ...


def sqs_sink(queue_url: str, sqs_client: Any) -> BatchSink:
    """A :class:`BatchSink` that calls ``SendMessageBatch`` on ``queue_url``."""

    def send(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return list(sqs_client.send_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed", []))

    return send


def _entry(index: int, outgoing: OutgoingMessage) -> dict[str, Any]:
    entry: dict[str, Any] = {"Id": str(index), "MessageBody": outgoing.body}
    if outgoing.attributes:
        entry["MessageAttributes"] = {
            name: {"DataType": STRING, "StringValue": value} for name, value in outgoing.attributes.items()
        }
    return entry


class BatchSender:
    """Buffers messages and sends them with as few ``SendMessageBatch`` calls as the limits allow.

    A batch goes out at 10 entries or when the next message would take it over 1 MiB. Only the entries SQS
    reports failed are re-sent (with backoff); entries still failing after ``attempts``, or failing through
    the sender's fault (which a retry cannot fix), raise :class:`SendFailed` — the caller must fail so that
    its own retry applies. Entries sent before that stay sent: downstream writes are idempotent.
    """

    def __init__(
        self,
        sink: BatchSink,
        *,
        attempts: int = SEND_ATTEMPTS,
        backoff: float = SEND_BACKOFF_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._sink = sink
        self._attempts = attempts
        self._backoff = backoff
        self._sleep = sleep
        self._pending: list[OutgoingMessage] = []
        self._pending_bytes = 0
        self.calls = 0
        self.sent = 0

    def add(self, outgoing: OutgoingMessage) -> None:
        full = len(self._pending) == SQS_BATCH_MAX_ENTRIES
        if self._pending and (full or self._pending_bytes + outgoing.size > SQS_BATCH_MAX_BYTES):
            self.flush()
        self._pending.append(outgoing)
        self._pending_bytes += outgoing.size

    def add_all(self, messages: Iterable[OutgoingMessage]) -> None:
        for outgoing in messages:
            self.add(outgoing)

    def flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending, self._pending_bytes = self._pending, [], 0
        entries = {str(index): _entry(index, outgoing) for index, outgoing in enumerate(batch)}
        for attempt in range(1, self._attempts + 1):
            self.calls += 1
            failed = self._sink(list(entries.values()))
            failed_ids = {item["Id"] for item in failed}
            self.sent += len(entries) - len(failed_ids)
            if not failed:
                return
            permanent = [item for item in failed if item.get("SenderFault")]
            if permanent or attempt == self._attempts:
                worst = (permanent or failed)[0]
                raise SendFailed(
                    f"{len(failed)} of {len(entries)} SendMessageBatch entries failed after {attempt} "
                    f"attempt(s): {worst.get('Code')}: {worst.get('Message')}"
                )
            entries = {entry_id: entries[entry_id] for entry_id in failed_ids if entry_id in entries}
            self._sleep(self._backoff * 2 ** (attempt - 1))
