"""The options every ``pipeline-ctl`` command shares, declared once, and the help conventions of the CLI.

The global options (``--stack``, ``--region``, ``--profile``, ``--json``, ``--wide``, ``-q``, ``-v``) are the
parameters of one function, :func:`global_options`, which is the app's root callback. Operators type them
before the command (``pipeline-ctl --json status``, where each also reads its environment variable) or after
it (``pipeline-ctl status --json``): :class:`TargetCommand` appends a copy of each root option to its own
parameters, without the environment variable, so an explicit ``status --stack x`` wins over
``PIPELINE_STACK``. Either way the values land in one :class:`Globals` on the root context, and a command
asks :func:`invocation` for its merged view.

The help conventions: a flag shows no type (Typer would print ``<bool>``), an option shows its metavar, an
argument's usage is ``FILE`` or ``[FILE]`` followed by ``...`` when it repeats (never ``{FILE}...`` or
``[[FILE]]``). :func:`clean_help` applies them to every command of the app.
"""

from __future__ import annotations

import copy
import inspect
import sys
from dataclasses import dataclass, fields
from importlib import metadata
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from cli.output import Output
from infra.spec import LOCAL_STACK

if TYPE_CHECKING:
    from ops.target import Target

GLOBAL_PANEL = "Global options"
DISTRIBUTION = "serverless-pipeline"


@dataclass(kw_only=True)
class Globals:
    """The global options of one invocation, wherever on the command line they were given."""

    stack: str | None = None
    local_dir: str | None = None
    region: str | None = None
    profile: str | None = None
    json_mode: bool = False
    wide: bool = False
    quiet: bool = False
    verbose: bool = False


def _panel(help_text: str) -> dict[str, Any]:
    return {"help": help_text, "rich_help_panel": GLOBAL_PANEL}


StackOption = Annotated[
    str | None,
    typer.Option(
        "--stack",
        envvar="PIPELINE_STACK",
        metavar="NAME",
        **_panel("Target stack: 'local' (default) or a deployed Pulumi stack."),
    ),
]
LocalDirOption = Annotated[
    str | None,
    typer.Option(
        "--local-dir",
        envvar="PIPELINE_LOCAL_DIR",
        metavar="DIR",
        **_panel("Which running local stack: the one started in DIR (when several run)."),
    ),
]
RegionOption = Annotated[
    str | None,
    typer.Option(
        "--region",
        envvar="PIPELINE_REGION",
        metavar="REGION",
        **_panel("AWS region (default: the stack's, or AWS_REGION)."),
    ),
]
ProfileOption = Annotated[
    str | None,
    typer.Option(
        "--profile",
        envvar="PIPELINE_PROFILE",
        metavar="PROFILE",
        **_panel("AWS profile (default: AWS_PROFILE)."),
    ),
]
JsonOption = Annotated[
    bool,
    typer.Option(
        "--json",
        envvar="PIPELINE_JSON",
        **_panel("Machine output: one JSON document, JSON Lines for streams."),
    ),
]
WideOption = Annotated[
    bool,
    typer.Option("--wide", **_panel("Tables at full width: whole timestamps and ids, never folded.")),
]
QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", **_panel("Only the result: no progress, notes or summaries."))
]
VerboseOption = Annotated[
    bool, typer.Option("--verbose", "-v", **_panel("Also say which stack, region and endpoint are used."))
]


def _print_version(value: bool) -> None:
    if value:
        try:
            version = metadata.version(DISTRIBUTION)
        except metadata.PackageNotFoundError:  # pragma: no cover - a checkout that was never installed
            version = "unknown"
        sys.stdout.write(f"pipeline-ctl {version}\n")
        raise typer.Exit()


VersionOption = Annotated[
    bool,
    typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
]


def global_options(
    ctx: typer.Context,
    stack: StackOption = None,
    local_dir: LocalDirOption = None,
    region: RegionOption = None,
    profile: ProfileOption = None,
    json_mode: JsonOption = False,
    wide: WideOption = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
    version: VersionOption = False,
) -> None:
    """The root callback: records the global options given before the command."""
    ctx.obj = Globals(
        stack=stack,
        local_dir=local_dir,
        region=region,
        profile=profile,
        json_mode=json_mode,
        wide=wide,
        quiet=quiet,
        verbose=verbose,
    )


def _globals(ctx: Any) -> Globals:
    root = ctx.find_root()
    if not isinstance(root.obj, Globals):
        root.obj = Globals()
    obj: Globals = root.obj
    return obj


def _remember(ctx: Any, param: Any, value: Any) -> Any:
    """A global option given after the command: it wins over the one before it (and its env var)."""
    if value is not None and value is not False and not ctx.resilient_parsing:
        setattr(_globals(ctx), param.name, value)
    return value


def _command_level_copies() -> list[TyperOption]:
    """The root options again, to follow a command: no env var, the value stored, not passed on."""
    template = typer.Typer()
    template.command()(global_options)
    copies = []
    for param in typer.main.get_command(template).params:
        if not isinstance(param, TyperOption) or param.name not in {f.name for f in fields(Globals)}:
            continue
        option = copy.copy(param)
        option.envvar = None
        option.show_envvar = False
        option.expose_value = False
        option.callback = _remember
        copies.append(option)
    return copies


@dataclass(kw_only=True)
class Invocation:
    """One command's merged global options, its output, and (on demand) its target."""

    stack: str
    region: str | None
    profile: str | None
    out: Output
    verbose: bool = False
    local_dir: str | None = None

    def target(self) -> Target:
        from pathlib import Path

        from ops.target import resolve_target  # boto3 costs ~0.5 s to import: not for --help

        target = resolve_target(
            self.stack,
            region=self.region,
            profile=self.profile,
            local_dir=Path(self.local_dir) if self.local_dir else None,
        )
        for note in target.notes:  # e.g. --region ignored for the local stack: said once, on stderr
            self.out.note(f"Note: {note}")
        if self.verbose:
            where = target.endpoint_url or "AWS"
            self.out.note(f"stack {target.stack} in {target.region} at {where}", always=True)
        return target


def invocation(ctx: typer.Context) -> Invocation:
    options = _globals(ctx)
    return Invocation(
        stack=options.stack or LOCAL_STACK,
        region=options.region,
        profile=options.profile,
        out=Output(json_mode=options.json_mode, wide=options.wide, quiet=options.quiet),
        verbose=options.verbose,
        local_dir=options.local_dir,
    )


# --- Help conventions -------------------------------------------------------------------------------------


class _Option(TyperOption):
    """An option whose help shows its metavar (``--since DURATION``), and nothing for a flag."""

    def display_type_rich(self, ctx: Any) -> str | None:
        if self.is_flag or self.count:
            return None
        choices = self.type_descriptor.choices if self.type_descriptor.is_choice else None
        if self.metavar is None and choices:
            return "|".join(str(choice) for choice in choices)
        return self.metavar or (self.name or "value").upper()


class _Argument(TyperArgument):
    """An argument shown as ``FILE``, ``[FILE]``, ``FILE...`` or ``[FILE]...`` in usage lines."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None

    def get_usage_pieces(self, ctx: Any) -> list[str]:
        name = self.metavar or (self.name or "arg").upper()
        shown = name if self.required else f"[{name}]"
        return [shown + ("..." if self.nargs != 1 else "")]


def _clean(params: list[Any]) -> list[Any]:
    for param in params:
        if type(param) is TyperOption:
            param.__class__ = _Option
        elif type(param) is TyperArgument:
            param.__class__ = _Argument
    return params


class CleanCommand(TyperCommand):
    """A command whose every parameter, including ``--help`` (made per call), follows the conventions."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _clean(super().get_params(ctx))


class CleanGroup(TyperGroup):
    def get_params(self, ctx: Any) -> list[Any]:
        return _clean(super().get_params(ctx))


class TargetCommand(CleanCommand):
    """A command that talks to a stack: it accepts the global options after its name too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.extend(_command_level_copies())


def _reflow(text: str | None) -> str | None:
    """One line per paragraph: Typer keeps a docstring's line breaks, which fold badly at other widths."""
    if text is None:
        return None
    return "\n\n".join(" ".join(paragraph.split()) for paragraph in inspect.cleandoc(text).split("\n\n"))


def clean_help(command: Any) -> None:
    """Apply the help conventions to ``command`` and, for a group, every command below it."""
    if type(command) is TyperCommand:
        command.__class__ = CleanCommand
    elif type(command) is TyperGroup:
        command.__class__ = CleanGroup
    elif not isinstance(command, CleanCommand | CleanGroup):
        raise TypeError(f"{type(command).__name__}: derive from CleanCommand to follow the help conventions")
    command.help = _reflow(command.help)
    for sub in getattr(command, "commands", {}).values():
        clean_help(sub)
