"""``pipeline-ctl account show ID``: the Typer adapter over ``ops.account`` and its human rendering.

Everything printed here comes from the pipeline's tables, which hold what clients sent: every string is
escaped where it is not printable (a control character, a bidi override, a zero-width space), so what the
terminal shows is what is stored. Stored times are UTC and are printed with their zone.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from cli.help import Command, Group
from cli.options import global_options, invocation
from cli.output import Output, records
from cli.text import human_time as when
from cli.text import printable
from ops.account import AccountStory, Origin

account_app = typer.Typer(
    name="account",
    cls=Group,
    help="One account's story: what AccountTable holds, where it came from, what failed for it.\n\n"
    "Example: pipeline-ctl account show acct-1",
    no_args_is_help=True,
)

DEFAULT_FAILURES_SHOWN = 20
ITEM_FIRST = ("account_id", "name", "email", "balance", "currency", "status", "updated_at")
PROVENANCE = ("source", "ingested_at", "ingest_order")
"""Item attributes the "came from" section explains; still listed with the item, as stored."""


@account_app.command("show", cls=Command)
@global_options
def show_command(
    ctx: typer.Context,
    account_id: Annotated[str, typer.Argument(metavar="ID", help="The account id (case-sensitive).")],
    limit: Annotated[
        int, typer.Option("--limit", metavar="N", min=1, help="Show at most N failures, newest first.")
    ] = DEFAULT_FAILURES_SHOWN,
) -> None:
    """The account's AccountTable item as stored, where its current value came from (the S3 object and
    version, or the API message, with the time it entered the pipeline and its position), and every
    failure LogTable recorded for the same account id, newest first (the by_account index).

    An id the pipeline knows nothing about exits 1. Each failure's body: `pipeline-ctl errors show ID`.

    Example: pipeline-ctl account show acct-1
    """
    from ops.account import account_story

    run = invocation(ctx)
    story = account_story(run.target(), account_id)
    shown = story.failures[:limit]
    document = {**story.to_dict(), "failures": shown, "failures_total": len(story.failures)}
    run.out.result(document, lambda: render(run.out, story, limit=limit))


# --- Rendering ----------------------------------------------------------------------------------------------


def render(out: Output, story: AccountStory, *, limit: int = DEFAULT_FAILURES_SHOWN) -> None:
    out.print(Text(f"account {printable(story.account_id)}", style="bold"))
    out.print(Text(""))
    if story.item is None:
        out.print(Text("not in AccountTable: no record of this account has been written"))
    else:
        keys = [key for key in ITEM_FIRST if key in story.item]
        keys += sorted(key for key in story.item if key not in ITEM_FIRST)
        out.print(Text("stored item", style="bold"))
        out.print(records(keys, [[printable(story.item[key]) for key in keys]], width=out.width))
    if story.origin is not None:
        out.print(Text(""))
        out.print(Text("current value came from", style="bold"))
        labels, values = origin_rows(story.origin)
        out.print(records(labels, [values], width=out.width))
    out.print(Text(""))
    failures = story.failures
    if not failures:
        out.print(Text("no failure recorded for this account id"))
        return
    shown = failures[:limit]
    counted = f"{len(failures)}" if len(shown) == len(failures) else f"{len(shown)} of {len(failures)}"
    out.print(Text(f"failures ({counted}, newest first)", style="bold"))
    columns = ("failed at", "type", "reason", "source", "status", "error id")
    rows = [
        [
            when(failure.get("failed_at")),
            printable(failure.get("error_type")),
            printable(failure.get("error_message")),
            printable(failure.get("source")),
            printable(failure.get("status")),
            printable(failure.get("error_id")),
        ]
        for failure in shown
    ]
    out.print(records(columns, rows, width=out.width))
    if len(shown) < len(failures):
        out.print(Text(""))
        out.print(Text(f"showing {len(shown)} of {len(failures)} failures (--limit N shows more)"))
    out.print(Text(""))
    out.print(Text("each failure's body: pipeline-ctl errors show ERROR_ID"))


def origin_rows(origin: Origin) -> tuple[list[str], list[str]]:
    """The origin as ``label  value`` lines: the object and version, or the API message."""
    rows: list[tuple[str, str]] = []
    if origin.via_api:
        rows.append(("via", "POST /writer (the API)"))
        if origin.message_id:
            rows.append(("message id", printable(origin.message_id)))
    else:
        rows.append(("object", printable(origin.object or origin.source)))
        rows.append(
            ("version", printable(origin.version) if origin.version else "(not named by the S3 event)")
        )
    if origin.position is not None:
        where = "in its request" if origin.via_api else "in the file"
        rows.append(("position", f"record {origin.position} {where} (0-based)"))
    if origin.entered_at:
        rows.append(("entered at", when(origin.entered_at)))
    if origin.ingested_at:
        rows.append(("written at", when(origin.ingested_at)))
    return [label for label, _ in rows], [value for _, value in rows]
