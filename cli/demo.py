"""``pipeline-ctl demo``: the whole pipeline, end to end, on an in-process local stack — and a check of it.

What it shows, in order: a generated file (valid, invalid, duplicate and out-of-order records) uploaded to
the bucket, a handful of records POSTed through the HTTP route (one invalid), three of them refused by the
emulator's DynamoDB (the fault switch) so they reach the DLQ through the queue's redrive; then what landed
where; then a replay of the ``RetriesExhausted`` errors once the fault is gone.

Why the faulted records are POSTed together, as one JSON array: that is one WriterQueue message, so they fail,
travel to the DLQ, land in one LogTable item and are replayed together, and the accounting stays exact (a
fault on an uploaded record would fail its whole envelope of a thousand records, whose others were written:
replaying it is harmless — writes are conditional — but would count them twice). It also keeps the demo
short: the SDK retries the refused writes of one message concurrently, with one round of backoff.

The accounting it checks, from DynamoDB's own answers and LogTable's content:
``written + stale + records logged = records sent``, before and after the replay, and every account ends with
its newest version. Any difference exits 1.
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from cli.errors import emit, error_line
from cli.output import piped_width, table_or_records
from functions.model import ErrorType, LogStatus
from local_stack.sample import Sample, generate_sample, parse_time
from local_stack.stack import LocalStack

UPLOAD_KEY = "demo/accounts sample.json"
"""A key with a folder and a space: S3 (and moto) URL-encode it in the event, the transformer decodes it."""
FAULTED_IDS = ("demo-api-0001", "demo-api-0002", "demo-api-0003")
IDLE_TIMEOUT_SECONDS = 60
GONE_NOTE = (
    "\nThis demo's stack lived inside this process and stops with it: its tables are gone, so the error ids "
    "above cannot be looked up with pipeline-ctl. For a stack that stays, run `pipeline-ctl local up` in one "
    'terminal and follow README.md, "pipeline-ctl in five minutes", in another.'
)
"""Said last: ``errors show`` or ``account show`` after the demo would otherwise fail with no reason given."""


@dataclass
class Tally:
    written: int
    stale: int
    logged: int
    """Records inside LogTable items (one per invalid record; one or more per exhausted message)."""
    logged_new: int
    """The same, for items not yet replayed."""
    by_type: Counter[str]


def run_demo(
    *, records: int = 2000, seed: int = 7, console: Console | None = None, json_mode: bool = False
) -> int:
    """Run the demo; the process exit code (0 when the accounting adds up, else 1).

    With ``json_mode`` the narrative is left out and stdout gets one JSON document: the accounting before
    and after the replay, what was replayed, and whether it all adds up.
    """
    if json_mode:
        console = Console(file=io.StringIO())
    console = console or Console(width=None if sys.stdout.isatty() else piped_width())
    summary: dict[str, Any] = {}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="pipeline-demo-") as directory:
        workdir = Path(directory)
        try:
            stack = LocalStack(workdir)
            stack.start()
        except OSError as error:
            emit(error_line(f"cannot start the local stack: {error}"))
            return 1
        try:
            code = _demo(
                stack, workdir, records=records, seed=seed, console=console, started=started, summary=summary
            )
        finally:
            stack.stop()
    if json_mode:
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    return code


def _demo(
    stack: LocalStack,
    workdir: Path,
    *,
    records: int,
    seed: int,
    console: Console,
    started: float,
    summary: dict[str, Any],
) -> int:
    from ops.replay import replay
    from ops.send import SendOptions, send
    from ops.target import resolve_target

    outputs = stack.outputs
    console.print(
        f"[bold]Local stack[/] on {outputs['endpoint_url']} (API {outputs['api_url']}) — "
        f"bucket {outputs['data_bucket']}, tables {outputs['account_table']}, {outputs['log_table']}"
    )
    sample = generate_sample(records, seed=seed)
    plain, faulted = api_records()
    sent = len(sample.records) + len(plain) + len(faulted)
    console.print(
        f"Sample: {len(sample.records)} records ({len(sample.invalid)} invalid, "
        f"{sample.duplicates} duplicates, "
        f"{sample.out_of_order} out-of-order older versions) + {len(plain) + len(faulted)} POSTed "
        f"(1 invalid, {len(faulted)} with writes failing)"
    )

    stack.faults.fail_account_ids(FAULTED_IDS)
    path = workdir / "accounts.json"
    path.write_text(json.dumps(sample.records))
    stack.client("s3").upload_file(str(path), outputs["data_bucket"], UPLOAD_KEY)
    console.print(f"Uploaded s3://{outputs['data_bucket']}/{UPLOAD_KEY} ({path.stat().st_size:,} bytes)")
    target = resolve_target(workdir=workdir)
    reports = [
        send(target, plain, options=SendOptions(batch=1, concurrency=4)),  # one request each
        send(target, faulted, options=SendOptions(batch=len(faulted))),
    ]
    console.print(
        f"POST /writer: {sum(r.accepted for r in reports)} records accepted in "
        f"{sum(r.accepted_requests for r in reports)} requests, "
        f"{sum(sum(r.rejected.values()) for r in reports)} rejected"
    )

    stack.wait_until_idle(IDLE_TIMEOUT_SECONDS)
    first = tally(stack)
    console.print(f"\n[bold]Drained[/] after {time.monotonic() - started:.1f}s")
    ok = print_accounting(console, "after the first pass", first, sent)
    summary["sent"] = sent
    summary["first_pass"] = {"written": first.written, "stale": first.stale, "logged": first.logged}
    print_accounts(console, stack, sample)
    print_errors(console, stack)

    stack.faults.clear()
    replayed = replay(target, error_types=[ErrorType.RETRIES_EXHAUSTED.value])
    stack.wait_until_idle(IDLE_TIMEOUT_SECONDS)
    console.print(
        f"\n[bold]Replayed[/] {len(replayed.entries)} RetriesExhausted errors with the fault switch off: "
        + ", ".join(f"{entry.error_id[:8]}… {entry.result}" for entry in replayed.entries)
    )
    account_table = stack.client("dynamodb")
    for account_id in FAULTED_IDS:
        item = account_table.get_item(
            TableName=outputs["account_table"], Key={"account_id": {"S": account_id}}
        )
        state = "written" if "Item" in item else "MISSING"
        console.print(f"  {account_id}: {state}")
        ok &= "Item" in item
    second = tally(stack)
    ok &= print_accounting(console, "after the replay", second, sent, new_only=True)
    newest = check_newest(console, stack, sample)
    ok &= newest
    summary["replayed"] = [entry.to_dict() for entry in replayed.entries]
    summary["after_replay"] = {
        "written": second.written,
        "stale": second.stale,
        "logged_not_replayed": second.logged_new,
        "left_in_logtable": dict(sorted(second.by_type.items())),
    }
    summary["newest_version_kept"] = newest
    remaining = second.by_type
    console.print(
        "Left in LogTable with their reasons: "
        + (", ".join(f"{count} {kind}" for kind, count in sorted(remaining.items())) or "nothing")
    )
    verdict = "[bold green]accounting adds up[/]" if ok else "[bold red]accounting does NOT add up[/]"
    console.print(f"\n{verdict} — demo took {time.monotonic() - started:.1f}s")
    console.print(GONE_NOTE, markup=False)
    summary["accounting_adds_up"] = ok
    summary["seconds"] = round(time.monotonic() - started, 1)
    return 0 if ok else 1


def api_records() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """What the demo POSTs: two plain records and one that breaks the contract (one request each), and the
    records whose writes will fail (one request, a JSON array)."""
    base = {
        "name": "API Customer",
        "balance": "10.00",
        "currency": "EUR",
        "updated_at": "2026-02-01T12:00:00Z",
    }
    plain = [{**base, "account_id": f"demo-api-{n:04d}", "email": f"api{n}@example.com"} for n in (4, 5)]
    plain.append({**base, "accountId": "demo-api-bad", "email": "api-bad@example", "balance": "1e999x"})
    faulted = [{**base, "account_id": account_id, "email": "flaky@example.com"} for account_id in FAULTED_IDS]
    return plain, faulted


def tally(stack: LocalStack) -> Tally:
    counts = stack.counters()
    logged = logged_new = 0
    by_type: Counter[str] = Counter()
    for item in scan(stack.client("dynamodb"), stack.outputs["log_table"]):
        records = body_records(item.get("body", {}).get("S", ""))
        logged += records
        if item.get("status", {}).get("S") == LogStatus.NEW.value:
            logged_new += records
            by_type[item.get("error_type", {}).get("S", "?")] += 1
    return Tally(
        written=counts.get("dynamodb.written", 0),
        stale=counts.get("dynamodb.stale", 0),
        logged=logged,
        logged_new=logged_new,
        by_type=by_type,
    )


def body_records(body: str) -> int:
    """How many records a WriterQueue body holds (an object, an array or an envelope)."""
    try:
        document = json.loads(body)
    except ValueError:
        return 1
    if isinstance(document, dict) and isinstance(document.get("records"), list):
        return len(document["records"])
    if isinstance(document, list):
        return len(document)
    return 1


def print_accounting(
    console: Console, when: str, counts: Tally, sent: int, *, new_only: bool = False
) -> bool:
    logged = counts.logged_new if new_only else counts.logged
    total = counts.written + counts.stale + logged
    mark = "=" if total == sent else "≠"
    console.print(
        f"Accounting {when}: written {counts.written} + stale {counts.stale} + logged {logged}"
        f"{' (not replayed)' if new_only else ''} = {total} {mark} sent {sent}"
    )
    return total == sent


def print_accounts(console: Console, stack: LocalStack, sample: Sample, limit: int = 5) -> None:
    columns = ("account_id", "name", "email", "balance", "currency", "status", "updated_at")
    dynamodb = stack.client("dynamodb")
    rows = []
    for account_id in list(sample.newest)[:limit]:
        item = dynamodb.get_item(
            TableName=stack.outputs["account_table"], Key={"account_id": {"S": account_id}}
        ).get("Item", {})
        rows.append([_text(item.get(name)) for name in columns])
    title = f"AccountTable (first {limit} of the sample)"
    console.print(table_or_records(title, columns, rows, width=console.width, no_wrap=("account_id",)))


def print_errors(console: Console, stack: LocalStack) -> None:
    """LogTable grouped by reason: the generated sample repeats each kind of mistake many times."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for item in scan(stack.client("dynamodb"), stack.outputs["log_table"]):
        key = (_text(item.get("error_type")), _text(item.get("error_message")), _text(item.get("source")))
        groups.setdefault(key, []).append(_text(item.get("error_id")))
    total = sum(len(ids) for ids in groups.values())
    columns = ("count", "error_type", "reason", "source", "e.g. error_id")
    rows = [
        [str(len(ids)), error_type, reason, source or "-", min(ids)[:8]]
        for (error_type, reason, source), ids in sorted(
            groups.items(), key=lambda group: (group[0][0], -len(group[1]))
        )
    ]
    title = f"LogTable: {total} errors, by reason"
    console.print(
        table_or_records(
            title, columns, rows, width=console.width, no_wrap=("count", "error_type", "e.g. error_id")
        )
    )


def check_newest(console: Console, stack: LocalStack, sample: Sample) -> bool:
    """Every account holds its newest version: duplicates and older updates never overwrote it."""
    stored = {
        _text(item.get("account_id")): parse_time(_text(item.get("updated_at")))
        for item in scan(
            stack.client("dynamodb"), stack.outputs["account_table"], projection="account_id, updated_at"
        )
    }
    wrong = [account for account, newest in sample.newest.items() if stored.get(account) != newest]
    console.print(
        f"Newest version kept for {len(sample.newest) - len(wrong)}/{len(sample.newest)} accounts"
        + (f" — wrong: {', '.join(wrong[:5])}" if wrong else "")
    )
    return not wrong


def scan(dynamodb: Any, table: str, *, projection: str | None = None) -> Iterable[dict[str, Any]]:
    arguments = {"TableName": table} | ({"ProjectionExpression": projection} if projection else {})
    for page in dynamodb.get_paginator("scan").paginate(**arguments):
        yield from page["Items"]


def _text(value: dict[str, Any] | None) -> str:
    if not value:
        return ""
    return str(next(iter(value.values())))
