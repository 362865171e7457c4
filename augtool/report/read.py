"""Reading files for a report, in a worker: hash each file, take its statistics from the cache
or decode it once, and measure each variant's SSIM to its source.

Work is chunked by source, like expand's: a group is a source and the variants made from it
(or a single file), so the source's thumbnail is at hand for every variant's SSIM. Workers
return small records (numbers and a few thumbnails' bytes for the cache), never pixels.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from augtool.report import cache
from augtool.report.stats import WORK_SIDE, image_stats, luma, mirror_ssim, thumb_array, thumbnail


@dataclass(frozen=True)
class Group:
    """Files read together: ``files`` as (absolute path, relative path); with ``paired``, the
    first is the source of the others, whose SSIM to it is measured."""

    files: tuple[tuple[str, str], ...]
    paired: bool = False
    medium: str = "image"
    #: the run's settings a text source is decoded with (``media_stats.text_settings``)
    settings: str = ""


@dataclass
class FileResult:
    rel: str
    sha256: str | None = None
    stats: dict[str, Any] | None = None
    error: str | None = None
    ssim: float | None = None


@dataclass
class GroupResult:
    files: list[FileResult] = field(default_factory=list)
    #: entries decoded here, for the cache (sha256 -> statistics, thumbnail)
    fresh: dict[str, cache.Entry] = field(default_factory=dict)


def read_group(group: Group, cache_path: str | None) -> GroupResult:
    """Statistics of every file of ``group`` (see the module's docstring)."""
    result = GroupResult()
    blobs: list[bytes | None] = []
    for absolute, rel in group.files:
        try:
            data = Path(absolute).read_bytes()
        except OSError as exc:
            result.files.append(FileResult(rel, error=f"cannot read: {exc.strerror or exc}"))
            blobs.append(None)
            continue
        result.files.append(FileResult(rel, sha256=hashlib.sha256(data).hexdigest()))
        blobs.append(data)
    found = cache.lookup(
        None if cache_path is None else Path(cache_path),
        [cache_key(f.sha256, group) for f in result.files if f.sha256 is not None],
    )
    thumbs: list[bytes | None] = []
    for item, data in zip(result.files, blobs, strict=True):
        thumbs.append(None)
        if data is None or item.sha256 is None:
            continue
        key = cache_key(item.sha256, group)
        entry = found.get(key) or result.fresh.get(key)
        if entry is None:
            try:
                entry = measure(data, group.medium, item.rel, group.settings)
            except _Unreadable as exc:
                item.error = str(exc)
                continue
            result.fresh[key] = entry
        item.stats, thumbs[-1] = entry
    if group.paired and thumbs and thumbs[0] is not None:
        scored = [(f, t) for f, t in zip(result.files[1:], thumbs[1:], strict=True) if t]
        if scored:
            stack = np.stack([thumb_array(t) for _, t in scored])
            for (item, _), value in zip(
                scored, mirror_ssim(stack, thumb_array(thumbs[0])), strict=True
            ):
                item.ssim = round(value, 6)
    return result


class _Unreadable(Exception):
    pass


def cache_key(sha256: str, group: Group) -> str:
    """A file's key in the cache: its sha256, with the settings a text table is decoded with
    (which columns are text) when they matter."""
    if group.medium != "text":
        return sha256
    return hashlib.sha256(f"{sha256}\n{group.settings}".encode()).hexdigest()


def measure(data: bytes, medium: str = "image", name: str = "", settings: str = "") -> cache.Entry:
    """The statistics of a file of ``medium`` (and its SSIM thumbnail: images only)."""
    if medium == "image":
        return measure_image(data)
    from augtool.media.base import DecodeError
    from augtool.report import media_stats

    try:
        if medium == "audio":
            return media_stats.measure_audio(data), b""
        return media_stats.measure_text(data, name, settings), b""
    except DecodeError as exc:
        raise _Unreadable(str(exc)) from None


def measure_image(data: bytes) -> cache.Entry:
    """Decode ``data`` as an image (EXIF orientation applied, as expand decodes it) and
    measure it; raises :class:`_Unreadable` with the reason."""
    from PIL import Image

    from augtool.media import registry as media
    from augtool.media.base import DecodeError
    from augtool.recipe.fields import DEFAULT_FORMATS

    try:
        decoded = media.get("image").decode(data, DEFAULT_FORMATS, None)
    except DecodeError as exc:
        raise _Unreadable(str(exc)) from None
    height, width = decoded.size
    picture = decoded.picture
    if picture is None:  # 16-bit or float: scaled to 8 bits in numpy
        picture = Image.fromarray(decoded.image[..., :3].squeeze())
    picture = picture.convert("RGB")
    if max(picture.size) > WORK_SIDE:
        picture = picture.copy()
        picture.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.BOX)
    rgb = np.asarray(picture)
    grey = luma(rgb)
    return image_stats(rgb, width, height, decoded.format, grey), thumbnail(grey)
