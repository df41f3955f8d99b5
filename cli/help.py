"""The help every ``pipeline-ctl`` command prints, written by the CLI itself from its parameters.

The conventions: a flag shows no type, an option shows its metavar (``--since DURATION``,
``--from logtable|dlq``), an argument's usage is ``FILE`` or ``[FILE]`` followed by ``...`` when it repeats;
paragraphs reflow to the width, and the ``Example:`` line is never broken, so it can be copied whole; the
global options have their own section. :class:`Command` and :class:`Group` (passed as ``cls=`` when a
command or group is declared) draw it through Click's documented formatting hooks (``format_help``,
``collect_usage_pieces``) and the parameters' public attributes, so an upgrade of Typer's own help layout
cannot change ours.
"""

from __future__ import annotations

import inspect
from enum import Enum
from typing import Any

from typer.core import TyperCommand, TyperGroup

from cli.options import GLOBAL_PANEL

EXAMPLE = "Example:"


def _usage_pieces(command: Any, ctx: Any) -> list[str]:
    pieces = [command.options_metavar] if command.options_metavar else []
    for param in command.get_params(ctx):
        if param.param_type_name != "argument":
            continue
        name = param.metavar or (param.name or "arg").upper()
        shown = name if param.required else f"[{name}]"
        pieces.append(shown + ("..." if param.nargs != 1 else ""))
    return pieces


def _option_row(param: Any) -> tuple[str, str]:
    names = ", ".join(sorted(param.opts, key=len) + list(param.secondary_opts))
    if not (param.is_flag or param.count):  # every option of ours names its value with a metavar
        names += f" {param.metavar or (param.name or 'value').upper()}"
    return names, _described(param)


def _argument_row(param: Any) -> tuple[str, str]:
    return param.metavar or (param.name or "arg").upper(), _described(param)


def _described(param: Any) -> str:
    text = " ".join((param.help or "").split())
    extra = []
    if getattr(param, "show_envvar", False) and param.envvar:
        extra.append(f"env var: {param.envvar}")
    default = param.default
    shown_default = param.show_default is not False and not getattr(param, "is_flag", False)
    if shown_default and default not in (None, "", (), []) and param.param_type_name == "option":
        extra.append(f"default: {_plain(default)}")
    return f"{text}  [{'; '.join(extra)}]" if extra else text


def _plain(value: Any) -> str:
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _write_help_text(command: Any, formatter: Any) -> None:
    text = inspect.cleandoc(command.help or "")
    if not text:
        return
    formatter.write_paragraph()
    with formatter.indentation():
        for number, paragraph in enumerate(text.split("\n\n")):
            if number:
                formatter.write_paragraph()
            flowing = " ".join(paragraph.split())
            if flowing.startswith(EXAMPLE):  # copied whole: never folded mid-command
                formatter.write(f"{'':>{formatter.current_indent}}{flowing}\n")
            else:
                formatter.write_text(flowing)


def _write_options(command: Any, ctx: Any, formatter: Any) -> None:
    params = [param for param in command.get_params(ctx) if not getattr(param, "hidden", False)]
    arguments = [_argument_row(param) for param in params if param.param_type_name == "argument"]
    options = [param for param in params if param.param_type_name == "option"]
    sections = (
        ("Arguments", arguments),
        ("Options", [_option_row(p) for p in options if p.rich_help_panel != GLOBAL_PANEL]),
        (GLOBAL_PANEL, [_option_row(p) for p in options if p.rich_help_panel == GLOBAL_PANEL]),
    )
    for title, rows in sections:
        if rows:
            with formatter.section(title):
                formatter.write_dl(rows)


def _format_help(command: Any, ctx: Any, formatter: Any) -> None:
    formatter.write("\n")  # a blank line before the usage, as most CLIs print it
    formatter.write_usage(ctx.command_path, " ".join(command.collect_usage_pieces(ctx)))
    _write_help_text(command, formatter)
    _write_options(command, ctx, formatter)


class Command(TyperCommand):
    """A command whose help follows the conventions (pass ``cls=Command``)."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return _usage_pieces(self, ctx)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _format_help(self, ctx, formatter)


class Group(TyperGroup):
    """A group whose help follows the conventions and lists its commands (pass ``cls=Group``)."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return [*_usage_pieces(self, ctx), self.subcommand_metavar]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _format_help(self, ctx, formatter)
        self.format_commands(ctx, formatter)


def check_conventions(command: Any) -> None:
    """Raise if ``command`` or anything below it was declared without ``cls=Command`` / ``cls=Group``."""
    if not isinstance(command, Command | Group):
        raise TypeError(f"{command.name}: declare it with cls=Command (or cls=Group)")
    for sub in getattr(command, "commands", {}).values():
        check_conventions(sub)
