"""The writer's deadline: stop starting work while there is still time to hand back what was not done.

Lambda kills an invocation at its timeout and throws its response away: every message of the batch then
returns after the visibility timeout and (maxReceiveCount 1) reaches the DLQ whole, without a reason. So the
writer watches ``context.get_remaining_time_in_millis()`` and, counting down the remaining time ``r``:

* ``r > STOP_STARTING_SECONDS``: writes start as usual;
* then no new write starts (``functions.writer.store``: *not attempted*); writes already in flight get
  ``IN_FLIGHT_GRACE_SECONDS`` (one read timeout) to finish;
* at ``r = FINISH_SECONDS`` the writer stops waiting for them (*unfinished*) and hands the records it did not
  finish back to WriterQueue as a continuation (functions.writer.continuation), acknowledging the message;
  only when that send fails does the rest go to the DLQ as ``DeadlineExceeded`` (docs/reliability.md);
* at ``r = RETURN_MARGIN_SECONDS`` the handler stops waiting for anything: a message whose hand-back (or DLQ
  send) has not been confirmed is reported in ``batchItemFailures`` (the queue's redrive then carries it),
  and the handler returns.

Each wait is bounded by this clock, not by the SDK's timeouts, so the handler returns in time whatever a
call does; the SDK's own worst case (functions.aws.worst_case_call_seconds) is still held below the
function's timeout by a test, so no abandoned call outlives the invocation by much.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from functions import aws

RETURN_MARGIN_SECONDS = 1.0
"""Kept for the handler's own end: the response, the log lines and the metrics document."""
SEND_PHASE_SECONDS = float(aws.CONNECT_TIMEOUT_SECONDS + aws.READ_TIMEOUT_SECONDS)
"""For the hand-back (or DLQ) sends of unfinished messages: one attempt's timeouts."""
FINISH_SECONDS = RETURN_MARGIN_SECONDS + SEND_PHASE_SECONDS
IN_FLIGHT_GRACE_SECONDS = float(aws.READ_TIMEOUT_SECONDS)
STOP_STARTING_SECONDS = FINISH_SECONDS + IN_FLIGHT_GRACE_SECONDS


class Deadline:
    """The invocation's end as a point on the monotonic clock; unbounded without a context."""

    def __init__(self, remaining_seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._end = clock() + remaining_seconds

    @classmethod
    def of(cls, context: Any) -> Deadline:
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        return cls(remaining() / 1000 if callable(remaining) else math.inf)

    def remaining(self) -> float:
        return self._end - self._clock()

    def may_start(self) -> bool:
        """Whether a new write may still start."""
        return self.remaining() > STOP_STARTING_SECONDS

    def wait_seconds(self) -> float | None:
        """How long writes already submitted may still be waited for (None: without limit)."""
        return self._until(FINISH_SECONDS)

    def send_seconds(self) -> float | None:
        """How long a message's work (its writes and DLQ sends) may still be waited for (None: no limit)."""
        return self._until(RETURN_MARGIN_SECONDS)

    def _until(self, reserve: float) -> float | None:
        remaining = self.remaining()
        return None if remaining == math.inf else max(0.0, remaining - reserve)


UNBOUNDED = Deadline(math.inf)
"""For callers without an invocation (tests, the local tools)."""
