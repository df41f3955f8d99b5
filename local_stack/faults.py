"""The local stack's fault switch: make the emulator's DynamoDB refuse some AccountTable writes.

Why here and not in the handlers: the point is to prove the *real* failure path (SDK retries, partial batch
failure, the queue's redrive, the DLQ, the error handler) with the production code untouched. The switch is
consulted by the emulator (``server``) before moto sees a ``PutItem``, and the refusal is the error
DynamoDB itself sends, so the Writer cannot tell it from a real throttle. Off by default.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass

FAULT_ERRORS: dict[str, tuple[int, str]] = {
    "ProvisionedThroughputExceededException": (
        400,
        "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
    ),
    "ThrottlingException": (400, "com.amazon.coral.availability#ThrottlingException"),
    "InternalServerError": (500, "com.amazonaws.dynamodb.v20120810#InternalServerError"),
}
"""Transient DynamoDB errors the switch can answer with: HTTP status and the ``__type`` DynamoDB sends."""

DEFAULT_FAULT_ERROR = "ProvisionedThroughputExceededException"


@dataclass(frozen=True)
class Fault:
    """One refusal to send back instead of letting the write through."""

    error: str
    status: int
    type_name: str

    @property
    def message(self) -> str:
        return f"Injected by the local stack's fault switch ({self.error})"


def _fault(error: str) -> Fault:
    try:
        status, type_name = FAULT_ERRORS[error]
    except KeyError:
        raise ValueError(f"unknown fault error {error!r}; choose one of {', '.join(FAULT_ERRORS)}") from None
    return Fault(error=error, status=status, type_name=type_name)


class FaultSwitch:
    """Which AccountTable writes fail: a random share of them, and/or every write of chosen account ids.

    ``fail_account_ids`` fails *every* attempt for those ids, so the SDK's own retries cannot rescue them and
    the message is reported failed — the deterministic way to send a record to the DLQ through the redrive.
    ``fail_writes`` fails each attempt with probability ``rate`` (seeded, so a run can be repeated).
    Thread-safe: the emulator serves requests on many threads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rate = 0.0
        self._random = random.Random(0)
        self._rate_fault = _fault(DEFAULT_FAULT_ERROR)
        self._ids: dict[str, Fault] = {}
        self._injected = 0

    def fail_writes(self, rate: float, *, seed: int = 0, error: str = DEFAULT_FAULT_ERROR) -> None:
        """Fail each AccountTable ``PutItem`` with probability ``rate`` (0 turns it off)."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be between 0 and 1, got {rate}")
        fault = _fault(error)
        with self._lock:
            self._rate = rate
            self._random = random.Random(seed)
            self._rate_fault = fault

    def fail_account_ids(self, ids: Iterable[str], *, error: str = DEFAULT_FAULT_ERROR) -> None:
        """Fail every AccountTable ``PutItem`` of these account ids (added to those already failing)."""
        fault = _fault(error)
        with self._lock:
            self._ids.update(dict.fromkeys(ids, fault))

    def clear(self) -> None:
        """Every write goes through again."""
        with self._lock:
            self._rate = 0.0
            self._ids.clear()

    @property
    def active(self) -> bool:
        with self._lock:
            return bool(self._rate or self._ids)

    @property
    def injected(self) -> int:
        """How many writes the switch has refused so far."""
        with self._lock:
            return self._injected

    def decide(self, account_id: str | None) -> Fault | None:
        """The refusal for one write attempt, or None to let it through."""
        with self._lock:
            fault = self._ids.get(account_id) if account_id is not None else None
            if fault is None and self._rate and self._random.random() < self._rate:
                fault = self._rate_fault
            if fault is not None:
                self._injected += 1
            return fault
