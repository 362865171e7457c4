"""Preview: a contact sheet of what a recipe does, before an expand spends hours on it.

A variant tile is derived by the very functions expand uses (:mod:`augtool.run.derive`), from
the same decode (with the recipe's input limits) and with the seed the plan gives that variant
(:func:`augtool.run.plan.variant_seed`), so its pixels before scaling are exactly those expand
encodes, and the annotations drawn on it are those expand writes (objects dropped, left/right
classes swapped); a source expand skips (too many pixels, labels that do not parse) is skipped
here too. Scaling to a thumbnail and the caption are all that preview adds.

Sources are chosen from the discovered paths before anything is decoded, and only the chosen ones
are read, so a preview of a million-image dataset costs about as much as one of ten images. Rows
are rendered one at a time and scaled at once: memory holds one source's full-size images, never
the sheet's.

Annotations (boxes, polygons, mask outlines) will travel with a tile's image in :class:`Tile` and
be drawn where the tile is pasted (:func:`_paste_tile`), in the tile's own coordinates.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from augtool.atomic import write_atomic
from augtool.errors import InputError, OutputError, ParamError, WriteError
from augtool.layouts.base import AnnotationError
from augtool.layouts.discovery import Dataset, Source
from augtool.media.image.codecs import (
    DecodeError,
    EncodeError,
    error_text,
    open_limited,
    orientation_of,
    quiet_metadata_warnings,
    upright,
)
from augtool.media.image.transforms import Block, Step, Transform, fired_leaves, replay
from augtool.media.image.transforms.imaging import to_pil
from augtool.media.image.transforms.params import Param, Range
from augtool.recipe import Recipe
from augtool.run.derive import (
    LABELLED,
    InputLimits,
    LabelRules,
    Opened,
    SourceLabels,
    derive,
    open_source,
    pixels,
    targets_of,
)
from augtool.run.plan import variant_seed

__all__ = [
    "Preview",
    "Row",
    "Tile",
    "caption",
    "check_output_path",
    "choose_sources",
    "compose",
    "preview_paths",
    "render_preview",
    "sweep_rows",
    "variant_rows",
]

TILE = 192
SOURCES = 4
VARIANTS = 4
SWEEP_POINTS = ("low", "mid", "high")
NOTHING_FIRED = "(no step fired)"

BACKGROUND = (240, 240, 240)
CELL = (222, 222, 222)
INK = (25, 25, 25)
SOFT_INK = (90, 90, 90)

Record = dict[str, Any]


@dataclass(frozen=True)
class Tile:
    """One image of the sheet: its pixels (full size while rendering, a thumbnail once on the
    sheet), its caption, and, as plain JSON, what made it."""

    image: np.ndarray
    caption: str
    info: dict[str, Any] = field(default_factory=dict)
    #: the source's annotations moved like this tile's pixels (full-size coordinates), drawn on
    #: the thumbnail so that a box that does not follow its object shows at a glance
    targets: Any = None


@dataclass(frozen=True)
class Row:
    """One row of the sheet: a source with its variants, or one step swept over its ranges."""

    label: str
    source: Source
    tiles: list[Tile]
    info: dict[str, Any] = field(default_factory=dict)


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

    def table(self) -> tuple[list[str], list[list[str]]]:
        """Headers and rows of the terminal table: one line per tile that shows a transform."""
        if self.mode == "sweep":
            headers = ["step", "at", "parameters"]
            lines = [
                [
                    row.label,
                    tile.info["at"] or "once",
                    _params_text(row.label, tile.info["params"]) or "(no ranges)",
                ]
                for row in self.rows
                for tile in row.tiles[1:]
            ]
            return headers, lines
        headers = ["source", "variant", "steps that fired"]
        lines = [
            [row.source.path, str(tile.info["variant"]), caption(tile.info["steps"])]
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


# --- choosing sources ----------------------------------------------------------------------


def choose_sources(dataset: Dataset) -> Iterator[Source]:
    """Augmented sources in preview order: round robin over the (split, label) groups in sorted
    order, the first unused path of each group in turn, so the first K rows spread over classes
    and splits. An iterator: a source that does not decode is passed over for the next one."""
    groups: dict[tuple[str, str], list[Source]] = {}
    for source in dataset.sources:
        if source.augment:
            groups.setdefault((source.split or "", source.label or ""), []).append(source)
    queues = [groups[key] for key in sorted(groups)]
    for index in range(max((len(q) for q in queues), default=0)):
        for queue in queues:
            if index < len(queue):
                yield queue[index]


@dataclass(frozen=True)
class _Loaded:
    """A chosen source as preview shows it: the image (full size, or a display-only draft),
    its displayed [height, width], its annotations, and the opened source variants derive
    from (None for a draft)."""

    source: Source
    image: np.ndarray
    size: list[int]
    targets: Any
    opened: Opened | None


def _loaded_sources(
    recipe: Recipe,
    input_root: Path,
    dataset: Dataset,
    candidates: Iterable[Source],
    count: int,
    draft: int | None = None,
) -> Iterator[_Loaded | dict[str, str]]:
    """Read, decode and read the labels of candidates as expand does, until ``count`` loaded;
    a failure is yielded as a skip record (with the reason expand would give) and the next
    candidate is tried. With ``draft`` (a tile size) the image is for display only."""
    if count <= 0:
        return
    limits = InputLimits(tuple(recipe.input["formats"]), recipe.input["max_pixels"])
    rules = _rules(recipe, dataset)
    loaded = 0
    for source in candidates:
        try:
            data = (input_root / source.path).read_bytes()
        except OSError as exc:
            yield {"path": source.path, "reason": f"cannot read: {exc.strerror or exc}"}
            continue
        try:
            labels = _labels_of(dataset, input_root, source)
        except OSError as exc:
            reason = f"cannot read its labels {source.annotation}: {exc.strerror or 'not a file'}"
            yield {"path": source.path, "reason": reason}
            continue
        try:
            if draft is None:
                opened = open_source(data, limits, recipe.kernels, labels, rules)
                size = list(opened.decoded.size)
                item = _Loaded(source, opened.decoded.image, size, opened.targets, opened)
            else:
                image, size = draft_decode(data, limits, draft)
                targets = None
                if labels is not None and rules is not None:
                    targets = targets_of(labels, rules, size)
                item = _Loaded(source, image, size, targets, None)
        except (DecodeError, AnnotationError) as exc:
            yield {"path": source.path, "reason": str(exc)}
            continue
        yield item
        loaded += 1
        if loaded == count:
            return


def _rules(recipe: Recipe, dataset: Dataset) -> LabelRules | None:
    """How expand moves this dataset's labels (None for a layout without labels)."""
    if dataset.layout not in LABELLED:
        return None
    categories: tuple[Any, ...] = ()
    if dataset.coco is not None:
        from augtool.layouts.coco import categories_of

        categories = tuple(categories_of(dataset.coco))
    bbox = recipe.targets["bbox"]
    return LabelRules(
        dataset.layout,
        tuple(dataset.names),
        (bbox["min_visibility"], bbox["min_area"]),
        tuple((a, b) for a, b in recipe.targets["flip_pairs"]),
        categories,
    )


def _labels_of(dataset: Dataset, input_root: Path, source: Source) -> SourceLabels | None:
    """The source's labels as expand's worker reads them (raises ``OSError``)."""
    if dataset.coco is not None and source.path in dataset.coco.images:
        from augtool.layouts.coco import image_task

        _, entry, anns = dataset.coco.images[source.path]
        return SourceLabels(f"{source.annotation}: {source.path}", coco=image_task(entry, anns))
    if source.annotation is not None:
        return SourceLabels(source.annotation, data=(input_root / source.annotation).read_bytes())
    return None


def draft_decode(
    data: bytes, limits: InputLimits, tile: int = TILE
) -> tuple[np.ndarray, list[int]]:
    """A display-only decode for a sheet of originals alone, within the same limits as
    expand's: JPEG is decoded at a reduced scale (``Image.draft``: 1/2 to 1/8 of the DCT work),
    EXIF orientation applied. Never for variants, whose pixels must be expand's."""
    formats = list(limits.formats)
    try:
        with quiet_metadata_warnings(), open_limited(data, formats, limits.max_pixels) as img:
            if img.format != "JPEG":
                img.close()
                opened = open_source(data, limits)
                return opened.decoded.image, list(opened.decoded.size)
            width, height = img.size
            orientation = orientation_of(img.getexif())  # as expand applies it
            if orientation in (5, 6, 7, 8):  # a quarter turn
                width, height = height, width
            img.draft("RGB" if img.mode == "RGB" else None, (tile, tile))
            turned = upright(img, orientation)
            shown = turned.convert("L" if turned.mode == "L" else "RGB")
    except Image.DecompressionBombError as exc:
        raise DecodeError(f"decompression bomb refused: {exc}") from None
    except Image.UnidentifiedImageError:
        raise DecodeError(f"not an image in an accepted format ({', '.join(formats)})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise DecodeError(f"cannot decode: {error_text(exc)}") from None
    array = np.asarray(shown)
    return (array[:, :, None] if array.ndim == 2 else array), [height, width]


# --- rows --------------------------------------------------------------------------------


def variant_rows(
    recipe: Recipe,
    input_root: Path,
    dataset: Dataset,
    sources: int = SOURCES,
    variants: int = VARIANTS,
    skipped: list[dict[str, str]] | None = None,
    tile: int = TILE,
) -> Iterator[Row]:
    """One row per chosen source: the original, then ``variants`` variants at full size, each
    derived as expand derives (source, variant), with the annotations expand writes. Skipped
    candidates go to ``skipped``. Without variants the originals alone are decoded for display
    only (``tile`` sized)."""
    chosen = choose_sources(dataset)
    draft = None if variants else tile
    for item in _loaded_sources(recipe, input_root, dataset, chosen, sources, draft):
        if isinstance(item, dict):
            if skipped is not None:
                skipped.append(item)
            continue
        source, size = item.source, item.size
        tiles = [replace(_original_tile(item.image, size), targets=item.targets)]
        try:
            for index in range(variants):
                assert item.opened is not None
                seed = variant_seed(recipe.seed, source.path, index)
                variant = derive(item.opened, recipe.steps, seed)
                records = variant.steps
                info = {"variant": index, "seed": seed, "size": variant.size, "steps": records}
                moved = None if variant.moved is None else variant.moved.targets
                image = pixels(item.opened, variant)
                tiles.append(Tile(image, f"v{index}: {caption(records)}", info, moved))
        except EncodeError as exc:  # a step that encodes (jpeg_compression), as expand skips
            if skipped is not None:
                skipped.append({"path": source.path, "reason": str(exc)})
            continue
        yield Row(_source_label(source), source, tiles, _source_info(source, size))


def sweep_rows(
    recipe: Recipe,
    input_root: Path,
    dataset: Dataset,
    skipped: list[dict[str, str]] | None = None,
) -> Iterator[Row]:
    """One row per leaf step of the pipeline, on the first chosen source that every step can
    render (one ``jpeg_compression`` cannot encode is passed over, as expand skips it): the
    original, then the step alone (p ignored) with every range collapsed to its low end, middle
    and high end. The three tiles draw from the same generator, so only the range moves."""
    candidates = choose_sources(dataset)
    count = len(dataset.sources)
    for item in _loaded_sources(recipe, input_root, dataset, candidates, count):
        if isinstance(item, dict):
            if skipped is not None:
                skipped.append(item)
            continue
        try:
            rows = list(_sweep_source(recipe, item))
        except EncodeError as exc:  # jpeg_compression on an image JPEG cannot hold
            if skipped is not None:
                skipped.append({"path": item.source.path, "reason": str(exc)})
            continue
        yield from rows
        return


def _sweep_source(recipe: Recipe, item: _Loaded) -> Iterator[Row]:
    source, image, size = item.source, item.image, item.size
    seed = variant_seed(recipe.seed, source.path, 0)
    for path, step in leaf_steps(recipe.steps):
        tiles = [_original_tile(image, size)]
        for at, point in sweep_points(step):
            rng = np.random.Generator(np.random.PCG64(seed))
            params = point.sample(rng, image.shape)
            fired = [{"name": point.name, "fired": True, "params": params}]
            out = replay(fired, image, recipe.kernels)
            name = step.name if at is None else f"{step.name} {at}"
            text = f"{name}: {_params_text(step.name, params)}".rstrip(": ")
            tiles.append(Tile(out, text, {"at": at, "size": _size(out), "params": params}))
        info = {"step": step.name, "path": path, "source": _source_info(source, size)}
        yield Row(step.name, source, tiles, info)


def leaf_steps(steps: list[Step], prefix: str = "pipeline") -> list[tuple[str, Transform]]:
    """Every transform of the pipeline with its place in the recipe, blocks opened."""
    leaves: list[tuple[str, Transform]] = []
    for index, step in enumerate(steps):
        path = f"{prefix}[{index}]"
        if isinstance(step, Block):
            leaves.extend(leaf_steps(step.children, f"{path}.{step.kind}.transforms"))
        else:
            leaves.append((path, step))
    return leaves


def sweep_points(step: Transform) -> list[tuple[str | None, Transform]]:
    """The step configured with every range collapsed to one point: its low end, middle and high
    end. Rebuilt through the transform's own constructor, so every point is a valid config and
    sampling stays the transform's own. A step without ranges gives one point, as configured."""
    ranges = [param for param in type(step).all_params() if isinstance(param.kind, Range)]
    if not ranges:
        return [(None, step)]
    return [(at, _collapsed(step, ranges, at)) for at in SWEEP_POINTS]


def _collapsed(step: Transform, ranges: list[Param], at: str) -> Transform:
    """``step`` with each range collapsed to its ``at`` point. A whole-number point the
    transform refuses (an even kernel size where only odd ones exist) is nudged inward, one
    step at a time; if none is accepted, the step is shown as configured."""
    for nudge in {"low": (0, 1, 2), "mid": (0, 1, -1), "high": (0, -1, -2)}[at]:
        config = dict(step.config)
        for param in ranges:
            lo, hi = config[param.name]
            value = {"low": lo, "mid": (lo + hi) / 2, "high": hi}[at]
            if param.kind.integer:
                value = min(max(math.floor(value + 0.5) + nudge, lo), hi)
            config[param.name] = [value, value]
        try:
            return type(step)(**config)
        except ParamError:
            continue
    return step


# --- captions ----------------------------------------------------------------------------

# Parameters a caption leaves out: configuration echoed back (border, size), or long draws
# (noise seeds, kernel taps, corner lists) that a reader cannot judge at a glance.
_HIDDEN = {
    "border",
    "corners",
    "fill",
    "holes",
    "interpolation",
    "order",
    "per_channel",
    "permutation",
    "seed",
    "size",
    "taps",
    "value",
}
_SHORT = {"brightness": "b", "contrast": "c", "saturation": "s", "hue": "h", "angle": ""}
_UNITS = {"angle": "°"}


def caption(records: list[Record]) -> str:
    """The steps that fired, with their key parameters rounded: ``rotate -12.3°, hflip``."""
    parts = [f"{name} {text}".strip() for name, text in _fired(records)]
    return ", ".join(parts) if parts else NOTHING_FIRED


def _fired(records: list[Record]) -> Iterator[tuple[str, str]]:
    # A block's fired children speak for it.
    for record in fired_leaves(records):
        yield record["name"], _params_text(record["name"], record["params"])


def _params_text(name: str, params: dict[str, Any]) -> str:
    if {"top", "left", "height", "width"} <= params.keys():
        return f"{params['width']}x{params['height']}"  # the window; where it sits tells little
    if name == "coarse_dropout":
        return f"{len(params['holes'])} holes"
    if name == "random_erasing":
        return f"{params['box'][3]}x{params['box'][2]}" if params["erased"] else "none fitted"
    words = []
    for key, value in params.items():
        text = _value_text(value)
        if key in _HIDDEN or text is None or (key == "mean" and value == 0):
            continue
        short = _SHORT.get(key, key)
        joined = short + text if len(short) <= 1 else f"{short} {text}"
        words.append(joined + _UNITS.get(key, ""))
    return " ".join(words)


def _value_text(value: Any) -> str | None:
    """Numbers rounded for reading; short lists of numbers as ``a,b``; anything longer None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return _round(value)
    if isinstance(value, str):
        return value
    if (
        isinstance(value, list)
        and len(value) <= 2
        and all(isinstance(v, (int, float)) for v in value)
    ):
        return ",".join(_round(v) for v in value)
    return None


def _round(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    digits = 1 if abs(value) >= 10 else 2
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


# --- the sheet -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """Sizes of the sheet's parts, all derived from the tile size so any --tile stays legible."""

    tile: int = TILE

    @property
    def font_size(self) -> int:
        return max(9, round(self.tile / 16))

    @property
    def line(self) -> int:
        return self.font_size + 3

    @property
    def caption_lines(self) -> int:
        return 4

    @property
    def caption_height(self) -> int:
        return 4 + self.caption_lines * self.line

    @property
    def gap(self) -> int:
        return max(4, self.tile // 24)

    @property
    def margin(self) -> int:
        return 2 * self.gap

    @property
    def label_width(self) -> int:
        return round(self.tile * 0.6)

    @property
    def header_height(self) -> int:
        return self.line + 2 * self.gap

    def size(self, rows: int, columns: int) -> tuple[int, int]:
        """(width, height) of a sheet of ``rows`` rows of at most ``columns`` tiles."""
        width = 2 * self.margin + self.label_width + columns * (self.tile + self.gap)
        row_height = self.tile + self.caption_height
        height = 2 * self.margin + self.header_height + rows * row_height
        return width, height + max(rows - 1, 0) * self.gap

    def cell(self, row: int, column: int) -> tuple[int, int]:
        """Top-left corner of the tile at (row, column)."""
        x = self.margin + self.label_width + self.gap + column * (self.tile + self.gap)
        y = self.margin + self.header_height + row * (self.tile + self.caption_height + self.gap)
        return x, y


def draw_targets(thumb: np.ndarray, targets: Any) -> np.ndarray:
    """Boxes (red), polygons (green), keypoints (yellow) and mask outlines (magenta), scaled
    from the full-size image onto its thumbnail."""
    height, width = targets.size
    scale_x, scale_y = thumb.shape[1] / width, thumb.shape[0] / height
    img = Image.fromarray(np.ascontiguousarray(thumb[:, :, :3]) if thumb.shape[2] >= 3 else
                          np.repeat(thumb, 3, axis=2))  # fmt: skip
    if targets.mask is not None:
        small = np.asarray(Image.fromarray(targets.mask).resize(img.size, Image.Resampling.NEAREST))
        edge = np.zeros(small.shape, bool)
        edge[:, 1:] |= small[:, 1:] != small[:, :-1]
        edge[1:, :] |= small[1:, :] != small[:-1, :]
        pixels = np.array(img)
        pixels[edge] = (230, 0, 200)
        img = Image.fromarray(pixels)
    draw = ImageDraw.Draw(img)
    for x0, y0, x1, y1 in targets.boxes:
        draw.rectangle(
            [x0 * scale_x, y0 * scale_y, x1 * scale_x, y1 * scale_y], outline=(230, 30, 30)
        )
    for polygon in targets.polygons:
        if len(polygon) >= 2:
            points = [(float(x) * scale_x, float(y) * scale_y) for x, y in polygon]
            draw.line([*points, points[0]], fill=(30, 200, 60))
    for points in targets.keypoints:
        for x, y, visible in points:
            if visible > 0:
                cx, cy = x * scale_x, y * scale_y
                draw.ellipse([cx - 2, cy - 2, cx + 2, cy + 2], fill=(250, 220, 0))
    return np.asarray(img)


def thumbnail(image: np.ndarray, tile: int) -> np.ndarray:
    """The image scaled to fit ``tile`` × ``tile``, aspect ratio kept, never enlarged."""
    img = to_pil(image)
    img.thumbnail((tile, tile), Image.Resampling.LANCZOS)
    return np.asarray(img)[:, :, None] if img.mode == "L" else np.asarray(img)


def scaled(rows: Iterable[Row], tile: int) -> Iterator[Row]:
    """Each row with its tiles replaced by thumbnails, as the row arrives: full-size images of
    one row at a time are all that is ever held."""
    for row in rows:
        tiles = []
        for t in row.tiles:
            thumb = thumbnail(t.image, tile)
            if t.targets is not None:
                thumb = draw_targets(thumb, t.targets)
            tiles.append(replace(t, image=thumb, targets=None))
        yield replace(row, tiles=tiles)


def compose(rows: list[Row], title: str, layout: Layout) -> Image.Image:
    """Paste thumbnail rows on a light grey sheet: row labels on the left, captions below."""
    columns = max((len(row.tiles) for row in rows), default=0)
    sheet = Image.new("RGB", layout.size(len(rows), columns), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = _font(layout.font_size)
    bold = _font(layout.font_size + 2)
    title = _fit(title, sheet.width - 2 * layout.margin, bold)
    draw.text((layout.margin, layout.margin), title, fill=INK, font=bold)
    for r, row in enumerate(rows):
        y = layout.cell(r, 0)[1]
        label = _wrap(_label_words(row.label), layout.label_width, font, 6)
        draw.multiline_text((layout.margin, y), "\n".join(label), fill=INK, font=font, spacing=3)
        for c, tile in enumerate(row.tiles):
            _paste_tile(sheet, draw, tile, layout.cell(r, c), layout, font)
    return sheet


def _paste_tile(
    sheet: Image.Image,
    draw: ImageDraw.ImageDraw,
    tile: Tile,
    corner: tuple[int, int],
    layout: Layout,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
) -> None:
    x, y = corner
    size = layout.tile
    draw.rectangle((x, y, x + size - 1, y + size - 1), fill=CELL)
    img = to_pil(tile.image)
    height, width = tile.image.shape[:2]
    at = (x + (size - width) // 2, y + (size - height) // 2)
    if img.mode == "RGBA":
        sheet.paste(img.convert("RGB"), at, mask=img.getchannel("A"))
    else:
        sheet.paste(img.convert("RGB"), at)
    words = tile.caption.replace(" ", " \0").split("\0")
    lines = _wrap(words, size, font, layout.caption_lines)
    draw.multiline_text((x, y + size + 3), "\n".join(lines), fill=SOFT_INK, font=font, spacing=3)


def _label_words(label: str) -> list[str]:
    """Break a path after each slash (``train/cat/`` ``cat_001.jpg``), a step name after each
    underscore (``random_`` ``resized_`` ``crop``)."""
    mark = "/" if "/" in label else "_"
    return label.replace(mark, mark + "\0").split("\0")


def _wrap(
    words: list[str],
    width: int,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    max_lines: int,
) -> list[str]:
    """Greedy wrap of ``words`` (each keeps its own trailing space or comma) into ``width``
    pixels; past ``max_lines``, the last line ends with an ellipsis."""
    lines: list[str] = []
    current = ""
    for word in words:
        if current and font.getlength((current + word).rstrip()) > width:
            lines.append(current.rstrip())
            current = ""
        current += word
    if current:
        lines.append(current.rstrip())
    lines = [_fit(line, width, font) for line in lines]
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], _fit(lines[max_lines - 1] + " …", width, font, True)]
    return lines


def _fit(
    text: str,
    width: int,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    ellipsis: bool = False,
) -> str:
    """``text`` cut (with an ellipsis) to ``width`` pixels; one long word cannot overflow a tile."""
    if font.getlength(text) <= width and not (ellipsis and not text.endswith("…")):
        return text
    body = text.removesuffix(" …")
    while body and font.getlength(body + "…") > width:
        body = body[:-1]
    return body.rstrip(", ") + "…"


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled font (no system font lookups: the sheet is the same on every machine)."""
    return ImageFont.load_default(size=size)


# --- the whole preview -------------------------------------------------------------------


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
    input_path = input_arg or recipe.input["path"]
    if input_path is None:
        raise InputError("no input folder: give INPUT or set input.path in the recipe")
    output_path = recipe.output["path"]
    return Path(input_path), None if output_path is None else Path(output_path)


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


def _original_tile(image: np.ndarray, size: list[int]) -> Tile:
    height, width = size
    return Tile(image, f"original {width}x{height}", {"variant": None, "size": size})


def _source_label(source: Source) -> str:
    return source.path


def _source_info(source: Source, size: list[int]) -> dict[str, Any]:
    return {"path": source.path, "split": source.split, "label": source.label, "size": size}


def _size(image: np.ndarray) -> list[int]:
    return [int(image.shape[0]), int(image.shape[1])]
