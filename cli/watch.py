"""``pipeline-ctl status --watch``: the queues refreshing live, each with its throughput and a trend line.

On a terminal, one rich ``Live`` frame redrawn every ``--interval`` seconds: per queue its depth (visible,
in flight), the age of its oldest message, what its consumer processes per second and a sparkline of its
depth over the last samples; below, today's LogTable counts, the alarms and the dashboard URL. Piped, one
plain line per sample (a log of the queues); with ``--json``, one JSON Lines record per sample. Ctrl-C ends
it (exit 0). The work is ``ops.watch``; the frame is :func:`frame`, a pure function of the samples.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import datetime

from rich.console import Group, JustifyMethod, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from cli.output import Output
from cli.render import QUEUE_LABELS
from ops.logtable import now_utc
from ops.status import status
from ops.target import Target
from ops.watch import ProcessedFeed, Watch, sparkline

TREND_WIDTH = 20
RATE_UNITS = {"writer_queue": "records/s", "dlq": "errors/s"}


def run_watch(
    out: Output,
    target: Target,
    *,
    interval: float,
    clock: Callable[[], datetime] = now_utc,
    samples: int | None = None,
) -> None:
    """Sample every ``interval`` seconds until Ctrl-C (or ``samples`` samples, for a bounded run)."""
    watch = Watch()
    feed = ProcessedFeed(target, start=clock())
    live = Live(console=out.console, auto_refresh=False) if out.interactive else None
    taken = 0
    try:
        if live is not None:
            live.start()
        while samples is None or taken < samples:
            if taken:
                time.sleep(interval)
            now = clock()
            sample = watch.add(
                now, status(target, clock=functools.partial(_fixed, now)), feed.since_last(now)
            )
            taken += 1
            if out.json_mode:
                out.json_line(watch.to_dict(sample))
            elif live is not None:
                live.update(frame(watch, interval=interval), refresh=True)
            else:
                out.console.print(line(watch), soft_wrap=True)
    except KeyboardInterrupt:
        pass  # Ctrl-C is how --watch ends
    finally:
        if live is not None:
            live.stop()


def _fixed(moment: datetime) -> datetime:
    return moment


def frame(watch: Watch, *, interval: float) -> RenderableType:
    """The live view of the latest sample."""
    sample = watch.latest
    if sample is None:
        return Text("waiting for the first sample…")
    report = sample.report
    table = Table(box=None, pad_edge=False, padding=(0, 1))
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("queue", "left"),
        ("visible", "right"),
        ("in flight", "right"),
        ("oldest", "right"),
        ("throughput", "right"),
        ("trend", "left"),
    )
    for column, justify in columns:
        table.add_column(column, justify=justify, no_wrap=True)
    for key, queue in report.queues.items():
        table.add_row(
            QUEUE_LABELS.get(key, key),
            str(queue.visible),
            str(queue.in_flight),
            "n/a" if queue.oldest_age_seconds is None else f"{queue.oldest_age_seconds:g} s",
            _rate(watch.rate(key), RATE_UNITS.get(key, "/s")),
            sparkline(watch.depths(key), width=TREND_WIDTH),
        )
    counts = ", ".join(f"{key} {value}" for key, value in report.log_counts.items()) or "none"
    alarms = "n/a" if report.alarms is None else _alarms(report)
    lines: list[RenderableType] = [
        Text(f"stack {report.stack} · {sample.at:%H:%M:%S} UTC · every {interval:g} s · Ctrl-C to stop"),
        table,
        Text(f"LogTable today: {counts} · alarms: {alarms}"),
    ]
    if report.dashboard_url:
        lines.append(Text(f"dashboard: {report.dashboard_url}", overflow="fold"))
    return Group(*lines)


def line(watch: Watch) -> str:
    """One sample as one plain line, for a pipe or a log file."""
    sample = watch.latest
    assert sample is not None
    parts = [f"{sample.at:%Y-%m-%dT%H:%M:%SZ}"]
    for key, queue in sample.report.queues.items():
        rate = watch.rate(key)
        parts.append(
            f"{QUEUE_LABELS.get(key, key)} {queue.visible}+{queue.in_flight}"
            + ("" if rate is None else f" {rate:.1f}/s")
        )
    return "  ".join(parts)


def _rate(value: float | None, unit: str) -> str:
    return "…" if value is None else f"{value:.1f} {unit}"


def _alarms(report: object) -> str:
    alarms = getattr(report, "alarms", None) or []
    firing = [alarm.name for alarm in alarms if alarm.state == "ALARM"]
    return f"{len(firing)} in ALARM ({', '.join(firing)})" if firing else f"{len(alarms)}, none in ALARM"
