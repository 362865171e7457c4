"""``augtool recipe …``: commands that write or describe recipes rather than run them.

Registered on the main app by :mod:`augtool.cli`; the work is in :mod:`augtool.recipe`.
"""

from __future__ import annotations

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
        str,
        typer.Option(
            "--layout",
            metavar="LAYOUT",
            help="yolo, coco, masks, imagefolder or flat: the dataset the recipe reads.",
        ),
    ] = "imagefolder",
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Write a commented starter recipe for a dataset layout; it runs as written once the
    dataset is in data/ beside it.

    Example: augtool recipe new --layout yolo
    """
    from augtool.cli import _errors_to_exit  # the main app: loaded by now
    from augtool.recipe.starter import write_starter

    with _errors_to_exit(as_json):
        write_starter(file, layout, force)
    if as_json:
        typer.echo(json.dumps({"file": str(file), "layout": layout}, indent=2))
    else:
        typer.echo(
            f"{file}: a starter recipe for the {layout} layout; next: augtool preview {file}"
        )

