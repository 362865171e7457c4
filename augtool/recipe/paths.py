"""Where a job reads and writes: the command line's folders, else the recipe's.

A path written in the recipe (``input.path``, ``output.path``) is relative to the recipe file's
folder, as in a compose file: the recipe means the same folders from whatever folder it is run.
A path given on the command line (INPUT, ``-o OUT``) or to the API is relative to the working
directory, as every command-line argument is.
"""

from __future__ import annotations

import os
from pathlib import Path

from augtool.errors import InputError, OutputError
from augtool.recipe.model import Recipe


def from_recipe(recipe: Recipe, written: str) -> Path:
    """``written`` (a path in the recipe) from the recipe file's folder. ``..`` is folded
    (``configs/../out`` is ``out``) unless a link on the way makes the folded path another
    folder."""
    joined = recipe.base_dir / written
    folded = Path(os.path.normpath(joined))
    if folded == joined or os.path.realpath(folded) == os.path.realpath(joined):
        return folded
    return joined


def input_folder(recipe: Recipe, given: str | None) -> Path:
    """The dataset folder: ``given`` (from the working directory), else the recipe's
    ``input.path``, which must exist: the error says from where it was resolved."""
    if given:
        return Path(given)
    written = recipe.input["path"]
    if written is None:
        raise InputError("no input folder: give INPUT or set input.path in the recipe")
    folder = from_recipe(recipe, written)
    if not folder.exists():
        raise InputError(
            f"{folder}: input folder not found (input.path {written!r} in {recipe.file} is "
            f"relative to the recipe's folder {_shown(recipe.base_dir)}; INPUT on the command "
            "line is relative to the working directory)"
        )
    return folder


def output_folder(recipe: Recipe, given: str | None) -> Path:
    """The output folder: ``given`` (from the working directory), else the recipe's
    ``output.path`` (from the recipe's folder)."""
    if given:
        return Path(given)
    written = recipe.output["path"]
    if written is None:
        raise OutputError("no output folder: give -o OUT or set output.path in the recipe")
    return from_recipe(recipe, written)


def recipe_output(recipe: Recipe) -> Path | None:
    """The recipe's ``output.path`` from its folder, if it names one."""
    written = recipe.output["path"]
    return None if written is None else from_recipe(recipe, written)


def _shown(folder: Path) -> str:
    return str(folder) if str(folder) != "." else ". (the working directory)"
