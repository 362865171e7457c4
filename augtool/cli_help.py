"""``--help`` in the usual form: ``augtool expand [OPTIONS] RECIPE [INPUT]``, ``-o, --output OUT``.

Typer writes a required argument as ``{recipe}`` in the usage line and adds its type
(``recipe <path>``, ``--jobs <int range>``) in the lists. The main group hands out every command
(its own and those of groups added to it, by whichever module) with each argument and option
shown by its metavar, upper case by default, as man pages and most tools show them, and each
value converted by :mod:`augtool.cli_values` (no pydantic for plain values).
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from augtool.cli_values import runtime_param


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

    def get_runtime_param(self) -> Any:
        return runtime_param(self)


class UsualOption(TyperOption):
    """An option that takes a value shown as ``--jobs N`` (its metavar), never ``<int range>``."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return self.metavar or (self.name or "").upper()

    def get_runtime_param(self) -> Any:
        return runtime_param(self)


def usual_params(params: list[Any]) -> list[Any]:
    """``params``, each given its usual class in place (the subclasses change how a parameter is
    displayed and how its value is converted, and hold no state of their own)."""
    for param in params:
        if type(param) is TyperArgument:
            param.__class__ = UsualArgument
        elif type(param) is TyperOption:
            param.__class__ = UsualOption
    return params


class UsualCommand(TyperCommand):
    """A command whose parameters, ``--help`` included, are the usual ones."""

    def get_params(self, ctx: Any) -> list[Any]:
        return usual_params(super().get_params(ctx))


class UsualHelpGroup(TyperGroup):
    """A group whose parameters are the usual ones, and which hands out its commands (and
    groups) as :class:`UsualCommand` (and :class:`UsualHelpGroup`)."""

    def get_params(self, ctx: Any) -> list[Any]:
        return usual_params(super().get_params(ctx))

    def get_command(self, ctx: Any, cmd_name: str) -> Any | None:
        command = super().get_command(ctx, cmd_name)
        if type(command) is TyperCommand:
            command.__class__ = UsualCommand
        elif type(command) is TyperGroup:
            command.__class__ = UsualHelpGroup
        return command
