"""Typer adapters for the local stack: ``pipeline-ctl local up`` and ``pipeline-ctl demo``.

Thin on purpose: each command calls one function (``cli.local_up.run_up``, ``cli.demo.run_demo``) that
holds the work. The heavy modules (moto, the handlers) are imported inside the commands so that
``pipeline-ctl --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from local_stack.ports import DEFAULT_API_PORT, DEFAULT_EMULATOR_PORT

local_app = typer.Typer(
    name="local",
    help="Run the whole pipeline on this machine (moto + the real handlers), no AWS account needed.",
    no_args_is_help=True,
)

PortOption = Annotated[
    int,
    typer.Option("--port", "-p", help="Emulator (S3/SQS/DynamoDB) port on 127.0.0.1; 0 picks a free one."),
]
ApiPortOption = Annotated[
    int,
    typer.Option("--api-port", help="Port of the API Gateway stand-in (POST /writer); 0 picks a free one."),
]


FreshOption = Annotated[
    bool, typer.Option("--fresh", help="Discard the state saved by the last clean stop; start empty.")
]


@local_app.command("up")
def up_command(
    port: PortOption = DEFAULT_EMULATOR_PORT,
    api_port: ApiPortOption = DEFAULT_API_PORT,
    fresh: FreshOption = False,
) -> None:
    """Run the local stack in the foreground until Ctrl-C, with a live panel.

    Writes .pipeline/local.json so every other pipeline-ctl command targets it, and removes it on exit.
    A clean stop (Ctrl-C, SIGTERM) saves the tables, objects and queued messages to .pipeline/, and the
    next start restores them (--fresh discards them).

    Example: pipeline-ctl local up --port 4580 --api-port 4581
    """
    from cli.local_up import run_up

    raise typer.Exit(run_up(Path.cwd(), port=port, api_port=api_port, fresh=fresh))


def demo_command(
    ctx: typer.Context,
    records: Annotated[
        int, typer.Option("--records", "-n", min=100, help="How many records the generated sample holds.")
    ] = 2000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the generated sample and of the faults.")] = 7,
) -> None:
    """Run the pipeline end to end on an in-process local stack and print what landed where.

    Uploads a generated sample (some invalid, duplicate and out-of-order records), POSTs a few records through
    the HTTP route, makes a few writes fail so they reach the DLQ, then replays them. Exits 1 if the
    accounting (written + stale + logged = sent) does not add up. With --json, one JSON document instead.

    Example: pipeline-ctl demo
    """
    from cli.demo import run_demo
    from cli.options import invocation

    raise typer.Exit(run_demo(records=records, seed=seed, json_mode=invocation(ctx).out.json_mode))
