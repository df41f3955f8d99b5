"""The options every ``pipeline-ctl`` command shares, declared once, as plain decorators.

The global options (``--stack``, ``--local-dir``, ``--region``, ``--profile``, ``--json``, ``--wide``, ``-q``,
``-v``) are rows of one table, :data:`GLOBAL_OPTIONS`. Operators type them before the command
(``pipeline-ctl --json status``, where each of the target and output options also reads its environment
variable) or after it (``pipeline-ctl status --json``, where an explicit value wins over the environment).
Before the command they are parameters of the root callback, :func:`root_callback`; after it, the
decorator :func:`global_options` (sqlite-utils' ``output_options`` pattern) adds them to a command's
signature and stores what was given. Either way the values land in one :class:`Globals` on the root
context, and a command asks :func:`invocation` for its merged view.

Only public API: a decorator that extends ``__signature__`` (which Typer reads with :mod:`inspect`), and
``typer.Option``.
"""

from __future__ import annotations

import functools
import inspect
import sys
import typing
from collections.abc import Callable
from dataclasses import dataclass, fields
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from cli.output import Output
from infra.spec import LOCAL_STACK

if TYPE_CHECKING:
    from ops.target import Target

GLOBAL_PANEL = "Global options"
DISTRIBUTION = "serverless-pipeline"

Function = TypeVar("Function", bound=Callable[..., Any])


@dataclass(kw_only=True)
class Globals:
    """The global options of one invocation, wherever on the command line they were given."""

    stack: str | None = None
    local_dir: Path | None = None
    region: str | None = None
    profile: str | None = None
    json_mode: bool = False
    wide: bool = False
    quiet: bool = False
    verbose: bool = False


@dataclass(frozen=True)
class GlobalOption:
    """One global option: its flags, its value type, its environment variable and its help."""

    name: str
    flags: tuple[str, ...]
    kind: Any
    help: str
    envvar: str | None = None
    metavar: str | None = None

    @property
    def is_flag(self) -> bool:
        return self.kind is bool

    def parameter(self, *, with_envvar: bool) -> inspect.Parameter:
        option = typer.Option(
            *self.flags,
            envvar=self.envvar if with_envvar else None,
            show_envvar=with_envvar,
            metavar=self.metavar,
            help=self.help,
            rich_help_panel=GLOBAL_PANEL,
            show_default=False,
        )
        kind = bool if self.is_flag else self.kind | None
        return inspect.Parameter(
            self.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=False if self.is_flag else None,
            annotation=Annotated[kind, option],
        )


GLOBAL_OPTIONS = (
    GlobalOption(
        "stack",
        ("--stack",),
        str,
        "Target stack: 'local' (default) or a deployed Pulumi stack.",
        envvar="PIPELINE_STACK",
        metavar="NAME",
    ),
    GlobalOption(
        "local_dir",
        ("--local-dir",),
        Path,
        "The running local stack started in DIR (when several run).",
        envvar="PIPELINE_LOCAL_DIR",
        metavar="DIR",
    ),
    GlobalOption(
        "region",
        ("--region",),
        str,
        "AWS region (default: the stack's, or AWS_REGION).",
        envvar="PIPELINE_REGION",
        metavar="REGION",
    ),
    GlobalOption(
        "profile",
        ("--profile",),
        str,
        "AWS profile (default: AWS_PROFILE).",
        envvar="PIPELINE_PROFILE",
        metavar="PROFILE",
    ),
    GlobalOption(
        "json_mode",
        ("--json",),
        bool,
        "Machine output: one JSON document, JSON Lines for streams.",
        envvar="PIPELINE_JSON",
    ),
    GlobalOption("wide", ("--wide",), bool, "Tables at full width: whole timestamps and ids, never folded."),
    GlobalOption("quiet", ("--quiet", "-q"), bool, "Only the result: no progress, notes or summaries."),
    GlobalOption("verbose", ("--verbose", "-v"), bool, "Also say which stack, region and endpoint are used."),
)
assert {option.name for option in GLOBAL_OPTIONS} == {field.name for field in fields(Globals)}


def _print_version(value: bool) -> None:
    if value:
        try:
            version = metadata.version(DISTRIBUTION)
        except metadata.PackageNotFoundError:  # pragma: no cover - a checkout that was never installed
            version = "unknown"
        sys.stdout.write(f"pipeline-ctl {version}\n")
        raise typer.Exit()


_VERSION = inspect.Parameter(
    "version",
    inspect.Parameter.KEYWORD_ONLY,
    default=False,
    annotation=Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ],
)


def _accepting(
    extra: list[inspect.Parameter], take: Callable[[typer.Context, dict[str, Any]], None]
) -> Callable[[Function], Function]:
    """Decorator: ``extra`` keyword parameters added to the signature Typer reads. The wrapper takes their
    values out, hands them to ``take`` with the command's context, then calls the command without them.
    The command must take ``ctx: typer.Context``."""

    def decorate(function: Function) -> Function:
        signature = inspect.signature(function, eval_str=True)
        names = {parameter.name for parameter in extra}

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            take(kwargs["ctx"], {name: kwargs.pop(name) for name in names if name in kwargs})
            return function(*args, **kwargs)

        parameters = [*signature.parameters.values(), *extra]
        wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {
            **typing.get_type_hints(function, include_extras=True),
            **{parameter.name: parameter.annotation for parameter in extra},
        }
        return typing.cast(Function, wrapper)

    return decorate


def _globals(ctx: Any) -> Globals:
    root = ctx.find_root()
    if not isinstance(root.obj, Globals):
        root.obj = Globals()
    obj: Globals = root.obj
    return obj


def _before_the_command(ctx: typer.Context, given: dict[str, Any]) -> None:
    given.pop("version", None)
    ctx.obj = Globals(**given)


def _after_the_command(ctx: typer.Context, given: dict[str, Any]) -> None:
    """A global option given after the command wins over the one before it (and its env var)."""
    options = _globals(ctx)
    for name, value in given.items():
        if value is not None and value is not False:
            setattr(options, name, value)


_BEFORE = [option.parameter(with_envvar=True) for option in GLOBAL_OPTIONS] + [_VERSION]
_AFTER = [option.parameter(with_envvar=False) for option in GLOBAL_OPTIONS]


@_accepting(_BEFORE, _before_the_command)
def root_callback(ctx: typer.Context) -> None:
    """The app's callback: the global options before the command, each with its environment variable."""


global_options = _accepting(_AFTER, _after_the_command)
"""Decorator: the command also accepts the global options after its name (sqlite-utils' ``output_options``),
without their environment variables, so ``status --stack x`` wins over ``PIPELINE_STACK``."""


@dataclass(kw_only=True)
class Invocation:
    """One command's merged global options, its output, and (on demand) its target."""

    stack: str
    region: str | None
    profile: str | None
    out: Output
    local_dir: Path | None = None
    verbose: bool = False

    def target(self) -> Target:
        from ops.target import resolve_target  # boto3 is slow to import: not for --help

        target = resolve_target(
            self.stack, region=self.region, profile=self.profile, local_dir=self.local_dir
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
        local_dir=options.local_dir,
        out=Output(json_mode=options.json_mode, wide=options.wide, quiet=options.quiet),
        verbose=options.verbose,
    )
