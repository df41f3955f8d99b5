"""``pipeline-ctl status --watch``: status reports over time, with throughput and a trend per queue.

A :class:`Watch` keeps the last ``history`` samples. Each sample is a status report (queue depths, ages) and
what the functions processed since the previous sample, read from their own log lines (``ops.logs``): the
writer's ``message processed`` lines count the records taken off WriterQueue (written + stale + invalid +
failed), the error handler's ``error logged`` lines the DLQ messages stored in LogTable. SQS has no
per-queue "processed" counter that the local stack could show, and CloudWatch's ``NumberOfMessagesDeleted``
comes in whole minutes; the lines are the same in AWS and locally, and a few seconds fresh.

Nothing here reads a clock by itself or sleeps: the caller hands in the time of each sample, so the
rendering can be tested with a fake clock and real status reports.

Example::

    watch = Watch()
    feed = ProcessedFeed(target, start=now)
    watch.add(now, status(target), feed.since_last(now))
    watch.rate("writer_queue"), sparkline(watch.depths("writer_queue"))
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from functions.model import Service
from ops.logs import read_events
from ops.status import StatusReport
from ops.target import Target

DEFAULT_HISTORY = 40
RATE_WINDOW = 5
"""Samples the throughput is averaged over: steadier than one interval, still quick to follow a change."""
SPARK = "▁▂▃▄▅▆▇█"

FEEDS: dict[str, tuple[str, str]] = {
    "writer_queue": (Service.WRITER.value, "message processed"),
    "dlq": (Service.ERROR_HANDLER.value, "error logged"),
}
"""Queue -> (the function that consumes it, its line for one unit of work)."""


@dataclass(frozen=True)
class Sample:
    at: datetime
    report: StatusReport
    processed: dict[str, int]
    """Per queue: what its consumer processed since the previous sample."""


class Watch:
    """The last ``history`` samples, and what they say per queue."""

    def __init__(self, *, history: int = DEFAULT_HISTORY) -> None:
        self.samples: deque[Sample] = deque(maxlen=history)

    def add(self, at: datetime, report: StatusReport, processed: dict[str, int]) -> Sample:
        sample = Sample(at, report, processed)
        self.samples.append(sample)
        return sample

    @property
    def latest(self) -> Sample | None:
        return self.samples[-1] if self.samples else None

    def depths(self, queue: str) -> list[int]:
        """Messages in the queue (visible + in flight) at each sample, oldest first."""
        return [
            sample.report.queues[queue].visible + sample.report.queues[queue].in_flight
            for sample in self.samples
            if queue in sample.report.queues
        ]

    def rate(self, queue: str) -> float | None:
        """Processed per second over the last ``RATE_WINDOW`` intervals; None before the second sample."""
        recent = list(self.samples)[-(RATE_WINDOW + 1) :]
        if len(recent) < 2:
            return None
        seconds = (recent[-1].at - recent[0].at).total_seconds()
        if seconds <= 0:
            return None
        return sum(sample.processed.get(queue, 0) for sample in recent[1:]) / seconds

    def to_dict(self, sample: Sample) -> dict[str, Any]:
        """One sample as a JSON Lines record: the status report plus rates."""
        document = sample.report.to_dict()
        document["at"] = sample.at.isoformat()
        for queue, values in document["queues"].items():
            values["processed"] = sample.processed.get(queue, 0)
            values["per_second"] = self.rate(queue)
        return document


class ProcessedFeed:
    """Counts, from the functions' log lines, what each queue's consumer processed between two times."""

    def __init__(self, target: Target, *, start: datetime) -> None:
        self._target = target
        self._last = start
        self._seen: set[str] = set()

    def since_last(self, now: datetime) -> dict[str, int]:
        counts = {}
        seen: set[str] = set()
        for queue, (function, message) in FEEDS.items():
            total = 0
            for event in read_events(self._target, [function], since=self._last, until=now, contains=message):
                fields = event.fields or {}
                if fields.get("message") != message or event.event_id in self._seen:
                    continue
                seen.add(event.event_id)
                total += _units(fields)
            counts[queue] = total
        # Lines on the boundary are read by two polls: remember the ids of the last one.
        self._seen = seen
        self._last = now
        return counts


def _units(fields: dict[str, Any]) -> int:
    """Records in a writer line (its outcome counts), one for an error-handler line."""
    if "written" in fields:
        return sum(int(fields.get(name) or 0) for name in ("written", "stale", "invalid", "failed"))
    return 1


def sparkline(values: Sequence[float], *, width: int | None = None) -> str:
    """``▁▂▅█``: each value's height relative to the largest (all lowest when everything is zero)."""
    shown = list(values)[-width:] if width else list(values)
    top = max(shown, default=0)
    if top <= 0:
        return SPARK[0] * len(shown)
    return "".join(SPARK[min(len(SPARK) - 1, round(value / top * (len(SPARK) - 1)))] for value in shown)
