"""The command line: parse, call the library, format (errors become exit codes in ``cli_errors``).

Heavy modules (numpy, Pillow, joblib, the transform families) are imported inside the commands,
so that ``augtool --help`` starts fast.
"""

# No ``from __future__ import annotations``: Typer reads every command's annotations at each
# start-up, and evaluating them from strings costs about 8 ms of CPU more than making them once
# at import (22 ms against 5, with 9 more at import).
import json
from pathlib import Path
from typing import Annotated

import typer

from augtool import api
from augtool.cli_errors import errors_to_exit
from augtool.cli_help import UsualHelpGroup
from augtool.cli_output import ProgressPrinter as _progress_printer
from augtool.cli_output import report_run as _report_run
from augtool.cli_output import version_text
from augtool.cli_recipe import recipe_app
from augtool.errors import (
    EXIT_FAILED,
    EXIT_OK,
)

app = typer.Typer(
    cls=UsualHelpGroup,
    name="augtool",
    help="Expand image, audio and text datasets offline from a YAML recipe, reproducibly, "
    "with a manifest.\n\n"
    "Example: augtool expand configs/quickstart.yaml",
    add_completion=True,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
validate_app = typer.Typer(
    help="Check a manifest or a recipe.\n\n"
    "Example: augtool validate manifest out/photos/manifest.jsonl",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(validate_app, name="validate")
app.add_typer(recipe_app, name="recipe")


#: Options expand and merge share.
RunOutput = Annotated[
    str | None,
    typer.Option(
        "-o", "--output", metavar="OUT", help="Output folder (default: the recipe's output.path)."
    ),
]
Jobs = Annotated[
    int | None,
    typer.Option("--jobs", "-j", min=1, metavar="N", help="Worker processes (default: all cores)."),
]
RunJson = Annotated[
    bool, typer.Option("--json", help="Print a machine-readable summary on stdout.")
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]
Verbose = Annotated[
    bool, typer.Option("-v", "--verbose", help="Also print every count and every unlisted file.")
]


#: ``validate manifest`` prints this many problems, then how many more (``--json``: all).
PROBLEMS_SHOWN = 50


def _version(value: bool) -> None:
    if value:
        typer.echo(version_text())
        raise typer.Exit(EXIT_OK)


@app.callback()
def main_callback(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version,
            is_eager=True,
            help="Print the version, and Pillow's and numpy's.",
        ),
    ] = False,
) -> None:
    """Expand image, audio and text datasets offline from a YAML recipe, reproducibly, with a
    manifest."""


@app.command()
def expand(
    recipe: Annotated[Path, typer.Argument(help="The YAML recipe.")],
    input: Annotated[
        str | None, typer.Argument(help="Dataset folder (default: the recipe's input.path).")
    ] = None,
    output: RunOutput = None,
    jobs: Jobs = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Override the recipe's seed (0 to 2**63 - 1).")
    ] = None,
    backend: Annotated[
        str,
        typer.Option(
            "--backend",
            help="loky (processes), threading, sequential, or dask: the scheduler at "
            "DASK_SCHEDULER_ADDRESS, else a local cluster of --jobs processes.",
        ),
    ] = "loky",
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Rebuild the output from scratch, even for another recipe: delete the files "
            "the earlier run wrote (never others), then run.",
        ),
    ] = False,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Finish an interrupted run in OUT (exit 2 when there is none). A plain rerun "
            "does the same: it keeps every finished, unchanged output.",
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Check and plan, print the plan's counts, write nothing."),
    ] = False,
    as_json: RunJson = False,
    quiet: Quiet = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 when any input was skipped.")
    ] = False,
    verbose: Verbose = False,
    shard: Annotated[
        str | None,
        typer.Option(
            "--shard",
            metavar="K/N",
            help="Make only the K-th of N slices of the sources (a partial output); "
            "augtool merge combines the N outputs.",
        ),
    ] = None,
) -> None:
    """Expand a dataset: N augmented variants per training file, plus a manifest.

    Example: augtool expand configs/quickstart.yaml -o out/photos --jobs 2
    """
    from augtool.run.executors.interrupts import interrupts_stop_the_run, raise_if_interrupted

    # Ctrl-C and SIGTERM end the command with one line and exit 130 from here on, even one
    # landing while the library imports its modules, where Python may drop its exception.
    with interrupts_stop_the_run(), errors_to_exit(as_json):
        progress = None if quiet else _progress_printer()
        try:
            summary = api.expand(
                recipe,
                input,
                output,
                jobs=jobs,
                seed=seed,
                backend=backend,
                force=force,
                resume=resume,
                dry_run=dry_run,
                progress=progress,
                shard=shard,
            )
        finally:
            if progress is not None:
                progress.close()
        raise_if_interrupted()  # one whose exception Python dropped after the engine's last look
    _report_run(summary, as_json, quiet, verbose, strict)


@app.command()
def merge(
    recipe: Annotated[Path, typer.Argument(help="The YAML recipe the shards were made with.")],
    parts: Annotated[
        list[Path], typer.Argument(metavar="PART", help="The output folder of every shard.")
    ],
    input: Annotated[
        str | None,
        typer.Option(
            "--input", metavar="INPUT", help="Dataset folder (default: the recipe's input.path)."
        ),
    ] = None,
    output: RunOutput = None,
    jobs: Jobs = None,
    as_json: RunJson = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Merge the outputs of expand --shard 1/N … N/N into one output: the files and manifest a
    single run writes, byte for byte. Parts are hard-linked in (copied across file systems) and
    left as they are; a missing or repeated shard is an error before anything is written.

    Example: augtool merge configs/quickstart.yaml out/part-1 out/part-2 -o out/photos
    """
    from augtool.run.executors.interrupts import interrupts_stop_the_run, raise_if_interrupted

    with interrupts_stop_the_run(), errors_to_exit(as_json):
        progress = None if quiet else _progress_printer()
        try:
            summary = api.merge(recipe, list(parts), input, output, jobs=jobs, progress=progress)
        finally:
            if progress is not None:
                progress.close()
        raise_if_interrupted()
    _report_run(summary, as_json, quiet, verbose, strict=False)


@app.command()
def preview(
    recipe: Annotated[Path, typer.Argument(help="The YAML recipe.")],
    input: Annotated[
        str | None, typer.Argument(help="Dataset folder (default: the recipe's input.path).")
    ] = None,
    output: Annotated[
        Path, typer.Option("-o", "--output", help="The PNG contact sheet to write.")
    ] = Path("preview.png"),
    sources: Annotated[
        int, typer.Option("--sources", min=1, help="Rows: sources, spread over classes and splits.")
    ] = 4,
    variants: Annotated[int, typer.Option("--variants", min=0, help="Variants per source.")] = 4,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Override the recipe's seed (0 to 2**63 - 1).")
    ] = None,
    sweep: Annotated[
        bool,
        typer.Option("--sweep", help="A row per step: alone, at the low, middle and high end."),
    ] = False,
    tile: Annotated[
        int, typer.Option("--tile", min=48, max=1024, help="Tile size in pixels (longer side).")
    ] = 192,
    palette: Annotated[
        bool,
        typer.Option("--palette", help="256 colours: a file about 4x smaller, for docs and chat."),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the plan (sources, seeds, steps) as JSON.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
) -> None:
    """Draw a contact sheet of what a recipe does, before expanding: a row per source, the original
    then its variants, each captioned with the steps that fired. A variant tile is exactly the
    image expand writes for it. Nothing is written but the PNG.

    Example: augtool preview configs/quickstart.yaml -o preview.png --sources 3 --variants 4
    """
    with errors_to_exit(as_json):
        made = api.preview_recipe(
            recipe,
            input,
            output=output,
            sources=sources,
            variants=variants,
            seed=seed,
            sweep=sweep,
            tile=tile,
            palette=palette,
        )
    if as_json:
        plan = {"recipe": str(recipe), "input": made.input, "output": str(output)}
        typer.echo(json.dumps({**plan, **made.as_json()}, indent=2))
    elif not quiet:
        from rich.console import Console
        from rich.table import Table

        headers, rows = made.table()
        table = Table(*headers, show_lines=False)
        for row in rows:
            table.add_row(*row)
        console = Console(soft_wrap=False)
        console.print(table)
        typer.echo(f"Wrote {made.written or output} ({made.summary()})")
        for item in made.skipped:
            typer.echo(f"skipped {item['path']}: {item['reason']}")


@app.command()
def transforms(
    name: Annotated[str | None, typer.Argument(help="Show one transform in full.")] = None,
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            metavar="KIND",
            help="Only the transforms that handle this kind of label (masks, boxes, polygons, "
            "keypoints): move it with the pixels, or keep it in place.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print them as JSON.")] = False,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Every one in full.")] = False,
) -> None:
    """List every transform and which labels each handles, or show one: parameters, defaults,
    targets, what it does, a recipe snippet.

    Example: augtool transforms --target boxes
    """
    from augtool import docs

    with errors_to_exit(as_json):
        if as_json:
            typer.echo(json.dumps(docs.as_json(name, target), indent=2))
        elif verbose and name is None:
            names = dict.fromkeys(n["name"] for n in docs.as_json(target=target))
            typer.echo("\n\n".join(docs.describe(n) for n in names))
        else:
            typer.echo(api.describe_transforms(name, target))


@validate_app.command("recipe")
def validate_recipe(
    recipe: Annotated[Path, typer.Argument(help="The YAML recipe to check.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    verbose: Annotated[
        bool, typer.Option("-v", "--verbose", help="Also print the normalised recipe.")
    ] = False,
) -> None:
    """Check a recipe without running it: exit 0 when valid, 2 with the error otherwise.

    Example: augtool validate recipe configs/quickstart.yaml
    """
    with errors_to_exit(as_json):
        loaded = api.validate_recipe(recipe)
    if as_json:
        found = {"recipe": str(recipe), "ok": True, "steps": len(loaded.steps)}
        found.update(sha256=loaded.sha256, medium=loaded.medium, normalised=loaded.normalised)
        typer.echo(json.dumps(found, indent=2))
        return
    typer.echo(f"{recipe}: OK ({len(loaded.steps)} steps, recipe sha256 {loaded.sha256})")
    if verbose:
        typer.echo(json.dumps(loaded.normalised, indent=2))


@validate_app.command("manifest")
def validate_manifest(
    manifest: Annotated[Path, typer.Argument(help="OUT/manifest.jsonl")],
    source: Annotated[
        Path | None,
        typer.Option("--source", metavar="INPUT", help="Also check the sources in this folder."),
    ] = None,
    recompute: Annotated[
        str | None,
        typer.Option(
            "--recompute",
            metavar="K|all",
            help="Re-derive K random outputs (or 'all'); needs --source.",
        ),
    ] = None,
    content: Annotated[
        bool,
        typer.Option(
            "--content",
            help="Also compare each image output's pHash with its source's (decodes them).",
        ),
    ] = False,
    jobs: Annotated[
        int | None,
        typer.Option("--jobs", "-j", min=1, metavar="N", help="Hashing processes (default: all)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON report.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the summary.")] = False,
    verbose: Annotated[
        bool,
        typer.Option("-v", "--verbose", help=f"Every problem, not the first {PROBLEMS_SHOWN}."),
    ] = False,
) -> None:
    """Check an expanded dataset against its manifest: digests, completeness, leakage, provenance.

    Example: augtool validate manifest out/photos/manifest.jsonl --source samples/photos
    """
    with errors_to_exit(as_json):
        report = api.validate_manifest(
            manifest, source=source, recompute=recompute, jobs=jobs, content=content
        )
    if as_json:
        typer.echo(json.dumps(report.as_json(), indent=2))
    else:
        if not quiet:
            for line in report.problem_lines(limit=None if verbose else PROBLEMS_SHOWN):
                typer.echo(line)
        typer.echo(report.summary_line())
    raise typer.Exit(EXIT_OK if report.ok else EXIT_FAILED)


@app.command()
def report(
    paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="MANIFEST | DIR [DIR_B]",
            help="OUT/manifest.jsonl, a dataset folder, or two folders.",
        ),
    ],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write a self-contained HTML page.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    fail_on: Annotated[
        str | None,
        typer.Option(
            "--fail-on", help="Exit 1 on: drift, over-augmentation, duplicates (comma list)."
        ),
    ] = None,
    source: Annotated[
        Path | None, typer.Option("--source", help="The sources' folder (originals: skip).")
    ] = None,
    no_verify: Annotated[
        bool, typer.Option("--no-verify", help="Report on a manifest that fails its digest.")
    ] = False,
    quality: Annotated[
        list[str] | None,
        typer.Option("--quality", help="Override a threshold: NAME=VALUE (repeatable)."),
    ] = None,
    cache: Annotated[
        Path | None, typer.Option("--cache", help="Statistics cache file (default: user cache).")
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Use no statistics cache.")] = False,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", min=1, help="Processes (default: all cores).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
) -> None:
    """Report what an expansion did to the data (drift, over-augmentation, quality issues), or
    compare two datasets, or describe one.

    Example: augtool report out/photos/manifest.jsonl -o report.html --fail-on over-augmentation
    """
    from augtool.report.entry import cli_report

    with errors_to_exit(as_json):
        progress = None if as_json or quiet else _progress_printer(what="reading", unit="files")
        try:
            found, failures = cli_report(
                paths,
                output,
                fail_on,
                source,
                not no_verify,
                quality or [],
                False if no_cache else (cache or True),
                jobs,
                progress,
            )
        finally:
            if progress is not None:
                progress.close()
    if as_json:
        typer.echo(json.dumps({**found.as_json(), "failures": failures}, indent=2))
    elif not quiet:
        from rich.console import Console

        from augtool.report.terminal import render

        render(found, Console(soft_wrap=False, width=max(120, Console().width)))
        if output is not None:
            typer.echo(f"Wrote {output}")
    for failure in failures:
        typer.echo(f"Error: {failure}", err=True)
    raise typer.Exit(EXIT_FAILED if failures else EXIT_OK)


def main() -> None:
    app()
