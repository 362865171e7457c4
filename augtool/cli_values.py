"""Command-line values converted without pydantic where a plain conversion gives the same value.

Typer (0.29 and later) converts every value given on the command line with a pydantic
``TypeAdapter``: importing pydantic and building the adapters costs 0.1-0.2 s of CPU, more than
``augtool validate manifest`` spends hashing a dataset of small files. For the types augtool's
commands take (``bool``, ``str``, ``int`` with ``min``/``max``, ``Path``) a well-formed value
converts in a line. Anything else, a malformed value, one out of range, a list, another type,
goes to Typer's own conversion, so what is accepted and every error message stay Typer's. A
value is taken on the quick path only when Typer's conversion would return the same value.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

#: Longer digit strings go to Typer (Python refuses to parse very long ones, pydantic decides).
LONGEST_INT = 18


class NotQuick(Exception):
    """The value is not one the quick path converts; Typer's conversion decides."""


def quick_str(value: Any, info: Any) -> str:
    if type(value) is not str:
        raise NotQuick
    return value


def quick_bool(value: Any, info: Any) -> bool:
    if type(value) is not bool:  # a flag's value is; a string from the environment goes to Typer
        raise NotQuick
    return value


def quick_int(value: Any, info: Any) -> int:
    if type(value) is str and value.isascii() and value.isdigit() and len(value) <= LONGEST_INT:
        number = int(value)
    elif type(value) is int:
        number = value
    else:
        raise NotQuick
    if info.clamp:
        raise NotQuick
    if (info.min is not None and number < info.min) or (info.max is not None and number > info.max):
        raise NotQuick  # Typer's message says which bound
    return number


def quick_path(value: Any, info: Any) -> Path:
    if type(value) is not str or info.path_type not in (None, Path):
        raise NotQuick
    from typer import BadParameter
    from typer._param_types import coerce_cli_path

    # Typer's path check, given a Path already (pydantic's conversion of a str is Path(str));
    # when a check fails (the path must exist, a NUL in it), Typer's conversion fails the same
    # way and words the message from the value as typed.
    try:
        return coerce_cli_path(Path(value), info, path_type=Path)
    except (BadParameter, ValueError) as error:
        raise NotQuick from error


QUICK: dict[Any, Callable[[Any, Any], Any]] = {
    bool: quick_bool,
    str: quick_str,
    int: quick_int,
    Path: quick_path,
}


class QuickConversion:
    """A parameter's conversion: the quick one when it applies, Typer's own otherwise (built on
    first use, so that a command whose values all convert quickly never imports pydantic)."""

    def __init__(self, descriptor: Any) -> None:
        self.descriptor = descriptor
        info = descriptor.parameter_info
        plain = descriptor.file_annotation is None and info.parser is None
        self.quick = QUICK.get(descriptor.annotation) if plain else None
        self.full: Any = None

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        single = param.nargs == 1 and not param.multiple
        if self.quick is not None and single:
            if value is None:  # an option not given: Typer's conversion returns None too
                return None
            try:
                return self.quick(value, self.descriptor.parameter_info)
            except NotQuick:
                pass
        if self.full is None:
            from typer._coercion import build_runtime_param

            self.full = build_runtime_param(self.descriptor)
        return self.full.coerce(value, param=param, ctx=ctx)


def runtime_param(param: Any) -> Any:
    """The conversion of a Typer parameter's values (Typer's ``get_runtime_param``), made once."""
    if getattr(param, "_runtime_param", None) is None:
        param._runtime_param = QuickConversion(param.type_descriptor)
    return param._runtime_param
