"""Help pages laid out as click lays them out, for the command list and for each command."""

from __future__ import annotations

import inspect
import re
import textwrap

import typer.core

# Typer 0.29 runs its own copy of click: its commands and parameters are of these classes.
from typer._click.core import Context
from typer._click.formatting import HelpFormatter

_CODE_SPAN = re.compile(r"`[^`]*`")


class Group(typer.core.TyperGroup):
    """The command list gives each command's first paragraph whole, wrapped; click cut it at about 50 characters."""

    def format_commands(self, ctx: Context, formatter: HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, " ".join(inspect.cleandoc(command.help or "").split("\n\n")[0].split())))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


class Command(typer.core.TyperCommand):
    """Help laid out as click lays it out: NAME and [NAMES]... in the usage line, `--option VALUE`, no types.

    Typer 0.29 writes `{name}`, `<list[str]>` and `<bool>` there, which read as syntax to type (`--force true` is
    refused). Defaults are said once, in the help texts. Paragraphs are wrapped between words only, never at a
    hyphen inside --allow-production, nor inside a `code span`.
    """

    def format_help_text(self, ctx: Context, formatter: HelpFormatter) -> None:
        width = max(formatter.width - formatter.current_indent, 40)
        for paragraph in inspect.cleandoc(self.help or "").split("\n\n"):
            formatter.write_paragraph()
            # A `code span` stays on one line: its spaces are not places to break.
            text = _CODE_SPAN.sub(lambda span: span[0].replace(" ", "\0"), " ".join(paragraph.split()))
            lines = textwrap.wrap(text, width - 2, break_on_hyphens=False)
            formatter.write(
                "".join(f"{' ' * (formatter.current_indent + 2)}{line}\n" for line in lines).replace("\0", " ")
            )

    def collect_usage_pieces(self, ctx: Context) -> list[str]:
        arguments = [param for param in self.get_params(ctx) if isinstance(param, typer.core.TyperArgument)]
        return [self.options_metavar or "", *map(_argument_metavar, arguments)]

    def format_options(self, ctx: Context, formatter: HelpFormatter) -> None:
        arguments: list[tuple[str, str]] = []
        options: list[tuple[str, str]] = []
        for param in self.get_params(ctx):
            if isinstance(param, typer.core.TyperArgument):
                arguments.append((_argument_metavar(param), getattr(param, "help", None) or ""))
            elif isinstance(param, typer.core.TyperOption) and not param.hidden:
                names = ", ".join(param.opts) + "".join(f" / {name}" for name in param.secondary_opts)
                value = "" if param.is_flag else f" {param.metavar or (param.name or '').upper()}"
                options.append((names + value, param.help or ""))
        for title, rows in (("Arguments", arguments), ("Options", options)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


def _argument_metavar(argument: typer.core.TyperArgument) -> str:
    name = argument.metavar or (argument.name or "").upper()
    name = name if argument.required else f"[{name}]"
    return name + ("..." if argument.nargs != 1 else "")
