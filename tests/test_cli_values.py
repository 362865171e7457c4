"""Command-line values: the quick conversion gives Typer's value or leaves the value to Typer.

Typer converts with pydantic; :mod:`augtool.cli_values` converts plain values without it. Both
are run on the same values (hypothesis draws them) for every kind of parameter augtool's
commands declare, and must agree: the same value, or the same error message. And the command
that checks a dataset of small files, whose run is mostly start-up, imports no pydantic.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from conftest import QUICKSTART, SAMPLES, expand
from hypothesis import given, settings
from hypothesis import strategies as st
from typer._coercion import build_runtime_param

from augtool.cli import app
from augtool.cli_values import QuickConversion

COMMAND = typer.main.get_command(app)


def declared_params() -> list[Any]:
    """Every parameter of every command, one per kind (type and bounds)."""
    kinds: dict[Any, Any] = {}

    def walk(command: Any) -> None:
        for param in command.params:
            info = param.type_descriptor.parameter_info
            kind = (param.type_descriptor.annotation, info.min, info.max, param.nargs)
            kinds.setdefault(kind, param)
        for sub in getattr(command, "commands", {}).values():
            walk(sub)

    walk(COMMAND)
    return list(kinds.values())


PARAMS = declared_params()


def converted(conversion: Any, param: Any, value: Any) -> tuple[str, Any]:
    ctx = typer.Context(COMMAND)
    try:
        return "value", conversion.coerce(value, param=param, ctx=ctx)
    except typer.BadParameter as error:
        return "error", error.format_message()


VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.text(max_size=12),
    st.sampled_from(["007", "+5", " 5", "5_0", "5.0", "١٢", "", "a//b/", ".", "1e3", "0", "48"]),
)


@pytest.mark.parametrize("param", PARAMS, ids=lambda p: f"{p.name}-{p.type_descriptor.annotation}")
@settings(max_examples=150, deadline=None)
@given(value=VALUES)
def test_the_quick_conversion_agrees_with_typers(param: Any, value: Any) -> None:
    if param.nargs != 1 and isinstance(value, str | int | bool):
        value = [value]  # a list argument's values come as a list
    quick = QuickConversion(param.type_descriptor)
    typers = build_runtime_param(param.type_descriptor)
    got, expected = converted(quick, param, value), converted(typers, param, value)
    assert got == expected
    assert type(got[1]) is type(expected[1])


def test_the_quick_conversion_takes_the_plain_kinds() -> None:
    """What it exists for: the declared str, int, Path and bool parameters are quick ones."""
    quick = {
        p.type_descriptor.annotation for p in PARAMS if QuickConversion(p.type_descriptor).quick
    }
    assert quick == {str, int, Path, bool}


@pytest.mark.slow
def test_validate_manifest_imports_no_pydantic(tmp_path: Path) -> None:
    out = expand(QUICKSTART, SAMPLES, tmp_path / "out")
    script = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('pydantic' in sys.modules, file=sys.__stderr__))\n"
        "from augtool.entry import main\n"
        "main()\n"
    )
    argv = ["validate", "manifest", str(out / "manifest.jsonl"), "--jobs", "1", "--quiet"]
    done = subprocess.run(
        [sys.executable, "-c", script, *argv], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "False"
