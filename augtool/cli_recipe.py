"""``augtool recipe …``: commands that write or describe recipes rather than run them.

Registered on the main app by :mod:`augtool.cli`; the work is in :mod:`augtool.recipe`.
"""

# No ``from __future__ import annotations``: Typer reads every command's annotations at each
# start-up, and evaluating them from strings costs about 8 ms of CPU more than making them once
# at import (22 ms against 5, with 9 more at import).
import json
from pathlib import Path
from typing import Annotated

import typer

recipe_app = typer.Typer(
    help="Write or describe recipes: a starter recipe, the recipe's JSON Schema.\n\n"
    "Example: augtool recipe new --layout yolo",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@recipe_app.command("schema")
def schema(
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", metavar="FILE", help="Write the schema to FILE (default: stdout)."
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Accepted for uniformity: the schema is JSON.")
    ] = False,
) -> None:
    """Print the recipe's JSON Schema (draft 2020-12), for editors and other tools.

    Example: augtool recipe schema -o recipe.schema.json
    """
    from augtool.recipe.schema import schema_text

    text = schema_text()
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


@recipe_app.command("new")
def new(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="The recipe to write (default: recipe.yaml).")
    ] = Path("recipe.yaml"),
    layout: Annotated[
        str | None,
        typer.Option(
            "--layout",
            metavar="LAYOUT",
            help="yolo, coco, masks, imagefolder or flat (audio: imagefolder or flat; text: "
            "table): the dataset the recipe reads. Default: imagefolder, for text table.",
            show_default=False,
        ),
    ] = None,
    medium: Annotated[
        str,
        typer.Option("--medium", metavar="MEDIUM", help="image, audio or text."),
    ] = "image",
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Write a commented starter recipe for a dataset layout; it runs as written once the
    dataset is in data/ beside it.

    Example: augtool recipe new --layout yolo
    """
    from augtool.cli_errors import errors_to_exit
    from augtool.recipe.starter import MEDIA, write_starter

    with errors_to_exit(as_json):
        write_starter(file, layout, force, medium)
    chosen = layout or MEDIA[medium].layouts[0]
    if as_json:
        typer.echo(json.dumps({"file": str(file), "layout": chosen, "medium": medium}, indent=2))
    else:
        kind = "" if medium == "image" else f"{medium} "
        typer.echo(
            f"{file}: a starter {kind}recipe for the {chosen} layout; next: augtool preview {file}"
        )


@recipe_app.command("import")
def import_(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="A pipeline saved by Albumentations' A.save.")
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", metavar="RECIPE", help="Write the recipe here (default: stdout)."
        ),
    ] = None,
    allow_partial: Annotated[
        bool,
        typer.Option("--allow-partial", help="Write the recipe even when something was left out."),
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace RECIPE if it exists.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    verbose: Annotated[
        bool, typer.Option("-v", "--verbose", help="Also say what was changed on the way.")
    ] = False,
) -> None:
    """Convert an Albumentations pipeline (A.save, JSON or YAML, 1.x or 2.x) into a recipe.
    Each transform or parameter that cannot be converted is named with the nearest augtool
    setting, and the exit code is 1 unless --allow-partial.

    Example: augtool recipe import pipeline.json -o recipe.yaml
    """
    from augtool.cli_errors import errors_to_exit
    from augtool.recipe.albu_import import import_file, recipe_text
    from augtool.recipe.starter import StarterExists

    with errors_to_exit(as_json):
        imported = import_file(file)
        if output is not None and output.exists() and not force:
            raise StarterExists(f"{output}: already exists; give another name, or --force")
    partial = bool(imported.lost) and not allow_partial
    text = recipe_text(imported, file.name)
    if not partial and output is not None:
        output.write_text(text, encoding="utf-8")
    count = len(imported.lost)
    failure = (
        f"{file}: {count} thing{'s' if count != 1 else ''} could not be converted (listed "
        "above); nothing written (--allow-partial writes the rest)"
    )
    if as_json:
        found = {"recipe": imported.recipe, "lost": imported.lost, "changed": imported.notes}
        found["written"] = None if partial or output is None else str(output)
        if partial:
            found["error"] = {"message": failure, "exit_code": 1}
        typer.echo(json.dumps(found, indent=2))
    elif not partial and output is None:
        typer.echo(text, nl=False)
    for line in imported.lost:
        typer.echo(f"left out: {line}", err=True)
    for line in imported.notes if verbose else []:
        typer.echo(f"changed: {line}", err=True)
    if partial:
        typer.echo(f"Error: {failure}", err=True)
        raise typer.Exit(1)
