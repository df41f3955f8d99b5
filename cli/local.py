"""Typer adapters for the local stack: ``pipeline-ctl local up|status|down`` and ``pipeline-ctl demo``.

Thin on purpose: each command calls one function (``cli.local_up.run_up``, ``cli.demo.run_demo``) that
holds the work. The heavy modules (moto, the handlers) are imported inside the commands so that
``pipeline-ctl --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cli.help import Command, Group
from cli.options import global_options, invocation
from infra.spec import DEFAULT_API_PORT, DEFAULT_EMULATOR_PORT

local_app = typer.Typer(
    name="local",
    cls=Group,
    help="""Run the whole pipeline on this machine (moto + the real handlers), no AWS account needed.

    Example: pipeline-ctl local up
    """,
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


@local_app.command("up", cls=Command)
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
    from ops import local_registry

    workdir = Path.cwd()
    check_can_start(workdir, port=port, api_port=api_port)
    entry = local_registry.register(workdir)
    try:
        code = run_up(workdir, port=port, api_port=api_port, fresh=fresh)
    finally:
        local_registry.unregister(entry)
    raise typer.Exit(code)


def check_can_start(workdir: Path, *, port: int, api_port: int) -> None:
    """Refuse, in the CLI's one-line form, what would fail later on a busy port: a second stack in the same
    directory, or a port held by another local stack or another program."""
    from ops import local_registry
    from ops.errors import OperationError
    from ops.target import port_in_use

    stacks = local_registry.running()
    here = next((entry for entry in stacks if Path(entry.workdir) == workdir.resolve()), None)
    if here is not None:
        raise OperationError(
            f"a local stack is already running in {here.workdir} (pid {here.pid})",
            hint="use it, or stop it with `pipeline-ctl local down`",
        )
    for flag, number in (("--port", port), ("--api-port", api_port)):
        if number == 0 or not port_in_use(number):
            continue
        holder = local_registry.holder_of_port(number, stacks)
        if holder is not None:
            raise OperationError(
                f"port {number} is in use by the local stack in {holder.workdir} (pid {holder.pid})",
                hint="use that one (every command finds it), stop it with `pipeline-ctl local down`, "
                "or pass --port 0 --api-port 0",
            )
        raise OperationError(
            f"port {number} ({flag}) is in use by another program", hint="pass --port 0 --api-port 0"
        )


@local_app.command("status", cls=Command)
@global_options
def status_command(ctx: typer.Context) -> None:
    """The local stacks running on this machine (any directory): pid, directory, endpoints, since when.

    Exits 1 when none is running, so scripts can test for one.

    Example: pipeline-ctl local status
    """
    from cli.output import Output
    from cli.text import human_time
    from ops import local_registry
    from ops.errors import OperationError

    out = Output(json_mode=_json_mode(ctx))
    stacks = local_registry.running()
    rows = [_stack_row(entry) for entry in stacks]
    if out.json_mode:
        out.json({"stacks": rows})
    elif rows:
        columns = ("pid", "directory", "endpoint", "api", "since")
        cells = [
            [row[key] or "(starting)" for key in ("pid", "workdir", "endpoint_url", "api_url")]
            + [human_time(row["started_at"])]
            for row in rows
        ]
        out.print(out.table("local stacks", columns, cells, no_wrap=("pid", "endpoint", "since")))
    if not rows:
        raise OperationError("no local stack is running", hint="start one with `pipeline-ctl local up`")


@local_app.command("down", cls=Command)
@global_options
def down_command(
    ctx: typer.Context,
    every: Annotated[bool, typer.Option("--all", help="Stop every local stack of this user.")] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="Seconds to wait for it to stop.")
    ] = 30.0,
) -> None:
    """Stop the running `local up` cleanly (as Ctrl-C would): the one started in --local-dir, else the one
    whose directory holds this one, or the only one running; its state is saved and its .pipeline/local.json
    removed.

    Example: pipeline-ctl local down
    """
    from cli.output import Output
    from ops import local_registry
    from ops.errors import InvalidInput, OperationError

    out = Output(json_mode=_json_mode(ctx))
    stacks = local_registry.running()
    local_dir = invocation(ctx).local_dir
    chosen = stacks if every else _one_to_stop(stacks, local_dir)
    if chosen is None:
        listed = ", ".join(f"{entry.workdir} (pid {entry.pid})" for entry in stacks)
        raise InvalidInput(
            f"{len(stacks)} local stacks are running: {listed}",
            hint="pass --local-dir DIR (one of those directories), run it inside one of them, or pass --all",
        )
    stopped = []
    for entry in chosen:
        if not local_registry.stop(entry, timeout=timeout):
            raise OperationError(
                f"the local stack in {entry.workdir} (pid {entry.pid}) did not stop within {timeout:g} s",
                hint=f"kill {entry.pid}",
            )
        stopped.append(entry)
    if out.json_mode:
        out.json({"stopped": [entry.to_dict() for entry in stopped]})
    elif not stopped:
        out.console.print("no local stack is running", soft_wrap=True)
    for entry in stopped if not out.json_mode else ():
        out.console.print(f"stopped the local stack in {entry.workdir} (pid {entry.pid})", soft_wrap=True)


def _one_to_stop(stacks: list[Any], local_dir: Path | None) -> list[Any] | None:
    from ops import local_registry
    from ops.errors import InvalidInput

    if local_dir is not None:
        picked = [entry for entry in stacks if Path(entry.workdir) == local_dir.resolve()]
        if not picked:
            raise InvalidInput(
                f"no local stack was started in {local_dir}", hint="see `pipeline-ctl local status`"
            )
        return picked
    owner = local_registry.owning(Path.cwd(), stacks)
    if owner is not None:
        return [owner]
    return stacks if len(stacks) <= 1 else None


def _stack_row(entry: Any) -> dict[str, Any]:
    from cli.text import machine_time

    outputs = entry.outputs() or {}
    return {
        "pid": entry.pid,
        "workdir": entry.workdir,
        "outputs_path": entry.outputs_path,
        "endpoint_url": outputs.get("endpoint_url"),
        "api_url": outputs.get("api_url"),
        "started_at": machine_time(entry.started_at),
        "state": "running" if outputs else "starting",
    }


def _json_mode(ctx: typer.Context) -> bool:
    """``pipeline-ctl --json local status``: the root's --json (or PIPELINE_JSON)."""
    return bool(getattr(ctx.find_root().obj, "json_mode", False))


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

    raise typer.Exit(run_demo(records=records, seed=seed, json_mode=invocation(ctx).out.json_mode))
