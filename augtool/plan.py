"""The plan: for every source, which files it yields, under which names, from which seeds.

The plan is made before any pixel is read, in path order, so that a run is a pure function of the
plan: workers may finish in any order and the outputs stay the same. A variant's seed is derived
from (recipe seed, source path, variant index) and nothing else, never from a worker or a job
order, which is what keeps ``--jobs 1`` and ``--jobs 8`` byte-identical.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any

from augtool.annotations import FORMATS
from augtool.discovery import Dataset, Source
from augtool.errors import InputError

FORMAT_EXTENSIONS = {"jpeg": ("JPEG", ".jpg"), "png": ("PNG", ".png"), "webp": ("WEBP", ".webp")}
# With ``format: same`` these endings are written back in their own format; any other (GIF, TIFF)
# becomes PNG, which holds the same pixels losslessly.
SAME_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".bmp": "BMP"}
VARIANT_MARK = "__v"


@dataclass(frozen=True)
class Task:
    """The work of one source: decode once, write the original and every variant."""

    source: Source
    original: str | None  # where the original goes, or None when originals are skipped
    variants: tuple[str, ...]  # output path of variant i at index i
    seeds: tuple[int, ...]
    encoder: str  # the Pillow format variants are written in
    #: the label file of each output (original first when copied, then each variant), for
    #: annotated layouts: the source's label moved with the image, in the same format
    labels: tuple[str, ...] = ()
    #: coco: the source's image entry and annotations (written into the split's JSON)
    coco: Any = None


def variant_seed(recipe_seed: int, source_path: str, variant: int) -> int:
    """A 63-bit seed from the variant's identity alone."""
    key = f"augtool-variant\0{recipe_seed}\0{source_path}\0{variant}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") >> 1


def output_format(source_path: str, setting: str) -> tuple[str, str]:
    """The Pillow format and file ending of a source's variants. The ending decides, not the
    bytes: a variant's name is fixed by the plan, before anything is decoded."""
    if setting != "same":
        return FORMAT_EXTENSIONS[setting]
    ext = os.path.splitext(source_path)[1]
    if ext.lower() in SAME_FORMATS:
        return SAME_FORMATS[ext.lower()], ext
    return "PNG", ".png"


def variant_path(source_path: str, variant: int, width: int, output_format_setting: str) -> str:
    stem = os.path.splitext(source_path)[0]
    ext = output_format(source_path, output_format_setting)[1]
    return f"{stem}{VARIANT_MARK}{variant:0{width}d}{ext}"


def make_plan(
    dataset: Dataset, variants: int, seed: int, output_format_setting: str, originals: str
) -> list[Task]:
    """One task per source, in path order; refuses two sources that would write the same name."""
    width = max(2, len(str(max(variants - 1, 0))))
    tasks = []
    owner: dict[str, str] = {}
    for source in dataset.sources:
        original = None if originals == "skip" else source.path
        count = variants if source.augment else 0
        names = tuple(
            variant_path(source.path, i, width, output_format_setting) for i in range(count)
        )
        for name in (original, *names):
            if name is None:
                continue
            if name in owner:
                raise InputError(
                    f"{dataset.root}: {owner[name]!r} and {source.path!r} would both write "
                    f"{name!r}; rename one of them"
                )
            owner[name] = source.path
        seeds = tuple(variant_seed(seed, source.path, i) for i in range(count))
        encoder = output_format(source.path, output_format_setting)[0]
        labels: tuple[str, ...] = ()
        coco = None
        if dataset.layout == "coco":
            _, entry, anns = dataset.coco.images[source.path]
            fixed = ("id", "file_name", "width", "height")
            coco = ({k: v for k, v in entry.items() if k not in fixed}, anns)
        elif source.annotation is not None:
            label_path = FORMATS[dataset.layout].label_path
            images = (original, *names) if original is not None else names
            labels = tuple(str(label_path(image)) for image in images)
            for name in labels:
                if name in owner:
                    raise InputError(
                        f"{dataset.root}: {owner[name]!r} and {source.path!r} would both write "
                        f"{name!r}; rename one of them"
                    )
                owner[name] = source.path
        tasks.append(Task(source, original, names, seeds, encoder, labels, coco))
    return tasks
