"""Human renderings of the command reports (rich tables and one-line summaries).

Kept apart from the commands so that ``cli/app.py`` stays a list of thin adapters and every report type is
drawn in one place. ``--json`` never comes here: it prints the reports' ``to_dict()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cli.output import Output
from ops.errors_log import pretty_body
from ops.replay import ReplayReport
from ops.send import SendReport
from ops.status import StatusReport
from ops.upload import UploadedFile

ERROR_COLUMNS = ("failed at", "type", "message", "source", "status", "error id")
ERROR_NO_WRAP = ("failed at", "type", "status", "error id")
SHOW_ORDER = (
    "error_id",
    "status",
    "error_type",
    "error_message",
    "failed_at",
    "day",
    "source",
    "receive_count",
)


def send_summary(report: SendReport) -> str:
    text = (
        f"sent {report.records} records in {report.requests} requests: "
        f"{report.accepted} accepted, {sum(report.rejected.values())} rejected"
    )
    if report.retries:
        text += f" ({report.retries} retries)"
    return text


def send_rejections(report: SendReport) -> str:
    reasons = ", ".join(f"{reason}: {count}" for reason, count in sorted(report.rejected.items()))
    return f"{sum(report.rejected.values())} of {report.records} records rejected ({reasons})"


def send_details(out: Output, report: SendReport) -> None:
    for reason, detail in sorted(report.details.items()):
        out.print(f"  {reason}: {detail}" if detail else f"  {reason}")


def replay(out: Output, report: ReplayReport) -> None:
    title = f"replay from {report.source}" + (" (dry run)" if report.dry_run else "")
    if not report.entries:
        out.print(f"{title}: nothing to replay")
        return
    rows = [
        (
            entry.error_id,
            entry.error_type,
            entry.source,
            _result(entry.result, entry.detail),
            entry.replay_message_id,
        )
        for entry in report.entries
    ]
    columns = ("error id", "type", "source", "result", "replay message id")
    out.print(out.table(title, columns, rows, no_wrap=("error id", "type", "replay message id")))
    out.print(", ".join(f"{result}: {count}" for result, count in sorted(report.counts.items())))


def _result(result: Any, detail: str) -> str:
    return f"{result}: {detail}" if detail else str(result)


def error_rows(items: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (
            item.get("failed_at", ""),
            item.get("error_type", ""),
            item.get("error_message", ""),
            item.get("source", ""),
            item.get("status", ""),
            item.get("error_id", ""),
        )
        for item in items
    ]


def error_line(item: dict[str, Any]) -> str:
    """One streamed item of ``errors tail --follow``."""
    return "  ".join(str(cell) for cell in error_rows([item])[0])


def error_item(out: Output, item: dict[str, Any]) -> None:
    keys = [key for key in SHOW_ORDER if key in item]
    keys += sorted(key for key in item if key not in SHOW_ORDER and key != "body")
    out.print(out.table(None, ("field", "value"), [(key, item[key]) for key in keys]))
    out.print("body:")
    out.console.print(pretty_body(item.get("body", "")), markup=False, highlight=False)


def status(out: Output, report: StatusReport) -> None:
    queues = [
        (
            label,
            queue.name,
            queue.visible,
            queue.in_flight,
            "n/a" if queue.oldest_age_seconds is None else f"{queue.oldest_age_seconds:g} s",
        )
        for label, queue in report.queues.items()
    ]
    out.print(
        out.table(
            f"stack {report.stack}: queues", ("queue", "name", "visible", "in flight", "oldest"), queues
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
    for note in report.notes:
        out.print(f"note: {note}")


def uploaded(out: Output, files: Sequence[UploadedFile]) -> None:
    rows = [
        (file.path, file.uri, file.size, "not JSON" if file.records is None else file.records)
        for file in files
    ]
    out.print(out.table("uploaded", ("file", "object", "bytes", "records"), rows))


def release(out: Output, status: Any) -> None:
    if status is None:
        out.print("no deployment yet")
        return
    rows = [(key, value) for key, value in status.to_dict().items() if value is not None]
    out.print(out.table("writer release", ("field", "value"), rows))
