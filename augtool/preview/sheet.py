"""The sheet: tiles scaled to thumbnails with their annotations drawn on, pasted in rows with
row labels and captions; sizes from one :class:`Layout`, text in Pillow's bundled font."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from augtool.media.image.transforms.imaging import to_pil
from augtool.preview.rows import TILE, Row, Tile

BACKGROUND = (240, 240, 240)
CELL = (222, 222, 222)
INK = (25, 25, 25)
SOFT_INK = (90, 90, 90)


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


def draw_targets(thumb: np.ndarray, targets: Any, names: tuple[str, ...] = ()) -> np.ndarray:
    """Boxes (red, each with its class name in ``names``), polygons (green), keypoints (yellow)
    and mask outlines (magenta), scaled from the full-size image onto its thumbnail."""
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
    font = _font(9)
    for index, (x0, y0, x1, y1) in enumerate(targets.boxes):
        draw.rectangle(
            [x0 * scale_x, y0 * scale_y, x1 * scale_x, y1 * scale_y], outline=(230, 30, 30)
        )
        name = names[index] if index < len(names) else ""
        if name:
            at = (x0 * scale_x + 2, y0 * scale_y + 1)
            draw.text(at, name, fill=(255, 255, 255), font=font, stroke_width=1,
                      stroke_fill=(230, 30, 30))  # fmt: skip
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
                thumb = draw_targets(thumb, t.targets, t.names)
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
