"""The whole preview: rows chosen (:mod:`.rows`), scaled and composed (:mod:`.sheet`) into a
:class:`Preview`; and where its PNG may go."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from augtool.atomic import write_atomic
from augtool.errors import InputError, OutputError, WriteError
from augtool.layouts.discovery import Dataset
from augtool.preview.captions import caption, params_text
from augtool.preview.rows import SOURCES, TILE, VARIANTS, Row, Tile, variant_rows
from augtool.preview.sheet import Layout, compose, scaled
from augtool.preview.sweep import sweep_rows
from augtool.recipe import Recipe
from augtool.recipe.paths import input_folder, recipe_output


@dataclass(frozen=True)
class Preview:
    """A rendered sheet and what it shows."""

    sheet: Image.Image
    rows: list[Row]  # with thumbnail-sized tiles
    mode: str  # "variants" or "sweep"
    seed: int
    skipped: list[dict[str, str]]
    #: the dataset folder the sources came from (set by :func:`augtool.preview_recipe`)
    input: str | None = None

    def png(self, palette: bool = False) -> bytes:
        """The sheet as PNG bytes, with no time stamp or other metadata, so reruns are identical.
        Lossless by default, since faint noise is what a sheet must show; ``palette`` trades that
        for a file about 4x smaller (256 colours), for docs and chat."""
        sheet = self.sheet
        if palette:
            # Undithered: dithering would add a noise of its own to a sheet meant to show noise.
            sheet = sheet.quantize(256, Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        buffer = io.BytesIO()
        sheet.save(buffer, format="PNG", optimize=True)
        return buffer.getvalue()

    def write(self, path: Path, palette: bool = False) -> None:
        """Write the PNG atomically: an interrupted preview never leaves half a sheet."""
        try:
            write_atomic(path, self.png(palette))
        except OSError as exc:
            raise WriteError(f"{path}: writing failed: {exc}") from exc

    #: where the sheet was written, when not where it was asked for (None: there)
    written: Path | None = None

    def summary(self) -> str:
        """What the CLI says of the sheet after its path."""
        width, height = self.sheet.size
        return f"{width}x{height} px, {len(self.rows)} rows"

    def table(self) -> tuple[list[str], list[list[str]]]:
        """Headers and rows of the terminal table: one line per tile that shows a transform."""
        if self.mode == "sweep":
            headers = ["step", "at", "parameters"]
            lines = [
                [
                    row.label,
                    tile.info["at"] or "once",
                    params_text(row.label, tile.info["params"]) or "(no ranges)",
                ]
                for row in self.rows
                for tile in row.tiles[1:]
            ]
            return headers, lines
        headers = ["source", "variant", "steps that fired"]
        lines = [
            [row.source.path, str(tile.info["variant"]), _fired_text(tile)]
            for row in self.rows
            for tile in row.tiles[1:]
        ]
        return headers, lines

    def as_json(self) -> dict[str, Any]:
        """The plan as plain JSON (what ``preview --json`` prints after the paths): the mode, the
        seed, the sheet's size, each row's source (or step) with every tile's variant, seed and
        fired steps, and the sources that could not be shown."""
        rows = [{**row.info, "tiles": [tile.info for tile in row.tiles]} for row in self.rows]
        width, height = self.sheet.size
        return {
            "mode": self.mode,
            "seed": self.seed,
            "sheet": {"width": width, "height": height},
            "rows" if self.mode == "sweep" else "sources": rows,
            "skipped": self.skipped,
        }


def _fired_text(tile: Tile) -> str:
    """What the table says of a variant: its caption (the steps that fired, and the partners
    they took) without the variant's number."""
    prefix = f"v{tile.info['variant']}: "
    if tile.caption.startswith(prefix):
        return tile.caption[len(prefix) :]
    return caption(tile.info["steps"])


def render_preview(
    recipe: Recipe,
    input_root: Path,
    sources: int = SOURCES,
    variants: int = VARIANTS,
    sweep: bool = False,
    tile: int = TILE,
) -> Preview:
    """Choose sources, render their rows, scale them and compose the sheet. Raises
    :class:`~augtool.errors.InputError` when there is nothing to show."""
    dataset = _discover(recipe, input_root)
    skipped: list[dict[str, str]] = []
    if sweep:
        if not recipe.steps:
            raise InputError(f"{recipe.file}: the pipeline has no steps to sweep")
        rows = list(scaled(sweep_rows(recipe, input_root, dataset, skipped), tile))
        title = (
            f"{Path(recipe.file).name}  ·  each step alone at the low, middle and high end of "
            f"its ranges  ·  {rows[0].source.path if rows else ''}"
        )
    else:
        made = variant_rows(recipe, input_root, dataset, sources, variants, skipped, tile)
        rows = list(scaled(made, tile))
        title = (
            f"{Path(recipe.file).name}  ·  seed {recipe.seed}  ·  "
            f"{len(rows)} sources x {variants} variants"
        )
    if not rows:
        raise InputError(f"{input_root}: none of the augmented sources could be decoded")
    sheet = compose(rows, title, Layout(tile))
    return Preview(sheet, rows, "sweep" if sweep else "variants", recipe.seed, skipped)


def _discover(recipe: Recipe, input_root: Path) -> Dataset:
    from augtool.run.engine import discover_dataset

    dataset = discover_dataset(recipe, input_root)
    if not any(source.augment for source in dataset.sources):
        augmented = ", ".join(recipe.splits["augment"])
        raise InputError(f"{input_root}: no image to preview in the augmented splits ({augmented})")
    return dataset


def preview_paths(recipe: Recipe, input_arg: str | None) -> tuple[Path, Path | None]:
    """The dataset folder (the command line wins over the recipe) and expand's output folder,
    if the recipe names one: the sheet may go in neither."""
    return input_folder(recipe, input_arg), recipe_output(recipe)


def check_output_path(path: Path, input_root: Path, expand_output: Path | None) -> None:
    """A preview is a PNG outside the dataset and outside expand's output, so it can never be
    mistaken for (or checked as) part of either."""
    if path.suffix.lower() != ".png":
        raise OutputError(f"{path}: the preview is a PNG; give a path ending in .png")
    if path.is_dir():
        raise OutputError(f"{path}: is a folder; give a file path ending in .png")
    target = path.resolve()
    for folder, what in ((input_root, "input"), (expand_output, "recipe's output")):
        if folder is None:
            continue
        root = folder.resolve()
        if root in target.parents:
            raise OutputError(f"{path}: inside the {what} folder {folder}; write it elsewhere")
