"""``--help`` in the usual form: ``augtool expand [OPTIONS] RECIPE [INPUT]``, ``-o, --output OUT``.

Typer writes a required argument as ``{recipe}`` in the usage line and adds its type
(``recipe <path>``, ``--jobs <int range>``) in the lists. The main group hands out every command
(its own and those of groups added to it, by whichever module) with each argument and option
shown by its metavar, upper case by default, as man pages and most tools show them.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperArgument, TyperGroup, TyperOption


class UsualArgument(TyperArgument):
    """An argument shown as ``RECIPE`` (required) or ``[INPUT]`` (optional), without its type."""

    @property
    def display_name_raw(self) -> str:
        return self.metavar or (self.name or "").upper()

    def _usage_display_name(self) -> str:
        name = self.display_name_raw if self.required else f"[{self.display_name_raw}]"
        return name if self.nargs == 1 else f"{name}..."

    def display_type_rich(self, ctx: Any) -> str | None:
        return None


class UsualOption(TyperOption):
    """An option that takes a value shown as ``--jobs N`` (its metavar), never ``<int range>``."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return self.metavar or (self.name or "").upper()


def usual_help(command: Any) -> Any:
    """``command`` (and, for a group, every command in it) with its parameters shown as above."""
    # The subclasses only change how a parameter is displayed (no state of their own), so the
    # parameters Typer made are given their class in place.
    for param in command.params:
        if type(param) is TyperArgument:
            param.__class__ = UsualArgument
        elif type(param) is TyperOption:
            param.__class__ = UsualOption
    for sub in getattr(command, "commands", {}).values():  # a group: its commands too
        usual_help(sub)
    return command


class UsualHelpGroup(TyperGroup):
    """The main group: hands out its commands with :func:`usual_help` applied."""

    def get_command(self, ctx: Any, cmd_name: str) -> Any | None:
        command = super().get_command(ctx, cmd_name)
        return None if command is None else usual_help(command)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        usual_help(self)
        super().format_help(ctx, formatter)
