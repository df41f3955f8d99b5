"""Human renderings of the command reports (rich tables and one-line summaries).

Kept apart from the commands so that ``cli/app.py`` stays a list of thin adapters and every report type is
drawn in one place. ``--json`` never comes here: it prints the reports' ``to_dict()``. Text from the
pipeline (reasons, sources, bodies) is printed literally: ``Output`` has rich markup off.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from cli import body_view
from cli.output import Output, records
from cli.text import human_time, printable
from ops.replay import ReplayEntry, ReplayReport
from ops.send import SendReport
from ops.status import StatusReport
from ops.upload import UploadedFile

QUEUE_LABELS = {"writer_queue": "WriterQueue", "dlq": "DLQ"}
"""The one name each queue has in human output (status, status --watch, local up): the design's names. The
JSON keeps the outputs document's keys (``writer_queue``, ``dlq``)."""
CONSUMER_QUEUES = {"writer": "WriterQueue", "error_handler": "DLQ"}
"""The local stack names a polled queue by the function that consumes it: the same two names."""

ERROR_COLUMNS = ("failed at", "type", "message", "source", "status", "error id")
ERROR_NO_WRAP = ("failed at", "type", "status", "error id")
SHOW_ORDER = (
    "error_id",
    "status",
    "replay_of",
    "error_type",
    "error_message",
    "failed_at",
    "day",
    "source",
    "receive_count",
)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def send_summary(report: SendReport) -> str:
    """``sent 3 records in 3 requests: 3 queued, 0 rejected``: queued, because the writer validates later."""
    rejected = sum(report.rejected.values())
    text = (
        f"sent {plural(report.records, 'record')} in {plural(report.requests, 'request')}: "
        f"{report.accepted} queued, {rejected} rejected"
    )
    if report.retries:
        text += f" ({report.retries} {'retry' if report.retries == 1 else 'retries'})"
    if report.skipped:
        text += f" (skipped the first {plural(report.skipped, 'record')})"
    return text


def send_rejections(report: SendReport) -> str:
    reasons = ", ".join(f"{reason}: {count}" for reason, count in sorted(report.rejected.items()))
    rejected = sum(report.rejected.values())
    return f"{rejected} of {plural(report.records, 'record')} rejected ({reasons})"


def send(out: Output, report: SendReport) -> None:
    """The summary line, then the last answer seen for each rejection reason."""
    out.summary(send_summary(report))
    for reason, detail in sorted(report.details.items()) if not report.ok else ():
        out.print(printable(f"  {reason}: {detail}" if detail else f"  {reason}"))


def replay(out: Output, report: ReplayReport) -> None:
    title = f"replay from {report.source}" + (" (dry run)" if report.dry_run else "")
    if not report.entries:
        out.print(f"{title}: nothing to replay")
        return
    # The replay message id only where one exists: a dry run (or a replay that sent nothing) has none, and an
    # empty row under every entry says nothing.
    with_ids = any(entry.replay_message_id for entry in report.entries)
    rows = [
        (entry.error_id, entry.error_type, entry.source, _result(entry.result, entry.detail))
        + ((entry.replay_message_id,) if with_ids else ())
        for entry in report.entries
    ]
    columns = ("error id", "type", "source", "result") + (("replay message id",) if with_ids else ())
    out.print(out.table(title, columns, rows, no_wrap=("error id", "type", "replay message id")))
    out.summary(", ".join(f"{result}: {count}" for result, count in sorted(report.counts.items())))


def _result(result: Any, detail: str) -> str:
    return f"{result}: {detail}" if detail else str(result)


def replay_preview(entries: Sequence[ReplayEntry]) -> Text:
    """What a replay without a filter would take, in one line: how many of each type, over which period."""
    types: dict[str, int] = {}
    for entry in entries:
        types[entry.error_type] = types.get(entry.error_type, 0) + 1
    kinds = ", ".join(f"{count} {error_type}" for error_type, count in sorted(types.items()))
    stamps = sorted(entry.failed_at[5:16].replace("T", " ") for entry in entries if entry.failed_at)
    period = f", failed {stamps[0]} to {stamps[-1]} UTC" if stamps else ""
    return Text(printable(f"would replay {plural(len(entries), 'failure')} ({kinds}){period}"))


def failure_summary(failures: Sequence[ReplayEntry]) -> str:
    """``not found: 1, failed: 2``: how the entries that were not replayed ended."""
    counts: dict[str, int] = {}
    for entry in failures:
        counts[str(entry.result)] = counts.get(str(entry.result), 0) + 1
    return ", ".join(f"{result}: {count}" for result, count in sorted(counts.items()))


def moment(out: Output, stamp: Any) -> str:
    """``2026-11-29 09:48:32 UTC`` from the pipeline's ``2026-11-29T09:48:32.454522Z`` (whole with --wide)."""
    if out.wide:
        return str(stamp or "")
    return human_time(stamp)


def error_rows(out: Output, items: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (
            moment(out, item.get("failed_at", "")),
            item.get("error_type", ""),
            item.get("error_message", ""),
            item.get("source", ""),
            item.get("status", ""),
            item.get("error_id", ""),
        )
        for item in items
    ]


def errors(out: Output, items: Sequence[dict[str, Any]]) -> None:
    """``errors tail``: a table when it fits, one block per error when the terminal is narrow."""
    out.print(out.table(None, ERROR_COLUMNS, error_rows(out, items), no_wrap=ERROR_NO_WRAP))


def streamed_error(out: Output, item: dict[str, Any]) -> RenderableType:
    """One item of ``errors tail --follow``: a line when it fits the width, else a block like ``tail``'s."""
    row = [printable(cell) for cell in error_rows(out, [item])[0]]
    line = "  ".join(row)
    if out.wide or len(line) <= out.width:
        return Text(line)
    return Group(records(ERROR_COLUMNS, [row], width=out.width), Text(""))


def error_item(out: Output, item: dict[str, Any], *, full: bool = False) -> None:
    """``errors show``: every attribute (``replay_of`` right after the status when the body was a replay),
    then the body, bounded unless ``full`` (:mod:`cli.body_view`)."""
    keys = [key for key in SHOW_ORDER if key in item]
    keys += sorted(key for key in item if key not in SHOW_ORDER and key != "body")
    out.print(records(keys, [[_attribute(item[key]) for key in keys]], width=out.width))
    shown = body_view.view(item.get("body", ""), str(item.get("error_message", "")), full=full)
    out.print(Text(shown.title))
    out.print(Text(shown.text))
    if shown.omitted:
        out.print(Text(shown.omitted))


def _attribute(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{key}={_attribute(inner)}" for key, inner in sorted(value.items()))
    return str(value)


def status(out: Output, report: StatusReport) -> None:
    queues = [
        (
            QUEUE_LABELS.get(label, label),
            queue.name,
            queue.visible,
            queue.in_flight,
            "n/a" if queue.oldest_age_seconds is None else f"{queue.oldest_age_seconds:g} s",
        )
        for label, queue in report.queues.items()
    ]
    out.print(
        out.table(
            f"stack {report.stack}: queues",
            ("queue", "name", "visible", "in flight", "oldest"),
            queues,
            no_wrap=("queue", "name"),
        )
    )
    counts = ", ".join(f"{key} {value}" for key, value in report.log_counts.items()) or "none"
    out.print(f"LogTable today ({report.log_day}): {counts}")
    items = "n/a" if report.account_items is None else report.account_items
    out.print(f"AccountTable items (estimate): {items}")
    if report.alarms is None:
        out.print("alarms: n/a")
    elif not report.alarms:
        out.print("alarms: none")
    else:
        rows = [(alarm.name, alarm.state, alarm.reason) for alarm in report.alarms]
        out.print(out.table("alarms", ("alarm", "state", "reason"), rows))
    if report.dashboard_url:
        out.console.print(f"dashboard: {report.dashboard_url}", soft_wrap=True)  # whole, to click or copy
    for note in report.notes:
        out.note(f"note: {note}")


def uploaded(out: Output, files: Sequence[UploadedFile]) -> None:
    rows = [
        (file.path, file.uri, file.size, "not JSON" if file.records is None else file.records)
        for file in files
    ]
    out.print(out.table("uploaded", ("file", "object", "bytes", "records"), rows, no_wrap=("object",)))


def release(out: Output, status: Any) -> None:
    if status is None:
        out.print("no deployment yet")
        return
    rows = [(key, value) for key, value in status.to_dict().items() if value is not None]
    out.print(out.table("writer release", ("field", "value"), rows))
